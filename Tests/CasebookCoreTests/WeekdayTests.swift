import CasebookCore
import Testing

@Suite struct WeekdayTests {
    @Test func weekdaysAreMondayFirstInUTC() {
        // Monday 2020-03-02 … Sunday 2020-03-08, at any time of the day.
        for d in 0..<7 {
            #expect(UTCTime.weekday(UTCTime.epoch(year: 2020, month: 3, day: 2 + d, hour: 23, minute: 59)) == d)
        }
        #expect(UTCTime.weekday(0) == 3)  // Thursday 1970-01-01
        #expect(UTCTime.weekday(-1) == 2)  // Wednesday 1969-12-31, one second before
        #expect(UTCTime.isWeekend(UTCTime.epoch(year: 2020, month: 3, day: 7)))
        #expect(!UTCTime.isWeekend(UTCTime.epoch(year: 2020, month: 3, day: 6, hour: 23)))
    }
}
