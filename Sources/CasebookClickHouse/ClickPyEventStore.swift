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
///     casebook run playbooks/package-spike.yaml --set project=NAME \
///         --store 'clickhouse://USER@HOST:8443/pypi?layout=clickpy' --catalog 'clickhouse://USER@HOST:8443/pypi?layout=clickpy'
public final class ClickPyEventStore: EventStore, @unchecked Sendable {
    /// The URL (``ClickHouseURL/redacted`` never shows the password).
    public let url: ClickHouseURL
    let client: ClickHouseClient
    /// The table's unqualified name (`pypi` unless the URL's `table=` names another).
    public let tableName: String
    let table: String

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

    var relation: ClickHouseRelation {
        ClickHouseRelation(
            from: table, timestamp: Self.timestamp, downloads: "count()", column: { Self.column($0) }, conditions: [],
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
        try ClickHouseQueryBuilder.run(query, over: relation, on: client)
    }

    /// The SQL an aggregate query runs (for diagnostics and tests).
    public func sql(for query: AggregateQuery) -> String {
        ClickHouseQueryBuilder.sql(for: query, over: relation)
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
