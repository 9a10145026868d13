import CasebookCore
import Foundation

/// One series of the benchmark: regular buckets from `start`, `nil` where there is no data, and
/// the labelled anomaly windows (`nil` for an unlabelled series).
struct Series {
    var id: String
    var family: Family
    var bucket: TimeBucket
    var start: Int64
    var values: [Double?]
    var labels: [Range<Int64>]?

    var end: Int64 { start + Int64(values.count) * bucket.seconds }
    /// The time span of buckets `first...last`.
    func span(_ first: Int, _ last: Int) -> Range<Int64> {
        (start + Int64(first) * bucket.seconds)..<(start + Int64(last + 1) * bucket.seconds)
    }
}

/// Groups of series scored together.
enum Family: String, CaseIterable {
    case tweets, taxi, elb, pypi

    var title: String {
        switch self {
        case .tweets: "NAB Twitter mentions (10)"
        case .taxi: "NAB NYC taxi"
        case .elb: "NAB AWS ELB requests"
        case .pypi: "PyPI daily (pypistats)"
        }
    }
    var labelled: Bool { self != .pypi }
}

struct DataError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The Numenta Anomaly Benchmark's count series (github.com/numenta/NAB, MIT licence): counts
/// per 5 or 30 minutes summed into hours, with the windows of `labels/combined_windows.json`.
enum NAB {
    static let files: [(Family, String)] =
        ["AAPL", "AMZN", "CRM", "CVS", "FB", "GOOG", "IBM", "KO", "PFE", "UPS"].map { (.tweets, "realTweets/Twitter_volume_\($0).csv") }
        + [(.taxi, "realKnownCause/nyc_taxi.csv"), (.elb, "realAWSCloudwatch/elb_request_count_8c0756.csv")]

    static func load(root: URL) throws -> [Series] {
        let labelsURL = root.appendingPathComponent("labels/combined_windows.json")
        guard let labelData = try? Data(contentsOf: labelsURL),
            let labels = try JSONSerialization.jsonObject(with: labelData) as? [String: [[String]]]
        else { throw DataError("cannot read \(labelsURL.path) (run Tests/Benchmarks/fetch-detect-data.sh)") }
        return try files.map { family, file in
            let url = root.appendingPathComponent("data").appendingPathComponent(file)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw DataError("cannot read \(url.path)") }
            var samples: [(Int64, Double)] = []
            for line in text.split(whereSeparator: \.isNewline).dropFirst() {
                let f = line.split(separator: ",")
                guard f.count == 2, let t = UTCTime.parse(f[0]), let v = Double(f[1]) else {
                    throw DataError("\(file): unreadable line \(line)")
                }
                samples.append((t, v))
            }
            guard let windows = labels[file] else { throw DataError("no labels for \(file)") }
            let ranges = try windows.map { w -> Range<Int64> in
                guard w.count == 2, let a = UTCTime.parse(w[0]), let b = UTCTime.parse(w[1]) else {
                    throw DataError("bad label window \(w) for \(file)")
                }
                return floorHour(a)..<(floorHour(b - 1) + 3600)
            }
            let name = (file as NSString).lastPathComponent.replacingOccurrences(of: ".csv", with: "")
            var s = hourly(samples, id: name, family: family)
            s.labels = ranges
            return s
        }
    }

    static func floorHour(_ t: Int64) -> Int64 { t - ((t % 3600) + 3600) % 3600 }

    /// Sums samples into hours. The sampling step is the most common interval; an hour with at
    /// least half its samples is scaled up to a full hour, one with fewer is a gap (`nil`); hours
    /// before the first and after the last full-enough hour are dropped.
    static func hourly(_ samples: [(Int64, Double)], id: String, family: Family) -> Series {
        var steps: [Int64: Int] = [:]
        for (a, b) in zip(samples, samples.dropFirst()) { steps[b.0 - a.0, default: 0] += 1 }
        let step = steps.max { $0.value < $1.value }?.key ?? 3600
        let expected = Double(3600 / max(1, step))
        var sums: [Int64: (sum: Double, n: Int)] = [:]
        for (t, v) in samples {
            sums[floorHour(t), default: (0, 0)].sum += v
            sums[floorHour(t)]!.n += 1
        }
        let full = sums.filter { Double($0.value.n) >= expected / 2 }.keys.sorted()
        guard let first = full.first, let last = full.last else {
            return Series(id: id, family: family, bucket: .hour, start: 0, values: [], labels: nil)
        }
        var values: [Double?] = []
        var h = first
        while h <= last {
            if let s = sums[h], Double(s.n) >= expected / 2 {
                values.append((s.sum * expected / Double(s.n)).rounded())
            } else {
                values.append(nil)
            }
            h += 3600
        }
        return Series(id: id, family: family, bucket: .hour, start: first, values: values, labels: nil)
    }
}

/// The daily series of pypistats' own test fixture (`tests/data/python_minor.py` of
/// github.com/hugovk/pypistats, MIT licence): one package's PyPI downloads per Python minor
/// version, 2018-04-16 to 2018-09-23. Unlabelled: only the windows each detector flags are
/// counted. The total and each minor version with at least one download a day on median (low
/// counts included: a day with 3 downloads where 1 is usual is not a spike).
enum PyPIFixture {
    static func load(file: URL) throws -> [Series] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw DataError("cannot read \(file.path)") }
        var byCategory: [String: [Int64: Double]] = [:]
        var total: [Int64: Double] = [:]
        // Rows like {"category": "2.7", "date": "2018-04-16", "downloads": 17024},
        for line in text.split(whereSeparator: \.isNewline) where line.contains("\"date\"") {
            func field(_ name: String) -> String? {
                guard let r = line.range(of: "\"\(name)\": ") else { return nil }
                let rest = line[r.upperBound...]
                let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
                let value = rest[..<end].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
                return value.isEmpty ? nil : value
            }
            guard let c = field("category"), let d = field("date"), let day = UTCTime.parse(d),
                let n = field("downloads").flatMap(Double.init)
            else { continue }
            byCategory[String(c), default: [:]][day, default: 0] += n
            total[day, default: 0] += n
        }
        guard let first = total.keys.min(), let last = total.keys.max() else { throw DataError("no rows in \(file.path)") }
        func series(_ id: String, _ counts: [Int64: Double]) -> Series {
            // pypistats omits days without downloads: within the span they are zeros.
            let values: [Double?] = stride(from: first, through: last, by: 86400).map { counts[$0] ?? 0 }
            return Series(id: id, family: .pypi, bucket: .day, start: first, values: values, labels: nil)
        }
        var out = [series("total", total)]
        for (c, counts) in byCategory.sorted(by: { $0.key < $1.key }) {
            let s = series("python " + c, counts)
            let sorted = s.values.compactMap { $0 }.sorted()
            if sorted[sorted.count / 2] >= 1 { out.append(s) }
        }
        return out
    }
}
