import CasebookAnalysis
import CasebookCore
import Foundation

/// Public holidays by day, so that spike detection reports a holiday-sized dip on a holiday as
/// expected rather than as an incident.
///
/// The built-in calendar is small on purpose: days on which downloads fall in much of the world,
/// not any one country's list. New Year's Day, Good Friday and Easter Monday (Western Easter,
/// by the Gregorian computus), Labour Day (1 May), US Thanksgiving (the fourth Thursday of
/// November), Christmas Eve, Christmas Day, Boxing Day and New Year's Eve. A CSV `date,name`
/// (one holiday a line, `YYYY-MM-DD`, an optional header, `#` comments) replaces it.
struct HolidayCalendar: Sendable {
    /// Holiday names by the day's start (UTC epoch seconds).
    var names: [Int64: String]

    /// The built-in calendar for the years that `range` touches.
    static func builtIn(years: ClosedRange<Int>) -> HolidayCalendar {
        var names: [Int64: String] = [:]
        for y in years {
            func add(_ m: Int, _ d: Int, _ name: String) { names[UTCTime.epoch(year: y, month: m, day: d)] = name }
            add(1, 1, "New Year's Day")
            let easter = easterSunday(year: y)
            names[easter - 2 * 86400] = "Good Friday"
            names[easter + 86400] = "Easter Monday"
            add(5, 1, "Labour Day")
            // The fourth Thursday of November.
            let first = UTCTime.epoch(year: y, month: 11, day: 1)
            let toThursday = (3 - UTCTime.weekday(first) + 7) % 7
            names[first + Int64(toThursday + 21) * 86400] = "Thanksgiving (US)"
            add(12, 24, "Christmas Eve")
            add(12, 25, "Christmas Day")
            add(12, 26, "Boxing Day")
            add(12, 31, "New Year's Eve")
        }
        return HolidayCalendar(names: names)
    }

    /// Western Easter Sunday of `year` (the anonymous Gregorian computus), as a day's start.
    static func easterSunday(year: Int) -> Int64 {
        let a = year % 19
        let b = year / 100
        let c = year % 100
        let d = b / 4
        let e = b % 4
        let f = (b + 8) / 25
        let g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4
        let k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return UTCTime.epoch(year: year, month: month, day: day)
    }

    /// Reads a `date,name` CSV; every line that is not a date and a name is an error naming it.
    static func read(_ url: URL) throws -> HolidayCalendar {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw AnalyzerError("cannot read the holiday calendar \(url.path): \(error.localizedDescription)")
        }
        var names: [Int64: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if n == 0, fields.first?.lowercased() == "date" { continue }
            guard fields.count == 2, fields[0].count == 10, let day = UTCTime.parse(fields[0]), !fields[1].isEmpty else {
                throw AnalyzerError(
                    "\(url.lastPathComponent):\(n + 1): expected `YYYY-MM-DD,name`, found \"\(line.prefix(80))\"")
            }
            names[TimeBucket.day.start(of: day)] = fields[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return HolidayCalendar(names: names)
    }

    /// The holiday on the day of `time`, if any.
    func name(of time: Int64) -> String? { names[TimeBucket.day.start(of: time)] }
}
