import CasebookCore
import Foundation

/// Reads Apache/nginx *combined* access logs (`%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`),
/// as a package index such as piwheels writes them. The *common* format (no referer and user
/// agent) is read too.
///
/// A download is a `GET` answered `200` whose path ends in a distribution file (`.whl`,
/// `.tar.gz`, `.zip`, ...). Every other well-formed request is counted by kind
/// (`index-page`, `project-page`, `not-found`, `not-modified`, ...). Quotes inside fields may
/// be escaped as Apache does (`\"`) or as nginx does (`\x22`). Times carry any UTC offset and are
/// stored as UTC. The client address is replaced by its salted client key at once: it is never
/// kept, not even in quarantined lines.
///
/// Apache's *vhost_combined* format (`%v:%p %h %l %u %t "%r" ...`) is read with `vhost: true`:
/// the first field (the virtual host and port) is skipped, and the client is the address after
/// it, never the virtual host.
///
/// Parsing works on bytes; user agents and addresses repeat, so their parsed forms are cached.
public struct CombinedLogReader: LineReader {
    public var formatName: String { vhost ? "vhost-combined" : "combined" }
    private let keyer: ClientKeyer
    private let index: String?
    /// Lines start with `HOST:PORT` (Apache's `vhost_combined`).
    public let vhost: Bool
    private var agents = ByteCache<SharedFields<ClientProfile>>(limit: 50_000)
    private var clients = ByteCache<String>(limit: 500_000)
    private var files = ByteCache<SharedFields<FileFields>?>(limit: 200_000)

    /// - Parameters:
    ///   - keyer: turns client addresses into pseudonymous keys.
    ///   - index: the index these logs belong to (recorded with every download).
    ///   - vhost: lines start with the virtual host and port (`vhost_combined`).
    public init(keyer: ClientKeyer, index: String? = nil, vhost: Bool = false) {
        self.keyer = keyer
        self.index = index
        self.vhost = vhost
    }

    public mutating func read(line: UnsafeRawBufferPointer, number: Int) -> LineOutcome {
        let b = line.bindMemory(to: UInt8.self)
        let n = b.count
        var i = 0
        func skipSpaces() { while i < n, b[i] == 32 { i += 1 } }
        func token() -> Range<Int> {
            let s = i
            while i < n, b[i] != 32 { i += 1 }
            return s..<i
        }
        if n == 0 || (n == 1 && b[0] == 13) { return .skip }
        // Apache and nginx escape control bytes (`\x00`): a raw one means a corrupt line, and
        // would cut a value short where it is stored (a NUL ends a C string).
        let control = Self.firstControlByte(b)

        if vhost {
            // %v:%p
            let v = token()
            guard !v.isEmpty, v.contains(where: { b[$0] == 58 }) else {
                // The field is not quoted: it may be a client address (a combined line).
                return malformed(
                    b, host: nil,
                    "expected the virtual host and port (`www.example.org:443`) at column 1, found a field without `:PORT` (a combined log? use --input-format combined)"
                )
            }
            if let c = control, v.contains(c) {
                return malformed(b, host: nil, "control byte in the virtual host, found \(InputText.byteName(b[c])) at character \(c + 1)")
            }
            skipSpaces()
        }
        // %h %l %u
        let hostColumn = i + 1
        let host = token()
        guard !host.isEmpty else {
            return malformed(
                b, host: nil, "expected the client address at column \(hostColumn), found \(i < n ? "a space" : "the end of the line")")
        }
        if vhost, host.count == 1, b[host.lowerBound] == 45 {
            return malformed(
                b, host: nil,
                "expected the client address after the virtual host, found '-' (a combined log whose client is an IPv6 address? use --input-format combined)"
            )
        }
        let clientKey = clientKey(b, host)
        if let c = control, host.contains(c) { return controlByteLine(b, host: host, clientKey, c, "the client address") }
        skipSpaces()
        _ = token()
        skipSpaces()
        // The user field may contain spaces in odd logs; the time field starts at the next " [".
        while i < n, b[i] != 91 { i += 1 }
        if let c = control, c < i { return controlByteLine(b, host: host, clientKey, c, "the identity and user fields") }
        guard i < n else {
            return malformed(b, host: host, "expected the time in brackets, like [05/Mar/2020:14:03:11 +0000], found none", clientKey)
        }
        i += 1
        let timeStart = i
        while i < n, b[i] != 93 { i += 1 }
        guard i < n else { return malformed(b, host: host, "expected ']' closing the time field", clientKey) }
        guard let ts = Self.parseTime(b, timeStart..<i) else {
            return malformed(b, host: host, "expected a time like 05/Mar/2020:14:03:11 +0000, found '\(text(b, timeStart..<i))'", clientKey)
        }
        i += 1
        skipSpaces()
        guard i < n, b[i] == 34 else {
            return malformed(
                b, host: host,
                "expected the quoted request (\"GET /path HTTP/1.1\") after the time, found '\(text(b, i..<min(n, i + 20)))'", clientKey)
        }
        i += 1
        guard let request = quoted(b, &i) else { return malformed(b, host: host, "the quoted request has no closing quote", clientKey) }
        if let c = control, c < i { return controlByteLine(b, host: host, clientKey, c, "the request") }
        skipSpaces()
        let statusRange = token()
        guard statusRange.count == 3, let status = Self.number(b, statusRange) else {
            return malformed(b, host: host, "expected a 3-digit status code after the request, found '\(text(b, statusRange))'", clientKey)
        }
        skipSpaces()
        let sizeRange = token()
        guard !sizeRange.isEmpty, (sizeRange.count == 1 && b[sizeRange.lowerBound] == 45) || Self.number(b, sizeRange) != nil else {
            return malformed(
                b, host: host, "expected the response size (digits or '-') after the status, found '\(text(b, sizeRange))'", clientKey)
        }
        skipSpaces()
        var agent: Range<Int>?
        if i < n {
            guard b[i] == 34 else {
                return malformed(
                    b, host: host, "expected the quoted referer after the size, found '\(text(b, i..<min(n, i + 20)))'", clientKey)
            }
            i += 1
            guard quoted(b, &i) != nil else { return malformed(b, host: host, "the quoted referer has no closing quote", clientKey) }
            if let c = control, c < i { return controlByteLine(b, host: host, clientKey, c, "the referer") }
            skipSpaces()
            guard i < n, b[i] == 34 else { return malformed(b, host: host, "expected the quoted user agent after the referer", clientKey) }
            i += 1
            guard let a = quoted(b, &i) else { return malformed(b, host: host, "the quoted user agent has no closing quote", clientKey) }
            agent = a
        }
        if let c = control { return controlByteLine(b, host: host, clientKey, c, agent != nil ? "the user agent" : "the status and size") }

        // The request: METHOD SP PATH [SP PROTOCOL]
        var j = request.lowerBound
        while j < request.upperBound, b[j] != 32 { j += 1 }
        let method = request.lowerBound..<j
        while j < request.upperBound, b[j] == 32 { j += 1 }
        let pathStart = j
        var pathEnd = request.upperBound
        // The protocol is the last token when it starts with "HTTP/".
        var k = request.upperBound - 1
        while k > pathStart, b[k] != 32 { k -= 1 }
        if k > pathStart, request.upperBound - k > 5, b[k + 1] == 72, b[k + 2] == 84, b[k + 3] == 84, b[k + 4] == 80, b[k + 5] == 47 {
            pathEnd = k
        }
        var q = pathStart
        while q < pathEnd, b[q] != 63, b[q] != 35 { q += 1 }  // strip ?query and #fragment
        pathEnd = q
        if request.isEmpty || (request.count == 1 && b[request.lowerBound] == 45) {
            return .notDownload(kind: "empty-request", time: ts, status: status)
        }
        guard Self.equals(b, method, "GET") else {
            return .notDownload(kind: status == 200 ? "non-get" : Self.statusKind(status), time: ts, status: status)
        }
        if status != 200 { return .notDownload(kind: Self.statusKind(status), time: ts, status: status) }
        let path = pathStart..<pathEnd
        var lastSlash = pathEnd - 1
        while lastSlash >= pathStart, b[lastSlash] != 47 { lastSlash -= 1 }
        let nameRange = (lastSlash + 1)..<pathEnd
        var e = DownloadEvent(timestamp: ts)
        if let cached = files.get(UnsafeBufferPointer(rebasing: b[path])) {
            guard let cached else { return .notDownload(kind: Self.pageKind(b, path), time: ts, status: status) }
            e.fileFields = cached
        } else {
            let filename = nameRange.isEmpty ? "" : Self.percentDecoded(b, nameRange)
            if let c = InputText.firstControlByte(filename.utf8) {
                return malformed(
                    b, host: host,
                    "control byte in the file name of the request (percent-encoded; no distribution file name holds one), found \(InputText.byteName(Array(filename.utf8)[c.offset]))",
                    clientKey)
            }
            guard DistributionFilename.isDistribution(filename) else {
                files.put(UnsafeBufferPointer(rebasing: b[path]), SharedFields<FileFields>?.none)
                return .notDownload(kind: Self.pageKind(b, path), time: ts, status: status)
            }
            e.filename = filename
            e.fillFromFilename()
            if e.project == nil {
                // An unusual file name: take the project from the folder (/simple/NAME/FILE).
                var s = lastSlash - 1
                while s >= pathStart, b[s] != 47 { s -= 1 }
                if s + 1 < lastSlash { e.project = ProjectName.normalize(Self.percentDecoded(b, (s + 1)..<lastSlash)) }
            }
            files.put(UnsafeBufferPointer(rebasing: b[path]), e.fileFields)
        }
        e.client = clientKey
        e.profileFields = profile(b, agent)
        return .download(e)
    }

    // MARK: - Pieces

    private mutating func clientKey(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        let slice = UnsafeBufferPointer(rebasing: b[r])
        if let k = clients.get(slice) { return k }
        let k = keyer.key(forBytes: UnsafeRawBufferPointer(slice))
        clients.put(slice, k)
        return k
    }

    /// The client profile of a user agent (nil range: no user agent), shared by all its downloads.
    private mutating func profile(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>?) -> SharedFields<ClientProfile> {
        let slice = r.map { UnsafeBufferPointer(rebasing: b[$0]) } ?? UnsafeBufferPointer(rebasing: b[0..<0])
        if let p = agents.get(slice) { return p }
        var p = ClientProfile()
        p.index = index
        if r != nil, case .known(let info) = UserAgentParser.parse(Self.unescape(slice)) {
            p.installer = info.installerName
            p.installerVersion = info.installerVersion
            p.python = info.python ?? info.implementationVersion
            p.implementation = info.implementationName
            p.implementationVersion = info.implementationVersion
            p.distro = info.distroName
            p.distroVersion = info.distroVersion
            p.distroID = info.distroID
            p.libc = info.libcLib
            p.libcVersion = info.libcVersion
            p.opensslVersion = info.opensslVersion
            p.setuptoolsVersion = info.setuptoolsVersion
            p.rustcVersion = info.rustcVersion
            p.system = info.systemName
            p.systemRelease = info.systemRelease
            p.cpu = info.cpu
            p.ci = info.ci
        }
        let shared = SharedFields(p)
        agents.put(slice, shared)
        return shared
    }

    /// Scans a quoted field whose opening quote is already consumed; leaves `i` after the closing
    /// quote. A backslash escapes the next byte (`\"`, `\\`); nginx's `\x22` needs no care here.
    private func quoted(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> Range<Int>? {
        let s = i
        let n = b.count
        while i < n {
            let c = b[i]
            if c == 92 {
                i += 2
                continue
            }
            if c == 34 {
                let r = s..<i
                i += 1
                return r
            }
            i += 1
        }
        return nil
    }

    private func malformed(_ b: UnsafeBufferPointer<UInt8>, host: Range<Int>?, _ reason: String, _ key: String? = nil) -> LineOutcome {
        var redacted = vhost ? "" : String(decoding: b, as: UTF8.self)
        if let host {
            let before = String(decoding: UnsafeBufferPointer(rebasing: b[..<host.lowerBound]), as: UTF8.self)
            let rest = String(decoding: UnsafeBufferPointer(rebasing: b[host.upperBound...]), as: UTF8.self)
            redacted = before + (key ?? "-") + rest
        } else if vhost {
            // Where the client address is cannot be told (the first field may be one): keep nothing.
            redacted = "[line withheld: its client address could not be told apart]"
        }
        return .malformed(reason: reason, redactedLine: redacted)
    }

    private func text(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        InputText.escaped(UnsafeBufferPointer(rebasing: b[r]))
    }

    /// The offset of the first control byte (C0 except tab, and DEL) of the line, if any.
    ///
    /// Every line is checked, so the check goes eight bytes at a time: a word with no byte under
    /// 0x20 and none equal to 0x7F is skipped whole; the first word that may hold one (a tab
    /// too) and the rest of the line are looked at byte by byte.
    static func firstControlByte(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = b.count
        var k = 0
        if let base = b.baseAddress {
            let raw = UnsafeRawPointer(base)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let high: UInt64 = 0x8080_8080_8080_8080
            while k + 8 <= n {
                let x = raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                let del = x ^ 0x7F7F_7F7F_7F7F_7F7F
                // Some byte < 0x20 (exact for "some"), or some byte == 0x7F.
                if ((x &- 0x2020_2020_2020_2020) & ~x & high) | ((del &- ones) & ~del & high) != 0 { break }
                k += 8
            }
        }
        while k < n {
            let c = b[k]
            if (c < 0x20 && c != 0x09) || c == 0x7F { return k }
            k += 1
        }
        return nil
    }

    private func controlByteLine(_ b: UnsafeBufferPointer<UInt8>, host: Range<Int>, _ key: String, _ at: Int, _ field: String)
        -> LineOutcome
    {
        malformed(
            b, host: host,
            "control byte in \(field) (Apache and nginx write them escaped, like \\x00), found \(InputText.byteName(b[at])) at character \(at + 1)",
            key)
    }

    static func pageKind(_ b: UnsafeBufferPointer<UInt8>, _ path: Range<Int>) -> String {
        if startsWith(b, path, "/project/") { return "project-page" }
        if startsWith(b, path, "/simple/") { return "index-page" }
        return "other-page"
    }

    static func statusKind(_ status: Int) -> String {
        switch status {
        case 304: "not-modified"
        case 404: "not-found"
        case 206: "partial-content"
        case 200..<300: "other-success"
        case 300..<400: "redirect"
        case 400..<500: "client-error"
        default: "server-error"
        }
    }

    static func number(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int? {
        guard !r.isEmpty, r.count < 19 else { return nil }
        var v = 0
        for k in r {
            let c = b[k]
            guard c >= 48, c <= 57 else { return nil }
            v = v * 10 + Int(c - 48)
        }
        return v
    }

    static func equals(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ s: StaticString) -> Bool {
        guard r.count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for (o, k) in r.enumerated() where b[k] != p[o] { return false }
        return true
    }

    static func startsWith(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ s: StaticString) -> Bool {
        guard r.count >= s.utf8CodeUnitCount else { return false }
        return equals(b, r.lowerBound..<(r.lowerBound + s.utf8CodeUnitCount), s)
    }

    /// `05/Mar/2020:14:03:11 +0100` → UTC epoch seconds.
    static func parseTime(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int64? {
        guard r.count >= 20 else { return nil }
        let s = r.lowerBound
        func d(_ k: Int, _ len: Int) -> Int? { number(b, (s + k)..<(s + k + len)) }
        guard let day = d(0, 2), b[s + 2] == 47, b[s + 6] == 47, let year = d(7, 4), b[s + 11] == 58,
            let hh = d(12, 2), b[s + 14] == 58, let mm = d(15, 2), b[s + 17] == 58, let ss = d(18, 2)
        else { return nil }
        let m0 = b[s + 3] | 0x20
        let m1 = b[s + 4] | 0x20
        let m2 = b[s + 5] | 0x20
        let months: [(UInt8, UInt8, UInt8)] = [
            (106, 97, 110), (102, 101, 98), (109, 97, 114), (97, 112, 114), (109, 97, 121), (106, 117, 110),
            (106, 117, 108), (97, 117, 103), (115, 101, 112), (111, 99, 116), (110, 111, 118), (100, 101, 99)
        ]
        guard let mi = months.firstIndex(where: { $0 == (m0, m1, m2) }) else { return nil }
        guard day >= 1, day <= UTCTime.daysInMonth(year: year, month: mi + 1), hh < 24, mm < 60, ss < 61 else { return nil }
        var offset = 0
        if r.count >= 26, b[s + 20] == 32 {
            let sign = b[s + 21]
            guard sign == 43 || sign == 45, let oh = d(22, 2), let om = d(24, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (sign == 45 ? -1 : 1)
        } else if r.count != 20 {
            return nil
        }
        return UTCTime.epoch(year: year, month: mi + 1, day: day, hour: hh, minute: mm, second: ss) - Int64(offset)
    }

    /// Undoes Apache's and nginx's escaping: `\"`, `\\`, `\xHH`, and C escapes.
    static func unescape(_ s: UnsafeBufferPointer<UInt8>) -> String {
        guard s.contains(92) else { return String(decoding: s, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == 92, i + 1 < s.count {
                let e = s[i + 1]
                switch e {
                case 120 where i + 3 < s.count:  // \xHH
                    if let h = hex(s[i + 2]), let l = hex(s[i + 3]) {
                        out.append(h << 4 | l)
                        i += 4
                        continue
                    }
                case 110:
                    out.append(10)
                    i += 2
                    continue
                case 116:
                    out.append(9)
                    i += 2
                    continue
                case 114:
                    out.append(13)
                    i += 2
                    continue
                case 98:
                    out.append(8)
                    i += 2
                    continue
                case 118:
                    out.append(11)
                    i += 2
                    continue
                case 34, 92:
                    out.append(e)
                    i += 2
                    continue
                default: break
                }
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }

    static func percentDecoded(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        var k = r.lowerBound
        while k < r.upperBound {
            let c = b[k]
            if c == 37, k + 2 < r.upperBound, let h = hex(b[k + 1]), let l = hex(b[k + 2]) {
                out.append(h << 4 | l)
                k += 3
            } else {
                out.append(c)
                k += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A small cache from byte strings to values, keyed by a 64-bit hash and checked byte by byte,
/// so that a hit allocates nothing. Cleared when it reaches its limit.
struct ByteCache<Value> {
    private struct Entry {
        var bytes: [UInt8]
        var value: Value
    }
    private var table: [UInt64: Entry] = [:]
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    static func hash(_ s: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(s.count)
        let raw = UnsafeRawBufferPointer(s)
        var i = 0
        while i + 8 <= s.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xbf58_476d_1ce4_e5b9
            h ^= h >> 29
            i += 8
        }
        var last: UInt64 = 0
        var shift: UInt64 = 0
        while i < s.count {
            last |= UInt64(s[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ last) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }

    func get(_ s: UnsafeBufferPointer<UInt8>) -> Value? {
        guard let e = table[Self.hash(s)], e.bytes.count == s.count else { return nil }
        if s.isEmpty { return e.value }
        let same = e.bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, s.baseAddress!, s.count) == 0 }
        return same ? e.value : nil
    }

    mutating func put(_ s: UnsafeBufferPointer<UInt8>, _ v: Value) {
        if table.count >= limit { table.removeAll(keepingCapacity: true) }
        table[Self.hash(s)] = Entry(bytes: Array(s), value: v)
    }
}
