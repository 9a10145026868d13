// Part of a Swift port of PyPI's user-agent parser, linehaul
// (https://github.com/pypi/linehaul-cloud-function, `linehaul/ua/`), Apache License 2.0.

/// What PyPI's linehaul learns from a download's user agent: the `details` record of
/// PyPI's BigQuery `file_downloads` table, flattened.
///
/// Every field is `nil` when the client did not say (or said `null`). Values are kept as the
/// client sent them, converted to text the way linehaul converts them (a JSON number `3.6`
/// becomes `"3.6"`, `true` becomes `"True"`).
public struct UserAgentInfo: Sendable, Hashable, Codable {
    public var installerName: String?
    public var installerVersion: String?
    /// The Python version (`3.5.3`), as the installer reported it.
    public var python: String?
    public var implementationName: String?
    public var implementationVersion: String?
    public var distroName: String?
    public var distroVersion: String?
    public var distroID: String?
    public var libcLib: String?
    public var libcVersion: String?
    public var systemName: String?
    public var systemRelease: String?
    public var cpu: String?
    public var opensslVersion: String?
    public var setuptoolsVersion: String?
    public var rustcVersion: String?
    /// Whether the installer believed it ran under CI (`nil` when it did not say).
    public var ci: Bool?

    public init(
        installerName: String? = nil, installerVersion: String? = nil, python: String? = nil,
        implementationName: String? = nil, implementationVersion: String? = nil,
        distroName: String? = nil, distroVersion: String? = nil, distroID: String? = nil,
        libcLib: String? = nil, libcVersion: String? = nil,
        systemName: String? = nil, systemRelease: String? = nil, cpu: String? = nil,
        opensslVersion: String? = nil, setuptoolsVersion: String? = nil,
        rustcVersion: String? = nil, ci: Bool? = nil
    ) {
        self.installerName = installerName
        self.installerVersion = installerVersion
        self.python = python
        self.implementationName = implementationName
        self.implementationVersion = implementationVersion
        self.distroName = distroName
        self.distroVersion = distroVersion
        self.distroID = distroID
        self.libcLib = libcLib
        self.libcVersion = libcVersion
        self.systemName = systemName
        self.systemRelease = systemRelease
        self.cpu = cpu
        self.opensslVersion = opensslVersion
        self.setuptoolsVersion = setuptoolsVersion
        self.rustcVersion = rustcVersion
        self.ci = ci
    }
}

/// How linehaul classifies a user agent.
public enum UserAgentParseResult: Sendable, Hashable {
    /// A client linehaul recognises, with what it reported.
    case known(UserAgentInfo)
    /// A client linehaul deliberately skips (monitoring, crawlers, `(null)`): PyPI does not
    /// record the event at all.
    case ignored
    /// A client linehaul does not recognise: PyPI records the download without details.
    ///
    /// This also covers the rare agents that linehaul matches but then fails to convert
    /// (e.g. `pip/20.0 5`); ``UserAgentParser/classify(_:)`` tells those apart.
    case unknown
}

/// linehaul's outcome for a user agent, with the one case ``UserAgentParseResult`` folds
/// into `.unknown`.
public enum UserAgentClassification: Sendable, Hashable {
    case known(UserAgentInfo)
    case ignored
    case unknown
    /// A parser accepted the agent but its data could not be converted to linehaul's
    /// record (for instance `pip/20.0 5`, whose JSON is a number, or `pip/20.0 null`).
    /// linehaul raises an error other than `UnknownUserAgentError` here, so PyPI's pipeline
    /// sets the whole log line aside as unprocessable. `reason` says what was wrong.
    case rejected(reason: String)

    /// The public three-way result (`rejected` counts as `unknown`).
    public var parseResult: UserAgentParseResult {
        switch self {
        case .known(let info): .known(info)
        case .ignored: .ignored
        case .unknown, .rejected: .unknown
        }
    }
}
