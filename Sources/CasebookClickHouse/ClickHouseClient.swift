import CasebookCore
import Dispatch
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A small, synchronous client of ClickHouse's HTTP interface over Foundation's `URLSession`.
///
/// Statements are sent as the body of a `POST`; inserts send the statement in the `query`
/// parameter and the rows as the body. The user and password travel in the `Authorization`
/// header only. Failures become ``ClickHouseStoreError``s that name the redacted URL.
final class ClickHouseClient: @unchecked Sendable {
    let url: ClickHouseURL
    private let session: URLSession

    init(url: ClickHouseURL) {
        self.url = url
        let config = URLSessionConfiguration.ephemeral
        config.urlCache = nil
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.timeoutIntervalForRequest = url.timeout
        config.timeoutIntervalForResource = url.timeout
        config.httpMaximumConnectionsPerHost = 2
        session = URLSession(configuration: config)
    }

    deinit { session.invalidateAndCancel() }

    /// Runs a statement; returns the answer's bytes (empty for statements without rows).
    @discardableResult
    func execute(_ sql: String) throws -> [UInt8] {
        var req = request(query: nil)
        req.httpBody = Data(sql.utf8)
        return try send(req)
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
        var req = request(query: insert)
        req.httpBody = Data(rows)
        try send(req)
    }

    private func request(query: String?) -> URLRequest {
        var endpoint = URLComponents(url: url.endpoint, resolvingAgainstBaseURL: false)!
        if let query { endpoint.queryItems = [URLQueryItem(name: "query", value: query)] }
        var req = URLRequest(url: endpoint.url!, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: url.timeout)
        req.httpMethod = "POST"
        req.setValue(url.authorization, forHTTPHeaderField: "Authorization")
        req.setValue("casebook (package-download investigations)", forHTTPHeaderField: "User-Agent")
        req.setValue("text/plain; charset=utf-8", forHTTPHeaderField: "Content-Type")
        return req
    }

    /// What a finished request gave back.
    private final class Outcome: @unchecked Sendable {
        var data: Data?
        var response: URLResponse?
        var error: (any Error)?
    }

    private func send(_ req: URLRequest) throws -> [UInt8] {
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: req) { data, response, error in
            outcome.data = data
            outcome.response = response
            outcome.error = error
            done.signal()
        }
        task.resume()
        done.wait()
        if let error = outcome.error { throw mapTransportError(error) }
        guard let http = outcome.response as? HTTPURLResponse else {
            throw ClickHouseStoreError.connectionFailed(url.redacted, "the server's answer is not HTTP")
        }
        let body = [UInt8](outcome.data ?? Data())
        guard http.statusCode == 200 else { throw mapServerError(status: http.statusCode, body: body) }
        return body
    }

    private func mapTransportError(_ error: any Error) -> ClickHouseStoreError {
        let ns = error as NSError
        if ns.domain == NSURLErrorDomain {
            switch ns.code {
            case NSURLErrorCannotConnectToHost: return .connectionRefused(url.redacted)
            case NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed: return .unknownHost(url.redacted, host: url.host)
            case NSURLErrorTimedOut: return .timeout(url.redacted, seconds: url.timeout)
            default: break
            }
        }
        return .connectionFailed(url.redacted, CredentialRedaction.scrub(ns.localizedDescription, secrets: url.secrets))
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
