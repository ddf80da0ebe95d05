import Glibc

/// SplitMix64: a tiny, fast, well-mixed PRNG. Every generated value comes from one of these,
/// seeded from the run's seed, so two runs with one seed see the same data.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    /// A generator whose stream is fixed by `seed`.
    init(seed: UInt64) { state = seed }

    /// A generator for one item of one stream: independent of every other `(stream, index)`.
    init(seed: UInt64, stream: UInt64, index: Int) {
        state = SplitMix64.mix(seed ^ SplitMix64.mix(stream &+ 0x51_7CC1_B727_220A) ^ UInt64(truncatingIfNeeded: index))
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// A uniform double in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A uniform integer in [0, bound).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// The index of the weight a uniform draw lands on.
    mutating func pick(_ cumulative: [Double]) -> Int {
        let draw = unit() * cumulative[cumulative.count - 1]
        return cumulative.firstIndex { draw < $0 } ?? cumulative.count - 1
    }

    /// The SplitMix64 finalizer: a bijective 64-bit mix.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Running sums of weights, for `SplitMix64.pick`.
func cumulative(_ weights: [Double]) -> [Double] {
    var sum = 0.0
    return weights.map { sum += $0; return sum }
}

/// A Zipf(s) sampler over 1...n by rejection-inversion (Hörmann & Derflinger, 1996): O(1)
/// setup and per draw, so it serves ten million users without a table.
struct ZipfSampler: Sendable {
    private let n: Double
    private let s: Double
    private let hIntegralX1: Double
    private let hIntegralN: Double
    private let threshold: Double

    /// A sampler over ranks 1...n with exponent `s` (> 0); rank 1 is the most frequent.
    init(n: Int, exponent s: Double) {
        self.n = Double(n)
        self.s = s
        hIntegralX1 = ZipfSampler.hIntegral(1.5, s) - 1
        hIntegralN = ZipfSampler.hIntegral(Double(n) + 0.5, s)
        threshold = 2 - ZipfSampler.hIntegralInverse(ZipfSampler.hIntegral(2.5, s) - ZipfSampler.h(2, s), s)
    }

    /// A rank in 1...n.
    func sample(_ random: inout SplitMix64) -> Int {
        while true {
            let u = hIntegralN + random.unit() * (hIntegralX1 - hIntegralN)
            let x = ZipfSampler.hIntegralInverse(u, s)
            let k = min(max(Int(x + 0.5), 1), Int(n))
            let kd = Double(k)
            if kd - x <= threshold || u >= ZipfSampler.hIntegral(kd + 0.5, s) - ZipfSampler.h(kd, s) {
                return k
            }
        }
    }

    private static func h(_ x: Double, _ s: Double) -> Double { exp(-s * log(x)) }

    private static func hIntegral(_ x: Double, _ s: Double) -> Double {
        let logX = log(x)
        return helper2((1 - s) * logX) * logX
    }

    private static func hIntegralInverse(_ x: Double, _ s: Double) -> Double {
        let t = max(x * (1 - s), -1)
        return exp(helper1(t) * x)
    }

    /// log1p(x) / x, accurate near 0.
    private static func helper1(_ x: Double) -> Double {
        abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }

    /// expm1(x) / x, accurate near 0.
    private static func helper2(_ x: Double) -> Double {
        abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x))
    }
}

/// A bijection of 0..<n (an affine map modulo n): walks every index once, in scattered order,
/// so bounces hit distinct tokens and hot ranks land on unrelated users.
struct Permutation: Sendable {
    private let n: UInt64
    private let multiplier: UInt64
    private let offset: UInt64

    /// A permutation of 0..<n chosen by `seed`.
    init(count n: Int, seed: UInt64) {
        self.n = UInt64(max(n, 1))
        var random = SplitMix64(seed: seed)
        var candidate = (random.next() % self.n) | 1
        while Permutation.gcd(candidate, self.n) != 1 { candidate = (candidate + 2) % self.n | 1 }
        multiplier = self.n == 1 ? 1 : candidate
        offset = random.next() % self.n
    }

    /// The image of `index` (taken modulo n).
    subscript(index: Int) -> Int {
        let x = UInt64(index) % n
        let product = x.multipliedFullWidth(by: multiplier)
        return Int((n.dividingFullWidth(product).remainder + offset) % n)
    }

    private static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 { b == 0 ? a : gcd(b, a % b) }
}
