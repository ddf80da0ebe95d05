// `ts_open` with hostile paths and options: NULL, empty, too long, not UTF-8, a file, the
// harness's own (locked) store, short option structs with unknown versions, and every
// field out of range. Stores it manages to open are closed at once.

#if canImport(Glibc)
import Glibc
#endif
import CTokenStore
import CTokenStoreHeader

enum OpenProgram {
    /// The checks of `ts_open`'s documented statuses and of `*out`.
    static func hostileOpen(_ input: inout FuzzInput, _ store: CABIStore) {
        let arena = ArgumentArena()
        let root = FuzzEnvironment.scratchRoot
        let plainFile = root + "/plain-file"
        if access(plainFile, F_OK) != 0 { writeFile(plainFile, Array("not a store".utf8)) }

        // The path.
        let path: CStringArgument
        var mayOpen = true
        var removeAfter: String? = nil
        switch input.byte() % 10 {
        case 0: path = CStringArgument(pointer: nil, isWellFormed: false)
        case 1: path = CStringArgument(pointer: arena.string([], terminate: true), isWellFormed: false)
        case 2: path = wellFormed(store.directory, arena)  // locked unless Swift-closed
        case 3: path = wellFormed(root + "/other-\(input.byte() % 3)", arena)
        case 4: path = wellFormed(plainFile, arena)
        case 5: path = wellFormed(plainFile + "/below", arena)
        case 6:
            let long = [UInt8](repeating: 0x61, count: Int(TS_MAX_PATH_BYTES) + 1 - root.utf8.count - 1)
            path = CStringArgument(pointer: arena.string(Array(root.utf8) + [0x2F] + long, terminate: true), isWellFormed: false)
        case 7:
            path = CStringArgument(pointer: arena.string(Array(root.utf8) + [0x2F, 0xFF, 0xFE], terminate: true), isWellFormed: false)
        case 8:
            // Unterminated, one byte past the limit: the library may read all of it and no more.
            let bytes = Array(root.utf8) + [UInt8](repeating: 0x2F, count: Int(TS_MAX_PATH_BYTES) + 1 - root.utf8.count)
            path = CStringArgument(pointer: arena.string(bytes, terminate: false), isWellFormed: false)
        default:
            // Bytes from the input, kept inside the scratch directory: no '/' and no NUL.
            let name = input.take(Int(input.byte() % 24)).map { $0 == 0x2F || $0 == 0 ? UInt8(ascii: "_") : $0 }
            let bytes = Array((root + "/x-").utf8) + name
            path = CStringArgument(
                pointer: arena.string(bytes, terminate: true),
                isWellFormed: isWellFormedArgument(bytes, terminated: true, limit: Int(TS_MAX_PATH_BYTES)))
            mayOpen = String(validating: bytes, as: UTF8.self) != nil
            if mayOpen { removeAfter = String(decoding: bytes, as: UTF8.self) }
        }

        // The options.
        var optionsOK = true
        let options: UnsafePointer<ts_options>?
        switch input.byte() % 5 {
        case 0: options = nil
        case 1:
            // A caller built against a different header: only the version may be read.
            let short = arena.memory(4)
            let version = input.byte() % 2 == 0 ? 0 : 2 + UInt32(input.byte())
            short.storeBytes(of: version, as: UInt32.self)
            options = UnsafePointer(short.assumingMemoryBound(to: ts_options.self))
            optionsOK = false
        default:
            let full = arena.memory(MemoryLayout<ts_options>.size)
            var o = CABIStore.defaultOptions
            o.durability = TS_DURABILITY_NONE
            let field = input.byte()
            let value = input.u32()
            switch field % 9 {
            case 0: o.version = value
            case 1:
                // Out of range, or a small valid count (4096 stripes would cost a second per open).
                o.shards = [0, 3, 5, 8192, 4097, UInt32.max, 1, 2, 4, 16][Int(value % 10)]
            case 2: o.durability = Int32(bitPattern: value)
            case 3:
                o.durability = TS_DURABILITY_INTERVAL
                o.sync_interval_ms = value
            case 4: o.changelog_limit = Int32(bitPattern: value)
            case 5: o.checkpoint_log_bytes = UInt64(value) | UInt64(input.u32()) << 32
            case 6: o.must_exist = Int32(bitPattern: value)
            case 7: o.quarantine_misconfigured = Int32(bitPattern: value)
            default: break
            }
            optionsOK = o.version == TS_OPTIONS_VERSION && o.shards >= 1 && o.shards <= 4096
                && o.shards & (o.shards &- 1) == 0
                && (TS_DURABILITY_NONE...TS_DURABILITY_ALWAYS).contains(o.durability)
                && (o.durability != TS_DURABILITY_INTERVAL || o.sync_interval_ms >= 1)
                && (1...4096).contains(o.changelog_limit) && o.checkpoint_log_bytes >= 4096
            // Known differences from the header's wording, reported rather than failed on: the
            // interval has an undocumented ceiling of one hour, and log bytes must fit an Int.
            if o.durability == TS_DURABILITY_INTERVAL && o.sync_interval_ms > 3_600_000 { optionsOK = false }
            if o.checkpoint_log_bytes > UInt64(Int.max) { optionsOK = false }
            full.storeBytes(of: o, as: ts_options.self)
            options = UnsafePointer(full.assumingMemoryBound(to: ts_options.self))
        }

        // The out-pointer: NULL, or pre-filled with garbage that must become NULL on failure.
        let passOut = input.byte() % 8 != 0
        var out: OpaquePointer? = OpaquePointer(bitPattern: 0x5A5A)
        let wellFormedCall = passOut && path.isWellFormed && optionsOK
        let status = withUnsafeMutablePointer(to: &out) { ts_open(passOut ? $0 : nil, path.pointer, options) }
        fuzzCheck((TS_ECLOSED...TS_OK).contains(status), "ts_open: status \(status)")
        if !wellFormedCall {
            fuzzCheck(status == TS_EINVAL, "ts_open: bad argument gave \(status), not TS_EINVAL")
        } else {
            fuzzCheck(status != TS_EINVAL || !mayOpen, "ts_open: well-formed call gave TS_EINVAL")
            let documented: Set<Int32> = [TS_OK, TS_NOTFOUND, TS_EIO, TS_ECORRUPT, TS_ELOCKED, TS_ENOSPC, TS_EVERSION]
            fuzzCheck(documented.contains(status) || !mayOpen, "ts_open: undocumented status \(status)")
        }
        defer { if let scratch = removeAfter { removeTree(scratch) } }
        guard passOut else { return }
        if status == TS_OK {
            guard let out else { fuzzFailure("ts_open: TS_OK with a NULL handle") }
            fuzzCheck(ts_close(out) == TS_OK, "ts_close of a freshly opened store failed")
        } else {
            fuzzCheck(out == nil, "ts_open: *out not NULL on failure \(status)")
        }
    }

    private static func wellFormed(_ text: String, _ arena: ArgumentArena) -> CStringArgument {
        CStringArgument(pointer: arena.string(Array(text.utf8), terminate: true), isWellFormed: true)
    }
}
