import Foundation

/// UTC calendar arithmetic without `Calendar` or `DateFormatter`: fast, and the same everywhere.
public enum UTCTime {
    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// (year, month, day) for days since 1970-01-01.
    public static func civilFromDays(_ z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    /// Days in a month of the proleptic Gregorian calendar (`month` 1...12).
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Why `text` (starting `YYYY-MM-DD`) names no day, such as `2020-02-30`, or `nil` when its
    /// date part is a real day or it does not start with a date at all. For error messages.
    public static func impossibleDate(_ text: some StringProtocol) -> String? {
        let s = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        guard s.count >= 10, s[4] == 45, s[7] == 45,
            let y = Int(String(decoding: s[0..<4], as: UTF8.self)),
            let m = Int(String(decoding: s[5..<7], as: UTF8.self)),
            let d = Int(String(decoding: s[8..<10], as: UTF8.self))
        else { return nil }
        let names = [
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"
        ]
        guard (1...12).contains(m) else { return "there is no month \(m) (months are 01 to 12)" }
        let days = daysInMonth(year: y, month: m)
        guard (1...days).contains(d) else { return "there is no day \(d) in \(names[m - 1]) \(y) (it has \(days) days)" }
        return nil
    }

    /// Epoch seconds for a UTC date and time.
    public static func epoch(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> Int64 {
        daysFromCivil(year: year, month: month, day: day) * 86400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// The day of the week of a UTC time: 0 = Monday … 6 = Sunday (ISO order).
    /// `UTCTime.weekday(UTCTime.epoch(year: 2020, month: 3, day: 7)) == 5` (a Saturday).
    public static func weekday(_ epoch: Int64) -> Int {
        Int(((floorDiv(epoch, 86400) + 3) % 7 + 7) % 7)  // 1970-01-01 was a Thursday
    }

    /// Saturday or Sunday, UTC.
    public static func isWeekend(_ epoch: Int64) -> Bool { weekday(epoch) >= 5 }

    /// `2020-03-05`.
    public static func dateString(_ epoch: Int64) -> String {
        let (y, m, d) = civilFromDays(floorDiv(epoch, 86400))
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    /// `2020-03-05T14:03:11Z`.
    public static func isoString(_ epoch: Int64) -> String {
        let days = floorDiv(epoch, 86400)
        let secs = Int(epoch - days * 86400)
        let (y, m, d) = civilFromDays(days)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }

    /// `2020-03-05 14:03:11 UTC` (BigQuery's timestamp text).
    public static func bigQueryString(_ epoch: Int64) -> String {
        let days = floorDiv(epoch, 86400)
        let secs = Int(epoch - days * 86400)
        let (y, m, d) = civilFromDays(days)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d UTC", y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }

    /// Parses ISO 8601 dates and times as users and exports write them:
    /// `2020-03-05`, `2020-03-05T14:03`, `2020-03-05T14:03:11Z`, `2020-03-05 14:03:11 UTC`,
    /// `2020-03-05T14:03:11.123+01:00`. A time without zone is UTC.
    public static func parse(_ text: some StringProtocol) -> Int64? {
        let s = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        func num(_ a: Int, _ n: Int) -> Int? {
            guard a + n <= s.count else { return nil }
            var v = 0
            for i in a..<(a + n) {
                guard s[i] >= 48 && s[i] <= 57 else { return nil }
                v = v * 10 + Int(s[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), s.count >= 10, s[4] == 45, let mo = num(5, 2), s[7] == 45, let d = num(8, 2),
            (1...12).contains(mo), d >= 1, d <= daysInMonth(year: y, month: mo)
        else { return nil }
        var i = 10
        var hh = 0
        var mm = 0
        var ss = 0
        if i < s.count, s[i] == 84 || s[i] == 116 || s[i] == 32 {
            i += 1
            guard let h = num(i, 2), i + 2 < s.count, s[i + 2] == 58, let m = num(i + 3, 2) else { return nil }
            hh = h
            mm = m
            i += 5
            if i < s.count, s[i] == 58 {
                guard let sec = num(i + 1, 2) else { return nil }
                ss = sec
                i += 3
                if i < s.count, s[i] == 46 || s[i] == 44 {
                    i += 1
                    while i < s.count, s[i] >= 48 && s[i] <= 57 { i += 1 }
                }
            }
            guard hh < 24, mm < 60, ss < 61 else { return nil }
        }
        var offset = 0
        while i < s.count, s[i] == 32 { i += 1 }
        if i < s.count {
            let rest = String(decoding: s[i...], as: UTF8.self)
            if rest == "Z" || rest == "z" || rest == "UTC" || rest == "+00:00" || rest == "GMT" {
                offset = 0
            } else if s[i] == 43 || s[i] == 45 {
                let sign = s[i] == 43 ? 1 : -1
                guard let oh = num(i + 1, 2) else { return nil }
                var om = 0
                if i + 3 < s.count {
                    let j = s[i + 3] == 58 ? i + 4 : i + 3
                    guard let v = num(j, 2), j + 2 == s.count else { return nil }
                    om = v
                } else if i + 3 != s.count {
                    return nil
                }
                offset = sign * (oh * 3600 + om * 60)
            } else {
                return nil
            }
        }
        return epoch(year: y, month: mo, day: d, hour: hh, minute: mm, second: ss) - Int64(offset)
    }
}
