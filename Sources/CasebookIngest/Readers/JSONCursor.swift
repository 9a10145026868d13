import CasebookCore

// MARK: - A small pull parser over one line's bytes (BigQuery NDJSON rows)

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
                throw BigQueryRowError(
                    kind: .badValue, field: path(), column: at,
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
                if b == UInt8(ascii: "\"") {
                    position += 1
                    return
                }
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
        if matches("true") {
            position += 4
            return true
        }
        if matches("false") {
            position += 5
            return false
        }
        if matches("null") {
            position += 4
            return nil
        }
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
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw syntaxError("a low surrogate \\uDC00-\\uDFFF after a high surrogate", found: describeCharacter())
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else {
                    throw syntaxError("a Unicode scalar value (not a lone surrogate)", found: describeCharacter())
                }
                out.append(contentsOf: String(Character(u)).utf8)
            default:
                position -= 2
                throw syntaxError(
                    "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
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
                    if peek == UInt8(ascii: ",") {
                        position += 1
                        continue
                    }
                    if peek == UInt8(ascii: "]") {
                        position += 1
                        break
                    }
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
