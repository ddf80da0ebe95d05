import CTokenStoreHeader
import CTokenStoreLayout
import Testing

/// Every struct of the header as the C compiler lays it out (`offsetof`, `sizeof`, measured in
/// Tests/CTokenStoreLayout) against the layout Swift uses for the imported struct
/// (`MemoryLayout`): the shims fill and read these structs in Swift, and C callers read and
/// fill them in C.
@Suite struct LayoutParityTests {
    /// The structs by C name, each with Swift's offset of every field by C name, in declaration order.
    static let swift: [String: SwiftLayout] = [
        "ts_options": SwiftLayout(ts_options(), [
            .init("version", \.version),
            .init("shards", \.shards),
            .init("durability", \.durability),
            .init("sync_interval_ms", \.sync_interval_ms),
            .init("quarantine_misconfigured", \.quarantine_misconfigured),
            .init("changelog_limit", \.changelog_limit),
            .init("must_exist", \.must_exist),
            .init("checkpoint_log_bytes", \.checkpoint_log_bytes),
        ]),
        "ts_token_view": SwiftLayout(ts_token_view(), [
            .init("device_id", \.device_id),
            .init("device_id_len", \.device_id_len),
            .init("app_id", \.app_id),
            .init("app_id_len", \.app_id_len),
            .init("token", \.token),
            .init("token_len", \.token_len),
            .init("user_id", \.user_id),
            .init("user_id_len", \.user_id_len),
            .init("platform", \.platform),
            .init("authorization", \.authorization),
            .init("created_at_ms", \.created_at_ms),
            .init("updated_at_ms", \.updated_at_ms),
            .init("quarantined", \.quarantined),
        ]),
        "ts_change_view": SwiftLayout(ts_change_view(), [
            .init("at_ms", \.at_ms),
            .init("kind", \.kind),
            .init("device_id", \.device_id),
            .init("device_id_len", \.device_id_len),
            .init("app_id", \.app_id),
            .init("app_id_len", \.app_id_len),
            .init("token", \.token),
            .init("token_len", \.token_len),
            .init("other_user_id", \.other_user_id),
            .init("other_user_id_len", \.other_user_id_len),
            .init("detail", \.detail),
            .init("detail_len", \.detail_len),
        ]),
        "ts_store_stats": SwiftLayout(ts_store_stats(), [
            .init("version", \.version),
            .init("reserved", \.reserved),
            .init("tokens", \.tokens),
            .init("users", \.users),
            .init("quarantined", \.quarantined),
            .init("by_platform", \.by_platform),
            .init("by_authorization", \.by_authorization),
            .init("bounces_by_outcome", \.bounces_by_outcome),
            .init("bounces_by_category", \.bounces_by_category),
        ]),
    ]

    /// The C compiler's measurements, in the C table's order.
    static let c: [CField] = {
        var count = 0
        guard let table = ts_layout_fields(&count) else { return [] }
        return (0..<count).map { CField(table[$0]) }
    }()

    @Test func everyHeaderStructIsMeasuredOnBothSides() {
        #expect(!HeaderSource.structs.isEmpty)
        #expect(Set(Self.c.map(\.type)) == HeaderSource.structs)
        #expect(Set(Self.swift.keys) == HeaderSource.structs)
    }

    @Test(arguments: ["ts_options", "ts_token_view", "ts_change_view", "ts_store_stats"])
    func structMatchesTheCLayout(_ name: String) throws {
        let swift = try #require(Self.swift[name])
        let c = Self.c.filter { $0.type == name }
        // Every field Swift imports, in order, is in both tables: none added to one side only.
        #expect(swift.importedFields == c.map(\.field))
        #expect(swift.fields.map(\.name) == c.map(\.field))
        for field in c {
            #expect(swift.size == field.typeSize, "sizeof(\(name))")
            let mine = try #require(swift.fields.first { $0.name == field.field }, "\(name).\(field.field)")
            #expect(mine.offset == field.offset, "offsetof(\(name), \(field.field))")
            #expect(mine.size == field.size, "sizeof \(name).\(field.field)")
        }
    }
}

/// One field as the C compiler measured it.
struct CField: Sendable {
    let type: String
    let field: String
    let offset: Int
    let size: Int
    let typeSize: Int

    init(_ measured: ts_layout_field) {
        type = String(cString: measured.type)
        field = String(cString: measured.field)
        offset = measured.offset
        size = measured.size
        typeSize = measured.type_size
    }
}

/// One struct as Swift lays it out.
struct SwiftLayout: Sendable {
    /// `MemoryLayout<T>.size`.
    let size: Int
    /// Each listed field: its C name, `MemoryLayout<T>.offset(of:)` and its type's size.
    let fields: [(name: String, offset: Int, size: Int)]
    /// The names of the stored properties Swift imported, in order (from `Mirror`).
    let importedFields: [String]

    init<T>(_ zero: T, _ paths: [FieldPath<T>]) {
        size = MemoryLayout<T>.size
        fields = paths.map { ($0.name, MemoryLayout<T>.offset(of: $0.keyPath) ?? -1, $0.size) }
        importedFields = Mirror(reflecting: zero).children.map { $0.label ?? "?" }
    }
}

/// A field of `T` by its C name, with the size of its Swift type.
struct FieldPath<T> {
    let name: String
    let keyPath: PartialKeyPath<T>
    let size: Int

    init<V>(_ name: String, _ keyPath: KeyPath<T, V>) {
        self.name = name
        self.keyPath = keyPath
        size = MemoryLayout<V>.size
    }
}
