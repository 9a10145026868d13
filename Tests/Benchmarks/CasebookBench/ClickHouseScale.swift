import CasebookClickHouse
import CasebookCore
import CasebookSQLite
import Foundation

/// `casebook-bench scale --clickhouse URL [--clickhouse-cluster URL] [--clickhouse-pids PID,...]`:
/// the same log ingested into a ClickHouse store (and into a two-shard cluster store), the same
/// playbook run on it, and the playbook's queries (as the SQLite run logged them) asked of it,
/// each answer compared with SQLite's. The URLs' databases are dropped and made anew. With the
/// servers' process ids (local servers), their peak resident memory during each workload is read
/// from `/proc/PID/status` (`VmHWM`, reset through `/proc/PID/clear_refs` before it).
enum ClickHouseScale {
    struct Target {
        var name: String
        var url: String
    }

    static func run(
        _ targets: [Target], pids: [Int32], k: Int, files: [String], sqliteStore: String, logged: [ScaleBench.Logged],
        o: ScaleBench.Options, catalog: String, rows: inout [ScaleBench.Row], notes: inout [String]
    ) throws {
        let sqlite = try SQLiteEventStore(path: sqliteStore, readOnly: true)
        let expected = try logged.map { try sqlite.aggregateSync($0.query) }
        let sqliteReport = try? Data(contentsOf: URL(fileURLWithPath: o.dir + "/report-\(k)x/report.json"))
        var firstAnswers: [AggregateTable]?
        for t in targets {
            let store = try ClickHouseEventStore(url: t.url)
            try store.dropDatabase()
            ScaleBench.log("bench: \(k)x: casebook ingest into \(t.name) ...")
            resetPeaks(pids)
            // The day files, not their concatenation: each is a source, and a cluster spreads
            // sources over its shards (an ingest is written whole to one).
            let ing = try measure(
                [o.casebook, "ingest"] + files + ["--store", t.url, "--input-format", "combined", "--index", "piwheels", "--json"],
                scratch: o.dir)
            let lines = ScaleBench.jsonSum(ing.stdout, key: "linesRead")
            rows.append(
                ScaleBench.Row(
                    tool: "Casebook → \(t.name)", workload: "ingest .log.gz", scale: k, seconds: ing.seconds, rows: lines,
                    peakMiB: ing.peakMiB, cpu: ing.cpu, compareWith: "Casebook|ingest .log.gz|\(k)",
                    note: "\(files.count) day files; casebook process peak; " + serverNote(pids)))
            let reader = try ClickHouseEventStore.openExisting(url: ClickHouseURL(t.url))
            let events = try reader.infoSync().eventRows

            ScaleBench.log("bench: \(k)x: playbook on \(t.name) ...")
            resetPeaks(pids)
            let out = o.dir + "/report-\(k)x-\(t.name.filter { $0.isLetter || $0.isNumber })"
            let run = try measure(
                [o.casebook, "run", o.playbook, "--store", t.url, "--catalog", catalog, "--out", out, "--quiet"], scratch: o.dir)
            let same =
                sqliteReport.flatMap(findings) == (try? Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))).flatMap(findings)
            rows.append(
                ScaleBench.Row(
                    tool: "Casebook on \(t.name)", workload: "playbook (casebook run)", scale: k, seconds: run.seconds, rows: events,
                    peakMiB: run.peakMiB, cpu: run.cpu, compareWith: "Casebook|playbook (casebook run)|\(k)",
                    note: "steps' findings \(same ? "==" : "!=") SQLite's (report.json but for timings and client pseudonyms); "
                        + serverNote(pids)))

            // The playbook's queries, one at a time as the analyzers ask them, best of three runs.
            var best = Double.infinity
            var answers: [AggregateTable] = []
            for _ in 0..<3 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                answers = try logged.map { try reader.aggregateSync($0.query) }
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            let agree = zip(answers, expected).filter { sameAnswer($0.0, $0.1) }.count
            var note = "\(logged.count) queries, best of 3; same answers as SQLite: \(agree)/\(logged.count)"
            if let first = firstAnswers {
                note += "; as \(targets[0].name): \(zip(answers, first).filter { sameAnswer($0.0, $0.1) }.count)/\(logged.count)"
            } else {
                firstAnswers = answers
            }
            rows.append(
                ScaleBench.Row(
                    tool: "Casebook on \(t.name)", workload: "playbook's queries", scale: k, seconds: best, rows: events, peakMiB: nil,
                    cpu: nil, compareWith: "Casebook|playbook's queries|\(k)", note: note))
            if !o.keep { try store.dropDatabase() }
        }
    }

    /// Equal answers; for a query grouped by client, equal downloads in order (each store keys
    /// clients with its own salt, so the pseudonyms differ).
    static func sameAnswer(_ a: AggregateTable, _ b: AggregateTable) -> Bool {
        guard a.dimensions.contains(.client) else { return a == b }
        return a.rows.map(\.downloads) == b.rows.map(\.downloads)
    }

    /// What a report's steps found (`report.json`'s `steps`, without their timings), with client
    /// pseudonyms (`c-` and 16 hex digits) blanked: each store keys clients with its own salt, and
    /// its own description (location, sources) is not a finding.
    static func findings(_ data: Data) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let steps = json["steps"] as? [[String: Any]],
            let text = try? JSONSerialization.data(
                withJSONObject: steps.map { $0.filter { $0.key != "seconds" } }, options: [.sortedKeys])
        else { return nil }
        return String(decoding: text, as: UTF8.self).replacingOccurrences(
            of: #"c-[0-9a-f]{16}"#, with: "c-…", options: .regularExpression)
    }

    static func resetPeaks(_ pids: [Int32]) {
        for p in pids { try? "5".write(toFile: "/proc/\(p)/clear_refs", atomically: false, encoding: .utf8) }
    }

    /// The servers' peak resident memory since ``resetPeaks(_:)``.
    static func serverNote(_ pids: [Int32]) -> String {
        guard !pids.isEmpty else { return "server memory not measured (give --clickhouse-pids)" }
        let peaks = pids.map { p -> String in
            guard let status = try? String(contentsOfFile: "/proc/\(p)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
            else { return "?" }
            return String(format: "%.0f", kb / 1024)
        }
        return "server peak RSS \(peaks.joined(separator: " + ")) MiB"
    }
}
