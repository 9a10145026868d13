import CasebookCore
import Foundation
import GRDB

/// How the embedded store shares its file between processes.
///
/// The store is in WAL mode: readers (`info`, `query`, `run`) read the last committed state
/// while an ingest writes, and never wait. A second writer waits for the first one's
/// transaction to end, telling so on stderr once, for at most ``timeout`` seconds
/// (`CASEBOOK_LOCK_TIMEOUT`, default 600), then fails with ``SQLiteStoreError``.
public enum SQLiteLocking {
    /// Seconds a writer waits for another one (`CASEBOOK_LOCK_TIMEOUT`, default 600).
    public static var timeout: Double {
        if let s = ProcessInfo.processInfo.environment["CASEBOOK_LOCK_TIMEOUT"], let v = Double(s), v >= 0 { return v }
        return 600
    }

    /// Where the waiting message goes (stderr; tests may replace it).
    nonisolated(unsafe) static var announce: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data(message.utf8))
    }

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var waitStarted: Date?
        var announced = false
    }

    /// A busy handler for the store at `path`: sleeps a little between tries, says once that it
    /// waits, and gives up after `timeout` seconds.
    static func busyMode(path: String, timeout: Double = SQLiteLocking.timeout) -> Database.BusyMode {
        let state = State()
        return .callback { tries in
            let now = Date()
            let (started, announce): (Date, Bool) = state.lock.withLock {
                if tries == 0 || state.waitStarted == nil { state.waitStarted = now }
                let first = !state.announced
                state.announced = true
                return (state.waitStarted!, first)
            }
            if announce {
                SQLiteLocking.announce(
                    "waiting for another ingest to finish writing to \(path) (up to \(Int(timeout)) s; CASEBOOK_LOCK_TIMEOUT sets it)...\n")
            }
            if now.timeIntervalSince(started) >= timeout { return false }
            usleep(tries < 10 ? 10_000 : 100_000)
            return true
        }
    }

    /// A sentence for an error reaching the person, when it is about the store's lock.
    public static func describe(_ error: any Error, path: String) -> String? {
        guard let e = error as? DatabaseError, e.resultCode == .SQLITE_BUSY || e.resultCode == .SQLITE_LOCKED else { return nil }
        return
            "the store \(path) is being written by another process (an ingest?) and stayed locked for more than \(Int(timeout)) s; try again when it has finished, or wait longer with CASEBOOK_LOCK_TIMEOUT=SECONDS"
    }

    /// ``describe(_:path:)`` for an error whose store is unknown.
    public static func describe(_ error: any Error) -> String? {
        guard let e = error as? DatabaseError, e.resultCode == .SQLITE_BUSY || e.resultCode == .SQLITE_LOCKED else { return nil }
        return
            "the store is being written by another process (an ingest?) and stayed locked for more than \(Int(timeout)) s; try again when it has finished, or wait longer with CASEBOOK_LOCK_TIMEOUT=SECONDS"
    }
}

extension SQLiteEventStore {
    /// Opens the store read-only when it needs no migration (so it never waits for a writer);
    /// `nil` when it must be opened for writing (a new or old store).
    static func openReadOnly(path: String, configuration: Configuration) throws -> DatabaseQueue? {
        var config = configuration
        config.readonly = true
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            return nil
        }
        let current = try? queue.read { db in
            try db.tableExists("grdb_migrations") && db.tableExists("casebook_meta")
                && SQLiteSchema.migrator.hasCompletedMigrations(db)
                && Data.fetchOne(db, sql: "SELECT value FROM casebook_meta WHERE key = 'client_salt'") != nil
        }
        return current == true ? queue : nil
    }

    /// Migrates and adds the client salt when needed: a store that needs neither is not
    /// written (so opening it never waits for another writer).
    static func prepareForWriting(_ queue: DatabaseQueue) throws {
        let current = try? queue.read { db in
            try db.tableExists("grdb_migrations") && db.tableExists("casebook_meta")
                && SQLiteSchema.migrator.hasCompletedMigrations(db)
                && Data.fetchOne(db, sql: "SELECT value FROM casebook_meta WHERE key = 'client_salt'") != nil
        }
        if current == true { return }
        try SQLiteSchema.migrator.migrate(queue)
        try queue.write { db in
            if try Data.fetchOne(db, sql: "SELECT value FROM casebook_meta WHERE key = 'client_salt'") == nil {
                try db.execute(
                    sql: "INSERT INTO casebook_meta (key, value) VALUES ('client_salt', ?)",
                    arguments: [Data(ClientKeyer.randomSalt())])
            }
        }
    }

    /// Why opening failed, for the person: a lock is not "not a store".
    static func openFailure(path: String, _ error: DatabaseError) -> String {
        if let lock = SQLiteLocking.describe(error, path: path) { return "cannot open store \(path): \(lock)" }
        return "cannot open store \(path): \(error.message ?? error.description) (is it a Casebook store?)"
    }
}
