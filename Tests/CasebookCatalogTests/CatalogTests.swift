import CasebookCore
import Foundation
import Testing

@testable import CasebookCatalog

@Suite struct CatalogTests {
    static let catalogDir = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("catalog")
    let catalog: CatalogFolder
    let pi27 = ClientEnvironment(python: "2.7.16", cpu: "armv7l", system: "Linux")
    let pi37 = ClientEnvironment(python: "3.7.3", cpu: "armv7l", system: "Linux")

    init() throws { catalog = try CatalogFolder(directory: Self.catalogDir) }

    @Test func projectsAreNormalized() throws {
        #expect(catalog.projects() == ["flask-login", "markdown", "netifaces", "octoprint", "semantic-version", "sentry-sdk"])
        #expect(try catalog.displayName(of: "Semantic.Version") == "semantic_version")
        #expect(throws: CatalogError.self) { try catalog.releases(of: "nonexistent") }
        #expect(throws: CatalogError.self) { try CatalogFolder(directory: URL(fileURLWithPath: "/nonexistent/catalog")) }
    }

    @Test func releasesWithDatesSortedByPEP440() throws {
        let r = try catalog.releases(of: "Flask_Login")
        #expect(r.map(\.versionText) == ["0.2.11", "0.3.0", "0.4.1", "0.5.0"])
        #expect(r[2].uploadTime.map(UTCTime.dateString) == "2017-12-02")
        #expect(r[0].uploadTime.map(UTCTime.isoString) == "2014-05-02T23:24:14Z")  // no upload_time_iso_8601
        #expect(!r[2].hasWheel && r[3].hasWheel)
        let sv = try catalog.releases(of: "semantic-version")
        #expect(sv.map(\.versionText) == ["2.6.0", "2.8.3", "2.8.4", "2.8.5"])
        #expect(sv[1].yanked && !sv[2].yanked)
        #expect(sv[3].fileCount == 0 && sv[3].uploadTime == nil && !sv[3].yanked)
    }

    @Test func filesAndWheelTags() throws {
        let files = try catalog.files(of: "flask-login", version: "0.5.0")
        #expect(files.map(\.packageType) == ["bdist_wheel", "sdist"])
        #expect(files[0].tags == [WheelTag("py2", "none", "any"), WheelTag("py3", "none", "any")])
        #expect(try catalog.files(of: "flask-login", version: "0.3").first?.filename == "Flask-Login-0.3.0.tar.gz")
        let yanked = try catalog.files(of: "semantic_version", version: "2.8.3")
        #expect(yanked.first?.yanked == true && yanked.first?.yankedReason == "Broken upload")
        #expect(throws: CatalogError.noSuchRelease(project: "flask-login", version: "9.9", known: ["0.2.11", "0.3.0", "0.4.1", "0.5.0"])) {
            try catalog.files(of: "flask-login", version: "9.9")
        }
    }

    @Test func compatibleWheels() throws {
        #expect(try catalog.hasCompatibleWheel(project: "flask-login", version: "0.4.1", for: pi27) == nil)
        let m = try #require(try catalog.hasCompatibleWheel(project: "flask-login", version: "0.5.0", for: pi27))
        #expect(m.kind == .universal && m.tag == WheelTag("py2", "none", "any"))
        // Markdown 3.2: py3-none-any with requires_python >=3.5.
        #expect(try catalog.hasCompatibleWheel(project: "markdown", version: "3.2", for: pi27) == nil)
        #expect(try catalog.hasCompatibleWheel(project: "markdown", version: "3.2", for: pi37)?.kind == .pure)
        #expect(try catalog.hasCompatibleWheel(project: "markdown", version: "3.1.1", for: pi27)?.kind == .universal)
        let plat = try #require(try catalog.hasCompatibleWheel(project: "netifaces", version: "0.10.9", for: pi27))
        #expect(plat.kind == .platform && plat.rank == 0 && plat.file.filename == "netifaces-0.10.9-cp27-cp27mu-linux_armv7l.whl")
        #expect(try catalog.hasCompatibleWheel(project: "netifaces", version: "0.10.9", for: pi37) == nil)
        let x86 = ClientEnvironment(python: "3.7.5", cpu: "x86_64", system: "Linux", glibc: "2.27")
        #expect(
            try catalog.hasCompatibleWheel(project: "netifaces", version: "0.10.9", for: x86)?.file.filename
                == "netifaces-0.10.9-cp37-cp37m-manylinux1_x86_64.whl")
        // Yanked files are skipped unless asked.
        #expect(try catalog.hasCompatibleWheel(project: "semantic_version", version: "2.8.3", for: pi27) == nil)
        #expect(try catalog.hasCompatibleWheel(project: "semantic_version", version: "2.8.3", for: pi27, includeYanked: true) != nil)
    }

    @Test func requirementsWithMarkersAndNulls() throws {
        let octo = try #require(try catalog.requirements(of: "OctoPrint", version: "1.4.0", for: pi27))
        #expect(octo.source == .releaseDocument)
        let names27 = Set(octo.applicable.map(\.normalizedName))
        #expect(names27.isSuperset(of: ["flask-login", "futures", "typing", "markdown", "sentry-sdk"]))
        #expect(!names27.contains("appdirs") && !names27.contains("aiohttp"))
        let octo37 = try #require(try catalog.requirements(of: "octoprint", version: "1.4.0", for: pi37))
        #expect(!Set(octo37.applicable.map(\.normalizedName)).contains("futures"))
        let plugins = try #require(try catalog.requirements(of: "octoprint", version: "1.4.0", for: pi37, extras: ["Plugins"]))
        #expect(plugins.applicable.contains { $0.description == "aiohttp==3.7.2; extra == \"plugins\"" })
        // requires_dist null: known to be unknown.
        let fl041 = try #require(try catalog.requirements(of: "flask-login", version: "0.4.1", for: pi27))
        #expect(fl041.requiresDistIsNull && fl041.all.isEmpty)
        // Only the project document: the latest version is known, others are not guessed.
        #expect(try catalog.requirements(of: "sentry-sdk", version: "0.14.2", for: pi27)?.source == .projectDocument)
        #expect(try catalog.requirements(of: "sentry-sdk", version: "0.13.2", for: pi27) == nil)
        let md = try #require(try catalog.requirements(of: "markdown", version: "3.1.1", for: nil))
        #expect(md.applicable.map(\.description) == ["setuptools>=36"])
    }

    @Test func reverseDependencies() throws {
        let deps = catalog.reverseDependencies(of: "Flask_Login")
        #expect(deps.map(\.dependent) == ["octoprint"])
        #expect(deps[0].dependentDisplayName == "OctoPrint")
        #expect(deps[0].uses.map(\.version) == ["1.3.12", "1.4.0"])
        #expect(deps[0].uses.map(\.requirement.specifier.description) == ["<0.3,>=0.2.11", "<0.5,>=0.4.1"])
        // sentry-sdk requires flask only with its `flask` extra: still a reverse dependency.
        let flask = catalog.reverseDependencies(of: "flask")
        #expect(flask.map(\.dependent) == ["flask-login", "octoprint", "sentry-sdk"])
        #expect(flask[2].uses.first?.requirement.marker?.description == "extra == \"flask\"")
    }

    @Test func requirementDiff() throws {
        let d = try #require(try catalog.requirementDiff(project: "octoprint", from: "1.3.12", to: "1.4.0"))
        let changed = Dictionary(
            uniqueKeysWithValues: d.changed.map { ($0.to.normalizedName, "\($0.from.specifier) → \($0.to.specifier)") })
        #expect(changed["flask-login"] == "<0.3,>=0.2.11 → <0.5,>=0.4.1")
        #expect(changed["sentry-sdk"] == "==0.7.7 → ==0.13.2")
        #expect(changed["semantic-version"] == "<2.7,>=2.6 → <2.9,>=2.8")
        #expect(changed["futures"] == "<3.3,>=3.2 → <3.4,>=3.3")  // marker added too
        #expect(d.added.map(\.normalizedName).contains("blinker"))
        #expect(d.removed.map(\.normalizedName) == ["flask-principal"])
        #expect(d.unchanged.map(\.normalizedName).contains("tornado"))
        #expect(try catalog.requirementDiff(project: "sentry-sdk", from: "0.13.2", to: "0.14.2") == nil)
    }

    @Test func toleratesOddDocuments() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = dir.appendingPathComponent("pypi/Odd.Name")
        try FileManager.default.createDirectory(at: p, withIntermediateDirectories: true)
        try
            #"{"info":{"name":"Odd.Name","version":"1.0","requires_dist":null,"new_field":{"x":1}},"releases":{"1.0":[{"filename":"odd.name-1.0.tar.gz","upload_time":"2020-01-01T00:00:00","yanked":true}]},"urls":null}"#
            .write(to: p.appendingPathComponent("json"), atomically: true, encoding: .utf8)
        let c = try CatalogFolder(directory: dir)
        #expect(c.projects() == ["odd-name"])
        #expect(try c.releases(of: "odd_name").first?.yanked == true)
        try #"{"info":{"name":7}}"#.write(to: p.appendingPathComponent("json"), atomically: true, encoding: .utf8)
        let e = #expect(throws: CatalogError.self) { try CatalogFolder(directory: dir) }
        #expect(
            e?.description.hasSuffix("field 'info.name': expected a string or null, found a number") == true,
            "\(e.map(String.init(describing:)) ?? "")")
    }
}
