import Foundation

/// A property of a download event that aggregate queries can group and filter by.
///
/// The raw values are the names used everywhere: on the command line (`--by day,project`),
/// in playbooks and in JSON outputs.
public enum Dimension: String, CaseIterable, Codable, Sendable, Hashable {
    /// PEP 503-normalized project name (`flask-login`).
    case project
    case version
    case filename
    /// `bdist_wheel` or `sdist` (BigQuery's conventions).
    case fileType = "file_type"
    /// Full Python version (`2.7.16`).
    case python
    /// Python major version (`2`, `3`).
    case pythonMajor = "python_major"
    /// Python major.minor (`2.7`).
    case pythonMinor = "python_minor"
    case implementation
    case installer
    case installerVersion = "installer_version"
    case distro
    case distroVersion = "distro_version"
    /// The C library the client's Python runs on (`glibc`, `musl`), from linehaul's
    /// `distro.libc.lib`: tells musl images (Alpine) apart, which cannot use manylinux wheels.
    case libc
    /// The C library's version (`2.28`), from `distro.libc.version`: group it with ``libc``
    /// (or filter `libc=glibc`) to find old glibc systems.
    case libcVersion = "libc_version"
    /// The TLS library and its version (`OpenSSL 1.1.1d`, `LibreSSL 2.8.3`): linehaul's
    /// `openssl_version` without its build date, which points to old systems.
    case openssl
    case system
    case cpu
    /// `true`, `false`, or unknown.
    case ci
    case country
    /// The index or source the download came from (`--index` at ingest).
    case index
    /// A pseudonymous client key (salted hash of the client address).
    case client

    /// Parses a dimension name, accepting `-` for `_` (`python-major`).
    public init?(name: String) {
        let n = name.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "-", with: "_")
        self.init(rawValue: n)
    }

    /// Every valid name, for error messages.
    public static var allNames: [String] { allCases.map(\.rawValue) }
}

/// The width of a time bucket. All buckets are UTC; weeks are ISO weeks starting on Monday.
public enum TimeBucket: String, CaseIterable, Codable, Sendable, Hashable {
    case hour, day, week

    /// Seconds in one bucket.
    public var seconds: Int64 {
        switch self {
        case .hour: 3600
        case .day: 86400
        case .week: 7 * 86400
        }
    }

    /// The start (epoch seconds, UTC) of the bucket holding `epoch`.
    public func start(of epoch: Int64) -> Int64 {
        switch self {
        case .hour, .day:
            return floorDiv(epoch, seconds) * seconds
        case .week:
            // 1970-01-01 was a Thursday; Monday 1969-12-29 is epoch - 3 days.
            let offset: Int64 = 3 * 86400
            return floorDiv(epoch + offset, seconds) * seconds - offset
        }
    }
}
