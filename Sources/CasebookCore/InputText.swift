/// Quoting input in messages: logs may hold any bytes, and a message that quotes them must not
/// write raw control bytes or invalid UTF-8 to a terminal.
public enum InputText {
    /// The bytes as printable text: valid UTF-8 is kept, except control characters (C0, DEL,
    /// C1), which are written `\x00`, `\t`-style as `\x09`; every byte of an invalid UTF-8
    /// sequence is written `\xFF`. A backslash is kept as it is.
    public static func escaped<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let b = Array(bytes)
        var out = ""
        out.reserveCapacity(b.count)
        var i = 0
        func hex(_ v: UInt8) -> String {
            let digits = Array("0123456789ABCDEF")
            return "\\x" + String(digits[Int(v >> 4)]) + String(digits[Int(v & 15)])
        }
        while i < b.count {
            let c = b[i]
            if c < 0x80 {
                out += (c < 0x20 || c == 0x7F) ? hex(c) : String(UnicodeScalar(c))
                i += 1
                continue
            }
            // The length of a well-formed sequence starting here, if any.
            let len: Int
            switch c {
            case 0xC2...0xDF: len = 2
            case 0xE0...0xEF: len = 3
            case 0xF0...0xF4: len = 4
            default: len = 0
            }
            if len > 0, i + len <= b.count, let s = String(validating: b[i..<(i + len)], as: UTF8.self),
                let scalar = s.unicodeScalars.first
            {
                if (0x80...0x9F).contains(scalar.value) {
                    out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                } else {
                    out += s
                }
                i += len
            } else {
                out += hex(c)
                i += 1
            }
        }
        return out
    }

    /// A string as printable text (see ``escaped(_:)-(C)``): its control characters escaped.
    public static func escaped(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else { return s }
        return escaped(Array(s.utf8))
    }

    /// The first control byte (C0 other than tab, or DEL) in `bytes`, with its offset: such bytes
    /// cannot appear in a real request line, a user agent or a CSV cell.
    /// With `allowingLineBreaks`, LF and CR are allowed too (values decoded from JSON escapes).
    public static func firstControlByte<C: Collection>(_ bytes: C, allowingLineBreaks: Bool = false) -> (offset: Int, byte: UInt8)?
    where C.Element == UInt8 {
        for (o, c) in bytes.enumerated() where (c < 0x20 && c != 0x09 && !(allowingLineBreaks && (c == 0x0A || c == 0x0D))) || c == 0x7F {
            return (o, c)
        }
        return nil
    }

    /// `\x00` for a byte.
    public static func byteName(_ c: UInt8) -> String { escaped([c]) }
}
