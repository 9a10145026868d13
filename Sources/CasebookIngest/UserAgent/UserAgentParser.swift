// A Swift port of PyPI's user-agent parser, linehaul
// (https://github.com/pypi/linehaul-cloud-function, `linehaul/ua/parser.py`, `impl.py`,
// `datastructures.py`), Apache License 2.0. Ported for Casebook; the behaviour, including its
// quirks, is linehaul's.

/// Classifies a download's user agent the way PyPI's linehaul does, so that details read from
/// raw logs (piwheels, a mirror) match what PyPI's BigQuery table would hold for the same agent.
///
/// linehaul tries its parsers one after the other (pip ≥ 6 JSON, pip 1.4–5, distribute,
/// setuptools, pex, conda, Bazel, bandersnatch, devpi, z3c.pypimirror, Artifactory, Nexus,
/// pep381client, maturin, pdm, poetry, twine, uv, Hatch, urllib, requests, Homebrew, OS package
/// tools, browsers and download tools); the first that accepts the agent wins. When none does,
/// an agent on its ignore list (monitoring, crawlers, `(null)`, ...) is `.ignored` and any other
/// is `.unknown`.
///
/// linehaul's `ParserSet` registers its parsers in a shuffled order because they are meant not to
/// overlap. A few do (`pex/` is matched anywhere in an agent); this port uses the order of
/// `parser.py`.
///
/// The user agent is the plain text (`pip/19.0.3 {"cpu":"armv7l",...}`), already unescaped.
/// Any input is safe to pass: malformed agents are classified, never trapped on.
public enum UserAgentParser {
    /// linehaul's result for `userAgent`: `.known` with its details, `.ignored` or `.unknown`.
    public static func parse(_ userAgent: String) -> UserAgentParseResult {
        classify(userAgent).parseResult
    }

    /// linehaul's result, telling apart the agents a parser accepted but whose data linehaul then
    /// fails to convert (see ``UserAgentClassification/rejected(reason:)``).
    public static func classify(_ userAgent: String) -> UserAgentClassification {
        for parser in parsers {
            guard let data = parser.parse(userAgent) else { continue }
            do {
                return .known(try Structure.userAgent(data))
            } catch let error as Structure.Failure {
                return .rejected(reason: "\(parser.name) accepted it, but \(error.message)")
            } catch {
                return .rejected(reason: "\(parser.name) accepted it, but its data could not be converted")
            }
        }
        return ignoreList.matches(userAgent) ? .ignored : .unknown
    }

    // MARK: - The parsers, in parser.py's order

    struct Parser: Sendable {
        let name: String
        let parse: @Sendable (String) -> PyValue?
    }

    /// A parser built from regexes (tried in turn, first match wins) and a handler of the named
    /// groups, like linehaul's `regex_ua_parser`.
    private static func regex(
        _ name: String, _ patterns: [String], ignoringCase: Bool = false,
        _ handler: @escaping @Sendable ([String: String?]) -> PyValue?
    ) -> Parser {
        let compiled = patterns.map { PyRegex($0) }
        return Parser(name: name) { ua in
            for r in compiled {
                if let groups = r.search(ua) { return handler(groups) }
            }
            return nil
        }
    }

    private static func installer(_ name: String, _ version: String?) -> PyValue {
        var installer: [(String, PyValue)] = [("name", .str(name))]
        if let version { installer.append(("version", .str(version))) }
        return .dict([("installer", .dict(installer))])
    }

    private static func text(_ g: [String: String?], _ name: String) -> PyValue {
        (g[name] ?? nil).map(PyValue.str) ?? .null
    }

    /// An installer-only parser: `{"installer": {"name": name, "version": <version group>}}`.
    private static func simple(_ parserName: String, _ installerName: String, _ pattern: String) -> Parser {
        regex(parserName, [pattern]) { g in
            .dict([("installer", .dict([("name", .str(installerName)), ("version", text(g, "version"))]))])
        }
    }

    static let parsers: [Parser] = [
        Parser(name: "Pip6UserAgent", parse: PipUserAgent.pip6),
        Parser(name: "Pip1_4UserAgent", parse: PipUserAgent.pip1dot4),
        regex("DistributeUserAgent", [#"^Python-urllib/(?<python>\d\.\d) distribute/(?<version>⟨S⟩+)⟨$⟩"#]) { g in
            .dict([
                ("installer", .dict([("name", .str("distribute")), ("version", text(g, "version"))])),
                ("python", text(g, "python"))
            ])
        },
        regex(
            "SetuptoolsUserAgent",
            [
                #"^Python-urllib/(?<python>\d\.\d) setuptools/(?<version>⟨S⟩+)⟨$⟩"#,
                #"^setuptools/(?<version>⟨S⟩+) Python-urllib/(?<python>\d\.\d)⟨$⟩"#
            ]
        ) { g in
            .dict([
                ("installer", .dict([("name", .str("setuptools")), ("version", text(g, "version"))])),
                ("python", text(g, "python"))
            ])
        },
        simple("PexUserAgent", "pex", #"pex/(?<version>⟨S⟩+)⟨$⟩"#),
        simple("CondaUserAgent", "conda", #"^conda/(?<version>⟨S⟩+)(?: ⟨.⟩+)?⟨$⟩"#),
        simple("BazelUserAgent", "Bazel", #"^Bazel/(?:release⟨s⟩+)?(?<version>⟨.⟩+)⟨$⟩"#),
        simple("BandersnatchUserAgent", "bandersnatch", #"^bandersnatch/(?<version>⟨S⟩+) \(⟨.⟩+\)⟨$⟩"#),
        simple("DevPIUserAgent", "devpi", #"devpi-server/(?<version>⟨S⟩+) \(⟨.⟩+\)⟨$⟩"#),
        simple("Z3CPyPIMirrorUserAgent", "z3c.pypimirror", #"^z3c\.pypimirror/(?<version>⟨S⟩+)⟨$⟩"#),
        simple("ArtifactoryUserAgent", "Artifactory", #"^Artifactory/(?<version>⟨S⟩+)⟨$⟩"#),
        simple("NexusUserAgent", "Nexus", #"^Nexus/(?<version>⟨S⟩+)"#),
        simple("PEP381ClientUserAgent", "pep381client", #"^pep381client(?:-proxy)?/(?<version>⟨S⟩+)⟨$⟩"#),
        simple("MaturinUserAgent", "maturin", #"^maturin/(?<version>⟨S⟩+)⟨$⟩"#),
        regex("PDMUserAgent", [#"^pdm/(?<version>⟨S⟩+) (?<implName>⟨S⟩+)/(?<implVersion>⟨S⟩+)⟨$⟩"#]) { g in
            .dict([
                ("installer", .dict([("name", .str("pdm")), ("version", text(g, "version"))])),
                ("implementation", .dict([("name", text(g, "implName")), ("version", text(g, "implVersion"))]))
            ])
        },
        regex(
            "PoetryUserAgent",
            [
                #"^poetry/(?<version>⟨S⟩+) (?<implName>⟨S⟩+)/(?<implVersion>⟨S⟩+) (?<systemName>⟨S⟩+)/(?<systemRelease>⟨S⟩+)?⟨$⟩"#
            ]
        ) { g in
            .dict([
                ("installer", .dict([("name", .str("poetry")), ("version", text(g, "version"))])),
                ("implementation", .dict([("name", text(g, "implName")), ("version", text(g, "implVersion"))])),
                ("system", .dict([("name", text(g, "systemName")), ("release", text(g, "systemRelease"))]))
            ])
        },
        regex("TwineUserAgent", [#"^twine/(?<version>⟨S⟩+)(?: ⟨.⟩+)? (?<implName>⟨S⟩+)/(?<implVersion>⟨S⟩+)⟨$⟩"#]) { g in
            .dict([
                ("installer", .dict([("name", .str("twine")), ("version", text(g, "version"))])),
                ("implementation", .dict([("name", text(g, "implName")), ("version", text(g, "implVersion"))]))
            ])
        },
        Parser(name: "UvUserAgent", parse: PipUserAgent.uv),
        Parser(name: "HatchUserAgent", parse: PipUserAgent.hatch),
        regex("URLLib2UserAgent", [#"^Python-urllib/(?<python>\d\.\d)⟨$⟩"#]) { g in
            .dict([("python", text(g, "python"))])
        },
        simple("RequestsUserAgent", "requests", #"^python-requests/(?<version>⟨S⟩+)(?: ⟨.⟩+)?⟨$⟩"#),
        regex(
            "HomebrewUserAgent",
            [
                #"^Homebrew/(?<version>⟨S⟩+) \(Macintosh; Intel (?:Mac OS X|macOS) (?<osx>[^)]+)\)(?: ⟨.⟩+)?⟨$⟩"#
            ]
        ) { g in
            .dict([
                ("installer", .dict([("name", .str("Homebrew")), ("version", text(g, "version"))])),
                ("distro", .dict([("name", .str("OS X")), ("version", text(g, "osx"))]))
            ])
        },
        regex(
            "OSUserAgent",
            [
                #"(?:^fetch libfetch/⟨S⟩+⟨$⟩|^libfetch/⟨S⟩+⟨$⟩|^OpenBSD ftp⟨$⟩|^MacPorts/?|^NetBSD-ftp/|^slapt-get"#
                    + #"|^pypi-install/|^slackrepo⟨$⟩|^PTXdist|^GARstow/|^xbps/)"#
            ]
        ) { _ in installer("OS", nil) },
        regex("BrowserUserAgent", [browserPattern]) { _ in installer("Browser", nil) }
    ]

    /// linehaul's browser and download-tool pattern, compiled with `re.IGNORECASE`.
    private static let browserPattern: String = {
        let c = PyRegex.ignoringCase
        let alternatives = [
            c("Mozilla"), c("Safari"), c("wget"), c("curl"), c("Opera"), c("aria2"),
            c("AndroidDownloadManager"), c("com") + #"\."# + c("apple") + #"\."# + c("WebKit") + #"\."# + c("Networking") + "/",
            c("FDM") + " ⟨S⟩+", c("URL") + "/" + c("Emacs"), c("Firefox") + "/", c("UCWEB"), c("Links"),
            "^" + c("okhttp"), "^" + c("Apache-HttpClient")
        ]
        return "^(?:" + alternatives.joined(separator: "|") + ")(?:/|⟨$⟩)"
    }()

    /// Agents linehaul deliberately skips when no parser accepts them.
    static let ignoreList = PyRegex(
        #"(?:^Datadog Agent/|^\(null\)⟨$⟩|^WordPress/|^Chef (?:Client|Knife)/|^Ruby⟨$⟩|^Slackbot-LinkExpanding"#
            + #"|^TextualInlineMedia/|^WeeChat/|^Download Master⟨$⟩|^Java/|^Go \d\.\d package http⟨$⟩"#
            + #"|^Go-http-client/|^GNU Guile⟨$⟩|^github-olee⟨$⟩|^YisouSpider⟨$⟩|^Apache Ant/|^Salt/"#
            + #"|^ansible-httpget⟨$⟩|^ltx71 - \(http://ltx71⟨.⟩com/\)|^Scrapy/|^spectool/|Nutch"#
            + #"|^AWSBrewLinkChecker/|^Y!J-ASR/|^NSIS_Inetc \(Mozilla\)⟨$⟩|^Debian uscan"#
            + #"|^Pingdom\.com_bot_version_\d+\.\d+_\(https?://www⟨.⟩pingdom⟨.⟩com/\)⟨$⟩"#
            + #"|^MauiBot \(crawler\.feedback\+dc@gmail\.com\)⟨$⟩|^inspector\.pypi\.io⟨$⟩)"#
    )
}

// MARK: - Converting parsed data to the record (linehaul's cattrs.structure)

/// linehaul turns a parser's result into its `UserAgent` record with `cattrs.structure`.
/// Text fields take `str(value)` of whatever JSON value they hold, `ci` takes `bool(value)`,
/// and a nested record is read with `if field in value: value[field]`, which on a JSON string
/// is a substring test and on a list a membership test: `"abc"` becomes an empty record,
/// `"myname"` (which contains `name`) raises, as does a number or `null`.
enum Structure {
    struct Failure: Error {
        let message: String
    }

    static func userAgent(_ v: PyValue) throws -> UserAgentInfo {
        var info = UserAgentInfo()
        if let installer = try record(v, "installer") {
            info.installerName = try text(installer, "name")
            info.installerVersion = try text(installer, "version")
        }
        info.python = try text(v, "python")
        if let implementation = try record(v, "implementation") {
            info.implementationName = try text(implementation, "name")
            info.implementationVersion = try text(implementation, "version")
        }
        if let distro = try record(v, "distro") {
            info.distroName = try text(distro, "name")
            info.distroVersion = try text(distro, "version")
            info.distroID = try text(distro, "id")
            if let libc = try record(distro, "libc") {
                info.libcLib = try text(libc, "lib")
                info.libcVersion = try text(libc, "version")
            }
        }
        if let system = try record(v, "system") {
            info.systemName = try text(system, "name")
            info.systemRelease = try text(system, "release")
        }
        info.cpu = try text(v, "cpu")
        info.opensslVersion = try text(v, "openssl_version")
        info.setuptoolsVersion = try text(v, "setuptools_version")
        info.rustcVersion = try text(v, "rustc_version")
        info.ci = try field(v, "ci").flatMap { $0 == .null ? nil : $0.pyTruth }
        return info
    }

    /// Python's `if name in container: container[name]` (nil when absent).
    private static func field(_ container: PyValue, _ name: String) throws -> PyValue? {
        switch container {
        case .object(_, let values):
            return values[PyString(name)]
        case .string(let s):
            if PyText.contains(s, name) {
                throw Failure(message: "the JSON string \(container.pyRepr) contains \"\(name)\", so linehaul indexes it like an object")
            }
            return nil
        case .array(let items):
            if items.contains(.str(name)) {
                throw Failure(message: "the JSON list \(container.pyRepr) contains \"\(name)\", so linehaul indexes it like an object")
            }
            return nil
        case .int, .float, .bool, .null:
            throw Failure(message: "expected a JSON object, found \(container.pyRepr)")
        }
    }

    /// A nested record field: nil when absent or null.
    private static func record(_ container: PyValue, _ name: String) throws -> PyValue? {
        guard let v = try field(container, name), v != .null else { return nil }
        return v
    }

    /// A text field: `str(value)`, nil when absent or null.
    private static func text(_ container: PyValue, _ name: String) throws -> String? {
        guard let v = try field(container, name), v != .null else { return nil }
        return v.pyStr
    }
}
