import ArgumentParser
import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookPlaybooks
import Foundation

/// The analyzers `casebook run`, `validate` and `analyzers` can use: the built-ins plus those
/// a custom build registers with ``CasebookCommand/main(analyzers:)``.
public enum CasebookAnalyzerRegistry {
    private final class Box: @unchecked Sendable {
        let lock = NSLock()
        var extra: [any Analyzer.Type] = []
    }
    private static let box = Box()

    /// Built-ins plus the registered extras (an extra replaces a built-in of the same name).
    public static var current: AnalyzerRegistry {
        box.lock.withLock { BuiltinAnalyzers.registry(adding: box.extra) }
    }

    /// Adds analyzers for the commands that follow.
    public static func register(_ analyzers: [any Analyzer.Type]) {
        box.lock.withLock { box.extra.append(contentsOf: analyzers) }
    }
}

extension CasebookCommand {
    /// Runs the `casebook` command line with extra Swift analyzers registered next to the built-ins.
    ///
    /// A package that depends on Casebook builds its own `casebook` with one line in its `main.swift`:
    /// ```swift
    /// import CasebookCLI
    /// await CasebookCommand.main(analyzers: [WeekendShareAnalyzer.self])
    /// ```
    public static func main(analyzers: [any Analyzer.Type]) async {
        CasebookAnalyzerRegistry.register(analyzers)
        await runAsync()
    }

    /// The async entry point (named apart so that overload resolution never picks the synchronous `main()`).
    private static func runAsync() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let translated = UserFacingErrors.translate(error)
            // Last line of defence: no credential given on the command line (or in
            // CASEBOOK_STORE) is ever printed back, whatever quoted it.
            let secrets = UserFacingErrors.commandLineSecrets()
            if !secrets.isEmpty {
                let message = fullMessage(for: translated)
                let scrubbed = CredentialRedaction.scrub(message, secrets: secrets)
                if scrubbed != message {
                    FileHandle.standardError.write(Data((scrubbed.hasPrefix("Error:") ? scrubbed : "Error: " + scrubbed).utf8 + [10]))
                    Foundation.exit(exitCode(for: translated).rawValue)
                }
            }
            exit(withError: translated)
        }
    }
}
