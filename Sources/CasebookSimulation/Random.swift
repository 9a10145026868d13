import Foundation

/// A small, fast, seedable random generator (xoshiro256**), the same on every platform, so
/// a scenario and a seed always give the same bytes.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds from one number through SplitMix64; extra `streams` numbers derive independent streams.
    public init(seed: UInt64, stream: UInt64 = 0, _ more: UInt64...) {
        var x = seed ^ (stream &* 0x9E37_79B9_7F4A_7C15)
        for m in more { x = SeededGenerator.mix(x ^ (m &* 0xD1B5_4A32_D192_ED03)) }
        func next() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            return SeededGenerator.mix(x)
        }
        s0 = next()
        s1 = next()
        s2 = next()
        s3 = next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    static func mix(_ v: UInt64) -> UInt64 {
        var z = v
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in 0..<n (n > 0).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// Standard normal (Box–Muller).
    public mutating func gaussian() -> Double {
        let u = max(unit(), 1e-300)
        let v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    /// Poisson-ish count with mean `m` (normal approximation for large means).
    public mutating func poisson(_ m: Double) -> Int {
        if m <= 0 { return 0 }
        if m > 30 { return max(0, Int((m + m.squareRoot() * gaussian()).rounded())) }
        let l = exp(-m)
        var k = 0
        var p = 1.0
        repeat {
            k += 1
            p *= unit()
        } while p > l
        return k - 1
    }
}

/// Picks indices with given weights in O(log n) (cumulative sums and a binary search).
struct WeightedPicker: Sendable {
    private let cumulative: [Double]

    init(_ weights: [Double]) {
        var c: [Double] = []
        c.reserveCapacity(weights.count)
        var sum = 0.0
        for w in weights {
            sum += max(0, w)
            c.append(sum)
        }
        cumulative = c
    }

    var isEmpty: Bool { (cumulative.last ?? 0) <= 0 }
    var total: Double { cumulative.last ?? 0 }

    func pick(_ g: inout SeededGenerator) -> Int {
        let x = g.unit() * cumulative[cumulative.count - 1]
        var lo = 0
        var hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > x { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
