import Foundation

/// One download (or, with `count > 1`, a pre-aggregated number of downloads sharing the same
/// properties), as every reader produces it and every store keeps it.
///
/// Times are UTC epoch seconds. Optional fields are unknown when `nil`.
public struct DownloadEvent: Sendable, Hashable, Codable {
    /// UTC time, seconds since 1970.
    public var timestamp: Int64
    /// PEP 503-normalized project name.
    public var project: String?
    /// The project's name as written in the file or source (e.g. `Flask_Login`).
    public var projectDisplay: String?
    public var version: String?
    public var filename: String?
    /// `bdist_wheel`, `sdist`, or another BigQuery `file.type` value.
    public var fileType: String?
    /// PEP 427 tags, for wheels.
    public var pythonTag: String?
    public var abiTag: String?
    public var platformTag: String?
    public var installer: String?
    public var installerVersion: String?
    /// Full Python version (`2.7.16`).
    public var python: String?
    public var implementation: String?
    public var implementationVersion: String?
    public var distro: String?
    public var distroVersion: String?
    public var distroID: String?
    public var system: String?
    public var systemRelease: String?
    public var cpu: String?
    public var ci: Bool?
    /// ISO 3166 alpha-2 country code, when the source knows it.
    public var country: String?
    /// The index or source the download came from.
    public var index: String?
    /// Pseudonymous client key (see ``ClientKeyer``); never a raw address.
    public var client: String?
    /// How many downloads this event stands for (1 for a log line).
    public var count: Int64

    public init(timestamp: Int64, count: Int64 = 1) {
        self.timestamp = timestamp
        self.count = count
    }

    /// Python major version derived from ``python`` (`2` for `2.7.16`).
    public var pythonMajor: String? { python.flatMap { PythonVersion.major(of: $0) } }
    /// Python major.minor derived from ``python`` (`2.7` for `2.7.16`).
    public var pythonMinor: String? { python.flatMap { PythonVersion.minor(of: $0) } }

    /// Fills project, version, file type and wheel tags from ``filename`` when they are unknown.
    public mutating func fillFromFilename() {
        guard let filename, let parsed = DistributionFilename(filename) else { return }
        if project == nil {
            project = parsed.project
            projectDisplay = parsed.projectDisplay
        }
        if projectDisplay == nil { projectDisplay = parsed.projectDisplay }
        if version == nil { version = parsed.version }
        if fileType == nil { fileType = parsed.fileType }
        if parsed.fileType == "bdist_wheel" {
            pythonTag = pythonTag ?? parsed.pythonTag
            abiTag = abiTag ?? parsed.abiTag
            platformTag = platformTag ?? parsed.platformTag
        }
    }

    /// The value of a dimension for this event, as stores keep it.
    public func value(of dimension: Dimension) -> String? {
        switch dimension {
        case .project: project
        case .version: version
        case .filename: filename
        case .fileType: fileType
        case .python: python
        case .pythonMajor: pythonMajor
        case .pythonMinor: pythonMinor
        case .implementation: implementation
        case .installer: installer
        case .installerVersion: installerVersion
        case .distro: distro
        case .distroVersion: distroVersion
        case .system: system
        case .cpu: cpu
        case .ci: ci.map { $0 ? "true" : "false" }
        case .country: country
        case .index: index
        case .client: client
        }
    }
}

/// Helpers for Python version strings as clients report them.
public enum PythonVersion {
    /// `2` for `2.7.16`; nil when the string does not start with a number.
    public static func major(of version: String) -> String? {
        let head = version.prefix { $0.isNumber }
        return head.isEmpty ? nil : String(head)
    }

    /// `2.7` for `2.7.16` (or `2.7`); nil when there is no minor part.
    public static func minor(of version: String) -> String? {
        let parts = version.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        let major = parts[0].prefix { $0.isNumber }
        let minor = parts[1].prefix { $0.isNumber }
        guard !major.isEmpty, !minor.isEmpty else { return nil }
        return "\(major).\(minor)"
    }
}
