/// The machine and Python that download a package: what pip on the client would report.
///
/// It gives the marker variables of PEP 508 (`markerEnvironment`) and the wheel tags the
/// client's pip accepts, best first (`supportedTags()`), computed the way `packaging.tags`
/// computes them for that interpreter and platform. Build one from a pip user agent's
/// `python`, `cpu`, `system.name` with `init(python:cpu:system:...)`.
public struct ClientEnvironment: Sendable, Hashable, CustomStringConvertible {
    /// `2.7.16`.
    public var pythonFullVersion: String
    /// `cpython`, `pypy` (sys.implementation.name).
    public var implementationName: String
    /// `2.7.16` for CPython; PyPy's own version for PyPy.
    public var implementationVersion: String
    /// `CPython`, `PyPy`.
    public var platformPythonImplementation: String
    /// `linux` (`linux2` on Python 2), `win32`, `darwin`.
    public var sysPlatform: String
    /// `posix` or `nt`.
    public var osName: String
    /// `Linux`, `Windows`, `Darwin`.
    public var platformSystem: String
    public var platformRelease: String
    public var platformVersion: String
    /// `armv7l`, `x86_64`, `AMD64`.
    public var platformMachine: String
    /// The most specific platform tag: `linux_armv7l`, `win_amd64`, `macosx_10_15_x86_64`.
    public var platformTag: String
    /// glibc version (`2.28`) when known: enables `manylinux` tags.
    public var glibcVersion: String?
    /// CPython ABI flags for Python < 3.8 (`mu` for the usual Linux 2.7 build, `m` for 3.x).
    public var abiFlags: String?

    /// Builds an environment from what a pip user agent reports.
    /// - Parameters:
    ///   - python: `2.7.16` (a major.minor such as `3.7` is completed with `.0`).
    ///   - cpu: `armv7l`, `x86_64`, `AMD64`, `aarch64`, `arm64`.
    ///   - system: `Linux`, `Windows`, `Darwin` (nil means Linux).
    ///   - implementation: `CPython` or `PyPy`.
    ///   - systemRelease: `platform.release()`; on Darwin it picks the macOS version.
    ///   - glibc: glibc version from the user agent's `distro.libc`, if any.
    public init(
        python: String, cpu: String, system: String? = "Linux", implementation: String = "CPython",
        implementationVersion: String? = nil, systemRelease: String = "", glibc: String? = nil
    ) {
        var full = python
        if full.split(separator: ".").count == 2 { full += ".0" }
        pythonFullVersion = full
        let major = Int(full.split(separator: ".").first ?? "3") ?? 3
        let impl = implementation.lowercased()
        implementationName = impl == "pypy" ? "pypy" : impl == "cpython" ? "cpython" : impl
        platformPythonImplementation = impl == "pypy" ? "PyPy" : impl == "cpython" ? "CPython" : implementation
        self.implementationVersion = implementationVersion ?? full
        let sys = (system ?? "Linux")
        platformSystem = sys
        platformRelease = systemRelease
        platformVersion = ""
        platformMachine = cpu
        glibcVersion = glibc
        abiFlags = nil
        let arch = String(cpu.lowercased().map { $0 == "-" || $0 == "." || $0 == " " ? "_" : $0 })
        switch sys.lowercased() {
        case "windows":
            sysPlatform = "win32"
            osName = "nt"
            switch String(arch) {
            case "amd64", "x86_64": platformTag = "win_amd64"
            case "arm64", "aarch64": platformTag = "win_arm64"
            default: platformTag = "win32"
            }
        case "darwin":
            sysPlatform = "darwin"
            osName = "posix"
            let darwinMajor = Int(systemRelease.split(separator: ".").first ?? "") ?? 19
            let (ma, mi) = darwinMajor >= 20 ? (darwinMajor - 9, 0) : (10, max(0, darwinMajor - 4))
            platformTag = "macosx_\(ma)_\(mi)_\(arch == "aarch64" ? "arm64" : String(arch))"
        default:
            sysPlatform = sys.lowercased() == "linux" || system == nil ? (major == 2 ? "linux2" : "linux") : sys.lowercased()
            osName = "posix"
            platformTag = "\(sys.lowercased())_\(String(arch))"
        }
    }

    /// `2.7`.
    public var pythonVersion: String { pythonVersionParts.map(String.init).joined(separator: ".") }

    var pythonVersionParts: [Int] {
        let p = pythonFullVersion.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) ?? 0 }
        return p.count == 2 ? p : [p.first ?? 3, 0]
    }

    public var description: String { "\(platformPythonImplementation) \(pythonFullVersion) on \(platformTag)" }

    /// The PEP 508 marker variables for this client.
    public var markerEnvironment: [String: String] {
        [
            "implementation_name": implementationName,
            "implementation_version": implementationVersion,
            "os_name": osName,
            "platform_machine": platformMachine,
            "platform_release": platformRelease,
            "platform_system": platformSystem,
            "platform_version": platformVersion,
            "python_full_version": pythonFullVersion,
            "platform_python_implementation": platformPythonImplementation,
            "python_version": pythonVersion,
            "sys_platform": sysPlatform
        ]
    }

    /// Platform tags the client accepts, best first (manylinux tags when `glibcVersion` is set;
    /// `linux_armv8l` also accepts `armv7l`; macOS versions downwards).
    public func platformTags() -> [String] {
        if platformTag.hasPrefix("linux_") {
            let arch = String(platformTag.dropFirst("linux_".count))
            let archs = arch == "armv8l" ? ["armv8l", "armv7l"] : [arch]
            var out: [String] = []
            if let glibcVersion {
                let parts = glibcVersion.split(separator: ".").compactMap { Int($0) }
                if parts.count >= 2 { out += ClientEnvironment.manylinuxTags(archs: archs, glibc: (parts[0], parts[1])) }
            }
            return out + archs.map { "linux_\($0)" }
        }
        if platformTag.hasPrefix("macosx_") {
            let p = platformTag.split(separator: "_")
            if p.count >= 4, let ma = Int(p[1]), let mi = Int(p[2]) {
                return ClientEnvironment.macPlatforms(version: (ma, mi), arch: p[3...].joined(separator: "_"))
            }
        }
        return [platformTag]
    }

    /// `packaging._manylinux.platform_tags` for a given glibc (2.x), all versions compatible.
    public static func manylinuxTags(archs: [String], glibc: (Int, Int)) -> [String] {
        let tooOldMinor = Set(archs).isDisjoint(with: ["x86_64", "i686"]) ? 16 : 4
        var out: [String] = []
        guard glibc.0 == 2 else { return out }
        for arch in archs {
            var minor = glibc.1
            while minor > tooOldMinor {
                out.append("manylinux_2_\(minor)_\(arch)")
                switch minor {
                case 17: out.append("manylinux2014_\(arch)")
                case 12: out.append("manylinux2010_\(arch)")
                case 5: out.append("manylinux1_\(arch)")
                default: break
                }
                minor -= 1
            }
        }
        return out
    }

    static func macBinaryFormats(_ v: (Int, Int), _ arch: String) -> [String] {
        var f = [arch]
        let ge104 = v.0 > 10 || (v.0 == 10 && v.1 >= 4)
        if arch == "x86_64" {
            if !ge104 { return [] }
            f += ["intel", "fat64", "fat32"]
        } else if arch == "i386" {
            if !ge104 { return [] }
            f += ["intel", "fat32", "fat"]
        }
        if arch == "arm64" || arch == "x86_64" { f.append("universal2") }
        if ["x86_64", "i386", "ppc64", "ppc", "intel"].contains(arch) { f.append("universal") }
        return f
    }

    /// `packaging.tags.mac_platforms(version, arch)`.
    public static func macPlatforms(version: (Int, Int), arch: String) -> [String] {
        var out: [String] = []
        if version.0 == 10 {
            for minor in stride(from: version.1, through: 0, by: -1) {
                for f in macBinaryFormats((10, minor), arch) { out.append("macosx_10_\(minor)_\(f)") }
            }
        }
        if version.0 >= 11 {
            for major in stride(from: version.0, through: 11, by: -1) {
                for f in macBinaryFormats((major, 0), arch) { out.append("macosx_\(major)_0_\(f)") }
            }
            for minor in stride(from: 16, through: 4, by: -1) {
                if arch == "x86_64" {
                    for f in macBinaryFormats((10, minor), arch) { out.append("macosx_10_\(minor)_\(f)") }
                } else {
                    out.append("macosx_10_\(minor)_universal2")
                }
            }
        }
        return out
    }

    /// The CPython ABI tag (`cp27mu`, `cp37m`, `cp38`).
    public var cpythonABI: String {
        let v = pythonVersionParts
        let nodot = "\(v[0])\(v[1])"
        if let abiFlags { return "cp\(nodot)\(abiFlags)" }
        if v[0] < 3 || (v[0] == 3 && v[1] < 8) {
            let ucs4 = (v[0] < 3 || (v[0] == 3 && v[1] < 3)) && osName != "nt" ? "u" : ""
            return "cp\(nodot)m\(ucs4)"
        }
        return "cp\(nodot)"
    }

    /// Every tag pip on this client accepts, best first (`packaging.tags.sys_tags` for it).
    public func supportedTags() -> [WheelTag] {
        ClientEnvironment.supportedTags(
            implementation: implementationName, pythonVersion: pythonVersionParts,
            abis: implementationName == "cpython" ? [cpythonABI] : [pypyABI],
            platforms: platformTags())
    }

    var pypyABI: String {
        let v = pythonVersionParts
        let iv = implementationVersion.split(separator: ".").prefix(2).joined()
        return "pypy\(v[0])\(v[1])_pp\(iv)"
    }

    /// `cpython_tags` (or `generic_tags`) followed by `compatible_tags`, for explicit inputs.
    public static func supportedTags(implementation: String, pythonVersion v: [Int], abis: [String], platforms: [String]) -> [WheelTag] {
        var out: [WheelTag] = []
        let nodot = "\(v[0])\(v[1])"
        if implementation == "cpython" {
            let interp = "cp\(nodot)"
            let explicit = abis.filter { $0 != "abi3" && $0 != "none" }
            for a in explicit { for p in platforms { out.append(WheelTag(interp, a, p)) } }
            let threaded =
                explicit.first.map { a in
                    a.hasPrefix("cp") && a.dropFirst(2).drop(while: { $0.isNumber }).contains("t")
                } ?? false
            let abi3 = (v[0] > 3 || (v[0] == 3 && v[1] >= 2)) && !threaded
            let abi3t = (v[0] > 3 || (v[0] == 3 && v[1] >= 2)) && threaded
            if abi3 { for p in platforms { out.append(WheelTag(interp, "abi3", p)) } }
            if abi3t { for p in platforms { out.append(WheelTag(interp, "abi3t", p)) } }
            for p in platforms { out.append(WheelTag(interp, "none", p)) }
            if abi3 || abi3t {
                for minor in stride(from: v[1] - 1, through: 2, by: -1) {
                    for p in platforms {
                        if abi3 { out.append(WheelTag("cp\(v[0])\(minor)", "abi3", p)) }
                        if abi3t { out.append(WheelTag("cp\(v[0])\(minor)", "abi3t", p)) }
                    }
                }
            }
        } else {
            let interp = (implementation == "pypy" ? "pp" : implementation) + nodot
            var a = abis
            if !a.contains("none") { a.append("none") }
            for x in a { for p in platforms { out.append(WheelTag(interp, x, p)) } }
        }
        // compatible_tags
        var pys = ["py\(nodot)", "py\(v[0])"]
        for minor in stride(from: v[1] - 1, through: 0, by: -1) { pys.append("py\(v[0])\(minor)") }
        for py in pys { for p in platforms { out.append(WheelTag(py, "none", p)) } }
        if implementation == "cpython" {
            out.append(WheelTag("cp\(nodot)", "none", "any"))
        } else if implementation == "pypy" {
            out.append(WheelTag("pp3", "none", "any"))
        }
        for py in pys { out.append(WheelTag(py, "none", "any")) }
        return out
    }
}
