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
        var batch: [CatalogProject] = []
        // Documents are parsed on every core; each batch is written in one transaction.
        for start in stride(from: 0, to: folders.count, by: batchSize) {
            let slice = Array(folders[start..<min(folders.count, start + batchSize)])
            let parsed = ParallelMap.map(slice) { name -> Swift.Result<CatalogProject?, CatalogError> in
                do throws(CatalogError) { return .success(try CatalogFolder.readProject(folder: name, in: directory)) } catch {
                    return .failure(error)
                }
            }
            for (name, outcome) in zip(slice, parsed) {
                switch outcome {
                case .success(let p?): batch.append(p)
                case .success(nil): break
                case .failure(let e): result.problems.append("\(e.description) (project \(name) not imported)")
                }
            }
            result.read += slice.count
            result.counts = result.counts + (try store.importCatalogProjects(batch, mode: .replaceNewer))
            batch.removeAll(keepingCapacity: true)
            progress(result.read, "of \(folders.count) projects")
        }
        return result
    }

    /// Imports a file of metadata rows (NDJSON or CSV, plain or gzip).
    static func rows(_ path: String, into store: any CatalogStore, progress: (Int, String) -> Void) throws -> Result {
        var result = Result()
        var reader = MetadataRowsReader(path: path)
        reader.batchSize = 2000
        var projects = 0
        let (rows, problems) = try reader.read { batch in
            result.counts = result.counts + (try store.importCatalogProjects(batch, mode: .merge))
            projects += batch.count
            progress(projects, "projects")
        }
        result.read = rows
        result.problems = problems.map(\.description)
        return result
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
