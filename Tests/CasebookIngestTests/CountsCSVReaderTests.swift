import CasebookCore
import Foundation
import Testing

@testable import CasebookIngest

@Suite("Counts CSV reader")
struct CountsCSVReaderTests {
    @Test func pythonMajorDailySeries() throws {
        var reader = CountsCSVReader(index: "pypi")
        let outcomes = try LineFeed.run(&reader, fixture: "csv/python-major-daily.csv")
        #expect(outcomes.count == 10)
        #expect(outcomes[0] == .skip)  // header
        #expect(outcomes[9] == .skip)  // a zero count stands for no download
        let events = outcomes.compactMap(\.downloadedEvent)
        #expect(events.count == 8)
        #expect(reader.warnings.isEmpty)
        #expect(events.allSatisfy { $0.project == "flask-login" && $0.index == "pypi" })
        // Hand counts from the fixture.
        let table = ReferenceAggregator.aggregate(AggregateQuery(bucket: .day, dimensions: [.pythonMajor]), over: events)
        let day5 = UTCTime.epoch(year: 2020, month: 3, day: 5)
        #expect(table.total == 110 + 2380 + 12 + 135 + 2411 + 9 + 5871 + 2502)
        #expect(table.rows.filter { $0.bucketStart == day5 }.map(\.values) == [["2"], ["3"]])
        #expect(table.rows.first { $0.bucketStart == day5 }?.downloads == 5871)
        // `null` is unknown.
        #expect(events[2].python == nil && events[2].count == 12)
        #expect(events[0].python == "2" && events[0].pythonMajor == "2" && events[0].pythonMinor == nil)
    }

    @Test func pypistatsCategoryColumnIsIgnoredWithAWarningUnlessMapped() throws {
        var plain = CountsCSVReader()
        let unmapped = try LineFeed.run(&plain, fixture: "csv/pypistats-category.csv").compactMap(\.downloadedEvent)
        #expect(unmapped.count == 5)
        #expect(unmapped.allSatisfy { $0.python == nil })
        #expect(plain.warnings == [.ignoredColumns(["category"], line: 1)])
        #expect(plain.warnings[0].description.contains("column `category` is not a dimension Casebook knows and was ignored"))

        var mapped = CountsCSVReader(dimensionColumns: ["Category": .pythonMajor])
        let events = try LineFeed.run(&mapped, fixture: "csv/pypistats-category.csv").compactMap(\.downloadedEvent)
        #expect(mapped.warnings.isEmpty)
        #expect(events.map(\.pythonMajor) == ["2", "3", nil, "2", "3"])
        #expect(events.map(\.count) == [135, 2411, 9, 5871, 2502])
        #expect(events[3].timestamp == UTCTime.epoch(year: 2020, month: 3, day: 5))
    }

    @Test func quotingHeadersAndDimensions() throws {
        var reader = CountsCSVReader()
        let outcomes = try LineFeed.run(&reader, fixture: "csv/quoted.csv")
        #expect(outcomes.count == 4)
        #expect(outcomes[0] == .skip)
        let e = outcomes.compactMap(\.downloadedEvent)
        #expect(e.count == 3)
        #expect(reader.warnings == [.ignoredColumns(["Notes"], line: 1)])

        #expect(e[0].timestamp == UTCTime.epoch(year: 2020, month: 3, day: 5, hour: 14))
        #expect(e[0].project == "flask-login")
        #expect(e[0].projectDisplay == "Flask_Login")
        #expect(e[0].version == "0.4.1")
        #expect(e[0].fileType == "sdist")
        #expect(e[0].installer == "pip")
        #expect(e[0].distro == "Raspbian GNU/Linux")
        #expect(e[0].python == "2.7")
        #expect(e[0].pythonMinor == "2.7")
        #expect(e[0].ci == false)
        #expect(e[0].count == 1200)

        #expect(e[1].project == "semantic-version")
        #expect(e[1].distro == "Debian \"buster\", 10")
        #expect(e[1].ci == true)
        #expect(e[1].count == 37)

        #expect(e[2].timestamp == UTCTime.epoch(year: 2020, month: 3, day: 5, hour: 15))  // +01:00
        #expect(e[2].project == "markdown")
        #expect(e[2].projectDisplay == "Markdown")
        #expect(e[2].distro == nil)
        #expect(e[2].ci == false)
        #expect(e[2].count == 5)
    }

    @Test func malformedRowsNameTheColumnExpectedAndFound() throws {
        var reader = CountsCSVReader()
        let outcomes = try LineFeed.run(&reader, fixture: "csv/malformed.csv")
        #expect(outcomes.count == 10)
        let reasons = outcomes.map { $0.malformedReason }
        #expect(reasons[1] == "column `count`: expected a whole number of downloads, 0 or more, found \"-3\"")
        #expect(reasons[2] == "column `count`: expected a whole number of downloads, 0 or more, found \"1.5\"")
        #expect(
            reasons[3]
                == "column `timestamp`: expected an ISO 8601 date or time such as 2020-03-05 or 2020-03-05T14:00:00Z, found \"03/05/2020\"")
        #expect(reasons[4] == "expected 4 fields, like the header (timestamp,project,ci,count), found 3 fields")
        #expect(
            reasons[5]
                == "expected a closing quote for the field opened at character 22 (fields cannot span lines: the input is read line by line), found the end of the line"
        )
        #expect(reasons[6] == "column `ci`: expected true, false, 1 or 0, found \"maybe\"")
        #expect(reasons[7] == "expected ',' after the quoted field ending at character 34, found 'x,true,4'")
        #expect(reasons[8] == "column `count`: expected a whole number of downloads, 0 or more, found an empty cell")
        #expect(outcomes[9].downloadedEvent?.count == 7)
    }

    @Test func missingHeaderColumnsRejectEveryLine() throws {
        var reader = CountsCSVReader()
        let outcomes = try LineFeed.run(&reader, fixture: "csv/bad-header.csv")
        #expect(outcomes.count == 3)
        let header = try #require(outcomes[0].malformedReason)
        #expect(
            header
                == "expected a header naming a time column (`timestamp` or `date`) and a count column (`count`, `downloads`, `download_count`), found columns: day, project, n"
        )
        for o in outcomes.dropFirst() {
            #expect(o.malformedReason == "no usable header (line 1): " + header)
        }
        // Naming the columns fixes it.
        var named = CountsCSVReader(timeColumn: "Day", countColumn: "n")
        let events = try LineFeed.run(&named, fixture: "csv/bad-header.csv").compactMap(\.downloadedEvent)
        #expect(events.map(\.count) == [4, 5])
        // An override that is not in the header is reported by its name.
        var wrong = CountsCSVReader(timeColumn: "when")
        #expect(
            LineFeed.one(&wrong, "day,project,count")
                .malformedReason?.hasPrefix("expected a header naming a time column (`when`) and a count column") == true)
        var semicolons = CountsCSVReader()
        #expect(LineFeed.one(&semicolons, "date;project;downloads").malformedReason?.contains("expects commas") == true)
    }

    @Test func headerEdgeCases() {
        var dup = CountsCSVReader()
        #expect(
            LineFeed.one(&dup, "date,project,Project,count").malformedReason
                == "column `project`: expected each column named once, found `project` as columns 2 and 3")
        var bom = CountsCSVReader()
        let outcomes = LineFeed.run(&bom, text: "\u{FEFF}date,downloads\r\n\r\n2020-03-05,3\r\n")
        #expect(outcomes == [.skip, .skip, .download(DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 5), count: 3))])
        var both = CountsCSVReader()
        let e = LineFeed.run(&both, text: "timestamp,date,count\n2020-03-05T10:00:00Z,2020-03-05,1.00\n").compactMap(\.downloadedEvent)
        #expect(e.first?.timestamp == UTCTime.epoch(year: 2020, month: 3, day: 5, hour: 10))
        #expect(e.first?.count == 1)
        #expect(both.warnings == [.ignoredColumns(["date"], line: 1)])
    }

    @Test func mostPrecisePythonColumnWins() {
        var reader = CountsCSVReader()
        let e = LineFeed.run(
            &reader, text: "python,python_major,python_minor,date,count\n2.7.16,2,2.7,2020-03-05,1\n,3,3.8,2020-03-05,1\n,3,,2020-03-05,1\n"
        ).compactMap(\.downloadedEvent)
        #expect(e.map(\.python) == ["2.7.16", "3.8", "3"])
    }

    @Test func allDimensionColumns() throws {
        var reader = CountsCSVReader(index: "piwheels")
        let header =
            "date,count,project,version,filename,file_type,python,implementation,installer,installer_version,distro,distro_version,system,cpu,ci,country,index"
        let row =
            "2020-03-05,2,Flask-Login,,Flask_Login-0.5.0-py2.py3-none-any.whl,,2.7.16,CPython,pip,20.0.2,Raspbian GNU/Linux,10,Linux,armv7l,1,GB,pypi"
        let e = try #require(LineFeed.run(&reader, text: header + "\n" + row + "\n")[1].downloadedEvent)
        #expect(reader.warnings.isEmpty)
        #expect(e.version == "0.5.0")  // from the filename
        #expect(e.fileType == "bdist_wheel")
        #expect(e.pythonTag == "py2.py3")
        #expect(e.implementation == "CPython")
        #expect(e.installerVersion == "20.0.2")
        #expect(e.distroVersion == "10")
        #expect(e.system == "Linux" && e.cpu == "armv7l" && e.ci == true && e.country == "GB")
        #expect(e.index == "pypi")  // the column overrides the reader's index
        #expect(CountsCSVReader.parseCount("+12") == 12)
        #expect(CountsCSVReader.parseCount("1,234") == nil)
        #expect(CountsCSVReader.parseCount("99999999999999999999") == nil)
    }

    @Test func rawClientAddressesNeverPassThrough() throws {
        var plain = CountsCSVReader()
        let outcomes = try LineFeed.run(&plain, fixture: "csv/clients.csv")
        #expect(outcomes[1].downloadedEvent?.client == "c-0123456789abcdef")
        #expect(outcomes[2].downloadedEvent?.client == nil)
        #expect(plain.warnings == [.clientValuesDropped(column: "client")])
        guard case .malformed(_, let kept) = outcomes[3] else {
            Issue.record("expected malformed")
            return
        }
        #expect(kept == "2020-03-05T14:00:00Z,flask-login,-,-1")

        let keyer = ClientKeyer(salt: Array("salt".utf8))
        var keyed = CountsCSVReader(clientKeyer: keyer)
        let keyedOutcomes = try LineFeed.run(&keyed, fixture: "csv/clients.csv")
        #expect(keyedOutcomes[2].downloadedEvent?.client == keyer.key(for: "192.0.2.17"))
        #expect(keyed.warnings.isEmpty)
        guard case .malformed(_, let keyedKept) = keyedOutcomes[3] else {
            Issue.record("expected malformed")
            return
        }
        #expect(keyedKept == "2020-03-05T14:00:00Z,flask-login,\(keyer.key(for: "192.0.2.17")),-1")

        // A line that cannot be split is withheld when the file has a client column.
        var split = CountsCSVReader()
        let withheld = LineFeed.run(&split, text: "timestamp,client,count\n2020-03-05,\"192.0.2.1,1\n")
        guard case .malformed(_, let line) = withheld[1] else {
            Issue.record("expected malformed")
            return
        }
        #expect(!line.contains("192.0.2.1"))
    }
}
