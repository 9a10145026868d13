import CasebookCore
import Foundation

/// One root cause of a change: a combination of `dimension = value(s)` pairs, and the part of the
/// change that the downloads matching all of them carry.
public struct Cause: Sendable, Hashable {
    /// One dimension with one value, or several values of that dimension (an OR within it).
    public struct Pair: Sendable, Hashable {
        public var dimension: CasebookCore.Dimension
        /// The values (`nil` = unknown), in a stable order.
        public var values: [String?]

        public init(_ dimension: CasebookCore.Dimension, _ values: [String?]) {
            self.dimension = dimension
            self.values = values
        }

        /// `python_major = 2`, `project ∈ {flask-login, markdown}` (long lists capped).
        public var text: String {
            if values.count == 1 { return "\(dimension.rawValue) = \(Describe.value(values[0]))" }
            let shown = values.prefix(6).map(Describe.value).joined(separator: ", ")
            return "\(dimension.rawValue) ∈ {\(shown)\(values.count > 6 ? " and \(values.count - 6) more" : "")}"
        }
    }

    /// The pairs, in a stable order (coarsest first, as found).
    public var pairs: [Pair]
    /// Downloads in the window within the cause.
    public var window: Double
    /// What the baseline expects there (the baseline's downloads scaled to the window's length).
    public var expected: Double
    /// `window − expected`, signed (negative: a shortfall).
    public var excess: Double
    /// `|excess| / |change|`.
    public var share: Double
    /// How unlike its baseline share the cause's window share is: the Jensen–Shannon divergence
    /// (base 2, 0–1) between the cause's share of the baseline and of the window.
    public var surprise: Double

    public init(pairs: [Pair], window: Double, expected: Double, excess: Double, share: Double, surprise: Double) {
        self.pairs = pairs
        self.window = window
        self.expected = expected
        self.excess = excess
        self.share = share
        self.surprise = surprise
    }

    /// The cause as query filters (every pair an `in` filter).
    public var filters: [DimensionFilter] { pairs.map { DimensionFilter($0.dimension, .in, $0.values) } }

    /// `python_major = 2 × project ∈ {flask-login, markdown}`.
    public var text: String { pairs.map(\.text).joined(separator: " × ") }
}

/// What ``Localiser`` found.
public struct LocalisationResult: Sendable {
    /// Downloads in the window, expected there, and the change (`window − expected`), all in scope.
    public var window: Double
    public var expected: Double
    public var change: Double
    /// The causes, best first; empty when no small set of combinations explains the change (or
    /// when there is no change).
    public var causes: [Cause]
    /// `change − ` the change the causes carry together (their overlaps counted once).
    public var unexplained: Double
    /// Whether the window without the causes is back within normal (`nil` without causes).
    public var counterfactualIsNormal: Bool?
    /// Store queries made: the search's cost.
    public var queries: Int
    /// The dimensions that had usable values (more than one known value) and were searched.
    public var dimensions: [CasebookCore.Dimension]
    /// Per searched dimension, its values in the window and the baseline (window downloads,
    /// expected downloads), largest first, at most 10 each: a BubbleUp-style comparison.
    public var profiles: [DimensionProfile]
    /// Whether the window's change is larger than the baseline's noise.
    public var changeIsSignificant: Bool
}

/// One dimension's top values in the window and in the baseline (scaled to the window's length).
public struct DimensionProfile: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var value: String?
        public var window: Double
        public var expected: Double
    }
    public var dimension: CasebookCore.Dimension
    /// Distinct values seen in the window or the baseline (at least; queries keep the top values).
    public var cardinality: Int
    /// Largest first by window downloads.
    public var windowTop: [Entry]
    /// Largest first by expected downloads.
    public var baselineTop: [Entry]
}

/// Root-cause localisation: which combinations of dimension values explain a window's change
/// against its baseline, across many dimensions at once.
///
/// A pure algorithm over aggregate queries (never raw events), in the spirit of Adtributor
/// (explanatory power and surprise per dimension), Squeeze (values grouped by similar deviation)
/// and HotSpot/iDice (combinations searched top-down, pruned by explanatory power):
/// 1. per dimension, each value's excess (window − expected) and its *gain*: its share of the
///    change minus its share of the baseline. Values that each carry a clear part of the change
///    and deviate alike are grouped into one pair (`project ∈ {a, b, c, d}`); flat values stay out;
/// 2. the best pairs are extended top-down, one dimension at a time (asked of the store filtered
///    to the cause), keeping an extension only when it keeps at least 90% of the cause's excess
///    while leaving out at least a fifth of its baseline traffic (a pair that restates the
///    population adds nothing);
/// 3. causes are chosen greedily by the change they add beyond the ones already chosen (overlaps
///    asked of the store), up to `maxCauses`; when together they explain under half of the
///    change, the answer is that no small set does.
public struct Localiser: Sendable {
    public var dimensions: [CasebookCore.Dimension]
    public var window: TimeRange
    public var baseline: TimeRange
    public var filters: [DimensionFilter]
    public var maxCauses: Int
    public var maxPairs: Int

    /// Share of a cause's excess an extension must keep.
    public var keep = 0.9
    /// Share of the change the causes must explain together, else "no small set".
    public var minExplained = 0.5
    /// The residual within which the window without the causes is back to normal (share of the change).
    public var tolerance = 0.15
    /// Most values grouped into one pair.
    public var maxValues = 25

    public init(
        dimensions: [CasebookCore.Dimension], window: TimeRange, baseline: TimeRange,
        filters: [DimensionFilter] = [], maxCauses: Int = 3, maxPairs: Int = 4
    ) {
        self.dimensions = dimensions
        self.window = window
        self.baseline = baseline
        self.filters = filters
        self.maxCauses = max(1, maxCauses)
        self.maxPairs = max(1, maxPairs)
    }

    /// Rows kept per query for a dimension (the values that carry a change are among the largest
    /// in the window or the baseline).
    static let top = 2000

    /// Runs the search with `aggregate` answering the store's aggregate queries.
    public func localise(
        using aggregate: @escaping @Sendable (AggregateQuery) async throws -> AggregateTable
    ) async throws -> LocalisationResult {
        var search = Search(localiser: self, aggregate: aggregate)
        return try await search.run()
    }
}

// MARK: - The search

/// Downloads of one value (or group) in the window and expected from the baseline.
struct Cell: Sendable, Hashable {
    var w = 0.0
    var e = 0.0
    var x: Double { w - e }
}

/// A candidate while searching: its pairs and its cell.
struct Candidate: Sendable {
    var pairs: [Cause.Pair]
    var cell: Cell
    /// Share of the change minus share of the baseline, at the root.
    var gain: Double

    var key: [String] {
        pairs.map { "\($0.dimension.rawValue)=\($0.values.map { $0 ?? "\u{0}" }.sorted().joined(separator: "\u{1}"))" }.sorted()
    }
    var valueCount: Int { pairs.reduce(0) { $0 + $1.values.count } }
}

private struct Search {
    let localiser: Localiser
    let aggregate: @Sendable (AggregateQuery) async throws -> AggregateTable
    var queries = 0
    /// Window length / baseline length.
    var scale = 1.0
    /// Distinct values per dimension at the root.
    var cardinality: [CasebookCore.Dimension: Int] = [:]
    var splitCache: [String: [String?: Cell]] = [:]
    /// The change of the whole scope.
    var rootChange = 0.0
    /// Dimensions with many values that carried none of the change at the root: not tried in extensions.
    var quiet: Set<CasebookCore.Dimension> = []

    init(localiser: Localiser, aggregate: @escaping @Sendable (AggregateQuery) async throws -> AggregateTable) {
        self.localiser = localiser
        self.aggregate = aggregate
    }

    mutating func ask(_ q: AggregateQuery) async throws -> AggregateTable {
        queries += 1
        return try await aggregate(q)
    }

    /// Window and expected downloads within `scope`.
    mutating func cell(_ scope: [DimensionFilter]) async throws -> Cell {
        let w = try await ask(AggregateQuery(filters: scope, range: localiser.window)).total
        let b = try await ask(AggregateQuery(filters: scope, range: localiser.baseline)).total
        return Cell(w: Double(w), e: Double(b) * scale)
    }

    /// Window and expected downloads per value of `d` within `scope`, for the largest values of
    /// either period (the other period's count of a value cut off by `top` is asked for).
    mutating func split(_ d: CasebookCore.Dimension, _ scope: [DimensionFilter]) async throws -> [String?: Cell] {
        let cacheKey = Self.cacheKey(d, scope)
        if let cached = splitCache[cacheKey] { return cached }
        let top = Localiser.top
        let w = try await ask(AggregateQuery(dimensions: [d], filters: scope, range: localiser.window, top: top))
        let b = try await ask(AggregateQuery(dimensions: [d], filters: scope, range: localiser.baseline, top: top))
        var cells: [String?: Cell] = [:]
        for r in w.rows { cells[r.values[0], default: Cell()].w += Double(r.downloads) }
        for r in b.rows { cells[r.values[0], default: Cell()].e += Double(r.downloads) * scale }
        // A value among one period's largest but cut off the other's: its count there is at most
        // the smallest kept. That bound stands (it understates the value's change) unless the
        // value could matter, when its count is asked for.
        let floor = 0.002 * abs(rootChange)
        if b.rows.count >= top, let minB = b.rows.last.map({ Double($0.downloads) * scale }) {
            let inB = Set(b.rows.map { $0.values[0] })
            var ask: [String?] = []
            for r in w.rows where !inB.contains(r.values[0]) {
                cells[r.values[0], default: Cell()].e = minB
                if Double(r.downloads) - minB >= floor { ask.append(r.values[0]) }
            }
            if !ask.isEmpty {
                let more = try await self.ask(
                    AggregateQuery(dimensions: [d], filters: scope + [DimensionFilter(d, .in, ask)], range: localiser.baseline))
                for v in ask { cells[v]?.e = 0 }
                for r in more.rows { cells[r.values[0], default: Cell()].e += Double(r.downloads) * scale }
            }
        }
        if w.rows.count >= top, let minW = w.rows.last.map({ Double($0.downloads) }) {
            let inW = Set(w.rows.map { $0.values[0] })
            var ask: [String?] = []
            for r in b.rows where !inW.contains(r.values[0]) {
                cells[r.values[0], default: Cell()].w = minW
                if Double(r.downloads) * scale - minW >= floor { ask.append(r.values[0]) }
            }
            if !ask.isEmpty {
                let more = try await self.ask(
                    AggregateQuery(dimensions: [d], filters: scope + [DimensionFilter(d, .in, ask)], range: localiser.window))
                for v in ask { cells[v]?.w = 0 }
                for r in more.rows { cells[r.values[0], default: Cell()].w += Double(r.downloads) }
            }
        }
        splitCache[cacheKey] = cells
        return cells
    }

    static func cacheKey(_ d: CasebookCore.Dimension, _ scope: [DimensionFilter]) -> String {
        "\(d.rawValue)|" + scope.map { "\($0.dimension.rawValue)\($0.operation)\($0.values.map { $0 ?? "\u{0}" })" }.joined(separator: ";")
    }

    /// Dimensions with at most this many values at the root are split together, one query per
    /// period grouped by all of them (each split being a marginal of the answer).
    static let jointCardinality = 64

    /// Splits of several small dimensions within `scope` from one query per period.
    mutating func prefetchJoint(_ dims: [CasebookCore.Dimension], _ scope: [DimensionFilter]) async throws {
        let need = dims.filter { splitCache[Self.cacheKey($0, scope)] == nil }
        guard need.count >= 2 else { return }
        let w = try await ask(AggregateQuery(dimensions: need, filters: scope, range: localiser.window))
        let b = try await ask(AggregateQuery(dimensions: need, filters: scope, range: localiser.baseline))
        for (i, d) in need.enumerated() {
            var cells: [String?: Cell] = [:]
            for r in w.rows { cells[r.values[i], default: Cell()].w += Double(r.downloads) }
            for r in b.rows { cells[r.values[i], default: Cell()].e += Double(r.downloads) * scale }
            splitCache[Self.cacheKey(d, scope)] = cells
        }
    }

    /// Groups of values of one split that carry the scope's change: values whose excess goes the
    /// change's way, clearly (beyond count noise), each a visible part of it, clustered by their
    /// deviation (`(w − e) / (w + e)`), so that values that moved alike form one pair.
    func groups(_ cells: [String?: Cell], total: Cell) -> [[String?]] {
        let change = total.x
        guard change != 0 else { return [] }
        struct V {
            var value: String?
            var cell: Cell
            var gain: Double
            var deviation: Double
        }
        var eligible: [V] = []
        for (value, c) in cells {
            guard c.x * change > 0 else { continue }
            let gain = c.x / change - (total.e > 0 ? c.e / total.e : 0)
            let clear = abs(c.x) >= 3 * (c.e + 1).squareRoot()
            guard gain >= 0.02, c.x / change >= 0.02, clear else { continue }
            let deviation = c.x / max(1, c.w + c.e) * (change > 0 ? 1 : -1)
            eligible.append(V(value: value, cell: c, gain: gain, deviation: deviation))
        }
        guard !eligible.isEmpty else { return [] }
        // Most deviant first; clusters split where the deviation jumps.
        eligible.sort { a, b in
            a.deviation != b.deviation ? a.deviation > b.deviation : (a.value ?? "\u{10FFFF}") < (b.value ?? "\u{10FFFF}")
        }
        var clusters: [[V]] = [[eligible[0]]]
        for v in eligible.dropFirst() {
            if clusters[clusters.count - 1].last!.deviation - v.deviation > 0.25 {
                clusters.append([v])
            } else {
                clusters[clusters.count - 1].append(v)
            }
        }
        var out: [[V]] = []
        for c in clusters {
            // Within a cluster, the fewest values that carry nearly all of its gain.
            let sorted = c.sorted { $0.gain != $1.gain ? $0.gain > $1.gain : ($0.value ?? "\u{10FFFF}") < ($1.value ?? "\u{10FFFF}") }
            let all = sorted.reduce(0) { $0 + $1.gain }
            var kept: [V] = []
            var sum = 0.0
            for v in sorted {
                kept.append(v)
                sum += v.gain
                if sum >= 0.95 * all { break }
            }
            if kept.count <= localiser.maxValues { out.append(kept) }
        }
        // And all clusters together, when there are several.
        if clusters.count > 1, eligible.count <= localiser.maxValues { out.append(eligible) }
        return out.map { g in g.map(\.value).sorted { ($0 ?? "\u{10FFFF}") < ($1 ?? "\u{10FFFF}") } }
    }

    static func sum(_ cells: [String?: Cell], _ values: [String?]) -> Cell {
        var c = Cell()
        for v in values {
            if let x = cells[v] {
                c.w += x.w
                c.e += x.e
            }
        }
        return c
    }

    /// Orders extensions or candidates: higher score first; at (nearly) equal score, fewer
    /// values, then the coarser dimensions (`coarseFirst`), then fewer distinct values.
    func better(
        _ a: (score: Double, values: Int, dims: [CasebookCore.Dimension]), _ b: (score: Double, values: Int, dims: [CasebookCore.Dimension])
    )
        -> Bool
    {
        if abs(a.score - b.score) > 0.02 { return a.score > b.score }
        if a.values != b.values { return a.values < b.values }
        let oa = a.dims.map { Self.coarseFirst.firstIndex(of: $0) ?? 99 }.sorted()
        let ob = b.dims.map { Self.coarseFirst.firstIndex(of: $0) ?? 99 }.sorted()
        if oa != ob { return oa.lexicographicallyPrecedes(ob) }
        let ca = a.dims.reduce(0) { $0 + (cardinality[$1] ?? 0) }
        let cb = b.dims.reduce(0) { $0 + (cardinality[$1] ?? 0) }
        if ca != cb { return ca < cb }
        return a.score > b.score
    }

    /// Dimensions from coarse to fine, for ties: `python_major` before `python_minor` before `python`.
    static let coarseFirst: [CasebookCore.Dimension] = [
        .project, .pythonMajor, .pythonMinor, .python, .implementation, .installer, .installerVersion, .system, .distro,
        .distroVersion, .libc, .libcVersion, .openssl, .cpu, .ci, .country, .index, .fileType, .version, .filename, .client
    ]

    /// Extends a candidate one dimension at a time while an extension keeps most of its excess
    /// and leaves out a real part of its baseline traffic.
    mutating func extend(_ start: Candidate, dims: [CasebookCore.Dimension]) async throws -> Candidate {
        var c = start
        while c.pairs.count < localiser.maxPairs, c.cell.e > 0, c.cell.x != 0 {
            let scope = localiser.filters + c.filters
            var best: (cand: Candidate, score: Double)?
            let free = dims.filter { d in !quiet.contains(d) && !c.pairs.contains { $0.dimension == d } }
            try await prefetchJoint(free.filter { (cardinality[$0] ?? .max) <= Self.jointCardinality }, scope)
            for d in free {
                let cells = try await split(d, scope)
                for g in groups(cells, total: c.cell) {
                    let sub = Self.sum(cells, g)
                    let kept = sub.x / c.cell.x
                    let left = c.cell.e - sub.e
                    guard kept >= localiser.keep, kept <= 2 - localiser.keep + 0.05, left >= 0.2 * c.cell.e,
                        left >= 3 * (c.cell.e).squareRoot() || left >= 10
                    else { continue }
                    let score = kept - sub.e / c.cell.e
                    let cand = Candidate(pairs: c.pairs + [Cause.Pair(d, g)], cell: sub, gain: c.gain)
                    if let b = best {
                        if better((score, g.count, [d]), (b.score, b.cand.pairs.last!.values.count, [b.cand.pairs.last!.dimension])) {
                            best = (cand, score)
                        }
                    } else {
                        best = (cand, score)
                    }
                }
            }
            guard let b = best else { break }
            c = b.cand
        }
        return c
    }

    mutating func run() async throws -> LocalisationResult {
        let wLen = Double((localiser.window.to ?? 0) - (localiser.window.from ?? 0))
        let bLen = Double((localiser.baseline.to ?? 0) - (localiser.baseline.from ?? 0))
        scale = bLen > 0 ? wLen / bLen : 0
        let total = try await cell(localiser.filters)
        let change = total.x
        rootChange = change
        // The baseline's day-to-day noise, scaled to the window's length.
        let days = try await ask(AggregateQuery(bucket: .day, filters: localiser.filters, range: localiser.baseline))
        let daily = days.rows.map { Double($0.downloads) }
        let windowDays = max(1, wLen / 86400)
        let noise = max(3 * total.e.squareRoot(), daily.count >= 3 ? 3 * Stats.robustSigma(daily) * windowDays.squareRoot() : 0)
        let significant = abs(change) > noise && abs(change) > 0

        // 1. Every dimension alone.
        var searched: [CasebookCore.Dimension] = []
        var profiles: [DimensionProfile] = []
        var candidates: [Candidate] = []
        for d in localiser.dimensions
        where !localiser.filters.contains(where: { $0.dimension == d && $0.operation == .in && $0.values.count == 1 }) {
            let cells = try await split(d, localiser.filters)
            let known = cells.keys.filter { $0 != nil }
            guard !known.isEmpty, cells.count > 1 else { continue }
            searched.append(d)
            cardinality[d] = cells.count
            let entries = cells.map { DimensionProfile.Entry(value: $0.key, window: $0.value.w, expected: $0.value.e) }
            profiles.append(
                DimensionProfile(
                    dimension: d, cardinality: cells.count,
                    windowTop: Array(
                        entries.sorted { $0.window != $1.window ? $0.window > $1.window : ($0.value ?? "~") < ($1.value ?? "~") }.prefix(10)
                    ),
                    baselineTop: Array(
                        entries.sorted { $0.expected != $1.expected ? $0.expected > $1.expected : ($0.value ?? "~") < ($1.value ?? "~") }
                            .prefix(10))))
            guard significant else { continue }
            let found = groups(cells, total: total)
            // A dimension of many values none of which carried a visible part of the change
            // (thousands of clients each adding a few downloads) is left out of extensions.
            if cells.count > Self.jointCardinality, found.isEmpty { quiet.insert(d) }
            for g in found {
                let c = Self.sum(cells, g)
                let gain = c.x / change - (total.e > 0 ? c.e / total.e : 0)
                guard c.x / change >= 0.1, gain >= 0.05 else { continue }
                candidates.append(Candidate(pairs: [Cause.Pair(d, g)], cell: c, gain: gain))
            }
        }
        guard significant, !candidates.isEmpty else {
            return result(total: total, causes: [], explained: 0, searched: searched, profiles: profiles, significant: significant)
        }
        candidates.sort { better(($0.gain, $0.valueCount, $0.pairs.map(\.dimension)), ($1.gain, $1.valueCount, $1.pairs.map(\.dimension))) }

        // 2. The best ones extended, top-down.
        var finals: [Candidate] = []
        var seen: Set<[String]> = []
        for c in candidates.prefix(4) {
            // A candidate already within a cause found (python_major = 2 within
            // python_major = 2 × project ∈ {…}) would be extended into it again.
            if finals.contains(where: { f in Set(c.key).isSubset(of: Set(f.key)) }) { continue }
            let e = try await extend(c, dims: searched)
            guard !seen.contains(e.key) else { continue }
            seen.insert(e.key)
            let gain = e.cell.x / change - (total.e > 0 ? e.cell.e / total.e : 0)
            finals.append(Candidate(pairs: e.pairs, cell: e.cell, gain: gain))
        }
        // Candidates not extended, in case they add what the others miss.
        for c in candidates.dropFirst(4).prefix(6) where !seen.contains(c.key) {
            seen.insert(c.key)
            finals.append(c)
        }
        finals.sort { better(($0.gain, $0.valueCount, $0.pairs.map(\.dimension)), ($1.gain, $1.valueCount, $1.pairs.map(\.dimension))) }

        // 3. Greedy choice by the change each adds beyond those chosen (overlaps asked).
        var chosen: [Candidate] = []
        var explained = 0.0
        var overlapCache: [String: Cell] = [:]
        while chosen.count < localiser.maxCauses, abs(change - explained) > localiser.tolerance * abs(change) * 0.5 {
            var best: (cand: Candidate, added: Double, score: Double)?
            for c in finals where !chosen.contains(where: { $0.key == c.key }) {
                let added = try await union(chosen + [c], cache: &overlapCache) - explained
                guard added / change >= 0.1 else { continue }
                // The change it adds, less the traffic it takes (a broad segment explains much
                // of a change only by holding much of the traffic).
                let score = added / change - (total.e > 0 ? c.cell.e / total.e : 0)
                if best == nil || score > best!.score + 0.02 { best = (c, added, score) }
            }
            guard let b = best else { break }
            chosen.append(b.cand)
            explained += b.added
        }
        guard !chosen.isEmpty, explained / change >= localiser.minExplained else {
            return result(total: total, causes: [], explained: 0, searched: searched, profiles: profiles, significant: significant)
        }
        let causes = chosen.map { c -> Cause in
            let p = total.e > 0 ? c.cell.e / total.e : 0
            let q = total.w > 0 ? c.cell.w / total.w : 0
            return Cause(
                pairs: c.pairs, window: c.cell.w, expected: c.cell.e, excess: c.cell.x, share: abs(c.cell.x) / abs(change),
                surprise: Self.jensenShannon(p, q))
        }
        return result(total: total, causes: causes, explained: explained, searched: searched, profiles: profiles, significant: significant)
    }

    /// The change carried by the union of `cands` (inclusion–exclusion over their intersections).
    mutating func union(_ cands: [Candidate], cache: inout [String: Cell]) async throws -> Double {
        var sum = 0.0
        let n = cands.count
        for mask in 1..<(1 << n) {
            let members = (0..<n).filter { mask & (1 << $0) != 0 }
            var x: Double
            if members.count == 1 {
                x = cands[members[0]].cell.x
            } else {
                let key = members.map { cands[$0].key.joined(separator: "&") }.sorted().joined(separator: "|")
                if let c = cache[key] {
                    x = c.x
                } else if let filters = Self.intersect(members.map { cands[$0] }) {
                    let c = try await cell(localiser.filters + filters)
                    cache[key] = c
                    x = c.x
                } else {
                    x = 0
                }
            }
            sum += (members.count % 2 == 1 ? 1 : -1) * x
        }
        return sum
    }

    /// The filters of the intersection of causes; `nil` when it is empty (disjoint values).
    static func intersect(_ cands: [Candidate]) -> [DimensionFilter]? {
        var byDim: [CasebookCore.Dimension: [String?]] = [:]
        var order: [CasebookCore.Dimension] = []
        for c in cands {
            for p in c.pairs {
                if let existing = byDim[p.dimension] {
                    let common = existing.filter { p.values.contains($0) }
                    if common.isEmpty { return nil }
                    byDim[p.dimension] = common
                } else {
                    byDim[p.dimension] = p.values
                    order.append(p.dimension)
                }
            }
        }
        return order.map { DimensionFilter($0, .in, byDim[$0]!) }
    }

    /// Jensen–Shannon divergence (base 2) between Bernoulli(p) and Bernoulli(q).
    static func jensenShannon(_ p: Double, _ q: Double) -> Double {
        func term(_ a: Double, _ m: Double) -> Double { a > 0 && m > 0 ? a * log2(a / m) : 0 }
        var s = 0.0
        for (a, b) in [(p, q), (1 - p, 1 - q)] {
            let m = (a + b) / 2
            s += 0.5 * term(a, m) + 0.5 * term(b, m)
        }
        return max(0, min(1, s))
    }

    func result(
        total: Cell, causes: [Cause], explained: Double, searched: [CasebookCore.Dimension], profiles: [DimensionProfile],
        significant: Bool
    ) -> LocalisationResult {
        let unexplained = total.x - explained
        var normal: Bool?
        if !causes.isEmpty {
            let restExpected = total.e - causes.reduce(0) { $0 + $1.expected }
            normal =
                abs(unexplained) <= localiser.tolerance * abs(total.x)
                || abs(unexplained) <= max(0.05 * max(0, restExpected), 3 * max(0, restExpected).squareRoot())
        }
        return LocalisationResult(
            window: total.w, expected: total.e, change: total.x, causes: causes, unexplained: unexplained,
            counterfactualIsNormal: normal, queries: queries, dimensions: searched, profiles: profiles,
            changeIsSignificant: significant)
    }
}

extension Candidate {
    var filters: [DimensionFilter] { pairs.map { DimensionFilter($0.dimension, .in, $0.values) } }
}

// MARK: - As values (outputs, JSON)

extension Cause {
    /// `{dimension: value}` or `{dimension: [values]}` for a pair of several values (`null` = unknown).
    public var pairsValue: Value {
        .object(
            Dictionary(
                pairs.map { p in
                    (
                        p.dimension.rawValue,
                        p.values.count == 1
                            ? (p.values[0].map(Value.string) ?? .null) : .array(p.values.map { $0.map(Value.string) ?? .null })
                    )
                }, uniquingKeysWith: { a, _ in a }))
    }

    /// `{pairs, excess, share, surprise}`, with `window` and `expected` when `detailed`. Downloads
    /// rounded to whole numbers, share and surprise to 3 decimals.
    public func value(detailed: Bool) -> Value {
        var o: [String: Value] = [
            "pairs": pairsValue, "excess": .int(Int64(excess.rounded())), "share": .double(Self.r3(share)),
            "surprise": .double(Self.r3(surprise))
        ]
        if detailed {
            o["window"] = .int(Int64(window.rounded()))
            o["expected"] = .int(Int64(expected.rounded()))
        }
        return .object(o)
    }

    static func r3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

    /// The values of `dimension` within the cause (empty when it has no such pair).
    public func values(of dimension: CasebookCore.Dimension) -> [String?] {
        pairs.first { $0.dimension == dimension }?.values ?? []
    }
}

extension LocalisationResult {
    /// `{"causes": [{pairs, excess, share, surprise}], "unexplained": N}`: what `casebook explain
    /// --format json` prints.
    public var summaryValue: Value {
        .object(["causes": .array(causes.map { $0.value(detailed: false) }), "unexplained": .int(Int64(unexplained.rounded()))])
    }
}
