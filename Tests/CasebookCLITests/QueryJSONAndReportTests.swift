import CasebookAnalysis
import CasebookReport
import Foundation
import Testing

@Suite struct QueryJSONAndReportErrorTests {
    /// A store and a one-step playbook (a built-in analyzer), for a report.json to damage.
    static func setUp() throws -> (dir: URL, store: String, playbook: String) {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", packageRoot.appendingPathComponent("examples/logs/access.log").path, "--store", store])
        let playbook = dir.appendingPathComponent("p.yaml").path
        try """
        name: Daily series
        steps:
          - id: daily
            uses: series
        """.write(toFile: playbook, atomically: true, encoding: .utf8)
        return (dir, store, playbook)
    }
    @Test func jsonKeysFollowTheDocumentedColumnOrder() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", packageRoot.appendingPathComponent("examples/logs/access.log").path, "--store", store])
        let r = try CLI.run(["query", "--by", "day,project,installer", "--format", "json", "--store", store])
        #expect(r.status == 0, "\(r.stderr)")
        let objects = r.stdout.components(separatedBy: "{").dropFirst()
        #expect(!objects.isEmpty)
        for o in objects {
            let keys = o.split(separator: "\n").compactMap { line -> String? in
                let t = line.trimmingCharacters(in: .whitespaces)
                guard t.hasPrefix("\""), let end = t.dropFirst().firstIndex(of: "\"") else { return nil }
                return String(t[t.index(after: t.startIndex)..<end])
            }
            #expect(keys == ["day", "project", "installer", "downloads"], "\(o)")
        }
        // Still valid JSON with the same values as CSV.
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let csv = try CLI.run(["query", "--by", "day,project,installer", "--format", "csv", "--store", store])
        #expect(rows.count == csv.stdout.split(separator: "\n").count - 1)
        let none = try CLI.run(["query", "--by", "day", "--where", "project=no-such-project", "--format", "json", "--store", store])
        #expect(try JSONSerialization.jsonObject(with: Data(none.stdout.utf8)) as? [Any] != nil)
    }

    @Test func truncatedReportGivesLineAndColumn() throws {
        let (dir, store, playbook) = try Self.setUp()
        let out = dir.appendingPathComponent("out")
        let run = try CLI.run(["run", playbook, "--store", store, "--out", out.path, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try String(contentsOf: out.appendingPathComponent("report.json"), encoding: .utf8)
        let cut = String(json.prefix(json.count / 2))
        let truncated = dir.appendingPathComponent("truncated.json")
        try cut.write(to: truncated, atomically: true, encoding: .utf8)
        let lines = cut.split(separator: "\n", omittingEmptySubsequences: false)
        let r = try CLI.run(["report", truncated.path, "--out", dir.appendingPathComponent("r").path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("truncated.json:\(lines.count):\(lines.last!.count + 1):"), "\(r.stderr)")
        #expect(r.stderr.contains("end of the file"), "\(r.stderr)")
        #expect(r.stderr.contains("expected"))
        // A syntax error in the middle.
        let broken = json.replacingOccurrences(of: "\"steps\" :", with: "\"steps\" ;")
        try broken.write(to: truncated, atomically: true, encoding: .utf8)
        let b = try CLI.run(["report", truncated.path, "--out", dir.appendingPathComponent("r").path])
        #expect(b.stderr.contains("expected `:` after the key, found `;`"), "\(b.stderr)")
    }

    @Test func syntaxCheckPositions() {
        func problem(_ s: String) -> String? { JSONSyntaxCheck.firstProblem(in: Data(s.utf8))?.description }
        #expect(
            problem("{\"a\": [1, 2")
                == "line 1, column 12: expected `,` or `]` closing the array, found the end of the file (is it truncated?)")
        #expect(problem("{\n  \"a\": tru\n}") == "line 2, column 11: expected `true`, found byte 0x0A")
        #expect(problem("{\"a\": \"é\" x}") == "line 1, column 11: expected `,` or `}` closing the object, found `x`")
        #expect(problem("[1, {\"b\": null}]") == nil)
    }
}
