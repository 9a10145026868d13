import CasebookCore
import Foundation

/// `casebook sources remove` on ClickHouse: one row in `removed_sources` hides the source at once
/// (see ``ClickHouseSchema``), then its rows are deleted in the background.
extension ClickHouseEventStore: SourceRemoval {
    public func removeSource(id: Int64) throws -> SourceInfo {
        let sources = try sourceInfos()
        guard let info = sources.first(where: { $0.id == id }) else {
            throw ClickHouseStoreError.noSuchSource(url.redacted, id: id, known: sources.compactMap(\.id))
        }
        let ingests = try client.rows("SELECT ingest_id FROM \(all("commits")) WHERE source_id = \(id)").map { $0[0] ?? "0" }
        var row = TabSeparatedWriter()
        row.int(id)
        row.int(Int64(Date().timeIntervalSince1970))
        row.endRow()
        let owner = shardIndex(of: id)
        // Every shard learns of it (a followed file's rows may be anywhere); the source's own
        // shard last, since its row is the one that hides the source's rows.
        for i in shards.indices.filter({ $0 != owner }) + [owner] {
            try shards[i].insert(
                "INSERT INTO \(ClickHouseSchema.table(db, "removed_sources")) (source_id, removed_at) FORMAT TabSeparated",
                rows: row.bytes)
        }
        // Hidden from now on; the rows themselves go as the server applies these mutations.
        let shard = shards[owner]
        for name in ["events", "quarantine"] {
            _ = try? shard.execute("ALTER TABLE \(ClickHouseSchema.table(db, name)) DELETE WHERE source_id = \(id)")
        }
        // Statements of a bounded size (the server's max_query_size is 256 KiB by default).
        for start in stride(from: 0, to: ingests.count, by: 2000) {
            let list = ingests[start..<min(start + 2000, ingests.count)].joined(separator: ", ")
            for name in ["request_counts"] + RollupTable.allCases.map(\.rawValue) {
                _ = try? shard.execute("ALTER TABLE \(ClickHouseSchema.table(db, name)) DELETE WHERE ingest_id IN (\(list))")
            }
        }
        return info
    }
}
