import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookPlaybooks

/// Writes three weeks of an index's access log in the combined format: every hour, downloads of
/// a few wheels by a few hundred clients plus index pages, with `hourOverride` changing hours
/// (no lines, 503 answers, or a few lines only), and `dropClient` removing one busy client from
/// a day on.
struct AccessLogWriter: Sendable {
    static let start = UTCTime.epoch(year: 2020, month: 2, day: 3)  // a Monday
    static let agent =
        #"pip/20.0.2 {\"ci\":null,\"cpu\":\"armv7l\",\"distro\":{\"id\":\"buster\",\"libc\":{\"lib\":\"glibc\",\"version\":\"2.28\"},\"name\":\"Raspbian GNU/Linux\",\"version\":\"10\"},\"implementation\":{\"name\":\"CPython\",\"version\":\"3.7.3\"},\"installer\":{\"name\":\"pip\",\"version\":\"20.0.2\"},\"openssl_version\":\"OpenSSL 1.1.1d  10 Sep 2019\",\"python\":\"3.7.3\",\"setuptools_version\":\"40.8.0\",\"system\":{\"name\":\"Linux\",\"release\":\"4.19.97-v7+\"}}"#
    static let mirrorAgent = "bandersnatch/3.6.0 (cpython 3.7.3-final0, Linux x86_64)"

    enum Hour { case normal, silent, answered503, quiet }

    var days = 21
    var hourOverride: @Sendable (Int64) -> Hour = { _ in .normal }
    /// From this time on, the busy client (a mirror fetching 300 files an hour) is gone.
    var mirrorStops: Int64?

    func write(to url: URL) throws {
        var out = ""
        out.reserveCapacity(4 << 20)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func time(_ t: Int64) -> String {
            let (y, m, d) = UTCTime.civilFromDays(t / 86400)
            let s = Int(t % 86400)
            return String(format: "%02d/%@/%04d:%02d:%02d:%02d +0000", d, months[m - 1], y, s / 3600, (s % 3600) / 60, s % 60)
        }
        let packages = [
            "numpy/numpy-1.18.1-cp37-cp37m-linux_armv7l.whl", "requests/requests-2.23.0-py2.py3-none-any.whl",
            "gpiozero/gpiozero-1.5.1-py2.py3-none-any.whl", "six/six-1.14.0-py2.py3-none-any.whl"
        ]
        for d in 0..<days {
            for h in 0..<24 {
                let hourStart = Self.start + Int64(d) * 86400 + Int64(h) * 3600
                let kind = hourOverride(hourStart)
                if kind == .silent { continue }
                // A daily shape: busier in the afternoon.
                let n = kind == .quiet ? 3 : 60 + Int(40 * sin(Double(h) / 24 * .pi))
                for i in 0..<n {
                    let t = hourStart + Int64(i * 3600 / n)
                    let client = "10.0.\((d * 7 + h * 13 + i) % 200).\(i % 250 + 1)"
                    let path = "/simple/" + packages[(i + h) % packages.count]
                    let status = kind == .answered503 ? 503 : 200
                    out +=
                        "\(client) - - [\(time(t))] \"GET \(path) HTTP/1.1\" \(status) \(status == 200 ? 123456 : 299) \"-\" \"\(Self.agent)\"\n"
                    if i % 5 == 0 {
                        out +=
                            "\(client) - - [\(time(t))] \"GET /simple/\(packages[i % packages.count].split(separator: "/")[0])/ HTTP/1.1\" \(status) 512 \"-\" \"\(Self.agent)\"\n"
                    }
                }
                if kind != .answered503, kind != .quiet, mirrorStops.map({ hourStart < $0 }) ?? false {
                    for i in 0..<30 {
                        let t = hourStart + Int64(i * 120)
                        out +=
                            "192.0.2.77 - - [\(time(t))] \"GET /simple/\(packages[i % packages.count]) HTTP/1.1\" 200 123456 \"-\" \"\(Self.mirrorAgent)\"\n"
                    }
                }
            }
        }
        try out.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Writes the log, ingests it into a new store, and returns the store.
    func store(in dir: URL) throws -> SQLiteEventStore {
        let log = dir.appendingPathComponent("access.log")
        try write(to: log)
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("store.sqlite").path)
        _ = try Ingestor(target: store, options: IngestOptions(format: .combined, index: "piwheels")).ingest(path: log.path)
        return store
    }
}

/// Drops, outages and gaps in the log: each is told apart from a change in traffic, and nobody
/// is said to have "made" a shortfall.
@Suite(.serialized) struct DropsAndOutagesTests {
    static let day18 = AccessLogWriter.start + 15 * 86400  // Tuesday 18 February
    static let window: Value = .object([
        "start": .string(UTCTime.isoString(day18)), "end": .string(UTCTime.isoString(day18 + 86400)),
        "direction": "down"
    ])

    static func run(_ writer: AccessLogWriter, _ body: (SQLiteEventStore) async throws -> Void) async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try await offThePool { try writer.store(in: dir) }
        try await body(store)
    }

    static func inHours(_ t: Int64, from: Int, to: Int) -> Bool { t >= day18 + Int64(from) * 3600 && t < day18 + Int64(to) * 3600 }

    @Test func fiveHoursAnswered503AreAnOutageNotAFallInDemand() async throws {
        var w = AccessLogWriter()
        w.hourOverride = { Self.inHours($0, from: 9, to: 14) ? .answered503 : .normal }
        try await Self.run(w) { store in
            let r = try await runAnalyzer(LogHealthAnalyzer.self, store: store, ["window": Self.window])
            #expect(r.outputs["verdict"] == "outage")
            let span = try #require(r.outputs["errorSpans"]?[0]?.objectValue)
            #expect(span["start"] == "2020-02-18T09:00:00Z")
            #expect(span["end"] == "2020-02-18T14:00:00Z")
            #expect(span["status"] == 503)
            let text = r.findings.map(\.summary).joined(separator: " ")
            #expect(text.contains("The server answered 503 to"))
            #expect(text.contains("an outage, not a fall in demand"))
            #expect(text.contains("2020-02-18 09:00–14:00 UTC"))
        }
    }

    @Test func sixHoursWithoutAnyLineAreAGapInTheLogNeverAnOutage() async throws {
        var w = AccessLogWriter()
        w.hourOverride = { Self.inHours($0, from: 8, to: 14) ? .silent : .normal }
        try await Self.run(w) { store in
            let r = try await runAnalyzer(LogHealthAnalyzer.self, store: store, ["window": Self.window])
            #expect(r.outputs["verdict"] == "log-gap")
            let span = try #require(r.outputs["silentSpans"]?[0]?.objectValue)
            #expect(span["start"] == "2020-02-18T08:00:00Z")
            #expect(span["end"] == "2020-02-18T14:00:00Z")
            let text = r.findings.map { $0.title + " " + $0.summary }.joined(separator: " ")
            #expect(text.contains("no lines at all"))
            #expect(text.contains("missing data, not lost interest"))
            #expect(!text.lowercased().contains("outage"))
        }
    }

    @Test func hoursWithAlmostNoRequestsAreRequestsThatDidNotReachTheServer() async throws {
        var w = AccessLogWriter()
        w.hourOverride = { Self.inHours($0, from: 10, to: 15) ? .quiet : .normal }
        try await Self.run(w) { store in
            let r = try await runAnalyzer(LogHealthAnalyzer.self, store: store, ["window": Self.window])
            #expect(r.outputs["verdict"] == "outage")
            #expect(r.outputs["quietSpans"]?.arrayValue?.count == 1)
            #expect(r.findings.first?.summary.contains("requests did not reach it") == true)
        }
    }

    @Test func aMirrorThatStopsIsOneClientMissingAndTheServerWasFine() async throws {
        var w = AccessLogWriter()
        w.mirrorStops = Self.day18
        try await Self.run(w) { store in
            let health = try await runAnalyzer(LogHealthAnalyzer.self, store: store, ["window": Self.window])
            #expect(health.outputs["verdict"] == "traffic")
            #expect(health.findings.first?.title == "The server and the log were normal")
            let clients = try await runAnalyzer(ClientBehaviourAnalyzer.self, store: store, ["window": Self.window])
            #expect(clients.outputs["direction"] == "down")
            #expect(clients.outputs["concentration"] == "single-client")
            #expect(clients.outputs["missingClients"]?.intValue ?? 0 >= 1)
            let finding = try #require(clients.findings.first)
            #expect(finding.title == "One client that was busy before is missing")
            #expect(finding.summary.contains("of the shortfall"))
            #expect(!finding.summary.contains("made"))
            let segments = try await runAnalyzer(
                SegmentSplitAnalyzer.self, store: store, ["window": Self.window, "dimensions": ["installer"]])
            #expect(segments.outputs["top"]?["value"] == "bandersnatch")
            #expect(segments.findings.first?.summary.contains("of the window's shortfall was in installer = bandersnatch") == true)
        }
    }

    @Test func anEvenDropIsSpreadOverClientsNotMadeByOne() async throws {
        // Every client fetches a little less on the 18th: the log keeps its hours, no errors.
        var w = AccessLogWriter()
        w.hourOverride = { Self.inHours($0, from: 0, to: 24) && ($0 / 3600) % 2 == 0 ? .quiet : .normal }
        try await Self.run(w) { store in
            let clients = try await runAnalyzer(ClientBehaviourAnalyzer.self, store: store, ["window": Self.window])
            #expect(clients.outputs["direction"] == "down")
            #expect(clients.outputs["concentration"] == "many-clients")
            let finding = try #require(clients.findings.first)
            #expect(finding.title == "The shortfall is spread over many clients")
            #expect(!finding.summary.contains("made"))
            #expect(!finding.summary.contains("excess"))
        }
    }
}

/// The reader's check that every scenario report goes through catches what it is meant to catch.
@Suite struct ReportProblemsTests {
    @Test func theCheckCatchesWhatItLooksFor() {
        let window: Value = .object(["direction": "down"])
        let spike = RunReport.StepReport(
            id: "spike", name: nil, uses: "spike-detection", status: .succeeded, reason: nil,
            outputs: ["window": window], findings: [], seconds: 0)
        let clients = RunReport.StepReport(
            id: "clients", name: nil, uses: "client-behaviour", status: .succeeded, reason: nil, outputs: [:],
            findings: [Finding(title: "One client made most of it", summary: "For 1 values, one client made 100% of the excess.")],
            seconds: 0)
        let skipped = RunReport.StepReport(
            id: "later", name: nil, uses: "x", status: .skipped,
            reason: "condition `steps.spike.outputs.windows` is false ([{\"actual\": 3}])", outputs: [:], findings: [], seconds: 0)
        let deps = RunReport.StepReport(
            id: "deps", name: nil, uses: "dependency-gap", status: .succeeded, reason: nil, outputs: [:],
            findings: [
                Finding(title: "Files", summary: "1 of the 1 contributing files were there."),
                Finding(title: "Gap", summary: "The contributors rose, while their 1 dependencies did not move.")
            ],
            seconds: 0)
        let report = RunReport(
            playbook: .init(name: "t", file: "t.yaml", description: "", params: [:]), steps: [spike, clients, skipped, deps])
        let problems = reportProblems(report)
        #expect(problems.contains { $0.hasPrefix("clients: a drop described") && $0.contains("made most of it") })
        #expect(problems.contains { $0.hasPrefix("clients: a drop described") && $0.contains("`excess`") })
        #expect(problems.contains { $0.hasPrefix("clients: number and noun disagree") })
        #expect(problems.contains { $0.hasPrefix("later: raw expression") })
        #expect(problems.filter { $0.hasPrefix("deps: number and noun disagree") }.count == 2)
    }
}
