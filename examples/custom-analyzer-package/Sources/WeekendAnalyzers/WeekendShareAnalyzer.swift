import CasebookAnalysis
import CasebookCore

/// `weekend-share`: the share of downloads made on Saturdays and Sundays (UTC).
public struct WeekendShareAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "weekend-share",
        summary: "Share of downloads made on Saturdays and Sundays (UTC).",
        parameters: [
            ParameterSpec("project", .string, optional: true, doc: "Only this project (any spelling: `Flask_Login` is `flask-login`)."),
            ParameterSpec(
                "filter", .object, default: .object([:]), doc: "Only downloads with these dimension values, e.g. `{python_major: [\"2\"]}`."
            ),
            ParameterSpec("from", .date, optional: true, doc: "Start of the range (inclusive)."),
            ParameterSpec("to", .date, optional: true, doc: "End of the range (exclusive).")
        ],
        outputs: [
            OutputSpec("share", .number, doc: "Weekend downloads / all downloads (0-1)."),
            OutputSpec("weekendDownloads", .int, doc: "Downloads on Saturdays and Sundays.")
        ])

    public init() {}

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        // The toolkit's filters: dimension names checked, project names PEP 503-normalised.
        var filters = try context.filters("filter")
        if let project = context.value("project")?.stringValue {
            filters.append(.equals(.project, ProjectName.normalize(project)))
        }
        let range = TimeRange(from: try context.optionalDate("from"), to: try context.optionalDate("to"))
        let days = try await context.aggregate(AggregateQuery(bucket: .day, filters: filters, range: range))
        var weekend: Int64 = 0
        for row in days.rows {
            if let start = row.bucketStart, UTCTime.isWeekend(start) { weekend += row.downloads }
        }
        let share = days.total == 0 ? 0 : Double(weekend) / Double(days.total)
        let finding = Finding(
            title: "Weekend share of downloads",
            summary: days.total == 0
                ? "No downloads (\(Describe.scope(filters)))."
                : "\(Describe.percent(share, digits: 1)) of \(Describe.count(days.total)) downloads (\(Describe.scope(filters))) were made on Saturdays and Sundays.",
            evidence: [
                .count("weekend downloads", weekend), .count("all downloads", days.total),
                .number(label: "weekend share", value: share, unit: "share")
            ],
            confidence: days.rows.count >= 14 ? .high : .low)
        return AnalyzerResult(outputs: ["share": .double(share), "weekendDownloads": .int(weekend)], findings: [finding])
    }
}
