import CasebookCore
import CasebookAnalysis

/// `weekend-share`: the share of downloads made on Saturdays and Sundays (UTC).
public struct WeekendShareAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "weekend-share",
        summary: "Share of downloads made on Saturdays and Sundays (UTC).",
        parameters: [
            ParameterSpec("project", .string, optional: true, doc: "Only this project (PEP 503 name)."),
            ParameterSpec("from", .date, optional: true, doc: "Start of the range (inclusive)."),
            ParameterSpec("to", .date, optional: true, doc: "End of the range (exclusive)."),
        ],
        outputs: [
            OutputSpec("share", .number, doc: "Weekend downloads / all downloads (0-1)."),
            OutputSpec("weekendDownloads", .int, doc: "Downloads on Saturdays and Sundays."),
        ])

    public init() {}

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        var filters: [DimensionFilter] = []
        if let project = context.value("project")?.stringValue { filters.append(.equals(.project, project)) }
        let range = TimeRange(from: try context.optionalDate("from"), to: try context.optionalDate("to"))
        let days = try await context.aggregate(AggregateQuery(bucket: .day, filters: filters, range: range))
        var weekend: Int64 = 0
        for row in days.rows {
            guard let start = row.bucketStart else { continue }
            let weekday = ((start / 86400) % 7 + 10) % 7   // 0 = Monday (1970-01-01 was a Thursday)
            if weekday >= 5 { weekend += row.downloads }
        }
        let share = days.total == 0 ? 0 : Double(weekend) / Double(days.total)
        let finding = Finding(
            title: "Weekend share of downloads",
            summary: "\(String(format: "%.1f", share * 100))% of \(days.total) downloads were made on weekends.",
            evidence: [.count("weekend downloads", weekend), .count("all downloads", days.total),
                       .number(label: "weekend share", value: share, unit: "share")],
            confidence: days.rows.count >= 14 ? .high : .low)
        return AnalyzerResult(outputs: ["share": .double(share), "weekendDownloads": .int(weekend)], findings: [finding])
    }
}
