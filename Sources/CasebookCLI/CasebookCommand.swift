import ArgumentParser

/// The `casebook` command line.
public struct CasebookCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "casebook",
        abstract: "Investigate package-download spikes and drops.",
        subcommands: [IngestCommand.self, InfoCommand.self, QueryCommand.self, ParseCommand.self, CatalogCommand.self, RunCommand.self, ValidateCommand.self, AnalyzersCommand.self]
    )
    public init() {}
}
