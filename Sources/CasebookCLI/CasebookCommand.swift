import ArgumentParser

/// The `casebook` command line.
public struct CasebookCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "casebook",
        abstract: "Investigate package-download spikes and drops.",
        subcommands: [CatalogCommand.self]
    )
    public init() {}
}
