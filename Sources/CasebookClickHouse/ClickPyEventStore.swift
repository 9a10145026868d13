import CasebookCore
import Foundation

/// A read-only event store over ClickPy's PyPI downloads table (`pypi.pypi`, the ClickHouse
/// table behind clickpy.clickhouse.com, filled from PyPI's BigQuery `file_downloads`): one row
/// per download with `date, country_code, project, type, installer, python_minor, system,
/// version`. Casebook never writes to it; every aggregate is one statement the server answers
/// (the same builder as Casebook's own tables, ``ClickHouseQueryBuilder``).
///
/// What the rows say, as Casebook's dimensions (an empty string is unknown):
/// - `project` is compared and grouped on its PEP 503 normalized form (as ``ClickPyCatalog``);
///   `version`, `country` (`country_code`), `installer`, `python_minor`, `system` as they are;
///   `python_major` is the part of `python_minor` before the dot; `file_type` is `type`, whose
///   values are BigQuery's `file.type` (`bdist_wheel`, `sdist`, ...), as Casebook stores them.
/// - Every other dimension (client, cpu, distro, ci, filename, full Python version, ...) is
///   unknown on every row: grouping by it gives one unknown group, filtering it on a value gives
///   nothing, as a store without that data answers.
/// - Rows have a day, not a time: a download counts at 00:00 UTC of its day, so an `hour`
///   bucket answers at day resolution (every bucket starts at midnight), which is how
///   ``StoreCoverage`` learns that the store has days only, as for BigQuery daily exports.
///
/// **ClickPy's per-day tables.** Beside `pypi`, ClickPy keeps downloads per project and day,
/// and per version, Python, system, country, installer and type, in tables its materialized
/// views fill (`pypi_downloads_per_day`, `pypi_downloads_per_day_by_version_by_python`, ...:
/// ``perDayTables``; a `count` column of downloads). When the store reads `pypi` (no `table=`
/// in the URL), each query reads the smallest of those present that has every column it groups
/// or filters by, summing `count`, as ClickPy's own site does; the others read `pypi`. The
/// answers are the same (the tables sum the same rows); on the public service they are orders of
/// magnitude smaller.
///
///     casebook run playbooks/package-spike.yaml --set project=NAME \
///         --store 'clickhouse://USER@HOST:8443/pypi?layout=clickpy' --catalog 'clickhouse://USER@HOST:8443/pypi?layout=clickpy'
public final class ClickPyEventStore: EventStore, @unchecked Sendable {
    /// The URL (``ClickHouseURL/redacted`` never shows the password).
    public let url: ClickHouseURL
    let client: ClickHouseClient
    /// The table's unqualified name (`pypi` unless the URL's `table=` names another).
    public let tableName: String
    let table: String
    /// ClickPy's per-day tables present in the database (only when reading `pypi` itself),
    /// fewest columns first.
    let perDay: [(name: String, columns: Set<String>)]

    /// ClickPy's per-day tables (named as ClickPy names them) and the columns each keeps besides
    /// `count`.
    static let perDayTables: [(name: String, columns: Set<String>)] = [
        ("pypi_downloads_per_day", ["project", "date"]),
        ("pypi_downloads_per_day_by_version", ["project", "date", "version"]),
        ("pypi_downloads_per_day_by_version_by_country", ["project", "date", "version", "country_code"]),
        ("pypi_downloads_per_day_by_version_by_python", ["project", "date", "version", "python_minor"]),
        ("pypi_downloads_per_day_by_version_by_system", ["project", "date", "version", "system"]),
        ("pypi_downloads_per_day_by_version_by_type", ["project", "date", "version", "type"]),
        ("pypi_downloads_per_day_by_version_by_file_type", ["project", "date", "version", "type"]),
        ("pypi_downloads_per_day_by_version_by_python_by_country", ["project", "date", "version", "python_minor", "country_code"]),
        ("pypi_downloads_per_day_by_version_by_system_by_country", ["project", "date", "version", "system", "country_code"]),
        ("pypi_downloads_per_day_by_version_by_installer_by_type", ["project", "date", "version", "installer", "type"]),
        (
            "pypi_downloads_per_day_by_version_by_installer_by_type_by_country",
            ["project", "date", "version", "installer", "type", "country_code"]
        )
    ]

    /// The columns of `pypi.pypi` the store reads.
    static let columns = ["date", "country_code", "project", "type", "installer", "python_minor", "system", "version"]

    /// The table's row time in epoch seconds: 00:00 UTC of its day (a `Date` converts to its
    /// number of days since 1970-01-01).
    static let timestamp = "(toInt64(toUInt32(date)) * 86400)"

    /// Opens ClickPy's downloads table of the URL's database (`pypi` unless `table=` names
    /// another), checking that it has the columns the store reads. Sends no write.
    public init(url: ClickHouseURL) throws(ClickHouseStoreError) {
        self.url = url
        tableName = url.table ?? "pypi"
        table = ClickHouseSchema.table(url.database, tableName)
        client = ClickHouseClient(url: url)
        try ClickPyTable.check(
            tableName, of: url, client: client, columns: Self.columns, kind: "downloads",
            example: "date, project, version, type, installer, python_minor, system, country_code")
        perDay = url.table == nil ? try Self.presentPerDayTables(url, client) : []
    }

    /// The per-day tables of the URL's database that have their columns and `count`.
    static func presentPerDayTables(_ url: ClickHouseURL, _ client: ClickHouseClient) throws(ClickHouseStoreError) -> [(
        name: String, columns: Set<String>
    )] {
        let names = perDayTables.map { ClickHouseSQL.literal($0.name) }.joined(separator: ", ")
        let rows: [[String?]]
        do {
            rows = try client.rows(
                "SELECT table, name FROM system.columns WHERE database = \(ClickHouseSQL.literal(url.database)) AND table IN (\(names))")
        } catch let e as ClickHouseStoreError { throw e } catch { throw .queryFailed(url.redacted, code: nil, message: "\(error)") }
        var columns: [String: Set<String>] = [:]
        for r in rows { columns[r[0] ?? "", default: []].insert(r[1] ?? "") }
        return perDayTables.filter { t in columns[t.name].map { $0.isSuperset(of: t.columns.union(["count"])) } ?? false }
            .sorted { $0.columns.count < $1.columns.count }
    }

    /// The `pypi` column a dimension reads (`nil`: unknown on every row, no column).
    static func sourceColumn(_ dimension: CasebookCore.Dimension) -> String? {
        switch dimension {
        case .project: "project"
        case .version: "version"
        case .fileType: "type"
        case .pythonMinor, .pythonMajor: "python_minor"
        case .installer: "installer"
        case .system: "system"
        case .country: "country_code"
        default: nil
        }
    }

    /// The per-day table that answers `query` (the smallest with every column it needs), if any.
    public func perDayTable(for query: AggregateQuery) -> String? {
        let needed = Set((query.dimensions + query.filters.map(\.dimension)).compactMap(Self.sourceColumn)).union(["date"])
        return perDay.first { $0.columns.isSuperset(of: needed) }?.name
    }

    /// Opens `clickhouse://USER@HOST:PORT/DATABASE?layout=clickpy[&table=NAME]`.
    public static func open(_ location: String) throws(ClickHouseStoreError) -> ClickPyEventStore {
        let url: ClickHouseURL
        do { url = try ClickHouseURL(location) } catch let e as ClickHouseStoreError { throw e } catch {
            throw .invalidURL(ClickHouseStores.display(location), "\(error)")
        }
        guard url.layout == .clickpy else {
            throw .invalidURL(url.redacted, "ClickPy's downloads table is read with ?layout=clickpy")
        }
        return try ClickPyEventStore(url: url)
    }

    /// The URL without its password, marked as ClickPy's table.
    public var location: String { "\(url.redacted) (ClickPy's \(tableName), read-only)" }

    /// A dimension's value in SQL, `NULL` when unknown (see the type's discussion).
    static func column(_ dimension: CasebookCore.Dimension) -> String {
        switch dimension {
        case .project: "nullIf(\(ClickPyCatalog.normalized("project")), '')"
        case .version: "nullIf(version, '')"
        case .fileType: "nullIf(type, '')"
        case .pythonMinor: "nullIf(python_minor, '')"
        case .pythonMajor: "nullIf(extract(python_minor, '^[0-9]+'), '')"
        case .installer: "nullIf(installer, '')"
        case .system: "nullIf(system, '')"
        case .country: "nullIf(country_code, '')"
        case .filename, .python, .implementation, .installerVersion, .distro, .distroVersion, .libc, .libcVersion, .openssl, .cpu,
            .ci, .index, .client:
            "CAST(NULL AS Nullable(String))"
        }
    }

    /// The first day (days since 1970) whose midnight is at or after `t`.
    static func firstDay(atOrAfter t: Int64) -> Int64 { -floorDiv(-t, 86400) }

    /// `toDate('YYYY-MM-DD')` for a day number (a literal every server version reads alike).
    static func date(_ day: Int64) -> String { "toDate('\(UTCTime.dateString(day * 86400))')" }

    /// What `query` reads: a per-day table that answers it (summing its `count`), or `pypi`.
    func relation(for query: AggregateQuery) -> ClickHouseRelation {
        let perDay = perDayTable(for: query)
        return ClickHouseRelation(
            from: perDay.map { ClickHouseSchema.table(url.database, $0) } ?? table, timestamp: Self.timestamp,
            downloads: perDay == nil ? "count()" : "sum(count)", eventRows: perDay == nil ? "count()" : "sum(count)",
            column: { Self.column($0) }, conditions: [],
            range: { r in
                // On `date` itself, so that the server reads only the days asked for.
                var w: [String] = []
                if let from = r.from, from > 0 { w.append("date >= \(Self.date(Self.firstDay(atOrAfter: from)))") }
                if let to = r.to { w.append(to <= 0 ? "0" : "date < \(Self.date(Self.firstDay(atOrAfter: to)))") }
                return w
            })
    }

    public func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        try aggregateSync(query)
    }

    /// Synchronous form of ``aggregate(_:)``.
    public func aggregateSync(_ query: AggregateQuery) throws -> AggregateTable {
        try ClickHouseQueryBuilder.run(query, over: relation(for: query), on: client)
    }

    /// The SQL an aggregate query runs (for diagnostics and tests).
    public func sql(for query: AggregateQuery) -> String {
        ClickHouseQueryBuilder.sql(for: query, over: relation(for: query))
    }

    public func info() async throws -> StoreInfo { try infoSync() }

    /// The rows (one per download) and the first and last day; no sources (Casebook ingested
    /// nothing) and schema version 0 (the table is not Casebook's).
    public func infoSync() throws -> StoreInfo {
        let r = try client.rows("SELECT count(), toInt64(toUInt32(min(date))) * 86400, toInt64(toUInt32(max(date))) * 86400 FROM \(table)")
        let n = int(r.first?[0])
        return StoreInfo(
            eventRows: n, downloads: n, firstEvent: n > 0 ? r[0][1].flatMap { Int64($0) } : nil,
            lastEvent: n > 0 ? r[0][2].flatMap { Int64($0) } : nil, sources: [], quarantined: [:], schemaVersion: 0,
            location: location)
    }
}
