/// Why a ClickHouse store could not be opened or used, written for the person who must fix it.
///
/// Locations are always the redacted URL: no message ever contains a password.
public enum ClickHouseStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `--store` URL cannot be read (the URL without password, what is wrong).
    case invalidURL(String, String)
    /// Nothing accepts connections at the host and port.
    case connectionRefused(String)
    /// The host name does not resolve.
    case unknownHost(String, host: String)
    /// The server refused the user or its password (or none was given).
    case authenticationFailed(String, user: String)
    /// The server did not answer in time (the URL, the seconds waited).
    case timeout(String, seconds: Double)
    /// The URL's database holds no Casebook store (read commands need one).
    case storeMissing(String)
    /// Casebook's tables were written by a newer Casebook.
    case schemaTooNew(String, found: Int, supported: Int)
    /// Any other failure to talk to the server (the URL, the system's message).
    case connectionFailed(String, String)
    /// The server refused a statement (its error code, when it gave one, and its message).
    case queryFailed(String, code: Int?, message: String)
    /// A write (an ingest, a catalog import, a source removal) into a store Casebook only reads:
    /// the URL and its layout (`clickpy`).
    case readOnly(String, layout: String)
    /// `casebook sources remove` was given an id no source has (the URL, the id, the ids there are).
    case noSuchSource(String, id: Int64, known: [Int64])

    public var description: String {
        switch self {
        case .invalidURL(let url, let why):
            return "invalid ClickHouse store URL \(url): \(why)"
        case .connectionRefused(let url):
            return
                "cannot connect to \(url): connection refused; is the ClickHouse server running, with its HTTP interface (http_port, 8123 by default) on that host and port?"
        case .unknownHost(let url, let host):
            return "cannot connect to \(url): unknown host `\(host)`; check the host name in the URL"
        case .authenticationFailed(let url, let user):
            return
                "cannot connect to \(url): the server refused user `\(user)` or its password; give the right one in the URL (clickhouse://USER:PASSWORD@...) or in \(ClickHouseURL.passwordVariable)"
        case .timeout(let url, let seconds):
            return "\(url): no answer within \(Self.format(seconds)) s; is the server overloaded? (a longer ?timeout=SECONDS waits longer)"
        case .storeMissing(let url):
            return "no Casebook store in \(url): ingest logs first (`casebook ingest FILE --store URL`)"
        case .schemaTooNew(let url, let found, let supported):
            return "cannot open \(url): its Casebook tables are version \(found), this Casebook knows up to \(supported); upgrade Casebook"
        case .connectionFailed(let url, let message):
            return "cannot connect to \(url): \(message)"
        case .queryFailed(let url, let code, let message):
            return "\(url): query failed" + (code.map { " (ClickHouse error \($0))" } ?? "") + ": \(message)"
        case .readOnly(let url, let layout):
            return
                "\(url) is read-only: layout=\(layout) reads a table Casebook did not create and never writes to; ingest into a Casebook store instead (a clickhouse:// URL without layout=\(layout), or a SQLite file)"
        case .noSuchSource(let url, let id, let known):
            return "no source with id \(id) in \(url): "
                + (known.isEmpty
                    ? "the store has no sources"
                    : "its sources are \(known.map(String.init).joined(separator: ", ")) (see `casebook sources`)")
        }
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
