import CasebookCore
import GRDB
import GRDBSQLite

/// A table of the embedded store that can answer aggregate queries: the raw `events`, or one
/// of the rollups (downloads already summed per time bucket and dimension keys).
///
/// Rollups are ordinary tables of the same SQLite file (`sqlite3 casebook.sqlite 'SELECT * FROM
/// rollup_day_file LIMIT 5'`), written by the same transaction that writes the events, so they
/// can never disagree with them: an ingest that is rolled back or killed leaves neither.
/// ``SQLiteQueryBuilder`` picks the smallest table that answers a query exactly.
public enum SQLiteTable: String, CaseIterable, Sendable, Hashable {
    /// Downloads and event rows per UTC hour: totals only (no dimension).
    case hourTotals = "rollup_hour"
    /// Downloads per UTC day and client profile (installer, Python, platform, index, country).
    case dayProfile = "rollup_day_profile"
    /// Downloads per UTC day and file (project, version, filename, file type).
    case dayFile = "rollup_day_file"
    /// Downloads per UTC day, file and profile: every dimension except `client`.
    case dayFileProfile = "rollup_day_file_profile"
    /// One row per stored event: answers everything, including `client` and unaligned ranges.
    case events

    /// The column holding the row's time (an epoch second, or the start of its hour or day).
    var timeColumn: String {
        switch self {
        case .hourTotals: "hour"
        case .dayProfile, .dayFile, .dayFileProfile: "day"
        case .events: "ts"
        }
    }

    /// The column holding the row's downloads.
    var countColumn: String { self == .events ? "count" : "downloads" }

    /// Seconds per time value: queries must align their bucket and range to it.
    var granularity: Int64 {
        switch self {
        case .hourTotals: 3600
        case .dayProfile, .dayFile, .dayFileProfile: 86400
        case .events: 1
        }
    }

    var hasFile: Bool { self == .dayFile || self == .dayFileProfile || self == .events }
    var hasProfile: Bool { self == .dayProfile || self == .dayFileProfile || self == .events }
    var hasClient: Bool { self == .events }

    /// The rollups, smallest first (the planner's order of preference).
    static let rollups: [SQLiteTable] = [.hourTotals, .dayProfile, .dayFile, .dayFileProfile]

    /// `CREATE TABLE` statements of the rollups. Every rollup is keyed by time first, so that an
    /// ingest of a log (in time order) appends to them; queries that filter a few files or
    /// profiles seek them day by day (`day IN (...) AND file_id IN (...)`).
    static let createSQL = """
        CREATE TABLE rollup_hour (
            hour INTEGER PRIMARY KEY, downloads INTEGER NOT NULL, events INTEGER NOT NULL
        );
        CREATE TABLE rollup_day_profile (
            day INTEGER NOT NULL, profile_id INTEGER NOT NULL, downloads INTEGER NOT NULL,
            PRIMARY KEY (day, profile_id)
        ) WITHOUT ROWID;
        CREATE TABLE rollup_day_file (
            day INTEGER NOT NULL, file_id INTEGER NOT NULL, downloads INTEGER NOT NULL,
            PRIMARY KEY (day, file_id)
        ) WITHOUT ROWID;
        CREATE TABLE rollup_day_file_profile (
            day INTEGER NOT NULL, file_id INTEGER NOT NULL, profile_id INTEGER NOT NULL, downloads INTEGER NOT NULL,
            PRIMARY KEY (day, file_id, profile_id)
        ) WITHOUT ROWID;
        """

    /// SQL for the start of the hour or day holding `column` (floor, also before 1970).
    static func floorSQL(_ column: String, _ seconds: Int64) -> String { RollupTable.floorSQL(column, seconds) }
}

/// Building and maintaining the rollups.
enum SQLiteRollup {
    /// Recomputes every rollup from `events` (the migration of stores written before rollups,
    /// and a repair tool: the result must equal what ingest maintained).
    static func rebuild(_ db: Database) throws {
        let hour = SQLiteTable.floorSQL("ts", 3600)
        let day = SQLiteTable.floorSQL("ts", 86400)
        try db.execute(
            sql: """
                DELETE FROM rollup_hour; DELETE FROM rollup_day_profile; DELETE FROM rollup_day_file; DELETE FROM rollup_day_file_profile;
                INSERT INTO rollup_hour (hour, downloads, events) SELECT \(hour) AS h, SUM(count), COUNT(*) FROM events GROUP BY h;
                INSERT INTO rollup_day_profile (day, profile_id, downloads)
                    SELECT \(day) AS d, profile_id, SUM(count) FROM events GROUP BY d, profile_id;
                INSERT INTO rollup_day_file (day, file_id, downloads)
                    SELECT \(day) AS d, file_id, SUM(count) FROM events GROUP BY d, file_id;
                INSERT INTO rollup_day_file_profile (day, file_id, profile_id, downloads)
                    SELECT \(day) AS d, file_id, profile_id, SUM(count) FROM events GROUP BY d, file_id, profile_id;
                """)
    }
}

extension SQLiteRollup {
    /// Recomputes the rollup rows of the days in `[from, to)` (day-aligned epoch seconds) from
    /// the events of those days: after events of those days were removed.
    static func rebuild(_ db: Database, from: Int64, to: Int64) throws {
        let hour = SQLiteTable.floorSQL("ts", 3600)
        let day = SQLiteTable.floorSQL("ts", 86400)
        let range = "ts >= \(from) AND ts < \(to)"
        try db.execute(
            sql: """
                DELETE FROM rollup_hour WHERE hour >= \(from) AND hour < \(to);
                DELETE FROM rollup_day_profile WHERE day >= \(from) AND day < \(to);
                DELETE FROM rollup_day_file WHERE day >= \(from) AND day < \(to);
                DELETE FROM rollup_day_file_profile WHERE day >= \(from) AND day < \(to);
                INSERT INTO rollup_hour (hour, downloads, events) SELECT \(hour) AS h, SUM(count), COUNT(*) FROM events WHERE \(range) GROUP BY h;
                INSERT INTO rollup_day_profile (day, profile_id, downloads)
                    SELECT \(day) AS d, profile_id, SUM(count) FROM events WHERE \(range) GROUP BY d, profile_id;
                INSERT INTO rollup_day_file (day, file_id, downloads)
                    SELECT \(day) AS d, file_id, SUM(count) FROM events WHERE \(range) GROUP BY d, file_id;
                INSERT INTO rollup_day_file_profile (day, file_id, profile_id, downloads)
                    SELECT \(day) AS d, file_id, profile_id, SUM(count) FROM events WHERE \(range) GROUP BY d, file_id, profile_id;
                """)
    }
}

/// Sums one ingest's events per rollup key in memory and adds them to the rollup tables
/// (upserts, inside the ingest's transaction). Flushed when it holds many keys, so memory stays
/// flat however long the log; logs are in time order, so most keys are flushed once.
///
/// Per event it updates one running hour total and one day × file × profile sum; the day × file
/// and day × profile sums are added up from those at flush time (the writer thread is the
/// ingest's bottleneck, so per-event work is kept to one hash lookup).
struct RollupAccumulator {
    private struct HourSum {
        var downloads: Int64
        var events: Int64
    }
    private struct Pair: Hashable, Comparable {
        var a: Int64, b: Int64
        static func < (l: Pair, r: Pair) -> Bool { l.a != r.a ? l.a < r.a : l.b < r.b }
        func hash(into h: inout Hasher) { h.combine(UInt64(bitPattern: a) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: b)) }
    }
    /// Day, file and profile, hashed as one word.
    private struct Triple: Hashable, Comparable {
        var file: Int64, day: Int64, profile: Int64
        static func < (l: Triple, r: Triple) -> Bool {
            l.day != r.day ? l.day < r.day : l.file != r.file ? l.file < r.file : l.profile < r.profile
        }
        func hash(into h: inout Hasher) {
            h.combine(
                UInt64(bitPattern: file) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: day) &* 0xC2B2_AE3D_27D4_EB4F
                    ^ UInt64(bitPattern: profile))
        }
    }

    private var hours: [Int64: HourSum] = [:]
    private var sums: [Triple: Int64] = [:]
    /// The running total of the current hour (events arrive in time order, mostly).
    private var primed = false
    private var hour: Int64 = 0
    private var day: Int64 = 0
    private var hourSum = HourSum(downloads: 0, events: 0)

    /// Keys held before a flush (a few days of a busy index; about 5 MB, so the sums stay in
    /// the CPU's caches).
    static let defaultFlushThreshold = 40_000
    private let flushThreshold: Int

    init(flushThreshold: Int = RollupAccumulator.defaultFlushThreshold) {
        self.flushThreshold = max(1, flushThreshold)
    }

    var needsFlush: Bool { sums.count >= flushThreshold }

    @inline(__always)
    mutating func add(ts: Int64, file: Int64, profile: Int64, count: Int64) {
        if !primed || ts < hour || ts >= hour + 3600 {
            closeHour()
            hour = TimeBucket.hour.start(of: ts)
            day = TimeBucket.day.start(of: ts)
            primed = true
        }
        hourSum.downloads += count
        hourSum.events += 1
        sums[Triple(file: file, day: day, profile: profile), default: 0] += count
    }

    private mutating func closeHour() {
        guard primed, hourSum.events > 0 else { return }
        hours[hour, default: HourSum(downloads: 0, events: 0)].downloads += hourSum.downloads
        hours[hour]!.events += hourSum.events
        hourSum = HourSum(downloads: 0, events: 0)
    }

    /// Adds the sums to the tables and empties the accumulator. Rows go in key order (a B-tree
    /// takes sorted keys about three times faster than shuffled ones), in upserts of up to 64
    /// rows each.
    mutating func flush(_ db: Database) throws {
        closeHour()
        if hours.isEmpty { return }
        var hourRows: [Int64] = []
        for (h, s) in hours.sorted(by: { $0.key < $1.key }) {
            hourRows.append(h)
            hourRows.append(s.downloads)
            hourRows.append(s.events)
        }
        try Self.upsert(db, table: "rollup_hour", columns: ["hour", "downloads", "events"], key: 1, values: hourRows)
        // Sorted by (day, file, profile): each day × file sum is a run of consecutive keys.
        var all: [Int64] = []
        var dayFileRows: [Int64] = []
        var dayProfile: [Pair: Int64] = [:]
        all.reserveCapacity(sums.count * 4)
        var run = (day: Int64.min, file: Int64.min, sum: Int64(0))
        for (k, n) in sums.sorted(by: { $0.key < $1.key }) {
            all.append(k.day)
            all.append(k.file)
            all.append(k.profile)
            all.append(n)
            if k.day == run.day && k.file == run.file {
                run.sum += n
            } else {
                if run.day != .min {
                    dayFileRows.append(run.day)
                    dayFileRows.append(run.file)
                    dayFileRows.append(run.sum)
                }
                run = (k.day, k.file, n)
            }
            dayProfile[Pair(a: k.day, b: k.profile), default: 0] += n
        }
        if run.day != .min {
            dayFileRows.append(run.day)
            dayFileRows.append(run.file)
            dayFileRows.append(run.sum)
        }
        try Self.upsert(db, table: "rollup_day_file", columns: ["day", "file_id", "downloads"], key: 2, values: dayFileRows)
        var rows: [Int64] = []
        rows.reserveCapacity(dayProfile.count * 3)
        for (k, n) in dayProfile.sorted(by: { $0.key < $1.key }) {
            rows.append(k.a)
            rows.append(k.b)
            rows.append(n)
        }
        try Self.upsert(db, table: "rollup_day_profile", columns: ["day", "profile_id", "downloads"], key: 2, values: rows)
        try Self.upsert(db, table: "rollup_day_file_profile", columns: ["day", "file_id", "profile_id", "downloads"], key: 3, values: all)
        hours.removeAll(keepingCapacity: true)
        sums.removeAll(keepingCapacity: true)
    }

    /// Adds `values` (rows of `columns.count` integers, the first `key` of them the primary key,
    /// the others sums) to `table`: inserted, or added to the row already there.
    private static func upsert(_ db: Database, table: String, columns: [String], key: Int, values: [Int64]) throws {
        let width = columns.count
        let perStatement = 64
        let total = values.count / width
        func sql(_ n: Int) -> String {
            let row = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
            let updates = columns[key...].map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", ")
            return
                "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES \(Array(repeating: row, count: n).joined(separator: ", ")) "
                + "ON CONFLICT (\(columns[..<key].joined(separator: ", "))) DO UPDATE SET \(updates)"
        }
        var offset = 0
        while offset < total {
            let n = min(perStatement, total - offset)
            let s = try db.cachedStatement(sql: sql(n)).sqliteStatement
            sqlite3_reset(s)
            for i in 0..<(n * width) { sqlite3_bind_int64(s, Int32(i + 1), values[offset * width + i]) }
            let rc = sqlite3_step(s)
            guard rc == SQLITE_DONE else {
                throw SQLiteStoreError("rollup update failed: \(String(cString: sqlite3_errmsg(sqlite3_db_handle(s))))")
            }
            offset += n
        }
    }

}
