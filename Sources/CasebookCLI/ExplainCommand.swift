import ArgumentParser
import CasebookAnalysis
import CasebookCore
import Foundation

/// `casebook explain`
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Which combinations of dimension values explain a window's change against its baseline.",
        discussion: """
            Compares the window [--from, --to) with its baseline (default: the 14 days before --from, \
            scaled to the window's length) across every dimension at once (or --dimensions), and prints \
            the smallest set of causes (1 to 3, each 1 to 4 dimension = value(s) pairs) that explains \
            the rise or the drop, or says that no small set does.

            Examples:
              casebook explain --from 2020-03-04 --to 2020-03-07
              casebook explain --from 2020-03-04 --to 2020-03-07 --where index=piwheels --format json
              casebook explain --from 2020-03-04 --to 2020-03-07 --baseline-from 2020-02-01 --baseline-to 2020-03-01 --dimensions project,python_major,cpu

            JSON: {"causes": [{"pairs": {"DIMENSION": "VALUE" or ["V1", "V2"]}, "excess": N, "share": F, "surprise": F}], "unexplained": N}
            (excess signed; share = |excess| / |change|). CSV: one row per cause.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Start of the window (inclusive), ISO 8601 date or time, UTC.")
    var from: String

    @Option(help: "End of the window (exclusive), ISO 8601 date or time, UTC.")
    var to: String

    @Option(name: .customLong("baseline-from"), help: "Start of the baseline (inclusive). Default: --baseline-days before --from.")
    var baselineFrom: String?

    @Option(name: .customLong("baseline-to"), help: "End of the baseline (exclusive). Default: --from.")
    var baselineTo: String?

    @Option(name: .customLong("baseline-days"), help: "Days before the window that make the default baseline.")
    var baselineDays: Int = 14

    @Option(name: .long, help: ArgumentHelp("Filter: DIM=V1,V2 (one of) or DIM!=V1,V2 (none of). Repeatable.", valueName: "FILTER"))
    var `where`: [String] = []

    @Option(help: ArgumentHelp("Dimensions to search, comma-separated (default: every dimension with values).", valueName: "DIM,DIM..."))
    var dimensions: String?

    @Option(name: .customLong("max-causes"), help: "Most causes (1–3).")
    var maxCauses: Int = 3

    @Option(help: "Output format: table, csv or json.")
    var format: QueryCommand.OutputFormat = .table

    func validate() throws {
        _ = try localiser()
    }

    static func time(_ text: String, _ option: String) throws -> Int64 {
        if let why = UTCTime.impossibleDate(text) { throw ValidationError("\(option) '\(text)': \(why)") }
        guard let t = UTCTime.parse(text) else {
            throw ValidationError("\(option): expected an ISO 8601 date or time like 2020-03-04 or 2020-03-04T12:00:00Z, found '\(text)'")
        }
        return t
    }

    func localiser() throws -> Localiser {
        let start = try Self.time(from, "--from")
        let end = try Self.time(to, "--to")
        guard start < end else {
            throw ValidationError("--from \(from) is not before --to \(to): the window is empty (--from is inclusive, --to exclusive)")
        }
        guard (1...366).contains(baselineDays) else { throw ValidationError("--baseline-days: expected 1 to 366, found \(baselineDays)") }
        guard (1...3).contains(maxCauses) else { throw ValidationError("--max-causes: expected 1 to 3, found \(maxCauses)") }
        let bEnd = try baselineTo.map { try Self.time($0, "--baseline-to") } ?? start
        let bStart = try baselineFrom.map { try Self.time($0, "--baseline-from") } ?? (bEnd - Int64(baselineDays) * 86400)
        guard bStart < bEnd else {
            throw ValidationError("the baseline is empty: --baseline-from must be before --baseline-to (or --from)")
        }
        var dims = Dimension.allCases
        if let dimensions {
            dims = []
            for part in dimensions.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
                guard let d = Dimension(name: part) else {
                    throw ValidationError(
                        "--dimensions: unknown dimension '\(part)'\(Suggest.didYouMean(part, among: Dimension.allNames)); expected one of: \(Dimension.allNames.joined(separator: ", "))"
                    )
                }
                if !dims.contains(d) { dims.append(d) }
            }
            guard !dims.isEmpty else { throw ValidationError("--dimensions: expected at least one dimension") }
        }
        let filters = try `where`.map(QueryCommand.parseFilter)
        return Localiser(
            dimensions: dims, window: TimeRange(from: start, to: end), baseline: TimeRange(from: bStart, to: bEnd), filters: filters,
            maxCauses: maxCauses)
    }

    func run() async throws {
        let localiser = try localiser()
        let store = try storeOptions.openReadStore()
        let result = try await localiser.localise(using: { try await store.aggregate($0) })
        switch format {
        case .json: print(result.summaryValue.jsonString)
        case .csv: print(Self.csv(result), terminator: "")
        case .table: print(Self.text(result, localiser), terminator: "")
        }
    }

    /// `cause,pairs,window,expected,excess,share,surprise`: one row per cause, pairs as
    /// `dim=value;dim=v1|v2`.
    static func csv(_ r: LocalisationResult) -> String {
        func esc(_ s: String) -> String {
            var s = s
            if let f = s.first, "=+-@".contains(f), Double(s) == nil { s = "'" + s }
            return s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = "cause,pairs,window,expected,excess,share,surprise\n"
        for (i, c) in r.causes.enumerated() {
            let pairs = c.pairs.map { p in "\(p.dimension.rawValue)=\(p.values.map { $0 ?? "-" }.joined(separator: "|"))" }.joined(
                separator: ";")
            let row = [
                String(i + 1), pairs, String(Int64(c.window.rounded())), String(Int64(c.expected.rounded())),
                String(Int64(c.excess.rounded())), String(format: "%.3f", c.share), String(format: "%.3f", c.surprise)
            ]
            out += row.map(esc).joined(separator: ",") + "\n"
        }
        return out
    }

    static func text(_ r: LocalisationResult, _ l: Localiser) -> String {
        func clean(_ s: String) -> String { String(s.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? "?" : Character($0) }) }
        let up = r.change >= 0
        let word = up ? "excess" : "shortfall"
        var out =
            "window \(Describe.span(l.window.from!, l.window.to!)): \(Describe.count(r.window)) downloads, about \(Describe.count(r.expected)) expected from \(Describe.span(l.baseline.from!, l.baseline.to!)); change \(up ? "+" : "")\(Describe.count(r.change))\n"
        guard !r.causes.isEmpty else {
            out +=
                r.changeIsSignificant
                ? "No small set of combinations explains the \(word) (searched \(r.dimensions.count) dimensions).\n"
                : "No change beyond the baseline's noise.\n"
            return out
        }
        let header = ["#", "cause", "window", "expected", word, "share", "surprise"]
        let rows = r.causes.enumerated().map { i, c in
            [
                String(i + 1), clean(c.text), Describe.count(c.window), Describe.count(c.expected), Describe.count(c.excess),
                Describe.percent(c.share), String(format: "%.2f", c.surprise)
            ]
        }
        var widths = header.map(\.count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ row: [String]) -> String {
            row.enumerated().map { i, c in
                i <= 1 ? c + String(repeating: " ", count: widths[i] - c.count) : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  ")
        }
        out += line(header) + "\n"
        for row in rows { out += line(row) + "\n" }
        for (i, c) in r.causes.enumerated() where !c.sharedBy.isEmpty {
            out +=
                "cause \(i + 1): its downloads \(c.excess >= 0 ? "in the window all have" : "in the baseline all had") \(clean(c.sharedBy.map(\.text).joined(separator: ", ")))\n"
        }
        out += "unexplained: \(Describe.count(r.unexplained))"
        if let normal = r.counterfactualIsNormal {
            out += normal ? " (without the causes, back to normal)" : " (without the causes, still not normal)"
        }
        out += "; \(r.queries) queries\n"
        return out
    }
}
