/// The rollup tables Casebook's stores keep beside their events: downloads already summed per
/// hour, and per UTC day and file and/or client profile, maintained by each ingest's transaction
/// (SQLite, PostgreSQL) or by materialized views (ClickHouse).
///
/// Every rollup holds the same sums as the events it summarises, so an aggregate query that a
/// rollup can answer gets exactly the answer the events give, from far fewer rows. ``choose(for:)``
/// is the planner the backends share: the smallest rollup that answers a query exactly.
public enum RollupTable: String, CaseIterable, Sendable, Hashable {
    /// Downloads and event rows per UTC hour: totals only (no dimension).
    case hourTotals = "rollup_hour"
    /// Downloads per UTC day and client profile (installer, Python, platform, index, country).
    case dayProfile = "rollup_day_profile"
    /// Downloads per UTC day and file (project, version, filename, file type).
    case dayFile = "rollup_day_file"
    /// Downloads per UTC day, file and profile: every dimension except `client`.
    case dayFileProfile = "rollup_day_file_profile"

    /// The column holding the row's time (the start of its hour or day, in epoch seconds).
    public var timeColumn: String { self == .hourTotals ? "hour" : "day" }

    /// Seconds per time value: queries must align their bucket and range to it.
    public var granularity: Int64 { self == .hourTotals ? 3600 : 86400 }

    /// Whether the rollup keeps the file (`file_id`), the profile (`profile_id`).
    public var hasFile: Bool { self == .dayFile || self == .dayFileProfile }
    public var hasProfile: Bool { self == .dayProfile || self == .dayFileProfile }

    /// The smallest rollup that answers `query` exactly, or why none does: it must keep every
    /// dimension the query groups or filters by (never `client`), and the bucket and both ends
    /// of the range must fall on its granularity. Rollups are tried smallest first.
    public static func choose(for query: AggregateQuery) -> (table: RollupTable?, reason: String?) {
        let used = Set((query.dimensions + query.filters.map(\.dimension)).map { StarSchema.column($0).table })
        if used.contains(.clients) { return (nil, "groups or filters by client") }
        let needsFile = used.contains(.files)
        let needsProfile = used.contains(.profiles)
        func aligned(_ g: Int64) -> Bool {
            if let b = query.bucket, b.seconds % g != 0 { return false }
            if let from = query.range.from, floorDiv(from, g) * g != from { return false }
            if let to = query.range.to, floorDiv(to, g) * g != to { return false }
            return true
        }
        for t in allCases where (!needsFile || t.hasFile) && (!needsProfile || t.hasProfile) && aligned(t.granularity) {
            return (t, nil)
        }
        if !aligned(3600) { return (nil, "time range or bucket not on whole hours") }
        return (nil, "dimensions at hour resolution or range not on whole days")
    }

    /// SQL for the start of the hour or day holding `column` (floor, also before 1970); the
    /// same text works in SQLite and PostgreSQL.
    public static func floorSQL(_ column: String, _ seconds: Int64) -> String {
        "(\(column) - (((\(column) % \(seconds)) + \(seconds)) % \(seconds)))"
    }
}
