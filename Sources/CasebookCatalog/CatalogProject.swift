import CasebookCore
import Foundation

/// What the index states about one release's requirements: its `requires_dist` and
/// `requires_python`, and which document (or metadata row) said so.
public struct ReleaseMetadata: Sendable, Hashable, Codable {
    /// `requires_dist` as written (nil when the index has `null`: unknown, not "none").
    public var requiresDist: [String]?
    /// `requires_python`, when stated.
    public var requiresPython: String?
    public var source: MetadataSource

    public init(requiresDist: [String]?, requiresPython: String?, source: MetadataSource) {
        self.requiresDist = requiresDist
        self.requiresPython = requiresPython
        self.source = source
    }
}

/// Everything a catalog knows of one project: its releases with their files, and the
/// requirements of the releases whose metadata the index published.
///
/// It is the unit of every catalog: a folder's documents are read into one, an imported
/// catalog stores one per project (replacing the whole project when a newer one comes), and
/// ``PackageCatalog``'s queries are answered from one.
public struct CatalogProject: Sendable, Hashable, Codable {
    /// PEP 503 normalized name (`flask-login`).
    public var name: String
    /// The name as the project writes it (`Flask-Login`).
    public var displayName: String
    /// The latest version according to the project document (`info.version`), when known.
    public var latestVersion: String?
    /// The index's `last_serial` of the project document, when known: a higher one is newer.
    public var lastSerial: Int64?
    /// Files per version text: every release the index lists (possibly with no files).
    public var files: [String: [ReleaseFile]]
    /// Requirements per version text, for the releases whose metadata is known.
    public var metadata: [String: ReleaseMetadata]

    public init(
        name: String, displayName: String, latestVersion: String?, lastSerial: Int64?,
        files: [String: [ReleaseFile]], metadata: [String: ReleaseMetadata]
    ) {
        self.name = ProjectName.normalize(name)
        self.displayName = displayName
        self.latestVersion = latestVersion
        self.lastSerial = lastSerial
        self.metadata = metadata
        // Every release with metadata is a release (with no files when none are listed).
        var files = files
        for v in metadata.keys where CatalogProject.findKey(v, in: files.keys) == nil { files[v] = [] }
        self.files = files
    }

    /// A project from its project document (`pypi/NAME/json`) and release documents
    /// (`pypi/NAME/VERSION/json`, version text → document), as the JSON API lays them out.
    ///
    /// The project document's `releases` list the files; a release document adds its own
    /// files when the project document lacks that version, and states that release's
    /// requirements. Without a release document only the latest version's requirements are
    /// known (the project document's `info` describes that version only).
    public init?(name: String, projectDocument: PyPIDocument?, releaseDocuments: [String: PyPIDocument]) {
        guard projectDocument != nil || !releaseDocuments.isEmpty else { return nil }
        var files = projectDocument?.releases ?? [:]
        if let p = projectDocument, files[p.version] == nil, !p.urls.isEmpty { files[p.version] = p.urls }
        for (v, doc) in releaseDocuments where CatalogProject.findKey(v, in: files.keys) == nil { files[v] = doc.urls }
        var metadata: [String: ReleaseMetadata] = [:]
        for (v, doc) in releaseDocuments {
            let key = CatalogProject.findKey(v, in: files.keys) ?? v
            metadata[key] = ReleaseMetadata(requiresDist: doc.requiresDist, requiresPython: doc.requiresPython, source: .releaseDocument)
        }
        if let p = projectDocument, !p.version.isEmpty {
            let key = CatalogProject.findKey(p.version, in: files.keys) ?? p.version
            if metadata[key] == nil {
                metadata[key] = ReleaseMetadata(requiresDist: p.requiresDist, requiresPython: p.requiresPython, source: .projectDocument)
            }
        }
        self.init(
            name: name, displayName: projectDocument?.name ?? releaseDocuments.values.first?.name ?? name,
            latestVersion: projectDocument?.version, lastSerial: projectDocument?.lastSerial.map(Int64.init),
            files: files, metadata: metadata)
    }

    /// The key naming the same version: the text itself, else a PEP 440-equal one (`1.0` finds `1.0.0`).
    public static func findKey(_ version: String, in keys: some Collection<String>) -> String? {
        if keys.contains(version) { return version }
        guard let v = Version.parse(version) else { return nil }
        return keys.first { Version.parse($0) == v }
    }

    /// Every version text the project has (files or metadata), oldest first by PEP 440.
    public var versions: [String] {
        let keys = Set(files.keys).union(metadata.keys)
        // Each text is parsed once, not once per comparison.
        let parsed = keys.map { ($0, Version.parse($0)) }
        return parsed.sorted { a, b in
            switch (a.1, b.1) {
            case (let x?, let y?): return x == y ? a.0 < b.0 : x < y
            case (nil, _?): return true
            case (_?, nil): return false
            case (nil, nil): return a.0 < b.0
            }
        }.map(\.0)
    }

    /// Orders version texts by PEP 440 (legacy non-PEP 440 versions first, then by text).
    public static func versionOrder(_ a: String, _ b: String) -> Bool {
        switch (Version.parse(a), Version.parse(b)) {
        case (let x?, let y?): return x == y ? a < b : x < y
        case (nil, _?): return true
        case (_?, nil): return false
        case (nil, nil): return a < b
        }
    }

    /// The newest upload time of any file (a later upload makes a project newer when neither
    /// has a `last_serial`).
    public var newestUpload: Int64? { files.values.joined().compactMap(\.uploadTime).max() }

    /// A fingerprint of the content (SHA-256 hex of a canonical encoding): the same project
    /// imported twice has the same one, so the second import changes nothing.
    ///
    /// Every field is fed in a fixed order (versions and file names sorted), each value
    /// length-prefixed so that no two different projects encode alike.
    public var fingerprint: String {
        var h = SHA256()
        func feed(_ s: String?) {
            guard var s else { return h.update([0xFF]) }
            var n = UInt64(s.utf8.count).littleEndian
            withUnsafeBytes(of: &n) { h.update(buffer: $0) }
            s.withUTF8 { h.update(buffer: UnsafeRawBufferPointer($0)) }
        }
        func feed(_ i: Int64?) { feed(i.map { String($0) }) }
        feed("casebook-catalog-project/2")
        feed(name)
        feed(displayName)
        feed(latestVersion)
        feed(lastSerial)
        let keys = Set(files.keys).union(metadata.keys).sorted()
        feed(Int64(keys.count))
        for v in keys {
            feed(v)
            let fs = (files[v] ?? []).sorted { $0.filename < $1.filename }
            feed(Int64(fs.count))
            for f in fs {
                feed(f.filename)
                feed(f.packageType)
                feed(f.pythonVersion)
                feed(f.uploadTime)
                feed(f.yanked ? "y" : "n")
                feed(f.yankedReason)
                feed(f.requiresPython)
                feed(f.size.map(Int64.init))
                feed(f.sha256)
                feed(f.url)
            }
            if let m = metadata[v] {
                feed("m")
                feed(m.source.rawValue)
                feed(m.requiresPython)
                if let rd = m.requiresDist {
                    feed(Int64(rd.count))
                    for r in rd { feed(r) }
                } else {
                    feed(nil as String?)
                }
            } else {
                feed(nil as String?)
            }
        }
        return h.finalize().hexString
    }

    /// This project with `other`'s releases added: files by filename and metadata by version
    /// (`other` wins where both have one). Used when metadata arrives in rows, release by release.
    public func merging(_ other: CatalogProject) -> CatalogProject {
        var out = self
        for (v, newFiles) in other.files {
            let key = CatalogProject.findKey(v, in: out.files.keys) ?? v
            var byName = Dictionary((out.files[key] ?? []).map { ($0.filename, $0) }, uniquingKeysWith: { a, _ in a })
            for f in newFiles { byName[f.filename] = f }
            out.files[key] = byName.values.sorted { $0.filename < $1.filename }
        }
        for (v, m) in other.metadata { out.metadata[CatalogProject.findKey(v, in: out.files.keys) ?? v] = m }
        if let s = other.lastSerial, s > (out.lastSerial ?? Int64.min) { out.lastSerial = s }
        if let latest = other.latestVersion {
            if let cur = out.latestVersion, let a = Version.parse(cur), let b = Version.parse(latest), b < a {
            } else {
                out.latestVersion = latest
            }
        }
        return out
    }
}

extension ReleaseFile: Codable {
    enum CodingKeys: String, CodingKey {
        case filename, packageType, pythonVersion, uploadTime, yanked, yankedReason, requiresPython, size, sha256, url
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            filename: try c.decode(String.self, forKey: .filename), packageType: try c.decode(String.self, forKey: .packageType),
            pythonVersion: try c.decodeIfPresent(String.self, forKey: .pythonVersion),
            uploadTime: try c.decodeIfPresent(Int64.self, forKey: .uploadTime), yanked: try c.decode(Bool.self, forKey: .yanked),
            yankedReason: try c.decodeIfPresent(String.self, forKey: .yankedReason),
            requiresPython: try c.decodeIfPresent(String.self, forKey: .requiresPython),
            size: try c.decodeIfPresent(Int.self, forKey: .size), sha256: try c.decodeIfPresent(String.self, forKey: .sha256),
            url: try c.decodeIfPresent(String.self, forKey: .url))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(filename, forKey: .filename)
        try c.encode(packageType, forKey: .packageType)
        try c.encodeIfPresent(pythonVersion, forKey: .pythonVersion)
        try c.encodeIfPresent(uploadTime, forKey: .uploadTime)
        try c.encode(yanked, forKey: .yanked)
        try c.encodeIfPresent(yankedReason, forKey: .yankedReason)
        try c.encodeIfPresent(requiresPython, forKey: .requiresPython)
        try c.encodeIfPresent(size, forKey: .size)
        try c.encodeIfPresent(sha256, forKey: .sha256)
        try c.encodeIfPresent(url, forKey: .url)
    }
}
