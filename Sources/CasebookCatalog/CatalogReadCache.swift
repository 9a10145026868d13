import CasebookCore
import Foundation

/// What every imported (or remote) catalog keeps for the run: each project and each name's
/// dependents read once, under one lock, by loaders its store supplies, the store's errors
/// reported as the catalog's. A run asks about tens of projects, not the whole index.
public final class CatalogReadCache: @unchecked Sendable {
    private let lock = NSLock()
    private var projects: [String: CatalogProject] = [:]
    private var dependents: [String: [String]] = [:]

    public init() {}

    /// The project `name` (any spelling), loaded once by `load`, which gets the normalized name
    /// and returns nil when the catalog has no such project.
    public func project(
        named name: String, location: String, load: (String) throws -> CatalogProject?
    ) throws(CatalogError) -> CatalogProject {
        let key = ProjectName.normalize(name)
        lock.lock()
        defer { lock.unlock() }
        if let p = projects[key] { return p }
        let project: CatalogProject?
        do { project = try load(key) } catch { throw .unreadableDocument(path: location, reason: "\(error)") }
        guard let project else { throw .noSuchProject(name: name, catalog: location) }
        projects[key] = project
        return project
    }

    /// The projects that require `name`, loaded once by `load`, which gets the normalized name.
    public func dependents(of name: String, location: String, load: (String) throws -> [String]) throws(CatalogError) -> [String] {
        let key = ProjectName.normalize(name)
        lock.lock()
        defer { lock.unlock() }
        if let d = dependents[key] { return d }
        let names: [String]
        do { names = try load(key) } catch { throw .unreadableDocument(path: location, reason: "\(error)") }
        dependents[key] = names
        return names
    }
}
