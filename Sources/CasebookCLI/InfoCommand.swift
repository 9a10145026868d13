import ArgumentParser
import CasebookCore
import CasebookSQLite
import Foundation

/// `casebook info`
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show what the store holds: downloads, time span, sources, quarantined lines."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Also list quarantined lines (client addresses already replaced by client keys).")
    var quarantine = false

    @Flag(
        help:
            "Also say what the data can answer: time resolution, client keys, server answers (access logs' request lines), dimensions that hold values (one aggregate query per dimension)."
    )
    var coverage = false

    @Flag(help: "Print as JSON.")
    var json = false

    func run() async throws {
        let store = try storeOptions.openReadStore()
        var info = try await store.info()
        info.location = StoreOptions.display(info.location)
        let details = store as? any StoreDetails
        let others = try details?.otherRequestCounts() ?? [:]
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(info), as: UTF8.self))
            return
        }
        print("store: \(info.location) (schema v\(info.schemaVersion))")
        print("downloads: \(info.downloads) in \(info.eventRows) event rows")
        if let f = info.firstEvent, let l = info.lastEvent {
            print("time span: \(UTCTime.isoString(f)) – \(UTCTime.isoString(l))")
        }
        if !others.isEmpty {
            print("other requests: " + others.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        let q = info.quarantined.values.reduce(0, +)
        print("quarantined lines: \(q)")
        for (reason, count) in info.quarantined.sorted(by: { $0.value > $1.value }) { print("  \(count)  \(InputText.escaped(reason))") }
        print("sources: \(info.sources.count)")
        for s in info.sources {
            let span = s.firstEvent.map { UTCTime.dateString($0) + "–" + UTCTime.dateString(s.lastEvent ?? $0) } ?? "no downloads"
            print(
                "  \(s.id.map { "\($0)  " } ?? "")\(InputText.escaped(s.name))  [\(s.format)\(s.index.map { ", index \($0)" } ?? "")]  \(s.lines) lines, \(s.downloads) downloads, \(span), fingerprint \(s.fingerprint.prefix(12))"
            )
        }
        if coverage {
            let c = try await StoreCoverage.of(store)
            print("what the data can answer:")
            print(
                "  times: \(c.resolution == .hour ? "to the hour (hourly buckets work)" : "days only (daily counts: hourly buckets do not)")"
            )
            print(
                "  clients: \(c.hasClients ? "client keys (who made a change can be told)" : "no client keys (who made a change cannot be told)")"
            )
            if let span = c.requestLogSpan, let from = span.from, let to = span.to {
                print(
                    "  server answers: request lines by hour and status from \(UTCTime.isoString(from)) to \(UTCTime.isoString(to)) (outages and log gaps can be told from traffic)"
                )
            } else {
                print("  server answers: none (no access log: outages and log gaps cannot be told from traffic)")
            }
            let empty = Dimension.allCases.filter { !c.dimensionsWithValues.contains($0) }
            print("  dimensions with values: \(c.dimensionsWithValues.map(\.rawValue).joined(separator: ", "))")
            if !empty.isEmpty { print("  dimensions without any value: \(empty.map(\.rawValue).joined(separator: ", "))") }
        }
        if quarantine {
            print("quarantined lines (first 100):")
            for q in try details?.quarantinedLines(limit: 100) ?? [] {
                print("  \(InputText.escaped(q.source)):\(q.line): \(InputText.escaped(q.reason))\n    \(InputText.escaped(q.raw))")
            }
        }
    }
}
