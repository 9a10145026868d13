import Foundation

/// A JSON value whose objects keep their key order, written compactly or pretty, always the
/// same bytes for the same value (catalog documents and the summary must be deterministic).
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }
    public func hash(into h: inout Hasher) { h.combine(serialized()) }

    public static func str(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    public static func num(_ n: Int) -> JSONValue { .int(Int64(n)) }

    /// The text; `indent` > 0 pretty-prints with that many spaces per level.
    public func serialized(indent: Int = 0) -> String {
        var out = ""
        write(&out, indent: indent, level: 0)
        return out
    }

    func write(_ out: inout String, indent: Int, level: Int) {
        let nl = indent > 0 ? "\n" : ""
        func pad(_ l: Int) -> String { indent > 0 ? String(repeating: " ", count: indent * l) : "" }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 {
                out += String(Int64(d))
            } else if d.isFinite {
                out += String(format: "%.6g", d)
            } else {
                out += "null"
            }
        case .string(let s): out += JSONText.quote(s)
        case .array(let a):
            if a.isEmpty {
                out += "[]"
                return
            }
            out += "[" + nl
            for (i, v) in a.enumerated() {
                out += pad(level + 1)
                v.write(&out, indent: indent, level: level + 1)
                out += (i < a.count - 1 ? "," : "") + nl
            }
            out += pad(level) + "]"
        case .object(let o):
            if o.isEmpty {
                out += "{}"
                return
            }
            out += "{" + nl
            for (i, (k, v)) in o.enumerated() {
                out += pad(level + 1) + JSONText.quote(k) + (indent > 0 ? ": " : ":")
                v.write(&out, indent: indent, level: level + 1)
                out += (i < o.count - 1 ? "," : "") + nl
            }
            out += pad(level) + "}"
        }
    }
}

/// JSON string quoting.
enum JSONText {
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
