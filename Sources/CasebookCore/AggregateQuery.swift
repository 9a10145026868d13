import Foundation

/// A condition on one dimension. Unknown values are written as `nil`.
public struct DimensionFilter: Sendable, Hashable, Codable {
    /// How the values are compared.
    public enum Operation: String, Sendable, Hashable, Codable {
        /// The dimension's value is one of `values`.
        case `in`
        /// The dimension's value is none of `values`.
        case notIn = "not_in"
    }

    public var dimension: Dimension
    public var operation: Operation
    /// Values to compare with; `nil` stands for "unknown".
    public var values: [String?]

    public init(_ dimension: Dimension, _ operation: Operation, _ values: [String?]) {
        self.dimension = dimension
        self.operation = operation
        self.values = values
    }

    /// `dimension == value`.
    public static func equals(_ dimension: Dimension, _ value: String?) -> DimensionFilter {
        DimensionFilter(dimension, .in, [value])
    }

    /// The downloads that every one of `conjunctions` selects (each a list of `in` filters that
    /// all hold): one `in` filter per dimension with the values they share, in the order first
    /// seen; `nil` when they cannot meet (a dimension whose value lists have nothing in common).
    public static func intersection(of conjunctions: [[DimensionFilter]]) -> [DimensionFilter]? {
        var byDimension: [Dimension: [String?]] = [:]
        var order: [Dimension] = []
        for filter in conjunctions.joined() {
            if let existing = byDimension[filter.dimension] {
                let common = existing.filter { filter.values.contains($0) }
                if common.isEmpty { return nil }
                byDimension[filter.dimension] = common
            } else {
                byDimension[filter.dimension] = filter.values
                order.append(filter.dimension)
            }
        }
        return order.map { DimensionFilter($0, .in, byDimension[$0]!) }
    }

    /// Whether an event's value passes this filter.
    public func matches(_ value: String?) -> Bool {
        let contained = values.contains(value)
        return operation == .in ? contained : !contained
    }
}

/// A half-open UTC time range `[from, to)`, in epoch seconds; either end may be open.
public struct TimeRange: Sendable, Hashable, Codable {
    public var from: Int64?
    public var to: Int64?

    public init(from: Int64? = nil, to: Int64? = nil) {
        self.from = from
        self.to = to
    }

    public func contains(_ t: Int64) -> Bool {
        if let from, t < from { return false }
        if let to, t >= to { return false }
        return true
    }

    public static let all = TimeRange()
}

/// The one question every analyzer asks a store: downloads summed per time bucket and
/// dimension values, after filters, optionally keeping only the top N groups per bucket.
///
/// Both backends answer it in their own SQL; nothing ever loops over raw events.
public struct AggregateQuery: Sendable, Hashable, Codable {
    /// Group by this time bucket; `nil` sums over the whole range.
    public var bucket: TimeBucket?
    /// Group by these dimensions, in this order.
    public var dimensions: [Dimension]
    public var filters: [DimensionFilter]
    public var range: TimeRange
    /// Keep only the N largest groups per bucket (ties broken by dimension values, ascending).
    public var top: Int?

    public init(
        bucket: TimeBucket? = nil, dimensions: [Dimension] = [], filters: [DimensionFilter] = [],
        range: TimeRange = .all, top: Int? = nil
    ) {
        self.bucket = bucket
        self.dimensions = dimensions
        self.filters = filters
        self.range = range
        self.top = top
    }
}

/// One group of an aggregate answer.
public struct AggregateRow: Sendable, Hashable, Codable {
    /// Start of the bucket (UTC epoch seconds), or nil when the query had no bucket.
    public var bucketStart: Int64?
    /// The group's values, one per query dimension, in the query's order (`nil` = unknown).
    public var values: [String?]
    public var downloads: Int64

    public init(bucketStart: Int64?, values: [String?], downloads: Int64) {
        self.bucketStart = bucketStart
        self.values = values
        self.downloads = downloads
    }
}

/// The answer to an ``AggregateQuery``: rows ordered by bucket, then downloads descending,
/// then values ascending (unknown last), so that every backend returns the same order.
public struct AggregateTable: Sendable, Hashable, Codable {
    public var bucket: TimeBucket?
    public var dimensions: [Dimension]
    public var rows: [AggregateRow]

    public init(bucket: TimeBucket?, dimensions: [Dimension], rows: [AggregateRow]) {
        self.bucket = bucket
        self.dimensions = dimensions
        self.rows = rows
    }

    /// Sum of downloads over all rows.
    public var total: Int64 { rows.reduce(0) { $0 + $1.downloads } }

    /// Sorts rows into the canonical order described above.
    public mutating func sortCanonically() {
        rows.sort(by: AggregateTable.canonicalOrder)
    }

    /// The canonical row order.
    public static func canonicalOrder(_ a: AggregateRow, _ b: AggregateRow) -> Bool {
        if a.bucketStart != b.bucketStart { return (a.bucketStart ?? .min) < (b.bucketStart ?? .min) }
        if a.downloads != b.downloads { return a.downloads > b.downloads }
        for (x, y) in zip(a.values, b.values) where x != y {
            switch (x, y) {
            case (nil, _): return false
            case (_, nil): return true
            case (let x?, let y?): return x < y
            }
        }
        return false
    }
}

/// Answers aggregate queries directly over an array of events. The reference semantics every
/// store must match; also the in-memory store analyzer authors use in tests.
public enum ReferenceAggregator {
    private struct Key: Hashable {
        var bucket: Int64?
        var values: [String?]
    }

    public static func aggregate(_ query: AggregateQuery, over events: some Sequence<DownloadEvent>) -> AggregateTable {
        var sums: [Key: Int64] = [:]
        for e in events where query.range.contains(e.timestamp) {
            guard query.filters.allSatisfy({ $0.matches(e.value(of: $0.dimension)) }) else { continue }
            let key = Key(
                bucket: query.bucket.map { $0.start(of: e.timestamp) },
                values: query.dimensions.map { e.value(of: $0) })
            sums[key, default: 0] += e.count
        }
        var table = AggregateTable(
            bucket: query.bucket, dimensions: query.dimensions,
            rows: sums.map { AggregateRow(bucketStart: $0.key.bucket, values: $0.key.values, downloads: $0.value) })
        table.sortCanonically()
        if let top = query.top {
            var kept: [AggregateRow] = []
            var current: Int64?? = .none
            var n = 0
            for row in table.rows {
                if current == nil || current! != row.bucketStart {
                    current = .some(row.bucketStart)
                    n = 0
                }
                if n < top { kept.append(row) }
                n += 1
            }
            table.rows = kept
        }
        return table
    }
}
