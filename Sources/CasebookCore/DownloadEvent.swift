import Foundation

/// What a download's file name tells: shared between all downloads of the same file.
public struct FileFields: Sendable, Hashable {
    public var filename: String?
    public var project: String?
    public var projectDisplay: String?
    public var version: String?
    public var fileType: String?
    public var pythonTag: String?
    public var abiTag: String?
    public var platformTag: String?
    public init() {}
}

/// Who asked for a download (installer, Python, platform, index, country): shared between all
/// downloads of the same client profile.
public struct ClientProfile: Sendable, Hashable {
    public var installer: String?
    public var installerVersion: String?
    public var python: String?
    public var implementation: String?
    public var implementationVersion: String?
    public var distro: String?
    public var distroVersion: String?
    public var distroID: String?
    /// C library name (`glibc`, `musl`), as the client sent it.
    public var libc: String?
    /// C library version (`2.28`), as the client sent it.
    public var libcVersion: String?
    /// `ssl.OPENSSL_VERSION` as the client sent it (`OpenSSL 1.1.1d  10 Sep 2019`).
    public var opensslVersion: String?
    /// Not kept by stores (see ``keptByStores``): `casebook parse` output only.
    public var setuptoolsVersion: String?
    /// Not kept by stores (see ``keptByStores``): `casebook parse` output only.
    public var rustcVersion: String?
    public var system: String?
    public var systemRelease: String?
    public var cpu: String?
    public var ci: Bool?
    public var country: String?
    public var index: String?
    public init() {}

    /// The profile as stores keep it: without the setuptools and rustc versions, which would
    /// multiply the stored profiles (and the rollups by profile) for no dimension.
    public var keptByStores: ClientProfile {
        guard setuptoolsVersion != nil || rustcVersion != nil else { return self }
        var p = self
        p.setuptoolsVersion = nil
        p.rustcVersion = nil
        return p
    }
}

/// A shared, copy-on-write box, so that millions of events from one user agent or one file
/// share one copy of its fields (and stores can recognise the share by identity).
public final class SharedFields<Value: Sendable & Hashable>: @unchecked Sendable {
    /// Mutated only while uniquely referenced (copy-on-write), so sharing across threads is safe.
    public internal(set) var value: Value
    public init(_ value: Value) { self.value = value }
}

/// One download (or, with `count > 1`, a pre-aggregated number of downloads sharing the same
/// properties), as every reader produces it and every store keeps it.
///
/// Times are UTC epoch seconds. Optional fields are unknown when `nil`. File and client-profile
/// fields live in shared copy-on-write boxes (``fileFields`` and ``profileFields``): readers that
/// cache them per file name or user agent hand the same box to every event.
public struct DownloadEvent: Sendable, Hashable, Codable {
    /// UTC time, seconds since 1970.
    public var timestamp: Int64
    /// How many downloads this event stands for (1 for a log line).
    public var count: Int64
    /// Pseudonymous client key (see ``ClientKeyer``); never a raw address.
    public var client: String?
    /// The file's fields, shared.
    public var fileFields: SharedFields<FileFields>
    /// The client profile's fields, shared.
    public var profileFields: SharedFields<ClientProfile>

    private static let noFile = SharedFields(FileFields())
    private static let noProfile = SharedFields(ClientProfile())

    public init(timestamp: Int64, count: Int64 = 1) {
        self.timestamp = timestamp
        self.count = count
        self.fileFields = Self.noFile
        self.profileFields = Self.noProfile
    }

    private mutating func file(_ change: (inout FileFields) -> Void) {
        if !isKnownUniquelyReferenced(&fileFields) { fileFields = SharedFields(fileFields.value) }
        change(&fileFields.value)
    }

    private mutating func profile(_ change: (inout ClientProfile) -> Void) {
        if !isKnownUniquelyReferenced(&profileFields) { profileFields = SharedFields(profileFields.value) }
        change(&profileFields.value)
    }

    /// PEP 503-normalized project name.
    public var project: String? {
        get { fileFields.value.project }
        set { file { $0.project = newValue } }
    }
    /// The project's name as written in the file or source (e.g. `Flask_Login`).
    public var projectDisplay: String? {
        get { fileFields.value.projectDisplay }
        set { file { $0.projectDisplay = newValue } }
    }
    public var version: String? {
        get { fileFields.value.version }
        set { file { $0.version = newValue } }
    }
    public var filename: String? {
        get { fileFields.value.filename }
        set { file { $0.filename = newValue } }
    }
    /// `bdist_wheel`, `sdist`, or another BigQuery `file.type` value.
    public var fileType: String? {
        get { fileFields.value.fileType }
        set { file { $0.fileType = newValue } }
    }
    /// PEP 427 tags, for wheels.
    public var pythonTag: String? {
        get { fileFields.value.pythonTag }
        set { file { $0.pythonTag = newValue } }
    }
    public var abiTag: String? {
        get { fileFields.value.abiTag }
        set { file { $0.abiTag = newValue } }
    }
    public var platformTag: String? {
        get { fileFields.value.platformTag }
        set { file { $0.platformTag = newValue } }
    }
    public var installer: String? {
        get { profileFields.value.installer }
        set { profile { $0.installer = newValue } }
    }
    public var installerVersion: String? {
        get { profileFields.value.installerVersion }
        set { profile { $0.installerVersion = newValue } }
    }
    /// Full Python version (`2.7.16`).
    public var python: String? {
        get { profileFields.value.python }
        set { profile { $0.python = newValue } }
    }
    public var implementation: String? {
        get { profileFields.value.implementation }
        set { profile { $0.implementation = newValue } }
    }
    public var implementationVersion: String? {
        get { profileFields.value.implementationVersion }
        set { profile { $0.implementationVersion = newValue } }
    }
    public var distro: String? {
        get { profileFields.value.distro }
        set { profile { $0.distro = newValue } }
    }
    public var distroVersion: String? {
        get { profileFields.value.distroVersion }
        set { profile { $0.distroVersion = newValue } }
    }
    public var distroID: String? {
        get { profileFields.value.distroID }
        set { profile { $0.distroID = newValue } }
    }
    /// C library name (`glibc`, `musl`).
    public var libc: String? {
        get { profileFields.value.libc }
        set { profile { $0.libc = newValue } }
    }
    /// C library version (`2.28`).
    public var libcVersion: String? {
        get { profileFields.value.libcVersion }
        set { profile { $0.libcVersion = newValue } }
    }
    /// `ssl.OPENSSL_VERSION` as sent (`OpenSSL 1.1.1d  10 Sep 2019`); ``openssl`` is the dimension.
    public var opensslVersion: String? {
        get { profileFields.value.opensslVersion }
        set { profile { $0.opensslVersion = newValue } }
    }
    public var setuptoolsVersion: String? {
        get { profileFields.value.setuptoolsVersion }
        set { profile { $0.setuptoolsVersion = newValue } }
    }
    public var rustcVersion: String? {
        get { profileFields.value.rustcVersion }
        set { profile { $0.rustcVersion = newValue } }
    }
    public var system: String? {
        get { profileFields.value.system }
        set { profile { $0.system = newValue } }
    }
    public var systemRelease: String? {
        get { profileFields.value.systemRelease }
        set { profile { $0.systemRelease = newValue } }
    }
    public var cpu: String? {
        get { profileFields.value.cpu }
        set { profile { $0.cpu = newValue } }
    }
    public var ci: Bool? {
        get { profileFields.value.ci }
        set { profile { $0.ci = newValue } }
    }
    /// ISO 3166 alpha-2 country code, when the source knows it.
    public var country: String? {
        get { profileFields.value.country }
        set { profile { $0.country = newValue } }
    }
    /// The index or source the download came from.
    public var index: String? {
        get { profileFields.value.index }
        set { profile { $0.index = newValue } }
    }

    public static func == (a: DownloadEvent, b: DownloadEvent) -> Bool {
        a.timestamp == b.timestamp && a.count == b.count && a.client == b.client
            && (a.fileFields === b.fileFields || a.fileFields.value == b.fileFields.value)
            && (a.profileFields === b.profileFields || a.profileFields.value == b.profileFields.value)
    }

    public func hash(into h: inout Hasher) {
        h.combine(timestamp)
        h.combine(count)
        h.combine(client)
        h.combine(fileFields.value)
        h.combine(profileFields.value)
    }

    private enum CodingKeys: String, CodingKey {
        case timestamp, count, client, project, projectDisplay, version, filename, fileType, pythonTag, abiTag, platformTag
        case installer, installerVersion, python, implementation, implementationVersion, distro, distroVersion, distroID
        case libc, libcVersion, opensslVersion, setuptoolsVersion, rustcVersion
        case system, systemRelease, cpu, ci, country, index
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(timestamp: try c.decode(Int64.self, forKey: .timestamp), count: try c.decodeIfPresent(Int64.self, forKey: .count) ?? 1)
        client = try c.decodeIfPresent(String.self, forKey: .client)
        var f = FileFields()
        f.project = try c.decodeIfPresent(String.self, forKey: .project)
        f.projectDisplay = try c.decodeIfPresent(String.self, forKey: .projectDisplay)
        f.version = try c.decodeIfPresent(String.self, forKey: .version)
        f.filename = try c.decodeIfPresent(String.self, forKey: .filename)
        f.fileType = try c.decodeIfPresent(String.self, forKey: .fileType)
        f.pythonTag = try c.decodeIfPresent(String.self, forKey: .pythonTag)
        f.abiTag = try c.decodeIfPresent(String.self, forKey: .abiTag)
        f.platformTag = try c.decodeIfPresent(String.self, forKey: .platformTag)
        fileFields = SharedFields(f)
        var p = ClientProfile()
        p.installer = try c.decodeIfPresent(String.self, forKey: .installer)
        p.installerVersion = try c.decodeIfPresent(String.self, forKey: .installerVersion)
        p.python = try c.decodeIfPresent(String.self, forKey: .python)
        p.implementation = try c.decodeIfPresent(String.self, forKey: .implementation)
        p.implementationVersion = try c.decodeIfPresent(String.self, forKey: .implementationVersion)
        p.distro = try c.decodeIfPresent(String.self, forKey: .distro)
        p.distroVersion = try c.decodeIfPresent(String.self, forKey: .distroVersion)
        p.distroID = try c.decodeIfPresent(String.self, forKey: .distroID)
        p.libc = try c.decodeIfPresent(String.self, forKey: .libc)
        p.libcVersion = try c.decodeIfPresent(String.self, forKey: .libcVersion)
        p.opensslVersion = try c.decodeIfPresent(String.self, forKey: .opensslVersion)
        p.setuptoolsVersion = try c.decodeIfPresent(String.self, forKey: .setuptoolsVersion)
        p.rustcVersion = try c.decodeIfPresent(String.self, forKey: .rustcVersion)
        p.system = try c.decodeIfPresent(String.self, forKey: .system)
        p.systemRelease = try c.decodeIfPresent(String.self, forKey: .systemRelease)
        p.cpu = try c.decodeIfPresent(String.self, forKey: .cpu)
        p.ci = try c.decodeIfPresent(Bool.self, forKey: .ci)
        p.country = try c.decodeIfPresent(String.self, forKey: .country)
        p.index = try c.decodeIfPresent(String.self, forKey: .index)
        profileFields = SharedFields(p)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(count, forKey: .count)
        try c.encodeIfPresent(client, forKey: .client)
        let f = fileFields.value
        let p = profileFields.value
        try c.encodeIfPresent(f.project, forKey: .project)
        try c.encodeIfPresent(f.projectDisplay, forKey: .projectDisplay)
        try c.encodeIfPresent(f.version, forKey: .version)
        try c.encodeIfPresent(f.filename, forKey: .filename)
        try c.encodeIfPresent(f.fileType, forKey: .fileType)
        try c.encodeIfPresent(f.pythonTag, forKey: .pythonTag)
        try c.encodeIfPresent(f.abiTag, forKey: .abiTag)
        try c.encodeIfPresent(f.platformTag, forKey: .platformTag)
        try c.encodeIfPresent(p.installer, forKey: .installer)
        try c.encodeIfPresent(p.installerVersion, forKey: .installerVersion)
        try c.encodeIfPresent(p.python, forKey: .python)
        try c.encodeIfPresent(p.implementation, forKey: .implementation)
        try c.encodeIfPresent(p.implementationVersion, forKey: .implementationVersion)
        try c.encodeIfPresent(p.distro, forKey: .distro)
        try c.encodeIfPresent(p.distroVersion, forKey: .distroVersion)
        try c.encodeIfPresent(p.distroID, forKey: .distroID)
        try c.encodeIfPresent(p.libc, forKey: .libc)
        try c.encodeIfPresent(p.libcVersion, forKey: .libcVersion)
        try c.encodeIfPresent(p.opensslVersion, forKey: .opensslVersion)
        try c.encodeIfPresent(p.setuptoolsVersion, forKey: .setuptoolsVersion)
        try c.encodeIfPresent(p.rustcVersion, forKey: .rustcVersion)
        try c.encodeIfPresent(p.system, forKey: .system)
        try c.encodeIfPresent(p.systemRelease, forKey: .systemRelease)
        try c.encodeIfPresent(p.cpu, forKey: .cpu)
        try c.encodeIfPresent(p.ci, forKey: .ci)
        try c.encodeIfPresent(p.country, forKey: .country)
        try c.encodeIfPresent(p.index, forKey: .index)
    }

    /// Python major version derived from ``python`` (`2` for `2.7.16`).
    public var pythonMajor: String? { python.flatMap { PythonVersion.major(of: $0) } }
    /// Python major.minor derived from ``python`` (`2.7` for `2.7.16`).
    public var pythonMinor: String? { python.flatMap { PythonVersion.minor(of: $0) } }
    /// TLS library and version derived from ``opensslVersion`` (`OpenSSL 1.1.1d` for
    /// `OpenSSL 1.1.1d  10 Sep 2019`).
    public var openssl: String? { opensslVersion.flatMap { OpenSSLVersion.library(of: $0) } }

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
        case .libc: libc
        case .libcVersion: libcVersion
        case .openssl: openssl
        case .system: system
        case .cpu: cpu
        case .ci: ci.map { $0 ? "true" : "false" }
        case .country: country
        case .index: index
        case .client: client
        }
    }
}

/// Helpers for `ssl.OPENSSL_VERSION` strings as clients report them.
public enum OpenSSLVersion {
    /// The library and its version, the first two words (`OpenSSL 1.1.1k` for
    /// `OpenSSL 1.1.1k  FIPS 25 Mar 2021`): the build date and flags only split groups.
    /// Nil when the string is blank.
    public static func library(of version: String) -> String? {
        let words = version.split(whereSeparator: { $0 == " " || $0 == "\t" }).prefix(2)
        return words.isEmpty ? nil : words.joined(separator: " ")
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
