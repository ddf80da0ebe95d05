/// The error every fallible TokenStore call throws.
///
/// `code` is a small closed set whose raw values equal the C header's `TS_E*` constants, so
/// the C boundary maps errors without a table. `detail` says what failed in words, and names
/// the file for I/O and corruption errors; it never contains a token or an id.
public struct TokenStoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The C status value (`TS_E*` in `tokenstore.h`).
        public let rawValue: Int32
        /// Creates a code from its C status value.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// No record matches the key, token or user (`TS_NOTFOUND`).
        public static let notFound = Code(rawValue: -1)
        /// An argument is empty, malformed, not UTF-8 or out of range (`TS_EINVAL`).
        public static let invalidArgument = Code(rawValue: -2)
        /// A system call failed (`TS_EIO`).
        public static let io = Code(rawValue: -3)
        /// A file failed a checksum or structural check (`TS_ECORRUPT`).
        public static let corrupt = Code(rawValue: -4)
        /// Another process holds the store open (`TS_ELOCKED`).
        public static let locked = Code(rawValue: -5)
        /// The disk is full (`TS_ENOSPC`).
        public static let noSpace = Code(rawValue: -6)
        /// The store was written by an unknown format version (`TS_EVERSION`).
        public static let versionMismatch = Code(rawValue: -7)
        /// An id or token exceeds its documented limit (`TS_ETOOBIG`).
        public static let tooLarge = Code(rawValue: -8)
        /// The store was closed (`TS_ECLOSED`).
        public static let closed = Code(rawValue: -9)

        public var description: String { text.map { "\($0)" } ?? "error \(rawValue)" }

        /// The code's description as static text: the one copy of the words `ts_strerror`
        /// hands to C callers, never freed. `nil` for a value that is none of the codes above.
        package var text: StaticString? {
            switch self {
            case .notFound: "not found"
            case .invalidArgument: "invalid argument"
            case .io: "I/O error"
            case .corrupt: "store is corrupt"
            case .locked: "store is locked by another process"
            case .noSpace: "no space left on device"
            case .versionMismatch: "unknown store format version"
            case .tooLarge: "value too large"
            case .closed: "store is closed"
            default: nil
            }
        }
    }

    /// The kind of failure.
    public let code: Code
    /// A human explanation; names the file for I/O and corruption errors. Never holds user data.
    public let detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? code.description : "\(code): \(detail)" }

    static func == (lhs: TokenStoreError, rhs: TokenStoreError.Code) -> Bool { lhs.code == rhs }
}
