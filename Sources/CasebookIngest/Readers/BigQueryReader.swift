import CasebookCore

/// Reads PyPI's BigQuery table `bigquery-public-data.pypi.file_downloads` exported as
/// newline-delimited JSON: one row per line, nested records as JSON objects.
///
/// Every field is nullable, and a missing field counts as null (BigQuery's JSON export leaves
/// null fields out). Only `timestamp` is required. Known fields are type-checked against the
/// table's schema, so a row with, say, a number where a string belongs is rejected with the
/// field's path and what was found, rather than half-read. Unknown fields are ignored, so rows
/// from a query that added columns still read.
///
/// Mapping to ``DownloadEvent``:
/// - `timestamp`: `"2020-03-05 14:03:11 UTC"`, any ISO 8601 form ``UTCTime/parse(_:)`` reads,
///   or epoch numbers (a JSON number or numeric string, as BigQuery's REST API writes them):
///   below 10¹¹ they are seconds, below 10¹⁴ milliseconds, otherwise microseconds.
/// - `project` (else `file.project`): PEP 503-normalized into `project`, kept as written in
///   `projectDisplay`.
/// - `file.filename/version/type`, `country_code`, and `details.installer`, `python`,
///   `implementation`, `distro{name,version,id,libc}`, `system`, `cpu`, `openssl_version`,
///   `setuptools_version`, `rustc_version`, `ci` map to the fields of the same meaning; wheel tags come from the filename. When `file.filename` is null the
///   last path component of `url` is used if it names a distribution file.
/// - `count` (not a `file_downloads` column): an optional non-negative integer, so rows of an
///   aggregating query (`SELECT ..., COUNT(*) AS count`) read as pre-aggregated events.
///   A zero count gives `.skip`.
/// - `index` is the reader's configured index name; `client` stays unknown (the table has none).
public struct BigQueryReader: LineReader, Sendable {
    public var formatName: String { "bigquery" }
    /// The index every row is attributed to (`pypi` unless configured otherwise).
    public let index: String

    public init(index: String = "pypi") {
        self.index = index
    }

    public mutating func read(line: UnsafeRawBufferPointer, number: Int) -> LineOutcome {
        do {
            guard let event = try parse(line: line, number: number) else { return .skip }
            return .download(event)
        } catch {
            // Rows carry no client address, so the line is kept as it is.
            return .malformed(reason: error.description, redactedLine: String(decoding: line, as: UTF8.self))
        }
    }

    /// Parses one row. Returns nil for a line that carries no row (blank, or `count` 0).
    public func parse(line: UnsafeRawBufferPointer, number: Int = 0) throws(BigQueryRowError) -> DownloadEvent? {
        var start = 0
        if number == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF { start = 3 }
        var c = JSONCursor(bytes: line, position: start)
        c.skipWhitespace()
        if c.atEnd { return nil }
        do {
            return try parseRow(&c)
        } catch let error as BigQueryRowError {
            throw error
        } catch {
            throw BigQueryRowError(kind: .syntax, field: nil, column: c.column, expected: "a JSON object", found: "\(error)")
        }
    }

    private func parseRow(_ c: inout JSONCursor) throws -> DownloadEvent? {
        guard c.peek == UInt8(ascii: "{") else {
            throw BigQueryRowError(
                kind: .syntax, field: nil, column: c.column,
                expected: "a JSON object (one BigQuery row per line)", found: c.describeToken())
        }
        var event = DownloadEvent(timestamp: 0)
        var timestamp: Int64?
        var topProject: String?
        var fileProject: String?
        var urlPosition: Int?
        var count: Int64 = 1

        try c.object(path: "") { c, key in
            switch key {
            case "timestamp":
                timestamp = try Self.readTimestamp(&c)
            case "country_code": event.country = try c.stringOrNull(path: "country_code")
            case "url":
                // Decoded only when `file.filename` turns out to be null.
                urlPosition = c.position
                try c.skipStringOrNull(path: "url")
            case "project": topProject = try c.stringOrNull(path: "project")
            case "tls_protocol", "tls_cipher": try c.skipStringOrNull(path: key.text)
            case "count": count = try Self.readCount(&c)
            case "file":
                try c.objectOrNull(path: "file") { c, key in
                    switch key {
                    case "filename": event.filename = try c.stringOrNull(path: "file.filename")
                    case "project": fileProject = try c.stringOrNull(path: "file.project")
                    case "version": event.version = try c.stringOrNull(path: "file.version")
                    case "type": event.fileType = try c.stringOrNull(path: "file.type")
                    default: try c.skipValue()
                    }
                }
            case "details":
                try Self.readDetails(&c, into: &event)
            default:
                try c.skipValue()
            }
        }
        c.skipWhitespace()
        guard c.atEnd else {
            throw BigQueryRowError(
                kind: .syntax, field: nil, column: c.column,
                expected: "the end of the line after the row's closing '}'", found: c.describeToken())
        }
        guard let timestamp else {
            throw BigQueryRowError(
                kind: .missingField, field: "timestamp", column: nil,
                expected: "a time such as \"2020-03-05 14:03:11 UTC\"", found: "no such field")
        }
        if count == 0 { return nil }
        event.timestamp = timestamp
        event.count = count
        if let name = topProject ?? fileProject {
            event.project = ProjectName.normalize(name)
            event.projectDisplay = name
        }
        if event.filename == nil, let urlPosition {
            var u = c
            u.position = urlPosition
            let url = try u.stringOrNull(path: "url") ?? ""
            var path = Substring(url)
            if let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<cut] }
            if let last = path.split(separator: "/").last, DistributionFilename.isDistribution(last) {
                event.filename = String(last)
            }
        }
        event.index = index
        event.fillFromFilename()
        return event
    }

    private static func readDetails(_ c: inout JSONCursor, into event: inout DownloadEvent) throws {
        try c.objectOrNull(path: "details") { c, key in
            switch key {
            case "installer":
                try c.objectOrNull(path: "details.installer") { c, key in
                    switch key {
                    case "name": event.installer = try c.stringOrNull(path: "details.installer.name")
                    case "version": event.installerVersion = try c.stringOrNull(path: "details.installer.version")
                    default: try c.skipValue()
                    }
                }
            case "python": event.python = try c.stringOrNull(path: "details.python")
            case "implementation":
                try c.objectOrNull(path: "details.implementation") { c, key in
                    switch key {
                    case "name": event.implementation = try c.stringOrNull(path: "details.implementation.name")
                    case "version": event.implementationVersion = try c.stringOrNull(path: "details.implementation.version")
                    default: try c.skipValue()
                    }
                }
            case "distro":
                try c.objectOrNull(path: "details.distro") { c, key in
                    switch key {
                    case "name": event.distro = try c.stringOrNull(path: "details.distro.name")
                    case "version": event.distroVersion = try c.stringOrNull(path: "details.distro.version")
                    case "id": event.distroID = try c.stringOrNull(path: "details.distro.id")
                    case "libc":
                        try c.objectOrNull(path: "details.distro.libc") { c, key in
                            switch key {
                            case "lib": event.libc = try c.stringOrNull(path: "details.distro.libc.lib")
                            case "version": event.libcVersion = try c.stringOrNull(path: "details.distro.libc.version")
                            default: try c.skipValue()
                            }
                        }
                    default: try c.skipValue()
                    }
                }
            case "system":
                try c.objectOrNull(path: "details.system") { c, key in
                    switch key {
                    case "name": event.system = try c.stringOrNull(path: "details.system.name")
                    case "release": event.systemRelease = try c.stringOrNull(path: "details.system.release")
                    default: try c.skipValue()
                    }
                }
            case "cpu": event.cpu = try c.stringOrNull(path: "details.cpu")
            case "openssl_version": event.opensslVersion = try c.stringOrNull(path: "details.openssl_version")
            case "setuptools_version": event.setuptoolsVersion = try c.stringOrNull(path: "details.setuptools_version")
            case "rustc_version": event.rustcVersion = try c.stringOrNull(path: "details.rustc_version")
            case "ci": event.ci = try readBool(&c, path: "details.ci")
            default: try c.skipValue()
            }
        }
    }

    /// `true`/`false`/null, or the strings `"true"`/`"false"` (BigQuery's REST API writes BOOLs as strings).
    private static func readBool(_ c: inout JSONCursor, path: String) throws -> Bool? {
        let column = c.column
        switch c.peek {
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return try c.literal()
        case UInt8(ascii: "\""):
            let s = try c.string()
            switch s.lowercased() {
            case "true": return true
            case "false": return false
            default:
                throw BigQueryRowError(
                    kind: .badValue, field: path, column: column,
                    expected: "true, false or null", found: "the string \(JSONCursor.quoted(s))")
            }
        default:
            throw BigQueryRowError(
                kind: .wrongType, field: path, column: column,
                expected: "true, false or null", found: c.describeToken())
        }
    }

    private static func readTimestamp(_ c: inout JSONCursor) throws -> Int64 {
        let column = c.column
        let expected = "a time such as \"2020-03-05 14:03:11 UTC\", an ISO 8601 time or epoch seconds/microseconds"
        switch c.peek {
        case UInt8(ascii: "\""):
            if let t = c.fastTimestamp() { return t }
            let s = try c.string()
            if let t = UTCTime.parse(s) { return t }
            if let t = epochFromNumber(text: s.trimmingWhitespace) { return t }
            throw BigQueryRowError(
                kind: .badValue, field: "timestamp", column: column,
                expected: expected, found: "the string \(JSONCursor.quoted(s))")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let text = try c.numberText()
            if let t = epochFromNumber(text: text) { return t }
            throw BigQueryRowError(
                kind: .badValue, field: "timestamp", column: column,
                expected: expected + " (between years 1 and 9999)", found: "the number \(text)")
        default:
            throw BigQueryRowError(
                kind: c.peek == UInt8(ascii: "n") ? .missingField : .wrongType,
                field: "timestamp", column: column, expected: expected, found: c.describeToken())
        }
    }

    /// Epoch seconds from a number of seconds, milliseconds or microseconds (see the type's documentation).
    static func epochFromNumber(text: String) -> Int64? {
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || (first >= 48 && first <= 57) else { return nil }
        if let n = Int64(text) {
            let magnitude = n.magnitude
            if magnitude < 100_000_000_000 { return n.inRange }
            if magnitude < 100_000_000_000_000 { return floorDiv(n, 1000).inRange }
            return floorDiv(n, 1_000_000).inRange
        }
        guard let d = Double(text), d.isFinite else { return nil }
        let m = d.magnitude
        let seconds = m < 1e11 ? d : (m < 1e14 ? d / 1e3 : d / 1e6)
        guard seconds.magnitude < 3e11 else { return nil }
        return Int64(seconds.rounded(.down)).inRange
    }

    private static func readCount(_ c: inout JSONCursor) throws -> Int64 {
        let column = c.column
        let expected = "a whole number of downloads, 0 or more"
        let text: String
        switch c.peek {
        case UInt8(ascii: "\""): text = try c.string()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): text = try c.numberText()
        case UInt8(ascii: "n"):
            _ = try c.literal()
            return 1
        default:
            throw BigQueryRowError(kind: .wrongType, field: "count", column: column, expected: expected, found: c.describeToken())
        }
        guard let n = Int64(text), n >= 0 else {
            throw BigQueryRowError(kind: .badValue, field: "count", column: column, expected: expected, found: JSONCursor.quoted(text))
        }
        return n
    }
}

extension Int64 {
    /// Self when it is a time between the years 1 and 9999, else nil.
    fileprivate var inRange: Int64? { (-62_135_596_800..<253_402_300_800).contains(self) ? self : nil }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Why a BigQuery row could not be read: where (the field's path and the 1-based byte column),
/// what was expected and what was found.
public struct BigQueryRowError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The line is not valid JSON (or not a single JSON object).
        case syntax
        /// A required field is missing or null.
        case missingField
        /// A field holds a JSON value of the wrong type.
        case wrongType
        /// A field has the right type but an unusable value.
        case badValue
    }

    public var kind: Kind
    /// The field's path, as in BigQuery (`details.installer.name`).
    public var field: String?
    /// 1-based byte column in the line.
    public var column: Int?
    public var expected: String
    public var found: String

    public init(kind: Kind, field: String?, column: Int?, expected: String, found: String) {
        self.kind = kind
        self.field = field
        self.column = column
        self.expected = expected
        self.found = found
    }

    public var description: String {
        let at = column.map { " at column \($0)" } ?? ""
        switch kind {
        case .syntax:
            return "invalid JSON\(at): expected \(expected), found \(found)"
        case .missingField:
            return "missing field `\(field ?? "?")`\(at): expected \(expected), found \(found)"
        case .wrongType, .badValue:
            return "field `\(field ?? "?")`\(at): expected \(expected), found \(found)"
        }
    }
}

/// The few timestamp shapes that make up nearly all real input, parsed from bytes without
/// Foundation; anything else is left to ``UTCTime/parse(_:)`` (same results where both apply).
enum FastUTC {
    /// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS UTC`, `YYYY-MM-DDTHH:MM:SSZ` or
    /// `YYYY-MM-DD HH:MM:SS` at the start of `b` (inside double quotes when `quoted`), which must
    /// then end (or close its quote). Returns the epoch and the bytes consumed.
    static func parse(_ b: UnsafeRawBufferPointer, quoted: Bool) -> (Int64, Int)? {
        var i = 0
        if quoted {
            guard b.count > 0, b[0] == UInt8(ascii: "\"") else { return nil }
            i = 1
        }
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for k in at..<(at + n) {
                let d = b[k] &- 48
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard let y = digits(i, 4), i + 10 <= b.count, b[i + 4] == 45, let mo = digits(i + 5, 2), b[i + 7] == 45,
            let d = digits(i + 8, 2), (1...12).contains(mo), d >= 1, d <= UTCTime.daysInMonth(year: y, month: mo)
        else { return nil }
        i += 10
        var secondOfDay = 0
        if i < b.count, b[i] == 0x20 || b[i] == UInt8(ascii: "T") {
            let tee = b[i] == UInt8(ascii: "T")
            guard let h = digits(i + 1, 2), b.count > i + 3, b[i + 3] == 58, let m = digits(i + 4, 2),
                b.count > i + 6, b[i + 6] == 58, let s = digits(i + 7, 2), h < 24, m < 60, s < 61
            else { return nil }
            secondOfDay = h * 3600 + m * 60 + s
            i += 9
            if tee {
                guard i < b.count, b[i] == UInt8(ascii: "Z") else { return nil }
                i += 1
            } else if i + 4 <= b.count, b[i] == 0x20, b[i + 1] == UInt8(ascii: "U"), b[i + 2] == UInt8(ascii: "T"),
                b[i + 3] == UInt8(ascii: "C")
            {
                i += 4
            }
        }
        if quoted {
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
        } else {
            guard i == b.count else { return nil }
        }
        return (UTCTime.daysFromCivil(year: y, month: mo, day: d) * 86400 + Int64(secondOfDay), i)
    }
}
