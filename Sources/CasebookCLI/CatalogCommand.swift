import ArgumentParser

/// `casebook catalog`: package metadata (placeholder until the catalog lands).
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "catalog", abstract: "Package metadata from PyPI JSON API documents.")
}
