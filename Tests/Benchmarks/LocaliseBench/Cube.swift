import CasebookCore
import Foundation

// The benchmark's data model: a cube of leaves (one per combination of dimension values), each
// with the baseline's downloads (the forecast every method is given) and the window's downloads,
// and the root causes injected into it. Methods return causes as `CauseKey`s.

/// Casebook's dimension (Foundation has a `Dimension` of its own).
typealias CubeDimension = CasebookCore.Dimension

/// One root cause: each dimension with one value or a set of values (an OR within the dimension),
/// in a canonical order (dimensions by name, values sorted), so that equal causes compare equal.
struct CauseKey: Hashable, Sendable, CustomStringConvertible {
    struct Pair: Hashable, Sendable {
        var dimension: CubeDimension
        var values: [String]
    }

    let pairs: [Pair]

    init(_ pairs: [(CubeDimension, [String])]) {
        var merged: [CubeDimension: Set<String>] = [:]
        for (d, vs) in pairs { merged[d, default: []].formUnion(vs) }
        self.pairs = merged.map { Pair(dimension: $0.key, values: $0.value.sorted()) }
            .sorted { $0.dimension.rawValue < $1.dimension.rawValue }
    }

    var dimensions: [CubeDimension] { pairs.map(\.dimension) }

    var description: String {
        pairs.map { p in
            p.values.count == 1 ? "\(p.dimension.rawValue)=\(p.values[0])" : "\(p.dimension.rawValue)∈{\(p.values.joined(separator: ","))}"
        }.joined(separator: " & ")
    }
}

/// A semi-synthetic case: a full cube over `dimensions`, leaf `i` having the value index
/// `coords[d][i]` in dimension `d`.
struct Cube: Sendable {
    var family: Family
    var index: Int
    var dimensions: [CubeDimension]
    var values: [[String]]
    /// Column-major coordinates: `coords[d][leaf]` indexes `values[d]`.
    var coords: [[Int32]]
    /// Downloads per leaf in the baseline range (the forecast) and in the window range.
    var baseline: [Double]
    var window: [Double]
    /// The injected root causes.
    var truth: [CauseKey]
    var direction: Direction

    enum Direction: String, Sendable { case rise, drop }

    var leafCount: Int { baseline.count }

    /// The baseline and the window: two ranges of equal length (seven days each, March 2024).
    static let baselineRange = TimeRange(from: 1_709_251_200, to: 1_709_251_200 + 7 * 86_400)
    static let windowRange = TimeRange(from: 1_709_251_200 + 7 * 86_400, to: 1_709_251_200 + 14 * 86_400)

    /// Answers an aggregate query over the cube's leaves, as a store would over events: the
    /// baseline's downloads are dated at the baseline's start, the window's at the window's start
    /// (so a bucketed query sees one bucket per range).
    func aggregate(_ query: AggregateQuery) -> AggregateTable {
        let dimIndex = Dictionary(uniqueKeysWithValues: dimensions.enumerated().map { ($0.element, $0.offset) })
        // A filter on a dimension the cube lacks sees `nil` (unknown) for every leaf.
        var masks: [(Int, [Bool])] = []
        for f in query.filters {
            if let d = dimIndex[f.dimension] {
                masks.append((d, values[d].map { f.matches($0) }))
            } else if !f.matches(nil) {
                return AggregateTable(bucket: query.bucket, dimensions: query.dimensions, rows: [])
            }
        }
        let groupDims = query.dimensions.map { dimIndex[$0] }
        let present = groupDims.compactMap { $0 }
        var parts: [(time: Int64, counts: [Double])] = []
        if let t = Cube.baselineRange.from, query.range.contains(t) { parts.append((t, baseline)) }
        if let t = Cube.windowRange.from, query.range.contains(t) { parts.append((t, window)) }

        var rows: [AggregateRow] = []
        for (time, counts) in parts {
            var sums: [Int: Int64] = [:]
            leaves: for i in 0..<leafCount {
                for (d, mask) in masks where !mask[Int(coords[d][i])] { continue leaves }
                // Dimensions the cube lacks are unknown (nil) everywhere: only the others form the key.
                var key = 0
                for d in present { key = key * 1024 + Int(coords[d][i]) }
                sums[key, default: 0] += Int64(counts[i])
            }
            let bucketStart = query.bucket.map { $0.start(of: time) }
            for (key, n) in sums where n > 0 {
                var k = key
                var vals: [String?] = Array(repeating: nil, count: groupDims.count)
                for j in stride(from: groupDims.count - 1, through: 0, by: -1) {
                    guard let d = groupDims[j] else { continue }
                    vals[j] = values[d][k % 1024]
                    k /= 1024
                }
                rows.append(AggregateRow(bucketStart: bucketStart, values: vals, downloads: n))
            }
        }
        var table = AggregateTable(bucket: query.bucket, dimensions: query.dimensions, rows: rows)
        table.sortCanonically()
        if let top = query.top {
            var kept: [AggregateRow] = []
            var seen: [Int64?: Int] = [:]
            for row in table.rows {
                let n = seen[row.bucketStart, default: 0]
                if n < top { kept.append(row) }
                seen[row.bucketStart] = n + 1
            }
            table.rows = kept
        }
        return table
    }
}

/// A method under test: given a cube (leaves with baseline and window), the causes it returns.
protocol LocalisationMethod: Sendable {
    var name: String { get }
    func localise(_ cube: Cube) async throws -> [CauseKey]
}
