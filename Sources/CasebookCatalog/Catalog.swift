import CasebookCore
import Foundation

/// A release of a project: its version, when it was uploaded, what files it has.
public struct ReleaseSummary: Sendable, Hashable {
    /// The version as the index writes it (the key of `releases`).
    public var versionText: String
    /// The parsed version; nil for legacy versions that are not PEP 440.
    public var version: Version?
    /// Earliest upload time of its files (epoch seconds UTC); nil if it has no files or no times.
    public var uploadTime: Int64?
    public var fileCount: Int
    public var hasWheel: Bool
    /// True when every file is yanked (a release with no files is not yanked).
    public var yanked: Bool
}

/// Which kind of wheel a client can install.
public enum WheelKind: String, Sendable, Hashable {
    /// A pure-Python wheel for both Pythons: `py2.py3-none-any`.
    case universal
    /// A pure-Python wheel for one Python major version (`py3-none-any`, `py2-none-any`).
    case pure
    /// A wheel tied to an interpreter, ABI or platform (`cp27-cp27mu-linux_armv7l`, manylinux...).
    case platform
}

/// The wheel a client's pip would pick for a release, and why it fits.
public struct WheelMatch: Sendable, Hashable {
    public var file: ReleaseFile
    /// The supported tag of the client that matched (the best one).
    public var tag: WheelTag
    /// Position of `tag` in the client's supported tags (0 is the best possible).
    public var rank: Int
    public var kind: WheelKind
}

/// Where a release's requirements were read from.
public enum MetadataSource: Sendable, Hashable {
    /// The release document `pypi/NAME/VERSION/json`.
    case releaseDocument
    /// The project document's `info`, which describes only its latest version.
    case projectDocument
}

/// The requirements of one release.
public struct ReleaseRequirements: Sendable, Hashable {
    public var project: String
    public var version: String
    public var source: MetadataSource
    /// True when the document has `requires_dist: null` (requirements unknown to the index;
    /// `all` is then empty but that does not prove the release has none).
    public var requiresDistIsNull: Bool
    /// Every parsed requirement, markers not evaluated.
    public var all: [Requirement]
    /// Those that apply: markers evaluated for the environment (with the requested extras);
    /// without an environment, those whose marker does not ask for an extra.
    public var applicable: [Requirement]
    /// Requirements whose marker could not be evaluated (undefined comparison), with the reason.
    public var undecided: [String]
    /// `requires_dist` entries that are not valid PEP 508, with the parse error.
    public var invalid: [String]
}

/// A project in the catalog that requires another one, and in which releases.
public struct ReverseDependency: Sendable, Hashable {
    public struct Use: Sendable, Hashable {
        public var version: String
        public var requirement: Requirement
        public var source: MetadataSource
    }
    /// Normalized name of the dependent project.
    public var dependent: String
    /// Its display name (`info.name`).
    public var dependentDisplayName: String
    /// Each release (with known metadata) that requires the target, oldest first.
    public var uses: [Use]
}

/// What changed in the requirements between two releases.
public struct RequirementDiff: Sendable, Hashable {
    public struct Change: Sendable, Hashable {
        public var from: Requirement
        public var to: Requirement
    }
    public var project: String
    public var from: String
    public var to: String
    public var added: [Requirement]
    public var removed: [Requirement]
    /// Same project (and marker), different specifier, extras or URL.
    public var changed: [Change]
    public var unchanged: [Requirement]
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
}

/// A read-only catalog of PyPI JSON API documents stored as the API lays them out:
/// `DIR/pypi/NAME/json` (a project with all releases and files) and
/// `DIR/pypi/NAME/VERSION/json` (one release, with that version's own `requires_dist`).
///
/// Names are PEP 503 normalized everywhere (`Flask_Login` finds `flask-login`). All
/// documents are read when the catalog is opened; queries are synchronous and the type is
/// `Sendable`. A release's requirements come from its release document; without one, only
/// the latest version's are known (from the project document's `info`), and queries about
/// other versions return nil (unknown) rather than guessing.
public struct Catalog: Sendable {
    struct Entry: Sendable {
        var project: PyPIDocument?
        var projectPath: String?
        var releaseDocs: [String: (doc: PyPIDocument, path: String)]  // version text → document
    }

    public let directory: URL
    let entries: [String: Entry]

    /// Opens a catalog directory and reads every document in it.
    public init(directory: URL) throws(CatalogError) {
        self.directory = directory
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw .notADirectory(path: directory.path)
        }
        var entries: [String: Entry] = [:]
        let pypi = directory.appendingPathComponent("pypi")
        let names = (try? fm.contentsOfDirectory(atPath: pypi.path)) ?? []
        func load(_ url: URL) throws(CatalogError) -> PyPIDocument {
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw .unreadableDocument(path: url.path, reason: error.localizedDescription)
            }
            return try PyPIDocument(data: data, path: url.path)
        }
        for dirName in names.sorted() {
            let projectDir = pypi.appendingPathComponent(dirName)
            var d: ObjCBool = false
            guard fm.fileExists(atPath: projectDir.path, isDirectory: &d), d.boolValue else { continue }
            let key = ProjectName.normalize(dirName)
            var entry = entries[key] ?? Entry(project: nil, projectPath: nil, releaseDocs: [:])
            let projectJSON = projectDir.appendingPathComponent("json")
            if fm.fileExists(atPath: projectJSON.path) {
                entry.project = try load(projectJSON)
                entry.projectPath = projectJSON.path
            }
            for sub in ((try? fm.contentsOfDirectory(atPath: projectDir.path)) ?? []).sorted() {
                let doc = projectDir.appendingPathComponent(sub).appendingPathComponent("json")
                var sd: ObjCBool = false
                guard fm.fileExists(atPath: projectDir.appendingPathComponent(sub).path, isDirectory: &sd), sd.boolValue,
                    fm.fileExists(atPath: doc.path)
                else { continue }
                entry.releaseDocs[sub] = (try load(doc), doc.path)
            }
            if entry.project != nil || !entry.releaseDocs.isEmpty { entries[key] = entry }
        }
        self.entries = entries
    }

    /// Normalized names of every project in the catalog, sorted.
    public func projects() -> [String] { entries.keys.sorted() }

    /// The display name (`info.name`) of a project.
    public func displayName(of project: String) throws(CatalogError) -> String {
        let e = try entry(project)
        return e.project?.name ?? e.releaseDocs.values.first?.doc.name ?? project
    }

    /// The latest version according to the project document (`info.version`), if present.
    public func latestVersion(of project: String) throws(CatalogError) -> String? {
        try entry(project).project?.version
    }

    func entry(_ project: String) throws(CatalogError) -> Entry {
        guard let e = entries[ProjectName.normalize(project)] else {
            throw .noSuchProject(name: project, catalog: directory.path)
        }
        return e
    }

    /// Files per version text, from the project document's `releases`, completed with release documents.
    func fileMap(_ e: Entry) -> [String: [ReleaseFile]] {
        var map = e.project?.releases ?? [:]
        if let p = e.project, map[p.version] == nil, !p.urls.isEmpty { map[p.version] = p.urls }
        for (v, r) in e.releaseDocs where findKey(v, in: Array(map.keys)) == nil { map[v] = r.doc.urls }
        return map
    }

    /// Finds the key naming the same version (text equal, else PEP 440 equal).
    func findKey(_ version: String, in keys: [String]) -> String? {
        if keys.contains(version) { return version }
        guard let v = Version.parse(version) else { return nil }
        return keys.first { Version.parse($0) == v }
    }

    static func sortVersions(_ a: String, _ b: String) -> Bool {
        switch (Version.parse(a), Version.parse(b)) {
        case (let x?, let y?): return x == y ? a < b : x < y
        case (nil, _?): return true
        case (_?, nil): return false
        case (nil, nil): return a < b
        }
    }

    /// A project's releases, oldest first by PEP 440 (legacy non-PEP 440 versions first).
    public func releases(of project: String) throws(CatalogError) -> [ReleaseSummary] {
        let map = fileMap(try entry(project))
        return map.keys.sorted(by: Catalog.sortVersions).map { v in
            let files = map[v] ?? []
            return ReleaseSummary(
                versionText: v, version: Version.parse(v),
                uploadTime: files.compactMap(\.uploadTime).min(), fileCount: files.count,
                hasWheel: files.contains(where: \.isWheel),
                yanked: !files.isEmpty && files.allSatisfy(\.yanked))
        }
    }

    /// The files of one release (any spelling of the version: `1.0` finds `1.0.0`).
    public func files(of project: String, version: String) throws(CatalogError) -> [ReleaseFile] {
        let e = try entry(project)
        let map = fileMap(e)
        guard let key = findKey(version, in: Array(map.keys)) else {
            throw .noSuchRelease(project: project, version: version, known: map.keys.sorted(by: Catalog.sortVersions))
        }
        return map[key] ?? []
    }

    /// The best wheel of a release that the client can install, or nil if none fits (the
    /// client would build from the sdist). Yanked files are skipped unless `includeYanked`,
    /// and so are files whose `requires_python` excludes the client's Python, as pip does.
    public func hasCompatibleWheel(
        project: String, version: String, for client: ClientEnvironment,
        includeYanked: Bool = false
    ) throws(CatalogError) -> WheelMatch? {
        let files = try self.files(of: project, version: version)
        let supported = client.supportedTags()
        var rankOf: [WheelTag: Int] = [:]
        for (i, t) in supported.enumerated() where rankOf[t] == nil { rankOf[t] = i }
        var best: WheelMatch?
        for f in files {
            guard let wheel = f.wheel, includeYanked || !f.yanked else { continue }
            if let rp = f.requiresPython, let set = try? SpecifierSet(rp),
                !set.contains(client.pythonFullVersion, prereleases: true)
            {
                continue
            }
            guard let (tag, rank) = wheel.tags.compactMap({ t in rankOf[t].map { (t, $0) } }).min(by: { $0.1 < $1.1 }) else { continue }
            let pure = wheel.tags.allSatisfy(\.isPurePython)
            let majors = Set(wheel.tags.map { String($0.interpreter.dropFirst(2).prefix(1)) })
            let kind: WheelKind = pure ? (majors.isSuperset(of: ["2", "3"]) ? .universal : .pure) : .platform
            if best == nil || rank < best!.rank { best = WheelMatch(file: f, tag: tag, rank: rank, kind: kind) }
        }
        return best
    }

    /// The requirements of a release, with markers evaluated for `client` (nil: not evaluated).
    ///
    /// Returns nil when the catalog does not know them: no release document for this version
    /// and the project document describes another (its `info.requires_dist` is the latest
    /// version's only). Extras are ignored unless listed in `extras`.
    public func requirements(
        of project: String, version: String, for client: ClientEnvironment?,
        extras: Set<String> = []
    ) throws(CatalogError) -> ReleaseRequirements? {
        let e = try entry(project)
        let map = fileMap(e)
        guard let key = findKey(version, in: Array(map.keys)) ?? findKey(version, in: Array(e.releaseDocs.keys)) else {
            throw .noSuchRelease(project: project, version: version, known: map.keys.sorted(by: Catalog.sortVersions))
        }
        let doc: PyPIDocument
        let source: MetadataSource
        if let k = findKey(key, in: Array(e.releaseDocs.keys)), let r = e.releaseDocs[k] {
            doc = r.doc
            source = .releaseDocument
        } else if let p = e.project, findKey(key, in: [p.version]) != nil {
            doc = p
            source = .projectDocument
        } else {
            return nil
        }
        var all: [Requirement] = []
        var invalid: [String] = []
        var applicable: [Requirement] = []
        var undecided: [String] = []
        for text in doc.requiresDist ?? [] {
            do { all.append(try Requirement(text)) } catch { invalid.append("\(text): \(error.expected)") }
        }
        let normalizedExtras = Set(extras.map { ProjectName.normalize($0) })
        for r in all {
            if let client {
                do {
                    if try r.applies(in: client.markerEnvironment, extras: normalizedExtras) { applicable.append(r) }
                } catch { undecided.append("\(r): \(error)") }
            } else if let m = r.marker, m.variables.contains("extra") {
                if !normalizedExtras.isEmpty, (try? r.applies(in: ["extra": ""], extras: normalizedExtras)) == true {
                    applicable.append(r)
                }
            } else {
                applicable.append(r)
            }
        }
        return ReleaseRequirements(
            project: doc.name, version: key, source: source,
            requiresDistIsNull: doc.requiresDist == nil, all: all,
            applicable: applicable, undecided: undecided, invalid: invalid)
    }

    /// The catalog's projects whose known releases require `project` (any marker, any extra),
    /// with the releases and the requirement each one states.
    public func reverseDependencies(of project: String) -> [ReverseDependency] {
        let target = ProjectName.normalize(project)
        var out: [ReverseDependency] = []
        for name in projects() where name != target {
            guard let e = entries[name] else { continue }
            var docs: [(String, PyPIDocument, MetadataSource)] = e.releaseDocs.map { ($0.key, $0.value.doc, .releaseDocument) }
            if let p = e.project, findKey(p.version, in: docs.map(\.0)) == nil { docs.append((p.version, p, .projectDocument)) }
            var uses: [ReverseDependency.Use] = []
            for (v, doc, src) in docs {
                for text in doc.requiresDist ?? [] {
                    guard let r = try? Requirement(text), r.normalizedName == target else { continue }
                    uses.append(.init(version: v, requirement: r, source: src))
                }
            }
            guard !uses.isEmpty else { continue }
            uses.sort { Catalog.sortVersions($0.version, $1.version) }
            out.append(ReverseDependency(dependent: name, dependentDisplayName: e.project?.name ?? docs.first?.1.name ?? name, uses: uses))
        }
        return out
    }

    /// Added, removed and changed requirements from one release to another (markers not
    /// evaluated; a requirement is identified by its normalized name and its marker).
    /// Nil when either release's requirements are unknown.
    public func requirementDiff(project: String, from: String, to: String) throws(CatalogError) -> RequirementDiff? {
        guard let a = try requirements(of: project, version: from, for: nil),
            let b = try requirements(of: project, version: to, for: nil)
        else { return nil }
        func key(_ r: Requirement) -> String { r.normalizedName + ";" + (r.marker?.description ?? "") }
        var old: [String: Requirement] = [:]
        for r in a.all where old[key(r)] == nil { old[key(r)] = r }
        var added: [Requirement] = []
        var changed: [RequirementDiff.Change] = []
        var unchanged: [Requirement] = []
        var seen = Set<String>()
        for r in b.all {
            let k = key(r)
            guard !seen.contains(k) else { continue }
            seen.insert(k)
            if let o = old[k] {
                if o.specifier == r.specifier, o.extras == r.extras, o.url == r.url {
                    unchanged.append(r)
                } else {
                    changed.append(.init(from: o, to: r))
                }
            } else if let o = a.all.first(where: { c in
                c.normalizedName == r.normalizedName && !seen.contains(key(c)) && !b.all.contains(where: { key($0) == key(c) })
            }),
                b.all.filter({ $0.normalizedName == r.normalizedName }).count == 1
            {
                // Same project, marker changed too: a change, not an add/remove pair.
                seen.insert(key(o))
                changed.append(.init(from: o, to: r))
            } else {
                added.append(r)
            }
        }
        let removed = a.all.filter { !seen.contains(key($0)) }
        return RequirementDiff(
            project: b.project, from: a.version, to: b.version, added: added,
            removed: removed, changed: changed, unchanged: unchanged)
    }
}
