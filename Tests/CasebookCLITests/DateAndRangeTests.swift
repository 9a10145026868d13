import CasebookAnalysis
import Foundation
import Testing

/// Impossible dates, empty ranges and out-of-range parameters are errors, not silent answers.
@Suite struct DateAndRangeTests {
    static func store() throws -> String {
        let store = try temporaryDirectory().appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", packageRoot.appendingPathComponent("examples/logs/access.log").path, "--store", store])
        return store
    }

    @Test func impossibleQueryDatesAreErrors() throws {
        let store = try Self.store()
        let r = try CLI.run(["query", "--by", "day", "--from", "2020-02-30", "--store", store])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--from '2020-02-30': there is no day 30 in February 2020 (it has 29 days)"), "\(r.stderr)")
        let to = try CLI.run(["query", "--by", "day", "--to", "2019-02-29T10:00", "--store", store])
        #expect(to.status != 0)
        #expect(to.stderr.contains("there is no day 29 in February 2019"), "\(to.stderr)")
    }

    @Test func fromNotBeforeToIsAnError() throws {
        let store = try Self.store()
        for (from, to) in [("2020-03-05", "2020-03-05"), ("2020-03-06", "2020-03-05"), ("2020-03-05T12:00:00Z", "2020-03-05T11:00:00Z")] {
            let r = try CLI.run(["query", "--by", "day", "--from", from, "--to", to, "--store", store])
            #expect(r.status != 0, "\(from) \(to)")
            #expect(r.stderr.contains("is not before --to"), "\(r.stderr)")
            #expect(!r.stdout.contains("no downloads match"))
        }
        let ok = try CLI.run(["query", "--by", "day", "--from", "2020-03-05", "--to", "2020-03-06", "--format", "csv", "--store", store])
        #expect(ok.stdout == "day,downloads\n2020-03-05,5\n")
    }

    @Test func parameterRangesAreChecked() throws {
        let store = try Self.store()
        let playbook = packageRoot.appendingPathComponent("playbooks/downloads-spike.yaml").path
        let out = try temporaryDirectory().path
        for (set, fragment) in [
            ("threshold=-5", "parameter `threshold`: -5 is out of range: expected from 0.5 to 100"),
            ("baseline_days=0", "parameter `baseline_days`: 0 is out of range: expected from 1 to 366"),
            ("lookback_days=-1", "parameter `lookback_days`: -1 is out of range")
        ] {
            let r = try CLI.run(["run", playbook, "--store", store, "--set", set, "--out", out, "--quiet"])
            #expect(r.status == 1, "\(set): \(r.stderr)")
            #expect(r.stderr.contains(fragment), "\(set): \(r.stderr)")
        }
    }

    @Test func readersRejectImpossibleDates() throws {
        let combined = try CLI.run(
            ["parse", "--input-format", "combined"],
            stdin: """
                192.0.2.1 - - [30/Feb/2020:10:00:00 +0000] "GET /simple/a/a-1.0.tar.gz HTTP/1.1" 200 5 "-" "pip/20.0.2"
                192.0.2.1 - - [29/Feb/2020:10:00:00 +0000] "GET /simple/a/a-1.0.tar.gz HTTP/1.1" 200 5 "-" "pip/20.0.2"

                """)
        let lines = combined.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.contains("\"malformed\"") == true, "\(combined.stdout)")
        #expect(lines.last?.contains("2020-02-29 10:00:00 UTC") == true, "\(combined.stdout)")
        let bq = try CLI.run(
            ["parse", "--input-format", "bigquery"],
            stdin: """
                {"timestamp": "2020-02-30 10:00:00 UTC", "country_code": "DE", "url": "/packages/a-1.0.tar.gz", "file": {"filename": "a-1.0.tar.gz", "project": "a", "version": "1.0", "type": "sdist"}}

                """)
        #expect(bq.stdout.contains("\"malformed\""), "\(bq.stdout)")
    }

    @Test func csvTimestampsMustBeRealDays() throws {
        let dir = try temporaryDirectory()
        let csv = dir.appendingPathComponent("counts.csv")
        try "date,project,downloads\n2020-02-29,a,5\n2020-02-30,a,7\n2020-04-31,a,9\n".write(to: csv, atomically: true, encoding: .utf8)
        let store = dir.appendingPathComponent("s.sqlite").path
        let r = try CLI.run(["ingest", csv.path, "--store", store])
        #expect(r.status == 0, "\(r.stderr)")
        let q = try CLI.run(["query", "--by", "day", "--format", "csv", "--store", store])
        #expect(q.stdout == "day,downloads\n2020-02-29,5\n", "\(q.stdout)")
        let info = try CLI.run(["info", "--store", store])
        #expect(info.stdout.contains("quarantined lines: 2"), "\(info.stdout)")
    }
}
