import CLibPQ
import CasebookCore
import Foundation

/// One libpq connection. Calls are serialised by a lock, so one connection can be shared by the
/// store's (async) callers; statements run with text parameters and text results.
final class PGConnection: @unchecked Sendable {
    let url: PostgresURL
    private let conn: OpaquePointer
    private let lock = NSRecursiveLock()

    /// Connects, turning libpq's failures into ``PostgresStoreError``s that name what to fix.
    init(url: PostgresURL) throws {
        self.url = url
        let params = url.connectionParameters
        let keys = params.map { strdup($0.0) }
        let values = params.map { strdup($0.1) }
        defer {
            for pointer in keys + values { free(pointer) }
        }
        var kp: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
        var vp: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        guard
            let c = kp.withUnsafeMutableBufferPointer({ k in
                vp.withUnsafeMutableBufferPointer { v in PQconnectdbParams(k.baseAddress, v.baseAddress, 0) }
            })
        else {
            throw PostgresStoreError.connectionFailed(url.redacted, "out of memory")
        }
        guard PQstatus(c) == CONNECTION_OK else {
            let message = Self.scrub(String(cString: PQerrorMessage(c)), secrets: url.secrets)
            let needsPassword = PQconnectionNeedsPassword(c) != 0
            PQfinish(c)
            throw Self.classify(message, needsPassword: needsPassword, url: url)
        }
        conn = c
        _ = try? execute("SET client_min_messages = warning")
    }

    deinit { PQfinish(conn) }

    static func classify(_ message: String, needsPassword: Bool, url: PostgresURL) -> PostgresStoreError {
        let m = message.lowercased()
        let user = url.user ?? ProcessInfo.processInfo.environment["PGUSER"] ?? NSUserName()
        if m.contains("password authentication failed") || m.contains("no password supplied") || needsPassword
            || m.contains("authentication failed")
        {
            return .authenticationFailed(url.redacted, user: user)
        }
        if m.contains("connection refused") { return .connectionRefused(url.redacted) }
        if m.contains("could not translate host name") || m.contains("name or service not known") {
            return .unknownHost(url.redacted, host: url.host)
        }
        if m.contains("database") && m.contains("does not exist") { return .databaseMissing(url.redacted, database: url.database) }
        let first = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
        return .connectionFailed(url.redacted, first)
    }

    /// Never let a password reach a message, even if a server were to echo it.
    static func scrub(_ s: String, secrets: [String]) -> String {
        CredentialRedaction.scrub(CredentialRedaction.redact(s), secrets: secrets)
    }

    /// A statement's text result.
    struct Result {
        var columns: Int
        var rows: [[String?]]
    }

    /// Runs one statement with text parameters (`$1`, `$2`, ...), returning its rows.
    /// Without parameters, `sql` may hold several statements (the simple query protocol).
    @discardableResult
    func execute(_ sql: String, _ params: [String?] = []) throws -> Result {
        lock.lock()
        defer { lock.unlock() }
        let res =
            params.isEmpty
            ? PQexec(conn, sql)
            : withParams(params) { count, values in
                PQexecParams(conn, sql, Int32(count), nil, values, nil, nil, 0)
            }
        guard let res else { throw error(nil) }
        defer { PQclear(res) }
        let status = PQresultStatus(res)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw error(res) }
        let nrows = Int(PQntuples(res))
        let ncols = Int(PQnfields(res))
        var rows: [[String?]] = []
        rows.reserveCapacity(nrows)
        for r in 0..<nrows {
            var row: [String?] = []
            row.reserveCapacity(ncols)
            for c in 0..<ncols {
                if PQgetisnull(res, Int32(r), Int32(c)) != 0 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(res, Int32(r), Int32(c))))
                }
            }
            rows.append(row)
        }
        return Result(columns: ncols, rows: rows)
    }

    /// Runs a statement and hands each row's text values to `body` without building arrays of rows.
    func forEachRow(_ sql: String, _ params: [String?], _ body: (_ value: (Int) -> String?) throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        let res = withParams(params) { count, values in
            PQexecParams(conn, sql, Int32(count), nil, values, nil, nil, 0)
        }
        guard let res else { throw error(nil) }
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK else { throw error(res) }
        let nrows = PQntuples(res)
        for r in 0..<nrows {
            try body { c in
                PQgetisnull(res, r, Int32(c)) != 0 ? nil : String(cString: PQgetvalue(res, r, Int32(c)))
            }
        }
    }

    /// `COPY ... FROM STDIN` in text format: `data` must hold complete, escaped rows (see ``CopyBuffer``).
    func copyIn(_ sql: String, _ data: [UInt8]) throws {
        lock.lock()
        defer { lock.unlock() }
        guard let start = PQexec(conn, sql) else { throw error(nil) }
        let status = PQresultStatus(start)
        guard status == PGRES_COPY_IN else {
            defer { PQclear(start) }
            throw error(start)
        }
        PQclear(start)
        var sendFailed = false
        data.withUnsafeBufferPointer { buf in
            var offset = 0
            while offset < buf.count {
                let n = min(1 << 20, buf.count - offset)
                let rc = buf.baseAddress!.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: n) {
                    PQputCopyData(conn, $0, Int32(n))
                }
                if rc != 1 {
                    sendFailed = true
                    return
                }
                offset += n
            }
        }
        _ = PQputCopyEnd(conn, sendFailed ? "casebook: sending data failed" : nil)
        var failure: PostgresStoreError?
        while let res = PQgetResult(conn) {
            if PQresultStatus(res) != PGRES_COMMAND_OK, failure == nil { failure = error(res) }
            PQclear(res)
        }
        if let failure { throw failure }
        if sendFailed { throw error(nil) }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    private func withParams<R>(_ params: [String?], _ body: (Int, UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        if params.isEmpty { return body(0, nil) }
        let copies: [UnsafeMutablePointer<CChar>?] = params.map { $0.map { strdup($0) } ?? nil }
        defer { for copy in copies { free(copy) } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body(params.count, $0.baseAddress) }
    }

    private func error(_ res: OpaquePointer?) -> PostgresStoreError {
        if let res, let state = PQresultErrorField(res, Int32(UInt8(ascii: "C"))) {
            let primary = PQresultErrorField(res, Int32(UInt8(ascii: "M"))).map { String(cString: $0) } ?? ""
            return .queryFailed(url.redacted, sqlState: String(cString: state), message: Self.scrub(primary, secrets: url.secrets))
        }
        let message = Self.scrub(String(cString: PQerrorMessage(conn)), secrets: url.secrets)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if PQstatus(conn) != CONNECTION_OK {
            return .connectionFailed(url.redacted, "connection lost: \(message)")
        }
        return .queryFailed(url.redacted, sqlState: "", message: message)
    }
}

/// Rows in PostgreSQL's COPY text format: tab-separated, `\N` for NULL, backslash escapes.
struct CopyBuffer {
    var bytes: [UInt8] = []
    private var first = true

    init(reserve: Int = 0) { bytes.reserveCapacity(reserve) }

    var isEmpty: Bool { bytes.isEmpty }

    mutating func text(_ s: String?) {
        separator()
        guard var s else {
            bytes.append(contentsOf: [92, 78])
            return
        }  // \N
        s.withUTF8 { u in
            for b in u {
                switch b {
                case 92:
                    bytes.append(92)
                    bytes.append(92)
                case 9:
                    bytes.append(92)
                    bytes.append(116)
                case 10:
                    bytes.append(92)
                    bytes.append(110)
                case 13:
                    bytes.append(92)
                    bytes.append(114)
                case 0: bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])  // text cannot hold NUL
                default: bytes.append(b)
                }
            }
        }
    }

    mutating func int(_ v: Int64?) {
        separator()
        guard let v else {
            bytes.append(contentsOf: [92, 78])
            return
        }
        if v >= 0 && v < 10 {
            bytes.append(48 + UInt8(v))
            return
        }
        bytes.append(contentsOf: String(v).utf8)
    }

    /// A boolean as PostgreSQL's text form (`t`, `f`).
    mutating func bool(_ v: Bool) { text(v ? "t" : "f") }

    mutating func endRow() {
        bytes.append(10)
        first = true
    }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        first = true
    }

    private mutating func separator() {
        if first { first = false } else { bytes.append(9) }
    }
}

/// SQL literal helpers for the few places that need them (identifiers, arrays).
enum SQL {
    /// A double-quoted identifier.
    static func ident(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// A text array literal for a `$n::text[]` parameter.
    static func textArray(_ values: [String]) -> String {
        "{"
            + values.map { v in
                "\""
                    + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    .replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") + "\""
            }.joined(separator: ",") + "}"
    }
}
