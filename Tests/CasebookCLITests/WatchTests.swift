import Foundation
import Testing

/// `casebook watch` as an operator runs it: a real watcher process following files that this
/// test appends to (simulated log lines, in accelerated log time), rotated, truncated, and the
/// watcher killed with SIGKILL; the store must end up exactly as a batch ingest of the same lines.
@Suite(.serialized) struct WatchTests {
    /// A small scenario: four days of quiet traffic (about 1,300 lines).
    static let quietScenario = """
        name: small quiet
        seed: 7
        start: 2020-03-02
        end: 2020-03-05
        index: piwheels
        baseline:
          daily: {start: 300, end: 300, noise: 0.03}
          hourly: bell
          traffic: {index_pages: 0.02, not_found: 0.01, malformed: 0.002}
          clients:
            count: 200
            python: {"3.7.3": 0.6, "2.7.16": 0.4}
            pip: {"18.1": 0.5, "20.0.2": 0.5}
            cpu: {armv7l: 1.0}
            distro: {"Raspbian GNU/Linux 10 (buster)": 1.0}
          packages:
            - {name: numpy, weight: 100, kind: platform, versions: [{version: "1.18.1", released: 2020-01-06}]}
            - {name: six, weight: 44, kind: pure, versions: [{version: "1.14.0", released: 2020-01-15}]}
            - {name: requests, weight: 30, kind: pure, versions: [{version: "2.23.0", released: 2020-02-19}]}
        """

    /// Four weeks of a small index (about 600 downloads a day, 16,000 lines); `incident` adds a
    /// downstream release on 3 March whose Python 3 installs upgrade two packages over two days.
    static func streamScenario(seed: Int, incident: Bool) -> String {
        var text = """
            name: small index
            seed: \(seed)
            start: 2020-02-10
            end: 2020-03-07
            index: piwheels
            baseline:
              daily: {start: 500, end: 520, noise: 0.03}
              weekly: [1.04, 1.04, 1.03, 1.02, 1.0, 0.93, 0.94]
              hourly: bell
              traffic: {index_pages: 0.02, not_found: 0.008, malformed: 0.0005}
              clients:
                count: 600
                python: {"2.7.16": 0.4, "3.7.3": 0.6}
                pip: {"18.1": 0.5, "20.0.2": 0.5}
                cpu: {armv7l: 0.9, armv6l: 0.1}
                distro: {"Raspbian GNU/Linux 10 (buster)": 1.0}
              packages:
                - {name: numpy, weight: 100, kind: platform, versions: [{version: "1.18.1", released: 2020-01-06}]}
                - {name: six, weight: 44, kind: pure, versions: [{version: "1.14.0", released: 2020-01-15}]}
                - {name: requests, weight: 50, kind: pure, versions: [{version: "2.22.0", released: 2019-05-16}, {version: "2.23.0", released: 2020-02-19}]}
                - {name: paho-mqtt, weight: 20, kind: pure, versions: [{version: "1.4.0", released: 2018-10-30}, {version: "1.5.0", released: 2019-10-30}]}
                - {name: RPi.GPIO, weight: 40, kind: platform, versions: [{version: "0.7.0", released: 2019-07-21}]}
              long_tail: {packages: 20, weight: 200, platform_share: 0.5}
            downstream:
              - name: weather-station
                summary: A weather station app
                releases:
                  - {version: 1.0.0, released: 2019-06-01T10:00:00Z, requires_python: ">=3.5", requires_dist: ["requests>=2.20", "paho-mqtt>=1.4"]}
                  - {version: 2.0.0, released: 2020-03-03T09:00:00Z, requires_python: ">=3.5", requires_dist: ["requests>=2.23", "paho-mqtt>=1.5"]}

            """
        if incident {
            text += """
                incidents:
                  - type: release-upgrade
                    name: weather-station 2.0 upgrades
                    project: weather-station
                    version: 2.0.0
                    python: "3"
                    primary: 1.0
                    upgrades:
                      - {package: requests, version: "2.23.0"}
                      - {package: paho-mqtt, version: "1.5.0"}
                    start: 2020-03-03
                    downloads: 1500
                    over: 2
                    decay: 0.6

                """
        }
        return text
    }

    /// The scenario's log lines in time order, each with its newline.
    static func simulate(_ scenario: String, in dir: URL) throws -> [String] {
        let file = dir.appendingPathComponent("scenario.yaml")
        try scenario.write(to: file, atomically: true, encoding: .utf8)
        let sim = dir.appendingPathComponent("sim")
        let r = try CLI.run(["simulate", file.path, "--out", sim.path])
        #expect(r.status == 0, "\(r.stderr)")
        let logs = sim.appendingPathComponent("logs")
        var lines: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: logs.path).sorted() where name.hasSuffix(".log") {
            let text = try String(contentsOf: logs.appendingPathComponent(name), encoding: .utf8)
            lines += text.split(separator: "\n").map { $0 + "\n" }
        }
        return lines
    }

    static func append(_ lines: ArraySlice<String>, to url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        let h = try FileHandle(forWritingTo: url)
        try h.seekToEnd()
        try h.write(contentsOf: Data(lines.joined().utf8))
        try h.close()
    }

    /// Daily totals of a store, as `query --by day --format csv` prints them.
    static func daily(_ store: String) throws -> String {
        let r = try CLI.run(["query", "--by", "day", "--format", "csv", "--store", store])
        return r.status == 0 ? r.stdout : "error: \(r.stderr)"
    }

    /// The lines the store's sources hold, all together.
    static func sourceLines(_ store: String) throws -> Int {
        let r = try CLI.run(["info", "--json", "--store", store])
        guard let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
            let sources = o["sources"] as? [[String: Any]]
        else { return -1 }
        return sources.compactMap { $0["lines"] as? Int }.reduce(0, +)
    }

    /// The daily totals of a batch ingest of `lines`.
    static func batchDaily(_ lines: [String], in dir: URL) throws -> String {
        let all = dir.appendingPathComponent("batch.log")
        try lines.joined().write(to: all, atomically: true, encoding: .utf8)
        let store = dir.appendingPathComponent("batch.sqlite").path
        let r = try CLI.run(["ingest", all.path, "--store", store])
        #expect(r.status == 0, "\(r.stderr)")
        return try daily(store)
    }

    /// Waits until `condition` holds, at most `timeout` seconds.
    @discardableResult
    static func waitUntil(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    /// A `casebook watch` process running in the background, its output in files.
    final class Watcher {
        let process = Process()
        let stdout: URL
        let stderr: URL

        init(_ args: [String], in dir: URL, environment: [String: String] = [:]) throws {
            let id = UUID().uuidString.prefix(8)
            stdout = dir.appendingPathComponent("watch-\(id).out")
            stderr = dir.appendingPathComponent("watch-\(id).err")
            _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
            _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
            process.executableURL = CLI.executable
            process.currentDirectoryURL = dir
            process.arguments = ["watch"] + args
            var env = ProcessInfo.processInfo.environment
            env.removeValue(forKey: "CASEBOOK_STORE")
            for (k, v) in environment { env[k] = v }
            process.environment = env
            process.standardOutput = try FileHandle(forWritingTo: stdout)
            process.standardError = try FileHandle(forWritingTo: stderr)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        var output: String { (try? String(contentsOf: stdout, encoding: .utf8)) ?? "" }
        var errors: String { (try? String(contentsOf: stderr, encoding: .utf8)) ?? "" }

        /// SIGTERM, then the exit status (nil when it did not exit within `timeout` seconds).
        func terminate(timeout: Double = 20) -> Int32? {
            process.terminate()
            return wait(timeout: timeout)
        }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            _ = wait(timeout: 10)
        }

        func wait(timeout: Double) -> Int32? {
            let end = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < end { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }
    }

    @Test func rotationByRenameAndByCopytruncateLosesAndDoublesNothing() throws {
        let dir = try temporaryDirectory()
        let lines = try Self.simulate(Self.quietScenario, in: dir)
        let live = dir.appendingPathComponent("live")
        try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
        let log = live.appendingPathComponent("access.log")
        let store = dir.appendingPathComponent("watch.sqlite").path
        let watcher = try Watcher([live.path + "/access.log*", "--store", store, "--interval", "0.1"], in: dir)
        let third = lines.count / 3
        var written = 0
        func write(upTo end: Int) throws {
            while written < end {
                let next = min(end, written + 40)
                try Self.append(lines[written..<next], to: log)
                written = next
                usleep(20_000)
            }
        }
        try write(upTo: third)
        // logrotate's default: rename, then a new file at the old name.
        try FileManager.default.moveItem(at: log, to: live.appendingPathComponent("access.log.1"))
        try write(upTo: 2 * third)
        // The watcher has read the file when it is truncated (so the truncation is seen as such).
        #expect(try Self.waitUntil(timeout: 20) { try Self.sourceLines(store) == written })
        // copytruncate: a copy, then the file emptied in place; the writer goes on writing.
        try FileManager.default.copyItem(at: log, to: live.appendingPathComponent("access.log.2"))
        let h = try FileHandle(forWritingTo: log)
        try h.truncate(atOffset: 0)
        try h.close()
        try write(upTo: lines.count)
        let expected = try Self.batchDaily(lines, in: dir)
        let caughtUp = try Self.waitUntil(timeout: 30) { try Self.daily(store) == expected }
        #expect(watcher.terminate() == 0, "SIGTERM ends the watcher with status 0: \(watcher.errors)")
        let watched = try Self.daily(store)
        #expect(caughtUp, "watched: \(watched) batch: \(expected)")
        #expect(try Self.sourceLines(store) == lines.count)
        #expect(watcher.output.isEmpty, "stdout is for incidents only: \(watcher.output)")
        #expect(watcher.errors.contains("copytruncate"), "\(watcher.errors)")
    }

    @Test func killedWithSIGKILLAtSeveralPointsThenRestartedLosesAndDoublesNothing() throws {
        let dir = try temporaryDirectory()
        let lines = try Self.simulate(Self.quietScenario, in: dir)
        let log = dir.appendingPathComponent("access.log")
        let store = dir.appendingPathComponent("watch.sqlite").path
        // Small transactions, so that kills land between and inside them.
        let args = [log.path, "--store", store, "--interval", "0.05", "--batch-bytes", "3000"]
        // First, a kill inside a transaction for certain: the watcher pauses after line 150.
        try Self.append(lines[0..<400], to: log)
        let paused = try Watcher(args, in: dir, environment: ["CASEBOOK_TEST_PAUSE_AT_LINE": "150"])
        #expect(Self.waitUntil(timeout: 20) { paused.errors.contains("paused at line 150") }, "\(paused.errors)")
        paused.kill9()
        #expect(try Self.sourceLines(store) < 150)
        // Then kills at arbitrary points while lines keep coming.
        var written = 400
        var random = SystemRandomNumberGenerator()
        for _ in 0..<4 {
            let watcher = try Watcher(args, in: dir)
            let end = min(lines.count, written + (lines.count - 400) / 4 + 1)
            while written < end {
                let next = min(end, written + 30)
                try Self.append(lines[written..<next], to: log)
                written = next
                usleep(10_000)
            }
            usleep(UInt32.random(in: 20_000...300_000, using: &random))
            watcher.kill9()
        }
        #expect(written == lines.count)
        let last = try CLI.run(["watch", log.path, "--store", store, "--once"], directory: dir)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(try Self.daily(store) == Self.batchDaily(lines, in: dir))
        #expect(try Self.sourceLines(store) == lines.count)
    }

    @Test func onceReadsCompleteLinesOnlyAndAgainReadsNothing() throws {
        let dir = try temporaryDirectory()
        let lines = try Self.simulate(Self.quietScenario, in: dir)
        let log = dir.appendingPathComponent("access.log")
        let store = dir.appendingPathComponent("watch.sqlite").path
        try Self.append(lines[0..<100], to: log)
        // Half a line, as a writer may have left it.
        let partial = lines[100]
        try Data(partial.utf8.prefix(60)).append(to: log)
        #expect(try CLI.run(["watch", log.path, "--store", store, "--once"], directory: dir).status == 0)
        #expect(try Self.sourceLines(store) == 100)
        try Data(partial.utf8.dropFirst(60)).append(to: log)
        try Self.append(lines[101..<200], to: log)
        #expect(try CLI.run(["watch", log.path, "--store", store, "--once"], directory: dir).status == 0)
        #expect(try CLI.run(["watch", log.path, "--store", store, "--once"], directory: dir).status == 0)
        #expect(try Self.sourceLines(store) == 200)
        #expect(try Self.daily(store) == Self.batchDaily(Array(lines[0..<200]), in: dir))
    }

    // MARK: Detection

    static let playbook = packageRoot.appendingPathComponent("playbooks/downloads-spike.yaml").path

    /// Streams `lines` into `log` in chunks (about sixteen hours of log time each), as a busy
    /// server writes them, while `watcher` follows; returns once the watcher has read them all.
    static func stream(_ lines: [String], to log: URL, store: String, watcher: Watcher) throws -> Bool {
        var written = 0
        while written < lines.count {
            let next = min(lines.count, written + 400)
            try append(lines[written..<next], to: log)
            written = next
            usleep(40_000)
        }
        return try waitUntil(timeout: 60) { try sourceLines(store) == lines.count }
    }

    /// The stdout lines of a watcher: one per incident state change.
    static func stateLines(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init)
    }

    @Test func aQuietStreamOpensNoIncident() throws {
        let dir = try temporaryDirectory()
        let lines = try Self.simulate(Self.streamScenario(seed: 12, incident: false), in: dir)
        let log = dir.appendingPathComponent("access.log")
        let store = dir.appendingPathComponent("watch.sqlite").path
        let out = dir.appendingPathComponent("incidents")
        let watcher = try Watcher(
            [log.path, "--store", store, "--interval", "0.05", "--batch-bytes", "300000", "--playbook", Self.playbook, "--out", out.path],
            in: dir)
        let caughtUp = try Self.stream(lines, to: log, store: store, watcher: watcher)
        #expect(watcher.terminate() == 0, "\(watcher.errors)")
        #expect(caughtUp)
        #expect(watcher.output.isEmpty, "no incident expected: \(watcher.output)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "a quiet log leaves no incident folder")
        #expect(!watcher.errors.contains("error"), "\(watcher.errors)")
    }

    @Test func aReleaseUpgradeOpensOneIncidentWhoseReportMatchesTheBatchRun() throws {
        let dir = try temporaryDirectory()
        let lines = try Self.simulate(Self.streamScenario(seed: 11, incident: true), in: dir)
        let catalog = dir.appendingPathComponent("sim/catalog").path
        let log = dir.appendingPathComponent("access.log")
        let store = dir.appendingPathComponent("watch.sqlite").path
        let out = dir.appendingPathComponent("incidents")
        let copies = dir.appendingPathComponent("hook")
        try FileManager.default.createDirectory(at: copies, withIntermediateDirectories: true)
        // The hook keeps a copy of each report as it was when the state changed.
        let hook =
            #"sh -c 'cp "$CASEBOOK_REPORT" "$0/$(ls "$0" | wc -l)-$CASEBOOK_STATE.html"; echo "$CASEBOOK_STATE $CASEBOOK_SUMMARY" >> "$0.log"' "#
            + copies.path
        let watcher = try Watcher(
            [
                log.path, "--store", store, "--interval", "0.05", "--batch-bytes", "300000", "--playbook", Self.playbook,
                "--catalog", catalog, "--out", out.path, "--on-incident", hook
            ], in: dir)
        let caughtUp = try Self.stream(lines, to: log, store: store, watcher: watcher)
        #expect(Self.waitUntil(timeout: 20) { watcher.output.contains("closed: ") })
        #expect(watcher.terminate() == 0, "\(watcher.errors)")
        #expect(caughtUp)
        let states = Self.stateLines(watcher.output)
        #expect(states.first?.hasPrefix("opened: spike 20200303T") == true, "\(states)")
        #expect(states.last?.hasPrefix("closed: spike 20200303T") == true, "\(states)")
        #expect(states.dropFirst().dropLast().allSatisfy { $0.hasPrefix("grew: ") }, "\(states)")
        // One incident, one folder, named by the window's start hour.
        let folders = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0 != "incidents.json" }
        #expect(folders.count == 1 && folders[0].hasPrefix("20200303T") && folders[0].hasSuffix("Z"), "\(folders)")
        // While open, the report said so; when closed, it says that.
        let copied = try FileManager.default.contentsOfDirectory(atPath: copies.path).sorted()
        #expect(copied.count == states.count, "\(copied)")
        let opened = try String(
            contentsOf: copies.appendingPathComponent(try #require(copied.first { $0.hasSuffix("-opened.html") })), encoding: .utf8)
        #expect(opened.contains("Still open"))
        let hookLog = try String(contentsOf: URL(fileURLWithPath: copies.path + ".log"), encoding: .utf8)
        #expect(hookLog.hasPrefix("opened opened: spike"), "\(hookLog)")
        // The closed report's conclusions are the batch investigation's.
        let folder = out.appendingPathComponent(folders[0])
        let watched = try Self.conclusions(folder.appendingPathComponent("report.json"))
        #expect(watched.incidentOpen == false)
        // The batch investigation of the same lines (batchDaily writes batch.sqlite).
        #expect(try Self.daily(store) == Self.batchDaily(lines, in: dir))
        let batch = try Self.batchConclusions(in: dir, catalog: catalog)
        #expect(watched.window == batch.window && watched.window?.hasPrefix("2020-03-03") == true, "\(watched) \(batch)")
        #expect(watched.contributors == batch.contributors && watched.contributors == ["paho-mqtt", "requests"])
        #expect(watched.cause == batch.cause && watched.cause != nil, "\(watched) \(batch)")
        #expect(watched.verdict == batch.verdict)
    }

    /// What the playbook concludes on `batch.sqlite` (the store ``batchDaily(_:in:)`` wrote).
    static func batchConclusions(in dir: URL, catalog: String) throws -> Conclusions {
        let out = dir.appendingPathComponent("batch-report")
        let run = try CLI.run([
            "run", playbook, "--store", dir.appendingPathComponent("batch.sqlite").path, "--catalog", catalog, "--out", out.path,
            "--quiet"
        ])
        #expect(run.status == 0, "\(run.stderr)")
        return try conclusions(out.appendingPathComponent("report.json"))
    }

    struct Conclusions: Equatable {
        var window: String?
        var contributors: [String]
        var verdict: String?
        var cause: String?
        var incidentOpen: Bool?
    }

    /// What an investigation concluded: the window, its contributors, the log-health verdict and
    /// the most likely cause (the attribution's first hypothesis).
    static func conclusions(_ url: URL) throws -> Conclusions {
        let o = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let steps = try #require(o["steps"] as? [[String: Any]])
        func outputs(_ id: String) -> [String: Any] {
            (steps.first { $0["id"] as? String == id }?["outputs"] as? [String: Any]) ?? [:]
        }
        let window = (outputs("spike")["window"] as? [String: Any])?["start"] as? String
        let contributors = ((outputs("contributors")["values"] as? [String]) ?? []).sorted()
        let hypotheses = outputs("attribution")["hypotheses"] as? [[String: Any]]
        let cause = hypotheses?.first.map { "\($0["kind"] ?? "") \($0["label"] ?? "")" }
        let incident = (o["report"] as? [String: Any])?["incident"] as? [String: Any]
        return Conclusions(
            window: window, contributors: contributors, verdict: outputs("health")["verdict"] as? String, cause: cause,
            incidentOpen: incident?["open"] as? Bool)
    }

    @Test func aFailingAndAHangingHookAreReportedAndWatchingGoesOn() throws {
        let dir = try temporaryDirectory()
        let lines = try Self.simulate(Self.streamScenario(seed: 11, incident: true), in: dir)
        let log = dir.appendingPathComponent("access.log")
        // The log up to the incident's sixth hour, then the rest: two looks with --once.
        let cut = try #require(lines.firstIndex { $0.contains("[03/Mar/2020:15:") })
        for (hook, expected) in [
            ("sh -c 'echo hook-ran; exit 3'", "failed with exit status 3"), ("sleep 30", "did not finish within 1 s")
        ] {
            let store = dir.appendingPathComponent("watch-\(expected.prefix(4)).sqlite").path
            try? FileManager.default.removeItem(at: log)
            let started = Date()
            var stdout = ""
            var stderr = ""
            for part in [lines[..<cut], lines[cut...]] {
                try Self.append(part, to: log)
                let r = try CLI.run([
                    "watch", log.path, "--store", store, "--once", "--out", dir.appendingPathComponent("out-\(expected.prefix(4))").path,
                    "--on-incident", hook, "--hook-timeout", "1"
                ])
                #expect(r.status == 0, "\(r.stderr)")
                stdout += r.stdout
                stderr += r.stderr
            }
            let r = (stdout: stdout, stderr: stderr)
            let states = Self.stateLines(r.stdout)
            // Opened, perhaps grown at the second look, then closed; the hook runs at each change.
            #expect(states.first?.hasPrefix("opened: ") == true && states.last?.hasPrefix("closed: ") == true, "\(r.stdout)")
            #expect(states.dropFirst().dropLast().allSatisfy { $0.hasPrefix("grew: ") }, "\(r.stdout)")
            #expect(r.stderr.components(separatedBy: expected).count == states.count + 1, "reported at each state change: \(r.stderr)")
            #expect(try Self.sourceLines(store) == lines.count)
            #expect(Date().timeIntervalSince(started) < 20)
            if hook.contains("hook-ran") { #expect(r.stderr.contains("hook-ran") && !r.stdout.contains("hook-ran")) }
        }
    }
}

extension Data {
    fileprivate func append(to url: URL) throws {
        let h = try FileHandle(forWritingTo: url)
        try h.seekToEnd()
        try h.write(contentsOf: self)
        try h.close()
    }
}
