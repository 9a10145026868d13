import CasebookCore
import Foundation

/// A small, synchronous client of ClickHouse's HTTP interface (see ``HTTPTransport`` for why it
/// speaks HTTP over a plain blocking socket rather than through `URLSession`).
///
/// Statements are sent as the body of a `POST`; inserts send the statement in the `query`
/// parameter and the rows as the body. The user and password travel in the `Authorization`
/// header only. Failures become ``ClickHouseStoreError``s that name the redacted URL.
final class ClickHouseClient: Sendable {
    let url: ClickHouseURL
    private let transport: HTTPTransport

    init(url: ClickHouseURL) {
        self.url = url
        transport = HTTPTransport(host: url.host, port: url.port, timeout: url.timeout)
    }

    /// Runs a statement; returns the answer's bytes (empty for statements without rows).
    @discardableResult
    func execute(_ sql: String) throws -> [UInt8] {
        try send(query: nil, body: Array(sql.utf8))
    }

    /// Runs a `SELECT ... FORMAT TabSeparated` and reads its rows.
    func rows(_ sql: String) throws -> [[String?]] {
        TabSeparatedReader.rows(try execute(sql + " FORMAT TabSeparated"))
    }

    /// The first column of the first row of a `SELECT` (nil when none, or NULL).
    func scalar(_ sql: String) throws -> String? {
        try rows(sql).first?.first ?? nil
    }

    /// Sends rows for `insert` (`INSERT INTO t (a, b) FORMAT TabSeparated`) as the request body.
    func insert(_ insert: String, rows: [UInt8]) throws {
        try send(query: insert, body: rows)
    }

    /// `wait_end_of_query=1`: the server buffers the answer, so an error met while computing it
    /// comes as an HTTP error status, never after a `200` and part of the rows.
    static func target(query: String?) -> String {
        var t = "/?wait_end_of_query=1"
        if let query { t += "&query=" + percentEncoded(query) }
        return t
    }

    /// Percent-encodes everything but unreserved characters (so `+`, `&`, `=` and `#` are safe).
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    @discardableResult
    private func send(query: String?, body: [UInt8]) throws -> [UInt8] {
        let headers = [
            ("Authorization", url.authorization),
            ("User-Agent", "casebook (package-download investigations)"),
            ("Content-Type", "text/plain; charset=utf-8")
        ]
        let response: HTTPTransport.Response
        do {
            response = try transport.post(Self.target(query: query), headers: headers, body: body)
        } catch {
            throw mapTransportError(error)
        }
        guard response.status == 200 else { throw mapServerError(status: response.status, body: response.body) }
        return response.body
    }

    private func mapTransportError(_ error: HTTPTransport.Failure) -> ClickHouseStoreError {
        switch error {
        case .refused: .connectionRefused(url.redacted)
        case .unknownHost: .unknownHost(url.redacted, host: url.host)
        case .timedOut: .timeout(url.redacted, seconds: url.timeout)
        case .failed(let message): .connectionFailed(url.redacted, CredentialRedaction.scrub(message, secrets: url.secrets))
        }
    }

    /// The server's error: `Code: 193, e.displayText() = DB::Exception: Wrong password for user x, e.what() = ...`.
    private func mapServerError(status: Int, body: [UInt8]) -> ClickHouseStoreError {
        let text = CredentialRedaction.scrub(String(decoding: body, as: UTF8.self), secrets: url.secrets)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let code = Self.errorCode(text)
        // 192 unknown user, 193 wrong password, 194 password required, 195 IP not allowed, 516 (newer servers).
        if status == 401 || status == 403 || [192, 193, 194, 195, 516].contains(code ?? -1) {
            return .authenticationFailed(url.redacted, user: url.user)
        }
        return .queryFailed(url.redacted, code: code, message: Self.message(text, status: status))
    }

    static func errorCode(_ text: String) -> Int? {
        guard let r = text.range(of: "Code: ") else { return nil }
        return Int(text[r.upperBound...].prefix { $0.isNumber })
    }

    /// The human part of a server error (`Table db.t doesn't exist.`), without the code and the
    /// C++ exception names.
    static func message(_ text: String, status: Int) -> String {
        var m = Substring(text)
        if let r = m.range(of: "DB::Exception: ") { m = m[r.upperBound...] }
        if let r = m.range(of: ", e.what() = ") { m = m[..<r.lowerBound] }
        if let r = m.range(of: " (version ") { m = m[..<r.lowerBound] }
        let s = m.trimmingCharacters(in: .whitespacesAndNewlines)
        return s.isEmpty ? "HTTP status \(status)" : String(s.prefix(2000))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
