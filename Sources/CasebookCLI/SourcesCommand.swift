import ArgumentParser
import CasebookCore
import Foundation

/// `casebook sources [list]`, `casebook sources remove ID`
struct SourcesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sources",
        abstract: "List the ingested sources, or remove one with its events.",
        subcommands: [List.self, Remove.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the sources with their ids: name, format, lines, downloads, time span, fingerprint."
        )

        @OptionGroup var storeOptions: StoreOptions

        @Flag(help: "Print as JSON.")
        var json = false

        func run() async throws {
            let store = try storeOptions.openReadStore()
            let sources = try await store.info().sources
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try enc.encode(sources), as: UTF8.self))
                return
            }
            if sources.isEmpty {
                print("no sources in \(storeOptions.displayLocation)")
                return
            }
            for s in sources {
                print(SourcesCommand.describe(s))
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a source: its events, quarantined lines and its part of the rollups, all-or-nothing.",
            discussion: "Ids are those `casebook sources` lists. The file can then be ingested again (with other options)."
        )

        @OptionGroup var storeOptions: StoreOptions

        @Argument(help: "The id of the source to remove (see `casebook sources`).")
        var id: Int64

        func run() throws {
            let store = try storeOptions.openWritableStore()
            guard let removable = store as? any SourceRemoval else {
                throw CLIError(
                    "this store (\(storeOptions.displayLocation)) does not support removing sources: only Casebook's own stores do (SQLite, and its tables in PostgreSQL or ClickHouse); nothing was changed"
                )
            }
            do {
                let s = try removable.removeSource(id: id)
                print(
                    "removed source \(id): \(InputText.escaped(s.name)) [\(s.format)], \(s.lines) lines, \(s.downloads) downloads, \(s.quarantined) quarantined lines"
                )
            } catch let e as CustomStringConvertible & Error {
                throw CLIError(e.description)
            }
        }
    }

    static func describe(_ s: SourceInfo) -> String {
        let span = s.firstEvent.map { UTCTime.dateString($0) + "–" + UTCTime.dateString(s.lastEvent ?? $0) } ?? "no downloads"
        let id = s.id.map(String.init) ?? "-"
        return
            "\(id)  \(InputText.escaped(s.name))  [\(s.format)\(s.index.map { ", index \(InputText.escaped($0))" } ?? "")]  \(s.lines) lines, \(s.downloads) downloads, \(span), fingerprint \(s.fingerprint.prefix(12))"
    }
}
