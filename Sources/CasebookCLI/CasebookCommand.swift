import ArgumentParser

/// The `casebook` command line.
@available(macOS 10.15, macCatalyst 13, iOS 13, tvOS 13, watchOS 6, *)
public struct CasebookCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "casebook",
        abstract: "Investigate package-download spikes and drops.",
        subcommands: [
            IngestCommand.self, InfoCommand.self, SourcesCommand.self, QueryCommand.self, ParseCommand.self, SimulateCommand.self,
            ExplainCommand.self, RunCommand.self, WatchCommand.self, DemoCommand.self, ReportCommand.self, ValidateCommand.self,
            AnalyzersCommand.self, CatalogCommand.self
        ]
    )
    public init() {}
}
