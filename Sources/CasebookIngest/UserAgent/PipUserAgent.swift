// Part of a Swift port of PyPI's user-agent parser, linehaul
// (https://github.com/pypi/linehaul-cloud-function, `linehaul/ua/parser.py`), Apache License 2.0.

/// The installers that put a JSON document in their user agent (pip ≥ 6, uv ≥ 0.1.22,
/// Hatch) and pip 1.4–5's `pip/<v> <impl>/<v> <system>/<release>` form.
enum PipUserAgent {
    /// linehaul's `Pip6UserAgent`: `pip/<version> <json>` for pip ≥ 6 (pre-releases count).
    /// Nil where linehaul raises `UnableToParse` (or any other error it logs and skips).
    static func pip6(_ ua: String) -> PyValue? {
        jsonAfterVersion(ua, prefix: "pip/", minimum: .six)
    }

    /// linehaul's `UvUserAgent`: `uv/<version> <json>` for uv ≥ 0.1.22.
    static func uv(_ ua: String) -> PyValue? {
        jsonAfterVersion(ua, prefix: "uv/", minimum: .uvJSON)
    }

    private static func jsonAfterVersion(_ ua: String, prefix: String, minimum: PEP440Lite) -> PyValue? {
        guard PyText.hasPrefix(ua, prefix),
            let token = PyText.firstToken(ua)
        else { return nil }
        // user_agent.split()[0].split("/", 1)[1]
        guard let slash = token.firstIndex(of: "/") else { return nil }
        let versionText = String(String.UnicodeScalarView(token[token.index(after: slash)...]))
        guard let version = PEP440Lite(versionText), version.isAtLeast(minimum) else { return nil }
        guard let json = PyText.afterFirstToken(ua) else { return nil }
        return PythonJSON.loads(json)
    }

    /// linehaul's `HatchUserAgent`: `Hatch/<version> <json> HTTPX/<version>`, the JSON taken
    /// from the first `{` to the last `}` (its strings may contain spaces).
    static func hatch(_ ua: String) -> PyValue? {
        guard PyText.hasPrefix(ua, "Hatch/") else { return nil }
        let v = Array(ua.unicodeScalars)
        guard let start = v.firstIndex(of: "{"), let end = v.lastIndex(of: "}") else { return nil }
        // Python's slice is empty when the last `}` comes before the first `{`.
        let slice = end >= start ? v[start...end] : []
        var text = String.UnicodeScalarView()
        text.append(contentsOf: slice)
        return PythonJSON.loads(String(text))
    }

    private static let pip14 = PyRegex(
        #"^pip/(?<version>⟨S⟩+) (?<implName>⟨S⟩+)/(?<implVersion>⟨S⟩+) (?<systemName>⟨S⟩+)/(?<systemRelease>⟨S⟩+)⟨$⟩"#
    )

    /// linehaul's `Pip1_4UserAgent`: `pip/1.4.1 CPython/2.7.14 Darwin/17.7.0` for
    /// 1.4 ≤ pip < 6; `Unknown` parts (any case) are left out, and a CPython version is also
    /// the Python version.
    static func pip1dot4(_ ua: String) -> PyValue? {
        guard let g = pip14.search(ua),
            let version = g["version"] ?? nil, let implName = g["implName"] ?? nil,
            let implVersion = g["implVersion"] ?? nil, let systemName = g["systemName"] ?? nil,
            let systemRelease = g["systemRelease"] ?? nil,
            let parsed = PEP440Lite(version),
            parsed.isAtLeast(.onePointFour), parsed.isBelow(.six)
        else { return nil }
        func known(_ s: String) -> Bool { !PyText.equal(s.lowercased(), "unknown") }
        var implementation: [(String, PyValue)] = []
        var system: [(String, PyValue)] = []
        if known(implName) { implementation.append(("name", .str(implName))) }
        if known(implVersion) { implementation.append(("version", .str(implVersion))) }
        if known(systemName) { system.append(("name", .str(systemName))) }
        if known(systemRelease) { system.append(("release", .str(systemRelease))) }
        var data: [(String, PyValue)] = [("installer", .dict([("name", .str("pip")), ("version", .str(version))]))]
        if !implementation.isEmpty { data.append(("implementation", .dict(implementation))) }
        if !system.isEmpty { data.append(("system", .dict(system))) }
        if PyText.equal(implName.lowercased(), "cpython") { data.append(("python", .str(implVersion))) }
        return .dict(data)
    }
}
