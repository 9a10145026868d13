import CasebookCore
import Foundation
import Testing

@testable import CasebookClickHouse

/// A current ClickHouse release, in process: the `chdb` Python package (`pip install chdb`).
/// `.ci/run` does not install it (a 180 MB download), so the suite runs where it is installed.
enum CurrentEngine {
    static let available: Bool = (try? run(["-c", "import chdb"]).status) == 0

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `python3 ARGUMENTS`; its exit status, standard output and the end of its standard
    /// error (where the engine's message is).
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Both pipes read at once, so that a full one never blocks the child.
        nonisolated(unsafe) var errors = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errors = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self), String(String(decoding: errors, as: UTF8.self).suffix(2000)))
    }

    /// Runs `statements` in a fresh chdb session, then `queries`; the engine's version and each
    /// query's `TabSeparated` answer.
    static func answers(statements: [String], queries: [String]) throws -> (version: String, answers: [String]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-chdb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = """
            import json, sys
            from chdb import session
            spec = json.load(open(sys.argv[1]))
            s = session.Session(sys.argv[2])
            for sql in spec["statements"]:
                s.query(sql)
            out = [s.query("SELECT version()", "TabSeparated").bytes().decode().strip()]
            out += [s.query(q, "TabSeparated").bytes().decode() for q in spec["queries"]]
            print(json.dumps(out))
            """
        try script.write(to: dir.appendingPathComponent("run.py"), atomically: true, encoding: .utf8)
        try JSONEncoder().encode(["statements": statements, "queries": queries]).write(to: dir.appendingPathComponent("spec.json"))
        let (status, output, error) = try run([
            dir.appendingPathComponent("run.py").path, dir.appendingPathComponent("spec.json").path,
            dir.appendingPathComponent("session").path
        ])
        guard status == 0, let all = try? JSONDecoder().decode([String].self, from: Data(output.utf8)), !all.isEmpty else {
            throw Failed(description: "chdb failed (exit \(status)): \(error)")
        }
        return (all[0], Array(all.dropFirst()))
    }
}

/// The SQL Casebook sends (tables, rollups, their views, the version 1 backfill, every query
/// shape) on a current ClickHouse release as well as on 18.16: the same answers as the reference.
@Suite(.enabled(if: CurrentEngine.available)) struct CurrentEngineTests {
    @Test func theTablesViewsBackfillAndQueriesGiveTheReferenceAnswers() throws {
        let db = "casebook_current"
        let events = AggregateParityTests.randomEvents(count: 900, seed: 31) + RollupTests.events(seed: 32, count: 300)
        let (before, after, uncommitted) = (Array(events[0..<500]), Array(events[500..<1000]), Array(events[1000...]))
        // The sink's RowBinary rows, read back through `format()` (a statement's text cannot
        // carry binary rows here): the same bytes the server reads from an ingest.
        func insert(_ events: [DownloadEvent], ingestID: UInt64) -> String {
            var rows = RowBinaryWriter()
            for e in events { ClickHouseIngestSink.write(e, ingestID: ingestID, sourceID: Int64(ingestID), into: &rows) }
            let structure =
                "ingest_id UInt64, source_id Int64, ts Int64, count Int64, "
                + ClickHouseSchema.eventTextColumns.map { "\($0) Nullable(String)" }.joined(separator: ", ")
            let data = rows.bytes.map { String(format: "\\x%02x", $0) }.joined()
            let insert = ClickHouseIngestSink.eventInsert(database: db).replacingOccurrences(of: " FORMAT RowBinary", with: "")
            return insert + " SELECT * FROM format(RowBinary, '\(structure)', '\(data)')"
        }
        func commit(_ id: UInt64) -> String {
            "INSERT INTO \(ClickHouseSchema.table(db, "commits")) (ingest_id, source_id) VALUES (\(id), \(id))"
        }
        // As ClickHouseRollups.install does it for a store of version 1: one ingest committed
        // before the snapshot and the views, one after, one never committed.
        // The rows' text is longer than a statement may be by default.
        var statements = ["SET max_query_size = 100000000"]
        statements += ClickHouseSchema.createStatements(database: db) + ClickHouseRollups.createStatements(database: db)
        statements += [insert(before, ingestID: 1), commit(1), ClickHouseRollups.snapshotStatement(database: db)]
        statements += RollupTable.allCases.map { ClickHouseRollups.createView($0, database: db) }
        statements += [insert(after, ingestID: 2), commit(2), insert(uncommitted, ingestID: 3)]
        statements += RollupTable.allCases.map { ClickHouseRollups.backfillStatement($0, database: db) }

        let queries = AggregateParityTests.queries + RollupTests.queries.map(\.0)
        let plans = [true, false].flatMap { useRollups in
            queries.map { (query: $0, plan: ClickHouseQueryBuilder.plan(for: $0, database: db, useRollups: useRollups)) }
        }
        let (version, answers) = try CurrentEngine.answers(statements: statements, queries: plans.map(\.plan.1.sql))
        #expect(!version.hasPrefix("18."))
        #expect(plans.contains { $0.plan.1.rollup != nil })
        for (p, answer) in zip(plans, answers) {
            let table = try ClickHouseQueryBuilder.table(
                p.query, over: p.plan.0, rows: TabSeparatedReader.rows(Array(answer.utf8)), location: "chdb \(version)")
            #expect(table == ReferenceAggregator.aggregate(p.query, over: before + after), "ClickHouse \(version): \(p.plan.1)")
        }
    }
}
