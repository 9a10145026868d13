import CasebookCatalog
import CasebookCore
import Foundation

/// A read-only catalog over ClickPy's `pypi.projects` (the ClickHouse table behind
/// clickpy.clickhouse.com, filled from PyPI's `distribution_metadata`): one row per uploaded
/// file with its release's `requires_dist`. Casebook never writes to it; a run reads the few
/// projects it asks about, and reverse dependencies are answered by the server.
///
/// Names there are as the project writes them (`Flask-Login`), so rows are matched on their
/// PEP 503 normalized form. `requires_dist` is an array with no null: an empty one is read as "no
/// requirements" (the table cannot say "unknown").
///
///     casebook run playbooks/downloads-spike.yaml --catalog 'clickhouse://USER@HOST:8443/pypi?layout=clickpy'
public final class ClickPyCatalog: PackageCatalog, @unchecked Sendable {
    let url: ClickHouseURL
    let client: ClickHouseClient
    let table: String
    private let cache = CatalogReadCache()

    /// The columns of `pypi.projects` the catalog reads.
    static let columns = ["name", "version", "requires_dist", "requires_python", "upload_time", "filename", "packagetype"]

    /// Opens the ClickPy table `table` (default `projects`) of the URL's database, checking that
    /// it has the columns the catalog reads.
    public init(url: ClickHouseURL, table: String = "projects") throws(ClickHouseStoreError) {
        self.url = url
        self.table = ClickHouseSchema.table(url.database, table)
        client = ClickHouseClient(url: url)
        try ClickPyTable.check(
            table, of: url, client: client, columns: Self.columns, kind: "projects",
            example: "name, version, requires_dist, upload_time, filename, ...")
    }

    /// Opens `clickhouse://USER@HOST:PORT/DATABASE?layout=clickpy[&table=NAME]`: ClickPy's
    /// projects table (`projects` unless `table` names another) of that database.
    public static func open(_ location: String) throws(ClickHouseStoreError) -> ClickPyCatalog {
        guard var components = URLComponents(string: location) else {
            throw .invalidURL(ClickHouseStores.display(location), "expected clickhouse://USER@HOST:PORT/DATABASE?layout=clickpy")
        }
        let items = components.queryItems ?? []
        let layout = items.first { $0.name.lowercased() == "layout" }?.value?.lowercased()
        guard layout == "clickpy" else {
            throw .invalidURL(
                ClickHouseStores.display(location),
                "a ClickHouse catalog is ClickPy's projects table: add ?layout=clickpy (a Casebook store's own catalog is read with --store)"
            )
        }
        let table = items.first { $0.name.lowercased() == "table" }?.value ?? "projects"
        guard ClickHouseURL.isIdentifier(table) else {
            throw .invalidURL(ClickHouseStores.display(location), "table=\(table): expected a plain name (letters, digits, _)")
        }
        let rest = items.filter { !["layout", "table"].contains($0.name.lowercased()) }
        components.queryItems = rest.isEmpty ? nil : rest
        let url: ClickHouseURL
        do { url = try ClickHouseURL(components.string ?? location) } catch let e as ClickHouseStoreError { throw e } catch {
            throw .invalidURL(ClickHouseStores.display(location), "\(error)")
        }
        return try ClickPyCatalog(url: url, table: table)
    }

    /// The URL without its password, marked as ClickPy's table.
    public var location: String { "\(url.redacted) (ClickPy's \(table))" }

    /// The PEP 503 normalized form of a name column, in SQL.
    static func normalized(_ column: String) -> String { "lower(replaceRegexpAll(\(column), '[-_.]+', '-'))" }
    /// The normalized name a requirement text starts with, in SQL (as ``Requirement/quickName(_:)``).
    static func requiredName(_ r: String) -> String {
        normalized("extract(\(r), '^[[:space:]]*([A-Za-z0-9][A-Za-z0-9._-]*)')")
    }

    public func project(named name: String) throws(CatalogError) -> CatalogProject {
        try cache.project(named: name, location: location) { key in try load(key) }
    }

    /// The rows of one project (by normalized name) as a project; nil when the table has none.
    private func load(_ key: String) throws -> CatalogProject? {
        let rows = try client.rows(
            """
            SELECT name, version, arrayStringConcat(requires_dist, '\\n'), length(requires_dist), requires_python,
                toUnixTimestamp(upload_time), filename, packagetype
            FROM \(table) WHERE \(Self.normalized("name")) = \(ClickHouseSQL.literal(key))
            """)
        guard !rows.isEmpty else { return nil }
        var files: [String: [ReleaseFile]] = [:]
        var metadata: [String: ReleaseMetadata] = [:]
        for r in rows {
            let version = r[1] ?? ""
            let requires = (Int(r[3] ?? "0") ?? 0) == 0 ? [] : (r[2] ?? "").components(separatedBy: "\n")
            let requiresPython = (r[4] ?? "").isEmpty ? nil : r[4]
            metadata[version] = ReleaseMetadata(requiresDist: requires, requiresPython: requiresPython, source: .metadataRow)
            if let filename = r[6], !filename.isEmpty {
                files[version, default: []].append(
                    ReleaseFile(
                        filename: filename, packageType: r[7] ?? "", uploadTime: r[5].flatMap { Int64($0) },
                        requiresPython: requiresPython))
            } else {
                files[version, default: []] += []
            }
        }
        return CatalogProject(
            name: key, displayName: rows[0][0] ?? key, latestVersion: nil, lastSerial: nil,
            files: files.mapValues { $0.sorted { $0.filename < $1.filename } }, metadata: metadata)
    }

    public func dependents(of name: String) throws(CatalogError) -> [String] {
        try cache.dependents(of: name, location: location) { key in
            try client.rows(
                """
                SELECT DISTINCT \(Self.normalized("name")) AS n FROM \(table)
                WHERE arrayExists(r -> \(Self.requiredName("r")) = \(ClickHouseSQL.literal(key)), requires_dist) AND n != \(ClickHouseSQL.literal(key))
                ORDER BY n
                """
            ).compactMap { $0.first ?? nil }
        }
    }

    /// One query: the releases (their first file's upload in `[from, to)`) whose requirements
    /// name one of `names`, with each matching requirement.
    public func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws(CatalogError) -> [DependentRelease] {
        let keys = Array(Set(names.map(ProjectName.normalize))).sorted()
        guard !keys.isEmpty else { return [] }
        let set = "(" + keys.map(ClickHouseSQL.literal).joined(separator: ", ") + ")"
        var having: [String] = []
        if let from { having.append("t >= \(from)") }
        if let to { having.append("t < \(to)") }
        let rows: [[String?]]
        do {
            rows = try client.rows(
                """
                SELECT n, version, min(toUnixTimestamp(upload_time)) AS t, req, \(Self.requiredName("req")) AS required
                FROM (
                    SELECT \(Self.normalized("name")) AS n, version, upload_time,
                        arrayJoin(arrayFilter(r -> \(Self.requiredName("r")) IN \(set), requires_dist)) AS req
                    FROM \(table) WHERE arrayExists(r -> \(Self.requiredName("r")) IN \(set), requires_dist)
                )
                WHERE n != required
                GROUP BY n, version, req
                \(having.isEmpty ? "" : "HAVING " + having.joined(separator: " AND "))
                """)
        } catch { throw .unreadableDocument(path: location, reason: "\(error)") }
        return rows.map { r in
            DependentRelease(
                project: r[0] ?? "", version: r[1] ?? "", uploadTime: r[2].flatMap { Int64($0) }, requires: r[4] ?? "",
                requirement: r[3] ?? "")
        }.sorted {
            ($0.uploadTime ?? .min, $0.project, $0.version, $0.requires) < ($1.uploadTime ?? .min, $1.project, $1.version, $1.requires)
        }
    }
}

/// What both ClickPy readers (``ClickPyCatalog``, ``ClickPyEventStore``) check before reading a
/// table they never write.
enum ClickPyTable {
    /// Throws, naming the table, when `table` of the URL's database is missing or lacks any of
    /// `columns` (ClickPy's `kind` table, whose columns `example` lists for the reader).
    static func check(
        _ table: String, of url: ClickHouseURL, client: ClickHouseClient, columns: [String], kind: String, example: String
    ) throws(ClickHouseStoreError) {
        let found: Set<String>
        do {
            found = Set(
                try client.rows(
                    "SELECT name FROM system.columns WHERE database = \(ClickHouseSQL.literal(url.database)) AND table = \(ClickHouseSQL.literal(table))"
                ).compactMap { $0.first ?? nil })
        } catch let e as ClickHouseStoreError { throw e } catch { throw .connectionFailed(url.redacted, "\(error)") }
        let missing = columns.filter { !found.contains($0) }
        guard missing.isEmpty else {
            throw .queryFailed(
                url.redacted, code: nil,
                message:
                    found.isEmpty
                    ? "no table `\(url.database).\(table)`: expected ClickPy's \(kind) table (\(example))"
                    : "table `\(url.database).\(table)` lacks the column(s) \(missing.joined(separator: ", ")) of ClickPy's \(kind) table")
        }
    }
}
