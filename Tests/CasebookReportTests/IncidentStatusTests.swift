import CasebookAnalysis
import CasebookCore
import Foundation
import Testing

@testable import CasebookReport

/// A report `casebook watch` writes about an incident says whether it is still open, in every
/// format, and keeps the state in `report.json`.
@Suite struct IncidentStatusTests {
    static func status(open: Bool) -> IncidentStatus {
        IncidentStatus(
            state: open ? "opened" : "closed", open: open, windowStart: "2001-02-03T04:00:00Z", windowEnd: "2001-02-03T07:00:00Z",
            direction: "up", asOf: "2001-02-03T08:00:00Z", sentence: "As of 2001-02-03T08:00:00Z <b>")
    }

    @Test func anOpenIncidentSaysStillOpen() throws {
        var document = try Fixtures.hostileDocument()
        document.metadata.incident = Self.status(open: true)
        let html = HTMLRenderer().render(document)
        #expect(html.contains("<strong>Still open</strong> · As of 2001-02-03T08:00:00Z &lt;b&gt;"))
        #expect(MarkdownRenderer().render(document).markdown.contains("> **Still open** · As of"))
        let reloaded = try ReportDocument.load(json: try document.jsonData())
        #expect(reloaded.metadata.incident == document.metadata.incident)
    }

    @Test func aClosedIncidentSaysClosedAndOtherReportsSayNothing() throws {
        var document = try Fixtures.hostileDocument()
        #expect(!HTMLRenderer().render(document).contains("<strong>Still open</strong>"))
        #expect(!String(decoding: try document.jsonData(), as: UTF8.self).contains("\"incident\""))
        document.metadata.incident = Self.status(open: false)
        #expect(HTMLRenderer().render(document).contains("<strong>Closed</strong>"))
        #expect(!MarkdownRenderer().render(document).markdown.contains("**Still open**"))
    }
}
