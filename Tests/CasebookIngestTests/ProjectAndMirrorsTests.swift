import CasebookCore
import Foundation
import Testing

@testable import CasebookIngest

/// `ingest --project` for pypistats' per-project exports, and `pypistats overall`'s overlapping
/// `with_mirrors`/`without_mirrors` rows, which used to be summed (counting direct downloads twice).
@Suite struct ProjectAndMirrorsTests {
    @Test func projectGivesEveryRowItsProject() throws {
        var reader = CountsCSVReader(project: "Flask_Login")
        let outcomes = LineFeed.run(&reader, text: "date,downloads\n2020-03-04,135\n2020-03-05,5871\n")
        let events = outcomes.compactMap(\.downloadedEvent)
        #expect(events.count == 2)
        #expect(events.allSatisfy { $0.project == "flask-login" && $0.projectDisplay == "Flask_Login" })
        #expect(reader.warnings.isEmpty)
    }

    @Test func projectIsAnErrorWhenTheFileHasAProjectColumn() throws {
        let reader = CountsCSVReader(project: "flask-login")
        #expect(throws: CountsCSVError.self) { try reader.checkHeader(line: Array("date,project,downloads".utf8), number: 1) }
        let error = #expect(throws: CountsCSVError.self) { try reader.checkHeader(line: Array("date,Project,downloads".utf8), number: 1) }
        #expect(
            try #require(error).description
                == "column `Project`: expected no project column, since a project was given for every row (--project is for files without one), found a project column (the file names its projects itself)"
        )
        // Without --project the same header is fine.
        try CountsCSVReader().checkHeader(line: Array("date,project,downloads".utf8), number: 1)
    }

    @Test func pypistatsOverallMirrorRowsAreSplitNotSummed() throws {
        var reader = CountsCSVReader(index: "pypi", project: "Flask-Login")
        let outcomes = try LineFeed.run(&reader, fixture: "csv/pypistats-overall-mirrors.csv")
        #expect(outcomes.allSatisfy { $0 == .skip })  // held until the end
        let events = reader.finish().compactMap(\.downloadedEvent)
        #expect(reader.warnings.isEmpty)
        let withMirrors: Int64 = 2480 + 8410 + 2250
        #expect(events.reduce(0) { $0 + $1.count } == withMirrors)
        let byInstaller = ReferenceAggregator.aggregate(AggregateQuery(bucket: .day, dimensions: [.installer]), over: events)
        let day5 = UTCTime.epoch(year: 2020, month: 3, day: 5)
        #expect(
            byInstaller.rows.filter { $0.bucketStart == day5 }.map { "\($0.values[0] ?? "-")=\($0.downloads)" } == [
                "-=8333", "bandersnatch=77"
            ])
        #expect(events.allSatisfy { $0.project == "flask-login" && $0.index == "pypi" })
        // Reading again starts afresh.
        #expect(reader.finish().isEmpty)
    }

    @Test func unpairedInconsistentAndTotalRowsAreStoredOrSkippedWithWarnings() throws {
        var reader = CountsCSVReader()
        let text = """
            category,date,project,downloads
            with_mirrors,2020-03-04,markdown,100
            without_mirrors,2020-03-04,markdown,90
            with_mirrors,2020-03-05,markdown,50
            without_mirrors,2020-03-06,markdown,20
            with_mirrors,2020-03-07,markdown,5
            without_mirrors,2020-03-07,markdown,7
            without_mirrors,2020-03-04,flask,3
            Total,2020-03-04,markdown,190
            """
        let outcomes = LineFeed.run(&reader, text: text)
        #expect(outcomes.allSatisfy { $0 == .skip })
        let events = reader.finish().compactMap(\.downloadedEvent)
        let summary = events.map { "\(UTCTime.dateString($0.timestamp)) \($0.project ?? "-") \($0.installer ?? "-") \($0.count)" }
        #expect(
            summary == [
                "2020-03-04 markdown - 90", "2020-03-04 markdown bandersnatch 10",
                "2020-03-05 markdown - 50", "2020-03-06 markdown - 20", "2020-03-07 markdown - 7", "2020-03-04 flask - 3"
            ])
        #expect(
            reader.warnings == [
                .mirrorRowUnpaired(category: "with_mirrors", rows: 1, firstLine: 4),
                .mirrorRowUnpaired(category: "without_mirrors", rows: 2, firstLine: 5),
                .mirrorCountsInconsistent(rows: 1, firstLine: 6),
                .totalRowsSkipped(rows: 1, firstLine: 9)
            ])
        #expect(
            reader.warnings[0].description
                == "1 `with_mirrors` row (the first on line 4) had no `without_mirrors` row for the same date and values and was stored as it is (mirror downloads included, not told apart)"
        )
    }

    @Test func otherCategoryValuesAreIgnoredWithAWarning() throws {
        var reader = CountsCSVReader()
        let events = try LineFeed.run(&reader, fixture: "csv/pypistats-category.csv").compactMap(\.downloadedEvent)
        #expect(events.count == 5)
        #expect(reader.finish().isEmpty)
        #expect(reader.warnings == [.ignoredColumns(["category"], line: 1)])
        #expect(
            reader.warnings[0].description.hasPrefix(
                "line 1: column `category` is not a dimension Casebook knows and was ignored (known: project, version,"))
    }
}
