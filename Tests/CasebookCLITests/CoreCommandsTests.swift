import CasebookAnalysis
import CasebookCore
import CasebookSQLite
import Foundation
import Testing

@Suite struct CoreCommandsTests {
    let example = packageRoot.appendingPathComponent("examples/logs/access.log").path

    @Test func ingestThenQueryDailyTotals() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let ingest = try CLI.run(["ingest", example, "--store", store])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stdout.contains("12 downloads stored"))
        #expect(ingest.stdout.contains("malformed lines kept aside"))
        let csv = try CLI.run(["query", "--by", "day", "--format", "csv", "--store", store])
        #expect(csv.stdout == "day,downloads\n2019-03-18,4\n2020-03-04,2\n2020-03-05,5\n2020-03-06,1\n")
        // CASEBOOK_STORE works as --store does.
        let env = try CLI.run(["query", "--by", "day", "--format", "csv"], environment: ["CASEBOOK_STORE": store])
        #expect(env.stdout == csv.stdout)
        let again = try CLI.run(["ingest", example, "--store", store])
        #expect(again.stdout.contains("already ingested"))
    }

    @Test func infoSaysWhatTheDataCanAnswer() throws {
        let dir = try temporaryDirectory()
        let logs = dir.appendingPathComponent("logs.sqlite").path
        try CLI.run(["ingest", example, "--store", logs])
        let fromLogs = try CLI.run(["info", "--coverage", "--store", logs])
        #expect(fromLogs.status == 0, "\(fromLogs.stderr)")
        #expect(fromLogs.stdout.contains("times: to the hour"))
        #expect(fromLogs.stdout.contains("clients: client keys"))
        #expect(fromLogs.stdout.contains("server answers: request lines by hour and status from 2019-03-18T"))
        // A maintainer's daily counts: days only, no clients, no server answers.
        let csv = dir.appendingPathComponent("counts.csv")
        try "date,downloads\n2020-03-01,10\n2020-03-02,12\n".write(to: csv, atomically: true, encoding: .utf8)
        let counts = dir.appendingPathComponent("counts.sqlite").path
        try CLI.run(["ingest", csv.path, "--input-format", "csv", "--project", "flask", "--store", counts])
        let fromCounts = try CLI.run(["info", "--coverage", "--store", counts])
        #expect(fromCounts.stdout.contains("times: days only"))
        #expect(fromCounts.stdout.contains("clients: no client keys"))
        #expect(fromCounts.stdout.contains("server answers: none"))
        #expect(
            fromCounts.stdout.contains("dimensions with values: project, index")
                || fromCounts.stdout.contains("dimensions with values: project"))
        #expect(fromCounts.stdout.contains("dimensions without any value: version"))
    }

    @Test func topProjectsPerDayAsJSONAndFilters() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", example, "--store", store])
        let top = try CLI.run([
            "query", "--by", "day,project", "--top", "1", "--from", "2020-03-04", "--to", "2020-03-06",
            "--format", "json", "--store", store
        ])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(top.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 2)
        #expect(rows[0]["day"] as? String == "2020-03-04")
        #expect(rows[0]["project"] as? String == "flask-login")
        #expect(rows[1]["project"] as? String == "flask-login")
        #expect(rows[1]["downloads"] as? Int == 1)
        let notFlask = try CLI.run(["query", "--by", "python_major", "--where", "project!=Flask_Login", "--format", "csv", "--store", store]
        )
        #expect(notFlask.stdout.hasPrefix("python_major,downloads\n"))
        #expect(!notFlask.stdout.contains("flask"))
        let hour = try CLI.run(["query", "--by", "hour", "--where", "project=flask-login", "--format", "csv", "--store", store])
        #expect(hour.stdout.contains("2020-03-05T00:00:00Z,1"))
    }

    @Test func clearErrorsForBadArguments() throws {
        let r = try CLI.run(["query", "--by", "day,projet", "--store", "/nonexistent/x.sqlite"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("unknown bucket or dimension 'projet'"))
        #expect(r.stderr.contains("did you mean `project`?"))
        let missing = try CLI.run(["query", "--store", "/tmp/definitely-missing-\(UUID().uuidString).sqlite"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no store at"))
        let noFile = try CLI.run(["ingest", "/nonexistent/log", "--store", try temporaryDirectory().appendingPathComponent("s.sqlite").path]
        )
        #expect(noFile.status != 0)
        #expect(noFile.stderr.contains("/nonexistent/log: no such file"))
    }

    @Test func infoShowsSourcesAndQuarantineWithoutAddresses() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", example, "--store", store])
        let info = try CLI.run(["info", "--quarantine", "--store", store])
        #expect(info.stdout.contains("downloads: 12"))
        #expect(info.stdout.contains("quarantined lines: 4"))
        #expect(info.stdout.contains("access.log"))
        #expect(info.stdout.contains("access.log:32:"))
        for address in ["203.0.113.6", "192.0.2.10", "2a00:1098"] { #expect(!info.stdout.contains(address)) }
    }

    @Test func parsePrintsBigQueryShapedRows() throws {
        let lines = try String(contentsOfFile: example, encoding: .utf8)
        let r = try CLI.run(["parse"], stdin: lines)
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(out.count == 36)
        let first = out[2]  // line 3: the MarkupSafe wheel
        #expect(first["timestamp"] as? String == "2019-03-18 14:24:56 UTC")
        let file = try #require(first["file"] as? [String: Any])
        #expect(file["type"] as? String == "bdist_wheel")
        #expect(file["project"] as? String == "markupsafe")
        let details = try #require(first["details"] as? [String: Any])
        #expect((details["installer"] as? [String: Any])?["name"] as? String == "pip")
        #expect(details["python"] as? String == "3.5.3")
        #expect(out[0]["status"] as? String == "not-download")
        #expect(out[0]["kind"] as? String == "index-page")
        #expect(out[31]["status"] as? String == "malformed")
        #expect(!r.stdout.contains("2a00:1098"))
    }
}

@Suite struct KilledIngestTests {
    /// A log of `lines` downloads (one per line), big enough that ingest takes a while.
    static func writeLog(_ path: String, lines: Int, day: Int) throws {
        let ua =
            #"pip/20.0.2 {\"cpu\":\"armv7l\",\"implementation\":{\"name\":\"CPython\",\"version\":\"2.7.16\"},\"installer\":{\"name\":\"pip\",\"version\":\"20.0.2\"},\"python\":\"2.7.16\",\"system\":{\"name\":\"Linux\",\"release\":\"4.19.97-v7+\"}}"#
        var out = ""
        out.reserveCapacity(lines * 400)
        for i in 0..<lines {
            let s = i % 86400
            let time = String(format: "%02d/Mar/2020:%02d:%02d:%02d +0000", day, s / 3600, s / 60 % 60, s % 60)
            out +=
                "10.0.\(i % 200).\(i % 97) - - [\(time)] \"GET /simple/pkg-\(i % 50)/pkg_\(i % 50)-1.0-py2.py3-none-any.whl HTTP/1.1\" 200 1000 \"-\" \"\(ua)\"\n"
        }
        try out.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Runs `casebook ARGUMENTS` until the ingest says it paused at line `line`
    /// (`CASEBOOK_TEST_PAUSE_AT_LINE`), then kills it with SIGKILL.
    static func killIngest(_ arguments: [String], pausedAt line: Int, beforeKill: () throws -> Void = {}) throws {
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["CASEBOOK_TEST_PAUSE_AT_LINE"] = String(line)
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        var said = Data()
        while !String(decoding: said, as: UTF8.self).contains("paused at line \(line)") {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            said.append(chunk)
        }
        #expect(String(decoding: said, as: UTF8.self).contains("paused at line \(line)"))
        try beforeKill()
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
    }

    @Test func aKilledIngestLeavesTheStoreAsItWasAndARetryIsExact() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let small = dir.appendingPathComponent("small.log").path
        let big = dir.appendingPathComponent("big.log").path
        try Self.writeLog(small, lines: 1000, day: 1)
        try Self.writeLog(big, lines: 150_000, day: 2)
        #expect(try CLI.run(["ingest", small, "--store", store]).status == 0)

        // The process stops half way, inside its transaction, and says so; then it is killed.
        try Self.killIngest(["ingest", big, "--store", store], pausedAt: 75000)

        let s = try SQLiteEventStore(path: store)
        let info = try s.infoSync()
        #expect(info.downloads == 1000)
        #expect(info.sources.count == 1)
        #expect(try CLI.run(["ingest", big, "--store", store]).status == 0)
        #expect(try s.infoSync().downloads == 151_000)
        #expect(try CLI.run(["ingest", big, "--store", store]).stdout.contains("already ingested"))
    }
}

/// `casebook run` in scripts: the exit status tells whether every step succeeded, when asked.
@Suite struct RunCommandTests {
    @Test func runFailsWithStatus3OnAFailedStepOnlyWhenAsked() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let example = packageRoot.appendingPathComponent("examples/logs/access.log").path
        try CLI.run(["ingest", example, "--store", store])
        try """
        import sys
        sys.stdin.readline()
        sys.stderr.write("ZeroDivisionError: division by zero\\n")
        sys.exit(3)
        """.write(to: dir.appendingPathComponent("crash.py"), atomically: true, encoding: .utf8)
        let playbook = dir.appendingPathComponent("failing.yaml").path
        try """
        name: One step fails
        steps:
          - id: daily
            uses: series
          - id: broken
            uses: ./crash.py
        """.write(toFile: playbook, atomically: true, encoding: .utf8)
        let lenient = try CLI.run(["run", playbook, "--store", store, "--out", dir.appendingPathComponent("a").path, "--quiet"])
        #expect(lenient.status == 0, "\(lenient.stderr)")
        let strictOut = dir.appendingPathComponent("b")
        let strict = try CLI.run(["run", playbook, "--store", store, "--out", strictOut.path, "--quiet", "--fail-on-step-error"])
        #expect(strict.status == 3)
        #expect(strict.stderr.contains("step(s) failed: broken"))
        // The report is written all the same, and marks the step.
        let report = try String(contentsOf: strictOut.appendingPathComponent("report.json"), encoding: .utf8)
        #expect(report.contains("\"failed\""))
        #expect(report.contains("ZeroDivisionError"))
    }
}
