/// The one escape function per output format. Every string that came from data (package names,
/// user agents, step reasons, playbook text...) goes through one of these before it reaches a
/// report; renderers never concatenate raw data into markup.
public enum Escape {
    /// Text for HTML and SVG/XML, in element content *and* in quoted attribute values:
    /// `& < > " '` become entities, and characters XML forbids (C0 controls other than tab,
    /// line feed and carriage return; U+FFFE/U+FFFF) become U+FFFD, so a standalone SVG stays well-formed.
    public static func html(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Characters that always get a backslash in Markdown: emphasis, code, links and images,
    /// raw HTML, tables, strikethrough, entities and escapes themselves.
    private static let markdownAlways: Set<Character> = ["\\", "`", "*", "_", "[", "]", "<", ">", "|", "~", "&", "!", "{", "}"]
    /// Characters that only matter at the start of a line (headings, lists, quotes, rules).
    private static let markdownLineStart: Set<Character> = ["#", "-", "+", "=", ">"]

    /// Text for GitHub-flavoured Markdown, inline (a paragraph, a list item or a table cell):
    /// markup characters get a backslash (`|` too, so a cell cannot be split), line breaks become
    /// spaces, a leading `# `, `- `, `+ `, `===` or `1. ` cannot start a block, and `http://` / `www.`
    /// cannot become an automatic link.
    public static func markdown(_ text: String) -> String {
        let flat = String(text.map { $0.isNewline ? " " : $0 })
        let chars = Array(flat)
        var out = ""
        out.reserveCapacity(chars.count + 8)
        var i = 0
        // A leading ordered-list marker (`12.` or `12)`).
        var digits = 0
        while digits < chars.count, chars[digits].isASCII, chars[digits].isNumber { digits += 1 }
        // CommonMark block markers need a space (or the end of the line) after them.
        func blankAt(_ k: Int) -> Bool { k >= chars.count || chars[k] == " " || chars[k] == "\t" }
        let orderedMarker = digits > 0 && digits < chars.count && (chars[digits] == "." || chars[digits] == ")") && blankAt(digits + 1)
        let leadingMarker =
            chars.first.map { c in
                markdownLineStart.contains(c)
                    && (blankAt(1) || chars.allSatisfy { $0 == c || $0 == " " }
                        || (c == "#" && chars.prefix { $0 == "#" }.count <= 6 && blankAt(chars.prefix { $0 == "#" }.count)))
            } ?? false
        while i < chars.count {
            let c = chars[i]
            if c.isASCII, let scalar = c.unicodeScalars.first, scalar.value < 0x20 {
                out += " "
            } else if markdownAlways.contains(c) {
                out += "\\" + String(c)
            } else if i == 0, leadingMarker {
                out += "\\" + String(c)
            } else if orderedMarker, i == digits {
                out += "\\" + String(c)
            } else if c == ":", i + 2 < chars.count, chars[i + 1] == "/", chars[i + 2] == "/" {
                out += "\\:"  // `http\://` is not autolinked
            } else if c == ".", i >= 3, String(chars[(i - 3)..<i]).lowercased() == "www" {
                out += "\\."  // nor is `www\.`
            } else if c == "@" {
                out += "\\@"  // nor an e-mail address
            } else {
                out.append(c)
            }
            i += 1
        }
        return out
    }

    /// Markdown inline code for text that should be shown verbatim (a command line): a code span
    /// delimited by more backticks than the text contains, with line breaks as spaces. Code spans
    /// render their content literally, so nothing inside is markup, except `|` in a table
    /// (don't put code spans in table cells).
    public static func markdownCode(_ text: String) -> String {
        let flat = String(text.map { $0.isNewline ? " " : $0 })
        var longest = 0
        var run = 0
        for c in flat {
            if c == "`" {
                run += 1
                longest = max(longest, run)
            } else {
                run = 0
            }
        }
        let fence = String(repeating: "`", count: longest + 1)
        let pad = flat.hasPrefix("`") || flat.hasSuffix("`") || flat.hasPrefix(" ") ? " " : ""
        return fence + pad + flat + pad + fence
    }

    /// A safe file-name stem: lowercase ASCII letters, digits and `-`; anything else becomes `-`.
    public static func fileStem(_ text: String, fallback: String) -> String {
        let mapped = String(
            text.lowercased().unicodeScalars.prefix(40).map { s -> Character in
                (s.isASCII && (("a"..."z").contains(s) || ("0"..."9").contains(s))) ? Character(s) : "-"
            })
        let trimmed = mapped.split(separator: "-", omittingEmptySubsequences: true).joined(separator: "-")
        return trimmed.isEmpty ? fallback : trimmed
    }
}
