import CasebookAnalysis
import CasebookCore
import Foundation
import Testing

/// Issue 20 (ingest side): inputs that used to get stuck, be lost or garble messages.
@Suite struct HardeningTests {
    let example = packageRoot.appendingPathComponent("examples/logs/access.log").path

    @Test func aCSVWithoutACountColumnFailsBeforeAnythingIsRecordedAndCanBeRetried() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let csv = dir.appendingPathComponent("f.csv").path
        try "date,project,pkgs\n2020-03-05,Flask-Login,3\n2020-03-06,Flask-Login,4\n2020-03-06,markdown,5\n".write(
            toFile: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(["ingest", csv, "--input-format", "csv", "--store", store])
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty, "\(r.stdout)")
        #expect(r.stderr.contains("f.csv:1: the CSV header cannot be used"), "\(r.stderr)")
        #expect(r.stderr.contains("`count`, `downloads`, `download_count`"), "\(r.stderr)")
        #expect(r.stderr.contains("found columns: date, project, pkgs"), "\(r.stderr)")
        #expect(r.stderr.contains("--count-column"))
        let sources = try CLI.run(["sources", "--store", store])
        #expect(sources.status == 0, "\(sources.stderr)")
        #expect(sources.stdout.contains("no sources"), "\(sources.stdout)")
        let retry = try CLI.run(["ingest", csv, "--count-column", "pkgs", "--store", store])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout.contains("4 lines, 12 downloads stored"), "\(retry.stdout)")
    }

    @Test func aFileWhoseEveryLineFailedIsNotRecorded() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let log = dir.appendingPathComponent("junk.log").path
        try "not a log line\nneither is this\n".write(toFile: log, atomically: true, encoding: .utf8)
        let r = try CLI.run(["ingest", log, "--input-format", "combined", "--store", store])
        #expect(r.status != 0)
        #expect(r.stderr.contains("junk.log: none of its lines could be read (2 malformed; the first, line 1:"), "\(r.stderr)")
        #expect(try CLI.run(["sources", "--store", store]).stdout.contains("no sources"))
        let info = try CLI.run(["info", "--store", store])
        #expect(info.stdout.contains("quarantined lines: 0"), "\(info.stdout)")
    }

    @Test func sourcesAreListedWithIdsAndRemovedWithTheirEvents() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let csv = dir.appendingPathComponent("counts.csv").path
        try "date,project,downloads\n2020-03-05,flask-login,100\n2020-03-07,markdown,7\n".write(
            toFile: csv, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["ingest", example, csv, "--store", store]).status == 0)
        let list = try CLI.run(["sources", "--store", store])
        let lines = list.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(list.stdout)")
        #expect(lines[0].hasPrefix("1  access.log  [combined]"), "\(list.stdout)")
        #expect(lines[0].contains("12 downloads, 2019-03-18–2020-03-06, fingerprint "), "\(list.stdout)")
        #expect(lines[1].hasPrefix("2  counts.csv  [csv]  3 lines, 107 downloads"), "\(list.stdout)")

        let removed = try CLI.run(["sources", "remove", "1", "--store", store])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.stdout.contains("removed source 1: access.log [combined]"), "\(removed.stdout)")
        let days = try CLI.run(["query", "--by", "day", "--format", "csv", "--store", store])
        #expect(days.stdout == "day,downloads\n2020-03-05,100\n2020-03-07,7\n")
        let info = try CLI.run(["info", "--store", store])
        #expect(info.stdout.contains("downloads: 107 in 2 event rows"), "\(info.stdout)")
        #expect(info.stdout.contains("quarantined lines: 0"), "\(info.stdout)")
        #expect(!info.stdout.contains("other requests"), "\(info.stdout)")
        // The file is a new source again.
        let again = try CLI.run(["ingest", example, "--store", store])
        #expect(again.stdout.contains("12 downloads stored"), "\(again.stdout)")

        let missing = try CLI.run(["sources", "remove", "9", "--store", store])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no source with id 9"), "\(missing.stderr)")
        #expect(missing.stderr.contains("its sources are 2, 3"), "\(missing.stderr)")
    }

    @Test func anEmptyFileIsEmptyNotAlreadyIngested() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let empty = dir.appendingPathComponent("empty.log").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        let r = try CLI.run(["ingest", empty, "--store", store])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "\(empty): empty, nothing to ingest\n")
        #expect(try CLI.run(["sources", "--store", store]).stdout.contains("no sources"))
    }

    @Test func binaryInputIsEscapedInErrors() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let bin = dir.appendingPathComponent("blob.bin").path
        FileManager.default.createFile(
            atPath: bin, contents: Data([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00, 0xFF, 0xFE, 0x1B, 0x5B, 0x32, 0x4A, 0x0A]))
        let r = try CLI.run(["ingest", bin, "--store", store])
        #expect(r.status != 0)
        #expect(r.stderr.contains("cannot recognise the input format"), "\(r.stderr)")
        #expect(r.stderr.contains(#"found '\x7FELF\x02\x01\x00\x00\xFF\xFE\x1B[2J'"#), "\(r.stderr)")
        #expect(!r.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(r.stderr)")
        #expect(!r.stderr.contains("\u{FFFD}"))
    }

    @Test func theSummaryNamesReasonsReadably() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let csv = dir.appendingPathComponent("f.csv").path
        try "timestamp,project,count\n2020-03-05,flask,3\nyesterday,flask,2\nlast week,flask,1\n2020-03-06,flask,x\n"
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(["ingest", csv, "--store", store])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains(
                "5 lines, 3 downloads stored, 3 malformed lines kept aside ("
                    + "2 × column `timestamp`: expected an ISO 8601 date or time such as 2020-03-05 or 2020-03-05T14:00:00Z; "
                    + "1 × column `count`: expected a whole number of downloads, 0 or more)"), "\(r.stdout)")
    }

    @Test func projectOptionAndWarningsForUnknownColumns() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let series = dir.appendingPathComponent("flask-login.csv").path
        try "date,downloads,notes,origin\n2020-03-04,135,,x\n2020-03-05,5871,spike,x\n".write(
            toFile: series, atomically: true, encoding: .utf8)
        let r = try CLI.run(["ingest", series, "--project", "Flask_Login", "--store", store])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("6006 downloads stored"), "\(r.stdout)")
        #expect(
            r.stderr.contains(
                "warning: \(series): line 1: columns `notes`, `origin` are not dimensions Casebook knows and were ignored (known: "),
            "\(r.stderr)")
        let q = try CLI.run(["query", "--by", "day,project", "--format", "csv", "--store", store])
        #expect(q.stdout == "day,project,downloads\n2020-03-04,flask-login,135\n2020-03-05,flask-login,5871\n", "\(q.stdout)")

        let withColumn = dir.appendingPathComponent("projects.csv").path
        try "date,project,downloads\n2020-03-04,markdown,1\n".write(toFile: withColumn, atomically: true, encoding: .utf8)
        let e = try CLI.run(["ingest", withColumn, "--project", "flask-login", "--store", store])
        #expect(e.status != 0)
        #expect(
            e.stderr.contains(
                "projects.csv:1: the CSV header cannot be used: column `project`: expected no project column, since a project was given for every row (--project is for files without one)"
            ), "\(e.stderr)")
        let log = try CLI.run(["ingest", example, "--project", "flask-login", "--store", store])
        #expect(log.status != 0)
        #expect(log.stderr.contains("--project flask-login is for CSV files of counts"), "\(log.stderr)")
    }

    @Test func pypistatsMirrorCategoriesAreNotDoubleCounted() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        let csv = dir.appendingPathComponent("overall.csv").path
        try "category,date,downloads\nwith_mirrors,2020-03-05,8410\nwithout_mirrors,2020-03-05,8333\nwith_mirrors,2020-03-06,10\n"
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(["ingest", csv, "--project", "flask-login", "--store", store])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("8420 downloads stored"), "\(r.stdout)")
        #expect(r.stderr.contains("1 `with_mirrors` row (the first on line 4) had no `without_mirrors` row"), "\(r.stderr)")
        let q = try CLI.run(["query", "--by", "day,installer", "--format", "csv", "--store", store])
        #expect(q.stdout == "day,installer,downloads\n2020-03-05,,8333\n2020-03-05,bandersnatch,77\n2020-03-06,,10\n", "\(q.stdout)")
    }

    @Test func parsePrintsHeldMirrorRowsAtTheEnd() throws {
        let r = try CLI.run(
            ["parse", "--input-format", "csv"], stdin: "category,date,downloads\nwith_mirrors,2020-03-05,10\nwithout_mirrors,2020-03-05,8\n"
        )
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 5, "\(r.stdout)")
        #expect(lines[3].contains("\"count\":8"), "\(r.stdout)")
        #expect(lines[4].contains("\"bandersnatch\"") && lines[4].contains("\"count\":2"), "\(r.stdout)")
    }
}
