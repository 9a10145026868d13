import Foundation

/// Removes credentials from store locations and from messages that may quote them, for every
/// backend: a URL's userinfo password (`postgres://u:SECRET@h/db`), and the value of every
/// parameter whose name says it is a secret (`password=`, `sslpassword=`, `passfile=`, `token=`,
/// ...; in a URL query or in `key=value` connection strings; names may be percent-encoded).
public enum CredentialRedaction {
    /// What replaces a credential.
    public static let mask = "***"

    /// Whether a parameter name (percent-decoded, any case) names a credential.
    public static func isSecretName(_ name: some StringProtocol) -> Bool {
        let n = percentDecoded(String(name)).lowercased()
        return n.contains("pass") || n.contains("secret") || n.contains("token") || n == "pwd" || n == "sslkey" || n.contains("apikey")
            || n.contains("api_key")
    }

    /// `text` with every credential replaced by ``mask``.
    public static func redact(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        let ranges = secretRanges(s)
        if ranges.isEmpty { return text }
        var out = String.UnicodeScalarView()
        var at = 0
        for r in ranges {
            out.append(contentsOf: s[at..<r.lowerBound])
            out.append(contentsOf: mask.unicodeScalars)
            at = r.upperBound
        }
        out.append(contentsOf: s[at...])
        return String(out)
    }

    /// The credentials in `text` (as written, and percent-decoded), to scrub them from
    /// messages that quote them in another form.
    public static func secrets(in text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        var found: [String] = []
        for r in secretRanges(s) {
            let secret = String(String.UnicodeScalarView(s[r]))
            guard secret != mask else { continue }
            found.append(secret)
            let decoded = percentDecoded(secret)
            if decoded != secret { found.append(decoded) }
        }
        return found
    }

    /// Replaces every occurrence of each secret in `message` (longest first).
    public static func scrub(_ message: String, secrets: [String]) -> String {
        var out = message
        for secret in Set(secrets).sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            out = out.replacingOccurrences(of: secret, with: mask)
        }
        return out
    }

    // MARK: -

    /// The ranges of the credentials, in order, not overlapping.
    static func secretRanges(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var ranges = userinfoRanges(s) + parameterRanges(s)
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for r in ranges {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    /// `scheme://user:SECRET@host`: the password is everything between the first ':' of the
    /// userinfo and the last '@' before the end of the location (a password may hold '@').
    private static func userinfoRanges(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var searchFrom = 0
        while let scheme = find(s, ":/", from: searchFrom) {
            // `scheme:/` or `scheme://` (a mistyped URL keeps its password secret too).
            guard scheme > 0, s[scheme - 1].isASCII, s[scheme - 1].properties.isAlphabetic else {
                searchFrom = scheme + 2
                continue
            }
            var start = scheme + 2
            while start < s.count, s[start] == "/" { start += 1 }
            var end = start
            while end < s.count, !s[end].properties.isWhitespace, s[end] != "\"", s[end] != "'" { end += 1 }
            searchFrom = end
            guard let at = s[start..<end].lastIndex(of: "@"),
                let colon = s[start..<at].firstIndex(of: ":"), colon + 1 < at
            else { continue }
            out.append((colon + 1)..<at)
        }
        return out
    }

    /// `NAME=SECRET` where NAME names a credential: the value runs to '&', ';', '#', a space,
    /// a quote or the end.
    private static func parameterRanges(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        while i < s.count {
            guard s[i] == "=" else {
                i += 1
                continue
            }
            var nameStart = i
            while nameStart > 0, isNameScalar(s[nameStart - 1]) { nameStart -= 1 }
            let name = String(String.UnicodeScalarView(s[nameStart..<i]))
            var end = i + 1
            while end < s.count, !["&", ";", "#", "\"", "'", ",", ")"].contains(s[end]), !s[end].properties.isWhitespace { end += 1 }
            if !name.isEmpty, isSecretName(name), end > i + 1 { out.append((i + 1)..<end) }
            i = max(end, i + 1)
        }
        return out
    }

    private static func isNameScalar(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "-" || c == "%" || c == ".")
    }

    private static func find(_ s: [Unicode.Scalar], _ needle: String, from: Int) -> Int? {
        let n = Array(needle.unicodeScalars)
        guard s.count >= n.count, from <= s.count - n.count else { return nil }
        for k in from...(s.count - n.count) where Array(s[k..<(k + n.count)]) == n { return k }
        return nil
    }

    /// Percent-decoding without Foundation (invalid escapes are kept as they are).
    static func percentDecoded(_ s: String) -> String {
        guard s.contains("%") else { return s }
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 65...70: c - 55
            case 97...102: c - 87
            default: nil
            }
        }
        while i < u.count {
            if u[i] == 37, i + 2 < u.count, let h = hex(u[i + 1]), let l = hex(u[i + 2]) {
                bytes.append(h << 4 | l)
                i += 3
            } else {
                bytes.append(u[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
