import CasebookCore
import Foundation

/// One distribution file this index serves.
struct FileEntry: Sendable {
    /// `/simple/numpy/numpy-1.18.1-cp37-cp37m-linux_armv7l.whl`
    var path: [UInt8]
    var filename: String
    var project: String
    var version: String
    var type: String
    var size: Int
    var sizeText: [UInt8]
    /// `"project":"numpy","file":{...}` for BigQuery rows.
    var bigQueryFile: [UInt8]
    var package: Int
}

/// One release of a package, ready for the hot loop.
struct VersionRuntime: Sendable {
    var spec: VersionSpec
    var parts: [Int]
    var released: Int64
    /// Pure wheel tag (`py2.py3`, `py3`, `py2`).
    var pureTag: String
}

/// A package, with its files per (version, Python, CPU) and the versions each Python can use.
struct PackageRuntime: Sendable {
    var spec: PackageSpec
    var norm: String
    /// The wheel name part (`Flask_Login`).
    var wheelName: String
    var versions: [VersionRuntime]
    /// Per Python index: compatible version indices, oldest first.
    var compatible: [[Int]]
    /// Per version: file id for `pythonIndex * cpuCount + cpuIndex`, or -1 when this index has no file for that client.
    var files: [[Int32]]
}

/// The files of every package, indexed so the simulator finds a client's file in O(1).
struct FileTable: Sendable {
    var files: [FileEntry] = []
    var packages: [PackageRuntime] = []
    var pythons: [String]
    var pythonParts: [[Int]]
    var cpus: [String]

    static func wheelName(_ name: String) -> String {
        var out = ""
        var inRun = false
        for ch in name {
            if ch.isLetter || ch.isNumber || ch == "." {
                out.append(ch)
                inRun = false
            } else if !inRun {
                out.append("_")
                inRun = true
            }
        }
        return out
    }

    static func pureTag(_ v: VersionSpec) -> String {
        if let t = v.pythonTag { return t }
        let py2 = PythonSpecifier.allows(v.requiresPython, python: [2, 7, 18])
        let py3 = PythonSpecifier.allows(v.requiresPython, python: [3, 8, 2])
        return py2 && !py3 ? "py2" : (!py2 ? "py3" : "py2.py3")
    }

    /// Whether a pure wheel with this tag installs on this Python.
    static func tagAllows(_ tag: String, _ py: [Int]) -> Bool {
        tag.split(separator: ".").contains { $0 == "py\(py.first ?? 3)" || $0 == "py\(py.first ?? 3)\(py.count > 1 ? py[1] : 0)" }
    }

    init(scenario: Scenario, pythons: [String], cpus: [String], seed: UInt64) {
        self.pythons = pythons
        self.pythonParts = pythons.map(ClientFactory.versionParts)
        self.cpus = cpus
        for (pi, spec) in scenario.baseline.packages.enumerated() {
            let norm = spec.normalizedName
            let wheel = FileTable.wheelName(spec.name)
            let versions = spec.versions.map { v in
                VersionRuntime(
                    spec: v, parts: ClientFactory.versionParts(v.version), released: v.released ?? Int64.min,
                    pureTag: FileTable.pureTag(v))
            }
            var compatible: [[Int]] = []
            for py in pythonParts {
                // pip skips pre-releases unless asked (`--pre` or a pin): ordinary traffic never picks them.
                compatible.append(
                    versions.indices.filter { i in
                        guard !isPreRelease(versions[i].spec.version) else { return false }
                        guard PythonSpecifier.allows(versions[i].spec.requiresPython, python: py) else { return false }
                        return spec.kind != .pure || FileTable.tagAllows(versions[i].pureTag, py)
                    })
            }
            var fileIDs: [[Int32]] = []
            for v in versions {
                var ids = Array(repeating: Int32(-1), count: pythons.count * cpus.count)
                switch spec.kind {
                case .pure, .sdist:
                    let filename =
                        spec.kind == .pure
                        ? "\(wheel)-\(v.spec.version)-\(v.pureTag)-none-any.whl" : "\(spec.name)-\(v.spec.version).tar.gz"
                    let id = addFile(
                        filename: filename, norm: norm, version: v.spec.version, type: spec.kind == .pure ? "bdist_wheel" : "sdist",
                        package: pi, scale: spec.kind == .pure ? 120_000 : 300_000, seed: seed)
                    for k in ids.indices { ids[k] = id }
                case .platform:
                    var byTag: [String: Int32] = [:]
                    for (pyIndex, py) in pythonParts.enumerated() {
                        let tags = ClientFactory.cpythonTags(py)
                        for (ci, cpu) in cpus.enumerated() where cpu.hasPrefix("arm") {
                            let filename = "\(wheel)-\(v.spec.version)-\(tags)-linux_\(cpu).whl"
                            let id =
                                byTag[filename]
                                ?? addFile(
                                    filename: filename, norm: norm, version: v.spec.version, type: "bdist_wheel",
                                    package: pi, scale: 2_500_000, seed: seed)
                            byTag[filename] = id
                            ids[pyIndex * cpus.count + ci] = id
                        }
                    }
                }
                fileIDs.append(ids)
            }
            packages.append(
                PackageRuntime(spec: spec, norm: norm, wheelName: wheel, versions: versions, compatible: compatible, files: fileIDs))
        }
    }

    mutating func addFile(filename: String, norm: String, version: String, type: String, package: Int, scale: Int, seed: UInt64) -> Int32 {
        var h: UInt64 = seed ^ 0x5151
        for b in filename.utf8 { h = SeededGenerator.mix(h ^ UInt64(b)) }
        let size = scale / 4 + Int(h % UInt64(scale))
        let bq =
            "\"project\":\(JSONText.quote(norm)),\"file\":{\"filename\":\(JSONText.quote(filename)),\"project\":\(JSONText.quote(norm)),"
            + "\"version\":\(JSONText.quote(version)),\"type\":\(JSONText.quote(type))}"
        files.append(
            FileEntry(
                path: Array("/simple/\(norm)/\(filename)".utf8), filename: filename, project: norm, version: version, type: type,
                size: size, sizeText: Array(String(size).utf8), bigQueryFile: Array(bq.utf8), package: package))
        return Int32(files.count - 1)
    }

    func pythonIndex(_ python: String) -> Int? { pythons.firstIndex(of: python) }
    func cpuIndex(_ cpu: String) -> Int? { cpus.firstIndex(of: cpu) }

    /// The file a client with this Python and CPU fetches for a version, if this index has one.
    func file(package p: Int, version v: Int, python: Int, cpu: Int) -> Int32 {
        packages[p].files[v][python * cpus.count + cpu]
    }

    /// The newest version of a package that a client can use at time `t` (nil when none).
    func newestVersion(package p: Int, python: Int, at t: Int64) -> Int? {
        packages[p].compatible[python].last { packages[p].versions[$0].released <= t }
    }

    /// Whether a client with this Python can install a version (its `requires_python`, and the pure wheel's tag).
    func usable(package p: Int, version v: Int, python: Int) -> Bool {
        let pkg = packages[p]
        let py = pythonParts[python]
        guard PythonSpecifier.allows(pkg.versions[v].spec.requiresPython, python: py) else { return false }
        return pkg.spec.kind != .pure || FileTable.tagAllows(pkg.versions[v].pureTag, py)
    }

    /// All files of a package (every version, every Python and CPU), for a mirror.
    func allFiles(package p: Int) -> [Int32] {
        var seen = Set<Int32>()
        var out: [Int32] = []
        for ids in packages[p].files { for id in ids where id >= 0 && seen.insert(id).inserted { out.append(id) } }
        return out
    }
}
