import CasebookCore
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Why a fetch failed, written for the person running it.
public enum FetchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No index URL given and `CASEBOOK_INDEX_URL` unset.
    case noIndexURL
    /// The index URL is not an http(s) URL.
    case invalidIndexURL(String)
    /// The index answered 404.
    case noSuchProject(name: String, index: String)
    /// The index answered 404 for one release document.
    case noSuchRelease(project: String, version: String, index: String)
    /// Cannot reach the host (offline, DNS failure, connection refused).
    case offline(url: String, reason: String)
    /// No answer within the timeout.
    case timeout(url: String, seconds: Double)
    /// An error status that persisted after the retries (429 or 5xx), or another status.
    case httpStatus(url: String, status: Int, attempts: Int)
    /// The body is not a JSON API document.
    case invalidDocument(url: String, reason: String)
    /// Writing into the catalog directory failed.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .noIndexURL:
            return "no index URL: pass --index-url URL (the JSON API base, under which NAME/json lives) or set CASEBOOK_INDEX_URL"
        case .invalidIndexURL(let u): return "index URL '\(u)' is not an http(s) URL"
        case .noSuchProject(let n, let i): return "no such project '\(n)' on \(i) (HTTP 404)"
        case .noSuchRelease(let p, let v, let i): return "no release '\(v)' of '\(p)' on \(i) (HTTP 404)"
        case .offline(let u, let r): return "cannot reach \(u): \(r) (offline, wrong host or port?)"
        case .timeout(let u, let s): return "no answer from \(u) within \(s) s"
        case .httpStatus(let u, let s, let a): return "\(u) answered HTTP \(s) (after \(a) attempt\(a == 1 ? "" : "s"))"
        case .invalidDocument(let u, let r): return "\(u) did not return a JSON API document: \(r)"
        case .cannotWrite(let p, let r): return "cannot write \(p): \(r)"
        }
    }
}

/// What one fetched document came to.
public struct FetchOutcome: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Downloaded and written.
        case downloaded
        /// The server answered 304: the cached copy is current.
        case notModified
        /// A release document the index does not have (404); the project fetch goes on.
        case notFound
    }
    public var url: String
    public var path: String
    public var status: Status
    /// How many requests it took (more than 1 after 429/5xx retries).
    public var attempts: Int
}

/// Downloads JSON API documents into a catalog directory, with conditional requests and
/// bounded retries.
///
/// Documents land at the catalog's paths (`DIR/pypi/NAME/json`, `DIR/pypi/NAME/VERSION/json`).
/// Validators are kept beside each document in `json.meta` (`{"etag": ..., "last_modified":
/// ...}`) and sent back as `If-None-Match` / `If-Modified-Since`. 429 and 5xx answers are
/// retried `maxRetries` times with exponential backoff, honouring `Retry-After` (capped at
/// `maxDelay`). No host is built in: the index URL comes from the caller.
public struct CatalogFetcher: Sendable {
    public var indexURL: URL
    public var catalogDirectory: URL
    /// Per-request timeout, seconds.
    public var timeout: Double
    public var maxRetries: Int
    /// First backoff delay, seconds (doubles each retry).
    public var baseDelay: Double
    /// Upper bound on any single wait, including a server's `Retry-After`.
    public var maxDelay: Double

    public init(
        indexURL: URL, catalogDirectory: URL, timeout: Double = 30, maxRetries: Int = 3,
        baseDelay: Double = 1, maxDelay: Double = 60
    ) throws(FetchError) {
        guard let scheme = indexURL.scheme?.lowercased(), scheme == "http" || scheme == "https", indexURL.host != nil else {
            throw .invalidIndexURL(indexURL.absoluteString)
        }
        self.indexURL = indexURL
        self.catalogDirectory = catalogDirectory
        self.timeout = timeout
        self.maxRetries = maxRetries
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The index URL from an explicit value or the `CASEBOOK_INDEX_URL` environment variable.
    public static func indexURL(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(FetchError)
        -> URL
    {
        guard let text = explicit ?? environment["CASEBOOK_INDEX_URL"], !text.isEmpty else { throw .noIndexURL }
        guard let url = URL(string: text) else { throw .invalidIndexURL(text) }
        return url
    }

    /// Fetches a project document and, with `withReleases`, the release document of each of
    /// its versions. Returns one outcome per document.
    public func fetch(project: String, withReleases: Bool = false) async throws(FetchError) -> [FetchOutcome] {
        let name = ProjectName.normalize(project)
        let projectOutcome = try await fetchDocument(
            components: [name], notFound: .noSuchProject(name: project, index: indexURL.absoluteString))
        var out = [projectOutcome]
        guard withReleases else { return out }
        let doc: PyPIDocument
        do {
            doc = try PyPIDocument(data: try Data(contentsOf: URL(fileURLWithPath: projectOutcome.path)), path: projectOutcome.path)
        } catch {
            throw .invalidDocument(url: projectOutcome.url, reason: "\(error)")
        }
        let versions = (doc.releases.map { Array($0.keys) } ?? [doc.version]).sorted(by: CatalogProject.versionOrder)
        for v in versions {
            do {
                out.append(
                    try await fetchDocument(
                        components: [name, v],
                        notFound: .noSuchRelease(project: project, version: v, index: indexURL.absoluteString)))
            } catch {
                guard case .noSuchRelease = error else { throw error }
                out.append(FetchOutcome(url: documentURL([name, v]).absoluteString, path: "", status: .notFound, attempts: 1))
            }
        }
        return out
    }

    func documentURL(_ components: [String]) -> URL {
        var u = indexURL
        for c in components { u.appendPathComponent(c) }
        return u.appendingPathComponent("json")
    }

    func fetchDocument(components: [String], notFound: FetchError) async throws(FetchError) -> FetchOutcome {
        let url = documentURL(components)
        var dir = catalogDirectory.appendingPathComponent("pypi")
        for c in components { dir.appendPathComponent(c) }
        let docPath = dir.appendingPathComponent("json")
        let metaPath = dir.appendingPathComponent("json.meta")
        let fm = FileManager.default
        var validators: [String: String] = [:]
        if fm.fileExists(atPath: docPath.path), let d = try? Data(contentsOf: metaPath),
            let m = try? JSONSerialization.jsonObject(with: d) as? [String: String]
        {
            validators = m
        }
        let config = URLSessionConfiguration.ephemeral
        config.urlCache = nil
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: config)
        defer { session.finishTasksAndInvalidate() }

        var attempt = 0
        while true {
            attempt += 1
            var req = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
            req.setValue("application/json", forHTTPHeaderField: "Accept")
            req.setValue("casebook (package-download investigations)", forHTTPHeaderField: "User-Agent")
            if let e = validators["etag"] { req.setValue(e, forHTTPHeaderField: "If-None-Match") }
            if let l = validators["last_modified"] { req.setValue(l, forHTTPHeaderField: "If-Modified-Since") }
            let data: Data
            let response: URLResponse
            do {
                (data, response) = try await session.data(for: req)
            } catch {
                let ns = error as NSError
                if ns.domain == NSURLErrorDomain, ns.code == NSURLErrorTimedOut {
                    throw .timeout(url: url.absoluteString, seconds: timeout)
                }
                throw .offline(url: url.absoluteString, reason: ns.localizedDescription)
            }
            guard let http = response as? HTTPURLResponse else {
                throw .invalidDocument(url: url.absoluteString, reason: "not an HTTP response")
            }
            switch http.statusCode {
            case 200:
                do { _ = try PyPIDocument(data: data, path: url.absoluteString) } catch {
                    throw .invalidDocument(url: url.absoluteString, reason: error.description)
                }
                var meta: [String: String] = ["url": url.absoluteString]
                if let e = http.value(forHTTPHeaderField: "ETag") { meta["etag"] = e }
                if let l = http.value(forHTTPHeaderField: "Last-Modified") { meta["last_modified"] = l }
                do {
                    try fm.createDirectory(at: dir, withIntermediateDirectories: true)
                    try data.write(to: docPath, options: .atomic)
                    let md = try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys])
                    try md.write(to: metaPath, options: .atomic)
                } catch {
                    throw .cannotWrite(path: docPath.path, reason: error.localizedDescription)
                }
                return FetchOutcome(url: url.absoluteString, path: docPath.path, status: .downloaded, attempts: attempt)
            case 304 where fm.fileExists(atPath: docPath.path):
                return FetchOutcome(url: url.absoluteString, path: docPath.path, status: .notModified, attempts: attempt)
            case 404, 410:
                throw notFound
            case 429, 500...599:
                guard attempt <= maxRetries else {
                    throw .httpStatus(url: url.absoluteString, status: http.statusCode, attempts: attempt)
                }
                var delay = baseDelay * pow(2, Double(attempt - 1))
                if let ra = http.value(forHTTPHeaderField: "Retry-After") { delay = CatalogFetcher.retryAfter(ra) ?? delay }
                delay = min(max(0, delay), maxDelay)
                try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            default:
                throw .httpStatus(url: url.absoluteString, status: http.statusCode, attempts: attempt)
            }
        }
    }

    /// Seconds to wait from a `Retry-After` value (delta-seconds or an HTTP date).
    static func retryAfter(_ value: String) -> Double? {
        let t = value.trimmingCharacters(in: .whitespaces)
        if let s = Double(t) { return s }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let d = f.date(from: t) { return max(0, d.timeIntervalSinceNow) }
        return nil
    }
}
