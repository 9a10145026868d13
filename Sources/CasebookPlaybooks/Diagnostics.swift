import CasebookAnalysis
import Foundation

/// A place in a playbook file (1-based line and column). Line 0 means "the whole file" or
/// "not in a file" (a `--set` option).
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

/// One problem in a playbook, written like a compiler error:
/// `playbooks/x.yaml:12:11: error: unknown analyzer `spike-detecton`; did you mean `spike-detection`?`
public struct PlaybookDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): error: \(message)" }
}

/// All problems found in a playbook; thrown by loading and validation before anything runs.
public struct PlaybookValidationError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [PlaybookDiagnostic]

    public init(_ diagnostics: [PlaybookDiagnostic]) {
        self.diagnostics = diagnostics.sorted { $0.location < $1.location }
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
