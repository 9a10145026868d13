import CasebookCore
import Foundation

/// A catalog of PyPI JSON API documents stored as the API lays them out, read into memory:
/// `DIR/pypi/NAME/json` (a project with all releases and files) and
/// `DIR/pypi/NAME/VERSION/json` (one release, with that version's own `requires_dist`).
///
/// Names are PEP 503 normalized everywhere (`Flask_Login` finds `flask-login`). All documents
/// are read when the folder is opened (once per run: the run shares it between steps), and
/// reverse dependencies are indexed then. A release's requirements come from its release
/// document; without one, only the latest version's are known (from the project document's
/// `info`), and queries about other versions return nil (unknown) rather than guessing. For
/// an index of thousands of projects, `casebook catalog import` loads the folder into the
/// store once instead.
public struct CatalogFolder: PackageCatalog {
    public let directory: URL
    /// Every project, by normalized name.
    public let projectsByName: [String: CatalogProject]
    /// Required name → normalized names of the projects requiring it.
    let dependentsIndex: [String: [String]]

    public var location: String { directory.path }

    /// Opens a catalog directory and reads every document in it; the first unreadable or
    /// malformed document is thrown (naming its file and what was wrong).
    public init(directory: URL) throws(CatalogError) {
        var projects: [CatalogProject] = []
        for name in try Self.projectFolders(in: directory) {
            if let p = try Self.readProject(folder: name, in: directory) { projects.append(p) }
        }
        self.init(directory: directory, projects: projects)
    }

    /// A catalog of projects already read (`directory` is where they came from, for messages).
    public init(directory: URL, projects: [CatalogProject]) {
        self.directory = directory
        var byName: [String: CatalogProject] = [:]
        for p in projects { byName[p.name] = byName[p.name].map { $0.merging(p) } ?? p }
        var index: [String: Set<String>] = [:]
        for p in byName.values { for n in p.requiredNames where n != p.name { index[n, default: []].insert(p.name) } }
        projectsByName = byName
        dependentsIndex = index.mapValues { $0.sorted() }
    }

    /// Normalized names of every project in the catalog, sorted.
    public func projects() -> [String] { projectsByName.keys.sorted() }

    public func project(named name: String) throws(CatalogError) -> CatalogProject {
        guard let p = projectsByName[ProjectName.normalize(name)] else { throw .noSuchProject(name: name, catalog: directory.path) }
        return p
    }

    public func dependents(of name: String) throws(CatalogError) -> [String] {
        dependentsIndex[ProjectName.normalize(name)] ?? []
    }

    /// The project folders under `DIR/pypi`, sorted (folder names as written, not normalized).
    public static func projectFolders(in directory: URL) throws(CatalogError) -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw .notADirectory(path: directory.path)
        }
        let pypi = directory.appendingPathComponent("pypi")
        return ((try? fm.contentsOfDirectory(atPath: pypi.path)) ?? []).sorted().filter { name in
            var d: ObjCBool = false
            return fm.fileExists(atPath: pypi.appendingPathComponent(name).path, isDirectory: &d) && d.boolValue
        }
    }

    /// Reads one project folder `DIR/pypi/NAME` (its project document and release documents);
    /// nil when it holds no document. Throws for the first unreadable or malformed document.
    public static func readProject(folder: String, in directory: URL) throws(CatalogError) -> CatalogProject? {
        let fm = FileManager.default
        let projectDir = directory.appendingPathComponent("pypi").appendingPathComponent(folder)
        func load(_ url: URL) throws(CatalogError) -> PyPIDocument {
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw .unreadableDocument(path: url.path, reason: error.localizedDescription)
            }
            return try PyPIDocument(data: data, path: url.path)
        }
        let projectJSON = projectDir.appendingPathComponent("json")
        let projectDocument = fm.fileExists(atPath: projectJSON.path) ? try load(projectJSON) : nil
        var releaseDocuments: [String: PyPIDocument] = [:]
        for sub in ((try? fm.contentsOfDirectory(atPath: projectDir.path)) ?? []).sorted() {
            let subDir = projectDir.appendingPathComponent(sub)
            let doc = subDir.appendingPathComponent("json")
            var d: ObjCBool = false
            guard fm.fileExists(atPath: subDir.path, isDirectory: &d), d.boolValue, fm.fileExists(atPath: doc.path) else { continue }
            releaseDocuments[sub] = try load(doc)
        }
        return CatalogProject(name: folder, projectDocument: projectDocument, releaseDocuments: releaseDocuments)
    }
}
