import Foundation
import Testing

@Suite struct ExplainCommandTests {
    /// A counts CSV of 21 days from 1 March 2020: three projects on two Pythons, 100 a day each;
    /// on 19–21 March Python 2 clients fetch `beta` 400 more times a day.
    static func store() throws -> (dir: URL, store: String) {
        let dir = try temporaryDirectory()
        var csv = "date,project,python,downloads\n"
        let start = Date(timeIntervalSince1970: 1_583_020_800)  // 2020-03-01
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        for d in 0..<21 {
            let date = f.string(from: start.addingTimeInterval(Double(d) * 86400))
            for (i, project) in ["alpha", "beta", "gamma"].enumerated() {
                for (j, python) in ["2.7.16", "3.8.2"].enumerated() {
                    var n = 100 + (d * 7 + i * 3 + j) % 5
                    if d >= 18, project == "beta", python == "2.7.16" { n += 400 }
                    csv += "\(date),\(project),\(python),\(n)\n"
                }
            }
        }
        let file = dir.appendingPathComponent("counts.csv")
        try csv.write(to: file, atomically: true, encoding: .utf8)
        let store = dir.appendingPathComponent("s.sqlite").path
        let r = try CLI.run(["ingest", file.path, "--input-format", "csv", "--store", store])
        #expect(r.status == 0, "\(r.stderr)")
        return (dir, store)
    }

    @Test func jsonNamesTheCombination() throws {
        let (dir, store) = try Self.store()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["explain", "--from", "2020-03-19", "--to", "2020-03-22", "--format", "json", "--store", store])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(Set(json.keys) == ["causes", "unexplained"])
        let causes = try #require(json["causes"] as? [[String: Any]])
        #expect(causes.count == 1)
        let cause = try #require(causes.first)
        #expect(Set(cause.keys) == ["pairs", "excess", "share", "surprise"])
        let pairs = try #require(cause["pairs"] as? [String: Any])
        #expect(pairs["project"] as? String == "beta")
        #expect(pairs["python_major"] as? String == "2")
        #expect(pairs.count == 2)
        let excess = try #require(cause["excess"] as? Int)
        #expect(abs(excess - 1200) < 30)
        #expect((cause["share"] as? Double).map { $0 > 0.95 } == true)
        #expect((json["unexplained"] as? Int).map { abs($0) < 60 } == true)

        // The table names the cause; CSV has a row per cause.
        let table = try CLI.run(["explain", "--from", "2020-03-19", "--to", "2020-03-22", "--store", store])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("project = beta × python_major = 2"), "\(table.stdout)")
        let csv = try CLI.run(["explain", "--from", "2020-03-19", "--to", "2020-03-22", "--format", "csv", "--store", store])
        #expect(csv.stdout.split(separator: "\n").count == 2, "\(csv.stdout)")
        #expect(csv.stdout.contains("project=beta;python_major=2"), "\(csv.stdout)")
    }

    @Test func badArgumentsAreExplained() throws {
        let (dir, store) = try Self.store()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["explain", "--from", "2020-03-22", "--to", "2020-03-19", "--store", store])
        #expect(r.status != 0)
        #expect(r.stderr.contains("not before --to"))
        let d = try CLI.run(["explain", "--from", "2020-03-19", "--to", "2020-03-22", "--dimensions", "projekt", "--store", store])
        #expect(d.status != 0)
        #expect(d.stderr.contains("unknown dimension 'projekt'"))
    }
}
