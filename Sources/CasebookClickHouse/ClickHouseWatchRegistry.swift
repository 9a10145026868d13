import CasebookCore
import Foundation

/// `casebook watch`'s registry of followed files in ClickHouse: rows appended to `watched_files`,
/// never updated, a file's state being its newest committed row (see ``ClickHouseSchema``).
extension ClickHouseEventStore: WatchRegistry {
    public func watchedFiles() throws -> [WatchedFile] {
        guard removals else { return [] }
        let t = ClickHouseSchema.table(db, "watched_files")
        var newest: [FileIdentity: (seq: Int64, file: WatchedFile)] = [:]
        var sourceOf: [FileIdentity: (seq: Int64, id: Int64)] = [:]
        var removed: Set<Int64> = []
        // Each shard's rows count by its own `commits`; a file's rows may be on several shards
        // (those written alone are on the URL's server), so the newest is chosen here.
        for shard in shards {
            for r in try shard.rows(
                """
                SELECT device, inode, max(seq), argMax(path, seq), argMax(head_hash, seq), argMax(offset, seq),
                    argMax(size, seq), argMax(modified, seq), argMax(finished, seq),
                    maxIf(seq, isNotNull(source_id)), argMaxIf(assumeNotNull(source_id), seq, isNotNull(source_id))
                FROM \(t) WHERE ingest_id = 0 OR ingest_id IN (SELECT ingest_id FROM \(ClickHouseSchema.table(db, "commits")))
                GROUP BY device, inode
                """)
            {
                let identity = FileIdentity(device: UInt64(r[0] ?? "") ?? 0, inode: UInt64(r[1] ?? "") ?? 0)
                let seq = int(r[2])
                let file = WatchedFile(
                    device: identity.device, inode: identity.inode, path: r[3] ?? "", headHash: r[4] ?? "", offset: int(r[5]),
                    size: int(r[6]), modified: int(r[7]), finished: r[8] == "1")
                if seq > newest[identity]?.seq ?? .min { newest[identity] = (seq, file) }
                let sourceSeq = int(r[9])
                if sourceSeq > 0, sourceSeq > sourceOf[identity]?.seq ?? .min { sourceOf[identity] = (sourceSeq, int(r[10])) }
            }
            for r in try shard.rows("SELECT DISTINCT source_id FROM \(ClickHouseSchema.table(db, "removed_sources"))") {
                removed.insert(int(r[0]))
            }
        }
        seqLock.withLock { lastWatchSeq = max(lastWatchSeq, newest.values.map(\.seq).max() ?? 0) }
        return newest.compactMap { identity, row in
            var file = row.file
            file.sourceID = sourceOf[identity]?.id
            // A file whose source was removed is forgotten, as the other stores delete its row.
            if let id = file.sourceID, removed.contains(id) { return nil }
            return file
        }.sorted { ($0.path, $0.device, $0.inode) < ($1.path, $1.device, $1.inode) }
    }

    public func recordWatchedFile(_ file: WatchedFile) throws {
        try recordWatchedFile(file, ingestID: 0, on: client)
    }

    /// Appends a row of the registry: with an ingest's id (counted once it is committed) on the
    /// ingest's shard, or alone (`ingestID` 0, counted at once).
    func recordWatchedFile(_ f: WatchedFile, ingestID: UInt64, on shard: ClickHouseClient) throws {
        var row = TabSeparatedWriter()
        row.int(ingestID)
        row.int(nextWatchSeq())
        row.int(f.device)
        row.int(f.inode)
        row.text(f.path)
        row.text(f.headHash)
        row.int(f.offset)
        row.int(f.size)
        row.int(f.modified)
        row.int(f.sourceID)
        row.int(f.finished ? 1 : 0)
        row.endRow()
        try shard.insert(
            """
            INSERT INTO \(ClickHouseSchema.table(db, "watched_files"))
                (ingest_id, seq, device, inode, path, head_hash, offset, size, modified, source_id, finished) FORMAT TabSeparated
            """, rows: row.bytes)
    }

    /// Microseconds since 1970, always after every `seq` this process gave or read (a clock set
    /// back does not reorder a file's rows).
    func nextWatchSeq() -> Int64 {
        seqLock.withLock {
            lastWatchSeq = max(Int64(Date().timeIntervalSince1970 * 1_000_000), lastWatchSeq + 1)
            return lastWatchSeq
        }
    }
}
