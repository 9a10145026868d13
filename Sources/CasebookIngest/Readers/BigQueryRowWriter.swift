import CasebookCore

/// Writes a ``DownloadEvent`` as one compact JSON object in the shape of a row of PyPI's
/// BigQuery table `bigquery-public-data.pypi.file_downloads`, so that parsed lines
/// (`casebook parse`) can be compared with PyPI's own data, field by field.
///
/// Conventions are the table's: `timestamp` as `"2020-03-05 14:03:11 UTC"`, `project` and
/// `file.project` PEP 503-normalized (as PyPI writes them), `file.type` `bdist_wheel`/`sdist`,
/// every column present in the schema's order, `null` for anything unknown (including the
/// columns Casebook does not keep: `url`, `tls_protocol`, `tls_cipher`). `details.distro.libc`,
/// `openssl_version`, `setuptools_version` and `rustc_version` are written as the client sent them.
///
/// Not in the table: a trailing `"count"` is written only when the event stands for more than
/// one download (``BigQueryReader`` reads it back). The event's index and client key are not
/// written. Output read back with ``BigQueryReader`` gives the same event, except that
/// `projectDisplay` becomes the normalized name, `client` is unknown and `index` is the
/// reader's.
public enum BigQueryRowWriter {
    /// One JSON object, no trailing newline.
    public static func json(for event: DownloadEvent) -> String {
        var w = JSONWriter()
        w.open()
        w.key("timestamp")
        w.timestamp(event.timestamp)
        w.key("country_code")
        w.string(event.country)
        w.key("url")
        w.null()
        w.key("project")
        w.string(event.project)
        w.key("file")
        w.open()
        w.key("filename")
        w.string(event.filename)
        w.key("project")
        w.string(event.project)
        w.key("version")
        w.string(event.version)
        w.key("type")
        w.string(event.fileType)
        w.close()
        w.key("details")
        w.open()
        w.key("installer")
        w.open()
        w.key("name")
        w.string(event.installer)
        w.key("version")
        w.string(event.installerVersion)
        w.close()
        w.key("python")
        w.string(event.python)
        w.key("implementation")
        w.open()
        w.key("name")
        w.string(event.implementation)
        w.key("version")
        w.string(event.implementationVersion)
        w.close()
        w.key("distro")
        w.open()
        w.key("name")
        w.string(event.distro)
        w.key("version")
        w.string(event.distroVersion)
        w.key("id")
        w.string(event.distroID)
        w.key("libc")
        w.open()
        w.key("lib")
        w.string(event.libc)
        w.key("version")
        w.string(event.libcVersion)
        w.close()
        w.close()
        w.key("system")
        w.open()
        w.key("name")
        w.string(event.system)
        w.key("release")
        w.string(event.systemRelease)
        w.close()
        w.key("cpu")
        w.string(event.cpu)
        w.key("openssl_version")
        w.string(event.opensslVersion)
        w.key("setuptools_version")
        w.string(event.setuptoolsVersion)
        w.key("rustc_version")
        w.string(event.rustcVersion)
        w.key("ci")
        w.bool(event.ci)
        w.close()
        w.key("tls_protocol")
        w.null()
        w.key("tls_cipher")
        w.null()
        if event.count != 1 {
            w.key("count")
            w.raw(String(event.count))
        }
        w.close()
        return String(decoding: w.out, as: UTF8.self)
    }

    /// `s` as a JSON string literal (quotes, backslashes and control characters escaped).
    public static func quote(_ s: String) -> String {
        var w = JSONWriter()
        w.string(s)
        return String(decoding: w.out, as: UTF8.self)
    }
}

/// Appends compact JSON; tracks only whether a comma is due.
private struct JSONWriter {
    var out: [UInt8] = []
    private var needsComma = false

    init() { out.reserveCapacity(640) }

    mutating func open() {
        comma()
        out.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func close() {
        out.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func key(_ k: StaticString) {
        comma()
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    mutating func null() { raw("null") }

    /// `"2020-03-05 14:03:11 UTC"`, as ``UTCTime/bigQueryString(_:)`` writes it, without `String(format:)`.
    mutating func timestamp(_ epoch: Int64) {
        let days = epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400
        let secs = Int(epoch - days * 86400)
        let (y, m, d) = UTCTime.civilFromDays(days)
        guard (0...9999).contains(y) else { return string(UTCTime.bigQueryString(epoch)) }
        comma()
        out.append(UInt8(ascii: "\""))
        func put(_ v: Int, _ width: Int) {
            var div = 1
            for _ in 1..<width { div *= 10 }
            var v = v
            while div > 0 {
                out.append(UInt8(48 + v / div))
                v %= div
                div /= 10
            }
        }
        put(y, 4)
        out.append(45)
        put(m, 2)
        out.append(45)
        put(d, 2)
        out.append(32)
        put(secs / 3600, 2)
        out.append(58)
        put(secs / 60 % 60, 2)
        out.append(58)
        put(secs % 60, 2)
        out.append(contentsOf: Array(" UTC\"".utf8))
        needsComma = true
    }

    mutating func bool(_ b: Bool?) {
        guard let b else { return null() }
        raw(b ? "true" : "false")
    }

    mutating func raw(_ text: String) {
        comma()
        out.append(contentsOf: text.utf8)
        needsComma = true
    }

    mutating func string(_ s: String?) {
        guard let s else { return null() }
        comma()
        out.append(UInt8(ascii: "\""))
        let hex = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, b])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, b])
            case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7F:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        needsComma = true
    }

    private mutating func comma() {
        if needsComma { out.append(UInt8(ascii: ",")) }
    }
}
