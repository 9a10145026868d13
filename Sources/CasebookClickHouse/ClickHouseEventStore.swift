import CasebookCore
import Foundation

/// An event store in ClickHouse, in Casebook's own tables (``ClickHouseSchema``), spoken to over
/// the HTTP interface: for download data that outgrows one machine.
///
/// Aggregates are one SQL statement each, computed by the server from the smallest table that
/// answers them exactly: the rollups kept by materialized views (``RollupTable``, the same planner
/// as the other stores'; see ``plan(for:)``) or the events. Each source is ingested all-or-nothing: its rows carry the
/// ingest's id and become visible only when the ingest's `commits` row is inserted, so an
/// ingest that fails, or a process that dies, leaves nothing any query sees. Sources are
/// fingerprinted (a file already ingested adds nothing); the client salt lives in the database.
///
/// With `?cluster=NAME&shards=...` the store spans several servers: each ingest is written whole
/// to one shard, and queries read every shard through `Distributed` tables on the URL's server
/// (see ``ClickHouseSchema`` for why the all-or-nothing guarantee holds there too).
public final class ClickHouseEventStore: EventStore, IngestTarget, @unchecked Sendable {
    /// The store's URL (``ClickHouseURL/redacted`` never shows the password).
    public let url: ClickHouseURL
    /// The URL's server: every query goes to it.
    let client: ClickHouseClient
    /// One client per shard, in the URL's `shards` order (the URL's server alone without a cluster).
    let shards: [ClickHouseClient]
    /// Whether queries read the rollups where they answer (`false` reads the events for every
    /// query: for tests that compare both answers, and for benchmarks). It is `false` also for a
    /// store of schema version 1 opened without migrating (``openExisting(url:useRollups:)``),
    /// which has no rollups yet. `CASEBOOK_CLICKHOUSE_RAW_EVENTS=1` turns them off in a process.
    public let useRollups: Bool
    /// The schema version of the store's tables (``ClickHouseSchema/currentVersion`` once migrated).
    let schemaVersion: Int
    /// The last `seq` this process gave a row of the registry of followed files (see
    /// ``nextWatchSeq()``), under `seqLock`.
    var lastWatchSeq: Int64 = 0
    let seqLock = NSLock()
    /// Events per insert request (smaller in tests, to send several).
    var rowsPerInsert = ClickHouseIngestSink.defaultRowsPerInsert

    /// Connects and creates or migrates Casebook's tables.
    public convenience init(url: String, useRollups: Bool = true) throws {
        try self.init(url: ClickHouseURL(url), useRollups: useRollups)
    }

    /// Connects and creates Casebook's tables when missing, or migrates them (a store of
    /// version 1 gets its rollups, built once from its committed events: see ``ClickHouseSchema``).
    /// A URL of another layout (ClickPy's table, read-only) is refused before anything is sent.
    public init(url: ClickHouseURL, useRollups: Bool = true) throws {
        guard url.layout == .casebook else { throw ClickHouseStoreError.readOnly(url.redacted, layout: url.layout.rawValue) }
        self.url = url
        client = ClickHouseClient(url: url)
        shards = url.shardURLs.map(ClickHouseClient.init(url:))
        try ClickHouseSchema.migrate(client, salt: ClientKeyer.randomSalt)
        if let cluster = url.cluster {
            // Every shard keys clients with the same salt: the URL's server's.
            guard let salt = try ClickHouseSchema.salt(client) else {
                throw ClickHouseStoreError.queryFailed(url.redacted, code: nil, message: "the store has no client salt in its `meta` table")
            }
            for shard in shards where shard.url.host != url.host || shard.url.port != url.port {
                try ClickHouseSchema.migrate(shard, salt: { bytes(fromHex: salt) })
                if let other = try ClickHouseSchema.salt(shard), other != salt {
                    throw ClickHouseStoreError.queryFailed(
                        url.redacted, code: nil,
                        message:
                            "shard \(ClickHouseURL.address(shard.url.host, shard.url.port)) keys clients with another salt than \(ClickHouseURL.address(url.host, url.port)): its database was made as a store of its own; give the cluster a database that is new on every shard"
                    )
                }
            }
            for sql in ClickHouseSchema.distributedStatements(database: url.database, cluster: cluster) { try client.execute(sql) }
        }
        schemaVersion = ClickHouseSchema.currentVersion
        self.useRollups = Self.rollupsWanted(useRollups)
    }

    private init(existing url: ClickHouseURL, client: ClickHouseClient, version: Int, useRollups: Bool) {
        self.url = url
        self.client = client
        shards = url.shardURLs.map(ClickHouseClient.init(url:))
        schemaVersion = version
        self.useRollups = Self.rollupsWanted(useRollups) && version >= ClickHouseSchema.rollupVersion
    }

    /// `wanted`, unless `CASEBOOK_CLICKHOUSE_RAW_EVENTS=1`.
    private static func rollupsWanted(_ wanted: Bool) -> Bool {
        wanted && ProcessInfo.processInfo.environment["CASEBOOK_CLICKHOUSE_RAW_EVENTS"] != "1"
    }

    /// Connects to an existing store without creating or migrating anything; fails when there is
    /// none. A store of version 1 is read from its events (it gets rollups at its next ingest).
    public static func openExisting(url: ClickHouseURL, useRollups: Bool = true) throws -> ClickHouseEventStore {
        guard url.layout == .casebook else {
            throw ClickHouseStoreError.invalidURL(
                url.redacted, "layout=\(url.layout.rawValue) is read by ClickHouseStores.openRead, not as Casebook's tables")
        }
        let client = ClickHouseClient(url: url)
        guard try ClickHouseSchema.exists(client) else { throw ClickHouseStoreError.storeMissing(url.redacted) }
        if url.cluster != nil {
            for shard in url.shardURLs.map(ClickHouseClient.init(url:)) where try !ClickHouseSchema.exists(shard) {
                throw ClickHouseStoreError.storeMissing(url.redacted)
            }
            guard try ClickHouseSchema.distributedExist(client) else { throw ClickHouseStoreError.storeMissing(url.redacted) }
        }
        let version = try ClickHouseSchema.storedVersion(client)
        if version > ClickHouseSchema.currentVersion {
            throw ClickHouseStoreError.schemaTooNew(url.redacted, found: version, supported: ClickHouseSchema.currentVersion)
        }
        return ClickHouseEventStore(existing: url, client: client, version: version, useRollups: useRollups)
    }

    var db: String { url.database }
    private func table(_ name: String) -> String { ClickHouseSchema.table(db, name) }
    /// Whether the store spans a cluster's shards (read through `Distributed` tables).
    private var distributed: Bool { url.cluster != nil }
    /// The table through which `name` is read: over every shard in a cluster.
    func all(_ name: String) -> String { table(ClickHouseSchema.readName(name, distributed: distributed)) }
    /// Whether the store has `removed_sources` and `watched_files` (version 3 and later).
    var removals: Bool { schemaVersion >= ClickHouseSchema.removalVersion }
    private var committed: String { ClickHouseSchema.committed(db, removals: removals) }
    /// The condition that keeps sources not removed, on a `source_id` column.
    private var notRemoved: String { removals ? ClickHouseSchema.notRemoved(db) : "1" }

    // MARK: EventStore

    public func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        try aggregateSync(query)
    }

    /// Synchronous form of ``aggregate(_:)``.
    public func aggregateSync(_ query: AggregateQuery) throws -> AggregateTable {
        let (relation, _) = ClickHouseQueryBuilder.plan(
            for: query, database: db, useRollups: useRollups, distributed: distributed, removals: removals)
        return try ClickHouseQueryBuilder.run(query, over: relation, on: client)
    }

    /// How ``aggregate(_:)`` answers a query: the table it reads (a rollup or the events), why
    /// no rollup answers when none does, and the SQL.
    public func plan(for query: AggregateQuery) -> ClickHouseQueryPlan {
        ClickHouseQueryBuilder.plan(
            for: query, database: db, useRollups: useRollups, distributed: distributed, removals: removals
        ).1
    }

    /// The SQL an aggregate query runs (for `--explain`-style diagnostics and tests).
    public func sql(for query: AggregateQuery) -> String {
        plan(for: query).sql
    }

    public func info() async throws -> StoreInfo { try infoSync() }

    /// Synchronous form of ``info()``.
    public func infoSync() throws -> StoreInfo {
        let totals = try client.rows("SELECT count(), sum(count), min(ts), max(ts) FROM \(all("events")) WHERE \(committed)")[0]
        let rows = int(totals[0])
        var quarantined: [String: Int64] = [:]
        for r in try client.rows("SELECT reason, count() FROM \(all("quarantine")) WHERE \(committed) GROUP BY reason") {
            // Grouped by kind (without the value found), as the SQLite store shows them.
            quarantined[QuarantineReason.kind(of: r[0] ?? ""), default: 0] += int(r[1])
        }
        return StoreInfo(
            eventRows: rows, downloads: int(totals[1]), firstEvent: rows > 0 ? totals[2].flatMap { Int64($0) } : nil,
            lastEvent: rows > 0 ? totals[3].flatMap { Int64($0) } : nil, sources: try sourceInfos(), quarantined: quarantined,
            schemaVersion: schemaVersion, location: url.redacted)
    }

    /// Every source, as the sum of its committed ingests (the latest for name, bytes, lines and
    /// hashes, as the other stores keep them).
    func sourceInfos() throws -> [SourceInfo] {
        try client.rows(
            """
            SELECT argMax(if(head_hash != '', head_hash, fingerprint), commit_seq), argMax(name, commit_seq), any(format),
                argMaxIf(index_name, commit_seq, isNotNull(index_name)), argMax(bytes, commit_seq), argMax(lines, commit_seq),
                sum(downloads), sum(arraySum(other_counts)), sum(quarantined), min(first_event), max(last_event), max(committed_at),
                source_id
            FROM \(all("commits")) WHERE \(notRemoved) GROUP BY source_id ORDER BY source_id
            """
        ).map { r in
            SourceInfo(
                fingerprint: r[0] ?? "", name: r[1] ?? "", format: r[2] ?? "", index: r[3], bytes: int(r[4]), lines: int(r[5]),
                downloads: int(r[6]), otherRequests: int(r[7]), quarantined: int(r[8]), firstEvent: r[9].flatMap { Int64($0) },
                lastEvent: r[10].flatMap { Int64($0) }, ingestedAt: int(r[11]), id: int(r[12]))
        }
    }

    /// Quarantined lines (source, line number, reason, redacted text), in source and line order.
    public func quarantinedLines(limit: Int = 100) throws -> [(source: String, line: Int64, reason: String, raw: String)] {
        let names = Dictionary(try sourceInfos().map { ($0.id ?? 0, $0.name) }, uniquingKeysWith: { a, _ in a })
        return try client.rows(
            "SELECT source_id, line, reason, raw FROM \(all("quarantine")) WHERE \(committed) ORDER BY source_id, line LIMIT \(max(0, limit))"
        ).map { (names[int($0[0])] ?? "", int($0[1]), $0[2] ?? "", $0[3] ?? "") }
    }

    /// Counts of non-download requests by kind, over all sources.
    public func otherRequestCounts() throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for r in try client.rows(
            "SELECT kind, sum(n) FROM \(all("commits")) ARRAY JOIN other_kinds AS kind, other_counts AS n WHERE \(notRemoved) GROUP BY kind"
        ) {
            out[r[0] ?? ""] = int(r[1])
        }
        return out
    }

    /// Drops the store's database and everything in it, the rollups' views first, on every
    /// shard (for throwaway stores: tests, benchmarks).
    public func dropDatabase() throws {
        // The URL's server is one of the shards (``ClickHouseURL`` checks it).
        for shard in shards { try ClickHouseSchema.drop(shard) }
    }

    // MARK: IngestTarget

    public func clientKeyer() throws -> ClientKeyer {
        // Two first ingests racing may both have written a salt: everyone takes the smallest.
        guard let hex = try client.scalar("SELECT min(value) FROM \(table("meta")) WHERE key = 'client_salt'"), !hex.isEmpty
        else {
            throw ClickHouseStoreError.queryFailed(url.redacted, code: nil, message: "the store has no client salt in its `meta` table")
        }
        return ClientKeyer(salt: bytes(fromHex: hex))
    }

    public func sources(withFingerprint fingerprint: String) throws -> [SourceRecord] {
        try client.rows(
            """
            SELECT source_id, any(fingerprint), argMax(name, commit_seq), any(format), argMax(bytes, commit_seq),
                argMax(lines, commit_seq), argMax(tail_hash, commit_seq), argMax(head_hash, commit_seq)
            FROM \(all("commits")) WHERE fingerprint = \(ClickHouseSQL.literal(fingerprint)) AND \(notRemoved)
            GROUP BY source_id ORDER BY argMax(bytes, commit_seq) DESC, source_id
            """
        ).map {
            SourceRecord(
                id: int($0[0]), fingerprint: $0[1] ?? "", name: $0[2] ?? "", format: $0[3] ?? "", bytes: int($0[4]),
                lines: int($0[5]), tailHash: $0[6] ?? "", headHash: $0[7] ?? "")
        }
    }

    /// Ingests one source all-or-nothing: rows are written under a fresh ingest id, then one
    /// `commits` row makes them visible (see ``ClickHouseSchema``). When `body` or a write throws,
    /// the ingest's rows are deleted (best effort; they are invisible either way).
    public func ingest(_ plan: IngestPlan, _ body: (any IngestSink) throws -> IngestSummary) throws -> IngestSummary {
        var g = SystemRandomNumberGenerator()
        let ingestID = UInt64.random(in: 1...UInt64.max, using: &g)
        let sourceID: Int64
        if let existing = plan.existing {
            sourceID = existing.id
        } else {
            sourceID = int(try client.scalar("SELECT max(source_id) FROM \(all("commits"))")) + 1
        }
        let shard = shards[shardIndex(of: sourceID)]
        let sink = ClickHouseIngestSink(client: shard, ingestID: ingestID, sourceID: sourceID, rowsPerInsert: rowsPerInsert)
        do {
            let summary = try body(sink)
            try sink.flush()
            if var watched = plan.watch {
                // The followed file's offset counts once the commit row is in, with its lines.
                watched.offset = summary.totalBytes
                watched.headHash = summary.headHash
                watched.sourceID = sourceID
                if summary.moreToRead { watched.size = -1 }
                try recordWatchedFile(watched, ingestID: ingestID, on: shard)
            }
            try commit(summary, ingestID: ingestID, sourceID: sourceID, plan: plan, eventRows: sink.eventRows, on: shard)
            return summary
        } catch {
            sink.abandon()
            discard(ingestID: ingestID, on: shard)
            throw error
        }
    }

    /// The shard (an index into ``shards``) that holds every ingest of source `id`: its rows and
    /// its commits together.
    func shardIndex(of sourceID: Int64) -> Int {
        Int((sourceID - 1).magnitude % UInt64(shards.count))
    }

    /// The one-row insert that makes an ingest visible, and records the source's new state.
    private func commit(
        _ s: IngestSummary, ingestID: UInt64, sourceID: Int64, plan: IngestPlan, eventRows: Int64, on shard: ClickHouseClient
    ) throws {
        var row = TabSeparatedWriter()
        let others = s.otherRequests.sorted { $0.key < $1.key }
        row.int(ingestID)
        row.int(sourceID)
        row.text(plan.fingerprint)
        row.text(s.headHash)
        row.text(plan.name)
        row.text(plan.format)
        row.text(plan.index)
        row.int(s.totalBytes)
        row.int(s.totalLines)
        row.text(s.tailHash)
        row.int(s.downloads)
        row.int(eventRows)
        row.textArray(others.map(\.key))
        row.intArray(others.map(\.value))
        row.int(s.quarantined.values.reduce(0, +))
        row.int(s.firstEvent)
        row.int(s.lastEvent)
        row.int(s.linesRead)
        row.double(s.seconds)
        let now = Date().timeIntervalSince1970
        row.int(Int64(now))
        // Orders a source's commits (its latest state wins): microseconds since 1970, and always
        // after the source's previous commit even if the clock went back.
        let previous = try client.scalar("SELECT max(commit_seq) FROM \(all("commits")) WHERE source_id = \(sourceID)")
        row.int(max(Int64(now * 1_000_000), int(previous) + 1))
        row.endRow()
        try shard.insert(
            "INSERT INTO \(table("commits")) (\(ClickHouseSchema.commitColumns.joined(separator: ", "))) FORMAT TabSeparated",
            rows: row.bytes)
    }

    /// Deletes an uncommitted ingest's rows, in the rollups too (a mutation the server applies
    /// in the background; the rows are invisible until then).
    private func discard(ingestID: UInt64, on shard: ClickHouseClient) {
        for name in ["events", "quarantine", "request_counts", "watched_files"] + RollupTable.allCases.map(\.rawValue) {
            _ = try? shard.execute("ALTER TABLE \(table(name)) DELETE WHERE ingest_id = \(ingestID)")
        }
    }
}

// MARK: RequestLogStore

extension ClickHouseEventStore: RequestLogStore {
    public func requestCounts(in range: TimeRange) async throws -> [RequestCount] {
        var wheres = [committed]
        if let from = range.from { wheres.append("hour >= \(from)") }
        if let to = range.to { wheres.append("hour < \(to)") }
        return try client.rows(
            """
            SELECT hour, status, sum(count) FROM \(all("request_counts")) WHERE \(wheres.joined(separator: " AND "))
            GROUP BY hour, status ORDER BY hour, status
            """
        ).map { RequestCount(hour: int($0[0]), status: Int(int($0[1])), count: int($0[2])) }
    }

    public func requestLogSpan() async throws -> TimeRange? {
        let r = try client.rows("SELECT count(), min(hour), max(hour) FROM \(all("request_counts")) WHERE \(committed)")
        guard let row = r.first, int(row[0]) > 0, let a = row[1].flatMap({ Int64($0) }), let b = row[2].flatMap({ Int64($0) }) else {
            return nil
        }
        return TimeRange(from: a, to: b + 3600)
    }
}

@inline(__always) func int(_ s: String?) -> Int64 { s.flatMap { Int64($0) } ?? 0 }

func bytes(fromHex hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = hex.utf8.makeIterator()
    func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 32) - 87 }
    while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
    return out
}
