import CasebookCore
import Foundation

/// Reads an existing piwheels-style `downloads` table as it is, without ever writing to it.
///
/// The table (piwheels schema 0.15 or 0.16) has `filename, accessed_by (inet), accessed_at, arch,
/// distro_name, distro_version, os_name, os_version, py_name, py_version` and, from 0.16,
/// `installer_name, installer_version, setuptools_version`; missing columns read as unknown.
/// Every aggregate is one SQL statement run by the server:
/// - project, version and file type come from the file name, parsed once per distinct file name
///   by ``DistributionFilename`` (the same code that reads logs) into a temporary table of this
///   session (temporary tables are not part of the database);
/// - the client key is the same HMAC-SHA256 of the address as ``ClientKeyer`` computes, in SQL
///   with the server's built-in `sha256()` (PostgreSQL 11+), under a salt kept in Casebook's own
///   configuration, never in that database.
/// The session is read-only (`default_transaction_read_only`) once the temporary table exists.
public final class PiwheelsEventStore: EventStore, @unchecked Sendable {
    public let url: PostgresURL
    let connection: PGConnection
    /// Which optional columns the table has.
    public let hasInstallerColumns: Bool
    private let table: String
    private let timestampHasZone: Bool
    private let innerPad: String
    private let outerPad: String
    private let lock = NSLock()
    private var filesWatermark: String?

    /// The default salt file: `$XDG_CONFIG_HOME/casebook/piwheels-salt` or `~/.config/casebook/piwheels-salt`.
    public static var defaultSaltFile: String {
        let env = ProcessInfo.processInfo.environment
        let base =
            env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["HOME"] ?? NSHomeDirectory()) + "/.config"
        return base + "/casebook/piwheels-salt"
    }

    /// Reads (or creates, 0600) a salt file holding 64 hex digits.
    public static func loadSalt(path: String) throws -> [UInt8] {
        if FileManager.default.fileExists(atPath: path) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw PostgresStoreError.saltFile(path, "it exists but cannot be read; check its permissions")
            }
            let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard hex.count >= 32, hex.count % 2 == 0, hex.allSatisfy(\.isHexDigit) else {
                throw PostgresStoreError.saltFile(
                    path, "it must hold an even number (≥ 32) of hex digits; delete it to make a new one (client keys will change)")
            }
            return bytes(fromHex: hex)
        }
        let salt = ClientKeyer.randomSalt()
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((salt.hexString + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw PostgresStoreError.saltFile(path, "cannot write it; give salt-file=PATH in the store URL")
        }
        return salt
    }

    /// Connects to the database named by `url` (layout `piwheels`).
    public convenience init(url: PostgresURL) throws {
        let salt = try Self.loadSalt(path: url.saltFile ?? Self.defaultSaltFile)
        try self.init(url: url, salt: salt)
    }

    /// Connects with an explicit client-key salt (the same salt as a ``ClientKeyer`` gives the same keys).
    public init(url: PostgresURL, salt: [UInt8]) throws {
        self.url = url
        let connection = try PGConnection(url: url)
        self.connection = connection
        // Client keys use the built-in sha256() of PostgreSQL 11 and later.
        if let v = try connection.execute("SHOW server_version_num").rows.first?[0].flatMap({ Int($0) }), v < 110000 {
            throw PostgresStoreError.unsupportedServer(
                url.redacted, "PostgreSQL 11 or later is needed (for sha256()); the server is version \(v)")
        }
        let parts = url.table.split(separator: ".").map(String.init)
        table = parts.map(SQL.ident).joined(separator: ".")
        // The table and its columns.
        guard try connection.execute("SELECT to_regclass($1) IS NOT NULL", [table]).rows[0][0] == "t" else {
            throw PostgresStoreError.tableMissing(url.redacted, table: url.table, detail: "database `\(url.database)` has no table")
        }
        var columns: [String: String] = [:]
        for r in try connection.execute(
            """
            SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
            """, [table]
        ).rows {
            columns[r[0] ?? ""] = r[1] ?? ""
        }
        for required in ["filename", "accessed_by", "accessed_at"] where columns[required] == nil {
            throw PostgresStoreError.tableMissing(url.redacted, table: url.table, detail: "column `\(required)` is missing from")
        }
        hasInstallerColumns = columns["installer_name"] != nil && columns["installer_version"] != nil
        timestampHasZone = columns["accessed_at"]?.contains("with time zone") ?? false
        optionalColumns = Set(columns.keys)
        // HMAC-SHA256 with the key pads precomputed here: sha256(opad || sha256(ipad || message)).
        var k = salt.count > 64 ? SHA256.hash(salt) : salt
        k += [UInt8](repeating: 0, count: 64 - k.count)
        innerPad = k.map { $0 ^ 0x36 }.hexString
        outerPad = k.map { $0 ^ 0x5c }.hexString
        try connection.execute("CREATE TEMP TABLE casebook_files (filename TEXT PRIMARY KEY, project TEXT, version TEXT, file_type TEXT)")
        try connection.execute("SET default_transaction_read_only = on")
        try refreshFiles()
    }

    private var optionalColumns: Set<String> = []

    /// Parses the file names that appeared since the last refresh into the session's lookup table.
    func refreshFiles() throws {
        lock.lock()
        defer { lock.unlock() }
        var names: [String] = []
        let sql =
            filesWatermark == nil
            ? "SELECT DISTINCT filename FROM \(table) WHERE filename IS NOT NULL"
            : "SELECT DISTINCT d.filename FROM \(table) d WHERE d.accessed_at >= $1::\(timestampHasZone ? "timestamptz" : "timestamp") AND d.filename IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_temp.casebook_files l WHERE l.filename = d.filename)"
        let newWatermark = try connection.execute("SELECT MAX(accessed_at)::text FROM \(table)").rows.first?[0] ?? nil
        if newWatermark == filesWatermark, filesWatermark != nil { return }
        try connection.forEachRow(sql, filesWatermark.map { [$0] } ?? []) { v in if let f = v(0) { names.append(f) } }
        filesWatermark = newWatermark
        guard !names.isEmpty else { return }
        var buf = CopyBuffer(reserve: names.count * 64)
        for name in names {
            let parsed = DistributionFilename(name)
            buf.text(name)
            buf.text(parsed?.project)
            buf.text(parsed?.version)
            buf.text(parsed?.fileType)
            buf.endRow()
        }
        try connection.copyIn("COPY pg_temp.casebook_files (filename, project, version, file_type) FROM STDIN", buf.bytes)
        try connection.execute("ANALYZE pg_temp.casebook_files")
    }

    var relation: PostgresRelation {
        let t = table
        let cols = optionalColumns
        let installer = hasInstallerColumns
        let inner = innerPad
        let outer = outerPad
        let zone = timestampHasZone
        let index = url.index
        @Sendable func col(_ name: String) -> String { cols.contains(name) ? "d.\(name)::text" : "NULL::text" }
        let ts = "floor(extract(epoch FROM d.accessed_at))::bigint"
        return PostgresRelation(
            timestamp: ts, count: "1",
            column: { dim in
                switch dim {
                case .project: ("l.project", "l")
                case .version: ("l.version", "l")
                case .filename: ("d.filename::text", nil)
                case .fileType: ("l.file_type", "l")
                case .python: (col("py_version"), nil)
                case .pythonMajor: ("substring(\(col("py_version")) FROM '^[0-9]+')", nil)
                case .pythonMinor:
                    (
                        "regexp_replace(substring(\(col("py_version")) FROM '^[0-9]+[^.]*\\.[0-9]+'), '^([0-9]+)[^.]*\\.([0-9]+)$', '\\1.\\2')",
                        nil
                    )
                case .implementation: (col("py_name"), nil)
                case .installer: (installer ? col("installer_name") : "NULL::text", nil)
                case .installerVersion: (installer ? col("installer_version") : "NULL::text", nil)
                case .distro: (col("distro_name"), nil)
                case .distroVersion: (col("distro_version"), nil)
                case .system: (col("os_name"), nil)
                case .cpu: (col("arch"), nil)
                case .ci, .country, .libc, .libcVersion, .openssl: ("NULL::text", nil)
                case .index: (index.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'::text" } ?? "NULL::text", nil)
                case .client:
                    (
                        "'c-' || substr(encode(sha256(decode('\(outer)', 'hex') || sha256(decode('\(inner)', 'hex') || convert_to(host(d.accessed_by), 'UTF8'))), 'hex'), 1, 16)",
                        nil
                    )
                }
            },
            from: { joins in
                var from = "\(t) d"
                if joins.contains("l") { from += " LEFT JOIN pg_temp.casebook_files l ON l.filename = d.filename" }
                return from
            },
            timeAtLeast: { zone ? "d.accessed_at >= to_timestamp(\($0))" : "d.accessed_at >= (to_timestamp(\($0)) AT TIME ZONE 'UTC')" },
            timeBefore: { zone ? "d.accessed_at < to_timestamp(\($0))" : "d.accessed_at < (to_timestamp(\($0)) AT TIME ZONE 'UTC')" })
    }

    public func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        try aggregateSync(query)
    }

    /// Synchronous form of ``aggregate(_:)``.
    public func aggregateSync(_ query: AggregateQuery) throws -> AggregateTable {
        let dims = query.dimensions + query.filters.map(\.dimension)
        if dims.contains(where: { [.project, .version, .fileType].contains($0) }) { try refreshFiles() }
        return try PostgresQueryBuilder.run(query, over: relation, on: connection)
    }

    public func info() async throws -> StoreInfo { try infoSync() }

    /// What the table holds; schema version 16 or 15 (piwheels' 0.16 or 0.15 columns).
    public func infoSync() throws -> StoreInfo {
        let r = try connection.execute(
            """
            SELECT COUNT(*), MIN(floor(extract(epoch FROM accessed_at))::bigint), MAX(floor(extract(epoch FROM accessed_at))::bigint) FROM \(table)
            """
        ).rows[0]
        return StoreInfo(
            eventRows: int(r[0]), downloads: int(r[0]), firstEvent: r[1].flatMap { Int64($0) },
            lastEvent: r[2].flatMap { Int64($0) }, sources: [], quarantined: [:],
            schemaVersion: hasInstallerColumns ? 16 : 15,
            location: "\(url.redacted) (piwheels \(hasInstallerColumns ? "0.16" : "0.15") table \(url.table), read-only)")
    }
}
