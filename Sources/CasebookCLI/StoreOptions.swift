import ArgumentParser
import CasebookClickHouse
import CasebookCore
import CasebookPostgres
import CasebookSQLite
import Foundation

/// `--store PATH|URL` (or `CASEBOOK_STORE`), shared by every command that reads or writes a store.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The event store: a SQLite file, postgres://USER@HOST:PORT/DB (add ?layout=piwheels to read a piwheels downloads table), or clickhouse://USER@HOST:PORT/DB (password in the URL or $CASEBOOK_CLICKHOUSE_PASSWORD; add ?layout=clickpy to read ClickPy's PyPI downloads table) (default: $CASEBOOK_STORE, else ./casebook.sqlite).",
            valueName: "PATH|URL"))
    var store: String?

    /// The store location: `--store`, else `CASEBOOK_STORE`, else `./casebook.sqlite`.
    var location: String {
        store ?? ProcessInfo.processInfo.environment["CASEBOOK_STORE"] ?? "casebook.sqlite"
    }

    /// The location as it may be shown (never with a password).
    var displayLocation: String { Self.display(location) }

    /// A location as it may be shown: every credential is removed, whatever the backend (a
    /// mistyped URL taken for a file path keeps its password out of messages too).
    static func display(_ location: String) -> String {
        if ClickHouseStores.isURL(location) { return ClickHouseStores.display(location) }
        guard PostgresStores.isURL(location) else { return CredentialRedaction.redact(location) }
        return (try? PostgresURL(location).redacted) ?? PostgresURL.redact(location)
    }

    /// Opens (creating if needed) the store for writing: SQLite, or PostgreSQL or ClickHouse for a URL.
    func openWritableStore() throws -> any IngestTarget & EventStore {
        try Self.openWritable(location)
    }

    /// Opens (creating if needed) the store at `location` for writing.
    static func openWritable(_ location: String) throws -> any IngestTarget & EventStore {
        if ClickHouseStores.isURL(location) {
            do { return try ClickHouseStores.openWritable(location) } catch let e as ClickHouseStoreError { throw CLIError(e.description) }
        }
        if PostgresStores.isURL(location) {
            do { return try PostgresStores.openWritable(location) } catch let e as PostgresStoreError { throw CLIError(e.description) }
        }
        do {
            return try SQLiteEventStore(path: location)
        } catch let e as SQLiteStoreError {
            throw CLIError(CredentialRedaction.scrub(e.description, secrets: CredentialRedaction.secrets(in: location)))
        }
    }

    /// Opens an existing store for reading (and aggregate queries).
    func openReadStore() throws -> any EventStore {
        if ClickHouseStores.isURL(location) {
            do { return try ClickHouseStores.openRead(location) } catch let e as ClickHouseStoreError { throw CLIError(e.description) }
        }
        if PostgresStores.isURL(location) {
            do { return try PostgresStores.openRead(location) } catch let e as PostgresStoreError { throw CLIError(e.description) }
        }
        return try openExistingSQLite(readOnly: true)
    }

    /// Opens an existing SQLite store; `readOnly` never waits for (nor blocks) an ingest.
    func openExistingSQLite(readOnly: Bool = false) throws -> SQLiteEventStore {
        guard FileManager.default.fileExists(atPath: location) else {
            throw CLIError(
                "no store at \(displayLocation): ingest logs first (`casebook ingest FILE --store \(displayLocation)`), or point --store / CASEBOOK_STORE at an existing store"
            )
        }
        do {
            return try SQLiteEventStore(path: location, readOnly: readOnly)
        } catch let e as SQLiteStoreError {
            throw CLIError(CredentialRedaction.scrub(e.description, secrets: CredentialRedaction.secrets(in: location)))
        }
    }
}

/// What `casebook info` shows beyond ``StoreInfo``, for stores that keep it.
protocol StoreDetails {
    func otherRequestCounts() throws -> [String: Int64]
    func quarantinedLines(limit: Int) throws -> [(source: String, line: Int64, reason: String, raw: String)]
}

extension SQLiteEventStore: StoreDetails {}
extension PostgresEventStore: StoreDetails {}
extension ClickHouseEventStore: StoreDetails {}

/// An error for the person at the command line; printed as `error: MESSAGE`.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes to standard error (progress, summaries that must not pollute piped stdout).
enum StandardError {
    static func write(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }

    /// Whether stderr is a terminal (progress lines are shown only then).
    static var isTerminal: Bool { isatty(2) != 0 }
}
