import ArgumentParser
import CasebookCore
import CasebookSQLite
import Foundation

/// `--store PATH` (or `CASEBOOK_STORE`), shared by every command that reads or writes a store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The event store: a SQLite file (default: $CASEBOOK_STORE, else ./casebook.sqlite).", valueName: "PATH"))
    var store: String?

    /// The store location: `--store`, else `CASEBOOK_STORE`, else `./casebook.sqlite`.
    var location: String {
        store ?? ProcessInfo.processInfo.environment["CASEBOOK_STORE"] ?? "casebook.sqlite"
    }

    /// The location as it may be shown (never with a password).
    var displayLocation: String { location }

    /// Opens (creating if needed) the embedded store for writing.
    func openWritableStore() throws -> SQLiteEventStore {
        do {
            return try SQLiteEventStore(path: location)
        } catch let e as SQLiteStoreError {
            throw CLIError(e.description)
        }
    }

    /// Opens an existing store for reading (and aggregate queries).
    func openReadStore() throws -> any EventStore {
        try openExistingSQLite()
    }

    func openExistingSQLite() throws -> SQLiteEventStore {
        guard FileManager.default.fileExists(atPath: location) else {
            throw CLIError("no store at \(location): ingest logs first (`casebook ingest FILE --store \(location)`), or point --store / CASEBOOK_STORE at an existing store")
        }
        return try openWritableStore()
    }
}

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
