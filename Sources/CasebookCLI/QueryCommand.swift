import ArgumentParser
import CasebookAnalysis
import CasebookCore
import CasebookPlaybooks
import Foundation

/// `casebook query`
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Aggregate downloads by time bucket and dimensions.",
        discussion: """
            Examples:
              casebook query --by day                         daily totals
              casebook query --by day,project --top 10        the top 10 projects per day
              casebook query --by python_major --where project=flask-login --from 2020-03-01 --to 2020-03-08

            Dimensions: \(Dimension.allNames.joined(separator: ", ")).
            Buckets (UTC): hour, day, week (ISO, from Monday). Use `-` as a value for "unknown".
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("Group by a bucket and/or dimensions, comma-separated.", valueName: "BUCKET,DIMENSION..."))
    var by: String = "day"

    @Option(name: .long, help: ArgumentHelp("Filter: DIM=V1,V2 (one of) or DIM!=V1,V2 (none of). Repeatable.", valueName: "FILTER"))
    var `where`: [String] = []

    @Option(help: "Start (inclusive), ISO 8601 date or time, UTC.")
    var from: String?

    @Option(help: "End (exclusive), ISO 8601 date or time, UTC.")
    var to: String?

    @Option(help: "Keep the N largest groups per bucket.")
    var top: Int?

    @Option(help: "Output format: table, csv or json.")
    var format: OutputFormat = .table

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

    func validate() throws {
        _ = try parsedQuery()
    }

    func parsedQuery() throws -> AggregateQuery {
        var q = AggregateQuery()
        for part in by.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            if let b = TimeBucket(rawValue: part.lowercased()) {
                guard q.bucket == nil else {
                    throw ValidationError("--by: only one time bucket, found '\(part)' after '\(q.bucket!.rawValue)'")
                }
                q.bucket = b
            } else if let d = Dimension(name: part) {
                q.dimensions.append(d)
            } else {
                throw ValidationError(
                    "--by: unknown bucket or dimension '\(part)'\(Suggest.didYouMean(part, among: TimeBucket.allCases.map(\.rawValue) + Dimension.allNames)); expected hour, day, week or one of: \(Dimension.allNames.joined(separator: ", "))"
                )
            }
        }
        for w in `where` {
            q.filters.append(try Self.parseFilter(w))
        }
        if let from {
            if let why = UTCTime.impossibleDate(from) { throw ValidationError("--from '\(from)': \(why)") }
            guard let t = UTCTime.parse(from) else {
                throw ValidationError("--from: expected an ISO 8601 date or time like 2020-03-01 or 2020-03-01T12:00:00Z, found '\(from)'")
            }
            q.range.from = t
        }
        if let to {
            if let why = UTCTime.impossibleDate(to) { throw ValidationError("--to '\(to)': \(why)") }
            guard let t = UTCTime.parse(to) else {
                throw ValidationError("--to: expected an ISO 8601 date or time like 2020-03-08, found '\(to)'")
            }
            q.range.to = t
        }
        if let f = q.range.from, let t = q.range.to, f >= t, let from, let to {
            throw ValidationError(
                "--from \(from) is not before --to \(to): the range is empty (--from is inclusive, --to exclusive; for one day use --from 2020-03-05 --to 2020-03-06)"
            )
        }
        if let top {
            guard top > 0 else { throw ValidationError("--top: expected a positive number, found \(top)") }
            q.top = top
        }
        return q
    }

    static func parseFilter(_ w: String) throws -> DimensionFilter {
        let negated: Bool
        let parts: [String]
        if let r = w.range(of: "!=") {
            negated = true
            parts = [String(w[..<r.lowerBound]), String(w[r.upperBound...])]
        } else if let r = w.range(of: "=") {
            negated = false
            parts = [String(w[..<r.lowerBound]), String(w[r.upperBound...])]
        } else {
            throw ValidationError("--where: expected DIM=VALUE[,VALUE...] or DIM!=VALUE[,VALUE...], found '\(w)'")
        }
        guard let d = Dimension(name: parts[0]) else {
            throw ValidationError(
                "--where: unknown dimension '\(parts[0])'\(Suggest.didYouMean(parts[0], among: Dimension.allNames)); expected one of: \(Dimension.allNames.joined(separator: ", "))"
            )
        }
        let values: [String?] = parts[1].split(separator: ",", omittingEmptySubsequences: false).map {
            let v = $0.trimmingCharacters(in: .whitespaces)
            if v == "-" { return nil }
            return d == .project ? ProjectName.normalize(v) : v
        }
        return DimensionFilter(d, negated ? .notIn : .in, values)
    }

    func run() async throws {
        let q = try parsedQuery()
        let store = try storeOptions.openReadStore()
        let table = try await store.aggregate(q)
        switch format {
        case .json: print(TableFormatter.json(table))
        case .csv: print(TableFormatter.csv(table), terminator: "")
        case .table: print(TableFormatter.text(table), terminator: "")
        }
    }
}

/// Turns aggregate tables into text, CSV or JSON.
enum TableFormatter {
    static func bucketText(_ t: Int64?, _ b: TimeBucket?) -> String {
        guard let t, let b else { return "" }
        return b == .hour ? UTCTime.isoString(t) : UTCTime.dateString(t)
    }

    static func header(_ table: AggregateTable) -> [String] {
        (table.bucket.map { [$0.rawValue] } ?? []) + table.dimensions.map(\.rawValue) + ["downloads"]
    }

    static func cells(_ table: AggregateTable) -> [[String]] {
        table.rows.map { r in
            (table.bucket != nil ? [bucketText(r.bucketStart, table.bucket)] : []) + r.values.map { $0 ?? "" } + [String(r.downloads)]
        }
    }

    static func csv(_ table: AggregateTable) -> String {
        func esc(_ s: String) -> String {
            var s = s
            // Spreadsheet formula injection: values from logs are untrusted.
            if let f = s.first, "=+-@".contains(f), Int(s) == nil { s = "'" + s }
            return s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = header(table).joined(separator: ",") + "\n"
        for row in cells(table) { out += row.map(esc).joined(separator: ",") + "\n" }
        return out
    }

    /// One JSON object per row with its keys in the documented column order (the bucket's
    /// start, the dimensions, then `downloads`), as in CSV: a dictionary would sort them.
    static func json(_ table: AggregateTable) -> String {
        func string(_ s: String) -> String {
            let data = try! JSONSerialization.data(withJSONObject: s, options: [.fragmentsAllowed, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }
        guard !table.rows.isEmpty else { return "[]" }
        var objects: [String] = []
        objects.reserveCapacity(table.rows.count)
        for r in table.rows {
            var fields: [String] = []
            if let b = table.bucket { fields.append("\(string(b.rawValue)) : \(string(bucketText(r.bucketStart, b)))") }
            for (d, v) in zip(table.dimensions, r.values) { fields.append("\(string(d.rawValue)) : \(v.map(string) ?? "null")") }
            fields.append("\"downloads\" : \(r.downloads)")
            objects.append("  {\n" + fields.map { "    " + $0 }.joined(separator: ",\n") + "\n  }")
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]"
    }

    static func text(_ table: AggregateTable) -> String {
        let h = header(table)
        // Control characters from logs must not reach the terminal.
        let body = cells(table).map { $0.map { String($0.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? "?" : Character($0) }) } }
        var widths = h.map(\.count)
        for row in body { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ row: [String]) -> String {
            row.enumerated().map { i, c in
                i == row.count - 1
                    ? String(repeating: " ", count: widths[i] - c.count) + c : c + String(repeating: " ", count: widths[i] - c.count)
            }.joined(separator: "  ")
        }
        var out = line(h) + "\n"
        for row in body { out += line(row) + "\n" }
        if table.rows.isEmpty { out += "(no downloads match)\n" }
        return out
    }
}
