import BenchmarkSupport
import CasebookCore
import CasebookSQLite
import CasebookSimulation
import Foundation

/// `casebook-bench watch`: the `casebook watch` executable following a log that this benchmark
/// appends to (issue 19). The log is a simulated scenario with a release-upgrade incident (by
/// default the founding case, `examples/piwheels-2020-03/scenario.yaml`: ten weeks, 2.2 million
/// lines), and the watcher runs as an operator runs it, with detection and the playbook.
///
/// 1. Throughput: the whole log is appended as fast as the disk takes it, and the watcher
///    (default `--interval` and `--batch-bytes`) works through it; the benchmark samples the
///    watcher's committed offset in the store's registry until it reaches the end. Lines/s over
///    the whole log and after its first week (detection needs a week before it runs), peak memory
///    (VmHWM) and CPU of the watcher, how often detection ran (counted in `CASEBOOK_QUERY_LOG`).
///    Peers on the same file: `casebook ingest` (batch), and `tail -F | wc -l` (a trivial reader).
/// 2. Incident delay: the log up to 12 hours before the incident is written at once and read;
///    then the lines are appended in accelerated log time (`--speedup`, log seconds per wall
///    second, a minute of log at a time). The delay runs from the moment the first line of the
///    hour after the incident's first excess hour is written (that hour is then complete) to the
///    moment the incident's `report.html` exists. Repeated, with the median.
///
///     swift build -c release --product casebook --product casebook-bench
///     .build/release/casebook-bench watch [--dir DIR] [--scenario FILE] [--repeats 3] [--speedup 600] [--reuse] [--keep]
enum WatchBench {
    struct Options {
        var dir = "/tmp/casebook-watch-bench"
        var scenario = "examples/piwheels-2020-03/scenario.yaml"
        var playbook = "playbooks/downloads-spike.yaml"
        var repeats = 3
        var speedup = 600.0
        var interval: String?
        var batchBytes: String?
        var peers = true
        var throughput = true
        var reuse = false
        var keep = false
        var casebook: String

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
                case "--repeats": repeats = Int(it.next() ?? "") ?? repeats
                case "--speedup": speedup = Double(it.next() ?? "") ?? speedup
                case "--interval": interval = it.next()
                case "--batch-bytes": batchBytes = it.next()
                case "--casebook": casebook = it.next() ?? casebook
                case "--no-peers": peers = false
                case "--no-throughput": throughput = false
                case "--reuse": reuse = true
                case "--keep": keep = true
                case "-h", "--help":
                    print(
                        "usage: casebook-bench watch [--dir DIR] [--scenario FILE] [--playbook FILE] [--repeats N] [--speedup X] [--interval S] [--batch-bytes N] [--casebook PATH] [--no-peers] [--no-throughput] [--reuse] [--keep]"
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
            guard repeats >= 1, speedup > 0 else { throw SpawnError(description: "--repeats and --speedup must be positive") }
        }
    }

    /// The first line of a minute of log time: its byte offset and the lines before it.
    struct Mark {
        var time: Int64
        var offset: Int
        var lines: Int
    }

    /// The log, mapped, with a mark per minute of log time.
    struct Log {
        var path: String
        var data: Data
        var lines: Int
        var marks: [Mark]

        /// The first mark at or after `t` (the end of the log when there is none).
        func mark(atOrAfter t: Int64) -> Mark {
            var lo = 0
            var hi = marks.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if marks[mid].time < t { lo = mid + 1 } else { hi = mid }
            }
            return lo < marks.count ? marks[lo] : Mark(time: .max, offset: data.count, lines: lines)
        }

        /// The lines before byte `offset` (at a mark's precision, interpolated between marks).
        func lines(before offset: Int) -> Double {
            var lo = 0
            var hi = marks.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if marks[mid].offset <= offset { lo = mid + 1 } else { hi = mid }
            }
            let a = lo > 0 ? marks[lo - 1] : Mark(time: 0, offset: 0, lines: 0)
            let b = lo < marks.count ? marks[lo] : Mark(time: 0, offset: data.count, lines: lines)
            guard b.offset > a.offset else { return Double(a.lines) }
            return Double(a.lines) + Double(b.lines - a.lines) * Double(offset - a.offset) / Double(b.offset - a.offset)
        }
    }

    /// The machine's 1, 5 and 15-minute load averages (other work on it shows here).
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    static func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    /// The log time of a combined-format line (`[05/Mar/2020:14:00:00 +0000]`), if it has one.
    static func lineTime(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int64? {
        var i = start
        while i < end && p[i] != UInt8(ascii: "[") { i += 1 }
        guard i + 27 < end else { return nil }
        func n(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for k in from..<(from + count) {
                let c = p[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: p[(i + 4)..<(i + 7)]), as: UTF8.self)
        guard let month = months.firstIndex(of: name), let day = n(1, 2), let year = n(8, 4), let hour = n(13, 2),
            let minute = n(16, 2), let second = n(19, 2), let zone = n(23, 4)
        else { return nil }
        let sign: Int64 = p[i + 22] == UInt8(ascii: "-") ? -1 : 1
        let offset = sign * Int64(zone / 100 * 3600 + zone % 100 * 60)
        return UTCTime.epoch(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second) - offset
    }

    /// Maps `path` and marks the first line of each minute (lines without a time keep the last).
    static func index(_ path: String) throws -> Log {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        var marks: [Mark] = []
        var lines = 0
        data.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
            guard let base = p.baseAddress else { return }
            var start = 0
            var lastMinute = Int64.min
            while start < p.count {
                let nl = memchr(base + start, 10, p.count - start)
                let end = nl.map { base.distance(to: UnsafeRawPointer($0)) } ?? p.count
                if let t = lineTime(p, start, end) {
                    let minute = t - ((t % 60) + 60) % 60
                    if minute > lastMinute {
                        marks.append(Mark(time: minute, offset: start, lines: lines))
                        lastMinute = minute
                    }
                }
                lines += 1
                start = end + 1
            }
        }
        return Log(path: path, data: data, lines: lines, marks: marks)
    }

    /// Appends `log.data[from..<to]` to the open file `fd`.
    static func append(_ log: Log, _ from: Int, _ to: Int, fd: Int32) throws {
        try log.data.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
            var at = from
            while at < to {
                let n = write(fd, p.baseAddress! + at, to - at)
                guard n > 0 else { throw SpawnError(description: "write failed: \(String(cString: strerror(errno)))") }
                at += n
            }
        }
    }

    /// The watcher's committed offset in `live` (nil before the watcher has recorded the file).
    final class Registry {
        let storePath: String
        var store: SQLiteEventStore?
        var firstSeen: Date?

        init(_ storePath: String) { self.storePath = storePath }

        func offset(of live: String) -> Int64? {
            if store == nil {
                // Opened read-only once the watcher has made the store and its tables (a store
                // still being made would be opened for writing, and wait for the watcher).
                guard let made = firstSeen ?? (FileManager.default.fileExists(atPath: storePath + "-wal") ? Date() : nil) else {
                    return nil
                }
                firstSeen = made
                guard Date().timeIntervalSince(made) > 0.5 else { return nil }
                store = try? SQLiteEventStore(path: storePath, readOnly: true)
            }
            return (try? store?.watchedFiles())?.first { $0.path == live }?.offset
        }
    }

    /// A watcher of `live` into a fresh store and incidents folder under `dir`.
    static func startWatcher(_ o: Options, live: String, dir: String, catalog: String) throws -> Background {
        for p in ["store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "incidents", "queries.jsonl"] {
            try? FileManager.default.removeItem(atPath: dir + "/" + p)
        }
        var argv = [
            o.casebook, "watch", live, "--store", dir + "/store.sqlite", "--playbook", o.playbook, "--catalog", catalog, "--out",
            dir + "/incidents"
        ]
        if let i = o.interval { argv += ["--interval", i] }
        if let b = o.batchBytes { argv += ["--batch-bytes", b] }
        return try Background(
            argv, env: ["CASEBOOK_QUERY_LOG": dir + "/queries.jsonl"], removeEnv: ["CASEBOOK_STORE"], stdout: dir + "/watch.out",
            stderr: dir + "/watch.err")
    }

    /// Waits until the watcher has committed `bytes` of `live`; returns (seconds, offset) samples.
    static func waitFor(
        _ bytes: Int, of live: String, registry: Registry, watcher: Background, started: Date, timeout: Double = 3600,
        whileWaiting: () throws -> Void = {}
    ) throws -> [(Double, Int)] {
        var samples: [(Double, Int)] = []
        while true {
            try whileWaiting()
            let now = Date().timeIntervalSince(started)
            if let off = registry.offset(of: live) {
                samples.append((now, Int(off)))
                if off >= bytes { return samples }
            }
            if watcher.exited { throw SpawnError(description: "the watcher exited early: see its stderr") }
            if now > timeout { throw SpawnError(description: "the watcher did not reach \(bytes) bytes within \(Int(timeout)) s") }
            usleep(20_000)
        }
    }

    /// The wall second at which the samples passed byte `offset` (interpolated).
    static func passed(_ offset: Int, _ samples: [(Double, Int)]) -> Double? {
        guard let i = samples.firstIndex(where: { $0.1 >= offset }) else { return nil }
        guard i > 0 else { return samples[0].0 }
        let (t0, o0) = samples[i - 1]
        let (t1, o1) = samples[i]
        return o1 > o0 ? t0 + (t1 - t0) * Double(offset - o0) / Double(o1 - o0) : t1
    }

    struct Row {
        var reader: String
        var lines: Int
        var seconds: Double
        var peakMiB: Double?
        var cpu: Double?
        var note: String
    }

    static func main(_ argv: [String]) throws {
        let o = try Options(argv)
        let loadAtStart = loadAverage()
        let fm = FileManager.default
        try fm.createDirectory(atPath: o.dir, withIntermediateDirectories: true)
        let input = o.dir + "/input"
        let allPath = o.dir + "/all.log"
        let catalog = input + "/catalog"

        // The scenario's log, all days in one file in time order.
        let scenario = try Scenario.load(path: o.scenario)
        if !(o.reuse && fm.fileExists(atPath: allPath)) {
            try? fm.removeItem(atPath: input)
            log("bench: simulating \(o.scenario) (\(scenario.dayCount) days) ...")
            try Simulator(scenario: scenario).run(to: input)
            let files = try fm.contentsOfDirectory(atPath: input + "/logs").filter { $0.hasSuffix(".log") || $0.hasSuffix(".log.gz") }
                .sorted()
            _ = fm.createFile(atPath: allPath, contents: nil)
            for f in files {
                let path = shellQuote(input + "/logs/" + f)
                _ = try measureShell("\(f.hasSuffix(".gz") ? "gzip -dc" : "cat") \(path) >> \(shellQuote(allPath))", scratch: o.dir)
            }
        }
        let all = try index(allPath)
        guard let firstTime = all.marks.first?.time else { throw SpawnError(description: "\(allPath) has no timed lines") }
        let mib = Double(all.data.count) / 1_048_576
        log(String(format: "bench: %@: %d lines, %.0f MiB", allPath, all.lines, mib))

        var rows: [Row] = []
        var notes: [String] = []
        var incidentStart: Int64?
        let settings =
            "--interval \(o.interval ?? "2 (default)") --batch-bytes \(o.batchBytes ?? "1048576 (default)") --playbook \(o.playbook)"

        // 1. Throughput: everything appended at once, the watcher working through it.
        if o.throughput {
            let dir = o.dir + "/throughput"
            try? fm.removeItem(atPath: dir)
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let live = dir + "/access.log"
            _ = fm.createFile(atPath: live, contents: nil)
            let watcher = try startWatcher(o, live: live, dir: dir, catalog: catalog)
            let registry = Registry(dir + "/store.sqlite")
            _ = try waitFor(0, of: live, registry: registry, watcher: watcher, started: Date())
            log("bench: throughput: appending \(all.lines) lines as fast as possible ...")
            let fd = open(live, O_WRONLY | O_APPEND)
            var written = 0
            var writerSeconds = 0.0
            let started = Date()
            let samples = try waitFor(all.data.count, of: live, registry: registry, watcher: watcher, started: started) {
                guard written < all.data.count else { return }
                let next = min(all.data.count, written + (4 << 20))
                try append(all, written, next, fd: fd)
                written = next
                if written == all.data.count { writerSeconds = Date().timeIntervalSince(started) }
            }
            close(fd)
            let seconds = samples.last!.0
            let peak = peakMemoryMiB(pid: watcher.pid)
            let (status, cpu) = watcher.stop()
            if status != 0 { notes.append("the watcher exited with status \(status) after SIGTERM") }
            rows.append(
                Row(
                    reader: "casebook watch (detection + playbook)", lines: all.lines, seconds: seconds, peakMiB: peak, cpu: cpu,
                    note: String(format: "whole log; the writer finished in %.1f s", writerSeconds)))
            // Detection runs from a week of complete hours on.
            let week = all.mark(atOrAfter: TimeBucket.hour.start(of: firstTime) + 7 * 86400)
            if let t = passed(week.offset, samples), seconds > t {
                rows.append(
                    Row(
                        reader: "casebook watch, after the first week", lines: all.lines - week.lines, seconds: seconds - t, peakMiB: nil,
                        cpu: nil, note: "detection running"))
            }
            // Detection runs: the hourly queries over the detection span (the playbook's own differ).
            let queryLog = (try? String(contentsOfFile: dir + "/queries.jsonl", encoding: .utf8)) ?? ""
            var runs = Set<String>()
            var querySeconds = 0.0
            for line in queryLog.split(separator: "\n") {
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let q = o["query"] as? [String: Any], q["bucket"] as? String == "hour",
                    (q["filters"] as? [Any])?.isEmpty ?? true, (q["dimensions"] as? [Any])?.isEmpty ?? true,
                    let range = q["range"] as? [String: Any], let from = (range["from"] as? NSNumber)?.int64Value,
                    let to = (range["to"] as? NSNumber)?.int64Value, to - from <= 14 * 86400
                else { continue }
                runs.insert("\(to)")
                querySeconds += o["seconds"] as? Double ?? 0
            }
            let logHours = Double(all.marks.last!.time - (TimeBucket.hour.start(of: firstTime) + 7 * 86400)) / 3600
            notes.append(
                String(
                    format:
                        "detection ran %d times (once per transaction that completed an hour, from the first week on: one run per %.1f log hours, %.0f lines); its store queries took %.2f s in all",
                    runs.count, logHours / Double(max(runs.count, 1)), Double(all.lines - week.lines) / Double(max(runs.count, 1)),
                    querySeconds))
            let book = (try? Data(contentsOf: URL(fileURLWithPath: dir + "/incidents/incidents.json")))
                .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            let incidents = (book?["incidents"] as? [[String: Any]]) ?? []
            let stdout = (try? String(contentsOfFile: dir + "/watch.out", encoding: .utf8)) ?? ""
            notes.append(
                "incidents found while reading the backlog: \(incidents.compactMap { $0["id"] as? String }.joined(separator: ", ")) (\(stdout.split(separator: "\n").count) state changes)"
            )
            // The delay is measured for the largest spike (the scenario's incident, not a busy Monday).
            func excess(_ i: [String: Any]) -> Int64 { (i["excess"] as? NSNumber)?.int64Value ?? 0 }
            let largest = incidents.filter { $0["direction"] as? String == "up" }.max { excess($0) < excess($1) }
            incidentStart = (largest?["start"] as? NSNumber)?.int64Value
        }

        if o.peers {
            let dir = o.dir + "/peers"
            try? fm.removeItem(atPath: dir)
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            log("bench: casebook ingest (batch) ...")
            let ingest = try measure(
                [o.casebook, "ingest", allPath, "--store", dir + "/batch.sqlite"], env: ["CASEBOOK_STORE": ""], scratch: dir)
            rows.append(
                Row(
                    reader: "casebook ingest (batch, same file)", lines: all.lines, seconds: ingest.seconds, peakMiB: ingest.peakMiB,
                    cpu: ingest.cpu, note: "no detection"))
            log("bench: tail -F | wc -l ...")
            let tailed = dir + "/tailed.log"
            _ = fm.createFile(atPath: tailed, contents: nil)
            let tail = try measureShell(
                "cat \(shellQuote(allPath)) >> \(shellQuote(tailed)) & tail -s 0.05 -c +1 -F --pid=$! \(shellQuote(tailed)) 2>/dev/null | wc -l",
                scratch: dir)
            let counted = Int(tail.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            rows.append(
                Row(
                    reader: "cat >> log & tail -F log \\| wc -l", lines: all.lines, seconds: tail.seconds, peakMiB: tail.peakMiB,
                    cpu: tail.cpu,
                    note: counted == all.lines ? "trivial reader (counted every line)" : "counted \(counted) lines"))
            try? fm.removeItem(atPath: tailed)
        }

        // 2. Incident delay: accelerated log time from 12 hours before the incident.
        var delays: [(total: Double?, processing: Double?, lagHours: Double?, window: String)] = []
        // The incident's start as the throughput run found it (kept for --no-throughput).
        let startFile = o.dir + "/incident-start"
        if let h = incidentStart {
            try String(h).write(toFile: startFile, atomically: true, encoding: .utf8)
        } else {
            incidentStart = (try? String(contentsOfFile: startFile, encoding: .utf8)).flatMap { Int64($0) }
            if incidentStart == nil { notes.append("no incident to measure the delay of (the throughput run finds it)") }
        }
        if let h = incidentStart {
            let from = TimeBucket.hour.start(of: h) - 12 * 3600
            let prefix = all.mark(atOrAfter: from)
            for r in 1...o.repeats {
                let dir = o.dir + "/delay-\(r)"
                try? fm.removeItem(atPath: dir)
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let live = dir + "/access.log"
                _ = fm.createFile(atPath: live, contents: nil)
                let fd = open(live, O_WRONLY | O_APPEND)
                try append(all, 0, prefix.offset, fd: fd)
                log("bench: delay \(r)/\(o.repeats): reading the log up to \(UTCTime.isoString(from)) ...")
                let watcher = try startWatcher(o, live: live, dir: dir, catalog: catalog)
                let registry = Registry(dir + "/store.sqlite")
                _ = try waitFor(prefix.offset, of: live, registry: registry, watcher: watcher, started: Date())
                log("bench: delay \(r)/\(o.repeats): streaming at \(Int(o.speedup))x from \(UTCTime.isoString(from)) ...")
                var writtenAt: [Int64: Double] = [:]
                var written = prefix.offset
                var nextHour = from
                let started = Date()
                var reportAt: Double?
                var reportFolder: String?
                let out = dir + "/incidents"
                // Incidents reported while the earlier log was read are not the one measured.
                let earlier = Set((try? fm.contentsOfDirectory(atPath: out)) ?? [])
                while written < all.data.count {
                    let now = Date().timeIntervalSince(started)
                    let clock = from + Int64(now * o.speedup)
                    let target = all.mark(atOrAfter: clock - clock % 60).offset
                    if target > written {
                        try append(all, written, target, fd: fd)
                        let at = Date().timeIntervalSince(started)
                        // The hours whose first line this write carried.
                        while all.mark(atOrAfter: nextHour).offset < target {
                            writtenAt[nextHour] = at
                            nextHour += 3600
                        }
                        written = target
                    }
                    if let folder = (try? fm.contentsOfDirectory(atPath: out))?.sorted().first(where: {
                        !earlier.contains($0) && fm.fileExists(atPath: out + "/" + $0 + "/report.html")
                    }) {
                        reportAt = Date().timeIntervalSince(started)
                        reportFolder = folder
                        break
                    }
                    if clock > h + 48 * 3600 || watcher.exited { break }
                    usleep(5_000)
                }
                close(fd)
                _ = watcher.stop()
                guard let reportAt, let reportFolder,
                    let json = try? JSONSerialization.jsonObject(
                        with: Data(contentsOf: URL(fileURLWithPath: out + "/" + reportFolder + "/report.json"))) as? [String: Any],
                    let incident = (json["report"] as? [String: Any])?["incident"] as? [String: Any],
                    let start = (incident["windowStart"] as? String).flatMap({ UTCTime.parse($0) }),
                    let asOf = (incident["asOf"] as? String).flatMap({ UTCTime.parse($0) })
                else {
                    notes.append("delay run \(r): no incident report within 48 log hours of the incident")
                    continue
                }
                let total = writtenAt[start + 3600].map { reportAt - $0 }
                let processing = writtenAt[asOf].map { reportAt - $0 }
                delays.append((total, processing, Double(asOf - start) / 3600, UTCTime.isoString(start)))
                log(
                    "bench: delay \(r): window \(UTCTime.isoString(start)), as of \(UTCTime.isoString(asOf)): \(total.map { String(format: "%.2f s", $0) } ?? "n/a")"
                )
            }
        }

        // The table.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print(
            "casebook-bench watch: \(o.scenario), \(all.lines) lines (\(Int(mib.rounded())) MiB), \(cores) cores; load average at start \(loadAtStart), at end \(loadAverage())"
        )
        print("watcher: casebook watch \(settings)")
        print("")
        print("| reader | lines | seconds | lines/s | peak MiB | CPU s | note |")
        print("|---|--:|--:|--:|--:|--:|---|")
        for row in rows {
            print(
                "| \(row.reader) | \(row.lines) | \(String(format: "%.2f", row.seconds)) | \(String(format: "%.0f", Double(row.lines) / row.seconds)) | \(row.peakMiB.map { String(format: "%.0f", $0) } ?? "–") | \(row.cpu.map { String(format: "%.1f", $0) } ?? "–") | \(row.note) |"
            )
        }
        if !delays.isEmpty {
            func median(_ xs: [Double]) -> Double? {
                let s = xs.sorted()
                guard !s.isEmpty else { return nil }
                return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
            }
            func f(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "n/a" }
            print("")
            print(
                String(
                    format: "incident delay, log appended at %.0fx (an hour of log in %.1f s of wall time), %d runs:", o.speedup,
                    3600 / o.speedup, delays.count))
            print(
                "| run | window (first excess hour) | excess hours complete when detected | delay: first excess hour complete → report.html (s) | of which after the detecting hour completed (s) |"
            )
            print("|--:|---|--:|--:|--:|")
            for (i, d) in delays.enumerated() {
                print(
                    "| \(i + 1) | \(d.window) | \(d.lagHours.map { String(format: "%.0f", $0) } ?? "n/a") | \(f(d.total)) | \(f(d.processing)) |"
                )
            }
            print(
                "| median | | \(f(median(delays.compactMap(\.lagHours)))) | \(f(median(delays.compactMap(\.total)))) | \(f(median(delays.compactMap(\.processing)))) |"
            )
        }
        for n in notes { print("- " + n) }
        if !o.keep {
            for p in ["throughput", "peers"] + (1...o.repeats).map({ "delay-\($0)" }) { try? fm.removeItem(atPath: o.dir + "/" + p) }
        }
    }
}
