import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation

/// A fresh temporary folder per test.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
}

func freshStore() throws -> (SQLiteEventStore, URL) {
    let dir = try temporaryDirectory()
    let store = try SQLiteEventStore(path: dir.appendingPathComponent("store.sqlite").path)
    return (store, dir)
}

func ingest(_ store: SQLiteEventStore, _ path: String, options: IngestOptions = IngestOptions()) throws -> IngestSummary {
    try Ingestor(target: store, options: options).ingest(path: path)
}

/// Daily totals as [date: downloads].
func dailyTotals(_ store: SQLiteEventStore) throws -> [String: Int64] {
    let t = try store.aggregateSync(AggregateQuery(bucket: .day))
    return Dictionary(uniqueKeysWithValues: t.rows.map { (UTCTime.dateString($0.bucketStart!), $0.downloads) })
}

func day(_ s: String) -> Int64 { UTCTime.parse(s)! }
