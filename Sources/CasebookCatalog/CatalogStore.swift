import CasebookCore
import Foundation

/// How an import treats a project the store already has.
public enum CatalogImportMode: Sendable, Hashable {
    /// A project document is the whole project: a newer one (higher `last_serial`, else a
    /// later newest upload) replaces the stored project; an older one is skipped.
    case replaceNewer
    /// Metadata rows describe one release (one file) each: they are added to the stored
    /// project, and a row for a release already stored replaces that release's metadata.
    case merge
}

/// What an import did with the projects it was given.
public struct CatalogImportCounts: Sendable, Hashable {
    /// Projects the store did not have.
    public var added = 0
    /// Projects whose stored rows were replaced (a newer document, or merged rows).
    public var replaced = 0
    /// Projects the store already had exactly so: nothing was written.
    public var unchanged = 0
    /// Projects older than the stored ones (lower `last_serial`): skipped.
    public var older = 0

    public init() {}

    public static func + (a: CatalogImportCounts, b: CatalogImportCounts) -> CatalogImportCounts {
        var c = a
        c.added += b.added
        c.replaced += b.replaced
        c.unchanged += b.unchanged
        c.older += b.older
        return c
    }
}

/// The size of an imported catalog.
public struct CatalogSummary: Sendable, Hashable {
    public var projects: Int
    public var releases: Int
    public var files: Int
    public var requirements: Int
    /// Releases whose requirements are known.
    public var releasesWithMetadata: Int
    /// Newest upload time of any file (epoch seconds), when any file has one.
    public var newestUpload: Int64?

    public init(projects: Int, releases: Int, files: Int, requirements: Int, releasesWithMetadata: Int, newestUpload: Int64?) {
        self.projects = projects
        self.releases = releases
        self.files = files
        self.requirements = requirements
        self.releasesWithMetadata = releasesWithMetadata
        self.newestUpload = newestUpload
    }
}

/// A release that requires a project, as a reverse-dependency query over a time range returns it.
public struct DependentRelease: Sendable, Hashable {
    /// Normalized name of the dependent project.
    public var project: String
    public var version: String
    /// Upload time of the release's first file (epoch seconds), when known.
    public var uploadTime: Int64?
    /// Normalized name of the required project.
    public var requires: String
    /// The requirement as the release states it.
    public var requirement: String

    public init(project: String, version: String, uploadTime: Int64?, requires: String, requirement: String) {
        self.project = project
        self.version = version
        self.uploadTime = uploadTime
        self.requires = requires
        self.requirement = requirement
    }
}

/// A store that keeps an imported catalog beside its events (`casebook catalog import`).
public protocol CatalogStore: Sendable {
    /// Adds projects in one transaction (each project is written whole or not at all).
    func importCatalogProjects(_ projects: [CatalogProject], mode: CatalogImportMode) throws -> CatalogImportCounts
    /// The imported catalog, or nil when nothing was imported.
    func importedCatalog() throws -> (any PackageCatalog)?
    /// The imported catalog's size (all zero when nothing was imported).
    func catalogSummary() throws -> CatalogSummary
    /// Releases uploaded in `[from, to)` (any time when nil) that require one of `names`, by upload time.
    func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws -> [DependentRelease]
}
