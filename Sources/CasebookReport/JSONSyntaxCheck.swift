import Foundation

/// Finds where a JSON text stops being valid JSON, for error messages that give the line and
/// column and what was expected there (JSONDecoder only says the data is corrupted).
public enum JSONSyntaxCheck {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// 1-based line and column (in characters of the line's UTF-8 text).
        public var line: Int
        public var column: Int
        public var message: String
        public var description: String { "line \(line), column \(column): \(message)" }
    }

    /// The first syntax problem of `data`, or `nil` when it is valid JSON.
    public static func firstProblem(in data: Data) -> Problem? {
        var p = Parser(bytes: [UInt8](data))
        do {
            p.skipSpace()
            try p.value(depth: 0)
            p.skipSpace()
            if p.i < p.bytes.count { throw p.fail("expected the end of the document after the top-level value, found \(p.found())") }
            return nil
        } catch let e as ParseFailure {
            return p.problem(at: e.offset, e.message)
        } catch {
            return nil
        }
    }

    struct ParseFailure: Error {
        var offset: Int
        var message: String
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        func fail(_ message: String) -> ParseFailure { ParseFailure(offset: i, message: message) }

        func found() -> String {
            guard i < bytes.count else { return "the end of the file (is it truncated?)" }
            let c = bytes[i]
            if c >= 32 && c < 127 { return "`\(Character(Unicode.Scalar(c)))`" }
            return String(format: "byte 0x%02X", c)
        }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
        }

        mutating func value(depth: Int) throws {
            guard depth < 512 else { throw fail("nesting deeper than 512 levels") }
            guard i < bytes.count else { throw fail("expected a value, found \(found())") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    return
                }
                while true {
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted key, found \(found())") }
                    try string()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected `:` after the key, found \(found())") }
                    i += 1
                    skipSpace()
                    try value(depth: depth + 1)
                    skipSpace()
                    guard i < bytes.count else { throw fail("expected `,` or `}` closing the object, found \(found())") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        skipSpace()
                        continue
                    }
                    if bytes[i] == UInt8(ascii: "}") {
                        i += 1
                        return
                    }
                    throw fail("expected `,` or `}` closing the object, found \(found())")
                }
            case UInt8(ascii: "["):
                i += 1
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    return
                }
                while true {
                    try value(depth: depth + 1)
                    skipSpace()
                    guard i < bytes.count else { throw fail("expected `,` or `]` closing the array, found \(found())") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        skipSpace()
                        continue
                    }
                    if bytes[i] == UInt8(ascii: "]") {
                        i += 1
                        return
                    }
                    throw fail("expected `,` or `]` closing the array, found \(found())")
                }
            case UInt8(ascii: "\""):
                try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try number()
            default:
                throw fail("expected a value (object, array, string, number, true, false or null), found \(found())")
            }
        }

        mutating func literal(_ word: String) throws {
            for c in word.utf8 {
                guard i < bytes.count, bytes[i] == c else { throw fail("expected `\(word)`, found \(found())") }
                i += 1
            }
        }

        mutating func number() throws {
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            func digits(_ p: inout Parser) -> Int {
                let s = p.i
                while p.i < p.bytes.count, p.bytes[p.i] >= 48, p.bytes[p.i] <= 57 { p.i += 1 }
                return p.i - s
            }
            guard digits(&self) > 0 else { throw fail("expected a digit, found \(found())") }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits(&self) > 0 else { throw fail("expected a digit after the decimal point, found \(found())") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits(&self) > 0 else { throw fail("expected the exponent's digits, found \(found())") }
            }
        }

        mutating func string() throws {
            let start = i
            i += 1
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    return
                }
                if c == UInt8(ascii: "\\") {
                    i += 2
                    continue
                }
                if c < 32 { throw fail("a control character inside a string (escape it as \\u00XX)") }
                i += 1
            }
            i = bytes.count
            _ = start
            throw fail("expected `\"` closing the string, found \(found())")
        }

        func problem(at offset: Int, _ message: String) -> Problem {
            var line = 1
            var lineStart = 0
            let end = min(offset, bytes.count)
            for k in 0..<end where bytes[k] == 10 {
                line += 1
                lineStart = k + 1
            }
            let column = String(decoding: bytes[lineStart..<end], as: UTF8.self).count + 1
            return Problem(line: line, column: column, message: message)
        }
    }
}
