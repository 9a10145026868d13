import Testing

@testable import CasebookCatalog

/// The awkward cases of PEP 440, 508, 427 and 503, written out by hand.
@Suite struct PEPTests {
    @Test func pep440VersionsNormalizeAndOrder() throws {
        #expect(try Version("1.0.post1.dev2").description == "1.0.post1.dev2")
        #expect(try Version("1.0-POST-1_DEV_2").description == "1.0.post1.dev2")
        #expect(try Version("v1!2.0-ALPHA.3+Ubuntu-1").description == "1!2.0a3+ubuntu.1")
        #expect(try Version("1.0-1").post == 1)
        #expect(try Version("1.0") == Version("1.0.0"))
        let ordered = [
            "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12", "1.0b2.post345.dev456", "1.0b2.post345",
            "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.1.dev1", "1!0.1"
        ]
        let versions = try ordered.map { try Version($0) }
        #expect(versions == versions.shuffled().sorted())
        #expect(try Version("1.0.post1.dev2") < Version("1.0.post1"))
        #expect(try Version("1.0.post1.dev2") > Version("1.0"))
        #expect(try Version("1.0.post1.dev2").isPrerelease)
        let e = #expect(throws: PackagingSyntaxError.self) { try Version("1.0+") }
        #expect(e?.position == 3)
        #expect(e?.description.contains("invalid version '1.0+' at column 4") == true)
    }

    @Test func pep440Specifiers() throws {
        let compatible = try SpecifierSet("~=2.2.0")
        #expect(compatible.contains(try Version("2.2.5")))
        #expect(!compatible.contains(try Version("2.3")))
        #expect(!compatible.contains(try Version("2.1.9")))
        let notWild = try SpecifierSet("!=3.0.*")
        #expect(!notWild.contains(try Version("3.0.1")))
        #expect(!notWild.contains(try Version("3")))
        #expect(notWild.contains(try Version("3.1")))
        let octo = try SpecifierSet(">=2.7.9, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*, <4")
        #expect(octo.contains(try Version("2.7.16")))
        #expect(!octo.contains(try Version("3.5.3")))
        #expect(octo.contains(try Version("3.7.3")))
        // Exclusive bounds: <2.0 excludes 2.0's pre-releases; >1.0 excludes 1.0's post-releases.
        #expect(!(try SpecifierSet("<2.0")).contains(try Version("2.0a1")))
        #expect(!(try SpecifierSet(">1.0")).contains(try Version("1.0.post1")))
        #expect((try SpecifierSet(">1.0")).contains(try Version("1.1a1")))
        #expect(!(try SpecifierSet(">1.0")).contains(try Version("1.1a1"), prereleases: false))
        // Local versions: ignored unless the specifier has one.
        #expect((try SpecifierSet("==1.0")).contains(try Version("1.0+ubuntu1")))
        #expect(!(try SpecifierSet("==1.0+abc")).contains(try Version("1.0+def")))
        // ===: case-insensitive string match, also for non-PEP 440 strings.
        #expect((try SpecifierSet("===foobar")).contains("FooBar"))
        #expect(!(try SpecifierSet("===1.0")).contains("1.0.0"))
        // filter: pre-releases only when nothing final matches, or when named.
        let vs = try ["1.0", "1.1", "2.0a1"].map { try Version($0) }
        #expect(try SpecifierSet(">=1.0").filter(vs).map(\.description) == ["1.0", "1.1"])
        #expect(try SpecifierSet(">=1.5").filter(vs).map(\.description) == ["2.0a1"])
        #expect(try SpecifierSet(">=2.0a1").filter(vs).map(\.description) == ["2.0a1"])
        #expect(throws: PackagingSyntaxError.self) { try Specifier("~=1") }
        #expect(throws: PackagingSyntaxError.self) { try Specifier(">=1.0.*") }
        #expect(throws: PackagingSyntaxError.self) { try Specifier("<1.0+local") }
    }

    @Test func pep508RequirementsAndMarkers() throws {
        let old = try Requirement("aiohttp (==3.7.2)")
        #expect(old.name == "aiohttp" && old.specifier.description == "==3.7.2")
        let url = try Requirement("OctoPrint @ https://github.com/foosel/OctoPrint/archive/1.4.0.zip ; python_version < \"3\"")
        #expect(url.url == "https://github.com/foosel/OctoPrint/archive/1.4.0.zip")
        #expect(url.specifier.isEmpty)
        #expect(url.description == "OctoPrint @ https://github.com/foosel/OctoPrint/archive/1.4.0.zip ; python_version < \"3\"")
        let extras = try Requirement("requests [security , tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"")
        #expect(extras.extras == ["security", "tests"])
        #expect(extras.description == "requests[security,tests]==2.8.*,>=2.8.1; python_version < \"2.7\"")

        let pi27 = ClientEnvironment(python: "2.7.16", cpu: "armv7l", system: "Linux")
        let pi37 = ClientEnvironment(python: "3.7.3", cpu: "armv7l", system: "Linux")
        let win = ClientEnvironment(python: "2.7.17", cpu: "AMD64", system: "Windows")
        let m = try Marker("python_version < \"3\" and sys_platform != \"win32\"")
        #expect(try m.evaluate(pi27.markerEnvironment))
        #expect(try !m.evaluate(pi37.markerEnvironment))
        #expect(try !m.evaluate(win.markerEnvironment))
        let paren = try Marker("(os_name == 'nt' or python_version < '3') and platform_machine == 'armv7l'")
        #expect(try paren.evaluate(pi27.markerEnvironment))
        #expect(try !paren.evaluate(pi37.markerEnvironment))
        #expect(paren.description == "(os_name == \"nt\" or python_version < \"3\") and platform_machine == \"armv7l\"")
        #expect(pi27.markerEnvironment["sys_platform"] == "linux2")
        let extra = try Requirement("coverage ; extra == 'Testing'")
        #expect(try !extra.applies(in: pi37.markerEnvironment))
        #expect(try extra.applies(in: pi37.markerEnvironment, extras: ["testing"]))
        #expect(throws: MarkerEvaluationError.self) { try Marker("os_name ~= 'posix'").evaluate(pi27.markerEnvironment) }
        let e = #expect(throws: PackagingSyntaxError.self) { try Requirement("name (>=1.0") }
        #expect(e?.expected.contains("')'") == true)
    }

    @Test func pep427WheelFilenamesAndTags() throws {
        let w = try WheelFilename("Flask_Login-0.5.0-py2.py3-none-any.whl")
        #expect(w.name == "flask-login")
        #expect(w.tags == [WheelTag("py2", "none", "any"), WheelTag("py3", "none", "any")])
        #expect(try WheelFilename("foo-1.0-12abc-py3-none-any.whl").build?.number == 12)
        #expect(throws: PackagingSyntaxError.self) { try WheelFilename("foo-1.0-py3-none.whl") }

        let pi27 = ClientEnvironment(python: "2.7.16", cpu: "armv7l", system: "Linux")
        let tags = pi27.supportedTags()
        #expect(tags.first == WheelTag("cp27", "cp27mu", "linux_armv7l"))
        #expect(tags.contains(WheelTag("py2", "none", "any")))
        #expect(!tags.contains(WheelTag("py3", "none", "any")))
        let withGlibc = ClientEnvironment(python: "3.7.3", cpu: "armv7l", system: "Linux", glibc: "2.28")
        #expect(withGlibc.platformTags().prefix(3) == ["manylinux_2_28_armv7l", "manylinux_2_27_armv7l", "manylinux_2_26_armv7l"])
        #expect(withGlibc.platformTags().last == "linux_armv7l")
        #expect(ClientEnvironment(python: "3.8", cpu: "AMD64", system: "Windows").platformTag == "win_amd64")
    }

    @Test func pep503NamesEverywhere() throws {
        #expect(try Requirement("Flask_Login>=0.4").normalizedName == "flask-login")
        #expect(try WheelFilename("zope.interface-5.0-cp38-cp38-win32.whl").name == "zope-interface")
    }
}
