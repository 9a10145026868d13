import CasebookCatalog
import CasebookCore
import Foundation
import GRDB
import GRDBSQLite

/// The catalog tables (schema v8): projects, releases, files and parsed requirements, with
/// requirements indexed by the required name (and upload time) for reverse dependencies.
enum SQLiteCatalogSchema {
    static let sql = """
        CREATE TABLE catalog_projects (
            name TEXT PRIMARY KEY, display_name TEXT NOT NULL, latest_version TEXT,
            last_serial INTEGER, newest_upload INTEGER, fingerprint TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE catalog_releases (
            project TEXT NOT NULL, version TEXT NOT NULL, upload_time INTEGER,
            has_metadata INTEGER NOT NULL, requires_dist_null INTEGER NOT NULL,
            requires_python TEXT, metadata_source TEXT,
            PRIMARY KEY (project, version)
        ) WITHOUT ROWID;
        CREATE TABLE catalog_files (
            project TEXT NOT NULL, version TEXT NOT NULL, filename TEXT NOT NULL,
            packagetype TEXT NOT NULL, python_version TEXT, upload_time INTEGER,
            yanked INTEGER NOT NULL, yanked_reason TEXT, requires_python TEXT,
            size INTEGER, sha256 TEXT, url TEXT,
            PRIMARY KEY (project, version, filename)
        ) WITHOUT ROWID;
        CREATE TABLE catalog_requirements (
            project TEXT NOT NULL, version TEXT NOT NULL, position INTEGER NOT NULL,
            requirement TEXT NOT NULL, name TEXT, specifier TEXT, marker TEXT, extra TEXT,
            upload_time INTEGER,
            PRIMARY KEY (project, version, position)
        ) WITHOUT ROWID;
        CREATE INDEX catalog_requirements_by_name ON catalog_requirements (name, upload_time);
        """
}

extension SQLiteEventStore: CatalogStore {
    public func importCatalogProjects(_ projects: [CatalogProject], mode: CatalogImportMode) throws -> CatalogImportCounts {
        var counts = CatalogImportCounts()
        try dbQueue.inDatabase { db in
            try db.inTransaction(.immediate) {
                counts = try SQLiteCatalogWriter(db: db).write(projects, mode: mode)
                return .commit
            }
        }
        return counts
    }

    public func importedCatalog() throws -> (any PackageCatalog)? {
        let any = try dbQueue.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM catalog_projects)") ?? false }
        return any ? SQLiteCatalog(store: self) : nil
    }

    public func catalogSummary() throws -> CatalogSummary {
        try dbQueue.read { db in
            func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql) ?? 0 }
            return CatalogSummary(
                projects: try count("SELECT count(*) FROM catalog_projects"),
                releases: try count("SELECT count(*) FROM catalog_releases"),
                files: try count("SELECT count(*) FROM catalog_files"),
                requirements: try count("SELECT count(*) FROM catalog_requirements"),
                releasesWithMetadata: try count("SELECT count(*) FROM catalog_releases WHERE has_metadata = 1"),
                newestUpload: try Int64.fetchOne(db, sql: "SELECT max(newest_upload) FROM catalog_projects"))
        }
    }

    public func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws -> [DependentRelease] {
        let normalized = Array(Set(names.map(ProjectName.normalize))).sorted()
        guard !normalized.isEmpty else { return [] }
        return try dbQueue.read { db in
            var out: [DependentRelease] = []
            // One index range per name: (name, upload_time) answers the time range without a scan.
            for name in normalized {
                var sql = "SELECT project, version, upload_time, requirement FROM catalog_requirements WHERE name = ?"
                var args: [(any DatabaseValueConvertible)?] = [name]
                if let from {
                    sql += " AND upload_time >= ?"
                    args.append(from)
                }
                if let to {
                    sql += " AND upload_time < ?"
                    args.append(to)
                }
                let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args))
                for r in rows where (r["project"] as String) != name {
                    out.append(
                        DependentRelease(
                            project: r["project"], version: r["version"], uploadTime: r["upload_time"], requires: name,
                            requirement: r["requirement"]))
                }
            }
            return out.sorted {
                ($0.uploadTime ?? .min, $0.project, $0.version, $0.requires) < ($1.uploadTime ?? .min, $1.project, $1.version, $1.requires)
            }
        }
    }
}

/// The catalog tables' four operations on SQLite, inside the caller's transaction; the import
/// rules are ``CatalogTablesWriter/write(_:mode:)``'s.
struct SQLiteCatalogWriter: CatalogTablesWriter {
    let db: Database

    func stamp(of name: String) throws -> CatalogStamp? {
        let statement = try db.cachedStatement(sql: "SELECT fingerprint, last_serial, newest_upload FROM catalog_projects WHERE name = ?")
        return try Row.fetchOne(statement, arguments: [name]).map {
            CatalogStamp(fingerprint: $0["fingerprint"], lastSerial: $0["last_serial"], newestUpload: $0["newest_upload"])
        }
    }

    func storedRows(of name: String) throws -> CatalogRows? { try SQLiteCatalog.readRows(name, db: db) }

    func delete(_ name: String) throws {
        try db.execute(sql: "DELETE FROM catalog_projects WHERE name = ?", arguments: [name])
        for table in ["catalog_releases", "catalog_files", "catalog_requirements"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE project = ?", arguments: [name])
        }
    }

    func insert(_ rows: CatalogRows) throws {
        let p = rows.project
        try db.cachedStatement(sql: "INSERT INTO catalog_projects VALUES (?, ?, ?, ?, ?, ?)").execute(arguments: [
            p.name, p.displayName, p.latestVersion, p.lastSerial, p.newestUpload, p.fingerprint
        ])
        let release = try db.cachedStatement(sql: "INSERT INTO catalog_releases VALUES (?, ?, ?, ?, ?, ?, ?)")
        for r in rows.releases {
            try release.execute(arguments: [
                p.name, r.version, r.uploadTime, r.hasMetadata ? 1 : 0, r.requiresDistNull ? 1 : 0, r.requiresPython,
                r.metadataSource?.rawValue
            ])
        }
        let file = try db.cachedStatement(sql: "INSERT INTO catalog_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        for row in rows.files {
            let f = row.file
            try file.execute(arguments: [
                p.name, row.version, f.filename, f.packageType, f.pythonVersion, f.uploadTime, f.yanked ? 1 : 0, f.yankedReason,
                f.requiresPython, f.size, f.sha256, f.url
            ])
        }
        let requirement = try db.cachedStatement(sql: "INSERT INTO catalog_requirements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        for q in rows.requirements {
            try requirement.execute(arguments: [
                p.name, q.version, q.position, q.text, q.name, q.specifier, q.marker, q.extra, q.uploadTime
            ])
        }
    }
}

/// An imported catalog: the catalog tables of a SQLite store, read a project at a time and
/// kept for the rest of the run (a run asks about tens of projects, not the whole index).
public final class SQLiteCatalog: PackageCatalog, @unchecked Sendable {
    let store: SQLiteEventStore
    private let cache = CatalogReadCache()

    init(store: SQLiteEventStore) { self.store = store }

    public var location: String { "\(store.path) (imported catalog)" }

    public func project(named name: String) throws(CatalogError) -> CatalogProject {
        try cache.project(named: name, location: location) { key in
            try store.dbQueue.read { db in try Self.readRows(key, db: db)?.catalogProject }
        }
    }

    public func dependents(of name: String) throws(CatalogError) -> [String] {
        try cache.dependents(of: name, location: location) { key in
            try store.dbQueue.read { db in
                try String.fetchAll(
                    db, sql: "SELECT DISTINCT project FROM catalog_requirements WHERE name = ? AND project <> ? ORDER BY project",
                    arguments: [key, key])
            }
        }
    }

    /// One index range per name over (name, upload time), not a read of every dependent.
    public func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws(CatalogError) -> [DependentRelease] {
        do { return try store.dependentReleases(of: names, from: from, to: to) } catch {
            throw .unreadableDocument(path: location, reason: "\(error)")
        }
    }

    /// Reads one project's rows (nil when it is not imported).
    static func readRows(_ name: String, db: Database) throws -> CatalogRows? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM catalog_projects WHERE name = ?", arguments: [name]) else { return nil }
        let project = CatalogRows.Project(
            name: name, displayName: row["display_name"], latestVersion: row["latest_version"], lastSerial: row["last_serial"],
            newestUpload: row["newest_upload"], fingerprint: row["fingerprint"])
        let releases = try Row.fetchAll(db, sql: "SELECT * FROM catalog_releases WHERE project = ?", arguments: [name]).map { r in
            CatalogRows.Release(
                version: r["version"], uploadTime: r["upload_time"], hasMetadata: (r["has_metadata"] as Int) == 1,
                requiresDistNull: (r["requires_dist_null"] as Int) == 1, requiresPython: r["requires_python"],
                metadataSource: (r["metadata_source"] as String?).flatMap(MetadataSource.init(rawValue:)))
        }
        let files = try Row.fetchAll(db, sql: "SELECT * FROM catalog_files WHERE project = ?", arguments: [name]).map { r in
            CatalogRows.File(
                version: r["version"],
                file: ReleaseFile(
                    filename: r["filename"], packageType: r["packagetype"], pythonVersion: r["python_version"],
                    uploadTime: r["upload_time"], yanked: (r["yanked"] as Int) != 0, yankedReason: r["yanked_reason"],
                    requiresPython: r["requires_python"], size: r["size"], sha256: r["sha256"], url: r["url"]))
        }
        let requirements = try Row.fetchAll(db, sql: "SELECT * FROM catalog_requirements WHERE project = ?", arguments: [name]).map { r in
            CatalogRows.Requirement(
                version: r["version"], position: r["position"], text: r["requirement"], name: r["name"], specifier: r["specifier"],
                marker: r["marker"], extra: r["extra"], uploadTime: r["upload_time"])
        }
        return CatalogRows(project: project, releases: releases, files: files, requirements: requirements)
    }
}
