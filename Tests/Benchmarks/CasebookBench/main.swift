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
// Casebook against GoAccess and DuckDB): see ScaleBench.swift.
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

/// Peak resident memory of this process, from /proc (Linux), in MiB.
func peakMemoryMiB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return kb / 1024
    }
    return 0
}

/// CPU seconds (user + system) used by this process so far, all threads.
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

/// A deterministic generator of realistic piwheels-style log lines.
struct LogGenerator {
    var rng: UInt64 = 0x5EED

    mutating func next() -> UInt64 {
        rng &+= 0x9E3779B97F4A7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    mutating func pick<T>(_ a: [T]) -> T { a[Int(next() % UInt64(a.count))] }

    /// Zipf-like popularity: low indexes are much more popular.
    mutating func popular(_ n: Int) -> Int {
        let u = Double(next() % 1_000_000) / 1_000_000
        return min(n - 1, Int(pow(u, 3) * Double(n)))
    }

    let projects: [String] = (0..<800).map { "package-\($0)" } + ["numpy", "pycparser", "cffi", "Flask_Login", "Markdown", "sentry_sdk"]
    lazy var agents: [String] = {
        var out: [String] = []
        for pip in ["9.0.1", "18.1", "19.3.1", "20.0.2"] {
            for (py, cpu, distro, rel) in [("2.7.13", "armv7l", "9", "4.19.97-v7+"), ("3.5.3", "armv7l", "9", "4.19.97-v7+"),
                                           ("3.7.3", "armv7l", "10", "4.19.118-v7l+"), ("2.7.16", "armv6l", "10", "4.19.66+"),
                                           ("3.7.3", "aarch64", "10", "5.4.51-v8+")] {
                let json = #"{"cpu":"\#(cpu)","distro":{"id":"buster","libc":{"lib":"glibc","version":"2.28"},"name":"Raspbian GNU/Linux","version":"\#(distro)"},"implementation":{"name":"CPython","version":"\#(py)"},"installer":{"name":"pip","version":"\#(pip)"},"openssl_version":"OpenSSL 1.1.1d  10 Sep 2019","python":"\#(py)","setuptools_version":"40.8.0","system":{"name":"Linux","release":"\#(rel)"}}"#
                out.append("pip/\(pip) " + json.replacingOccurrences(of: "\"", with: "\\\""))
            }
        }
        return out
    }()

    mutating func line(at t: Int64) -> String {
        let (y, m, d) = UTCTime.civilFromDays(t / 86400)
        let s = Int(t % 86400)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let time = String(format: "%02d/%@/%04d:%02d:%02d:%02d +0000", d, months[m - 1], y, s / 3600, s / 60 % 60, s % 60)
        // 50,000 clients, a few very active (mirrors, CI), most occasional.
        let c = popular(50_000)
        let ip = "10.\(c >> 16).\((c >> 8) & 255).\(c & 255)"
        let project = projects[popular(projects.count)]
        let agent = pick(agents)
        let roll = next() % 10
        let path: String
        if roll < 7 {
            path = "/simple/\(ProjectName.normalize(project))/\(project)-1.\(next() % 5).0-cp37-cp37m-linux_armv7l.whl"
        } else {
            path = "/simple/\(ProjectName.normalize(project))/"
        }
        return "\(ip) - - [\(time)] \"GET \(path) HTTP/1.1\" 200 \(1000 + next() % 100000) \"-\" \"\(agent)\""
    }
}

let args = Args()
try FileManager.default.createDirectory(atPath: args.dir, withIntermediateDirectories: true)
let logPath = args.dir + "/bench-access.log"
let storePath = args.dir + "/bench.sqlite"
for p in [logPath, storePath, storePath + "-wal", storePath + "-shm", logPath + ".gz"] { try? FileManager.default.removeItem(atPath: p) }

var gen = LogGenerator()
let genStart = Date()
FileManager.default.createFile(atPath: logPath, contents: nil)
let handle = FileHandle(forWritingAtPath: logPath)!
var chunk = ""
let start = UTCTime.epoch(year: 2020, month: 1, day: 1)
let span = Int64(90 * 86400)
for i in 0..<args.lines {
    chunk += gen.line(at: start + Int64(i) * span / Int64(args.lines)) + "\n"
    if chunk.utf8.count > 1 << 20 { handle.write(Data(chunk.utf8)); chunk = "" }
}
handle.write(Data(chunk.utf8))
try handle.close()
var input = logPath
if args.gzip {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["gzip", "-1", logPath]
    try p.run(); p.waitUntilExit()
    input = logPath + ".gz"
}
let size = (try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
print(String(format: "generated %d lines (%.1f MiB%@) in %.1f s", args.lines, Double(size) / 1048576, args.gzip ? ", gzip" : "", Date().timeIntervalSince(genStart)))

let memBefore = peakMemoryMiB()
let store = try SQLiteEventStore(path: storePath)
let t0 = Date()
let cpu0 = cpuSeconds()
let summary = try Ingestor(target: store).ingest(path: input)
let seconds = Date().timeIntervalSince(t0)
let cpu = cpuSeconds() - cpu0
print("workload                     lines        seconds   lines/s     downloads   peak MiB   CPU s (both threads)")
print(String(format: "ingest combined→SQLite   %10d   %9.2f   %9.0f   %10d   %8.0f   %6.2f",
             summary.linesRead, seconds, Double(summary.linesRead) / seconds, summary.downloads, peakMemoryMiB(), cpu))
print(String(format: "(peak memory before ingest: %.0f MiB, generator included)", memBefore))
let q0 = Date()
let daily = try store.aggregateSync(AggregateQuery(bucket: .day))
print(String(format: "query daily totals: %d days in %.3f s", daily.rows.count, Date().timeIntervalSince(q0)))
if !args.keep { for p in [logPath, input, storePath, storePath + "-wal", storePath + "-shm"] { try? FileManager.default.removeItem(atPath: p) } }
