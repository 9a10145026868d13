import CasebookAnalysis
import CasebookCatalog
import CasebookClickHouse
import CasebookCore
import Foundation

/// Which package-metadata catalog a command uses: `--catalog DIR` (or `--catalog
/// clickhouse://.../pypi?layout=clickpy`, ClickPy's projects table), else the catalog imported
/// into the store (`casebook catalog import`), else `./catalog` when that folder exists.
enum CatalogChoice {
    /// The run's catalog, and the folder to name in the re-run command (nil for an imported one).
    static func resolve(explicit: String?, store: Any) throws -> (catalog: RunCatalog?, folder: URL?) {
        if let explicit, ClickHouseStores.isURL(explicit) {
            // ClickPy's projects table, read where it lives.
            do { return (RunCatalog(try ClickPyCatalog.open(explicit)), nil) } catch { throw CLIError("--catalog: \(error.description)") }
        }
        if let explicit {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: explicit, isDirectory: &isDir), isDir.boolValue else {
                throw CLIError("--catalog \(explicit): no such folder")
            }
            let url = URL(fileURLWithPath: explicit).standardizedFileURL
            return (RunCatalog(directory: url), url)
        }
        if let catalogStore = store as? any CatalogStore {
            do {
                if let imported = try catalogStore.importedCatalog() { return (RunCatalog(imported), nil) }
            } catch { throw CLIError("cannot read the imported catalog: \(error)") }
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: "catalog", isDirectory: &isDir), isDir.boolValue {
            let url = URL(fileURLWithPath: "catalog").standardizedFileURL
            return (RunCatalog(directory: url), url)
        }
        return (nil, nil)
    }

}
