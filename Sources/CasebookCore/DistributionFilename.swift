/// What a distribution file's name tells: project, version, type and (for wheels) PEP 427 tags.
///
/// Understands wheels (`name-ver(-build)?-py-abi-plat.whl`), sdists (`.tar.gz`, `.zip`,
/// `.tar.bz2`, `.tar.xz`, `.tgz`, `.tar`), eggs (`.egg`) and Windows installers (`.exe`, `.msi`).
public struct DistributionFilename: Sendable, Hashable {
    public var project: String
    public var projectDisplay: String
    public var version: String?
    /// `bdist_wheel`, `sdist`, `bdist_egg`, `bdist_wininst` or `bdist_msi`.
    public var fileType: String
    public var buildTag: String?
    public var pythonTag: String?
    public var abiTag: String?
    public var platformTag: String?

    /// File name suffixes that make a request a distribution download.
    public static let distributionSuffixes = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".egg", ".exe", ".msi"]

    /// Whether a path's last component looks like a distribution file.
    public static func isDistribution(_ path: some StringProtocol) -> Bool {
        let lower = path.lowercased()
        return distributionSuffixes.contains { lower.hasSuffix($0) }
    }

    public init?(_ filename: String) {
        let lower = filename.lowercased()
        if lower.hasSuffix(".whl") {
            let stem = filename.dropLast(4)
            let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 5 || parts.count == 6, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
            projectDisplay = String(parts[0])
            project = ProjectName.normalize(parts[0])
            version = String(parts[1])
            fileType = "bdist_wheel"
            buildTag = parts.count == 6 ? String(parts[2]) : nil
            pythonTag = String(parts[parts.count - 3])
            abiTag = String(parts[parts.count - 2])
            platformTag = String(parts[parts.count - 1])
            return
        }
        let kinds: [(String, String)] = [
            (".tar.gz", "sdist"), (".tar.bz2", "sdist"), (".tar.xz", "sdist"), (".tgz", "sdist"),
            (".tar", "sdist"), (".zip", "sdist"), (".egg", "bdist_egg"), (".exe", "bdist_wininst"),
            (".msi", "bdist_msi")
        ]
        guard let (suffix, type) = kinds.first(where: { lower.hasSuffix($0.0) }) else { return nil }
        var stem = String(filename.dropLast(suffix.count))
        if type == "bdist_egg" {
            // name-version(-pyX.Y(-platform)?)?.egg
            let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count >= 2 else { return nil }
            projectDisplay = String(parts[0])
            project = ProjectName.normalize(parts[0])
            version = String(parts[1])
            fileType = type
            if parts.count >= 3 { pythonTag = String(parts[2]) }
            return
        }
        if type == "bdist_wininst" || type == "bdist_msi" {
            // name-version.platform(-pyX.Y)?.exe
            if let dash = stem.range(of: "-py", options: .backwards) { stem = String(stem[..<dash.lowerBound]) }
            for plat in [".win32", ".win-amd64", ".linux-x86_64", ".macosx"] {
                if let r = stem.range(of: plat) { stem = String(stem[..<r.lowerBound]) }
            }
        }
        // sdist: name-version, where the name may itself contain dashes; the version starts at
        // the last dash followed by a digit.
        let scalars = Array(stem.unicodeScalars)
        var split: Int?
        var i = scalars.count - 1
        while i > 0 {
            if scalars[i - 1] == "-",
                scalars[i].properties.numericType != nil
                    || (scalars[i] == "v" && i + 1 < scalars.count && scalars[i + 1].properties.numericType != nil)
            {
                split = i - 1
                break
            }
            i -= 1
        }
        fileType = type
        if let split {
            let name = String(String.UnicodeScalarView(scalars[..<split]))
            projectDisplay = name
            project = ProjectName.normalize(name)
            version = String(String.UnicodeScalarView(scalars[(split + 1)...]))
        } else {
            guard !stem.isEmpty else { return nil }
            projectDisplay = stem
            project = ProjectName.normalize(stem)
            version = nil
        }
    }
}
