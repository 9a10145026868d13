/// A string that is not valid under one of the packaging specifications (PEP 440, 508, 427).
///
/// The message names the specification, the text that failed, the position (0-based, in
/// characters) where parsing stopped, what was expected there and what was found.
public struct PackagingSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being parsed: `version`, `specifier`, `requirement`, `marker`, `wheel filename`.
    public var kind: String
    /// The full input text.
    public var input: String
    /// Offset in characters where the error was detected.
    public var position: Int
    /// What the grammar expected at `position`.
    public var expected: String

    public init(kind: String, input: String, position: Int, expected: String) {
        self.kind = kind
        self.input = input
        self.position = position
        self.expected = expected
    }

    /// What is at `position` (or "end of input").
    public var found: String {
        let chars = Array(input)
        guard position < chars.count else { return "end of input" }
        return "'" + String(chars[position...].prefix(12)) + "'"
    }

    public var description: String {
        let caret = String(repeating: " ", count: max(0, position)) + "^"
        return "invalid \(kind) '\(input)' at column \(position + 1): expected \(expected), found \(found)\n    \(input)\n    \(caret)"
    }
}
