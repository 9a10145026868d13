import CasebookAnalysis
import CasebookCore

/// `series`: downloads per time bucket, optionally filtered, with the total and the peak bucket.
///
/// The simplest analyzer: one aggregate query. Other steps use its `series` output (a list of
/// `{start, downloads}`) or `total`.
public struct SeriesAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "series",
        summary: "Downloads per hour, day or week, for everything or a filter; with the total and the peak.",
        discussion: """
            Asks the store one aggregate query. `filter` keeps only events whose dimensions have the given
            values, e.g. `{project: [flask-login], python_major: ["2"]}` (write `null` for unknown).
            `from` and `to` bound the time range (`to` is exclusive); by default the store's whole span.
            """,
        parameters: [
            ParameterSpec("bucket", .bucket, default: "day", doc: "Time bucket: hour, day or week."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Dimension name → list of values to keep."),
            ParameterSpec("from", .date, optional: true, doc: "Start of the range (inclusive); default: the store's first event."),
            ParameterSpec("to", .date, optional: true, doc: "End of the range (exclusive); default: after the store's last event.")
        ],
        outputs: [
            OutputSpec(
                "series", .list(.object),
                doc: "One `{start, downloads}` per bucket that has downloads, in time order (`start` ISO 8601 UTC)."),
            OutputSpec("total", .int, doc: "Downloads in the range."),
            OutputSpec("peak", .object, doc: "The largest bucket `{start, downloads}`, or null when there are none.")
        ],
        examples: [
            AnalyzerExample(
                "Daily totals and the peak day",
                with: ["bucket": "day"],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-01", [100, 120, 400, 110])]),
                expect: ["total": 730, "peak": ["start": "2020-02-03T00:00:00Z", "downloads": 400], "series": .count(4)],
                finding: "Downloads per day"),
            AnalyzerExample(
                "A filter that keeps nothing",
                with: ["filter": ["project": ["django"]]],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-01", [100, 120, 400, 110])]),
                expect: ["total": 0, "peak": nil, "series": .count(0)])
        ])

    public init() {}

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let bucket = try context.bucket("bucket")
        let filters = try context.filters("filter")
        let range = TimeRange(from: try context.optionalDate("from"), to: try context.optionalDate("to"))
        let table = try await context.aggregate(AggregateQuery(bucket: bucket, filters: filters, range: range))
        let points = table.rows.compactMap { row in row.bucketStart.map { ($0, row.downloads) } }
        let series: [Value] = points.map { .object(["start": .time($0.0), "downloads": .int($0.1)]) }
        let peak = points.max { $0.1 < $1.1 }
        let total = table.total
        let what = Describe.scope(filters)
        var evidence: [Evidence] = [
            .count("total downloads", total),
            .series(
                EvidenceSeries(
                    title: "Downloads per \(bucket.rawValue) (\(what))", bucket: bucket,
                    points: points.map { .init(epoch: $0.0, value: Double($0.1)) }))
        ]
        if let peak { evidence.append(.count("peak \(bucket.rawValue) (\(UTCTime.isoString(peak.0)))", peak.1)) }
        let summary =
            points.isEmpty
            ? "No downloads match (\(what))."
            : "\(total) downloads (\(what)) over \(points.count) \(bucket.rawValue)s from \(UTCTime.isoString(points.first!.0)) to \(UTCTime.isoString(points.last!.0)); peak \(peak!.1) at \(UTCTime.isoString(peak!.0))."
        return AnalyzerResult(
            outputs: [
                "series": .array(series), "total": .int(total),
                "peak": peak.map { .object(["start": .time($0.0), "downloads": .int($0.1)]) } ?? .null
            ],
            findings: [Finding(title: "Downloads per \(bucket.rawValue)", summary: summary, evidence: evidence, confidence: .high)])
    }
}
