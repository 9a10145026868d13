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
    /// What the baseline expects there (the baseline's downloads scaled to the window: see ``Localiser/scale``).
    public var expected: Double
    /// `window − expected`, signed (negative: a shortfall).
    public var excess: Double
    /// `|excess| / |change|`.
    public var share: Double
    /// How unlike its baseline share the cause's window share is: the Jensen–Shannon divergence
    /// (base 2, 0–1) between the cause's share of the baseline and of the window.
    public var surprise: Double
    /// Values of other dimensions that at least 99% of the cause's downloads have (in the window
    /// for an excess, in the baseline for a shortfall): the same downloads described otherwise.
    public var sharedBy: [Pair] = []

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

/// One dimension's top values in the window and in the baseline (scaled to the window).
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
/// 3. causes are chosen one at a time, by the change they carry beyond their share of the
///    traffic; after each, the search starts again on the residual (the downloads outside the
///    causes found, asked of the store), like the residual searches of HotSpot, iDice and RiskLoc,
///    up to `maxCauses`; a later single-valued cause is judged against the residual's change
///    (not the whole change) once it moved clearly further than the rest of the residual. A group of values found at the root becomes one pair only when its values
///    share the rest of the combination (their joint split with the small dimensions); values that
///    did not are searched as separate causes. With several causes, each is extended again with
///    the others taken out. When together they explain under half of the change, the answer is
///    that no small set does.
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

    /// The factor that turns the baseline's downloads into the window's expected ones; nil: the
    /// window's length over the baseline's (see ``AnalysisWindow/baselineScale(baseline:using:)``).
    public var scale: Double?

    public init(
        dimensions: [CasebookCore.Dimension], window: TimeRange, baseline: TimeRange,
        filters: [DimensionFilter] = [], maxCauses: Int = 3, maxPairs: Int = 4, scale: Double? = nil
    ) {
        self.dimensions = dimensions
        self.window = window
        self.baseline = baseline
        self.filters = filters
        self.maxCauses = max(1, maxCauses)
        self.maxPairs = max(1, maxPairs)
        self.scale = scale
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
    var unknownCount: Int { pairs.reduce(0) { $0 + $1.values.filter { $0 == nil }.count } }
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
    /// Causes already chosen: their downloads are taken out of every split (the residual).
    var removed: [Candidate] = []
    var cellCache: [String: Cell] = [:]
    var jointCache: [String: [[String?]: Cell]] = [:]

    init(localiser: Localiser, aggregate: @escaping @Sendable (AggregateQuery) async throws -> AggregateTable) {
        self.localiser = localiser
        self.aggregate = aggregate
    }

    mutating func ask(_ q: AggregateQuery) async throws -> AggregateTable {
        queries += 1
        return try await aggregate(q)
    }

    /// Window and expected downloads within `scope` (cached).
    mutating func cell(_ scope: [DimensionFilter]) async throws -> Cell {
        let key = Self.scopeKey(scope)
        if let c = cellCache[key] { return c }
        let w = try await ask(AggregateQuery(filters: scope, range: localiser.window)).total
        let b = try await ask(AggregateQuery(filters: scope, range: localiser.baseline)).total
        let c = Cell(w: Double(w), e: Double(b) * scale)
        cellCache[key] = c
        return c
    }

    /// The intersections of the removed causes (inclusion–exclusion: sign +1 for odd sets), those
    /// that can meet `scope`.
    func removedTerms(_ scope: [DimensionFilter]) -> [(filters: [DimensionFilter], sign: Double)] {
        var out: [(filters: [DimensionFilter], sign: Double)] = []
        let n = removed.count
        guard n > 0 else { return [] }
        for mask in 1..<(1 << n) {
            let members = (0..<n).filter { mask & (1 << $0) != 0 }
            guard let f = Self.intersect(members.map { removed[$0] }) else { continue }
            let meets = f.allSatisfy { t in
                !scope.contains { s in s.dimension == t.dimension && s.operation == .in && Set(s.values).isDisjoint(with: t.values) }
            }
            if meets { out.append((f, members.count % 2 == 1 ? 1 : -1)) }
        }
        return out
    }

    /// `split` of the downloads outside the removed causes (the residual: a cause found is taken
    /// out, window and baseline, so that what is left is searched again).
    mutating func residualSplit(_ d: CasebookCore.Dimension, _ scope: [DimensionFilter]) async throws -> [String?: Cell] {
        var cells = try await split(d, scope)
        for t in removedTerms(scope) {
            for (v, c) in try await split(d, scope + t.filters) {
                cells[v, default: Cell()].w -= t.sign * c.w
                cells[v, default: Cell()].e -= t.sign * c.e
            }
        }
        return cells
    }

    /// `cell` of the downloads outside the removed causes.
    mutating func residualCell(_ scope: [DimensionFilter]) async throws -> Cell {
        var c = try await cell(scope)
        for t in removedTerms(scope) {
            let r = try await cell(scope + t.filters)
            c.w -= t.sign * r.w
            c.e -= t.sign * r.e
        }
        return c
    }

    /// Downloads grouped by several dimensions within `scope`, outside the removed causes.
    mutating func residualJoint(_ dims: [CasebookCore.Dimension], _ scope: [DimensionFilter]) async throws -> [[String?]: Cell] {
        var out = try await joint(dims, scope)
        for t in removedTerms(scope) {
            for (k, c) in try await joint(dims, scope + t.filters) {
                out[k, default: Cell()].w -= t.sign * c.w
                out[k, default: Cell()].e -= t.sign * c.e
            }
        }
        return out
    }

    mutating func joint(_ dims: [CasebookCore.Dimension], _ scope: [DimensionFilter]) async throws -> [[String?]: Cell] {
        let key = dims.map(\.rawValue).joined(separator: ",") + "|" + Self.scopeKey(scope)
        if let c = jointCache[key] { return c }
        let w = try await ask(AggregateQuery(dimensions: dims, filters: scope, range: localiser.window))
        let b = try await ask(AggregateQuery(dimensions: dims, filters: scope, range: localiser.baseline))
        var cells: [[String?]: Cell] = [:]
        for r in w.rows { cells[r.values, default: Cell()].w += Double(r.downloads) }
        for r in b.rows { cells[r.values, default: Cell()].e += Double(r.downloads) * scale }
        jointCache[key] = cells
        return cells
    }

    static func scopeKey(_ scope: [DimensionFilter]) -> String {
        scope.map { "\($0.dimension.rawValue)\($0.operation)\($0.values.map { $0 ?? "\u{0}" })" }.joined(separator: ";")
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
        cacheMarginals(need, scope, window: w, baseline: b)
    }

    /// Caches each dimension's split within `scope` as a marginal of one answer per period
    /// grouped by all of `dims`.
    mutating func cacheMarginals(
        _ dims: [CasebookCore.Dimension], _ scope: [DimensionFilter], window w: AggregateTable, baseline b: AggregateTable
    ) {
        for (i, d) in dims.enumerated() {
            var cells: [String?: Cell] = [:]
            for r in w.rows { cells[r.values[i], default: Cell()].w += Double(r.downloads) }
            for r in b.rows { cells[r.values[i], default: Cell()].e += Double(r.downloads) * scale }
            splitCache[Self.cacheKey(d, scope)] = cells
        }
    }

    /// Most rows a joint query of one star table's dimensions may return (see ``prefetchTables``).
    static let jointTableRows = 20_000

    /// Splits of several large dimensions within `scope` that live in one table of the star schema
    /// (project, version, filename and file type are one row of `files`): one query per period
    /// grouped by all of them answers every one of their splits, with no value cut off, when the
    /// scope holds fewer than ``jointTableRows`` rows of that table. A scope holding more is
    /// split one dimension at a time, as before.
    mutating func prefetchTables(_ dims: [CasebookCore.Dimension], _ scope: [DimensionFilter]) async throws {
        let need = dims.filter { splitCache[Self.cacheKey($0, scope)] == nil && !Self.lastResort.contains($0) }
        for table in StarSchema.Table.allCases {
            let same = need.filter { StarSchema.column($0).table == table }
            guard same.count >= 2 else { continue }
            let cap = Self.jointTableRows
            let w = try await ask(AggregateQuery(dimensions: same, filters: scope, range: localiser.window, top: cap))
            guard w.rows.count < cap else { continue }
            let b = try await ask(AggregateQuery(dimensions: same, filters: scope, range: localiser.baseline, top: cap))
            guard b.rows.count < cap else { continue }
            cacheMarginals(same, scope, window: w, baseline: b)
        }
    }

    /// Whether some value of `d` within `scope` could carry `share` of the change `x`: for a rise,
    /// a value whose window downloads reach it; for a fall, one whose expected downloads do (a
    /// value's excess is at most its window count, its shortfall at most its expected count, and
    /// taking other causes out only lowers both). One query (its top value) of the period that
    /// carries the change; for the costliest dimensions (single clients), whose two-period split
    /// is skipped when no value could matter.
    mutating func anyValueCouldCarry(
        _ d: CasebookCore.Dimension, _ scope: [DimensionFilter], share: Double, of x: Double
    ) async throws -> Bool {
        if splitCache[Self.cacheKey(d, scope)] != nil { return true }
        let range = x >= 0 ? localiser.window : localiser.baseline
        let top = try await ask(AggregateQuery(dimensions: [d], filters: scope, range: range, top: 1)).rows.first
        let count = Double(top?.downloads ?? 0) * (x >= 0 ? 1 : scale)
        return count >= share * abs(x)
    }

    /// Least share of a scope's change (and gain) a value must carry to be part of a group.
    static let visible = 0.02

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
            guard gain >= Self.visible, c.x / change >= Self.visible, clear else { continue }
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
    /// values, then fewer unknown values (`installer = bandersnatch` says more than `python_major`
    /// unknown over the same downloads), then the coarser dimensions (`coarseFirst`), then fewer
    /// distinct values.
    func better(
        _ a: (score: Double, values: Int, dims: [CasebookCore.Dimension], unknowns: Int),
        _ b: (score: Double, values: Int, dims: [CasebookCore.Dimension], unknowns: Int)
    )
        -> Bool
    {
        if abs(a.score - b.score) > 0.02 { return a.score > b.score }
        if a.values != b.values { return a.values < b.values }
        if a.unknowns != b.unknowns { return a.unknowns < b.unknowns }
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
            let small = free.filter { (cardinality[$0] ?? .max) <= Self.jointCardinality }
            let large = free.filter { !small.contains($0) }
            try await prefetchJoint(small, scope)
            try await prefetchTables(large, scope)
            for t in removedTerms(scope) {
                try await prefetchJoint(small, scope + t.filters)
                try await prefetchTables(large, scope + t.filters)
            }
            for d in free {
                // A single client's split is asked only when one client could carry a visible part
                // of the candidate's change (``groups`` keeps values of 2% or more).
                if Self.lastResort.contains(d), try await !anyValueCouldCarry(d, scope, share: Self.visible, of: c.cell.x) {
                    continue
                }
                let cells = try await residualSplit(d, scope)
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
                        let last = b.cand.pairs.last!
                        let unknowns = last.values.filter { $0 == nil }.count
                        if better(
                            (score, g.count, [d], g.filter { $0 == nil }.count), (b.score, last.values.count, [last.dimension], unknowns))
                        {
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

    /// Splits a group of values of `d` (found at the root) into the sets of values that moved
    /// with the same rest of the combination: values go into one pair only when they share it (the
    /// joint split of `d` with each small dimension, one query per period). The value with the
    /// largest excess leads; a value joins it when its excess lies where the lead's does (or is
    /// too small to tell), else it starts a set of its own.
    mutating func partition(
        _ d: CasebookCore.Dimension, _ values: [String?], cells: [String?: Cell], dims: [CasebookCore.Dimension],
        within: [DimensionFilter] = []
    ) async throws -> [[String?]] {
        guard values.count >= 2 else { return [values] }
        let free = dims.filter { f in
            f != d && !quiet.contains(f) && (cardinality[f] ?? .max) <= Self.jointCardinality && !within.contains { $0.dimension == f }
        }
        guard !free.isEmpty else { return [values] }
        let table = try await residualJoint([d] + free, localiser.filters + within + [DimensionFilter(d, .in, values)])
        var per: [String?: [CasebookCore.Dimension: [String?: Cell]]] = [:]
        for (key, c) in table {
            for (i, f) in free.enumerated() {
                per[key[0], default: [:]][f, default: [:]][key[i + 1], default: Cell()].w += c.w
                per[key[0], default: [:]][f, default: [:]][key[i + 1], default: Cell()].e += c.e
            }
        }
        // A value's own best extension: a dimension and values that keep its excess while
        // leaving out a real part of its traffic.
        func signature(_ v: String?) -> (CasebookCore.Dimension, [String?])? {
            guard let m = cells[v], m.x != 0, m.e > 0 else { return nil }
            var best: (CasebookCore.Dimension, [String?], Double)?
            for f in free {
                let split = per[v]?[f] ?? [:]
                for g in groups(split, total: m) {
                    let sub = Self.sum(split, g)
                    let kept = sub.x / m.x
                    let left = m.e - sub.e
                    guard kept >= localiser.keep, left >= 0.2 * m.e, left >= 3 * m.e.squareRoot() || left >= 10 else { continue }
                    let score = kept - sub.e / m.e
                    if best == nil || score > best!.2 + 0.02 { best = (f, g, score) }
                }
            }
            return best.map { ($0.0, $0.1) }
        }
        func outside(_ v: String?, _ sig: (CasebookCore.Dimension, [String?])) -> (x: Double, e: Double) {
            let m = cells[v] ?? Cell()
            let inside = Self.sum(per[v]?[sig.0] ?? [:], sig.1)
            return (m.x - inside.x, m.e - inside.e)
        }
        var rest = values.sorted { abs(cells[$0]?.x ?? 0) > abs(cells[$1]?.x ?? 0) }
        var parts: [[String?]] = []
        while let lead = rest.first {
            let sig = signature(lead)
            var part = [lead]
            var next: [String?] = []
            for v in rest.dropFirst() {
                let m = cells[v] ?? Cell()
                let fits: Bool
                if let sig {
                    // Its excess lies within the lead's extension too (or too little lies outside to tell).
                    let o = outside(v, sig)
                    fits = abs(o.x) <= max(0.25 * abs(m.x), 3 * (max(0, o.e) + 1).squareRoot())
                } else if let own = signature(v) {
                    // The lead's excess is spread; this value's is concentrated: a different cause,
                    // unless the lead's excess lies there as well.
                    let o = outside(lead, own)
                    let l = cells[lead] ?? Cell()
                    fits = abs(o.x) <= max(0.25 * abs(l.x), 3 * (max(0, o.e) + 1).squareRoot())
                } else {
                    fits = true
                }
                if fits { part.append(v) } else { next.append(v) }
            }
            parts.append(part.sorted { ($0 ?? "\u{10FFFF}") < ($1 ?? "\u{10FFFF}") })
            rest = next
        }
        return parts
    }

    /// Dimensions whose values are single clients: thousands of values, the costliest to ask; searched
    /// only when the other dimensions leave the change unexplained (a cause inside one client).
    static let lastResort: Set<CasebookCore.Dimension> = [.client]

    mutating func run() async throws -> LocalisationResult {
        let first = try await run(skipping: Self.lastResort)
        guard first.causes.isEmpty, first.changeIsSignificant, localiser.dimensions.contains(where: Self.lastResort.contains)
        else { return first }
        return try await run(skipping: [])
    }

    mutating func run(skipping: Set<CasebookCore.Dimension>) async throws -> LocalisationResult {
        let wLen = Double((localiser.window.to ?? 0) - (localiser.window.from ?? 0))
        let bLen = Double((localiser.baseline.to ?? 0) - (localiser.baseline.from ?? 0))
        scale = localiser.scale ?? (bLen > 0 ? wLen / bLen : 0)
        let total = try await cell(localiser.filters)
        let change = total.x
        rootChange = change
        // The baseline's day-to-day noise, scaled to the window's length.
        let days = try await ask(AggregateQuery(bucket: .day, filters: localiser.filters, range: localiser.baseline))
        let daily = days.rows.map { Double($0.downloads) }
        let windowDays = max(1, wLen / 86400)
        // With two weeks or more, the noise is that of a day against the same weekday a week
        // before (the weekly season is not noise); with less, of the days as they are.
        let sigma: Double
        if daily.count >= 10 {
            let lagged = (7..<daily.count).map { daily[$0] - daily[$0 - 7] }
            sigma = Stats.robustSigma(lagged) / 2.0.squareRoot()
        } else {
            sigma = daily.count >= 3 ? Stats.robustSigma(daily) : 0
        }
        let noise = max(3 * total.e.squareRoot(), 3 * sigma * windowDays.squareRoot())
        let significant = abs(change) > noise && abs(change) > 0

        // 1. Every dimension alone: the profiles.
        var searched: [CasebookCore.Dimension] = []
        var profiles: [DimensionProfile] = []
        let alone = localiser.dimensions.filter { d in
            !skipping.contains(d)
                && !localiser.filters.contains(where: { $0.dimension == d && $0.operation == .in && $0.values.count == 1 })
        }
        // The dimensions of one star table (a file's project, version, filename and type; a
        // profile's Python, platform, installer, ...) from one query per period when few rows.
        try await prefetchTables(alone, localiser.filters)
        for d in alone {
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
        }
        let target = change
        guard significant else {
            return result(total: total, causes: [], explained: 0, searched: searched, profiles: profiles, significant: significant)
        }
        for d in searched where (cardinality[d] ?? 0) > Self.jointCardinality {
            // A dimension of many values none of which carried a visible part of the change
            // (thousands of clients each adding a few downloads) is left out of extensions.
            if groups(try await split(d, localiser.filters), total: total).isEmpty { quiet.insert(d) }
        }

        // 2. Rounds: candidates from every dimension of the residual (the window without the
        // causes chosen so far), the best extended top-down, the best one chosen.
        var chosen: [Candidate] = []
        while chosen.count < localiser.maxCauses {
            removed = chosen
            let rest = try await residualCell(localiser.filters)
            guard abs(rest.x) >= Self.minAdded * abs(target), abs(rest.x) > noise, rest.x * target > 0 || chosen.isEmpty else { break }
            let next = try await bestCause(rest: rest, target: target, noise: noise, searched: searched)
            guard let c = next else { break }
            chosen.append(c)
        }
        // 3. Each cause refined with the others taken out (its extension may have been blurred by
        // another cause's excess within it).
        if chosen.count >= 2 {
            for i in chosen.indices {
                removed = chosen.enumerated().filter { $0.offset != i }.map(\.element)
                let first = chosen[i].pairs[0]
                let cells = try await residualSplit(first.dimension, localiser.filters)
                let start = Candidate(pairs: [first], cell: Self.sum(cells, first.values), gain: chosen[i].gain)
                let refined = try await extend(start, dims: searched)
                if !chosen.enumerated().contains(where: { $0.offset != i && $0.element.key == refined.key }) { chosen[i] = refined }
            }
        }
        // 4. Each value set completed with the values that moved alike but were too small to be
        // candidates on their own.
        for i in chosen.indices {
            removed = chosen.enumerated().filter { $0.offset != i }.map(\.element)
            chosen[i] = try await complete(chosen[i], dims: searched)
            chosen[i] = try await prune(chosen[i])
        }
        // 5. The dimensions left out (single clients) tried within each cause: one busy client
        // inside it, asked within the cause only.
        let leftOut = localiser.dimensions.filter { skipping.contains($0) }
        if !leftOut.isEmpty {
            for i in chosen.indices {
                removed = chosen.enumerated().filter { $0.offset != i }.map(\.element)
                var c = chosen[i]
                c.cell = try await residualCell(localiser.filters + c.filters)
                chosen[i] = try await extend(c, dims: leftOut)
            }
        }
        removed = chosen
        let rest = try await residualCell(localiser.filters)
        guard !chosen.isEmpty, (target - rest.x) / target >= localiser.minExplained else {
            removed = []
            return result(total: total, causes: [], explained: 0, searched: searched, profiles: profiles, significant: significant)
        }
        var explained = 0.0
        for t in removedTerms(localiser.filters) { explained += t.sign * (try await cell(localiser.filters + t.filters)).x }
        var causes: [Cause] = []
        for c in chosen {
            let raw = try await cell(localiser.filters + c.filters)
            let p = total.e > 0 ? raw.e / total.e : 0
            let q = total.w > 0 ? raw.w / total.w : 0
            var cause = Cause(
                pairs: c.pairs, window: raw.w, expected: raw.e, excess: raw.x, share: abs(raw.x) / abs(change),
                surprise: Self.jensenShannon(p, q))
            cause.sharedBy = try await sharedPairs(cause, searched: searched)
            causes.append(cause)
        }
        return result(total: total, causes: causes, explained: explained, searched: searched, profiles: profiles, significant: significant)
    }

    /// The values of other dimensions that (almost) every download of the cause has: in the
    /// window for an excess, in the baseline for a shortfall (the downloads that went missing).
    /// A cause found as `python = 3.7.5` whose downloads are all `ci = true` on `Ubuntu` is the
    /// same set of downloads as `ci = true × distro = Ubuntu` there: the reader is told both.
    /// One query per searched dimension (its top value within the cause).
    mutating func sharedPairs(_ cause: Cause, searched: [CasebookCore.Dimension]) async throws -> [Cause.Pair] {
        let range = cause.excess >= 0 ? localiser.window : localiser.baseline
        let scope = localiser.filters + cause.filters
        let total = try await ask(AggregateQuery(filters: scope, range: range)).total
        guard total > 0 else { return [] }
        var out: [(pair: Cause.Pair, share: Double)] = []
        let inCause = Set(cause.pairs.map(\.dimension))
        // What the cause's own pairs determine (`python = 3.7.5` is `python_minor = 3.7`) is not news.
        let implied = inCause.union(inCause.flatMap { Self.determines[$0] ?? [] })
        // Dimensions of many values (project, file, client) would be in the cause if one value held it.
        for d in searched where !implied.contains(d) && (cardinality[d] ?? 0) <= Self.sharedCardinality {
            let table = try await ask(AggregateQuery(dimensions: [d], filters: scope, range: range, top: 1))
            guard let top = table.rows.first, let value = top.values[0], Double(top.downloads) >= Self.shared * Double(total) else {
                continue
            }
            // A value nearly all downloads have (`installer = pip`) says nothing of the cause.
            let everyone = try await cell(localiser.filters + [DimensionFilter(d, .in, [value])])
            let all = try await cell(localiser.filters)
            let (part, whole) = cause.excess >= 0 ? (everyone.w, all.w) : (everyone.e, all.e)
            guard whole > 0, part / whole < Self.distinguishing else { continue }
            out.append((Cause.Pair(d, [value]), part / whole))
        }
        // The rarest values first: they say most about who made the downloads.
        return out.sorted { $0.share < $1.share }.map(\.pair)
    }

    /// Dimensions whose value fixes others' (a full Python version fixes its minor and major).
    static let determines: [CasebookCore.Dimension: [CasebookCore.Dimension]] = [
        .python: [.pythonMinor, .pythonMajor], .pythonMinor: [.pythonMajor], .filename: [.project, .version, .fileType]
    ]

    /// Share of a cause's downloads a value must hold to be reported as shared by the cause.
    static let shared = 0.99
    /// Most distinct values a dimension may have to be asked for a shared value.
    static let sharedCardinality = 50
    /// A shared value is reported only when under this share of all downloads have it.
    static let distinguishing = 0.9

    /// Adds to each pair of `cause` the values of its dimension that moved alike within the rest
    /// of the cause (the same way, at least half as far, clearly beyond counting noise) and share
    /// the rest of the combination with the pair's values (``partition``): the small members of a
    /// value set, each below a candidate's size.
    mutating func complete(_ cause: Candidate, dims: [CasebookCore.Dimension]) async throws -> Candidate {
        var c = cause
        for i in c.pairs.indices {
            let p = c.pairs[i]
            let within = c.pairs.enumerated().filter { $0.offset != i }.map {
                DimensionFilter($0.element.dimension, .in, $0.element.values)
            }
            let cells = try await residualSplit(p.dimension, localiser.filters + within)
            let g = Self.sum(cells, p.values)
            guard g.x != 0, g.w + g.e > 0 else { continue }
            let deviation = g.x / (g.w + g.e)
            var added: [String?] = []
            for (v, m) in cells where !p.values.contains(v) {
                guard m.x * g.x > 0, abs(m.x) >= 3 * (m.e + 1).squareRoot(), m.x / max(1, m.w + m.e) / deviation >= 0.5 else { continue }
                added.append(v)
            }
            guard !added.isEmpty, p.values.count + added.count <= localiser.maxValues else { continue }
            let lead = p.values.max { abs(cells[$0]?.x ?? 0) < abs(cells[$1]?.x ?? 0) } ?? p.values[0]
            let parts = try await partition(p.dimension, p.values + added, cells: cells, dims: dims, within: within)
            guard let part = parts.first(where: { $0.contains(lead) }) else { continue }
            let joined = Set(added).intersection(part)
            guard !joined.isEmpty else { continue }
            c.pairs[i] = Cause.Pair(p.dimension, (p.values + joined).sorted { ($0 ?? "\u{10FFFF}") < ($1 ?? "\u{10FFFF}") })
        }
        return c
    }

    /// Drops from each value set the values that carry none of the cause's change within the rest
    /// of the cause (a value grouped at the root by another dimension's move, e.g. a version of a
    /// different project that rose too, which the cause's other pairs then leave empty). The value
    /// with the largest excess always stays.
    mutating func prune(_ cause: Candidate) async throws -> Candidate {
        var c = cause
        for i in c.pairs.indices where c.pairs[i].values.count > 1 {
            let p = c.pairs[i]
            let within = c.pairs.enumerated().filter { $0.offset != i }.map {
                DimensionFilter($0.element.dimension, .in, $0.element.values)
            }
            guard !within.isEmpty else { continue }
            let cells = try await residualSplit(p.dimension, localiser.filters + within)
            let g = Self.sum(cells, p.values)
            guard g.x != 0 else { continue }
            let lead = p.values.max { abs(cells[$0]?.x ?? 0) < abs(cells[$1]?.x ?? 0) } ?? p.values[0]
            let kept = p.values.filter { v in
                guard v != lead else { return true }
                let m = cells[v] ?? Cell()
                return m.x * g.x > 0 && abs(m.x) >= 3 * (m.e + 1).squareRoot()
            }
            guard kept.count < p.values.count else { continue }
            c.pairs[i] = Cause.Pair(p.dimension, kept)
            c.cell = try await residualCell(localiser.filters + c.filters)
        }
        return try await keepProduct(c)
    }

    /// A cause with value sets in two dimensions states their product: `project ∈ {a, b} ×
    /// version ∈ {1, 2}` says all four combinations moved. When the change is in disjoint blocks
    /// instead (a's version 1 and b's version 2: two separate moves that each set gathered), the
    /// cause keeps the block that holds its largest combination; the other block is left to the
    /// unexplained rest, not stated as part of a product it is not in.
    mutating func keepProduct(_ cause: Candidate) async throws -> Candidate {
        var c = cause
        var changed = true
        while changed {
            changed = false
            let sets = c.pairs.indices.filter { c.pairs[$0].values.count > 1 }
            guard sets.count >= 2 else { break }
            search: for a in sets {
                for b in sets where b > a {
                    let (pa, pb) = (c.pairs[a], c.pairs[b])
                    let within = c.pairs.enumerated().filter { $0.offset != a && $0.offset != b }.map {
                        DimensionFilter($0.element.dimension, .in, $0.element.values)
                    }
                    let cells = try await residualJoint(
                        [pa.dimension, pb.dimension],
                        localiser.filters + within + [
                            DimensionFilter(pa.dimension, .in, pa.values), DimensionFilter(pb.dimension, .in, pb.values)
                        ])
                    let total = cells.values.reduce(0.0) { $0 + $1.x }
                    guard total != 0 else { continue }
                    // Combinations that carry the cause's move (its way, beyond counting noise).
                    let moved = cells.filter { $0.value.x * total > 0 && abs($0.value.x) >= 3 * ($0.value.e + 1).squareRoot() }
                    guard let lead = moved.max(by: { abs($0.value.x) < abs($1.value.x) })?.key else { continue }
                    // The block of the lead: values linked through moved combinations.
                    var inA: Set<String?> = [lead[0]]
                    var inB: Set<String?> = [lead[1]]
                    var grew = true
                    while grew {
                        grew = false
                        for k in moved.keys where inA.contains(k[0]) != inB.contains(k[1]) {
                            inA.insert(k[0])
                            inB.insert(k[1])
                            grew = true
                        }
                    }
                    let keptA = pa.values.filter { inA.contains($0) }
                    let keptB = pb.values.filter { inB.contains($0) }
                    guard keptA.count < pa.values.count || keptB.count < pb.values.count else { continue }
                    c.pairs[a] = Cause.Pair(pa.dimension, keptA)
                    c.pairs[b] = Cause.Pair(pb.dimension, keptB)
                    c.cell = try await residualCell(localiser.filters + c.filters)
                    changed = true
                    break search
                }
            }
        }
        return c
    }

    /// Least share of the change a cause must carry (beyond the baseline's noise too).
    static let minAdded = 0.05
    /// How much further (in relative change) a later cause must have moved than the rest of the
    /// residual without it, in units of the residual's own relative change.
    static let laterLift = 2.0
    /// The same for the first cause: less, since nothing has been taken out of the change yet.
    static let firstLift = 0.5

    /// One round: the best cause in the residual `rest`, or `nil` when none carries `minAdded` of
    /// the change `target` (and more than the baseline's noise) while being concentrated (its share of the change beyond its
    /// share of the traffic).
    mutating func bestCause(rest: Cell, target: Double, noise: Double, searched: [CasebookCore.Dimension]) async throws -> Candidate? {
        let change = rest.x
        var candidates: [Candidate] = []
        var rootCells: [CasebookCore.Dimension: [String?: Cell]] = [:]
        for d in searched {
            let cells = try await residualSplit(d, localiser.filters)
            rootCells[d] = cells
            for g in groups(cells, total: rest) {
                let c = Self.sum(cells, g)
                let gain = c.x / change - (rest.e > 0 ? c.e / rest.e : 0)
                guard c.x / change >= 0.1, gain >= 0.05 else { continue }
                candidates.append(Candidate(pairs: [Cause.Pair(d, g)], cell: c, gain: gain))
            }
        }
        guard !candidates.isEmpty else { return nil }
        candidates.sort {
            better(
                ($0.gain, $0.valueCount, $0.pairs.map(\.dimension), $0.unknownCount),
                ($1.gain, $1.valueCount, $1.pairs.map(\.dimension), $1.unknownCount))
        }
        var finals: [Candidate] = []
        var seen: Set<[String]> = []
        var extended = 0
        var covered: [Cell] = []
        for c in candidates where extended < 4 {
            // A candidate over the same downloads as one extended already (python_minor = 2.7
            // and python_major = 2) would be extended into the same cause: once, the coarser.
            let same = covered.contains { k in
                abs(k.w - c.cell.w) <= 0.01 * max(k.w, c.cell.w) && abs(k.e - c.cell.e) <= 0.01 * max(k.e, c.cell.e) + 1
            }
            if same { continue }
            covered.append(c.cell)
            let pair = c.pairs[0]
            let cells = rootCells[pair.dimension] ?? [:]
            for part in try await partition(pair.dimension, pair.values, cells: cells, dims: searched) {
                let cell = Self.sum(cells, part)
                guard cell.x / change >= 0.1 else { continue }
                let start = Candidate(pairs: [Cause.Pair(pair.dimension, part)], cell: cell, gain: c.gain)
                if seen.contains(start.key) || finals.contains(where: { f in Set(start.key).isSubset(of: Set(f.key)) }) { continue }
                seen.insert(start.key)
                let e = try await extend(start, dims: searched)
                extended += 1
                guard !seen.contains(e.key) || e.key == start.key else { continue }
                seen.insert(e.key)
                finals.append(e)
            }
        }
        let scope = rest.e > 0 ? rest.e : 1
        var best: (cand: Candidate, score: Double)?
        for c in finals {
            guard c.cell.x / target >= Self.minAdded, abs(c.cell.x) > noise else { continue }
            // Its share of the change beyond its share of the traffic, by a visible margin.
            // A later round judges a cause against what is left of the change, and asks more of it:
            // it must have moved (relative to its size) clearly further than the rest of the residual
            // did, so that the noise left around the first causes is not taken for another.
            // A set of values (`version ∈ {…}`) gathered from what is left is more often noise that
            // happened to lean one way: it is still judged against the whole change.
            let later = !removed.isEmpty && c.pairs.allSatisfy { $0.values.count == 1 }
            let score = c.cell.x / (later ? change : target) - c.cell.e / scope
            guard score >= Self.minAdded else { continue }
            // Relative changes: the cause's, the rest of the residual's without it, and the whole
            // residual's. A cause must have moved clearly further than the rest: a large segment
            // that fell with everything else (pip 18.1 and 20.0.2 on a holiday, 70% of the traffic
            // and 75% of the dip) carries much of the change without being where it is.
            let own = c.cell.x / max(c.cell.e, 1)
            let others = (change - c.cell.x) / max(rest.e - c.cell.e, 1)
            let all = change / max(rest.e, 1)
            guard (own - others) * (all >= 0 ? 1 : -1) >= (later ? Self.laterLift : Self.firstLift) * abs(all) else { continue }
            if best == nil || score > best!.score + 0.02 { best = (c, score) }
        }
        return best?.cand
    }

    /// The filters of the intersection of causes; `nil` when it is empty (disjoint values).
    static func intersect(_ cands: [Candidate]) -> [DimensionFilter]? {
        DimensionFilter.intersection(of: cands.map { $0.pairs.map { DimensionFilter($0.dimension, .in, $0.values) } })
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
            o["sharedBy"] = .object(
                Dictionary(
                    sharedBy.map { ($0.dimension.rawValue, $0.values[0].map(Value.string) ?? .null) }, uniquingKeysWith: { a, _ in a }))
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
