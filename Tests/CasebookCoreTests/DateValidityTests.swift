import CasebookCore
import Testing

@Suite struct DateValidityTests {
    @Test(arguments: [
        "2020-02-30", "2019-02-29", "2020-04-31", "1900-02-29", "2020-13-01", "2020-00-10", "2020-06-00",
        "2020-02-30T12:00:00Z", "2021-09-31 10:00:00 UTC"
    ])
    func impossibleDatesAreRejectedNotRolledOver(text: String) {
        #expect(UTCTime.parse(text) == nil, "\(text) must not become another day")
        #expect(UTCTime.impossibleDate(text) != nil)
    }

    @Test(arguments: ["2020-02-29", "2000-02-29", "2020-04-30", "2020-12-31T23:59:59Z", "2019-02-28"])
    func realDatesStillParse(text: String) {
        #expect(UTCTime.parse(text) != nil)
        #expect(UTCTime.impossibleDate(text) == nil)
    }

    @Test func messagesSayWhy() {
        #expect(UTCTime.impossibleDate("2020-02-30") == "there is no day 30 in February 2020 (it has 29 days)")
        #expect(UTCTime.impossibleDate("2020-13-01") == "there is no month 13 (months are 01 to 12)")
        #expect(UTCTime.parse("2020-02-29").map(UTCTime.dateString) == "2020-02-29")
    }
}
