import CasebookCore
import Foundation
import GRDB

extension SQLiteEventStore: WatchRegistry {
    public func watchedFiles() throws -> [WatchedFile] {
        try dbQueue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT device, inode, path, head_hash, "offset", size, modified, source_id, finished
                    FROM watched_files ORDER BY path, device, inode
                    """
            ).map { r in
                WatchedFile(
                    device: UInt64(bitPattern: r[0]), inode: UInt64(bitPattern: r[1]), path: r[2], headHash: r[3],
                    offset: r[4], size: r[5], modified: r[6], sourceID: r[7], finished: (r[8] as Int64) != 0)
            }
        }
    }

    public func recordWatchedFile(_ file: WatchedFile) throws {
        try dbQueue.write { db in try Self.recordWatchedFile(file, db: db) }
    }

    /// Inserts or replaces a followed file's row (inside the caller's transaction).
    static func recordWatchedFile(_ f: WatchedFile, db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO watched_files (device, inode, path, head_hash, "offset", size, modified, source_id, finished, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (device, inode) DO UPDATE SET
                    path = excluded.path, head_hash = excluded.head_hash, "offset" = excluded."offset",
                    size = excluded.size, modified = excluded.modified,
                    source_id = COALESCE(excluded.source_id, source_id), finished = excluded.finished,
                    updated_at = excluded.updated_at
                """,
            arguments: [
                Int64(bitPattern: f.device), Int64(bitPattern: f.inode), f.path, f.headHash, f.offset, f.size, f.modified,
                f.sourceID, f.finished ? 1 : 0, Int64(Date().timeIntervalSince1970)
            ])
    }
}
