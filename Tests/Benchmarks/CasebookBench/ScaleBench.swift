import BenchmarkSupport
import CasebookCore
import CasebookSQLite
import CasebookSimulation
import Foundation

/// `casebook-bench scale`: a year of piwheels-scale logs (the demo scenario stretched over 2020,
/// `examples/piwheels-2020-year/scenario.yaml`), cut at 1×, 2× and 4× (a quarter, half the year,
/// the year: about 3.3, 6.6 and 13 million lines), ingested and investigated by the `casebook`
/// executable, and the same work done by GoAccess (parsing the same log) and DuckDB (the same
/// aggregate queries over the same events in its own table). Every tool runs as a child process
/// measured with `wait4`: wall seconds, CPU seconds, peak resident memory.
///
///     bash Tests/Benchmarks/install-peers.sh
///     swift build -c release --scratch-path .build-perf --product casebook --product casebook-bench
///     .build-perf/release/casebook-bench scale [--dir DIR] [--scales 1,2,4] [--no-peers] [--reuse] [--keep]
enum ScaleBench {
    struct Options {
        var dir = "/tmp/casebook-scale"
        var scenario = "examples/piwheels-2020-year/scenario.yaml"
        var playbook = "playbooks/downloads-spike.yaml"
        var scales = [1, 2, 4]
        var peers = true
        var reuse = false
        var keep = false
        var casebook: String
        /// ClickHouse stores to ingest into and investigate beside SQLite (their databases are
        /// dropped and made anew), and the local servers' process ids for their memory.
        var clickhouse: String?
        var clickhouseCluster: String?
        var clickhousePIDs: [Int32] = []

        init(_ argv: [String]) throws {
            casebook =
                URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
                .appendingPathComponent("casebook").path
            var it = argv.makeIterator()
            while let a = it.next() {
                switch a {
                case "--dir": dir = it.next() ?? dir
                case "--scenario": scenario = it.next() ?? scenario
                case "--playbook": playbook = it.next() ?? playbook
                case "--scales": scales = (it.next() ?? "").split(separator: ",").compactMap { Int($0) }
                case "--casebook": casebook = it.next() ?? casebook
                case "--no-peers": peers = false
                case "--reuse": reuse = true
                case "--keep": keep = true
                case "--clickhouse": clickhouse = it.next()
                case "--clickhouse-cluster": clickhouseCluster = it.next()
                case "--clickhouse-pids": clickhousePIDs = (it.next() ?? "").split(separator: ",").compactMap { Int32($0) }
                case "-h", "--help":
                    print(
                        "usage: casebook-bench scale [--dir DIR] [--scales 1,2,4] [--scenario FILE] [--playbook FILE] [--casebook PATH] [--no-peers] [--reuse] [--keep] [--clickhouse URL] [--clickhouse-cluster URL] [--clickhouse-pids PID,...]"
                    )
                    exit(0)
                default: throw SpawnError(description: "unknown argument \(a)")
                }
            }
            guard FileManager.default.isExecutableFile(atPath: casebook) else {
                throw SpawnError(
                    description:
                        "no casebook executable at \(casebook): build it in the same configuration (swift build -c release --product casebook) or pass --casebook PATH"
                )
            }
        }
    }

    /// One row of the results table.
    struct Row {
        var tool: String
        var workload: String
        var scale: Int
        var seconds: Double
        /// Lines (ingest, parse) or stored events (queries) the workload covers.
        var rows: Int64
        var peakMiB: Double?
        var cpu: Double?
        /// The Casebook row this one is compared with (same workload and data), by key.
        var compareWith: String?
        var key: String { "\(tool)|\(workload)|\(scale)" }
        var note = ""
    }

    static func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    static func main(_ argv: [String]) throws {
        let o = try Options(argv)
        let fm = FileManager.default
        try fm.createDirectory(atPath: o.dir, withIntermediateDirectories: true)
        let input = o.dir + "/input"
        var rows: [Row] = []
        var notes: [String] = []

        // 1. The year's logs, one gzip file per day (deflate level 1).
        let scenario = try Scenario.load(path: o.scenario)
        let logsDir = input + "/logs"
        let existing = (try? fm.contentsOfDirectory(atPath: logsDir).filter { $0.hasSuffix(".log.gz") }.count) ?? 0
        if !(o.reuse && existing == scenario.dayCount) {
            try? fm.removeItem(atPath: input)
            log("bench: simulating \(o.scenario) (\(scenario.dayCount) days) ...")
            let t0 = Date()
            let c0 = cpuSeconds()
            let summary = try Simulator(scenario: scenario).run(to: input)
            notes.append(
                String(
                    format: "generated %d days, %d lines (gzip, deflate level 1) in %.1f s (%.1f CPU s)",
                    scenario.dayCount, summary.lines, Date().timeIntervalSince(t0), cpuSeconds() - c0))
        }
        let dayFiles = try fm.contentsOfDirectory(atPath: logsDir).filter { $0.hasSuffix(".log.gz") }.sorted().map { logsDir + "/" + $0 }

        for k in o.scales {
            let days = min(dayFiles.count, Int((Double(dayFiles.count) * Double(k) / 4).rounded()))
            let gz = o.dir + "/year-\(k)x.log.gz"
            let plain = o.dir + "/year-\(k)x.log"
            log("bench: \(k)x = \(days) days: preparing \(gz) ...")
            // Concatenated gzip members are one valid gzip file (what `cat *.gz` or logrotate give).
            _ = FileManager.default.createFile(atPath: gz, contents: nil)
            let out = FileHandle(forWritingAtPath: gz)!
            for f in dayFiles.prefix(days) { out.write(try Data(contentsOf: URL(fileURLWithPath: f))) }
            try out.close()
            let gzBytes = (try fm.attributesOfItem(atPath: gz)[.size] as? Int64) ?? 0
            let unzip = try measureShell("gzip -dc \(shellQuote(gz)) > \(shellQuote(plain))", scratch: o.dir)
            let plainBytes = (try fm.attributesOfItem(atPath: plain)[.size] as? Int64) ?? 0

            // 2. Ingest: compressed, then plain, each into a fresh store.
            let store = o.dir + "/store-\(k)x.sqlite"
            let plainStore = o.dir + "/store-\(k)x-plain.sqlite"
            for p in [store, plainStore] { for s in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: p + s) } }
            log("bench: \(k)x: casebook ingest ...")
            let ing = try measure(
                [o.casebook, "ingest", gz, "--store", store, "--input-format", "combined", "--index", "piwheels", "--json"], scratch: o.dir)
            let lines = jsonSum(ing.stdout, key: "linesRead")
            let downloads = jsonSum(ing.stdout, key: "downloads")
            rows.append(
                Row(
                    tool: "Casebook", workload: "ingest .log.gz", scale: k, seconds: ing.seconds, rows: lines, peakMiB: ing.peakMiB,
                    cpu: ing.cpu,
                    note: String(
                        format: "%.0f MiB gz, %.0f MiB plain, %lld downloads", Double(gzBytes) / 1_048_576, Double(plainBytes) / 1_048_576,
                        downloads)))
            let ingPlain = try measure(
                [o.casebook, "ingest", plain, "--store", plainStore, "--input-format", "combined", "--index", "piwheels", "--json"],
                scratch: o.dir)
            rows.append(
                Row(
                    tool: "Casebook", workload: "ingest .log", scale: k, seconds: ingPlain.seconds, rows: lines, peakMiB: ingPlain.peakMiB,
                    cpu: ingPlain.cpu))
            for s in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: plainStore + s) }
            rows.append(
                Row(
                    tool: "gzip -dc", workload: "decompress only", scale: k, seconds: unzip.seconds, rows: lines, peakMiB: unzip.peakMiB,
                    cpu: unzip.cpu,
                    compareWith: "Casebook|ingest .log.gz|\(k)"))

            // 3. GoAccess parses the same log (its JSON report), plain and through gzip -dc.
            if o.peers {
                log("bench: \(k)x: goaccess ...")
                let ga = try measure(
                    ["goaccess", plain, "--no-global-config", "--log-format=COMBINED", "-o", o.dir + "/goaccess-\(k)x.json"], scratch: o.dir
                )
                rows.append(
                    Row(
                        tool: "GoAccess 1.7", workload: "ingest .log", scale: k, seconds: ga.seconds, rows: lines, peakMiB: ga.peakMiB,
                        cpu: ga.cpu,
                        compareWith: "Casebook|ingest .log|\(k)"))
                let gaz = try measureShell(
                    "gzip -dc \(shellQuote(gz)) | goaccess - --no-global-config --log-format=COMBINED -o \(shellQuote(o.dir + "/goaccess-\(k)x.json"))",
                    scratch: o.dir)
                rows.append(
                    Row(
                        tool: "GoAccess 1.7", workload: "ingest .log.gz", scale: k, seconds: gaz.seconds, rows: lines, peakMiB: gaz.peakMiB,
                        cpu: gaz.cpu,
                        compareWith: "Casebook|ingest .log.gz|\(k)"))
            }
            if !o.keep { try? fm.removeItem(atPath: plain) }

            // 4. The playbook, logging its queries; then the same without rollups.
            log("bench: \(k)x: playbook ...")
            let queryLog = o.dir + "/queries-\(k)x.jsonl"
            try? fm.removeItem(atPath: queryLog)
            let run = try measure(
                [
                    o.casebook, "run", o.playbook, "--store", store, "--catalog", input + "/catalog", "--out", o.dir + "/report-\(k)x",
                    "--quiet"
                ],
                env: ["CASEBOOK_QUERY_LOG": queryLog], scratch: o.dir)
            rows.append(
                Row(
                    tool: "Casebook", workload: "playbook (casebook run)", scale: k, seconds: run.seconds, rows: downloadsRows(store),
                    peakMiB: run.peakMiB, cpu: run.cpu))
            let logged = try loggedQueries(queryLog)
            let inStore = logged.reduce(0) { $0 + $1.seconds }
            rows.append(
                Row(
                    tool: "Casebook", workload: "playbook's queries", scale: k, seconds: inStore, rows: downloadsRows(store), peakMiB: nil,
                    cpu: nil,
                    note: "\(logged.count) queries: "
                        + Dictionary(grouping: logged, by: \.table).sorted { $0.key < $1.key }
                        .map { "\($0.value.count) \($0.key) \(String(format: "%.3f", $0.value.reduce(0) { $0 + $1.seconds })) s" }.joined(
                            separator: ", ")))
            let rawRun = try measure(
                [
                    o.casebook, "run", o.playbook, "--store", store, "--catalog", input + "/catalog", "--out", o.dir + "/report-\(k)x-raw",
                    "--quiet"
                ],
                env: ["CASEBOOK_SQLITE_RAW_EVENTS": "1"], scratch: o.dir)
            rows.append(
                Row(
                    tool: "Casebook, raw events", workload: "playbook (casebook run)", scale: k, seconds: rawRun.seconds,
                    rows: downloadsRows(store),
                    peakMiB: rawRun.peakMiB, cpu: rawRun.cpu, compareWith: "Casebook|playbook (casebook run)|\(k)"))
            let sameReport =
                (try? Data(contentsOf: URL(fileURLWithPath: o.dir + "/report-\(k)x/report.json"))).map { normalizedReport($0) }
                == (try? Data(contentsOf: URL(fileURLWithPath: o.dir + "/report-\(k)x-raw/report.json"))).map { normalizedReport($0) }
            notes.append("\(k)x: report.json with rollups \(sameReport ? "==" : "!=") report.json from raw events (timings removed)")

            // 5. Interactive queries.
            let interactive: [(String, [String], AggregateQuery)] = [
                ("query --by day (all)", ["--by", "day"], AggregateQuery(bucket: .day)),
                (
                    "query --by day,project --top 10 (March)",
                    ["--by", "day,project", "--top", "10", "--from", "2020-03-01", "--to", "2020-04-01"],
                    AggregateQuery(
                        bucket: .day, dimensions: [.project],
                        range: TimeRange(
                            from: UTCTime.epoch(year: 2020, month: 3, day: 1), to: UTCTime.epoch(year: 2020, month: 4, day: 1)), top: 10)
                )
            ]
            for (name, args, _) in interactive {
                let q = try measure([o.casebook, "query"] + args + ["--store", store, "--format", "csv"], scratch: o.dir)
                rows.append(
                    Row(
                        tool: "Casebook", workload: name, scale: k, seconds: q.seconds, rows: downloadsRows(store), peakMiB: q.peakMiB,
                        cpu: q.cpu))
                let r = try measure(
                    [o.casebook, "query"] + args + ["--store", store, "--format", "csv"], env: ["CASEBOOK_SQLITE_RAW_EVENTS": "1"],
                    scratch: o.dir)
                rows.append(
                    Row(
                        tool: "Casebook, raw events", workload: name, scale: k, seconds: r.seconds, rows: downloadsRows(store),
                        peakMiB: r.peakMiB, cpu: r.cpu,
                        compareWith: "Casebook|\(name)|\(k)"))
            }

            // 6. DuckDB: the same events in its own table, the same queries.
            if o.peers {
                log("bench: \(k)x: duckdb ...")
                let csv = o.dir + "/events-\(k)x.csv"
                let t0 = Date()
                let c0 = cpuSeconds()
                let exported = try SQLiteEventStore(path: store).exportDownloadsCSV(to: csv)
                notes.append(
                    String(
                        format: "%dx: exported %lld events to CSV for DuckDB in %.1f s (%.1f CPU s)", k, exported,
                        Date().timeIntervalSince(t0), cpuSeconds() - c0))
                var groups: [String: [String]] = ["playbook": logged.map { FlatSQL.sql($0.query) }]
                for (name, _, q) in interactive { groups[name] = [FlatSQL.sql(q)] }
                let queriesPath = o.dir + "/duckdb-queries-\(k)x.json"
                try JSONSerialization.data(withJSONObject: ["groups": groups]).write(to: URL(fileURLWithPath: queriesPath))
                let script =
                    FileManager.default.fileExists(atPath: "Tests/Benchmarks/duckdb_bench.py")
                    ? "Tests/Benchmarks/duckdb_bench.py"
                    : URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                        "duckdb_bench.py"
                    ).path
                let duck = try measure(["python3", script, csv, queriesPath], scratch: o.dir)
                guard let result = try JSONSerialization.jsonObject(with: Data(duck.stdout.utf8)) as? [String: Any],
                    let g = result["groups"] as? [String: [String: Any]]
                else { throw SpawnError(description: "duckdb_bench.py: unexpected output \(duck.stdout.prefix(500))") }
                rows.append(
                    Row(
                        tool: "DuckDB", workload: "load CSV into its table", scale: k, seconds: result["load_seconds"] as? Double ?? 0,
                        rows: exported, peakMiB: duck.peakMiB, cpu: nil, note: "process peak; \(result["threads"] ?? "?") threads"))
                if let p = g["playbook"] {
                    let answers = (p["answers"] as? [[String: Any]]) ?? []
                    let same = zip(answers, logged).filter {
                        ($0.0["rows"] as? Int) == $0.1.rows && (($0.0["downloads"] as? NSNumber)?.int64Value ?? -1) == $0.1.downloads
                    }.count
                    rows.append(
                        Row(
                            tool: "DuckDB", workload: "playbook's queries", scale: k, seconds: p["seconds"] as? Double ?? 0, rows: exported,
                            peakMiB: nil, cpu: nil,
                            compareWith: "Casebook|playbook's queries|\(k)", note: "same answers (rows, downloads): \(same)/\(logged.count)"
                        ))
                    rows[rows.count - 1].compareWith = "Casebook|playbook's queries|\(k)"
                }
                for (name, _, _) in interactive {
                    if let p = g[name] {
                        rows.append(
                            Row(
                                tool: "DuckDB", workload: name, scale: k, seconds: p["seconds"] as? Double ?? 0, rows: exported,
                                peakMiB: nil, cpu: nil,
                                compareWith: "Casebook|\(name)|\(k)", note: "warm, in-process"))
                    }
                }
                if !o.keep { try? fm.removeItem(atPath: csv) }
            }

            // 7. ClickHouse: one server, then a cluster.
            let targets =
                (o.clickhouse.map { [ClickHouseScale.Target(name: "ClickHouse", url: $0)] } ?? [])
                + (o.clickhouseCluster.map { [ClickHouseScale.Target(name: "ClickHouse, 2 shards", url: $0)] } ?? [])
            if !targets.isEmpty {
                try ClickHouseScale.run(
                    targets, pids: o.clickhousePIDs, k: k, files: Array(dayFiles.prefix(days)), sqliteStore: store, logged: logged, o: o,
                    catalog: input + "/catalog",
                    rows: &rows, notes: &notes)
            }
        }
        printTable(rows, notes: notes)
        printScaling(rows)
    }

    // MARK: Helpers

    static func jsonSum(_ text: String, key: String) -> Int64 {
        var total: Int64 = 0
        var rest = Substring(text)
        while let r = rest.range(of: "\"\(key)\"") {
            rest = rest[r.upperBound...]
            let digits = rest.drop { $0 == " " || $0 == ":" }.prefix { $0.isNumber }
            total += Int64(digits) ?? 0
        }
        return total
    }

    static func downloadsRows(_ store: String) -> Int64 {
        (try? SQLiteEventStore(path: store).infoSync().eventRows) ?? 0
    }

    struct Logged: Decodable {
        var query: AggregateQuery
        var table: String
        var seconds: Double
        var rows: Int
        var downloads: Int64
    }

    static func loggedQueries(_ path: String) throws -> [Logged] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Logged.self, from: Data($0.utf8)) }
    }

    /// report.json without its timings and paths, to compare two runs.
    static func normalizedReport(_ data: Data) -> String {
        guard let text = String(data: data, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").filter {
            !$0.contains("seconds") && !$0.contains("\"generated") && !$0.contains("\"command") && !$0.contains("\"at\"")
        }.joined(separator: "\n")
    }

    static func fmt(_ x: Double?, _ f: String) -> String { x.map { String(format: f, $0) } ?? "–" }

    static func printTable(_ rows: [Row], notes: [String]) {
        let byKey = Dictionary(rows.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        print("\n| tool | workload | data | seconds | rows/s | peak MiB | CPU s | ratio | notes |")
        print("|---|---|---|--:|--:|--:|--:|--:|---|")
        for r in rows {
            var ratio = "1.00"
            if let c = r.compareWith, let base = byKey[c], base.seconds > 0 { ratio = String(format: "%.2f", r.seconds / base.seconds) }
            print(
                "| \(r.tool) | \(r.workload) | \(r.scale)× | \(String(format: r.seconds < 1 ? "%.3f" : "%.2f", r.seconds)) | \(fmt(r.seconds > 0 ? Double(r.rows) / r.seconds : nil, "%.0f")) | \(fmt(r.peakMiB, "%.0f")) | \(fmt(r.cpu, "%.2f")) | \(ratio) | \(r.note) |"
            )
        }
        print("\nratio: this row's seconds ÷ the Casebook row it is compared with (same workload, same data); above 1, Casebook is faster.")
        for n in notes { print("- " + n) }
    }

    static func printScaling(_ rows: [Row]) {
        let casebook = rows.filter { $0.tool == "Casebook" }
        var workloads: [String] = []
        for r in casebook where !workloads.contains(r.workload) { workloads.append(r.workload) }
        let scales = Array(Set(casebook.map(\.scale))).sorted()
        guard let first = scales.first, scales.count > 1 else { return }
        print(
            "\n| Casebook workload | " + scales.map { "\($0)× s" }.joined(separator: " | ") + " | "
                + scales.dropFirst().map { "\($0)×/\(first)× cost (data)" }.joined(separator: " | ") + " |")
        print("|---|" + scales.map { _ in "--:|" }.joined() + scales.dropFirst().map { _ in "--:|" }.joined())
        for w in workloads {
            let at = Dictionary(casebook.filter { $0.workload == w }.map { ($0.scale, $0) }, uniquingKeysWith: { a, _ in a })
            guard let base = at[first] else { continue }
            let secs = scales.map { at[$0].map { String(format: "%.3f", $0.seconds) } ?? "–" }
            let ratios = scales.dropFirst().map { s in
                at[s].map { String(format: "%.2f (%.2f)", $0.seconds / base.seconds, Double($0.rows) / Double(max(1, base.rows))) } ?? "–"
            }
            print("| \(w) | " + secs.joined(separator: " | ") + " | " + ratios.joined(separator: " | ") + " |")
        }
    }
}
