#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Replaces every IPv4 and IPv6 address anywhere in a text by its salted client key
/// (``ClientKeyer``), so that text kept for people (a quarantined line, the reason it was
/// quarantined) never holds an address, yet two lines from one client stay comparable.
///
/// Found: dotted IPv4 (`192.0.2.7`, four decimal octets each at most 255, so a version such as
/// `1.2.3` or `1.2.300.4` is left alone), and IPv6 in every form `inet_pton` accepts (full,
/// compressed such as `::1` or `2001:db8::7`, IPv4-mapped such as `::ffff:192.0.2.7`), with or
/// without brackets, ports or zone ids around them (those are kept, the address is replaced).
/// The search errs on the side of privacy: a hexadecimal token shaped like an IPv6 address
/// (eight colon-separated groups, or groups around `::`) is replaced even if it was not meant
/// as one.
public struct AddressRedactor: Sendable {
    private let keyer: ClientKeyer

    public init(keyer: ClientKeyer) {
        self.keyer = keyer
    }

    /// `text` with every address replaced by its client key (unchanged when it has none).
    public func redact(_ text: String) -> String {
        let bytes = Array(text.utf8)
        // Cheap exit: an address needs a digit and a '.' or ':'.
        guard bytes.contains(where: { $0 == 46 || $0 == 58 }), bytes.contains(where: { $0 >= 48 && $0 <= 57 }) else {
            return text
        }
        let found = Self.addressRanges(in: bytes)
        if found.isEmpty { return text }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + found.count * 8)
        var at = 0
        for r in found {
            out += bytes[at..<r.lowerBound]
            out += Array(keyer.key(for: String(decoding: bytes[r], as: UTF8.self)).utf8)
            at = r.upperBound
        }
        out += bytes[at...]
        return String(decoding: out, as: UTF8.self)
    }

    /// The first `limit` characters of `text` with every address replaced. The text is cut
    /// before redacting (so a huge line costs little) but never inside a run of address
    /// characters, so no address is cut into a piece the search would not recognise.
    public func redactKept(_ text: String, limit: Int) -> String {
        guard text.utf8.count > limit else { return redact(text) }
        var cut = Array(text.utf8.prefix(limit))
        let all = text.utf8
        var extra = all.dropFirst(limit).prefix(64).prefix(while: Self.isRunByte)
        if extra.count == 64 {
            // Still inside a run: drop the run's start rather than keep a piece of it.
            extra = extra.prefix(0)
            while let last = cut.last, Self.isRunByte(last) { cut.removeLast() }
        }
        cut += extra
        let redacted = redact(String(decoding: cut, as: UTF8.self))
        return String(redacted.prefix(limit))
    }

    /// Whether `text` holds an address (what ``redact(_:)`` would replace).
    public static func containsAddress(_ text: String) -> Bool {
        !addressRanges(in: Array(text.utf8)).isEmpty
    }

    /// The byte ranges of the addresses in `b`, in order, not overlapping.
    static func addressRanges(in b: [UInt8]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var i = 0
        let n = b.count
        while i < n {
            guard isRunByte(b[i]) else {
                i += 1
                continue
            }
            var j = i
            while j < n, isRunByte(b[j]) { j += 1 }
            scanRun(b, i..<j, into: &result)
            i = j
        }
        return result
    }

    /// Hex digits, ':' and '.': the characters an address is written with.
    @inline(__always) static func isRunByte(_ c: UInt8) -> Bool {
        isHex(c) || c == 58 || c == 46
    }

    @inline(__always) static func isHex(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
    }

    /// Letters, digits and '_': what an address never touches.
    @inline(__always) static func isWordByte(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    /// Finds the addresses within one maximal run of address characters: IPv6 first (longest
    /// match from the leftmost start that gives one), then IPv4 in what is left.
    static func scanRun(_ b: [UInt8], _ run: Range<Int>, into result: inout [Range<Int>]) {
        var colons = 0
        for k in run where b[k] == 58 { colons += 1 }
        var rest = run.lowerBound
        if colons >= 2 {
            var start = run.lowerBound
            while start < run.upperBound - 1 {
                // A match never splits a hex group, nor touches a letter or digit outside
                // the run (`Foo::bar` is no address).
                if start > 0, isWordByte(b[start - 1]) {
                    start += 1
                    continue
                }
                var matched: Range<Int>?
                var end = min(run.upperBound, start + 45)
                while end >= start + 2 {
                    if end < b.count, isWordByte(b[end]), end == run.upperBound || isHex(b[end - 1]) {
                        end -= 1
                        continue
                    }
                    if isIPv6(b, start..<end) {
                        matched = start..<end
                        break
                    }
                    end -= 1
                }
                if let m = matched {
                    scanIPv4(b, rest..<m.lowerBound, into: &result)
                    result.append(m)
                    rest = m.upperBound
                    start = m.upperBound
                } else {
                    start += 1
                }
            }
        }
        scanIPv4(b, rest..<run.upperBound, into: &result)
    }

    /// Finds dotted IPv4 addresses (exactly four octets) in a range of address characters.
    static func scanIPv4(_ b: [UInt8], _ range: Range<Int>, into result: inout [Range<Int>]) {
        var i = range.lowerBound
        while i < range.upperBound {
            guard isDigit(b[i]) || b[i] == 46 else {
                i += 1
                continue
            }
            var j = i
            while j < range.upperBound, isDigit(b[j]) || b[j] == 46 { j += 1 }
            var s = i
            var e = j
            while s < e, b[s] == 46 { s += 1 }
            while e > s, b[e - 1] == 46 { e -= 1 }
            if s < e, isIPv4(b, s..<e) { result.append(s..<e) }
            i = j
        }
    }

    static func isIPv4(_ b: [UInt8], _ r: Range<Int>) -> Bool {
        var parts = 0
        var digits = 0
        var value = 0
        for k in r {
            let c = b[k]
            if c == 46 {
                guard digits > 0 else { return false }
                parts += 1
                digits = 0
                value = 0
            } else {
                digits += 1
                value = value * 10 + Int(c - 48)
                guard digits <= 3, value <= 255 else { return false }
            }
        }
        guard digits > 0 else { return false }
        return parts + 1 == 4
    }

    static func isIPv6(_ b: [UInt8], _ r: Range<Int>) -> Bool {
        guard r.count >= 2, r.count <= 45 else { return false }
        var colons = 0
        for k in r where b[k] == 58 { colons += 1 }
        guard colons >= 2 else { return false }
        var text = [CChar](repeating: 0, count: r.count + 1)
        for (o, k) in r.enumerated() { text[o] = CChar(bitPattern: b[k]) }
        var out = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET6, text, &out) == 1
    }
}
