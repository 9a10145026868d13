import CasebookAnalysis
import CasebookCore
import CasebookPlaybooks
import Foundation
import Testing

@testable import CasebookReport

enum Fixtures {
    static var folder: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }

    /// The demo's report.json as `casebook run` wrote it (part 1 of the spike playbook).
    static func sampleDocument() throws -> ReportDocument {
        let data = try Data(contentsOf: folder.appendingPathComponent("sample-report.json"))
        var doc = try ReportDocument.load(json: data)
        doc.metadata = ReportMetadata(
            generatedAt: "2024-01-02T03:04:05Z", command: "casebook run playbooks/downloads-spike.yaml --store s.sqlite --out out",
            playbookText: "name: Downloads spike\n", playbookSHA256: String(repeating: "ab", count: 32),
            store: StoreInfo(
                eventRows: 10, downloads: 2_000_000, firstEvent: 1_577_836_800, lastEvent: 1_583_971_199,
                sources: [
                    SourceInfo(
                        fingerprint: String(repeating: "0f", count: 32), name: "access.log", format: "combined",
                        index: "main", bytes: 1000, lines: 20, downloads: 10, otherRequests: 2,
                        quarantined: 0, firstEvent: 1_577_836_800, lastEvent: 1_583_971_199, ingestedAt: 1_700_000_000)
                ],
                quarantined: [:], schemaVersion: 1, location: "s.sqlite"),
            analyzers: ["spike-detection": "Finds unusual windows."])
        return doc
    }

    /// Strings crafted to inject markup into HTML, SVG and Markdown.
    static let hostile = [
        "<script>document.title='pwned';alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "[click me](http://evil.example/x)",
        "a|b||c",
        "' onmouseover='alert(2)",
        "</svg><script>alert(3)</script>",
        "![pic](http://evil.example/p.png)",
        "<https://evil.example/auto> www.evil.example",
        "*bold* _it_ `code` ~~x~~ &amp; \\",
        "# heading\n- item\n| x | y |",
        "1. ordered"
    ]
    static var hostileAll: String { hostile.joined(separator: " ") }

    /// A run report with a hostile string in every field a renderer shows, and every evidence
    /// and chart kind, built through JSON as a saved report would be.
    static func hostileDocument() throws -> ReportDocument {
        let h = hostileAll
        func s(_ i: Int) -> Value { .string(hostile[i % hostile.count] + " #\(i)") }
        func day(_ d: Int) -> Value {
            let x: Value = .string(UTCTime.isoString(1_583_020_800 + Int64(d) * 86400))
            let y: Value = .double(Double(100 + (d == 15 ? 900 : d * 3)))
            return .object(["x": x, "y": y])
        }
        let days: [Value] = (0..<20).map(day)
        let e0: Value = ["type": "number", "label": .string("label " + h), "value": 1234, "unit": .string("unit " + hostile[1])]
        let e1: Value = ["type": "note", "text": .string("note " + h)]
        let e2: Value = [
            "type": "table", "title": .string("table " + h), "columns": [s(0), s(1), "share", s(3)],
            "rows": [[s(4), 12, 0.5, s(5)], [s(6), 7, 0.25, ["nested": s(7)]], [s(3), .null, 1, [s(8), s(9)]]]
        ]
        let e3: Value = [
            "type": "series", "title": .string("series " + h), "bucket": "day", "unit": .string("u " + hostile[0]),
            "points": .array(days.map { (p: Value) -> Value in .object(["time": p["x"]!, "value": p["y"]!]) }),
            "highlights": [["start": days[15]["x"]!, "end": days[16]["x"]!, "label": s(1)]]
        ]
        let e4: Value = [
            "type": "chart", "kind": "line", "title": .string("line " + h), "bucket": "day",
            "series": [["name": s(0), "points": .array(days)], ["name": .string("expected " + hostile[1]), "points": .array(days)]],
            "highlights": [["start": days[15]["x"]!, "end": days[17]["x"]!, "label": s(2)]]
        ]
        let e5: Value = [
            "type": "chart", "kind": "line", "title": .string("hourly " + h),
            "series": [["name": s(4), "points": [["x": s(5), "y": 3], ["x": s(6), "y": 5]]]]
        ]
        let e6: Value = [
            "type": "chart", "kind": "bars", "layout": "panels", "title": .string("panels " + h),
            "series": [
                ["name": s(0), "points": [["x": s(1), "y": 10], ["x": s(2), "y": 5]]],
                ["name": s(3), "points": [["x": s(4), "y": 30], ["x": s(1), "y": 8]]]
            ]
        ]
        let e7: Value = [
            "type": "chart", "kind": "bars", "layout": "grouped", "title": .string("grouped " + h),
            "series": [
                ["name": s(5), "points": [["x": s(6), "y": 10], ["x": s(7), "y": -5]]],
                ["name": s(8), "points": [["x": s(6), "y": 3]]]
            ]
        ]
        let e8: Value = [
            "type": "chart", "kind": "bars", "layout": "stacked", "title": .string("stacked " + h), "unit": "share",
            "series": [
                ["name": s(9), "points": [["x": s(10), "y": 0.6], ["x": s(0), "y": 0.1]]],
                ["name": s(1), "points": [["x": s(10), "y": 0.4], ["x": s(0), "y": 0.9]]]
            ]
        ]
        let e9: Value = [
            "type": "chart", "kind": "graph", "title": .string("graph " + h),
            "nodes": [
                ["id": s(0), "label": s(1), "group": s(2), "value": 5], ["id": s(3), "label": s(4), "group": s(5)],
                ["id": s(6), "label": s(7), "group": s(2)]
            ],
            "edges": [["from": s(0), "to": s(3), "label": s(8)], ["from": s(3), "to": s(6)], ["from": s(6), "to": s(0)]]
        ]
        let finding: Value = [
            "title": .string("Title " + h), "summary": .string("Summary " + h + " 1,234 downloads"),
            "confidence": 0.9, "openQuestions": [.string("Open " + h)],
            "evidence": .array([e0, e1, e2, e3, e4, e5, e6, e7, e8, e9])
        ]
        let hypotheses: Value = [
            [
                "kind": s(0), "project": s(1), "version": s(2), "score": 0.9, "released": "2020-01-02T00:00:00Z",
                "matched": [s(3)], "missing": []
            ],
            [
                "kind": "release", "project": s(4), "version": s(5), "score": 0.2, "released": .null,
                "matched": [s(6)], "missing": [s(7), s(8)]
            ]
        ]
        let second: Value = ["title": .string("Second " + h), "summary": "", "confidence": 0.4]
        let step1: Value = [
            "id": "first", "name": .string("Step " + h), "uses": .string("uses " + h), "status": "succeeded",
            "outputs": .object(["hypotheses": hypotheses]), "findings": .array([finding, second]), "seconds": 0.1
        ]
        let step2: Value = [
            "id": .string("x\"><script>"), "name": .string("Skipped " + h), "uses": "contributors", "status": "skipped",
            "reason": .string("Reason " + h), "outputs": [:], "findings": [], "seconds": 0
        ]
        let step3: Value = [
            "id": "failed", "uses": "segment-split", "status": "failed", "reason": .string("Failure " + h),
            "outputs": [:], "findings": [], "seconds": 0
        ]
        let playbook: Value = [
            "name": .string("Playbook " + h), "file": .string("file " + h), "description": .string("Description " + h),
            "params": .object([hostile[0]: .string(hostile[1]), "n": 3])
        ]
        let run: Value = .object(["playbook": playbook, "steps": .array([step1, step2, step3])])
        let data = try JSONEncoder().encode(run)
        let decoded = try JSONDecoder().decode(RunReport.self, from: data)
        let meta = ReportMetadata(
            casebookVersion: "v " + hostile[0], generatedAt: "2024-01-02T03:04:05Z",
            command: "casebook run " + h + " ``` `", playbookText: "name: " + h + "\n```\n</details>\n",
            playbookSHA256: hostile[1],
            store: StoreInfo(
                eventRows: 3, downloads: 3, firstEvent: 0, lastEvent: 86400,
                sources: [
                    SourceInfo(
                        fingerprint: hostile[1], name: hostile[0], format: hostile[2], index: hostile[3],
                        bytes: 1, lines: 1, downloads: 1, otherRequests: 0, quarantined: 0,
                        firstEvent: 0, lastEvent: 1, ingestedAt: 0)
                ],
                quarantined: [hostile[4]: 2], schemaVersion: 1, location: hostile[5]),
            analyzers: [decoded.steps[0].uses: "Summary " + h])
        return ReportDocument(run: decoded, metadata: meta)
    }
}

/// Runs the markup checker (python3) on a file.
struct MarkupCheck: Decodable {
    var ok: Bool
    var errors: [String]
    var tags: [String: Int]
    var title: String

    static func run(_ mode: String, file: URL) throws -> MarkupCheck {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Fixtures.folder.appendingPathComponent("check_markup.py").path, mode, file.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CheckError("check_markup.py exited with \(p.terminationStatus): \(String(decoding: data, as: UTF8.self))")
        }
        return try JSONDecoder().decode(MarkupCheck.self, from: data)
    }

    static func run(_ mode: String, text: String) throws -> MarkupCheck {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("doc.\(mode)")
        try Data(text.utf8).write(to: file)
        return try run(mode, file: file)
    }
}

struct CheckError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-report-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The text between `start` and the next occurrence of `end` after it.
func section(_ text: String, from start: String, to end: String) -> String {
    guard let a = text.range(of: start) else { return "" }
    let rest = text[a.upperBound...]
    guard let b = rest.range(of: end) else { return String(rest) }
    return String(rest[..<b.lowerBound])
}

/// Number tokens (`1,234`, `52.7%`, `0.56`, `2020-03-04` gives 2020, 03, 04) with grouping commas removed.
func numberTokens(_ text: String) -> [String] {
    let regex = try! Regex(#"\d[\d,]*(?:\.\d+)?"#)
    return text.matches(of: regex).map { String(text[$0.range]).replacingOccurrences(of: ",", with: "") }
        .map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }
}
