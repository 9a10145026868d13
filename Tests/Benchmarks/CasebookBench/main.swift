import BenchmarkSupport
import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation

// casebook-bench: generates a realistic combined access log with pip user agents, ingests it
// into a fresh embedded store, and prints lines/s and peak memory.
//
//   swift run -c release casebook-bench [--lines N] [--dir DIR] [--keep]
//
// `casebook-bench scale` is the full comparison (a year of piwheels-scale logs at 1×, 2×, 4×;
// Casebook against GoAccess and DuckDB): see ScaleBench.swift. `casebook-bench watch` measures
// `casebook watch` (lines/s while following a log with detection, and the delay from an
// incident's first excess hour to its report): see WatchBench.swift. `casebook-bench catalog`
// measures the imported package catalog against the folder of documents: see CatalogBench.swift.
//
// Figures, not assertions: speed is measured here, never in timed tests.

if CommandLine.arguments.dropFirst().first == "scale" {
    do {
        try ScaleBench.main(Array(CommandLine.arguments.dropFirst(2)))
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("casebook-bench scale: \(error)\n".utf8))
        exit(1)
    }
}

if CommandLine.arguments.dropFirst().first == "catalog" {
    do {
        try CatalogBench.main(Array(CommandLine.arguments.dropFirst(2)))
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("casebook-bench catalog: \(error)\n".utf8))
        exit(1)
    }
}

if CommandLine.arguments.dropFirst().first == "watch" {
    do {
        try WatchBench.main(Array(CommandLine.arguments.dropFirst(2)))
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("casebook-bench watch: \(error)\n".utf8))
        exit(1)
    }
}

struct Args {
    var lines = 1_000_000
    var dir = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-bench").path
    var keep = false
    var gzip = false

    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let a = it.next() {
            switch a {
            case "--lines": lines = Int(it.next() ?? "") ?? lines
            case "--dir": dir = it.next() ?? dir
            case "--keep": keep = true
            case "--gzip": gzip = true
            case "-h", "--help":
                print("usage: casebook-bench [--lines N] [--dir DIR] [--gzip] [--keep]")
                exit(0)
            default:
                FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8))
                exit(2)
            }
        }
    }
}

let args = Args()
try FileManager.default.createDirectory(atPath: args.dir, withIntermediateDirectories: true)
let logPath = args.dir + "/bench-access.log"
let storePath = args.dir + "/bench.sqlite"
for p in [logPath, storePath, storePath + "-wal", storePath + "-shm", logPath + ".gz"] { try? FileManager.default.removeItem(atPath: p) }

let genStart = Date()
try LogGenerator.writeLog(lines: args.lines, to: logPath)
var input = logPath
if args.gzip {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["gzip", "-1", logPath]
    try p.run()
    p.waitUntilExit()
    input = logPath + ".gz"
}
let size = (try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
print(
    String(
        format: "generated %d lines (%.1f MiB%@) in %.1f s", args.lines, Double(size) / 1_048_576, args.gzip ? ", gzip" : "",
        Date().timeIntervalSince(genStart)))

let memBefore = peakMemoryMiB()
let store = try SQLiteEventStore(path: storePath)
let t0 = Date()
let cpu0 = cpuSeconds()
let summary = try Ingestor(target: store).ingest(path: input)
let seconds = Date().timeIntervalSince(t0)
let cpu = cpuSeconds() - cpu0
print("workload                     lines        seconds   lines/s     downloads   peak MiB   CPU s (both threads)")
print(
    String(
        format: "ingest combined→SQLite   %10d   %9.2f   %9.0f   %10d   %8.0f   %6.2f",
        summary.linesRead, seconds, Double(summary.linesRead) / seconds, summary.downloads, peakMemoryMiB(), cpu))
print(String(format: "(peak memory before ingest: %.0f MiB, generator included)", memBefore))
let q0 = Date()
let daily = try store.aggregateSync(AggregateQuery(bucket: .day))
print(String(format: "query daily totals: %d days in %.3f s", daily.rows.count, Date().timeIntervalSince(q0)))
if !args.keep {
    for p in [logPath, input, storePath, storePath + "-wal", storePath + "-shm"] { try? FileManager.default.removeItem(atPath: p) }
}
