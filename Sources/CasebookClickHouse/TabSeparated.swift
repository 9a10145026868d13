/// ClickHouse's `TabSeparated` format, both ways: rows for `INSERT ... FORMAT TabSeparated`, and
/// the rows of a `SELECT ... FORMAT TabSeparated` answer.
///
/// Fields are separated by a tab, rows end with a newline; a backslash, tab, newline (and, on
/// output, the other C escapes the server writes) are escaped with a backslash, and `\N` is NULL.
struct TabSeparatedWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var rows = 0
    private var atRowStart = true

    init(reserve: Int = 0) { bytes.reserveCapacity(reserve) }

    var isEmpty: Bool { rows == 0 }

    private mutating func separator() {
        if !atRowStart { bytes.append(9) }
        atRowStart = false
    }

    /// A text field (`nil` is NULL).
    mutating func text(_ s: String?) {
        separator()
        guard var s else {
            bytes.append(contentsOf: [92, 78])  // \N
            return
        }
        s.withUTF8 { u in
            for c in u {
                switch c {
                case 92: bytes.append(contentsOf: [92, 92])
                case 9: bytes.append(contentsOf: [92, 116])
                case 10: bytes.append(contentsOf: [92, 110])
                case 13: bytes.append(contentsOf: [92, 114])
                case 0: bytes.append(contentsOf: [92, 48])
                default: bytes.append(c)
                }
            }
        }
    }

    /// An integer field (`nil` is NULL).
    mutating func int<T: BinaryInteger>(_ v: T?) {
        separator()
        guard let v else {
            bytes.append(contentsOf: [92, 78])
            return
        }
        bytes.append(contentsOf: Array(String(v).utf8))
    }

    /// A floating-point field.
    mutating func double(_ v: Double) {
        separator()
        bytes.append(contentsOf: Array((v.isFinite ? String(v) : "0").utf8))
    }

    /// An `Array(String)` field (`['a','b']`).
    mutating func textArray(_ values: [String]) {
        separator()
        var s = "["
        s += values.map(ClickHouseSQL.literal).joined(separator: ",")
        s += "]"
        // The server reads an array field with the array's own quoting, not the field escapes
        // (a doubled backslash would end the element early): the quoted literals are written
        // as they are, and they hold no raw tab or newline (``ClickHouseSQL/literal(_:)``).
        bytes.append(contentsOf: Array(s.utf8))
    }

    /// An `Array(Int64)` field.
    mutating func intArray(_ values: [Int64]) {
        separator()
        bytes.append(contentsOf: Array(("[" + values.map { String($0) }.joined(separator: ",") + "]").utf8))
    }

    mutating func endRow() {
        bytes.append(10)
        rows += 1
        atRowStart = true
    }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        rows = 0
        atRowStart = true
    }
}

/// Reads a `TabSeparated` answer into rows of fields (`nil` for `\N`).
enum TabSeparatedReader {
    static func rows(_ data: [UInt8]) -> [[String?]] {
        var out: [[String?]] = []
        var row: [String?] = []
        var field: [UInt8] = []
        var isNull = false
        var i = 0
        func endField() {
            row.append(isNull ? nil : String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            isNull = false
        }
        while i < data.count {
            let c = data[i]
            switch c {
            case 9:
                endField()
            case 10:
                endField()
                out.append(row)
                row = []
            case 92 where i + 1 < data.count:
                i += 1
                let e = data[i]
                switch e {
                case 78 where field.isEmpty: isNull = true  // \N
                case 116: field.append(9)
                case 110: field.append(10)
                case 114: field.append(13)
                case 48: field.append(0)
                case 98: field.append(8)
                case 102: field.append(12)
                case 97: field.append(7)
                case 118: field.append(11)
                default: field.append(e)  // \\ \' and any other escaped byte
                }
            default:
                field.append(c)
            }
            i += 1
        }
        if !field.isEmpty || !row.isEmpty {
            endField()
            out.append(row)
        }
        return out
    }
}

/// SQL text for ClickHouse: literals and identifiers.
enum ClickHouseSQL {
    /// A string literal (`'it\'s'`): backslashes and quotes escaped, control bytes as escapes.
    static func literal(_ s: String) -> String {
        var out = "'"
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "'"
    }

    /// A quoted identifier (`` `casebook_test` ``).
    static func ident(_ s: String) -> String {
        "`" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "`", with: "\\`") + "`"
    }
}
