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

/// Writes projects into the catalog tables inside the caller's transaction.
struct SQLiteCatalogWriter {
    let db: Database

    func write(_ projects: [CatalogProject], mode: CatalogImportMode) throws -> CatalogImportCounts {
        var counts = CatalogImportCounts()
        let existing = try db.makeStatement(sql: "SELECT fingerprint, last_serial, newest_upload FROM catalog_projects WHERE name = ?")
        for incoming in projects {
            var project = incoming
            let row = try Row.fetchOne(existing, arguments: [project.name])
            if let row {
                if mode == .merge, let stored = try SQLiteCatalog.readProject(project.name, db: db) {
                    project = stored.merging(project)
                }
                let fingerprint = project.fingerprint
                if fingerprint == (row["fingerprint"] as String) {
                    counts.unchanged += 1
                    continue
                }
                if mode == .replaceNewer, Self.isOlder(project, thanSerial: row["last_serial"], upload: row["newest_upload"]) {
                    counts.older += 1
                    continue
                }
                try delete(project.name)
                try insert(project, fingerprint: fingerprint)
                counts.replaced += 1
            } else {
                try insert(project, fingerprint: project.fingerprint)
                counts.added += 1
            }
        }
        return counts
    }

    /// A project document is older than the stored one when its `last_serial` is lower (or,
    /// when either lacks one, its newest upload is earlier).
    static func isOlder(_ p: CatalogProject, thanSerial serial: Int64?, upload: Int64?) -> Bool {
        if let a = p.lastSerial, let b = serial { return a < b }
        if let a = p.newestUpload, let b = upload { return a < b }
        return false
    }

    func delete(_ name: String) throws {
        for table in ["catalog_projects"] { try db.execute(sql: "DELETE FROM \(table) WHERE name = ?", arguments: [name]) }
        for table in ["catalog_releases", "catalog_files", "catalog_requirements"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE project = ?", arguments: [name])
        }
    }

    func insert(_ p: CatalogProject, fingerprint: String) throws {
        try db.execute(
            sql: "INSERT INTO catalog_projects VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [p.name, p.displayName, p.latestVersion, p.lastSerial, p.newestUpload, fingerprint])
        let release = try db.cachedStatement(sql: "INSERT INTO catalog_releases VALUES (?, ?, ?, ?, ?, ?, ?)")
        let file = try db.cachedStatement(sql: "INSERT OR REPLACE INTO catalog_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        let requirement = try db.cachedStatement(sql: "INSERT INTO catalog_requirements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        for v in p.versions {
            let files = p.files[v] ?? []
            let upload = files.compactMap(\.uploadTime).min()
            let meta = p.metadata[v]
            try release.execute(arguments: [
                p.name, v, upload, meta == nil ? 0 : 1, meta.map { $0.requiresDist == nil ? 1 : 0 } ?? 0, meta?.requiresPython,
                meta?.source.rawValue
            ])
            for f in files {
                try file.execute(arguments: [
                    p.name, v, f.filename, f.packageType, f.pythonVersion, f.uploadTime, f.yanked ? 1 : 0, f.yankedReason,
                    f.requiresPython, f.size, f.sha256, f.url
                ])
            }
            for (i, text) in (meta?.requiresDist ?? []).enumerated() {
                let parsed = try? Requirement(text)
                let extra = parsed?.marker.flatMap(Self.extraName)
                try requirement.execute(arguments: [
                    p.name, v, i, text, parsed?.normalizedName ?? Requirement.quickName(text),
                    parsed.map { $0.specifier.isEmpty ? nil : $0.specifier.description } ?? nil, parsed?.marker?.description,
                    extra, upload
                ])
            }
        }
    }

    /// The extra a marker asks for (`extra == "socks"` → `socks`), when it names one.
    static func extraName(_ marker: Marker) -> String? {
        guard marker.variables.contains("extra") else { return nil }
        let text = marker.description
        guard let range = text.range(of: #"extra\s*==\s*["']([^"']+)["']"#, options: .regularExpression) else { return nil }
        let match = text[range]
        guard let q = match.firstIndex(where: { $0 == "\"" || $0 == "'" }) else { return nil }
        return ProjectName.normalize(String(match[match.index(after: q)...].dropLast()))
    }
}

/// An imported catalog: the catalog tables of a SQLite store, read a project at a time and
/// kept for the rest of the run (a run asks about tens of projects, not the whole index).
public final class SQLiteCatalog: PackageCatalog, @unchecked Sendable {
    let store: SQLiteEventStore
    private let lock = NSLock()
    private var cache: [String: CatalogProject] = [:]
    private var dependentsCache: [String: [String]] = [:]

    init(store: SQLiteEventStore) { self.store = store }

    public var location: String { "\(store.path) (imported catalog)" }

    public func project(named name: String) throws(CatalogError) -> CatalogProject {
        let key = ProjectName.normalize(name)
        lock.lock()
        defer { lock.unlock() }
        if let p = cache[key] { return p }
        let project: CatalogProject?
        do { project = try store.dbQueue.read { db in try Self.readProject(key, db: db) } } catch {
            throw .unreadableDocument(path: location, reason: "\(error)")
        }
        guard let project else { throw .noSuchProject(name: name, catalog: location) }
        cache[key] = project
        return project
    }

    public func dependents(of name: String) throws(CatalogError) -> [String] {
        let key = ProjectName.normalize(name)
        lock.lock()
        defer { lock.unlock() }
        if let d = dependentsCache[key] { return d }
        let names: [String]
        do {
            names = try store.dbQueue.read { db in
                try String.fetchAll(
                    db, sql: "SELECT DISTINCT project FROM catalog_requirements WHERE name = ? AND project <> ? ORDER BY project",
                    arguments: [key, key])
            }
        } catch { throw .unreadableDocument(path: location, reason: "\(error)") }
        dependentsCache[key] = names
        return names
    }

    /// Reads one project's rows back into a ``CatalogProject`` (nil when it is not imported).
    static func readProject(_ name: String, db: Database) throws -> CatalogProject? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM catalog_projects WHERE name = ?", arguments: [name]) else { return nil }
        var files: [String: [ReleaseFile]] = [:]
        var metadata: [String: ReleaseMetadata] = [:]
        for r in try Row.fetchAll(db, sql: "SELECT * FROM catalog_releases WHERE project = ?", arguments: [name]) {
            let v: String = r["version"]
            files[v] = []
            if (r["has_metadata"] as Int) == 1 {
                metadata[v] = ReleaseMetadata(
                    requiresDist: (r["requires_dist_null"] as Int) == 1 ? nil : [], requiresPython: r["requires_python"],
                    source: MetadataSource(rawValue: r["metadata_source"] ?? "") ?? .releaseDocument)
            }
        }
        for r in try Row.fetchAll(db, sql: "SELECT * FROM catalog_files WHERE project = ? ORDER BY version, filename", arguments: [name]) {
            let f = ReleaseFile(
                filename: r["filename"], packageType: r["packagetype"], pythonVersion: r["python_version"], uploadTime: r["upload_time"],
                yanked: (r["yanked"] as Int) != 0, yankedReason: r["yanked_reason"], requiresPython: r["requires_python"], size: r["size"],
                sha256: r["sha256"], url: r["url"])
            files[r["version"], default: []].append(f)
        }
        for r in try Row.fetchAll(
            db, sql: "SELECT version, requirement FROM catalog_requirements WHERE project = ? ORDER BY version, position", arguments: [name]
        ) {
            let v: String = r["version"]
            metadata[v]?.requiresDist?.append(r["requirement"])
        }
        return CatalogProject(
            name: name, displayName: row["display_name"], latestVersion: row["latest_version"], lastSerial: row["last_serial"],
            files: files, metadata: metadata)
    }
}
