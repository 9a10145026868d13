import CasebookAnalysis
import CasebookCore
import CasebookPlaybooks
import CasebookSQLite
import CasebookTesting
import Foundation
import Testing

@Suite struct ExternalAnalyzerTests {
    static func playbook(_ program: String, timeout: String = "") -> String {
        """
        name: External
        steps:
          - id: before
            uses: series
          - id: ext
            uses: \(program)
        \(timeout)
          - id: after
            uses: echo
            with: {value: "${{ steps.before.outputs.total }}"}
        """
    }

    /// Runs `program` between two healthy steps and returns the external step's failure reason.
    static func failure(_ program: String) async throws -> String {
        let report = try await Support.run(playbook(program))
        try succeeded(report, "before")
        #expect(try succeeded(report, "after").outputs["params"]?["value"] == .int(4420))
        let ext = try #require(report.step("ext"))
        #expect(ext.status == .failed)
        return ext.reason ?? ""
    }

    @Test func protocolRoundTripWithQueries() async throws {
        let report = try await Support.run(
            """
            name: Direct protocol
            steps:
              - id: daily
                uses: series
              - id: sums
                uses: ./analyzers/sum_by_project.py
                with: {top: 2}
            """)
        try succeeded(report, "daily")
        let sums = try succeeded(report, "sums")
        #expect(sums.outputs["totals"] == ["flask": 2400, "numpy": 1120])
        #expect(sums.outputs["seen"]?["id"] == 7)
        #expect(sums.outputs["seen"]?["step"] == "sums")
        #expect(
            sums.outputs["seen"]?["refused"]?.stringValue?.contains("did you mean \"project\"") == true
                || sums.outputs["seen"]?["refused"]?.stringValue?.contains("did you mean `project`") == true)
        #expect(sums.outputs["seen"]?["inputs"]?["daily"]?["total"] == 4420)
        #expect(sums.findings.first?.confidence == .high)
    }

    @Test func aProgramReadsTheRunsImportedCatalogThroughMessages() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-ext-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("store.sqlite").path)
        try CatalogStoreFixture.makeCatalog(dir.appendingPathComponent("catalog"))
        _ = try CatalogStoreFixture.importFolder(dir.appendingPathComponent("catalog"), into: store)
        let catalog = RunCatalog(try #require(try store.importedCatalog()))
        let plan = try await Support.plan(
            """
            name: Catalog over the protocol
            steps:
              - id: reader
                uses: ./analyzers/catalog_reader.py
            """)
        let report = await PlaybookRunner(store: store, catalog: catalog, limits: Support.fast).run(plan)
        let seen = try succeeded(report, "reader").outputs["seen"]
        // No folder to read: the catalog is in the store, and answers over the protocol.
        #expect(seen?["folder"] == .null)
        #expect(seen?["location"]?.stringValue?.hasSuffix("(imported catalog)") == true)
        #expect(seen?["name"] == "lib-one")
        #expect(seen?["versions"] == ["2.1"])
        #expect(seen?["dependents"] == ["app"])
        #expect(seen?["ids"] == [1, 2, 3])
        #expect(seen?["missingType"] == "error")
        #expect(seen?["missing"]?.stringValue?.contains("no-such-thing") == true)
    }

    @Test func describedProgramsAreValidated() async {
        await Support.expectError(
            """
            name: x
            steps:
              - id: sums
                uses: ./analyzers/sum_by_project.py
                with: {tpo: 2}
            """, at: 5, 12, "unknown parameter `tpo` for analyzer `sum-by-project`; did you mean `top`?")
    }

    @Test func crash() async throws {
        let reason = try await Self.failure("./analyzers/crash.py")
        #expect(reason.hasPrefix("`./analyzers/crash.py` exited with status 3 before sending a result"))
        #expect(reason.contains("ZeroDivisionError: division by zero"))
    }

    @Test func hangIsKilledAtTheTimeout() async throws {
        let clock = ContinuousClock()
        var ext: RunReport.StepReport?
        let elapsed = try await clock.measure {
            let report = try await Support.run(Self.playbook("./analyzers/hang.py", timeout: "    timeout-seconds: 1.5"))
            try succeeded(report, "after")
            ext = report.step("ext")
        }
        #expect(ext?.status == .failed)
        #expect(ext?.reason == "`./analyzers/hang.py` timed out after 1.5 s and was killed")
        // The program sleeps for ten minutes: finishing well before means it was killed at the timeout.
        #expect(elapsed < .seconds(120), "\(elapsed)")
    }

    @Test func stepTimeoutOverridesTheDefault() async throws {
        let report = try await Support.run(Self.playbook("./analyzers/hang.py", timeout: "    timeout-seconds: 0.5"))
        #expect(report.step("ext")?.status == .failed)
        #expect(report.step("ext")?.reason == "`./analyzers/hang.py` timed out after 0.5 s and was killed")
    }

    @Test func garbage() async throws {
        let reason = try await Self.failure("./analyzers/garbage.py")
        #expect(
            reason.contains(
                "`./analyzers/garbage.py` printed something that is not a casebook-analyzer/1 JSON message on stdout (line 1: `Hello! I am not JSON`)"
            ))
    }

    @Test func tooMuch() async throws {
        let reason = try await Self.failure("./analyzers/toomuch.py")
        #expect(reason.hasPrefix("`./analyzers/toomuch.py` answered too much: more than 1048576 bytes on stdout"))
    }

    @Test func wrongShape() async throws {
        let reason = try await Self.failure("./analyzers/wrongshape.py")
        #expect(
            reason.contains("`./analyzers/wrongshape.py` answered a wrong-shaped result: findings[0] is not a finding (missing `title`"))
    }

    /// The Python example under examples/python-analyzer, end to end through the helper module.
    @Test func pythonExampleEndToEnd() async throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/python-analyzer")
        let book = try Playbook.load(from: dir.appendingPathComponent("playbook.yaml"), displayPath: "playbook.yaml")
        let limits = ExternalAnalyzerLimits(timeout: 20, describeTimeout: 20)
        let plan = try await PlaybookValidator(registry: Support.registry, limits: limits).validate(book, overrides: [("project", "flask")])
        #expect(plan.warnings.isEmpty)
        let report = await PlaybookRunner(store: Support.store, limits: limits).run(plan)
        let step = try succeeded(report, "weekdays")
        #expect(step.outputs["days"] == 28)
        #expect(step.outputs["weekendRatio"] == 0.5)
        #expect(step.outputs["means"]?["Saturday"] == 50)
        #expect(step.findings.first?.title == "Weekly pattern of downloads")
        #expect(step.findings.first?.summary == "For flask, an average weekend day has 50% of an average weekday's downloads.")
        if case .table(let t)? = step.findings.first?.evidence.first {
            #expect(t.columns == ["weekday", "days", "mean downloads"])
            #expect(t.rows.count == 7)
        } else {
            Issue.record("expected a table")
        }
    }

    @Test func aggregateQueryJSON() throws {
        let q = try AggregateQueryJSON.query(from: [
            "bucket": "day", "dimensions": ["project"],
            "filters": [["dimension": "python-major", "op": "not_in", "values": ["3", nil]]],
            "from": "2020-03-01", "to": 1_583_625_600, "top": 3
        ])
        #expect(q.bucket == .day)
        #expect(q.filters == [DimensionFilter(.pythonMajor, .notIn, ["3", nil])])
        #expect(q.range == TimeRange(from: 1_583_020_800, to: 1_583_625_600))
        #expect(q.top == 3)
        #expect(throws: AggregateQueryJSON.Problem.self) { try AggregateQueryJSON.query(from: ["bukket": "day"]) }
    }
}

/// Huge output: read in linear time, stopped at the output limit, and the terminal shows a
/// capped echo of logs and the failure's stderr.
@Suite struct ExternalAnalyzerOutputTests {
    final class Lines: @unchecked Sendable {
        let lock = NSLock()
        var lines: [String] = []
        func add(_ s: String) { lock.withLock { lines.append(s) } }
        var all: [String] { lock.withLock { lines } }
    }

    static func run(_ program: String, maxOutputBytes: Int = 1 << 20) async throws -> (RunReport, [String]) {
        let limits = ExternalAnalyzerLimits(timeout: 120, describeTimeout: 120, maxOutputBytes: maxOutputBytes)
        let plan = try await Support.plan(ExternalAnalyzerTests.playbook(program), limits: limits)
        let lines = Lines()
        let report = await PlaybookRunner(store: Support.store, limits: limits, progress: { lines.add($0) }).run(plan)
        return (report, lines.all)
    }

    @Test func anEndlessLineStopsAtTheOutputLimit() async throws {
        // 16 MB, the default limit: the program writes one line forever, so finishing at all
        // means the limit stopped it.
        let (report, progress) = try await Self.run("./analyzers/hugeline.py", maxOutputBytes: 16 << 20)
        let ext = try #require(report.step("ext"))
        #expect(ext.status == .failed)
        #expect(ext.reason?.contains("more than 16777216 bytes on stdout (the output limit") == true, "\(ext.reason ?? "")")
        try succeeded(report, "after")
        #expect(progress.contains { $0.contains("ext: failed") && $0.contains("output limit") })
    }

    @Test func anUnlimitedOutputLimitDoesNotOverflow() async throws {
        let (report, _) = try await Self.run("./analyzers/crash.py", maxOutputBytes: Int.max)
        #expect(report.step("ext")?.status == .failed)
        #expect(
            report.step("ext")?.reason?.hasPrefix("`./analyzers/crash.py` exited with status 3") == true,
            "\(report.step("ext")?.reason ?? "")")
    }

    @Test func theTerminalShowsWhatStderrSaid() async throws {
        let (report, progress) = try await Self.run("./analyzers/crash.py")
        #expect(report.step("ext")?.status == .failed)
        let failed = try #require(progress.first { $0.contains("ext: failed") })
        #expect(failed.contains("its stderr said:"))
        #expect(failed.contains("ZeroDivisionError: division by zero"), "\(failed)")
    }

    @Test func logEchoIsCappedAndSaysWhatItDropped() async throws {
        let (report, progress) = try await Self.run("./analyzers/logspam.py")
        try succeeded(report, "ext")
        let echoed = progress.filter { $0.hasPrefix("    ext: ") }
        let bytes = echoed.reduce(0) { $0 + $1.utf8.count }
        #expect(bytes < 80_000, "the echo is capped (\(bytes) bytes shown)")
        #expect(echoed.contains { $0.contains("line 0 ") })
        let note = try #require(echoed.last)
        #expect(note.contains("bytes of log output not shown on the terminal"), "\(note)")
        #expect(!progress.contains { $0.contains(String(repeating: "z", count: 3000)) })
    }
}
