import CasebookCore

/// One PEP 425 tag triple, lowercased: `py3-none-any`, `cp27-cp27mu-linux_armv7l`.
public struct WheelTag: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let interpreter: String
    public let abi: String
    public let platform: String

    public init(_ interpreter: String, _ abi: String, _ platform: String) {
        self.interpreter = interpreter.lowercased()
        self.abi = abi.lowercased()
        self.platform = platform.lowercased()
    }

    public var description: String { "\(interpreter)-\(abi)-\(platform)" }
    public static func < (a: WheelTag, b: WheelTag) -> Bool { a.description < b.description }

    /// Expands a compressed tag set (`py2.py3-none-any` → `py2-none-any`, `py3-none-any`);
    /// nil unless the text has exactly three dash-separated parts.
    public static func parseSet(_ text: String) -> Set<WheelTag>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var out = Set<WheelTag>()
        for i in parts[0].split(separator: ".", omittingEmptySubsequences: false) {
            for a in parts[1].split(separator: ".", omittingEmptySubsequences: false) {
                for p in parts[2].split(separator: ".", omittingEmptySubsequences: false) {
                    out.insert(WheelTag(String(i), String(a), String(p)))
                }
            }
        }
        return out
    }

    /// Pure Python, any platform: `py*-none-any`.
    public var isPurePython: Bool { abi == "none" && platform == "any" && interpreter.hasPrefix("py") }
}

/// A PEP 427 wheel filename: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
public struct WheelFilename: Sendable, Hashable, CustomStringConvertible {
    /// The name as written in the file name (underscores for separators, by PEP 427).
    public let nameAsWritten: String
    /// The PEP 503 normalized project name.
    public let name: String
    public let version: Version
    /// The optional build tag: leading digits and the rest (`1abc` → 1, "abc").
    public let build: (number: Int, suffix: String)?
    /// The compressed tag set as written (`py2.py3-none-any`).
    public let tagText: String
    /// The expanded tags.
    public let tags: Set<WheelTag>
    public let filename: String

    /// Parses a wheel filename as `packaging.utils.parse_wheel_filename` does.
    public init(_ filename: String) throws(PackagingSyntaxError) {
        func err(_ what: String) -> PackagingSyntaxError {
            PackagingSyntaxError(kind: "wheel filename", input: filename, position: 0, expected: what)
        }
        guard filename.hasSuffix(".whl") else { throw err("a name ending in .whl") }
        let stem = String(filename.dropLast(4))
        let dashes = stem.filter { $0 == "-" }.count
        guard dashes == 4 || dashes == 5 else { throw err("4 or 5 dashes: name-version(-build)-python-abi-platform.whl (found \(dashes))") }
        let parts = stem.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        let namePart = parts[0]
        guard !namePart.contains("__"), namePart.allSatisfy({ $0 == "_" || $0 == "." || $0.isLetter || $0.isNumber }) else {
            throw err("a project name of letters, digits, '.' and '_' (no '__')")
        }
        nameAsWritten = namePart
        name = ProjectName.normalize(namePart)
        guard let v = Version.parse(parts[1]) else { throw err("a PEP 440 version after the name (found '\(parts[1])')") }
        version = v
        if dashes == 5 {
            let bt = parts[2]
            let digits = bt.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let n = Int(digits) else { throw err("a build tag starting with a digit (found '\(bt)')") }
            build = (n, String(bt.dropFirst(digits.count)))
        } else {
            build = nil
        }
        tagText = parts.suffix(3).joined(separator: "-")
        tags = WheelTag.parseSet(tagText) ?? []
        self.filename = filename
    }

    public var description: String { filename }

    public static func == (a: WheelFilename, b: WheelFilename) -> Bool { a.filename == b.filename }
    public func hash(into h: inout Hasher) { h.combine(filename) }
}
