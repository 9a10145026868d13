import CasebookCore
import Foundation

/// Why a catalog could not answer: a missing project or release, or a document that is not
/// what PyPI's JSON API writes.
public enum CatalogError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The catalog directory does not exist or is not a directory.
    case notADirectory(path: String)
    /// No `pypi/NAME/json` (nor any `pypi/NAME/VERSION/json`) for the project.
    case noSuchProject(name: String, catalog: String)
    /// The project has no release with that version.
    case noSuchRelease(project: String, version: String, known: [String])
    /// A document that could not be read or is not JSON.
    case unreadableDocument(path: String, reason: String)
    /// A field of a document has the wrong type.
    case invalidDocument(path: String, field: String, expected: String, found: String)

    public var description: String {
        switch self {
        case .notADirectory(let p):
            return "\(p): not a catalog directory (expected a directory holding pypi/NAME/json documents)"
        case .noSuchProject(let n, let c):
            return
                "\(c): no document for project '\(n)' (expected \(c)/pypi/\(ProjectName.normalize(n))/json; fetch it with `casebook catalog fetch \(n)`)"
        case .noSuchRelease(let p, let v, let known):
            let shown = known.suffix(8).joined(separator: ", ")
            return
                "project '\(p)' has no release '\(v)' in the catalog (known: \(shown.isEmpty ? "none" : shown)\(known.count > 8 ? ", ..." : ""))"
        case .unreadableDocument(let p, let r):
            return "\(p): cannot read the document: \(r)"
        case .invalidDocument(let p, let f, let e, let found):
            return "\(p): field '\(f)': expected \(e), found \(found)"
        }
    }
}

/// One distribution file of a release, as the JSON API lists it.
public struct ReleaseFile: Sendable, Hashable {
    public var filename: String
    /// `sdist`, `bdist_wheel`, `bdist_egg`, `bdist_wininst`, ...
    public var packageType: String
    /// The API's `python_version` (`py2.py3`, `source`, `3.7`).
    public var pythonVersion: String?
    /// The parsed wheel filename (nil for anything but a valid wheel name), parsed when asked:
    /// an import of a whole index never needs it, a query asks about a few releases' files.
    public var wheel: WheelFilename? { filename.hasSuffix(".whl") ? try? WheelFilename(filename) : nil }
    /// Upload time, epoch seconds UTC (from `upload_time_iso_8601`, else `upload_time`).
    public var uploadTime: Int64?
    public var yanked: Bool
    public var yankedReason: String?
    /// The file's `requires_python` text, if any.
    public var requiresPython: String?
    public var size: Int?
    public var sha256: String?
    public var url: String?

    /// Wheel tags (empty for non-wheels).
    public var tags: Set<WheelTag> { wheel?.tags ?? [] }
    public var isWheel: Bool { packageType == "bdist_wheel" || filename.hasSuffix(".whl") }

    public init(
        filename: String, packageType: String, pythonVersion: String? = nil, uploadTime: Int64? = nil,
        yanked: Bool = false, yankedReason: String? = nil, requiresPython: String? = nil,
        size: Int? = nil, sha256: String? = nil, url: String? = nil
    ) {
        self.filename = filename
        self.packageType = packageType
        self.pythonVersion = pythonVersion
        self.uploadTime = uploadTime
        self.yanked = yanked
        self.yankedReason = yankedReason
        self.requiresPython = requiresPython
        self.size = size
        self.sha256 = sha256
        self.url = url
    }
}

/// A PyPI JSON API document: `/pypi/NAME/json` (project: all releases) or
/// `/pypi/NAME/VERSION/json` (one release: its own `info` and `urls`).
public struct PyPIDocument: Sendable, Hashable {
    /// `info.name` as the project writes it (`Flask-Login`).
    public var name: String
    /// `info.version`: the latest version for a project document, the release for a release document.
    public var version: String
    /// `info.requires_dist` (nil when the API has `null`: unknown, not "no dependencies").
    public var requiresDist: [String]?
    /// `info.requires_python`.
    public var requiresPython: String?
    public var summary: String?
    /// `releases`, version text → files (absent in release documents).
    public var releases: [String: [ReleaseFile]]?
    /// `urls`: the files of `version`.
    public var urls: [ReleaseFile]
    public var lastSerial: Int?

    /// Parses a document; `path` is used in error messages.
    public init(data: Data, path: String) throws(CatalogError) {
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data) } catch {
            throw .unreadableDocument(path: path, reason: "not JSON (\(error.localizedDescription))")
        }
        guard let root = any as? [String: Any] else {
            throw .invalidDocument(path: path, field: "(root)", expected: "a JSON object", found: PyPIDocument.kind(any))
        }
        guard let info = root["info"] as? [String: Any] else {
            throw .invalidDocument(path: path, field: "info", expected: "an object", found: PyPIDocument.kind(root["info"]))
        }
        func str(_ d: [String: Any], _ k: String, _ field: String) throws(CatalogError) -> String? {
            switch d[k] {
            case nil, is NSNull: return nil
            case let s as String: return s
            case let other: throw .invalidDocument(path: path, field: field, expected: "a string or null", found: PyPIDocument.kind(other))
            }
        }
        guard let name = try str(info, "name", "info.name") else {
            throw .invalidDocument(path: path, field: "info.name", expected: "a string", found: PyPIDocument.kind(info["name"]))
        }
        self.name = name
        version = try str(info, "version", "info.version") ?? ""
        requiresPython = try str(info, "requires_python", "info.requires_python").flatMap { $0.isEmpty ? nil : $0 }
        summary = try str(info, "summary", "info.summary")
        switch info["requires_dist"] {
        case nil, is NSNull: requiresDist = nil
        case let a as [Any]:
            var out: [String] = []
            for (i, x) in a.enumerated() {
                guard let s = x as? String else {
                    throw .invalidDocument(path: path, field: "info.requires_dist[\(i)]", expected: "a string", found: PyPIDocument.kind(x))
                }
                out.append(s)
            }
            requiresDist = out
        case let other:
            throw .invalidDocument(
                path: path, field: "info.requires_dist", expected: "an array of strings or null", found: PyPIDocument.kind(other))
        }
        func files(_ v: Any?, _ field: String) throws(CatalogError) -> [ReleaseFile] {
            switch v {
            case nil, is NSNull: return []
            case let a as [Any]:
                var out: [ReleaseFile] = []
                for (i, x) in a.enumerated() {
                    guard let f = x as? [String: Any] else {
                        throw .invalidDocument(path: path, field: "\(field)[\(i)]", expected: "an object", found: PyPIDocument.kind(x))
                    }
                    out.append(try PyPIDocument.file(f, path: path, field: "\(field)[\(i)]"))
                }
                return out
            case let other:
                throw .invalidDocument(path: path, field: field, expected: "an array of files", found: PyPIDocument.kind(other))
            }
        }
        switch root["releases"] {
        case nil, is NSNull: releases = nil
        case let d as [String: Any]:
            var out: [String: [ReleaseFile]] = [:]
            for (k, v) in d { out[k] = try files(v, "releases[\"\(k)\"]") }
            releases = out
        case let other:
            throw .invalidDocument(path: path, field: "releases", expected: "an object of version → files", found: PyPIDocument.kind(other))
        }
        urls = try files(root["urls"], "urls")
        lastSerial = (root["last_serial"] as? NSNumber)?.intValue
    }

    static func file(_ f: [String: Any], path: String, field: String) throws(CatalogError) -> ReleaseFile {
        guard let filename = f["filename"] as? String else {
            throw .invalidDocument(path: path, field: "\(field).filename", expected: "a string", found: kind(f["filename"]))
        }
        let packageType = (f["packagetype"] as? String) ?? DistributionFilename(filename)?.fileType ?? "unknown"
        let iso = (f["upload_time_iso_8601"] as? String).flatMap { UTCTime.parse($0) }
        let plain = (f["upload_time"] as? String).flatMap { UTCTime.parse($0) }
        let yanked: Bool
        switch f["yanked"] {
        case let b as Bool: yanked = b
        case let n as NSNumber: yanked = n.boolValue
        default: yanked = false
        }
        let digests = f["digests"] as? [String: Any]
        return ReleaseFile(
            filename: filename, packageType: packageType, pythonVersion: f["python_version"] as? String,
            uploadTime: iso ?? plain, yanked: yanked, yankedReason: f["yanked_reason"] as? String,
            requiresPython: (f["requires_python"] as? String).flatMap { $0.isEmpty ? nil : $0 },
            size: (f["size"] as? NSNumber)?.intValue, sha256: digests?["sha256"] as? String,
            url: f["url"] as? String)
    }

    static func kind(_ v: Any?) -> String {
        switch v {
        case nil: return "nothing (field missing)"
        case is NSNull: return "null"
        case is String: return "a string"
        case let n as NSNumber:
            return String(cString: n.objCType) == "c" ? "a boolean" : "a number"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return "\(type(of: v!))"
        }
    }
}
