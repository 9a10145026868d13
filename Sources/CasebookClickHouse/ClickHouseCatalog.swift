import CasebookCatalog
import CasebookCore
import Foundation

/// The imported catalog in ClickHouse: the same import rules as the other stores
/// (``CatalogTablesWriter``), made all-or-nothing without transactions by versioned rows (see
/// ``ClickHouseSchema``): a batch writes its projects under a new import id and becomes visible
/// with one `catalog_imports` row.
extension ClickHouseEventStore: CatalogStore {
    /// Imports a batch all-or-nothing: its rows are written under a new import id, then one
    /// `catalog_imports` row makes them visible. A batch that fails (or a process that dies)
    /// leaves rows no query sees; its failure path deletes them when it can.
    ///
    /// The batch costs a fixed number of round trips, whatever its size (per 500 projects): the
    /// stored stamps (and, for `.merge`, the stored rows) are read once, and the new rows are
    /// inserted per table at the end. Replaced projects' older rows are shadowed, not deleted.
    ///
    /// One import at a time per store is the rule, as for ingests. Two racing importers still
    /// leave every project whole (its rows are those of one import), but each decided against
    /// what it read before the other committed.
    public func importCatalogProjects(_ projects: [CatalogProject], mode: CatalogImportMode) throws -> CatalogImportCounts {
        try importCatalogProjects(projects, mode: mode, commit: true)
    }

    /// ``importCatalogProjects(_:mode:)``; with `commit: false` the rows are written but the
    /// `catalog_imports` row is not (what an interrupted import leaves, for tests).
    func importCatalogProjects(_ projects: [CatalogProject], mode: CatalogImportMode, commit: Bool) throws -> CatalogImportCounts {
        guard !projects.isEmpty else { return CatalogImportCounts() }
        try ensureCatalogTables()
        let writer = try ClickHouseCatalogWriter(client: client, names: projects.map(\.name), readRows: mode == .merge)
        let counts = try writer.write(projects, mode: mode)
        guard writer.hasChanges else { return counts }
        let importID = try newImportID()
        do {
            try writer.flush(importID: importID)
            if commit {
                var row = TabSeparatedWriter()
                row.int(importID)
                row.int(Int64(Date().timeIntervalSince1970))
                row.int(Int64(writer.changedProjects))
                row.endRow()
                try client.insert(
                    "INSERT INTO \(ClickHouseSchema.table(url.database, "catalog_imports")) (import_id, committed_at, projects) FORMAT TabSeparated",
                    rows: row.bytes)
            }
        } catch {
            discardImport(importID)
            throw error
        }
        return counts
    }

    public func importedCatalog() throws -> (any PackageCatalog)? {
        guard try ClickHouseSchema.catalogExists(client) else { return nil }
        let any = try client.scalar("SELECT count() FROM (\(ClickHouseSchema.catalogCurrent(url.database)) LIMIT 1)")
        return int(any) > 0 ? ClickHouseCatalog(store: self) : nil
    }

    public func catalogSummary() throws -> CatalogSummary {
        guard try ClickHouseSchema.catalogExists(client) else {
            return CatalogSummary(projects: 0, releases: 0, files: 0, requirements: 0, releasesWithMetadata: 0, newestUpload: nil)
        }
        let db = url.database
        let current = ClickHouseSchema.catalogCurrent(db)
        func table(_ name: String) -> String { ClickHouseSchema.table(db, name) }
        let projects = try client.rows(
            "SELECT count(), max(newest_upload) FROM \(table("catalog_projects")) WHERE (name, import_id) IN (\(current))")[0]
        let releases = try client.rows(
            "SELECT count(), countIf(has_metadata = 1) FROM \(table("catalog_releases")) WHERE (project, import_id) IN (\(current))")[0]
        let files = try client.scalar("SELECT count() FROM \(table("catalog_files")) WHERE (project, import_id) IN (\(current))")
        let requirements = try client.scalar(
            "SELECT count() FROM \(table("catalog_requirements")) WHERE (project, import_id) IN (\(current))")
        return CatalogSummary(
            projects: Int(int(projects[0])), releases: Int(int(releases[0])), files: Int(int(files)), requirements: Int(int(requirements)),
            releasesWithMetadata: Int(int(releases[1])), newestUpload: int(projects[0]) > 0 ? projects[1].flatMap { Int64($0) } : nil)
    }

    public func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws -> [DependentRelease] {
        guard try ClickHouseSchema.catalogExists(client) else { return [] }
        return try catalogDependentReleases(of: names, from: from, to: to)
    }

    /// ``dependentReleases(of:from:to:)`` on a store known to have the catalog's tables: one
    /// range of the reverse-dependency index per name, `(name, upload_time)`, then only the
    /// rows of each dependent's current import.
    func catalogDependentReleases(of names: [String], from: Int64?, to: Int64?) throws -> [DependentRelease] {
        let normalized = Array(Set(names.map(ProjectName.normalize))).sorted()
        guard !normalized.isEmpty else { return [] }
        let requirements = ClickHouseSchema.table(url.database, "catalog_requirements")
        let set = ClickHouseCatalog.set(normalized)
        var wheres = ["name IN \(set)", "project != name"]
        if let from { wheres.append("has_upload_time = 1 AND upload_time >= \(from)") }
        if let to { wheres.append("has_upload_time = 1 AND upload_time < \(to)") }
        let dependents = "(SELECT project FROM \(requirements) WHERE \(wheres.joined(separator: " AND ")))"
        wheres.append("(project, import_id) IN (\(ClickHouseSchema.catalogCurrent(url.database, names: dependents)))")
        let out = try client.rows(
            """
            SELECT project, version, has_upload_time, upload_time, requirement, name FROM \(requirements)
            WHERE \(wheres.joined(separator: " AND ")) ORDER BY upload_time, project, version, position
            """
        ).map { v in
            DependentRelease(
                project: v[0] ?? "", version: v[1] ?? "", uploadTime: v[2] == "1" ? v[3].flatMap { Int64($0) } : nil, requires: v[5] ?? "",
                requirement: v[4] ?? "")
        }
        // Ordered as the embedded store orders them (in Swift, so both agree to the byte).
        return out.sorted {
            ($0.uploadTime ?? .min, $0.project, $0.version, $0.requires) < ($1.uploadTime ?? .min, $1.project, $1.version, $1.requires)
        }
    }

    /// Creates the catalog's tables when missing (a store opened without its writable
    /// migration, or made before the catalog existed).
    private func ensureCatalogTables() throws {
        guard try !ClickHouseSchema.catalogExists(client) else { return }
        for sql in ClickHouseSchema.catalogCreateStatements(database: url.database) { try client.execute(sql) }
    }

    /// A new import id, above every committed one: microseconds since 1970 (and after the
    /// latest import even if the clock went back) in the high bits, 12 random bits below.
    private func newImportID() throws -> UInt64 {
        let last =
            try client.scalar("SELECT max(import_id) FROM \(ClickHouseSchema.table(url.database, "catalog_imports"))")
            .flatMap { UInt64($0) } ?? 0
        let micros = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        return max(micros, (last >> 12) + 1) << 12 | UInt64.random(in: 0..<4096)
    }

    /// Deletes an uncommitted import's rows (a mutation the server applies in the background;
    /// best effort: they are invisible either way).
    private func discardImport(_ importID: UInt64) {
        for name in ["catalog_projects", "catalog_releases", "catalog_files", "catalog_requirements"] {
            _ = try? client.execute("ALTER TABLE \(ClickHouseSchema.table(url.database, name)) DELETE WHERE import_id = \(importID)")
        }
    }
}

/// The catalog tables' four operations on ClickHouse; the import rules are
/// ``CatalogTablesWriter/write(_:mode:)``'s.
///
/// Nothing is written until ``flush(importID:)``: what the batch deletes and inserts is kept
/// here, and ``stamp(of:)`` and ``storedRows(of:)`` answer from it first (a project may appear
/// twice in a batch), then from what was read of the server when the writer was made.
final class ClickHouseCatalogWriter: CatalogTablesWriter {
    private let client: ClickHouseClient
    /// Stamps of the batch's projects that the store has (read once).
    private var storedStamps: [String: CatalogStamp] = [:]
    /// Names whose stored state was read (a name outside them is asked for on its own).
    private var known: Set<String>
    /// Rows of the batch's stored projects (read once, for `.merge`).
    private var storedRowsByName: [String: CatalogRows] = [:]
    /// Projects deleted by the batch (written as deletion rows unless inserted again).
    private var deleted: Set<String> = []
    /// Projects to insert, and their names in the order they were first given.
    private var pending: [String: CatalogRows] = [:]
    private var order: [String] = []
    private var ordered: Set<String> = []

    init(client: ClickHouseClient, names: [String], readRows: Bool) throws {
        self.client = client
        known = Set(names)
        storedStamps = try ClickHouseCatalog.readStamps(Array(known), client: client)
        if readRows, !storedStamps.isEmpty {
            storedRowsByName = try ClickHouseCatalog.readRows(Array(storedStamps.keys), client: client)
        }
    }

    /// Whether the batch writes anything.
    var hasChanges: Bool { !pending.isEmpty || !deleted.isEmpty }
    /// Projects the batch writes (added, replaced or deleted).
    var changedProjects: Int { deleted.union(pending.keys).count }

    func stamp(of name: String) throws -> CatalogStamp? {
        if let rows = pending[name] {
            let p = rows.project
            return CatalogStamp(fingerprint: p.fingerprint, lastSerial: p.lastSerial, newestUpload: p.newestUpload)
        }
        if deleted.contains(name) { return nil }
        try learn(name)
        return storedStamps[name]
    }

    func storedRows(of name: String) throws -> CatalogRows? {
        if let rows = pending[name] { return rows }
        if deleted.contains(name) { return nil }
        try learn(name)
        if storedRowsByName[name] == nil, storedStamps[name] != nil {
            storedRowsByName[name] = try ClickHouseCatalog.readRows([name], client: client)[name]
        }
        return storedRowsByName[name]
    }

    func delete(_ name: String) throws {
        pending[name] = nil
        deleted.insert(name)
    }

    func insert(_ rows: CatalogRows) throws {
        let name = rows.project.name
        pending[name] = rows
        if ordered.insert(name).inserted { order.append(name) }
    }

    /// Reads the stored stamp of a name the writer was not made with.
    private func learn(_ name: String) throws {
        guard known.insert(name).inserted else { return }
        if let stamp = try ClickHouseCatalog.readStamps([name], client: client)[name] { storedStamps[name] = stamp }
    }

    /// Inserts the batch's rows under `importID`: one `INSERT` per table. A project deleted and
    /// not inserted again gets a deletion row in `catalog_projects`.
    func flush(importID: UInt64) throws {
        var projects = TabSeparatedWriter()
        var releases = TabSeparatedWriter()
        var files = TabSeparatedWriter()
        var requirements = TabSeparatedWriter()
        for name in deleted.subtracting(pending.keys).sorted() {
            projects.int(importID)
            projects.text(name)
            projects.int(1)
            projects.text("")
            projects.text(nil)
            projects.int(Int64?.none)
            projects.int(Int64?.none)
            projects.text("")
            projects.endRow()
        }
        for rows in order.compactMap({ pending[$0] }) {
            let p = rows.project
            projects.int(importID)
            projects.text(p.name)
            projects.int(0)
            projects.text(p.displayName)
            projects.text(p.latestVersion)
            projects.int(p.lastSerial)
            projects.int(p.newestUpload)
            projects.text(p.fingerprint)
            projects.endRow()
            var texts: [String: [(Int, String)]] = [:]
            for q in rows.requirements { texts[q.version, default: []].append((q.position, q.text)) }
            for r in rows.releases {
                releases.int(importID)
                releases.text(p.name)
                releases.text(r.version)
                releases.int(r.uploadTime)
                releases.int(r.hasMetadata ? 1 : 0)
                releases.int(r.requiresDistNull ? 1 : 0)
                releases.text(r.requiresPython)
                releases.text(r.metadataSource?.rawValue)
                releases.textArray((texts[r.version] ?? []).sorted { $0.0 < $1.0 }.map(\.1))
                releases.endRow()
            }
            for row in rows.files {
                let f = row.file
                files.int(importID)
                files.text(p.name)
                files.text(row.version)
                files.text(f.filename)
                files.text(f.packageType)
                files.text(f.pythonVersion)
                files.int(f.uploadTime)
                files.int(f.yanked ? 1 : 0)
                files.text(f.yankedReason)
                files.text(f.requiresPython)
                files.int(f.size.map(Int64.init))
                files.text(f.sha256)
                files.text(f.url)
                files.endRow()
            }
            for q in rows.requirements {
                requirements.int(importID)
                requirements.text(q.name ?? "")
                requirements.int(q.uploadTime == nil ? 0 : 1)
                requirements.int(q.uploadTime ?? .min)
                requirements.text(p.name)
                requirements.text(q.version)
                requirements.int(Int64(q.position))
                requirements.text(q.text)
                requirements.text(q.specifier)
                requirements.text(q.marker)
                requirements.text(q.extra)
                requirements.endRow()
            }
        }
        let inserts: [(String, TabSeparatedWriter)] = [
            (
                "catalog_projects (import_id, name, deleted, display_name, latest_version, last_serial, newest_upload, fingerprint)",
                projects
            ),
            (
                """
                catalog_releases (import_id, project, version, upload_time, has_metadata, requires_dist_null, requires_python,
                metadata_source, requires_dist)
                """,
                releases
            ),
            (
                """
                catalog_files (import_id, project, version, filename, packagetype, python_version, upload_time, yanked, yanked_reason,
                requires_python, size, sha256, url)
                """,
                files
            ),
            (
                """
                catalog_requirements (import_id, name, has_upload_time, upload_time, project, version, position, requirement,
                specifier, marker, extra)
                """,
                requirements
            )
        ]
        let db = ClickHouseSQL.ident(client.url.database)
        for (table, rows) in inserts where !rows.isEmpty {
            try client.insert("INSERT INTO \(db).\(table) FORMAT TabSeparated", rows: rows.bytes)
        }
    }
}

/// An imported catalog: the catalog tables of a ClickHouse store, read a project at a time and
/// kept for the rest of the run (a run asks about tens of projects, not the whole index).
public final class ClickHouseCatalog: PackageCatalog, @unchecked Sendable {
    let store: ClickHouseEventStore
    private let cache = CatalogReadCache()

    init(store: ClickHouseEventStore) { self.store = store }

    /// The store's URL (without its password), marked as the imported catalog.
    public var location: String { "\(store.url.redacted) (imported catalog)" }

    public func project(named name: String) throws(CatalogError) -> CatalogProject {
        try cache.project(named: name, location: location) { key in
            try Self.readRows([key], client: store.client)[key]?.catalogProject
        }
    }

    public func dependents(of name: String) throws(CatalogError) -> [String] {
        try cache.dependents(of: name, location: location) { key in
            let requirements = ClickHouseSchema.table(store.url.database, "catalog_requirements")
            let wheres = "name = \(ClickHouseSQL.literal(key)) AND project != name"
            let current = ClickHouseSchema.catalogCurrent(
                store.url.database, names: "(SELECT project FROM \(requirements) WHERE \(wheres))")
            return try store.client.rows(
                "SELECT DISTINCT project FROM \(requirements) WHERE \(wheres) AND (project, import_id) IN (\(current))"
            ).map { $0[0] ?? "" }.sorted()
        }
    }

    /// One range of the reverse-dependency index per name, not a read of every dependent.
    public func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws(CatalogError) -> [DependentRelease] {
        do { return try store.catalogDependentReleases(of: names, from: from, to: to) } catch {
            throw .unreadableDocument(path: location, reason: "\(error)")
        }
    }

    /// Names per statement (keeps each statement well under the server's `max_query_size`).
    static let chunk = 500

    /// An SQL set of names: `('a', 'b')`.
    static func set(_ names: some Sequence<String>) -> String {
        "(" + names.map(ClickHouseSQL.literal).joined(separator: ", ") + ")"
    }

    /// The stamps of the named projects' current versions (those not imported are absent).
    static func readStamps(_ names: [String], client: ClickHouseClient) throws -> [String: CatalogStamp] {
        var out: [String: CatalogStamp] = [:]
        let db = client.url.database
        for start in stride(from: 0, to: names.count, by: chunk) {
            let set = set(names[start..<min(names.count, start + chunk)])
            for v in try client.rows(
                """
                SELECT name, fingerprint, last_serial, newest_upload FROM \(ClickHouseSchema.table(db, "catalog_projects"))
                WHERE name IN \(set) AND (name, import_id) IN (\(ClickHouseSchema.catalogCurrent(db, names: set)))
                """)
            {
                out[v[0] ?? ""] = CatalogStamp(
                    fingerprint: v[1] ?? "", lastSerial: v[2].flatMap { Int64($0) }, newestUpload: v[3].flatMap { Int64($0) })
            }
        }
        return out
    }

    /// Reads the current rows of the named projects (those not imported are absent): four
    /// statements per 500 names. Requirement rows carry their text only (from
    /// `catalog_releases.requires_dist`): enough for ``CatalogRows/catalogProject``.
    static func readRows(_ names: [String], client: ClickHouseClient) throws -> [String: CatalogRows] {
        var out: [String: CatalogRows] = [:]
        for start in stride(from: 0, to: names.count, by: chunk) {
            out.merge(try readChunk(Array(names[start..<min(names.count, start + chunk)]), client: client)) { a, _ in a }
        }
        return out
    }

    private static func readChunk(_ names: [String], client: ClickHouseClient) throws -> [String: CatalogRows] {
        guard !names.isEmpty else { return [:] }
        let db = client.url.database
        func table(_ name: String) -> String { ClickHouseSchema.table(db, name) }
        let set = set(names)
        var out: [String: CatalogRows] = [:]
        var versions: [(String, String)] = []
        for v in try client.rows(
            """
            SELECT name, import_id, display_name, latest_version, last_serial, newest_upload, fingerprint
            FROM \(table("catalog_projects")) WHERE name IN \(set) AND (name, import_id) IN (\(ClickHouseSchema.catalogCurrent(db, names: set)))
            """)
        {
            let name = v[0] ?? ""
            versions.append((name, v[1] ?? "0"))
            out[name] = CatalogRows(
                project: CatalogRows.Project(
                    name: name, displayName: v[2] ?? "", latestVersion: v[3], lastSerial: v[4].flatMap { Int64($0) },
                    newestUpload: v[5].flatMap { Int64($0) }, fingerprint: v[6] ?? ""),
                releases: [], files: [], requirements: [])
        }
        guard !out.isEmpty else { return [:] }
        // The exact (project, import id) pairs just read: the same versions in every table.
        let pairs = versions.map { "(\(ClickHouseSQL.literal($0.0)), \(UInt64($0.1) ?? 0))" }.joined(separator: ", ")
        let which = "project IN \(Self.set(out.keys)) AND (project, import_id) IN (\(pairs))"
        var uploads: [String: [String: Int64]] = [:]
        for v in try client.rows(
            """
            SELECT project, version, upload_time, has_metadata, requires_dist_null, requires_python, metadata_source
            FROM \(table("catalog_releases")) WHERE \(which)
            """)
        {
            let release = CatalogRows.Release(
                version: v[1] ?? "", uploadTime: v[2].flatMap { Int64($0) }, hasMetadata: v[3] == "1", requiresDistNull: v[4] == "1",
                requiresPython: v[5], metadataSource: v[6].flatMap(MetadataSource.init(rawValue:)))
            out[v[0] ?? ""]?.releases.append(release)
            uploads[v[0] ?? "", default: [:]][release.version] = release.uploadTime
        }
        for v in try client.rows(
            """
            SELECT project, version, position, text FROM \(table("catalog_releases"))
            ARRAY JOIN requires_dist AS text, arrayEnumerate(requires_dist) AS position WHERE \(which)
            """)
        {
            let project = v[0] ?? ""
            let version = v[1] ?? ""
            out[project]?.requirements.append(
                CatalogRows.Requirement(
                    version: version, position: Int(int(v[2])) - 1, text: v[3] ?? "", name: nil, specifier: nil, marker: nil, extra: nil,
                    uploadTime: uploads[project]?[version] ?? nil))
        }
        for v in try client.rows(
            """
            SELECT project, version, filename, packagetype, python_version, upload_time, yanked, yanked_reason, requires_python,
                size, sha256, url
            FROM \(table("catalog_files")) WHERE \(which)
            """)
        {
            out[v[0] ?? ""]?.files.append(
                CatalogRows.File(
                    version: v[1] ?? "",
                    file: ReleaseFile(
                        filename: v[2] ?? "", packageType: v[3] ?? "", pythonVersion: v[4], uploadTime: v[5].flatMap { Int64($0) },
                        yanked: v[6] == "1", yankedReason: v[7], requiresPython: v[8], size: v[9].flatMap { Int($0) }, sha256: v[10],
                        url: v[11])))
        }
        return out
    }
}
