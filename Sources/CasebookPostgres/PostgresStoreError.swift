/// Why a PostgreSQL store could not be opened or used, written for the person who must fix it.
///
/// Locations are always the redacted URL: no message ever contains a password.
public enum PostgresStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `--store` URL cannot be read (the URL without password, what is wrong).
    case invalidURL(String, String)
    /// Nothing accepts connections at the host and port.
    case connectionRefused(String)
    /// The host name does not resolve.
    case unknownHost(String, host: String)
    /// The server refused the user's password (or none was given).
    case authenticationFailed(String, user: String)
    /// The database does not exist on that server.
    case databaseMissing(String, database: String)
    /// The piwheels layout's table (or a required column) is missing.
    case tableMissing(String, table: String, detail: String)
    /// Casebook's schema was written by a newer Casebook.
    case schemaTooNew(String, found: Int, supported: Int)
    /// The store is read-only (the piwheels layout).
    case readOnly(String)
    /// The piwheels layout's salt file cannot be read or written (path, what to do).
    case saltFile(String, String)
    /// The server lacks something Casebook needs (the URL, what).
    case unsupportedServer(String, String)
    /// Any other connection failure, with libpq's message.
    case connectionFailed(String, String)
    /// A statement failed (SQLSTATE and the server's message).
    case queryFailed(String, sqlState: String, message: String)
    /// `sources remove ID` named no source (the ids there are).
    case noSuchSource(String, id: Int64, known: [String])

    public var description: String {
        switch self {
        case .invalidURL(let url, let why):
            return "invalid PostgreSQL store URL \(url): \(why)"
        case .connectionRefused(let url):
            return "cannot connect to \(url): connection refused; is the PostgreSQL server running and listening on that host and port?"
        case .unknownHost(let url, let host):
            return "cannot connect to \(url): unknown host `\(host)`; check the host name in the URL"
        case .authenticationFailed(let url, let user):
            return
                "cannot connect to \(url): the server refused the password for user `\(user)`; give the right one in the URL (postgres://USER:PASSWORD@...), PGPASSWORD or ~/.pgpass"
        case .databaseMissing(let url, let db):
            return "cannot open \(url): database `\(db)` does not exist; create it (createdb \(db)) or fix the name in the URL"
        case .tableMissing(let url, let table, let detail):
            return
                "cannot read \(url): \(detail) `\(table)`; point table=SCHEMA.NAME at a piwheels-style downloads table (columns filename, accessed_by, accessed_at, ...)"
        case .schemaTooNew(let url, let found, let supported):
            return "cannot open \(url): its Casebook schema is version \(found), this Casebook knows up to \(supported); upgrade Casebook"
        case .readOnly(let url):
            return
                "\(url) is read-only: Casebook never writes to a database it did not create (layout=piwheels); ingest into a Casebook store instead"
        case .saltFile(let path, let why):
            return "client-key salt file \(path): \(why)"
        case .unsupportedServer(let url, let why):
            return "cannot use \(url): \(why)"
        case .connectionFailed(let url, let message):
            return "cannot connect to \(url): \(message)"
        case .queryFailed(let url, let state, let message):
            return "\(url): query failed (SQLSTATE \(state)): \(message)"
        case .noSuchSource(let url, let id, let known):
            return "no source with id \(id) in \(url): "
                + (known.isEmpty ? "the store has no sources" : "its sources are \(known.joined(separator: ", ")) (see `casebook sources`)")
        }
    }
}
