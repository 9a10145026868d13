import Foundation

// Squeeze, after Z. Li, C. Luo, Y. Zhao, Y. Sun, K. Sui, X. Wang, D. Liu, X. Jin, Q. Wang and
// D. Pei, "Generic and Robust Localization of Multi-Dimensional Root Causes", ISSRE 2019, with the
// defaults of the authors' published implementation (NetManAIOps/Squeeze, read for the details
// the paper leaves open; nothing copied).
//
// 1. Leaves with a forecast f > 0; deviation score d = 2(f − v) / (f + v) (v: the actual value).
// 2. Filter: leaves whose |v − f| is small are dropped, at the knee (Kneedle, concave increasing)
//    of the cumulative density of log(|v − f| + 1) / 10.
// 3. Clustering (bottom-up): a histogram of the remaining deviation scores (numpy's "auto" bins,
//    padded with five 0.1-wide bins each side), smoothed by a moving average; each relative
//    maximum of the density is a cluster, bounded by the neighbouring relative minima; clusters
//    whose mean |d| is under 0.2 are normal. A cluster then holds every leaf whose d lies within
//    its range. Leaves with |d| under every abnormal leaf's are the normal leaves.
// 4. Per cluster (top-down), cuboid layer by layer (1 dimension, then 2, ...), in each cuboid:
//    the cluster's elements (attribute combinations) by decreasing descent score (the share of
//    an element's leaves that are in the cluster); the first k elements (k ≤ 12) that maximise
//    the generalized potential score
//        GPS = 1 − (mean|v₁ − a₁| + mean|v₂ − f₂|) / (mean|v₁ − f₁| + mean|v₂ − f₂|)
//    over the cluster's and the normal leaves, 1 = below the chosen elements, 2 = the rest, and
//    a₁ = f₁ · Σv₁/Σf₁ (the generalized ripple effect). The search stops after the first layer in
//    which some cuboid reaches GPS > 0.9; the cluster's root cause is the candidate with the
//    highest C·GPS − k·layer (succinctness), with the authors' automatic weight
//        C = −log(#clusters · #abnormal leaves / #leaves) / log(Σ|values|) · Σ|values|.
// 5. The answer is every cluster's elements. Each element is one cause (an attribute
//    combination); the scoring merges elements that differ in one dimension into a value set.
//
// Two deliberate readings: the normal leaves are those with |d| below the smallest |d| of the
// abnormal leaves (the published code compares with a signed score, which leaves no normal
// leaves when the window rises); the histogram is smoothed by a centred moving average (the
// published code's trailing average leaves the first bins unsmoothed, which splits the largest
// deviations into many small clusters, each then reported as a cause); the knee's cumulative density uses a Gaussian kernel (Scott's
// bandwidth) evaluated on the 1,000-point grid from a histogram of that grid. One limit the
// paper does not have: the layers stop at 4 dimensions (`maxLayer`), since the cubes built from
// logs have 19 and the causes asked for have at most 4 pairs.

struct Squeeze: LocalisationMethod {
    var name: String { "Squeeze" }
    var maxNormalDeviation = 0.2
    var maxElements = 12
    var gpsUpperBound = 0.9
    /// The widest cuboid searched: the causes have 1–4 pairs, and on a cube of 19
    /// dimensions (the log cases) every layer would be C(19, k) cuboids.
    var maxLayer = 4

    func localise(_ cube: Cube) async throws -> [CauseKey] {
        let valid = cube.baseline.indices.filter { cube.baseline[$0] > 0 }
        let n = valid.count
        guard n > 1 else { return [] }
        let v = valid.map { cube.window[$0] }
        let f = valid.map { cube.baseline[$0] }
        let coords = cube.coords.map { c in valid.map { Int(c[$0]) } }
        var dev = [Double](repeating: 0, count: n)
        for i in 0..<n { dev[i] = 2 * (f[i] - v[i]) / (f[i] + v[i]) }

        // 2. Filter at the knee.
        let metric: [Double] = (0..<n).map { i in log(abs(v[i] - f[i]) + 1) / 10 }
        let knee = Squeeze.knee(of: metric)
        let kept = (0..<n).filter { metric[$0] > knee }
        guard !kept.isEmpty else { return [] }

        // 3. Clusters of deviation scores, widened to every leaf within each one's range.
        let clusters: [[Int]] = Squeeze.densityClusters(kept.map { dev[$0] }, maxNormal: maxNormalDeviation).map { members in
            let ds = members.map { dev[kept[$0]] }
            let lo = ds.min()!
            let hi = ds.max()!
            return (0..<n).filter { dev[$0] >= lo && dev[$0] <= hi }
        }
        guard !clusters.isEmpty else { return [] }
        let minAbnormal = clusters.joined().map { abs(dev[$0]) }.min()!
        let normal = (0..<n).filter { abs(dev[$0]) < minAbnormal }
        let totalValues = Double(cube.values.reduce(0) { $0 + $1.count })
        let abnormalCount = Double(clusters.reduce(0) { $0 + $1.count })
        let weight = -log(Double(clusters.count) * abnormalCount / Double(n)) / log(totalValues) * totalValues

        let search = Search(cube: cube, v: v, f: f, coords: coords, maxElements: maxElements, maxLayer: maxLayer)
        var causes: [CauseKey] = []
        for cluster in clusters {
            causes += search.locate(cluster: cluster, normal: normal, weight: weight, gpsUpperBound: gpsUpperBound)
        }
        return causes
    }

    /// The top-down search within one cluster.
    private struct Search {
        let cube: Cube
        let v: [Double]
        let f: [Double]
        let coords: [[Int]]
        let maxElements: Int
        let maxLayer: Int

        struct Candidate {
            var dims: [Int]
            var elements: [Int]
            var gps: Double
        }

        func locate(cluster: [Int], normal: [Int], weight: Double, gpsUpperBound: Double) -> [CauseKey] {
            let dimCount = cube.dimensions.count
            var candidates: [(candidate: Candidate, layer: Int)] = []
            for layer in 1...min(dimCount, maxLayer) {
                for cuboid in combinations(of: Array(0..<dimCount), size: layer) {
                    if let c = best(in: cuboid, cluster: cluster, subset: cluster + normal) { candidates.append((c, layer)) }
                }
                if candidates.contains(where: { $0.candidate.gps > gpsUpperBound }) { break }
            }
            let ranked = candidates.max {
                ($0.candidate.gps * weight - Double($0.candidate.elements.count * $0.layer))
                    < ($1.candidate.gps * weight - Double($1.candidate.elements.count * $1.layer))
            }
            guard let chosen = ranked?.candidate else { return [] }
            return chosen.elements.map { key in
                var k = key
                var pairs: [(dimension: Int, value: Int)] = []
                for d in chosen.dims.reversed() {
                    let card = cube.values[d].count
                    pairs.append((d, k % card))
                    k /= card
                }
                return CauseKey(pairs.map { (cube.dimensions[$0.dimension], [cube.values[$0.dimension][$0.value]]) })
            }
        }

        private func key(_ leaf: Int, _ cuboid: [Int]) -> Int {
            var k = 0
            for d in cuboid { k = k * cube.values[d].count + coords[d][leaf] }
            return k
        }

        private func best(in cuboid: [Int], cluster: [Int], subset: [Int]) -> Candidate? {
            let space = cuboid.reduce(1) { $0 * cube.values[$1].count }
            // Each leaf's element in this cuboid. Wide cuboids (a cube built from logs, where
            // `filename` and `version` have thousands of values) are numbered densely first.
            var keys = (0..<v.count).map { key($0, cuboid) }
            var original: [Int]?
            var size = space
            if space > 1 << 20 {
                var index: [Int: Int] = [:]
                var seen: [Int] = []
                for i in keys.indices {
                    if let j = index[keys[i]] {
                        keys[i] = j
                    } else {
                        index[keys[i]] = seen.count
                        seen.append(keys[i])
                        keys[i] = seen.count - 1
                    }
                }
                original = seen
                size = seen.count
            }
            var descents = [Int](repeating: 0, count: size)
            for i in 0..<v.count { descents[keys[i]] += 1 }
            var inCluster = [Int](repeating: 0, count: size)
            for i in cluster { inCluster[keys[i]] += 1 }
            let elements = (0..<size).filter { inCluster[$0] > 0 }.sorted { a, b in
                let ra = Double(inCluster[a]) / Double(descents[a])
                let rb = Double(inCluster[b]) / Double(descents[b])
                if ra != rb { return ra > rb }
                if inCluster[a] != inCluster[b] { return inCluster[a] > inCluster[b] }
                return (original?[a] ?? a) < (original?[b] ?? b)
            }
            let distinct = descents.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
            let kMax = min(elements.count, maxElements, distinct - 1)
            guard kMax >= 1 else { return nil }

            var rank = [Int](repeating: -1, count: size)
            for (r, e) in elements.prefix(kMax).enumerated() { rank[e] = r }
            var buckets = [[Int]](repeating: [], count: kMax)
            var absVF = 0.0
            for i in subset {
                absVF += abs(v[i] - f[i])
                let r = rank[keys[i]]
                if r >= 0 { buckets[r].append(i) }
            }
            func divide(_ x: Double, _ y: Double) -> Double { y > 0 ? x / y : (x == 0 ? 0 : .infinity) }

            var best: (k: Int, gps: Double)?
            var sumV1 = 0.0
            var sumF1 = 0.0
            var absVF1 = 0.0
            var count1 = 0
            for k in 1...kMax {
                for i in buckets[k - 1] {
                    sumV1 += v[i]
                    sumF1 += f[i]
                    absVF1 += abs(v[i] - f[i])
                }
                count1 += buckets[k - 1].count
                let scale = sumF1 > 0 ? sumV1 / sumF1 : 0
                var absVA1 = 0.0
                for b in 0..<k {
                    for i in buckets[b] { absVA1 += abs(v[i] - f[i] * scale) }
                }
                let count2 = subset.count - count1
                let absVF2 = absVF - absVF1
                let gps =
                    1 - (divide(absVA1, Double(count1)) + divide(absVF2, Double(count2)))
                    / (divide(absVF1, Double(count1)) + divide(absVF2, Double(count2)))
                let score = gps.isNaN ? -Double.infinity : gps
                if best == nil || score > best!.gps { best = (k, score) }
            }
            guard let b = best else { return nil }
            return Candidate(dims: cuboid, elements: elements.prefix(b.k).map { original?[$0] ?? $0 }, gps: b.gps)
        }
    }

    /// Kneedle (concave, increasing) on the cumulative kernel density of `x`, as `kneed` finds it
    /// offline with sensitivity 1: the first local maximum of the difference curve after which
    /// the curve falls a threshold below it. Returns the knee's x (the minimum when there is none).
    static func knee(of x: [Double]) -> Double {
        let lo = x.min()!
        let hi = x.max()!
        guard hi > lo else { return lo }
        let m = 1000
        let grid = (0..<m).map { lo + (hi - lo) * Double($0) / Double(m - 1) }
        var hist = [Double](repeating: 0, count: m)
        for value in x { hist[min(m - 1, Int(((value - lo) / (hi - lo) * Double(m - 1)).rounded()))] += 1 }
        let mean = x.reduce(0, +) / Double(x.count)
        let sd = (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, x.count - 1))).squareRoot()
        let h = max(sd * pow(Double(x.count), -0.2), (hi - lo) / Double(m))
        let step = (hi - lo) / Double(m - 1)
        let reach = Int((4 * h / step).rounded(.up))
        var density = [Double](repeating: 0, count: m)
        for j in 0..<m where hist[j] > 0 {
            for i in max(0, j - reach)...min(m - 1, j + reach) {
                let z = (grid[i] - grid[j]) / h
                density[i] += hist[j] * exp(-0.5 * z * z)
            }
        }
        var y = [Double](repeating: 0, count: m)
        var run = 0.0
        for i in 0..<m {
            run += density[i]
            y[i] = run
        }
        let y0 = y[0]
        let y1 = y[m - 1]
        guard y1 > y0 else { return lo }
        let xn = (0..<m).map { Double($0) / Double(m - 1) }
        let diff = (0..<m).map { (y[$0] - y0) / (y1 - y0) - xn[$0] }
        let isMax = (0..<m).map { i in diff[i] >= diff[max(0, i - 1)] && diff[i] >= diff[min(m - 1, i + 1)] }
        let isMin = (0..<m).map { i in diff[i] <= diff[max(0, i - 1)] && diff[i] <= diff[min(m - 1, i + 1)] }
        let drop = 1.0 / Double(m - 1)
        var threshold = 0.0
        var thresholdIndex: Int?
        for i in 0..<(m - 1) {
            if isMax[i] {
                threshold = diff[i] - drop
                thresholdIndex = i
            }
            if isMin[i] && !isMax[i] { threshold = 0 }
            if let t = thresholdIndex, diff[i + 1] < threshold { return grid[t] }
        }
        return lo
    }

    /// Density-based one-dimensional clustering of deviation scores; returns index lists into `x`.
    static func densityClusters(_ x: [Double], maxNormal: Double) -> [[Int]] {
        let n = x.count
        let lo = x.min()!
        let hi = x.max()!
        // numpy's "auto" bins: the narrower of Sturges' and Freedman–Diaconis' widths.
        var edges: [Double]
        if hi > lo {
            let sorted = x.sorted()
            func quantile(_ q: Double) -> Double {
                let p = q * Double(n - 1)
                let i = Int(p)
                return i + 1 < n ? sorted[i] + (sorted[i + 1] - sorted[i]) * (p - Double(i)) : sorted[i]
            }
            let sturges = (hi - lo) / (log2(Double(n)) + 1)
            let fd = 2 * (quantile(0.75) - quantile(0.25)) * pow(Double(n), -1.0 / 3)
            let width = fd > 0 ? min(fd, sturges) : sturges
            let bins = max(1, Int(((hi - lo) / width).rounded(.up)))
            edges = (0...bins).map { lo + (hi - lo) * Double($0) / Double(bins) }
        } else {
            edges = [lo - 0.5, lo + 0.5]
        }
        let first = edges[0]
        let last = edges[edges.count - 1]
        edges = (1...5).reversed().map { first - 0.1 * Double($0) } + edges + (1...5).map { last + 0.1 * Double($0) }
        let binCount = edges.count - 1
        var counts = [Double](repeating: 0, count: binCount)
        for value in x {
            // The bin holding `value`: half-open except the last, as numpy's histogram.
            var a = 0
            var b = binCount
            while b - a > 1 {
                let mid = (a + b) / 2
                if edges[mid] <= value { a = mid } else { b = mid }
            }
            counts[a] += 1
        }
        let density = (0..<binCount).map { counts[$0] / (Double(n) * (edges[$0 + 1] - edges[$0])) }
        let centers = (0..<binCount).map { (edges[$0] + edges[$0 + 1]) / 2 }
        let window = max(density.filter { $0 > 0 }.count / 10, 1)
        var smooth = density
        if window > 1 {
            for i in 0..<binCount {
                let a = max(0, i - window / 2)
                let b = min(binCount - 1, a + window - 1)
                smooth[i] = density[a...b].reduce(0, +) / Double(b - a + 1)
            }
        }
        let m = binCount
        let maxima = (0..<m).filter { i in smooth[i] > smooth[(i - 1 + m) % m] && smooth[i] > smooth[(i + 1) % m] && smooth[i] > 0 }
        let minima = (0..<m).filter { i in smooth[i] <= smooth[(i - 1 + m) % m] && smooth[i] <= smooth[(i + 1) % m] }
        let boundaries = [-Double.infinity] + minima.map { centers[$0] } + [Double.infinity]
        var clusters: [[Int]] = []
        for peak in maxima {
            let c = centers[peak]
            let left = boundaries.last { $0 <= c }!
            let right = boundaries.first { $0 >= c }!
            let members = (0..<n).filter { x[$0] >= left && x[$0] <= right }
            guard !members.isEmpty else { continue }
            let meanAbs = members.reduce(0) { $0 + abs(x[$1]) } / Double(members.count)
            if meanAbs < maxNormal { continue }
            clusters.append(members)
        }
        return clusters
    }
}

/// Every `size`-element combination of `items`, in lexicographic order.
func combinations(of items: [Int], size: Int) -> [[Int]] {
    guard size > 0 else { return [[]] }
    guard items.count >= size else { return [] }
    var out: [[Int]] = []
    for (i, first) in items.enumerated() {
        for rest in combinations(of: Array(items[(i + 1)...]), size: size - 1) { out.append([first] + rest) }
    }
    return out
}
