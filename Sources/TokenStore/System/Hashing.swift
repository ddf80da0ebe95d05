/// A fast 64-bit hash over bytes, used for shard selection, index slots and checksums.
///
/// Sixteen bytes a step in two multiply-rotate lanes (the xxh64 family's shape), finished
/// with the splitmix64 mixer, so a 300-byte Web Push token hashes in tens of nanoseconds. Not cryptographic: keys are
/// chosen by providers, and the index tolerates collisions by comparing full keys.
@inline(__always)
func hash64(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
    let m1: UInt64 = 0x9E37_79B9_7F4A_7C15, m2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    let n = bytes.count
    var a = seed ^ (UInt64(truncatingIfNeeded: n) &* m1)
    var b = ~seed &* m2
    guard let base = bytes.baseAddress else { return mix64(a ^ b) }
    var i = 0
    // Two independent lanes of one multiply each per 8 bytes: the final mix64 spreads them.
    while i + 16 <= n {
        let v1 = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        let v2 = base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
        a = (a ^ v1) &* m1
        a = (a << 29) | (a >> 35)
        b = (b ^ v2) &* m2
        b = (b << 31) | (b >> 33)
        i += 16
    }
    if i + 8 <= n {
        a = (a ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* m1
        a = (a << 29) | (a >> 35)
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
        b = (b ^ tail ^ 0xFF) &* m2
    }
    return mix64(a ^ ((b << 17) | (b >> 47)))
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
