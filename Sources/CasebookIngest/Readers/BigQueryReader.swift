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
            throw BigQueryRowError(kind: .syntax, field: nil, column: c.column,
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
            throw BigQueryRowError(kind: .syntax, field: nil, column: c.column,
                                   expected: "the end of the line after the row's closing '}'", found: c.describeToken())
        }
        guard let timestamp else {
            throw BigQueryRowError(kind: .missingField, field: "timestamp", column: nil,
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
                throw BigQueryRowError(kind: .badValue, field: path, column: column,
                                       expected: "true, false or null", found: "the string \(JSONCursor.quoted(s))")
            }
        default:
            throw BigQueryRowError(kind: .wrongType, field: path, column: column,
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
            throw BigQueryRowError(kind: .badValue, field: "timestamp", column: column,
                                   expected: expected, found: "the string \(JSONCursor.quoted(s))")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let text = try c.numberText()
            if let t = epochFromNumber(text: text) { return t }
            throw BigQueryRowError(kind: .badValue, field: "timestamp", column: column,
                                   expected: expected + " (between years 1 and 9999)", found: "the number \(text)")
        default:
            throw BigQueryRowError(kind: c.peek == UInt8(ascii: "n") ? .missingField : .wrongType,
                                   field: "timestamp", column: column, expected: expected, found: c.describeToken())
        }
    }

    /// Epoch seconds from a number of seconds, milliseconds or microseconds (see the type's documentation).
    static func epochFromNumber(text: String) -> Int64? {
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || (first >= 48 && first <= 57) else { return nil }
        if let n = Int64(text) {
            let magnitude = n.magnitude
            if magnitude < 100_000_000_000 { return n.inRange }
            if magnitude < 100_000_000_000_000 { return floorDivide(n, 1000).inRange }
            return floorDivide(n, 1_000_000).inRange
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

private func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

private extension Int64 {
    /// Self when it is a time between the years 1 and 9999, else nil.
    var inRange: Int64? { (-62_135_596_800 ..< 253_402_300_800).contains(self) ? self : nil }
}

private extension String {
    var trimmingWhitespace: String {
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

// MARK: - A small pull parser over one line's bytes

/// Reads JSON straight from the line's bytes, field by field, without building dictionaries:
/// BigQuery rows are read millions at a time, and most of each row is a handful of short strings.
struct JSONCursor {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    /// Nesting depth, bounded so a hostile line cannot exhaust the stack.
    var depth = 0
    static let maxDepth = 64

    init(bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var atEnd: Bool { position >= bytes.count }
    var peek: UInt8 { position < bytes.count ? bytes[position] : 0 }
    var column: Int { position + 1 }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// A syntax error at the cursor. Errors raised while reading a token pass `found` (the
    /// character at the cursor by default there), since ``describeToken()`` itself reads tokens.
    func syntaxError(_ expected: String, found: String? = nil) -> BigQueryRowError {
        BigQueryRowError(kind: .syntax, field: nil, column: column, expected: expected, found: found ?? describeToken())
    }

    /// The byte at the cursor, for messages.
    func describeCharacter() -> String {
        guard position < bytes.count else { return "the end of the line" }
        let b = bytes[position]
        if b >= 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    /// A short description of the value or character at the cursor, for error messages.
    func describeToken() -> String {
        guard position < bytes.count else { return "the end of the line" }
        var probe = self
        switch bytes[position] {
        case UInt8(ascii: "\""):
            if let s = try? probe.string() { return "a string (\(JSONCursor.quoted(s)))" }
            return "an unterminated or invalid string"
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            do {
                let v = try probe.literal()
                return v.map { $0 ? "true" : "false" } ?? "null"
            } catch {}
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if let n = try? probe.numberText() { return "a number (\(n))" }
        default: break
        }
        return describeCharacter()
    }

    /// A string quoted for a message, cut to 60 characters.
    static func quoted(_ s: String) -> String {
        let cut = s.count > 60 ? String(s.prefix(60)) + "…" : s
        return "\"" + InputText.escaped(cut) + "\""
    }

    /// Reads an object, calling `body` for each key with the cursor on the value; `body` must
    /// consume the value.
    mutating func object(path: @autoclosure () -> String, _ body: (inout JSONCursor, JSONKey) throws -> Void) throws {
        guard peek == UInt8(ascii: "{") else {
            throw BigQueryRowError(kind: .wrongType, field: path(), column: column, expected: "an object or null", found: describeToken())
        }
        depth += 1
        guard depth <= JSONCursor.maxDepth else { throw syntaxError("at most \(JSONCursor.maxDepth) levels of nesting") }
        position += 1
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw syntaxError("a field name in double quotes") }
            let key = try self.key()
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw syntaxError("':' after the field name \"\(key)\"") }
            position += 1
            skipWhitespace()
            guard !atEnd else { throw syntaxError("a value for the field \"\(key)\"") }
            try body(&self, key)
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return
            default: throw syntaxError("',' or '}' after the value of \"\(key)\"")
            }
        }
    }

    /// Like ``object(path:_:)`` but accepts null (calling `body` never).
    mutating func objectOrNull(path: @autoclosure () -> String, _ body: (inout JSONCursor, JSONKey) throws -> Void) throws {
        if peek == UInt8(ascii: "n") {
            let column = self.column
            if try literal() == nil { return }
            throw BigQueryRowError(kind: .wrongType, field: path(), column: column, expected: "an object or null", found: "a boolean")
        }
        try object(path: path(), body)
    }

    /// A string or null; any other value is a type error naming `path`.
    mutating func stringOrNull(path: @autoclosure () -> String) throws -> String? {
        switch peek {
        case UInt8(ascii: "\""):
            let at = column
            let s = try string()
            // An escaped control character (`\u0000`) is valid JSON but no real value holds one
            // (and a NUL would cut the value short where it is stored); an escaped line break
            // (`\n`) may come from a user agent's JSON and is kept.
            if let c = InputText.firstControlByte(s.utf8, allowingLineBreaks: true) {
                throw BigQueryRowError(kind: .badValue, field: path(), column: at,
                                       expected: "a value without control characters",
                                       found: "\(InputText.byteName(Array(s.utf8)[c.offset])) in \(JSONCursor.quoted(s))")
            }
            return s
        case UInt8(ascii: "n"):
            let start = position
            if try literal() == nil { return nil }
            position = start
        default: break
        }
        throw BigQueryRowError(kind: .wrongType, field: path(), column: column, expected: "a string or null", found: describeToken())
    }

    /// A field name: a view of the line's bytes, decoded only when it holds escapes.
    mutating func key() throws -> JSONKey {
        let start = position + 1
        var i = start
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                position = i + 1
                return JSONKey(bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            i += 1
        }
        let decoded = try string()
        return JSONKey(decoded: decoded)
    }

    /// Validates a string or null without decoding it (for fields Casebook does not keep).
    mutating func skipStringOrNull(path: @autoclosure () -> String) throws {
        switch peek {
        case UInt8(ascii: "\""):
            let open = position
            position += 1
            while position < bytes.count {
                let b = bytes[position]
                if b == UInt8(ascii: "\"") { position += 1; return }
                if b < 0x20 { throw syntaxError("no control characters inside a string (escape them)", found: describeCharacter()) }
                if b == UInt8(ascii: "\\") {
                    // Let the decoder judge (and describe) the escape.
                    position = open
                    _ = try string()
                    return
                }
                position += 1
            }
            position = open
            throw syntaxError("a closing '\"' for the string starting here", found: "the end of the line")
        case UInt8(ascii: "n"):
            let start = position
            if try literal() == nil { return }
            position = start
        default: break
        }
        throw BigQueryRowError(kind: .wrongType, field: path(), column: column, expected: "a string or null", found: describeToken())
    }

    /// `"YYYY-MM-DD HH:MM:SS UTC"`, `"YYYY-MM-DDTHH:MM:SSZ"` and `"YYYY-MM-DD"` read straight
    /// from the bytes (the forms nearly every row has); nil, with the cursor unmoved, otherwise.
    mutating func fastTimestamp() -> Int64? {
        let rest = UnsafeRawBufferPointer(rebasing: bytes[position...])
        guard let (epoch, length) = FastUTC.parse(rest, quoted: true) else { return nil }
        position += length
        return epoch
    }

    /// `true`, `false` or `null` (nil).
    mutating func literal() throws -> Bool? {
        func matches(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard position + n <= bytes.count else { return false }
            let w = word.utf8Start
            for i in 0..<n where bytes[position + i] != w[i] { return false }
            return true
        }
        if matches("true") { position += 4; return true }
        if matches("false") { position += 5; return false }
        if matches("null") { position += 4; return nil }
        throw syntaxError("a JSON value", found: describeCharacter())
    }

    /// The text of a number (validated against JSON's grammar).
    mutating func numberText() throws -> String {
        let start = position
        func digits() -> Int {
            let s = position
            while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 { position += 1 }
            return position - s
        }
        if peek == UInt8(ascii: "-") { position += 1 }
        guard digits() > 0 else { throw syntaxError("a number", found: describeCharacter()) }
        if peek == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw syntaxError("digits after the decimal point", found: describeCharacter()) }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw syntaxError("digits in the exponent", found: describeCharacter()) }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    /// A string at the cursor, escapes decoded.
    mutating func string() throws -> String {
        guard peek == UInt8(ascii: "\"") else { throw syntaxError("a string", found: describeCharacter()) }
        position += 1
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                let s = JSONCursor.decode(bytes, start..<position)
                position += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw syntaxError("no control characters inside a string (escape them)", found: describeCharacter()) }
            position += 1
        }
        guard position < bytes.count else {
            position = start - 1
            throw syntaxError("a closing '\"' for the string starting here", found: "the end of the line")
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw syntaxError("no control characters inside a string (escape them)", found: describeCharacter()) }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                position += 1
                continue
            }
            position += 1
            guard position < bytes.count else { break }
            let e = bytes[position]
            position += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by \uDC00-\uDFFF.
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw syntaxError("a low surrogate \\uDC00-\\uDFFF after a high surrogate", found: describeCharacter())
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw syntaxError("a low surrogate \\uDC00-\\uDFFF after a high surrogate", found: describeCharacter()) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw syntaxError("a Unicode scalar value (not a lone surrogate)", found: describeCharacter()) }
                out.append(contentsOf: String(Character(u)).utf8)
            default:
                position -= 2
                throw syntaxError("a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
                                  found: "the escape \\\(Character(Unicode.Scalar(e)))")
            }
        }
        position = start - 1
        throw syntaxError("a closing '\"' for the string starting here", found: "the end of the line")
    }

    private mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw syntaxError("four hexadecimal digits after \\u", found: describeCharacter()) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[position]
            let d: UInt8
            switch b {
            case 48...57: d = b - 48
            case 65...70: d = b - 55
            case 97...102: d = b - 87
            default: throw syntaxError("four hexadecimal digits after \\u", found: describeCharacter())
            }
            v = v << 4 | UInt32(d)
            position += 1
        }
        return v
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        guard let base = bytes.baseAddress, !range.isEmpty else { return "" }
        let typed = UnsafeBufferPointer(start: (base + range.lowerBound).assumingMemoryBound(to: UInt8.self), count: range.count)
        return String(decoding: typed, as: UTF8.self)
    }

    /// Skips any value (validating it).
    mutating func skipValue() throws {
        switch peek {
        case UInt8(ascii: "\""): try skipStringOrNull(path: "")
        case UInt8(ascii: "{"): try object(path: "") { c, _ in try c.skipValue() }
        case UInt8(ascii: "["):
            depth += 1
            guard depth <= JSONCursor.maxDepth else { throw syntaxError("at most \(JSONCursor.maxDepth) levels of nesting") }
            position += 1
            skipWhitespace()
            if peek == UInt8(ascii: "]") {
                position += 1
            } else {
                while true {
                    skipWhitespace()
                    try skipValue()
                    skipWhitespace()
                    if peek == UInt8(ascii: ",") { position += 1; continue }
                    if peek == UInt8(ascii: "]") { position += 1; break }
                    throw syntaxError("',' or ']' in an array")
                }
            }
            depth -= 1
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try numberText()
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): _ = try literal()
        default: throw syntaxError("a JSON value")
        }
    }
}

/// A field name as read from the line: compared with string literals in `switch` without
/// allocating a `String`.
struct JSONKey: CustomStringConvertible {
    private let bytes: UnsafeRawBufferPointer
    private let decoded: String?

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.decoded = nil
    }

    init(decoded: String) {
        self.bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        self.decoded = decoded
    }

    var text: String { decoded ?? JSONCursor.decode(bytes, 0..<bytes.count) }
    var description: String { text }

    static func ~= (pattern: StaticString, key: JSONKey) -> Bool {
        if let decoded = key.decoded { return decoded == pattern.description }
        let n = pattern.utf8CodeUnitCount
        guard n == key.bytes.count else { return false }
        let p = pattern.utf8Start
        for i in 0..<n where key.bytes[i] != p[i] { return false }
        return true
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
              let d = digits(i + 8, 2), (1...12).contains(mo), d >= 1, d <= UTCTime.daysInMonth(year: y, month: mo) else { return nil }
        i += 10
        var secondOfDay = 0
        if i < b.count, b[i] == 0x20 || b[i] == UInt8(ascii: "T") {
            let tee = b[i] == UInt8(ascii: "T")
            guard let h = digits(i + 1, 2), b.count > i + 3, b[i + 3] == 58, let m = digits(i + 4, 2),
                  b.count > i + 6, b[i + 6] == 58, let s = digits(i + 7, 2), h < 24, m < 60, s < 61 else { return nil }
            secondOfDay = h * 3600 + m * 60 + s
            i += 9
            if tee {
                guard i < b.count, b[i] == UInt8(ascii: "Z") else { return nil }
                i += 1
            } else if i + 4 <= b.count, b[i] == 0x20, b[i + 1] == UInt8(ascii: "U"), b[i + 2] == UInt8(ascii: "T"), b[i + 3] == UInt8(ascii: "C") {
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
