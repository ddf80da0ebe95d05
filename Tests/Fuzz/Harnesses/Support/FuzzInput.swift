// Shared by every harness: reading typed values out of the fuzzer's bytes.
//
// The reader never fails: past the end it yields zeros, so every input decodes to some
// sequence of actions and libFuzzer's mutations always mean something.

/// A cursor over the fuzzer's input.
struct FuzzInput {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    /// Reads `bytes`, which must stay valid while the reader is used.
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// True when every byte has been read.
    var isEmpty: Bool { position >= bytes.count }

    /// Bytes not read yet.
    var remaining: Int { max(0, bytes.count - position) }

    /// The next byte, or 0 past the end.
    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A little-endian `UInt16`.
    mutating func u16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }

    /// A little-endian `UInt32`.
    mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }

    /// A little-endian `UInt64`.
    mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }

    /// Up to `count` of the next bytes (fewer at the end).
    mutating func take(_ count: Int) -> [UInt8] {
        let n = min(max(count, 0), remaining)
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }

    /// A choice among `count` alternatives.
    mutating func choose(_ count: Int) -> Int { count <= 1 ? 0 : Int(byte()) % count }

    /// One of `values`.
    mutating func pick<T>(_ values: [T]) -> T { values[choose(values.count)] }
}
