import CasebookCore
import Foundation

/// One project as the rows of the catalog tables (`catalog_projects`, `catalog_releases`,
/// `catalog_files`, `catalog_requirements`), the same for every backend.
///
/// A backend writes these rows and reads them back; flattening a ``CatalogProject`` (parsing
/// each requirement once, at import) and assembling one from rows live here, so an imported
/// catalog answers exactly as the folder it came from, whichever store keeps it.
public struct CatalogRows: Sendable, Hashable {
    /// `catalog_projects`: one row.
    public struct Project: Sendable, Hashable {
        public var name: String
        public var displayName: String
        public var latestVersion: String?
        public var lastSerial: Int64?
        public var newestUpload: Int64?
        public var fingerprint: String

        public init(
            name: String, displayName: String, latestVersion: String?, lastSerial: Int64?, newestUpload: Int64?, fingerprint: String
        ) {
            self.name = name
            self.displayName = displayName
            self.latestVersion = latestVersion
            self.lastSerial = lastSerial
            self.newestUpload = newestUpload
            self.fingerprint = fingerprint
        }
    }

    /// `catalog_releases`: one row per version.
    public struct Release: Sendable, Hashable {
        public var version: String
        /// Upload time of the release's first file.
        public var uploadTime: Int64?
        /// The release's requirements are known (it has metadata).
        public var hasMetadata: Bool
        /// The index stated `requires_dist: null` (unknown, not "none").
        public var requiresDistNull: Bool
        public var requiresPython: String?
        public var metadataSource: MetadataSource?

        public init(
            version: String, uploadTime: Int64?, hasMetadata: Bool, requiresDistNull: Bool, requiresPython: String?,
            metadataSource: MetadataSource?
        ) {
            self.version = version
            self.uploadTime = uploadTime
            self.hasMetadata = hasMetadata
            self.requiresDistNull = requiresDistNull
            self.requiresPython = requiresPython
            self.metadataSource = metadataSource
        }
    }

    /// `catalog_files`: one row per file.
    public struct File: Sendable, Hashable {
        public var version: String
        public var file: ReleaseFile

        public init(version: String, file: ReleaseFile) {
            self.version = version
            self.file = file
        }
    }

    /// `catalog_requirements`: one row per `requires_dist` entry, parsed (PEP 508).
    public struct Requirement: Sendable, Hashable {
        public var version: String
        /// Position in the release's `requires_dist`.
        public var position: Int
        /// The requirement as the release states it.
        public var text: String
        /// Normalized required name (the reverse-dependency key).
        public var name: String?
        public var specifier: String?
        public var marker: String?
        /// The extra the marker asks for (`extra == "socks"` → `socks`), normalized.
        public var extra: String?
        /// The release's upload time (kept here so the reverse-dependency index answers time ranges).
        public var uploadTime: Int64?

        public init(
            version: String, position: Int, text: String, name: String?, specifier: String?, marker: String?, extra: String?,
            uploadTime: Int64?
        ) {
            self.version = version
            self.position = position
            self.text = text
            self.name = name
            self.specifier = specifier
            self.marker = marker
            self.extra = extra
            self.uploadTime = uploadTime
        }
    }

    public var project: Project
    public var releases: [Release]
    public var files: [File]
    public var requirements: [Requirement]

    public init(project: Project, releases: [Release], files: [File], requirements: [Requirement]) {
        self.project = project
        self.releases = releases
        self.files = files
        self.requirements = requirements
    }

    /// Flattens a project (its fingerprint computed once, each requirement parsed once).
    public init(_ p: CatalogProject) {
        var releases: [Release] = []
        var files: [File] = []
        var requirements: [Requirement] = []
        for v in p.versions {
            let releaseFiles = (p.files[v] ?? []).sorted { $0.filename < $1.filename }
            let upload = releaseFiles.compactMap(\.uploadTime).min()
            let meta = p.metadata[v]
            releases.append(
                Release(
                    version: v, uploadTime: upload, hasMetadata: meta != nil, requiresDistNull: meta != nil && meta?.requiresDist == nil,
                    requiresPython: meta?.requiresPython, metadataSource: meta?.source))
            var seen = Set<String>()
            for f in releaseFiles where seen.insert(f.filename).inserted { files.append(File(version: v, file: f)) }
            for (i, text) in (meta?.requiresDist ?? []).enumerated() {
                let parsed = try? CasebookCatalog.Requirement(text)
                requirements.append(
                    Requirement(
                        version: v, position: i, text: text, name: parsed?.normalizedName ?? CasebookCatalog.Requirement.quickName(text),
                        specifier: parsed.flatMap { $0.specifier.isEmpty ? nil : $0.specifier.description },
                        marker: parsed?.marker?.description, extra: parsed?.marker.flatMap(Self.extraName), uploadTime: upload))
            }
        }
        self.init(
            project: Project(
                name: p.name, displayName: p.displayName, latestVersion: p.latestVersion, lastSerial: p.lastSerial,
                newestUpload: p.newestUpload, fingerprint: p.fingerprint),
            releases: releases, files: files, requirements: requirements)
    }

    /// The project these rows describe: what the folder form would have read.
    public var catalogProject: CatalogProject {
        var byVersion: [String: [ReleaseFile]] = [:]
        var metadata: [String: ReleaseMetadata] = [:]
        for r in releases {
            byVersion[r.version] = []
            if r.hasMetadata {
                metadata[r.version] = ReleaseMetadata(
                    requiresDist: r.requiresDistNull ? nil : [], requiresPython: r.requiresPython,
                    source: r.metadataSource ?? .releaseDocument)
            }
        }
        for f in files.sorted(by: { ($0.version, $0.file.filename) < ($1.version, $1.file.filename) }) {
            byVersion[f.version, default: []].append(f.file)
        }
        for q in requirements.sorted(by: { ($0.version, $0.position) < ($1.version, $1.position) }) {
            metadata[q.version]?.requiresDist?.append(q.text)
        }
        return CatalogProject(
            name: project.name, displayName: project.displayName, latestVersion: project.latestVersion, lastSerial: project.lastSerial,
            files: byVersion, metadata: metadata)
    }

    /// The extra a marker asks for (`extra == "socks"` → `socks`), when it names one.
    public static func extraName(_ marker: Marker) -> String? {
        switch marker {
        case .comparison(.variable("extra"), "==", .value(let v)), .comparison(.value(let v), "==", .variable("extra")):
            return ProjectName.normalize(v)
        case .comparison: return nil
        case .group(let atoms, _):
            for a in atoms { if let e = extraName(a) { return e } }
            return nil
        }
    }
}

/// What a store keeps of a project to decide an import without reading the project back.
public struct CatalogStamp: Sendable, Hashable {
    public var fingerprint: String
    public var lastSerial: Int64?
    public var newestUpload: Int64?

    public init(fingerprint: String, lastSerial: Int64?, newestUpload: Int64?) {
        self.fingerprint = fingerprint
        self.lastSerial = lastSerial
        self.newestUpload = newestUpload
    }
}

/// The four table operations a backend provides; the import rules (what is unchanged, older,
/// replaced or added) are written once, in ``write(_:mode:)``, for every backend.
public protocol CatalogTablesWriter {
    /// The stored project's stamp, nil when the project is not stored.
    func stamp(of name: String) throws -> CatalogStamp?
    /// The stored project's rows (for `.merge`), nil when not stored.
    func storedRows(of name: String) throws -> CatalogRows?
    /// Deletes every row of a project.
    func delete(_ name: String) throws
    /// Inserts a project's rows.
    func insert(_ rows: CatalogRows) throws
}

extension CatalogTablesWriter {
    /// Writes projects by the import rules; the caller runs it inside one transaction.
    public func write(_ projects: [CatalogProject], mode: CatalogImportMode) throws -> CatalogImportCounts {
        var counts = CatalogImportCounts()
        for incoming in projects {
            guard let stamp = try stamp(of: incoming.name) else {
                try insert(CatalogRows(incoming))
                counts.added += 1
                continue
            }
            var project = incoming
            if mode == .merge, let stored = try storedRows(of: incoming.name) {
                project = stored.catalogProject.merging(incoming)
            }
            let rows = CatalogRows(project)
            if rows.project.fingerprint == stamp.fingerprint {
                counts.unchanged += 1
                continue
            }
            if mode == .replaceNewer, project.isOlder(than: stamp) {
                counts.older += 1
                continue
            }
            try delete(project.name)
            try insert(rows)
            counts.replaced += 1
        }
        return counts
    }
}

extension CatalogProject {
    /// A project document is older than the stored one when its `last_serial` is lower (or,
    /// when either lacks one, its newest upload is earlier).
    public func isOlder(than stamp: CatalogStamp) -> Bool {
        if let a = lastSerial, let b = stamp.lastSerial { return a < b }
        if let a = newestUpload, let b = stamp.newestUpload { return a < b }
        return false
    }
}
