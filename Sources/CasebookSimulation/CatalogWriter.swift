import CasebookCore
import Foundation

/// Writes the catalog a scenario needs, as PyPI's JSON API serves it (the *reference index*):
/// `pypi/NAME/json` (the project: `info` of its newest release, every release's files,
/// `urls`, `last_serial`, `vulnerabilities`) and `pypi/NAME/VERSION/json` (one release, with
/// its own `requires_dist`), NAME PEP 503-normalized.
///
/// Packages come from the baseline (their files on PyPI as each version's `pypi` says: a pure
/// wheel, an sdist, manylinux x86-64 wheels; never ARM wheels, as in 2020) and downstream
/// projects from `downstream`. Digests and URLs are derived from the file name, not real.
struct CatalogWriter {
    let scenario: Scenario
    let table: FileTable

    static func defaultReference(_ kind: PackageKind) -> [ReferenceFile] {
        switch kind {
        case .pure: [.wheel, .sdist]
        case .platform: [.sdist, .manylinux]
        case .sdist: [.sdist]
        }
    }

    /// Writes every document; returns how many.
    func write(to directory: String) throws -> Int {
        var count = 0
        for p in table.packages where p.spec.inCatalog {
            let releases = p.versions.enumerated().map { i, v -> PyPIDocumentWriter.Release in
                let released = v.spec.released ?? (scenario.startDay * 86400 - Int64(p.versions.count - i) * 97 * 86400 + 41_000)
                let refs = v.spec.reference ?? CatalogWriter.defaultReference(p.spec.kind)
                return PyPIDocumentWriter.Release(
                    version: v.spec.version, released: released, requiresPython: v.spec.requiresPython,
                    requiresDist: v.spec.requires ?? p.spec.requires,
                    files: documents.files(
                        name: p.spec.name, wheelName: p.wheelName, version: v.spec.version, refs: refs,
                        pureTag: v.pureTag, requiresPython: v.spec.requiresPython, released: released))
            }
            count += try documents.writeProject(name: p.spec.name, summary: p.spec.summary, releases: releases, to: directory)
        }
        for d in scenario.downstream {
            let wheelName = FileTable.wheelName(d.name)
            let releases = d.releases.map { r in
                let spec = VersionSpec(version: r.version, requiresPython: r.requiresPython)
                return PyPIDocumentWriter.Release(
                    version: r.version, released: r.released, requiresPython: r.requiresPython, requiresDist: r.requiresDist,
                    files: documents.files(
                        name: d.name, wheelName: wheelName, version: r.version, refs: r.files,
                        pureTag: FileTable.pureTag(spec), requiresPython: r.requiresPython, released: r.released))
            }
            count += try documents.writeProject(name: d.name, summary: d.summary, releases: releases, to: directory)
        }
        return count
    }

    var documents: PyPIDocumentWriter { PyPIDocumentWriter(seed: scenario.seed) }
}

/// Writes PyPI JSON API documents (`pypi/NAME/json`, `pypi/NAME/VERSION/json`) for releases:
/// used by scenarios' catalogs and by the synthetic index. Digests and URLs are derived from
/// the file name and the seed, not real.
struct PyPIDocumentWriter {
    let seed: UInt64

    struct Release {
        var version: String
        var released: Int64
        var requiresPython: String?
        var requiresDist: [String]
        var files: [JSONValue]
    }

    func hex(_ s: String) -> String { SHA256.hash(Array(s.utf8)).hexString }

    func files(
        name: String, wheelName: String, version: String, refs: [ReferenceFile], pureTag: String, requiresPython: String?,
        released: Int64
    ) -> [JSONValue] {
        var out: [JSONValue] = []
        var offset: Int64 = 0
        func file(_ filename: String, _ type: String, _ pyVersion: String, _ scale: Int) {
            let sha = hex("sha256:\(seed):\(filename)")
            let b2 = hex("blake2b:\(seed):\(filename)")
            let md5 = String(hex("md5:\(seed):\(filename)").prefix(32))
            let size = scale / 4 + Int(UInt64(strtoull(String(sha.prefix(8)), nil, 16)) % UInt64(scale))
            let t = released + offset
            offset += 7 + Int64(sha.utf8.first! % 40)
            let iso = UTCTime.isoString(t)
            let plain = String(iso.dropLast())  // 2020-03-03T15:28:07
            let url = "https://files.pythonhosted.org/packages/\(b2.prefix(2))/\(b2.dropFirst(2).prefix(2))/\(b2.dropFirst(4))/\(filename)"
            out.append(
                .object([
                    ("comment_text", .string("")),
                    ("digests", .object([("blake2b_256", .string(b2)), ("md5", .string(md5)), ("sha256", .string(sha))])),
                    ("downloads", .int(-1)),
                    ("filename", .string(filename)),
                    ("has_sig", .bool(false)),
                    ("md5_digest", .string(md5)),
                    ("packagetype", .string(type)),
                    ("python_version", .string(pyVersion)),
                    ("requires_python", .str(requiresPython)),
                    ("size", .num(size)),
                    ("upload_time", .string(plain)),
                    ("upload_time_iso_8601", .string(String(plain) + ".\(String(100_000 + Int(sha.utf8.last!) * 3000).suffix(6))Z")),
                    ("url", .string(url)),
                    ("yanked", .bool(false)),
                    ("yanked_reason", .null)
                ]))
        }
        for r in refs {
            switch r {
            case .wheel: file("\(wheelName)-\(version)-\(pureTag)-none-any.whl", "bdist_wheel", pureTag, 150_000)
            case .sdist: file("\(name)-\(version).tar.gz", "sdist", "source", 400_000)
            case .manylinux:
                for py in [[2, 7], [3, 5], [3, 6], [3, 7], [3, 8]] where PythonSpecifier.allows(requiresPython, python: py) {
                    let tags = ClientFactory.cpythonTags(py)
                    file("\(wheelName)-\(version)-\(tags)-manylinux1_x86_64.whl", "bdist_wheel", "cp\(py[0])\(py[1])", 8_000_000)
                }
            }
        }
        return out
    }

    func info(name: String, summary: String?, description: String? = nil, release r: Release) -> JSONValue {
        let norm = ProjectName.normalize(name)
        return .object([
            ("author", .string("\(name) developers")),
            ("author_email", .string("")),
            ("bugtrack_url", .null),
            ("classifiers", .array([.string("Programming Language :: Python")])),
            ("description", .string(description ?? "\(summary ?? name)\n")),
            ("description_content_type", .string("text/markdown")),
            ("docs_url", .null),
            ("download_url", .string("")),
            ("downloads", .object([("last_day", .int(-1)), ("last_month", .int(-1)), ("last_week", .int(-1))])),
            ("home_page", .string("https://example.org/\(norm)")),
            ("keywords", .string("")),
            ("license", .string("")),
            ("maintainer", .string("")),
            ("maintainer_email", .string("")),
            ("name", .string(name)),
            ("package_url", .string("https://pypi.org/project/\(name)/")),
            ("platform", .string("")),
            ("project_url", .string("https://pypi.org/project/\(name)/")),
            ("project_urls", .object([("Homepage", .string("https://example.org/\(norm)"))])),
            ("release_url", .string("https://pypi.org/project/\(name)/\(r.version)/")),
            ("requires_dist", r.requiresDist.isEmpty ? .null : .array(r.requiresDist.map { .string($0) })),
            ("requires_python", .string(r.requiresPython ?? "")),
            ("summary", .string(summary ?? "")),
            ("version", .string(r.version)),
            ("yanked", .bool(false)),
            ("yanked_reason", .null)
        ])
    }

    func writeProject(
        name: String, summary: String?, description: String? = nil, releases: [Release], to directory: String
    ) throws -> Int {
        let norm = ProjectName.normalize(name)
        let dir = "\(directory)/pypi/\(norm)"
        let serial = 6_000_000 + Int((releases.map(\.released).max() ?? 0) / 86400 % 100_000) * 7 + norm.utf8.count
        // PyPI's `info` and `urls` describe the newest stable release (a pre-release only when there is nothing else).
        guard let latest = releases.last(where: { !isPreRelease($0.version) }) ?? releases.last else { return 0 }
        let project: JSONValue = .object([
            ("info", info(name: name, summary: summary, description: description, release: latest)),
            ("last_serial", .num(serial)),
            ("releases", .object(releases.map { ($0.version, .array($0.files)) })),
            ("urls", .array(latest.files)),
            ("vulnerabilities", .array([]))
        ])
        try save(project, to: "\(dir)/json")
        for r in releases {
            let doc: JSONValue = .object([
                ("info", info(name: name, summary: summary, description: description, release: r)),
                ("last_serial", .num(serial)),
                ("urls", .array(r.files)),
                ("vulnerabilities", .array([]))
            ])
            try save(doc, to: "\(dir)/\(r.version)/json")
        }
        return releases.count + 1
    }

    func save(_ v: JSONValue, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(v.serialized().utf8).write(to: url)
        } catch {
            throw SimulationError("\(path): cannot write the catalog document (\(error.localizedDescription))")
        }
    }
}
