/// A fast 64-bit hash over bytes, used for shard selection, index slots and checksums.
///
/// Eight bytes a step with a multiply-xorshift mix (the wyhash/xxh64 family's shape), so a
/// 300-byte Web Push token hashes in tens of nanoseconds. Not cryptographic: keys are
/// chosen by providers, and the index tolerates collisions by comparing full keys.
@inline(__always)
func hash64(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
    let m: UInt64 = 0x9E37_79B9_7F4A_7C15
    var h = seed ^ (UInt64(truncatingIfNeeded: bytes.count) &* m)
    guard let base = bytes.baseAddress else { return mix64(h) }
    var i = 0
    let n = bytes.count
    while i + 8 <= n {
        let v = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        h = (h ^ mix64(v)) &* m
        h = (h << 27) | (h >> 37)
        i += 8
    }
    if i < n {
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        h = (h ^ mix64(tail ^ 0xFF)) &* m
    }
    return mix64(h)
}

/// Hashes two byte strings as one key, with a separator no UTF-8 id contains.
@inline(__always)
func hash64(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> UInt64 {
    hash64(b, seed: hash64(a) &+ 0x5851_F42D_4C95_7F2D)
}

/// The splitmix64 finalizer: spreads every input bit over the output.
@inline(__always)
func mix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
