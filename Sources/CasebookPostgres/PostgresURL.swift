import CasebookCore
import Foundation

/// A `postgres://` (or `postgresql://`) store location, parsed.
///
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTIONS]`. Options:
/// - `layout=casebook` (default): Casebook's own schema, read-write.
/// - `layout=piwheels`: an existing piwheels-style `downloads` table, read-only.
/// - `schema=NAME`: the schema holding Casebook's tables (default `casebook`).
/// - `table=[SCHEMA.]NAME`: the piwheels table (default `downloads`).
/// - `salt-file=PATH`: the piwheels layout's client-key salt (default
///   `~/.config/casebook/piwheels-salt`, created on first use).
/// - `index=NAME`: the `index` dimension's value for piwheels rows (default unknown).
/// - `sslmode`, `connect_timeout`, `application_name`: passed to libpq.
///
/// Without a password in the URL, libpq takes it from `PGPASSWORD` or `~/.pgpass`. The password
/// never appears in ``redacted`` or in any error.
public struct PostgresURL: Sendable, CustomStringConvertible {
    /// Which tables the store reads.
    public enum Layout: String, Sendable, Hashable, CaseIterable {
        /// Casebook's own schema (written by `casebook ingest`).
        case casebook
        /// A piwheels-style `downloads` table, read as it is and never written.
        case piwheels
    }

    public var user: String?
    var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var layout: Layout
    /// Schema of Casebook's own tables.
    public var schema: String
    /// The piwheels table, optionally schema-qualified.
    public var table: String
    public var saltFile: String?
    public var index: String?
    /// Extra libpq connection keywords.
    var libpqOptions: [(String, String)] = []
    /// Secrets given as query parameters besides the password (scrubbed from server messages).
    var extraSecrets: [String] = []

    /// Whether `location` is a PostgreSQL URL rather than a file path.
    public static func isPostgresURL(_ location: String) -> Bool {
        let l = location.lowercased()
        return l.hasPrefix("postgres://") || l.hasPrefix("postgresql://")
    }

    /// Parses a URL; errors name the part to fix (and never repeat a password).
    public init(_ string: String) throws {
        guard Self.isPostgresURL(string) else {
            throw PostgresStoreError.invalidURL(Self.redact(string), "expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard let components = URLComponents(string: string) else {
            throw PostgresStoreError.invalidURL(
                Self.redact(string), "not a valid URL (are special characters in the password percent-encoded?)")
        }
        user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding }
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        host = components.percentEncodedHost.flatMap { $0.removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw PostgresStoreError.invalidURL(Self.redact(string), "port \(port) is out of range 1-65535")
        }
        let path = (components.percentEncodedPath.removingPercentEncoding ?? components.path)
        let db = path.hasPrefix("/") ? String(path.dropFirst()) : path
        guard !db.isEmpty, !db.contains("/") else {
            throw PostgresStoreError.invalidURL(
                Self.redact(string), "expected the database name after the host, as in postgres://USER@HOST:PORT/DATABASE")
        }
        database = db
        layout = .casebook
        schema = "casebook"
        table = "downloads"
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name.lowercased() {
            case "layout":
                guard let l = Layout(rawValue: value.lowercased()) else {
                    throw PostgresStoreError.invalidURL(
                        Self.redact(string), "layout=\(value): expected one of \(Layout.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                layout = l
            case "schema":
                guard Self.isIdentifier(value) else {
                    throw PostgresStoreError.invalidURL(Self.redact(string), "schema=\(value): expected a plain name (letters, digits, _)")
                }
                schema = value
            case "table":
                guard value.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ Self.isIdentifier(String($0)) }),
                    value.split(separator: ".").count <= 2
                else {
                    throw PostgresStoreError.invalidURL(
                        Self.redact(string), "table=\(value): expected NAME or SCHEMA.NAME (letters, digits, _)")
                }
                table = value
            case "salt-file", "salt_file": saltFile = value
            case "index": index = value.isEmpty ? nil : value
            case "password":
                // libpq takes it here too; kept like a userinfo password (never shown).
                if password == nil || password == "" { password = value }
            case "sslpassword", "passfile", "sslcert", "sslkey":
                libpqOptions.append((item.name.lowercased(), value))
                if item.name.lowercased() == "sslpassword", !value.isEmpty { extraSecrets.append(value) }
            case "sslmode", "connect_timeout", "application_name", "sslrootcert", "target_session_attrs":
                libpqOptions.append((item.name.lowercased(), value))
            default:
                throw PostgresStoreError.invalidURL(
                    Self.redact(string),
                    "unknown option `\(CredentialRedaction.redact(item.name))`: expected layout, schema, table, salt-file, index, password, sslmode or connect_timeout"
                )
            }
        }
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return s.count <= 63
            && s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// The URL without its password (`postgres://casebook@127.0.0.1:5433/db?layout=piwheels`).
    public var redacted: String {
        var s = "postgres://"
        if let user { s += (user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? user) + "@" }
        s += host.contains(":") ? "[\(host)]" : host
        s += ":\(port)/\(database)"
        var options: [String] = []
        if layout != .casebook { options.append("layout=\(layout.rawValue)") }
        if schema != "casebook" { options.append("schema=\(schema)") }
        if layout == .piwheels, table != "downloads" { options.append("table=\(table)") }
        if !options.isEmpty { s += "?" + options.joined(separator: "&") }
        return s
    }

    public var description: String { redacted }

    /// Removes every credential (userinfo password, `password=`, `sslpassword=`, ... in any
    /// encoding) from a URL-like string that could not be parsed.
    public static func redact(_ string: String) -> String {
        CredentialRedaction.redact(string)
    }

    /// libpq keywords and values for `PQconnectdbParams`.
    var connectionParameters: [(String, String)] {
        var p: [(String, String)] = [
            ("host", host), ("port", String(port)), ("dbname", database),
            ("client_encoding", "UTF8"), ("application_name", "casebook")
        ]
        if let user { p.append(("user", user)) }
        if let password { p.append(("password", password)) }
        if !libpqOptions.contains(where: { $0.0 == "connect_timeout" }) { p.append(("connect_timeout", "10")) }
        p.append(contentsOf: libpqOptions)
        return p
    }

    /// The password given in the URL, if any (to scrub it from server messages).
    var secret: String? { password.flatMap { $0.isEmpty ? nil : $0 } }

    /// Every secret of the URL (password, sslpassword), also percent-encoded, to scrub them.
    var secrets: [String] {
        let raw = ([secret].compactMap { $0 } + extraSecrets).filter { !$0.isEmpty }
        return raw + raw.compactMap { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) }
    }
}
