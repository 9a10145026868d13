import CasebookCore
import Foundation

/// Package metadata an analyzer can ask about: projects, their releases and files, each
/// release's requirements, and who requires a project.
///
/// Two kinds of implementation answer it: a folder of PyPI JSON documents read into memory
/// (``CatalogFolder``), and tables in a store (an imported catalog, or tables someone else
/// keeps). Every query below is answered from ``project(named:)`` and ``dependents(of:)``, so
/// an implementation supplies only those: analyzers never see which kind they have.
public protocol PackageCatalog: Sendable {
    /// Where the metadata comes from, for messages (`./catalog`, `casebook.sqlite (imported catalog)`).
    var location: String { get }
    /// Everything known of one project (any spelling of its name).
    func project(named name: String) throws(CatalogError) -> CatalogProject
    /// Normalized names of the projects with at least one release whose requirements name
    /// `name` (any marker, any extra), sorted.
    func dependents(of name: String) throws(CatalogError) -> [String]
    /// Releases uploaded in `[from, to)` (any time when nil) whose requirements name one of
    /// `names`, by upload time: "which downstream releases of this period could have changed
    /// what their users install?". An imported catalog answers it from its index by name and
    /// upload time; the default reads every dependent project.
    func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws(CatalogError) -> [DependentRelease]
}

extension PackageCatalog {
    /// Built on ``dependents(of:)`` and each dependent's releases (a folder's catalog is in memory).
    public func dependentReleases(of names: [String], from: Int64?, to: Int64?) throws(CatalogError) -> [DependentRelease] {
        var out: [DependentRelease] = []
        for name in Set(names.map(ProjectName.normalize)).sorted() {
            for d in try dependents(of: name) where d != name {
                let p = try project(named: d)
                for v in p.versions {
                    let upload = p.files[v]?.compactMap(\.uploadTime).min()
                    if let from, (upload ?? .min) < from { continue }
                    if let to, (upload ?? .max) >= to { continue }
                    for text in p.metadata[v]?.requiresDist ?? [] {
                        let required = (try? Requirement(text))?.normalizedName ?? Requirement.quickName(text)
                        guard required == name else { continue }
                        out.append(DependentRelease(project: p.name, version: v, uploadTime: upload, requires: name, requirement: text))
                    }
                }
            }
        }
        return out.sorted {
            ($0.uploadTime ?? .min, $0.project, $0.version, $0.requires) < ($1.uploadTime ?? .min, $1.project, $1.version, $1.requires)
        }
    }

    /// Whether the catalog has the project.
    public func knows(_ project: String) -> Bool { (try? self.project(named: project)) != nil }

    /// The display name (`info.name`) of a project.
    public func displayName(of project: String) throws(CatalogError) -> String {
        try self.project(named: project).displayName
    }

    /// The latest version according to the project document (`info.version`), if known.
    public func latestVersion(of project: String) throws(CatalogError) -> String? {
        try self.project(named: project).latestVersion
    }

    /// A project's releases, oldest first by PEP 440 (legacy non-PEP 440 versions first).
    public func releases(of project: String) throws(CatalogError) -> [ReleaseSummary] {
        try self.project(named: project).releases
    }

    /// The files of one release (any spelling of the version: `1.0` finds `1.0.0`).
    public func files(of project: String, version: String) throws(CatalogError) -> [ReleaseFile] {
        try self.project(named: project).files(of: version)
    }

    /// The best wheel of a release that the client can install, or nil if none fits (the
    /// client would build from the sdist). Yanked files are skipped unless `includeYanked`,
    /// and so are files whose `requires_python` excludes the client's Python, as pip does.
    public func hasCompatibleWheel(
        project: String, version: String, for client: ClientEnvironment, includeYanked: Bool = false
    ) throws(CatalogError) -> WheelMatch? {
        try self.project(named: project).compatibleWheel(version: version, for: client, includeYanked: includeYanked)
    }

    /// The requirements of a release, with markers evaluated for `client` (nil: not evaluated).
    ///
    /// Returns nil when the catalog does not know them: no metadata for this release (a
    /// project document's `info.requires_dist` describes its latest version only). Extras are
    /// ignored unless listed in `extras`.
    public func requirements(
        of project: String, version: String, for client: ClientEnvironment?, extras: Set<String> = []
    ) throws(CatalogError) -> ReleaseRequirements? {
        try self.project(named: project).requirements(of: version, for: client, extras: extras)
    }

    /// A release's `requires_python`: from its files, else from its metadata.
    public func requiresPython(of project: String, version: String) -> String? {
        (try? self.project(named: project))?.requiresPython(of: version)
    }

    /// The catalog's projects whose known releases require `project` (any marker, any extra),
    /// with the releases and the requirement each one states.
    public func reverseDependencies(of project: String) -> [ReverseDependency] {
        let target = ProjectName.normalize(project)
        let names = (try? dependents(of: target)) ?? []
        return names.compactMap { name -> ReverseDependency? in
            guard name != target, let p = try? self.project(named: name) else { return nil }
            let uses = p.uses(of: target)
            guard !uses.isEmpty else { return nil }
            return ReverseDependency(dependent: p.name, dependentDisplayName: p.displayName, uses: uses)
        }
    }

    /// Added, removed and changed requirements from one release to another (markers not
    /// evaluated; a requirement is identified by its normalized name and its marker).
    /// Nil when either release's requirements are unknown.
    public func requirementDiff(project: String, from: String, to: String) throws(CatalogError) -> RequirementDiff? {
        guard let a = try requirements(of: project, version: from, for: nil),
            let b = try requirements(of: project, version: to, for: nil)
        else { return nil }
        return RequirementDiff(from: a, to: b)
    }

    /// The newest non-prerelease version allowed by `specifier`, published before `before`,
    /// whose `requires_python` admits the client: what a resolver would most likely pick then.
    public func bestVersion(
        of project: String, allowedBy specifier: SpecifierSet, for client: ClientEnvironment?, before: Int64?
    ) -> String? {
        guard let p = try? self.project(named: project) else { return nil }
        let candidates = p.releases.reversed().filter { r in
            guard let v = r.version, !r.yanked, !v.isPrerelease, specifier.contains(v, prereleases: false) else { return false }
            if let before, let t = r.uploadTime, t >= before { return false }
            return true
        }
        for r in candidates {
            guard let client else { return r.versionText }
            if let rp = p.requiresPython(of: r.versionText), let set = try? SpecifierSet(rp),
                !set.contains(client.pythonFullVersion, prereleases: true)
            {
                continue
            }
            return r.versionText
        }
        return nil
    }

    /// Every project a set of requirements pulls in for `client` (direct and transitive), each
    /// with the version most likely resolved at `before` and its depth (1 = direct). Projects
    /// missing from the catalog are included with no version and not followed.
    public func closure(
        of requirements: [Requirement], for client: ClientEnvironment?, before: Int64?, maxProjects: Int = 300
    ) -> [String: (version: String?, depth: Int)] {
        var out: [String: (version: String?, depth: Int)] = [:]
        var queue: [(Requirement, Int)] = requirements.map { ($0, 1) }
        var i = 0
        while i < queue.count, out.count < maxProjects {
            let (req, depth) = queue[i]
            i += 1
            let name = req.normalizedName
            guard out[name] == nil else { continue }
            let version = bestVersion(of: name, allowedBy: req.specifier, for: client, before: before)
            out[name] = (version, depth)
            guard let version, let reqs = try? self.requirements(of: name, version: version, for: client) else { continue }
            for r in reqs.applicable where out[r.normalizedName] == nil { queue.append((r, depth + 1)) }
        }
        return out
    }
}

extension CatalogProject {
    /// The releases, oldest first by PEP 440 (legacy non-PEP 440 versions first).
    public var releases: [ReleaseSummary] {
        files.keys.sorted(by: CatalogProject.versionOrder).map { v in
            let fs = files[v] ?? []
            return ReleaseSummary(
                versionText: v, version: Version.parse(v), uploadTime: fs.compactMap(\.uploadTime).min(),
                fileCount: fs.count, hasWheel: fs.contains(where: \.isWheel),
                yanked: !fs.isEmpty && fs.allSatisfy(\.yanked))
        }
    }

    /// The files of one release (any spelling of the version).
    public func files(of version: String) throws(CatalogError) -> [ReleaseFile] {
        guard let key = CatalogProject.findKey(version, in: files.keys) else {
            throw .noSuchRelease(project: name, version: version, known: files.keys.sorted(by: CatalogProject.versionOrder))
        }
        return files[key] ?? []
    }

    /// The best wheel of a release for `client` (see ``PackageCatalog/hasCompatibleWheel(project:version:for:includeYanked:)``).
    public func compatibleWheel(version: String, for client: ClientEnvironment, includeYanked: Bool = false) throws(CatalogError)
        -> WheelMatch?
    {
        let files = try self.files(of: version)
        let supported = client.supportedTags()
        var rankOf: [WheelTag: Int] = [:]
        for (i, t) in supported.enumerated() where rankOf[t] == nil { rankOf[t] = i }
        var best: WheelMatch?
        for f in files {
            guard let wheel = f.wheel, includeYanked || !f.yanked else { continue }
            if let rp = f.requiresPython, let set = try? SpecifierSet(rp), !set.contains(client.pythonFullVersion, prereleases: true) {
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

    /// The requirements of one release (see ``PackageCatalog/requirements(of:version:for:extras:)``).
    public func requirements(of version: String, for client: ClientEnvironment?, extras: Set<String> = []) throws(CatalogError)
        -> ReleaseRequirements?
    {
        guard let key = CatalogProject.findKey(version, in: files.keys) ?? CatalogProject.findKey(version, in: metadata.keys) else {
            throw .noSuchRelease(project: name, version: version, known: files.keys.sorted(by: CatalogProject.versionOrder))
        }
        guard let metaKey = CatalogProject.findKey(key, in: metadata.keys), let meta = metadata[metaKey] else { return nil }
        var all: [Requirement] = []
        var invalid: [String] = []
        var applicable: [Requirement] = []
        var undecided: [String] = []
        for text in meta.requiresDist ?? [] {
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
            project: displayName, version: key, source: meta.source, requiresDistIsNull: meta.requiresDist == nil, all: all,
            applicable: applicable, undecided: undecided, invalid: invalid)
    }

    /// A release's `requires_python`: from its files, else from its metadata.
    public func requiresPython(of version: String) -> String? {
        if let key = CatalogProject.findKey(version, in: files.keys),
            let rp = (files[key] ?? []).compactMap(\.requiresPython).first(where: { !$0.isEmpty })
        {
            return rp
        }
        guard let key = CatalogProject.findKey(version, in: metadata.keys) else { return nil }
        return metadata[key]?.requiresPython
    }

    /// The releases (with known metadata) that require `target` (normalized), oldest first.
    public func uses(of target: String) -> [ReverseDependency.Use] {
        var uses: [ReverseDependency.Use] = []
        for (v, meta) in metadata {
            for text in meta.requiresDist ?? [] {
                guard Requirement.quickName(text) == target, let r = try? Requirement(text), r.normalizedName == target else { continue }
                uses.append(.init(version: v, requirement: r, source: meta.source))
            }
        }
        uses.sort { CatalogProject.versionOrder($0.version, $1.version) }
        return uses
    }

    /// Normalized names of every project any release's requirements name (unparsable entries left out).
    public var requiredNames: Set<String> {
        var out = Set<String>()
        for meta in metadata.values {
            for text in meta.requiresDist ?? [] { if let n = Requirement.quickName(text) { out.insert(n) } }
        }
        return out
    }
}

extension Requirement {
    /// The normalized project name at the start of a PEP 508 string, without parsing the rest
    /// (nil when it does not start with a name): a cheap filter before a full parse.
    public static func quickName(_ text: String) -> String? {
        let name = text.drop { $0 == " " || $0 == "\t" }.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
        return name.isEmpty ? nil : ProjectName.normalize(String(name))
    }
}

extension RequirementDiff {
    /// What changed from one release's requirements to another's.
    public init(from a: ReleaseRequirements, to b: ReleaseRequirements) {
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
        self.init(
            project: b.project, from: a.version, to: b.version, added: added, removed: removed, changed: changed,
            unchanged: unchanged)
    }
}
