import ArgumentParser
import CasebookCatalog
import CasebookCore
import Foundation

/// `casebook catalog`: package metadata from PyPI JSON API documents.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Package metadata from PyPI JSON API documents.",
        subcommands: [Fetch.self, Show.self]
    )

    /// `casebook catalog fetch NAME... --index-url URL [--catalog DIR] [--with-releases]`.
    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download JSON API documents into the catalog directory (conditional requests, retries).",
            discussion:
                "The index URL is the JSON API's base, under which NAME/json lives. It is never built in: give --index-url or set CASEBOOK_INDEX_URL once."
        )
        @Argument(help: "Project names (any case or separator style).") var names: [String]
        @Option(name: .customLong("index-url"), help: "JSON API base URL (default: $CASEBOOK_INDEX_URL).") var indexURL: String?
        @Option(name: .customLong("catalog"), help: "Catalog directory.") var catalog: String = "./catalog"
        @Flag(name: .customLong("with-releases"), help: "Also fetch each release's document (its own requires_dist).") var withReleases =
            false
        @Option(help: "Per-request timeout in seconds.") var timeout: Double = 30

        func run() async throws {
            let url: URL
            let fetcher: CatalogFetcher
            do {
                url = try CatalogFetcher.indexURL(explicit: indexURL)
                fetcher = try CatalogFetcher(indexURL: url, catalogDirectory: URL(fileURLWithPath: catalog), timeout: timeout)
            } catch { throw ValidationError(error.description) }
            var failed = false
            for name in names {
                do {
                    let outcomes = try await fetcher.fetch(project: name, withReleases: withReleases)
                    let down = outcomes.filter { $0.status == .downloaded }.count
                    let same = outcomes.filter { $0.status == .notModified }.count
                    let missing = outcomes.filter { $0.status == .notFound }.count
                    print(
                        "\(ProjectName.normalize(name)): \(down) downloaded, \(same) not modified\(missing > 0 ? ", \(missing) release documents missing on the index" : "")"
                    )
                } catch {
                    failed = true
                    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                }
            }
            if failed { throw ExitCode.failure }
        }
    }

    /// `casebook catalog show NAME [VERSION] [--python 2.7.16 --cpu armv7l --system Linux]`.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what Casebook understood of a project: releases, files and wheel tags, requirements, reverse dependencies."
        )
        @Argument(help: "Project name.") var name: String
        @Argument(help: "A release (default: the latest).") var version: String?
        @Option(name: .customLong("catalog"), help: "Catalog directory.") var catalog: String = "./catalog"
        @Option(help: "Client Python version for markers and wheel compatibility (e.g. 2.7.16).") var python: String?
        @Option(help: "Client CPU (e.g. armv7l, x86_64, AMD64).") var cpu: String = "x86_64"
        @Option(help: "Client system name (Linux, Windows, Darwin).") var system: String = "Linux"
        @Option(help: "Client implementation (CPython, PyPy).") var implementation: String = "CPython"
        @Option(help: "Client glibc version, enabling manylinux wheels (e.g. 2.28).") var glibc: String?
        @Option(help: "Extras to include when evaluating requirements.") var extra: [String] = []

        func run() throws {
            let cat: Catalog
            do { cat = try Catalog(directory: URL(fileURLWithPath: catalog)) } catch { throw ValidationError(error.description) }
            do { try show(cat) } catch { throw ValidationError(error.description) }
        }

        func show(_ cat: Catalog) throws(CatalogError) {
            let client = python.map {
                ClientEnvironment(python: $0, cpu: cpu, system: system, implementation: implementation, glibc: glibc)
            }
            let display = try cat.displayName(of: name)
            let releases = try cat.releases(of: name)
            print("\(display) (\(ProjectName.normalize(name))): \(releases.count) releases")
            for r in releases {
                let date = r.uploadTime.map(UTCTime.dateString) ?? "no date   "
                var note = r.hasWheel ? "wheel" : (r.fileCount == 0 ? "no files" : "sdist only")
                if r.yanked { note += ", yanked" }
                if let client, r.fileCount > 0, let m = try cat.hasCompatibleWheel(project: name, version: r.versionText, for: client) {
                    note += "; \(client.pythonVersion) gets \(m.kind.rawValue) wheel (\(m.tag))"
                } else if client != nil, r.fileCount > 0 {
                    note += "; \(client!.pythonVersion) builds from source"
                }
                print("  \(r.versionText.padding(toLength: 12, withPad: " ", startingAt: 0)) \(date)  \(note)")
            }
            let latest = try cat.latestVersion(of: name)
            guard let v = version ?? latest ?? releases.last?.versionText else { return }
            print("\nfiles of \(v):")
            for f in try cat.files(of: name, version: v) {
                var line = "  \(f.filename)  [\(f.packageType)]"
                if let w = f.wheel { line += " tags: " + w.tags.sorted().map(\.description).joined(separator: " ") }
                if let rp = f.requiresPython { line += " requires_python: \(rp)" }
                if f.yanked { line += " YANKED\(f.yankedReason.map { ": \($0)" } ?? "")" }
                print(line)
            }
            if let client { print("\nrequirements of \(v) for \(client):") } else { print("\nrequirements of \(v):") }
            if let reqs = try cat.requirements(of: name, version: v, for: client, extras: Set(extra)) {
                if reqs.requiresDistIsNull { print("  unknown: the index has requires_dist: null for this release") }
                if reqs.source == .projectDocument { print("  (from the project document: the latest release's metadata)") }
                for r in reqs.all {
                    print("  \(reqs.applicable.contains(r) ? "+" : "-") \(r)")
                }
                for u in reqs.undecided { print("  ? \(u)") }
                for i in reqs.invalid { print("  ! invalid: \(i)") }
            } else {
                print("  unknown: no release document \(ProjectName.normalize(name))/\(v)/json (fetch with --with-releases)")
            }
            let rdeps = cat.reverseDependencies(of: name)
            print("\nreverse dependencies in the catalog: \(rdeps.isEmpty ? "none" : "")")
            for d in rdeps {
                print(
                    "  \(d.dependentDisplayName): "
                        + d.uses.map {
                            "\($0.version) (\($0.requirement.specifier.isEmpty ? "any" : $0.requirement.specifier.description)\($0.requirement.marker.map { "; \($0)" } ?? ""))"
                        }.joined(separator: ", "))
            }
        }
    }
}
