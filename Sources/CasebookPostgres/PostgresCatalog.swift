import CasebookCatalog
import CasebookCore
import Foundation

/// The imported catalog in Casebook's PostgreSQL schema (migration 7): the same four tables
/// and the same import rules as the embedded store (``CatalogTablesWriter``).
extension PostgresEventStore: CatalogStore {
    /// Imports a batch in one transaction: the whole batch commits, or nothing does. Imports into
    /// one schema run one at a time (an advisory lock), so two importers never race on a project.
    ///
    /// The batch costs a fixed number of round trips, whatever its size: the stored stamps (and,
    /// for `.merge`, the stored rows) are read with one statement per table, and the written
    /// rows are deleted and copied (`COPY ... FROM STDIN`) per table at the end.
    public func importCatalogProjects(_ projects: [CatalogProject], mode: CatalogImportMode) throws -> CatalogImportCounts {
        guard !projects.isEmpty else { return CatalogImportCounts() }
        return try connection.transaction {
            try connection.execute("SELECT pg_advisory_xact_lock(hashtext('casebook-catalog:' || $1))", [url.schema])
            let writer = try PostgresCatalogWriter(
                connection: connection, schema: schema, names: projects.map(\.name), readRows: mode == .merge)
            let counts = try writer.write(projects, mode: mode)
            try writer.flush()
            return counts
        }
    }

    public func importedCatalog() throws -> (any PackageCatalog)? {
        let any = try connection.execute("SELECT EXISTS (SELECT 1 FROM \(schema).catalog_projects)").rows.first?[0] == "t"
        return any ? PostgresCatalog(store: self) : nil
    }

    public func catalogSummary() throws -> CatalogSummary {
        let s = schema
        let r = try connection.execute(
            """
            SELECT (SELECT count(*) FROM \(s).catalog_projects), (SELECT count(*) FROM \(s).catalog_releases),
                (SELECT count(*) FROM \(s).catalog_files), (SELECT count(*) FROM \(s).catalog_requirements),
                (SELECT count(*) FROM \(s).catalog_releases WHERE has_metadata), (SELECT max(newest_upload) FROM \(s).catalog_projects)
            """
        ).rows[0]
        return CatalogSummary(
            projects: Int(int(r[0])), releases: Int(int(r[1])), files: Int(int(r[2])), requirements: Int(int(r[3])),
            releasesWithMetadata: Int(int(r[4])), newestUpload: r[5].flatMap { Int64($0) })
    }

    public func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws -> [DependentRelease] {
        let normalized = Array(Set(names.map(ProjectName.normalize))).sorted()
        guard !normalized.isEmpty else { return [] }
        // One index range per name: (name, upload_time) answers the time range without a scan.
        var sql = """
            SELECT project, version, upload_time, requirement, name FROM \(schema).catalog_requirements
            WHERE name = ANY($1::text[]) AND project <> name
            """
        var params: [String?] = [SQL.textArray(normalized)]
        if let from {
            params.append(String(from))
            sql += " AND upload_time >= $\(params.count)::bigint"
        }
        if let to {
            params.append(String(to))
            sql += " AND upload_time < $\(params.count)::bigint"
        }
        var out: [DependentRelease] = []
        try connection.forEachRow(sql, params) { v in
            out.append(
                DependentRelease(
                    project: v(0) ?? "", version: v(1) ?? "", uploadTime: v(2).flatMap { Int64($0) }, requires: v(4) ?? "",
                    requirement: v(3) ?? ""))
        }
        // Ordered as the embedded store orders them (in Swift, so both agree to the byte).
        return out.sorted {
            ($0.uploadTime ?? .min, $0.project, $0.version, $0.requires) < ($1.uploadTime ?? .min, $1.project, $1.version, $1.requires)
        }
    }
}

/// The catalog tables' four operations on PostgreSQL, inside the caller's transaction; the
/// import rules are ``CatalogTablesWriter/write(_:mode:)``'s.
///
/// Nothing is written until ``flush()``: what the batch deletes and inserts is kept here, and
/// ``stamp(of:)`` and ``storedRows(of:)`` answer from it first (a project may appear twice in a
/// batch), then from what was read of the server when the writer was made.
final class PostgresCatalogWriter: CatalogTablesWriter {
    private let connection: PGConnection
    private let schema: String
    /// Stamps of the batch's projects that the server has (read once).
    private var storedStamps: [String: CatalogStamp] = [:]
    /// Names whose server state was read (a name outside them is asked for on its own).
    private var known: Set<String>
    /// Rows of the batch's stored projects (read once, for `.merge`).
    private var storedRowsByName: [String: CatalogRows] = [:]
    /// Projects to delete on the server.
    private var deleted: Set<String> = []
    /// Projects to insert, and their names in the order they were first given.
    private var pending: [String: CatalogRows] = [:]
    private var order: [String] = []
    private var ordered: Set<String> = []

    init(connection: PGConnection, schema: String, names: [String], readRows: Bool) throws {
        self.connection = connection
        self.schema = schema
        known = Set(names)
        let keys = Array(known)
        try connection.forEachRow(
            "SELECT name, fingerprint, last_serial, newest_upload FROM \(schema).catalog_projects WHERE name = ANY($1::text[])",
            [SQL.textArray(keys)]
        ) { v in
            storedStamps[v(0) ?? ""] = CatalogStamp(
                fingerprint: v(1) ?? "", lastSerial: v(2).flatMap { Int64($0) }, newestUpload: v(3).flatMap { Int64($0) })
        }
        if readRows, !storedStamps.isEmpty {
            storedRowsByName = try PostgresCatalog.readRows(Array(storedStamps.keys), connection: connection, schema: schema)
        }
    }

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
        if let rows = storedRowsByName[name] { return rows }
        guard storedStamps[name] != nil else { return nil }
        let rows = try PostgresCatalog.readRows([name], connection: connection, schema: schema)[name]
        storedRowsByName[name] = rows
        return rows
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

    /// Reads the server's stamp of a name the writer was not made with.
    private func learn(_ name: String) throws {
        guard known.insert(name).inserted else { return }
        if let r = try connection.execute(
            "SELECT fingerprint, last_serial, newest_upload FROM \(schema).catalog_projects WHERE name = $1", [name]
        ).rows.first {
            storedStamps[name] = CatalogStamp(
                fingerprint: r[0] ?? "", lastSerial: r[1].flatMap { Int64($0) }, newestUpload: r[2].flatMap { Int64($0) })
        }
    }

    /// Deletes the replaced projects and copies the new rows: eight statements for the batch.
    func flush() throws {
        let s = schema
        if !deleted.isEmpty {
            let names = [SQL.textArray(deleted.sorted())]
            try connection.execute("DELETE FROM \(s).catalog_projects WHERE name = ANY($1::text[])", names)
            for table in ["catalog_releases", "catalog_files", "catalog_requirements"] {
                try connection.execute("DELETE FROM \(s).\(table) WHERE project = ANY($1::text[])", names)
            }
        }
        let batch = order.compactMap { pending[$0] }
        guard !batch.isEmpty else { return }
        var projects = CopyBuffer()
        var releases = CopyBuffer()
        var files = CopyBuffer()
        var requirements = CopyBuffer()
        for rows in batch {
            let p = rows.project
            projects.text(p.name)
            projects.text(p.displayName)
            projects.text(p.latestVersion)
            projects.int(p.lastSerial)
            projects.int(p.newestUpload)
            projects.text(p.fingerprint)
            projects.endRow()
            for r in rows.releases {
                releases.text(p.name)
                releases.text(r.version)
                releases.int(r.uploadTime)
                releases.bool(r.hasMetadata)
                releases.bool(r.requiresDistNull)
                releases.text(r.requiresPython)
                releases.text(r.metadataSource?.rawValue)
                releases.endRow()
            }
            for row in rows.files {
                let f = row.file
                files.text(p.name)
                files.text(row.version)
                files.text(f.filename)
                files.text(f.packageType)
                files.text(f.pythonVersion)
                files.int(f.uploadTime)
                files.bool(f.yanked)
                files.text(f.yankedReason)
                files.text(f.requiresPython)
                files.int(f.size.map(Int64.init))
                files.text(f.sha256)
                files.text(f.url)
                files.endRow()
            }
            for q in rows.requirements {
                requirements.text(p.name)
                requirements.text(q.version)
                requirements.int(Int64(q.position))
                requirements.text(q.text)
                requirements.text(q.name)
                requirements.text(q.specifier)
                requirements.text(q.marker)
                requirements.text(q.extra)
                requirements.int(q.uploadTime)
                requirements.endRow()
            }
        }
        let copies: [(String, CopyBuffer)] = [
            ("catalog_projects (name, display_name, latest_version, last_serial, newest_upload, fingerprint)", projects),
            (
                "catalog_releases (project, version, upload_time, has_metadata, requires_dist_null, requires_python, metadata_source)",
                releases
            ),
            (
                """
                catalog_files (project, version, filename, packagetype, python_version, upload_time, yanked, yanked_reason,
                requires_python, size, sha256, url)
                """,
                files
            ),
            (
                "catalog_requirements (project, version, position, requirement, name, specifier, marker, extra, upload_time)",
                requirements
            )
        ]
        for (table, buffer) in copies where !buffer.isEmpty {
            try connection.copyIn("COPY \(s).\(table) FROM STDIN", buffer.bytes)
        }
    }
}

/// An imported catalog: the catalog tables of a PostgreSQL store, read a project at a time and
/// kept for the rest of the run (a run asks about tens of projects, not the whole index).
public final class PostgresCatalog: PackageCatalog, @unchecked Sendable {
    let store: PostgresEventStore
    private let cache = CatalogReadCache()

    init(store: PostgresEventStore) { self.store = store }

    /// The store's URL (without its password), marked as the imported catalog.
    public var location: String { "\(store.url.redacted) (imported catalog)" }

    public func project(named name: String) throws(CatalogError) -> CatalogProject {
        try cache.project(named: name, location: location) { key in
            try Self.readRows([key], connection: store.connection, schema: store.schema)[key]?.catalogProject
        }
    }

    public func dependents(of name: String) throws(CatalogError) -> [String] {
        try cache.dependents(of: name, location: location) { key in
            try store.connection.execute(
                "SELECT DISTINCT project FROM \(store.schema).catalog_requirements WHERE name = $1 AND project <> $1 ORDER BY project",
                [key]
            ).rows.map { $0[0] ?? "" }
        }
    }

    /// One index range per name over (name, upload time), not a read of every dependent.
    public func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws(CatalogError) -> [DependentRelease] {
        do { return try store.dependentReleases(of: names, from: from, to: to) } catch {
            throw .unreadableDocument(path: location, reason: "\(error)")
        }
    }

    /// Reads the rows of the named projects (those not imported are absent): one statement per table.
    static func readRows(_ names: [String], connection: PGConnection, schema s: String) throws -> [String: CatalogRows] {
        guard !names.isEmpty else { return [:] }
        let arg = [SQL.textArray(names)]
        var out: [String: CatalogRows] = [:]
        try connection.forEachRow(
            """
            SELECT name, display_name, latest_version, last_serial, newest_upload, fingerprint
            FROM \(s).catalog_projects WHERE name = ANY($1::text[])
            """, arg
        ) { v in
            let name = v(0) ?? ""
            out[name] = CatalogRows(
                project: CatalogRows.Project(
                    name: name, displayName: v(1) ?? "", latestVersion: v(2), lastSerial: v(3).flatMap { Int64($0) },
                    newestUpload: v(4).flatMap { Int64($0) }, fingerprint: v(5) ?? ""),
                releases: [], files: [], requirements: [])
        }
        guard !out.isEmpty else { return [:] }
        try connection.forEachRow(
            """
            SELECT project, version, upload_time, has_metadata, requires_dist_null, requires_python, metadata_source
            FROM \(s).catalog_releases WHERE project = ANY($1::text[])
            """, arg
        ) { v in
            out[v(0) ?? ""]?.releases.append(
                CatalogRows.Release(
                    version: v(1) ?? "", uploadTime: v(2).flatMap { Int64($0) }, hasMetadata: v(3) == "t", requiresDistNull: v(4) == "t",
                    requiresPython: v(5), metadataSource: v(6).flatMap(MetadataSource.init(rawValue:))))
        }
        try connection.forEachRow(
            """
            SELECT project, version, filename, packagetype, python_version, upload_time, yanked, yanked_reason, requires_python,
                size, sha256, url
            FROM \(s).catalog_files WHERE project = ANY($1::text[])
            """, arg
        ) { v in
            out[v(0) ?? ""]?.files.append(
                CatalogRows.File(
                    version: v(1) ?? "",
                    file: ReleaseFile(
                        filename: v(2) ?? "", packageType: v(3) ?? "", pythonVersion: v(4), uploadTime: v(5).flatMap { Int64($0) },
                        yanked: v(6) == "t", yankedReason: v(7), requiresPython: v(8), size: v(9).flatMap { Int($0) }, sha256: v(10),
                        url: v(11))))
        }
        try connection.forEachRow(
            """
            SELECT project, version, position, requirement, name, specifier, marker, extra, upload_time
            FROM \(s).catalog_requirements WHERE project = ANY($1::text[])
            """, arg
        ) { v in
            out[v(0) ?? ""]?.requirements.append(
                CatalogRows.Requirement(
                    version: v(1) ?? "", position: v(2).flatMap { Int($0) } ?? 0, text: v(3) ?? "", name: v(4), specifier: v(5),
                    marker: v(6), extra: v(7), uploadTime: v(8).flatMap { Int64($0) }))
        }
        return out
    }
}
