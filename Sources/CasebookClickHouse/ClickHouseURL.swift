import CasebookCore
import Foundation

/// A `clickhouse://` store location, parsed.
///
/// `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?OPTIONS]`, spoken to over ClickHouse's
/// HTTP interface (default port 8123, default user `default`). Options:
/// - `layout=casebook` (default): Casebook's own tables in `DATABASE`, read-write.
/// - `layout=clickpy`: ClickPy's public PyPI downloads table (`DATABASE.pypi`), read-only
///   (see ``ClickPyEventStore``); `table=NAME` names another table with the same columns.
/// - `timeout=SECONDS`: how long one request may take (default 300).
/// - `cluster=NAME&shards=HOST:PORT,HOST:PORT,...`: Casebook's tables on several servers, one
///   shard each (see ``ClickHouseEventStore``): `NAME` is the cluster in the servers'
///   `remote_servers` configuration, `shards` the HTTP address of each of its shards, the URL's
///   own server among them (queries go to it). The user and password are the same on every shard.
///
/// Without a password in the URL, the password is read from `CASEBOOK_CLICKHOUSE_PASSWORD`
/// (none when unset). The password never appears in ``redacted`` or in any error; it is sent
/// only in the `Authorization` header, never in a request's URL.
public struct ClickHouseURL: Sendable, CustomStringConvertible {
    /// Which tables the store reads.
    public enum Layout: String, Sendable, Hashable, CaseIterable {
        /// Casebook's own tables (written by `casebook ingest`).
        case casebook
        /// ClickPy's PyPI downloads table (`pypi.pypi`: one row per download, by day), read
        /// as it is and never written.
        case clickpy
    }

    /// The environment variable read for the password when the URL has none.
    public static let passwordVariable = "CASEBOOK_CLICKHOUSE_PASSWORD"

    public var user: String
    var password: String?
    public var host: String
    public var port: Int
    /// The database holding Casebook's tables (created by the first ingest).
    public var database: String
    public var layout: Layout
    /// The downloads table of the `clickpy` layout when the URL names one (`table=NAME`).
    public var table: String?
    /// Seconds one HTTP request may take.
    public var timeout: Double
    /// The cluster (in the servers' `remote_servers`) whose shards hold the store, if any.
    public var cluster: String?
    /// The HTTP address (`HOST:PORT`) of every shard of ``cluster``, in the order given.
    public var shards: [String] = []

    /// Whether `location` is a ClickHouse URL rather than a file path.
    public static func isClickHouseURL(_ location: String) -> Bool {
        location.lowercased().hasPrefix("clickhouse://")
    }

    /// Parses a URL; errors name the part to fix (and never repeat a password). `environment`
    /// supplies ``passwordVariable`` when the URL has no password.
    public init(_ string: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let shown = CredentialRedaction.redact(string)
        guard Self.isClickHouseURL(string) else {
            throw ClickHouseStoreError.invalidURL(shown, "expected clickhouse://USER@HOST:PORT/DATABASE")
        }
        guard let components = URLComponents(string: string) else {
            throw ClickHouseStoreError.invalidURL(shown, "not a valid URL (are special characters in the password percent-encoded?)")
        }
        user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 }
        if password == nil { password = environment[Self.passwordVariable].flatMap { $0.isEmpty ? nil : $0 } }
        host = components.percentEncodedHost.flatMap { $0.removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        port = components.port ?? 8123
        guard (1...65535).contains(port) else {
            throw ClickHouseStoreError.invalidURL(shown, "port \(port) is out of range 1-65535")
        }
        let path = components.percentEncodedPath.removingPercentEncoding ?? components.path
        let db = path.hasPrefix("/") ? String(path.dropFirst()) : path
        guard !db.isEmpty, !db.contains("/") else {
            throw ClickHouseStoreError.invalidURL(
                shown, "expected the database name after the host, as in clickhouse://USER@HOST:PORT/DATABASE")
        }
        guard Self.isIdentifier(db) else {
            throw ClickHouseStoreError.invalidURL(shown, "database `\(db)`: expected a plain name (letters, digits, _)")
        }
        database = db
        layout = .casebook
        timeout = 300
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name.lowercased() {
            case "layout":
                guard let l = Layout(rawValue: value.lowercased()) else {
                    throw ClickHouseStoreError.invalidURL(
                        shown, "layout=\(value): expected one of \(Layout.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                layout = l
            case "table":
                guard Self.isIdentifier(value) else {
                    throw ClickHouseStoreError.invalidURL(shown, "table=\(value): expected a plain name (letters, digits, _)")
                }
                table = value
            case "cluster":
                guard Self.isIdentifier(value) else {
                    throw ClickHouseStoreError.invalidURL(shown, "cluster=\(value): expected a plain name (letters, digits, _)")
                }
                cluster = value
            case "shards":
                shards = try value.split(separator: ",", omittingEmptySubsequences: false).map { part in
                    let address = part.trimmingCharacters(in: .whitespaces)
                    guard let (h, p) = Self.hostAndPort(address) else {
                        throw ClickHouseStoreError.invalidURL(
                            shown, "shards=\(value): expected HOST:PORT,HOST:PORT,... (each shard's HTTP address), found `\(address)`")
                    }
                    return Self.address(h, p)
                }
            case "timeout":
                guard let t = Double(value), t > 0, t.isFinite else {
                    throw ClickHouseStoreError.invalidURL(shown, "timeout=\(value): expected a number of seconds above 0")
                }
                timeout = t
            default:
                throw ClickHouseStoreError.invalidURL(
                    shown,
                    "unknown option `\(CredentialRedaction.redact(item.name))`: expected layout, table, timeout, cluster or shards (give the password in the URL or \(Self.passwordVariable))"
                )
            }
        }
        if (cluster == nil) != shards.isEmpty {
            throw ClickHouseStoreError.invalidURL(
                shown, "cluster= and shards= go together: the cluster's name and the HTTP address of each of its shards")
        }
        if cluster != nil {
            guard layout == .casebook else {
                throw ClickHouseStoreError.invalidURL(
                    shown, "cluster= holds Casebook's own tables: it does not go with layout=\(layout.rawValue)")
            }
            guard shards.contains(Self.address(host, port)) else {
                throw ClickHouseStoreError.invalidURL(
                    shown,
                    "the URL's server \(Self.address(host, port)) is not among shards=\(shards.joined(separator: ",")): queries go to it, so it must be one of the cluster's shards"
                )
            }
            guard Set(shards).count == shards.count else {
                throw ClickHouseStoreError.invalidURL(shown, "shards=\(shards.joined(separator: ",")) names a server twice")
            }
        }
        if table != nil, layout != .clickpy {
            throw ClickHouseStoreError.invalidURL(
                shown, "table= names ClickPy's downloads table: it goes with layout=clickpy (Casebook's own tables have fixed names)")
        }
    }

    /// Whether `s` is a name ClickHouse takes unquoted (letters, digits and `_`, not first a digit).
    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return s.count <= 63
            && s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// `HOST:PORT` parsed (`[::1]:8123` for IPv6); `nil` when malformed.
    static func hostAndPort(_ s: String) -> (String, Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains("/"), !host.contains("@") else { return nil }
        return (host, port)
    }

    /// `HOST:PORT`, brackets around an IPv6 host.
    static func address(_ host: String, _ port: Int) -> String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// One URL per shard of ``cluster``, in the order of ``shards`` (the same user, password and
    /// database, no cluster), or this URL alone when it names none.
    public var shardURLs: [ClickHouseURL] {
        guard cluster != nil else { return [self] }
        return shards.map { address in
            var u = self
            (u.host, u.port) = Self.hostAndPort(address)!
            u.cluster = nil
            u.shards = []
            return u
        }
    }

    /// The URL without its password (`clickhouse://casebook@127.0.0.1:8124/casebook_test`), with
    /// its layout when it is not Casebook's own.
    public var redacted: String {
        var s = "clickhouse://"
        s += (user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? user) + "@"
        s += host.contains(":") ? "[\(host)]" : host
        s += ":\(port)/\(database)"
        if layout == .clickpy { s += "?layout=clickpy" + (table.map { "&table=\($0)" } ?? "") }
        if let cluster { s += "?cluster=\(cluster)&shards=\(shards.joined(separator: ","))" }
        return s
    }

    public var description: String { redacted }

    /// The server's HTTP endpoint (no credentials: they go in a header).
    var endpoint: URL {
        var c = URLComponents()
        c.scheme = "http"
        c.host = host.contains(":") ? "[\(host)]" : host
        c.port = port
        c.path = "/"
        return c.url!
    }

    /// The `Authorization` header's value (HTTP basic authentication).
    var authorization: String {
        "Basic " + Data("\(user):\(password ?? "")".utf8).base64EncodedString()
    }

    /// The password, also percent-encoded, to scrub it from any message.
    var secrets: [String] {
        guard let password, !password.isEmpty else { return [] }
        return [password, password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password]
    }
}
