import CasebookCatalog
import CasebookCore
import CasebookIngest
import Foundation

/// `casebook catalog import`: folders of documents and files of metadata rows into a catalog store.
enum CatalogImport {
    struct Result {
        /// Projects (folder) or rows (file) read.
        var read = 0
        var counts = CatalogImportCounts()
        /// What could not be imported: file (and line) and reason.
        var problems: [String] = []
    }

    /// Projects per transaction.
    static let batchSize = 500

    /// Imports every project folder of a catalog directory; a malformed document keeps its
    /// project out (named with its file and what was wrong) and the rest is imported.
    static func folder(_ directory: URL, into store: any CatalogStore, progress: (Int, String) -> Void) throws -> Result {
        let folders: [String]
        do { folders = try CatalogFolder.projectFolders(in: directory) } catch { throw CLIError(error.description) }
        var result = Result()
        // Documents are parsed on every core while the previous batch is written, each batch in one transaction.
        let pipe = BatchPipe<(read: Int, projects: [CatalogProject], problems: [String])>()
        defer { pipe.cancel() }
        pipe.produce {
            for start in stride(from: 0, to: folders.count, by: batchSize) {
                let slice = Array(folders[start..<min(folders.count, start + batchSize)])
                let parsed = ParallelMap.map(slice) { name -> Swift.Result<CatalogProject?, CatalogError> in
                    do throws(CatalogError) { return .success(try CatalogFolder.readProject(folder: name, in: directory)) } catch {
                        return .failure(error)
                    }
                }
                var batch: [CatalogProject] = []
                var problems: [String] = []
                for (name, outcome) in zip(slice, parsed) {
                    switch outcome {
                    case .success(let p?): batch.append(p)
                    case .success(nil): break
                    case .failure(let e): problems.append("\(e.description) (project \(name) not imported)")
                    }
                }
                try pipe.put((slice.count, batch, problems))
            }
        }
        while let batch = try pipe.take() {
            result.read += batch.read
            result.problems += batch.problems
            result.counts = result.counts + (try store.importCatalogProjects(batch.projects, mode: .replaceNewer))
            progress(result.read, "of \(folders.count) projects")
        }
        return result
    }

    /// Imports a file of metadata rows (NDJSON or CSV, plain or gzip): rows are read and
    /// parsed on one thread while the previous batch is written on this one.
    static func rows(_ path: String, into store: any CatalogStore, progress: (Int, String) -> Void) throws -> Result {
        var result = Result()
        var configured = MetadataRowsReader(path: path)
        configured.batchSize = 2000
        let reader = configured
        let pipe = BatchPipe<[CatalogProject]>()
        // A failed write stops the reader at its next batch.
        defer { pipe.cancel() }
        let outcome = ReaderOutcome()
        pipe.produce {
            let (rows, problems) = try reader.read { batch in try pipe.put(batch) }
            outcome.set(rows: rows, problems: problems.map(\.description))
        }
        var projects = 0
        while let batch = try pipe.take() {
            result.counts = result.counts + (try store.importCatalogProjects(batch, mode: .merge))
            projects += batch.count
            progress(projects, "projects")
        }
        (result.read, result.problems) = outcome.get()
        return result
    }

    final class ReaderOutcome: @unchecked Sendable {
        private let lock = NSLock()
        private var rows = 0
        private var problems: [String] = []
        func set(rows: Int, problems: [String]) {
            lock.withLock { (self.rows, self.problems) = (rows, problems) }
        }
        func get() -> (Int, [String]) { lock.withLock { (rows, problems) } }
    }
}

/// A bounded hand-over between a producing thread and the caller: `put` waits while
/// `capacity` items are queued, `take` returns nil at the end and rethrows the producer's
/// error; when the caller stops taking (an error while writing), `put` throws and the producer ends.
final class BatchPipe<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [T] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private let capacity: Int

    struct Cancelled: Error {}

    init(capacity: Int = 2) { self.capacity = capacity }

    /// Runs `body` on a new thread; its end (or error) ends the pipe.
    func produce(_ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            var failed: (any Error)?
            do { try body() } catch { failed = error }
            condition.lock()
            finished = true
            if let failed, !(failed is Cancelled) { failure = failed }
            condition.broadcast()
            condition.unlock()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func put(_ item: T) throws {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= capacity && !cancelled { condition.wait() }
        if cancelled { throw Cancelled() }
        queue.append(item)
        condition.broadcast()
    }

    func take() throws -> T? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !finished { condition.wait() }
        if !queue.isEmpty {
            let item = queue.removeFirst()
            condition.broadcast()
            return item
        }
        // The producer is done: wait for nothing more.
        if let failure { throw failure }
        return nil
    }

    /// Stops the producer at its next `put`.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Maps over an array on every core, keeping the order.
enum ParallelMap {
    final class Box<R>: @unchecked Sendable {
        var out: [R?]
        let lock = NSLock()
        init(_ n: Int) { out = [R?](repeating: nil, count: n) }
    }

    static func map<T: Sendable, R>(_ items: [T], _ transform: @escaping @Sendable (T) -> R) -> [R] {
        let box = Box<R>(items.count)
        DispatchQueue.concurrentPerform(iterations: items.count) { i in
            let r = transform(items[i])
            box.lock.lock()
            box.out[i] = r
            box.lock.unlock()
        }
        return box.out.map { $0! }
    }
}
