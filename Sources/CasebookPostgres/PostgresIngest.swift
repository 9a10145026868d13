import CasebookCore
import Foundation

/// Writes one source's events inside the ingest transaction.
///
/// Events are buffered in COPY text format and sent in batches with `COPY events FROM STDIN`.
/// File and profile ids are assigned here (the ingest holds an advisory lock, so no other ingest
/// assigns ids meanwhile); new files and profiles are copied before the events that use them.
/// Client keys are resolved per batch with one statement (existing ids, new ones inserted).
/// Each batch is copied into a temporary table first, then moved into `events` and summed into
/// the rollups by the server (upserts), so rollups and events change in the same transaction.
final class PostgresIngestSink: IngestSink {
    private struct FileKey: Hashable {
        var filename: String?, project: String?, version: String?, fileType: String?
    }

    private struct ProfileKey: Hashable {
        var installer: String?, installerVersion: String?, python: String?
        var implementation: String?, implementationVersion: String?
        var distro: String?, distroVersion: String?, distroID: String?
        var system: String?, systemRelease: String?, cpu: String?, ci: String?
        var country: String?, index: String?
        var libc: String?, libcVersion: String?, opensslVersion: String?

        init(_ e: DownloadEvent) {
            installer = e.installer
            installerVersion = e.installerVersion
            python = e.python
            implementation = e.implementation
            implementationVersion = e.implementationVersion
            distro = e.distro
            distroVersion = e.distroVersion
            distroID = e.distroID
            system = e.system
            systemRelease = e.systemRelease
            cpu = e.cpu
            ci = e.ci.map { $0 ? "true" : "false" }
            country = e.country
            index = e.index
            libc = e.libc
            libcVersion = e.libcVersion
            opensslVersion = e.opensslVersion
        }

        init(row r: [String?]) {
            installer = r[1]
            installerVersion = r[2]
            python = r[3]
            implementation = r[4]
            implementationVersion = r[5]
            distro = r[6]
            distroVersion = r[7]
            distroID = r[8]
            system = r[9]
            systemRelease = r[10]
            cpu = r[11]
            ci = r[12]
            country = r[13]
            index = r[14]
            libc = r[15]
            libcVersion = r[16]
            opensslVersion = r[17]
        }
    }

    /// An event waiting for its client id.
    private struct Pending {
        var ts: Int64, fileID: Int64, profileID: Int64, client: String?, count: Int64
    }

    static let batchSize = 50_000
    static let clientCacheLimit = 1_000_000

    private let connection: PGConnection
    private let schema: String
    private let sourceID: Int64
    private var files: [FileKey: Int64] = [:]
    private var profiles: [ProfileKey: Int64] = [:]
    private var clients: [String: Int64] = [:]
    private var nextFileID: Int64
    private var nextProfileID: Int64
    private var newFiles = CopyBuffer()
    private var newProfiles = CopyBuffer()
    private var quarantined = CopyBuffer()
    private var pending: [Pending] = []
    private var events = CopyBuffer(reserve: 4 << 20)
    private var lastFile: (FileKey, Int64)?

    init(connection: PGConnection, schema: String, sourceID: Int64) throws {
        self.connection = connection
        self.schema = schema
        self.sourceID = sourceID
        var maxFile: Int64 = 0
        var files: [FileKey: Int64] = [:]
        try connection.forEachRow("SELECT id, filename, project, version, file_type FROM \(schema).files", []) { v in
            let id = int(v(0))
            files[FileKey(filename: v(1), project: v(2), version: v(3), fileType: v(4))] = id
            maxFile = max(maxFile, id)
        }
        var maxProfile: Int64 = 0
        var profiles: [ProfileKey: Int64] = [:]
        try connection.forEachRow(
            """
            SELECT id, installer, installer_version, python, implementation, implementation_version, distro,
                   distro_version, distro_id, system, system_release, cpu, ci, country, index_name,
                   libc, libc_version, openssl_version FROM \(schema).profiles
            """, []
        ) { v in
            let id = int(v(0))
            profiles[ProfileKey(row: (0..<18).map { v($0) })] = id
            maxProfile = max(maxProfile, id)
        }
        self.files = files
        self.profiles = profiles
        nextFileID = maxFile + 1
        nextProfileID = maxProfile + 1
        pending.reserveCapacity(Self.batchSize)
        // Dropped when the ingest's transaction ends, whatever its outcome.
        try connection.execute("CREATE TEMP TABLE casebook_ingest_batch (LIKE \(schema).events) ON COMMIT DROP")
    }

    /// Moves the staged batch into `events` and adds its sums to the rollups.
    private func moveBatch() throws {
        let s = schema
        let b = "pg_temp.casebook_ingest_batch"
        let hour = RollupTable.floorSQL("ts", 3600)
        let day = RollupTable.floorSQL("ts", 86400)
        func add(_ table: String, _ columns: [String], key: Int) -> String {
            let sums = columns[key...].map { "\($0) = \(s).\(table).\($0) + excluded.\($0)" }.joined(separator: ", ")
            return "ON CONFLICT (\(columns[..<key].joined(separator: ", "))) DO UPDATE SET \(sums)"
        }
        try connection.execute(
            """
            INSERT INTO \(s).events SELECT * FROM \(b);
            INSERT INTO \(s).rollup_hour (hour, downloads, events) SELECT \(hour), SUM(count), COUNT(*) FROM \(b) GROUP BY 1
                \(add("rollup_hour", ["hour", "downloads", "events"], key: 1));
            INSERT INTO \(s).rollup_day_profile (day, profile_id, downloads) SELECT \(day), profile_id, SUM(count) FROM \(b) GROUP BY 1, 2
                \(add("rollup_day_profile", ["day", "profile_id", "downloads"], key: 2));
            INSERT INTO \(s).rollup_day_file (day, file_id, downloads) SELECT \(day), file_id, SUM(count) FROM \(b) GROUP BY 1, 2
                \(add("rollup_day_file", ["day", "file_id", "downloads"], key: 2));
            INSERT INTO \(s).rollup_day_file_profile (day, file_id, profile_id, downloads)
                SELECT \(day), file_id, profile_id, SUM(count) FROM \(b) GROUP BY 1, 2, 3
                \(add("rollup_day_file_profile", ["day", "file_id", "profile_id", "downloads"], key: 3));
            TRUNCATE \(b);
            """)
    }

    func add(_ e: DownloadEvent) throws {
        pending.append(Pending(ts: e.timestamp, fileID: fileID(for: e), profileID: profileID(for: e), client: e.client, count: e.count))
        if pending.count >= Self.batchSize { try flush() }
    }

    func addRequestCounts(_ counts: [RequestCount]) throws {
        guard !counts.isEmpty else { return }
        func array(_ xs: [String]) -> String { "{" + xs.joined(separator: ",") + "}" }
        try connection.execute(
            """
            INSERT INTO \(schema).request_counts (hour, status, source_id, count)
            SELECT h, st, $3::bigint, n FROM unnest($1::bigint[], $2::int[], $4::bigint[]) AS t(h, st, n)
            ON CONFLICT (hour, status, source_id) DO UPDATE SET count = \(schema).request_counts.count + excluded.count
            """,
            [
                array(counts.map { String($0.hour) }), array(counts.map { String($0.status) }), String(sourceID),
                array(counts.map { String($0.count) })
            ])
    }

    func quarantine(line: Int64, reason: String, redactedLine: String) throws {
        quarantined.int(sourceID)
        quarantined.int(line)
        quarantined.text(reason)
        quarantined.text(redactedLine)
        quarantined.endRow()
    }

    /// Sends everything buffered (still inside the transaction).
    func flush() throws {
        if !newFiles.isEmpty {
            try connection.copyIn(
                "COPY \(schema).files (id, filename, project, project_display, version, file_type, python_tag, abi_tag, platform_tag) FROM STDIN",
                newFiles.bytes)
            newFiles.reset()
        }
        if !newProfiles.isEmpty {
            try connection.copyIn(
                """
                COPY \(schema).profiles (id, installer, installer_version, python, python_major, python_minor, implementation,
                    implementation_version, distro, distro_version, distro_id, system, system_release, cpu, ci, country, index_name,
                    libc, libc_version, openssl, openssl_version) FROM STDIN
                """, newProfiles.bytes)
            newProfiles.reset()
        }
        if !pending.isEmpty {
            try resolveClients()
            events.reset()
            for p in pending {
                events.int(p.ts)
                events.int(p.fileID)
                events.int(p.profileID)
                events.int(p.client.flatMap { clients[$0] })
                events.int(p.count)
                events.int(sourceID)
                events.endRow()
            }
            try connection.copyIn(
                "COPY pg_temp.casebook_ingest_batch (ts, file_id, profile_id, client_id, count, source_id) FROM STDIN", events.bytes)
            try moveBatch()
            pending.removeAll(keepingCapacity: true)
            events.reset()
        }
        if !quarantined.isEmpty {
            try connection.copyIn("COPY \(schema).quarantine (source_id, line, reason, raw) FROM STDIN", quarantined.bytes)
            quarantined.reset()
        }
    }

    private func resolveClients() throws {
        var unknown = Set<String>()
        for p in pending { if let c = p.client, clients[c] == nil { unknown.insert(c) } }
        guard !unknown.isEmpty else { return }
        if clients.count + unknown.count > Self.clientCacheLimit { clients.removeAll(keepingCapacity: true) }
        // Inserted rows are not visible to the same statement's other reads: the union gives every key once.
        try connection.forEachRow(
            """
            WITH input AS (SELECT DISTINCT unnest($1::text[]) AS key),
                 added AS (INSERT INTO \(schema).clients (key) SELECT key FROM input ON CONFLICT (key) DO NOTHING RETURNING key, id)
            SELECT key, id FROM added UNION ALL SELECT c.key, c.id FROM \(schema).clients c JOIN input i ON i.key = c.key
            """, [SQL.textArray(Array(unknown))]
        ) { v in
            if let k = v(0) { clients[k] = int(v(1)) }
        }
    }

    private func fileID(for e: DownloadEvent) -> Int64 {
        let key = FileKey(filename: e.filename, project: e.project, version: e.version, fileType: e.fileType)
        if let last = lastFile, last.0 == key { return last.1 }
        if let id = files[key] {
            lastFile = (key, id)
            return id
        }
        let id = nextFileID
        nextFileID += 1
        newFiles.int(id)
        for v in [e.filename, e.project, e.projectDisplay, e.version, e.fileType, e.pythonTag, e.abiTag, e.platformTag] { newFiles.text(v) }
        newFiles.endRow()
        files[key] = id
        lastFile = (key, id)
        return id
    }

    private func profileID(for e: DownloadEvent) -> Int64 {
        let key = ProfileKey(e)
        if let id = profiles[key] { return id }
        let id = nextProfileID
        nextProfileID += 1
        newProfiles.int(id)
        for v in [
            e.installer, e.installerVersion, e.python, e.pythonMajor, e.pythonMinor, e.implementation,
            e.implementationVersion, e.distro, e.distroVersion, e.distroID, e.system, e.systemRelease, e.cpu,
            e.ci.map { $0 ? "true" : "false" }, e.country, e.index,
            e.libc, e.libcVersion, e.openssl, e.opensslVersion
        ] { newProfiles.text(v) }
        newProfiles.endRow()
        profiles[key] = id
        return id
    }
}
