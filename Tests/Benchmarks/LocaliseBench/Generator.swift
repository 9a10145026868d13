import CasebookCore
import Foundation

// The case generator: semi-synthetic cubes in the style of the localisation papers' datasets
// (Squeeze's B0–B4, ISSRE'19; RiskLoc's S/L/H, arXiv:2205.10004): a full cube of 4–6 dimensions,
// a skewed volume per leaf, injected root causes that scale every leaf below them, and noise on
// every other leaf. What differs from those generators, to look like download data:
//   - leaf volumes are a product of Zipf-like popularities per dimension (some countries, CPUs,
//     projects are much bigger than others) times a log-normal interaction, so most leaves are
//     small and a few are large;
//   - both ranges are counts (Poisson), the forecast is the baseline's own counts (what Casebook
//     has: the weeks before), and the window adds a small overall drift and per-leaf noise;
//   - a cause carries at least 2% of the total volume as its change (the overall drift is under
//     1.5%), so that it is visible at all (the papers' generators let tiny causes vanish into
//     noise, which no method can find); and each of its pairs matters: without any one of them
//     the cause would take in at least 25% more volume that did not change (else the coarser
//     cause is as true an answer as the injected one).
// Everything comes from one seeded SplitMix64 stream: a seed and a family give the same cases.

/// SplitMix64: small, fast, and the same on every platform.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }
    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }

    mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300)
        let u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// A Poisson draw (Knuth's method for small means, a rounded normal above 30).
    mutating func poisson(_ mean: Double) -> Double {
        if mean <= 0 { return 0 }
        if mean > 30 { return max(0, (mean + mean.squareRoot() * normal()).rounded()) }
        let l = exp(-mean)
        var k = 0.0
        var p = 1.0
        repeat {
            k += 1
            p *= uniform()
        } while p > l
        return k - 1
    }

    /// An index drawn with probability proportional to `weights`.
    mutating func weighted(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = uniform() * total
        for (i, w) in weights.enumerated() {
            u -= w
            if u < 0 { return i }
        }
        return weights.count - 1
    }
}

/// The case families the benchmark reports on.
enum Family: String, CaseIterable, Sendable {
    case oneDim = "a"
    case combination = "b"
    case multiple = "c"
    case drop = "d"
    case largeDim = "e"
    /// Cases built from the simulator's real-format logs (`LogCases.swift`), not generated.
    case logs = "f"

    var title: String {
        switch self {
        case .oneDim: "(a) 1 cause × 1 dim"
        case .combination: "(b) 1 cause × 2–3 dims"
        case .multiple: "(c) 2–3 causes"
        case .drop: "(d) drops, 1–3 causes"
        case .largeDim: "(e) cause in a 200–500-value dim"
        case .logs: "(f) simulator logs"
        }
    }
}

/// Real-looking values for the dimensions the generator uses; cubes wider than a list get
/// synthetic values after it.
private let valuePools: [CubeDimension: [String]] = [
    .country: [
        "US", "DE", "GB", "CN", "FR", "JP", "IN", "NL", "CA", "RU", "KR", "BR", "SG", "AU", "IE", "SE", "PL", "CH", "IT", "ES",
        "FI", "TW", "HK", "BE", "AT", "DK", "NO", "CZ", "IL", "UA", "VN", "ID", "TR", "MX", "AR", "ZA", "RO", "PT", "HU", "NZ",
        "TH", "MY", "PH", "CL", "CO", "GR", "BG", "SK", "LT", "EE"
    ],
    .cpu: ["x86_64", "aarch64", "armv7l", "AMD64", "arm64", "armv6l", "i686", "ppc64le", "s390x", "x86", "riscv64", "mips64"],
    .system: ["Linux", "Windows", "Darwin", "FreeBSD", "OpenBSD", "NetBSD", "SunOS", "AIX", "Emscripten", "Android", "iOS", "Haiku"],
    .pythonMinor: [
        "3.11", "3.10", "3.12", "3.9", "3.8", "2.7", "3.7", "3.13", "3.6", "3.5", "3.14", "3.4", "2.6", "3.3", "3.2", "3.1"
    ],
    .installer: [
        "pip", "uv", "poetry", "requests", "bandersnatch", "pdm", "Browser", "setuptools", "pipenv", "pex", "conda", "devpi",
        "nexus", "Artifactory", "OS", "pipx", "hatch", "rye", "twine", "z3c.pypimirror"
    ],
    .distro: [
        "Ubuntu", "Debian GNU/Linux", "Raspbian GNU/Linux", "Amazon Linux", "CentOS Linux", "Alpine Linux", "Red Hat Enterprise Linux",
        "Fedora Linux", "Rocky Linux", "AlmaLinux", "Arch Linux", "openSUSE Leap", "Linux Mint", "Oracle Linux", "macOS", "Gentoo"
    ],
    .distroVersion: ["22.04", "20.04", "12", "11", "10", "24.04", "2", "2023", "7", "8", "9", "3.19", "18.04", "39", "40", "3.18"],
    .project: ["numpy", "requests", "boto3", "urllib3", "setuptools", "certifi", "idna", "charset-normalizer", "typing-extensions"]
]

/// The dimensions a generated cube draws from (the project dimension is family (e)'s).
private let ordinaryDimensions: [CubeDimension] = [.country, .cpu, .system, .pythonMinor, .installer, .distro, .distroVersion]

private func values(of d: CubeDimension, count n: Int) -> [String] {
    let pool = valuePools[d] ?? []
    return (0..<n).map { $0 < pool.count ? pool[$0] : "\(d.rawValue)-\($0)" }
}

/// One injected cause while it is being drawn: value indexes per cube dimension.
private struct Injection {
    var dims: [Int]
    var values: [[Int]]
    var factor: Double
}

struct Generator {
    var seed: UInt64
    /// The largest cube (leaves) for families (a)–(d); family (e) allows more.
    var maxLeaves = 20_000
    var maxLeavesLarge = 60_000
    /// Counts drawn from Poisson (download data); off, the papers' style: volumes 1,000 times
    /// larger and only the multiplicative noise (`--paper-noise`).
    var countingNoise = true

    func cases(_ family: Family, count: Int) -> [Cube] {
        var rng = SeededRandom(seed: seed &* 1_000_003 &+ UInt64(Family.allCases.firstIndex(of: family)!) &* 7919)
        var out: [Cube] = []
        var attempts = 0
        while out.count < count && attempts < count * 20 {
            attempts += 1
            if let c = makeCase(family, index: out.count, rng: &rng) { out.append(c) }
        }
        return out
    }

    private func makeCase(_ family: Family, index: Int, rng: inout SeededRandom) -> Cube? {
        // The cube's shape.
        var dims: [CubeDimension]
        var cards: [Int]
        if family == .largeDim {
            let others = Array(ordinaryDimensions.shuffled(using: &rng).prefix(3))
            dims = [.project] + others
            cards = [rng.int(200...500)] + others.map { _ in rng.int(5...7) }
            while cards.reduce(1, *) > maxLeavesLarge {
                if let i = (1..<cards.count).max(by: { cards[$0] < cards[$1] }), cards[i] > 5 {
                    cards[i] -= 1
                } else {
                    cards[0] = max(200, cards[0] * 9 / 10)
                    if cards[0] == 200 { break }
                }
            }
        } else {
            let n = rng.int(4...6)
            dims = Array(ordinaryDimensions.shuffled(using: &rng).prefix(n))
            cards = dims.map { _ in Int(exp(rng.uniform(log(5), log(51)))) }
            while cards.reduce(1, *) > maxLeaves, let i = cards.indices.max(by: { cards[$0] < cards[$1] }), cards[i] > 5 {
                cards[i] = max(5, cards[i] * 4 / 5)
            }
        }
        let leafCount = cards.reduce(1, *)
        let valueNames = zip(dims, cards).map { values(of: $0, count: $1) }

        // Popularity per dimension: Zipf with exponent 0.7–1.4 (the first values are the biggest).
        let popularity: [[Double]] = cards.map { n in
            let s = rng.uniform(0.7, 1.4)
            let w = (1...n).map { 1 / pow(Double($0), s) }
            let t = w.reduce(0, +)
            return w.map { $0 / t }
        }
        var coords = cards.map { _ in [Int32](repeating: 0, count: leafCount) }
        var step = 1
        for d in stride(from: dims.count - 1, through: 0, by: -1) {
            for i in 0..<leafCount { coords[d][i] = Int32((i / step) % cards[d]) }
            step *= cards[d]
        }
        // Expected downloads per leaf: the product of popularities, a log-normal interaction, and
        // 20–100 downloads per leaf on average.
        let total = Double(leafCount) * rng.uniform(20, 100) * (countingNoise ? 1 : 1000)
        var rate = [Double](repeating: 0, count: leafCount)
        for i in 0..<leafCount {
            var p = 1.0
            for d in dims.indices { p *= popularity[d][Int(coords[d][i])] }
            rate[i] = total * p * exp(0.5 * rng.normal() - 0.125)
        }

        // The causes.
        let direction: Cube.Direction = family == .drop ? .drop : .rise
        let causeCount: Int
        switch family {
        case .oneDim, .combination: causeCount = 1
        case .multiple: causeCount = rng.int(2...3)
        case .drop: causeCount = rng.int(1...3)
        case .largeDim: causeCount = rng.int(1...2)
        case .logs: preconditionFailure("log cases are read from the simulator, not generated")
        }
        var injections: [Injection] = []
        let rateTotal = rate.reduce(0, +)
        for _ in 0..<causeCount {
            var found: Injection?
            for _ in 0..<200 {
                let candidate = drawCause(
                    family, dims: dims, cards: cards, popularity: popularity, direction: direction, rng: &rng)
                guard compatible(candidate, with: injections) else { continue }
                // Visible: the cause's change is at least 2% of the total; and not the bulk of it.
                let causeVolume = volume(of: candidate, rate: rate, coords: coords)
                let share = causeVolume / rateTotal
                let change = share * abs(candidate.factor - 1)
                if change >= 0.02 && share <= 0.5 && identifiable(candidate, volume: causeVolume, rate: rate, coords: coords) {
                    found = candidate
                    break
                }
            }
            guard let f = found else { return nil }
            injections.append(f)
        }

        // The two ranges: the baseline is the forecast; the window adds drift, noise and causes.
        let drift = rng.uniform(-0.015, 0.015)
        let noise = rng.uniform(0, 0.1)
        var baseline = [Double](repeating: 0, count: leafCount)
        var window = [Double](repeating: 0, count: leafCount)
        for i in 0..<leafCount {
            baseline[i] = countingNoise ? rng.poisson(rate[i]) : rate[i].rounded()
            var w = rate[i] * (1 + drift) * max(0, 1 + noise * rng.normal())
            for inj in injections where covers(inj, leaf: i, coords: coords) {
                w *= inj.factor * max(0, 1 + 0.05 * rng.normal())
            }
            window[i] = countingNoise ? rng.poisson(w) : w.rounded()
        }
        let keys = injections.map { inj in
            CauseKey(zip(inj.dims, inj.values).map { d, vs in (dims[d], vs.map { valueNames[d][$0] }) })
        }
        return Cube(
            family: family, index: index, dimensions: dims, values: valueNames, coords: coords,
            baseline: baseline, window: window, truth: keys, direction: direction)
    }

    private func drawCause(
        _ family: Family, dims: [CubeDimension], cards: [Int], popularity: [[Double]], direction: Cube.Direction,
        rng: inout SeededRandom
    ) -> Injection {
        let width: Int
        switch family {
        case .oneDim: width = 1
        case .combination: width = rng.int(2...3)
        case .multiple, .drop: width = [1, 1, 2, 2, 3][rng.int(0...4)]
        case .largeDim: width = rng.int(1...2)
        case .logs: preconditionFailure("log cases are read from the simulator, not generated")
        }
        var chosen = Array(dims.indices.shuffled(using: &rng).prefix(width))
        if family == .largeDim && !chosen.contains(0) { chosen[0] = 0 }
        chosen.sort()
        // One dimension may take a set of values (2–3; in the project dimension 2–4).
        let setDim = rng.uniform() < 0.25 || (family == .largeDim && rng.uniform() < 0.5) ? chosen.randomElement(using: &rng) : nil
        var picked: [[Int]] = []
        for d in chosen {
            let n = d == setDim ? (dims[d] == .project ? rng.int(2...4) : rng.int(2...3)) : 1
            // Values weighted by the square root of their popularity: mostly the bigger values,
            // sometimes a small one (a small one then needs a large factor to be visible).
            let w = popularity[d].map { $0.squareRoot() }
            var vs: Set<Int> = []
            while vs.count < n { vs.insert(rng.weighted(w)) }
            picked.append(vs.sorted())
        }
        let factor = direction == .rise ? 1 + rng.uniform(0.5, 3) : 1 - rng.uniform(0.3, 0.9)
        return Injection(dims: chosen, values: picked, factor: factor)
    }

    /// Causes of one case must be told apart: where they share a dimension their values differ,
    /// and no two differ in one dimension only (those are one cause with a value set).
    private func compatible(_ c: Injection, with others: [Injection]) -> Bool {
        for o in others {
            var differing = 0
            for (d, vs) in zip(c.dims, c.values) {
                guard let j = o.dims.firstIndex(of: d) else { continue }
                if !Set(vs).isDisjoint(with: o.values[j]) {
                    if Set(vs) != Set(o.values[j]) { return false }
                } else {
                    differing += 1
                }
            }
            if o.dims == c.dims && differing <= 1 { return false }
            if Set(o.dims) != Set(c.dims) && differing == 0 && !Set(o.dims).isDisjoint(with: c.dims) { return false }
        }
        return true
    }

    /// A cause is told apart from the coarser cause without one of its pairs only when that one
    /// would take in at least a quarter more volume (leaves that did not change).
    private func identifiable(_ inj: Injection, volume: Double, rate: [Double], coords: [[Int32]]) -> Bool {
        guard inj.dims.count > 1 else { return true }
        for drop in inj.dims.indices {
            var coarser = inj
            coarser.dims.remove(at: drop)
            coarser.values.remove(at: drop)
            if self.volume(of: coarser, rate: rate, coords: coords) < 1.25 * volume { return false }
        }
        return true
    }

    private func covers(_ inj: Injection, leaf i: Int, coords: [[Int32]]) -> Bool {
        for (d, vs) in zip(inj.dims, inj.values) where !vs.contains(Int(coords[d][i])) { return false }
        return true
    }

    private func volume(of inj: Injection, rate: [Double], coords: [[Int32]]) -> Double {
        var v = 0.0
        for i in rate.indices where covers(inj, leaf: i, coords: coords) { v += rate[i] }
        return v
    }
}
