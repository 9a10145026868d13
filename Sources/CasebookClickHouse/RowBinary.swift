/// ClickHouse's `RowBinary` input format, for the events: each field in its binary form, no
/// separators and no escaping (cheaper to write than `TabSeparated`, and for the server to read).
///
/// `Int64`/`UInt64` are 8 bytes little-endian; a `String` is its length as an unsigned LEB128
/// varint, then its bytes; a `Nullable` field is one byte (1: NULL, 0: a value follows). Read by
/// ClickHouse 18.16 and later alike.
struct RowBinaryWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var rows = 0

    init(reserve: Int = 0) { bytes.reserveCapacity(reserve) }

    var isEmpty: Bool { rows == 0 }

    /// An `Int64` or `UInt64` field.
    mutating func int64<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: UInt64(truncatingIfNeeded: v).littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A `Nullable(String)` field.
    mutating func nullableText(_ s: String?) {
        guard var s else {
            bytes.append(1)
            return
        }
        bytes.append(0)
        s.withUTF8 { u in
            var n = u.count
            while n >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: n) | 0x80)
                n >>= 7
            }
            bytes.append(UInt8(n))
            bytes.append(contentsOf: u)
        }
    }

    /// Counts a row (the fields carry no row separator).
    mutating func endRow() { rows += 1 }

    /// The rows written so far, handed over (to a request sent while the next rows are written);
    /// the writer starts again with room for as many.
    mutating func take() -> [UInt8] {
        let out = bytes
        bytes = []
        bytes.reserveCapacity(out.count + out.count / 8)
        rows = 0
        return out
    }
}
