import CasebookCore
import Foundation

extension PostgresEventStore: WatchRegistry {
    public func watchedFiles() throws -> [WatchedFile] {
        try connection.execute(
            """
            SELECT device, inode, path, head_hash, "offset", size, modified, source_id, finished
            FROM \(schema).watched_files ORDER BY path, device, inode
            """
        ).rows.map { r in
            WatchedFile(
                device: UInt64(bitPattern: int(r[0])), inode: UInt64(bitPattern: int(r[1])), path: r[2] ?? "", headHash: r[3] ?? "",
                offset: int(r[4]), size: int(r[5]), modified: int(r[6]), sourceID: r[7].flatMap { Int64($0) }, finished: r[8] == "t")
        }
    }

    public func recordWatchedFile(_ file: WatchedFile) throws {
        try connection.transaction { try recordWatchedFileInTransaction(file) }
    }

    /// Inserts or replaces a followed file's row (inside the caller's transaction).
    func recordWatchedFileInTransaction(_ f: WatchedFile) throws {
        let s = schema
        try connection.execute(
            """
            INSERT INTO \(s).watched_files (device, inode, path, head_hash, "offset", size, modified, source_id, finished, updated_at)
            VALUES ($1::bigint, $2::bigint, $3, $4, $5::bigint, $6::bigint, $7::bigint, $8::bigint, $9::boolean, $10::bigint)
            ON CONFLICT (device, inode) DO UPDATE SET
                path = excluded.path, head_hash = excluded.head_hash, "offset" = excluded."offset",
                size = excluded.size, modified = excluded.modified,
                source_id = COALESCE(excluded.source_id, \(s).watched_files.source_id), finished = excluded.finished,
                updated_at = excluded.updated_at
            """,
            [
                String(Int64(bitPattern: f.device)), String(Int64(bitPattern: f.inode)), f.path, f.headHash, String(f.offset),
                String(f.size), String(f.modified), f.sourceID.map { String($0) }, f.finished ? "true" : "false",
                String(Int64(Date().timeIntervalSince1970))
            ])
    }
}
