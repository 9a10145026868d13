import BenchmarkSupport
import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookPostgres
import CasebookSQLite
import CasebookSimulation
import Foundation

// casebook-pg-bench: the same data into both backends (SQLite and PostgreSQL): ingest rate, an
// aggregate workload's time, and the demo playbook's run time on the full demo data.
//
//   swift run -c release casebook-pg-bench [--url postgres://...] [--lines N] [--demo] [--no-generated]
//
// The URL defaults to $CASEBOOK_BENCH_POSTGRES_URL, else $CASEBOOK_TEST_POSTGRES_URL (start a
// server with `bash .ci/postgres.sh start`). The benchmark writes into its own schema
// (`bench_<pid>`), dropped at the end. Figures, not assertions.

struct Args {
    var url =
        ProcessInfo.processInfo.environment["CASEBOOK_BENCH_POSTGRES_URL"]
        ?? ProcessInfo.processInfo.environment["CASEBOOK_TEST_POSTGRES_URL"]
    var lines = 1_000_000
    var demo = false
    var generated = true
    var dir = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-pg-bench").path
    var scenario = "examples/piwheels-2020-03/scenario.yaml"
    var playbook = "playbooks/downloads-spike.yaml"

    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let a = it.next() {
            switch a {
            case "--url": url = it.next()
            case "--lines": lines = Int(it.next() ?? "") ?? lines
            case "--demo": demo = true
            case "--no-generated": generated = false
            case "--dir": dir = it.next() ?? dir
            case "--scenario": scenario = it.next() ?? scenario
            case "--playbook": playbook = it.next() ?? playbook
            case "-h", "--help":
                say(
                    "usage: casebook-pg-bench [--url postgres://...] [--lines N] [--demo] [--no-generated] [--scenario FILE] [--playbook FILE] [--dir DIR]"
                )
                exit(0)
            default:
                FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8))
                exit(2)
            }
        }
    }
}

func say(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = Date()
    try body()
    return Date().timeIntervalSince(t0)
}

func asyncSeconds(_ body: () async throws -> Void) async rethrows -> Double {
    let t0 = Date()
    try await body()
    return Date().timeIntervalSince(t0)
}

/// The aggregate workload: the kinds of questions the analyzers ask.
let workload: [AggregateQuery] = [
    AggregateQuery(bucket: .day),
    AggregateQuery(bucket: .day, dimensions: [.project], top: 10),
    AggregateQuery(bucket: .week, dimensions: [.pythonMinor, .cpu]),
    AggregateQuery(bucket: .hour, dimensions: [.installerVersion], filters: [.equals(.project, "numpy")]),
    AggregateQuery(dimensions: [.client], top: 20),
    AggregateQuery(dimensions: [.project, .version], filters: [DimensionFilter(.pythonMajor, .notIn, ["3"])], top: 50),
    AggregateQuery(bucket: .day, dimensions: [.distro, .distroVersion], range: TimeRange(from: UTCTime.epoch(year: 2020, month: 2, day: 1)))
]

func runWorkload(_ store: any EventStore, rounds: Int = 3) async throws -> (Double, [AggregateTable]) {
    var results: [AggregateTable] = []
    var best = Double.infinity
    for _ in 0..<rounds {
        var r: [AggregateTable] = []
        let t = try await asyncSeconds { for q in workload { r.append(try await store.aggregate(q)) } }
        best = min(best, t)
        results = r
    }
    return (best, results)
}

/// Client keys differ between stores (each has its own salt): compare the rest.
func comparable(_ tables: [AggregateTable]) -> [AggregateTable] {
    tables.map { t in
        guard let i = t.dimensions.firstIndex(of: .client) else { return t }
        var t = t
        t.rows = t.rows.map {
            var r = $0
            r.values[i] = "client"
            return r
        }
        return t
    }
}

func ingestAll(_ files: [String], into target: some IngestTarget, index: String?) throws -> (
    lines: Int64, downloads: Int64, seconds: Double
) {
    let ingestor = try Ingestor(target: target, options: IngestOptions(format: .combined, index: index))
    var lines: Int64 = 0
    var downloads: Int64 = 0
    let s = try seconds {
        for f in files {
            let r = try ingestor.ingest(path: f)
            lines += r.linesRead
            downloads += r.downloads
        }
    }
    return (lines, downloads, s)
}

func row(_ label: String, _ lines: Int64, _ secs: Double, _ downloads: Int64) {
    let padded = label.padding(toLength: 34, withPad: " ", startingAt: 0)
    say(padded + String(format: "%10lld lines  %8.2f s  %9.0f lines/s  %10lld downloads", lines, secs, Double(lines) / secs, downloads))
}

let args = Args()
guard let url = args.url else {
    say(
        "casebook-pg-bench: no PostgreSQL URL: give --url postgres://USER@HOST:PORT/DB or set CASEBOOK_BENCH_POSTGRES_URL (bash .ci/postgres.sh start)"
    )
    exit(2)
}
let schemaName = "bench_\(getpid())"
let pgURL = url + (url.contains("?") ? "&" : "?") + "schema=" + schemaName
try FileManager.default.createDirectory(atPath: args.dir, withIntermediateDirectories: true)
say("PostgreSQL: \(try PostgresURL(pgURL).redacted)")

func benchGenerated(_ args: Args, pgURL: String) async throws {
    let logPath = args.dir + "/bench-access.log"
    let sqlitePath = args.dir + "/bench.sqlite"
    for p in [logPath, sqlitePath, sqlitePath + "-wal", sqlitePath + "-shm"] { try? FileManager.default.removeItem(atPath: p) }
    try LogGenerator.writeLog(lines: args.lines, to: logPath)
    say("\n== generated log: \(args.lines) lines")
    let sqlite = try SQLiteEventStore(path: sqlitePath)
    let pg = try PostgresEventStore(url: pgURL)
    defer { try? pg.dropSchema() }
    let a = try ingestAll([logPath], into: sqlite, index: nil)
    row("ingest → SQLite", a.lines, a.seconds, a.downloads)
    let b = try ingestAll([logPath], into: pg, index: nil)
    row("ingest → PostgreSQL (COPY)", b.lines, b.seconds, b.downloads)
    let (ts, rs) = try await runWorkload(sqlite)
    let (tp, rp) = try await runWorkload(pg)
    say(
        String(
            format: "aggregate workload (%d queries, best of 3): SQLite %.3f s, PostgreSQL %.3f s; same answers: %@",
            workload.count, ts, tp, comparable(rs) == comparable(rp) ? "yes" : "NO"))
    try pg.dropSchema()
    for p in [logPath, sqlitePath, sqlitePath + "-wal", sqlitePath + "-shm"] { try? FileManager.default.removeItem(atPath: p) }
}

func benchDemo(_ args: Args, pgURL: String) async throws {
    let out = URL(fileURLWithPath: args.dir).appendingPathComponent("demo")
    try? FileManager.default.removeItem(at: out)
    say("\n== demo data: \(args.scenario)")
    let scenario = try Scenario.load(path: args.scenario)
    let simSeconds = try seconds { _ = try Simulator(scenario: scenario).run(to: out.path) }
    let logsDir = out.appendingPathComponent("logs")
    let logs = try FileManager.default.contentsOfDirectory(atPath: logsDir.path).sorted().map { logsDir.appendingPathComponent($0).path }
    say(String(format: "simulated %d log files in %.1f s", logs.count, simSeconds))
    let sqlite = try SQLiteEventStore(path: out.appendingPathComponent("demo.sqlite").path)
    let pg = try PostgresEventStore(url: pgURL + "_demo")
    defer { try? pg.dropSchema() }
    let a = try ingestAll(logs, into: sqlite, index: scenario.index)
    row("ingest demo → SQLite", a.lines, a.seconds, a.downloads)
    let b = try ingestAll(logs, into: pg, index: scenario.index)
    row("ingest demo → PostgreSQL (COPY)", b.lines, b.seconds, b.downloads)
    let book = try Playbook.load(from: URL(fileURLWithPath: args.playbook), displayPath: args.playbook)
    let plan = try await PlaybookValidator(registry: BuiltinAnalyzers.registry()).validate(book, overrides: [])
    let catalog = out.appendingPathComponent("catalog")
    var reports: [RunReport] = []
    for (name, store) in [("SQLite", sqlite as any EventStore), ("PostgreSQL", pg as any EventStore)] {
        var report: RunReport?
        let t = await asyncSeconds {
            report = await PlaybookRunner(store: store, catalogDirectory: catalog).run(plan)
        }
        reports.append(report!)
        let failed = report!.steps.filter { $0.status == .failed }.map(\.id)
        say(
            String(
                format: "playbook %@ on %@: %.2f s (%d steps%@)", args.playbook, name, t, report!.steps.count,
                failed.isEmpty ? "" : ", failed: \(failed.joined(separator: ","))"))
    }
    func findings(_ r: RunReport) -> [String] { r.steps.flatMap { s in s.findings.map { "\(s.id): \($0.title) — \($0.summary)" } } }
    say("same findings on both backends: \(findings(reports[0]) == findings(reports[1]) ? "yes" : "NO")")
    try pg.dropSchema()
    try? FileManager.default.removeItem(at: out)
}

if args.generated { try await benchGenerated(args, pgURL: pgURL) }
if args.demo { try await benchDemo(args, pgURL: pgURL) }
