import ArgumentParser
import CasebookAnalysis
import CasebookCatalog
import CasebookClickHouse
import CasebookCore
import CasebookIngest
import CasebookPostgres
import CasebookSQLite
import Foundation

/// `casebook catalog`: package metadata from PyPI JSON API documents.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Package metadata from PyPI JSON API documents: fetch them, import them into the store, query them.",
        subcommands: [Fetch.self, Import.self, Show.self, Dependents.self]
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
        @OptionGroup var storeOptions: StoreOptions
        @Flag(
            name: .customLong("no-import"),
            help:
                "Only write the folder. By default the fetched projects are also imported into the store's catalog (--store, $CASEBOOK_STORE, else ./casebook.sqlite when it exists): runs read an imported catalog before ./catalog, so a fetch they did not see would go unused."
        ) var noImport = false

        func run() async throws {
            // The store is opened first: a store that cannot keep a catalog is named before anything is downloaded.
            let explicitStore = storeOptions.store != nil || ProcessInfo.processInfo.environment["CASEBOOK_STORE"] != nil
            let location = storeOptions.location
            var target: (any CatalogStore)?
            if !noImport, explicitStore || FileManager.default.fileExists(atPath: location) {
                guard let s = try StoreOptions.openWritable(location) as? any CatalogStore else {
                    throw CLIError(
                        "catalog fetch imports into a SQLite, PostgreSQL (Casebook's layout) or ClickHouse store: \(storeOptions.displayLocation) has no catalog tables (--no-import to only write the folder)"
                    )
                }
                target = s
            }
            let url: URL
            let fetcher: CatalogFetcher
            do {
                url = try CatalogFetcher.indexURL(explicit: indexURL)
                fetcher = try CatalogFetcher(indexURL: url, catalogDirectory: URL(fileURLWithPath: catalog), timeout: timeout)
            } catch { throw ValidationError(error.description) }
            var failed = false
            var fetched: [String] = []
            for name in names {
                do {
                    let outcomes = try await fetcher.fetch(project: name, withReleases: withReleases)
                    fetched.append(ProjectName.normalize(name))
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
            if let target, !fetched.isEmpty {
                var projects: [CatalogProject] = []
                for name in fetched {
                    do throws(CatalogError) {
                        if let p = try CatalogFolder.readProject(folder: name, in: URL(fileURLWithPath: catalog)) { projects.append(p) }
                    } catch {
                        failed = true
                        StandardError.write("error: \(error.description) (project \(name) not imported)\n")
                    }
                }
                let c = try target.importCatalogProjects(projects, mode: .replaceNewer)
                print(
                    "imported into \(storeOptions.displayLocation): \(c.added) projects added, \(c.replaced) replaced by newer, \(c.unchanged) unchanged, \(c.older) older than the store's (skipped)"
                )
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
        @Option(
            name: .customLong("catalog"),
            help: "Catalog directory (default: the catalog imported into the store, else ./catalog).")
        var catalog: String?
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "Client Python version for markers and wheel compatibility (e.g. 2.7.16).") var python: String?
        @Option(help: "Client CPU (e.g. armv7l, x86_64, AMD64).") var cpu: String = "x86_64"
        @Option(help: "Client system name (Linux, Windows, Darwin).") var system: String = "Linux"
        @Option(help: "Client implementation (CPython, PyPy).") var implementation: String = "CPython"
        @Option(help: "Client glibc version, enabling manylinux wheels (e.g. 2.28).") var glibc: String?
        @Option(help: "Extras to include when evaluating requirements.") var extra: [String] = []

        func run() throws {
            let cat = try CatalogCommand.open(explicit: catalog, storeOptions: storeOptions)
            do { try show(cat) } catch { throw CLIError(error.description) }
        }

        func show(_ cat: any PackageCatalog) throws(CatalogError) {
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
                print(
                    "  unknown: the catalog has no metadata for this release (for a folder: no \(ProjectName.normalize(name))/\(v)/json; fetch with --with-releases)"
                )
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

    /// `casebook catalog import DIR|FILE... [--store ...]`.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load package metadata into the store, beside the events: a catalog folder, or metadata rows.",
            discussion: """
                A folder holds PyPI JSON API documents (DIR/pypi/NAME/json and DIR/pypi/NAME/VERSION/json). \
                A file holds metadata rows, one per distribution file, as PyPI's distribution_metadata table \
                and ClickPy's pypi.projects ship them: NDJSON or CSV (with a header) with name, version, \
                requires_dist, requires_python, upload_time, filename, packagetype (plain or .gz).

                Importing is incremental and idempotent: a project imported again unchanged adds nothing; \
                a newer project document (higher last_serial, else a later upload) replaces the project's rows \
                in one transaction, an older one is skipped; rows add their releases to the project. A \
                malformed document or row is reported with its file (and line) and the rest is imported.
                """)
        @Argument(help: "Catalog folders or metadata-row files.") var inputs: [String]
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "No progress on stderr.") var quiet = false

        func run() throws {
            guard let store = try storeOptions.openWritableStore() as? any CatalogStore else {
                throw CLIError(
                    "catalog import needs a SQLite, PostgreSQL (Casebook's layout) or ClickHouse store: \(storeOptions.displayLocation) has no catalog tables (runs on it can still use --catalog DIR)"
                )
            }
            var failed = false
            for input in inputs {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else {
                    throw CLIError("\(input): no such file or folder")
                }
                let started = Date()
                let result =
                    isDir.boolValue
                    ? try CatalogImport.folder(URL(fileURLWithPath: input), into: store, progress: progress)
                    : try CatalogImport.rows(input, into: store, progress: progress)
                if !quiet && StandardError.isTerminal { StandardError.write("\r\u{1B}[K") }
                for p in result.problems.prefix(20) { StandardError.write("error: \(p)\n") }
                if result.problems.count > 20 { StandardError.write("error: ... and \(result.problems.count - 20) more\n") }
                let c = result.counts
                let seconds = Date().timeIntervalSince(started)
                print(
                    String(
                        format:
                            "%@: %d %@ read in %.1f s: %d projects added, %d replaced by newer, %d unchanged, %d older than the store's (skipped)%@",
                        input, result.read, isDir.boolValue ? "projects" : "rows", seconds, c.added, c.replaced, c.unchanged, c.older,
                        result.problems.isEmpty ? "" : "; \(result.problems.count) not imported (see the errors above)"))
                failed = failed || !result.problems.isEmpty
            }
            let summary = try store.catalogSummary()
            print(
                "catalog in \(storeOptions.displayLocation): \(summary.projects) projects, \(summary.releases) releases (\(summary.releasesWithMetadata) with requirements), \(summary.files) files, \(summary.requirements) requirements"
            )
            if failed { throw ExitCode.failure }
        }

        func progress(_ done: Int, _ what: String) {
            guard !quiet, StandardError.isTerminal else { return }
            StandardError.write("\r\u{1B}[Kcatalog import: \(done) \(what)")
        }
    }

    /// `casebook catalog dependents NAME... [--from T1 --to T2]`.
    struct Dependents: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Releases in the imported catalog that require a project, optionally uploaded in a time range, with what changed in their requirements."
        )
        @Argument(help: "Required project names.") var names: [String]
        @Option(help: "Releases uploaded at or after this time (ISO 8601, UTC).") var from: String?
        @Option(help: "Releases uploaded before this time (ISO 8601, UTC).") var to: String?
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let from = try self.from.map { t in
                guard let e = UTCTime.parse(t) else { throw ValidationError("--from: expected an ISO 8601 time, found `\(t)`") }
                return e
            }
            let to = try self.to.map { t in
                guard let e = UTCTime.parse(t) else { throw ValidationError("--to: expected an ISO 8601 time, found `\(t)`") }
                return e
            }
            guard let store = try storeOptions.openReadStore() as? any CatalogStore else {
                throw CLIError(
                    "the store \(storeOptions.displayLocation) keeps no catalog: import one into a SQLite, PostgreSQL (Casebook's layout) or ClickHouse store (`casebook catalog import DIR --store ...`)"
                )
            }
            guard let catalog = try store.importedCatalog() else {
                throw CLIError("the store \(storeOptions.displayLocation) has no imported catalog: run `casebook catalog import DIR` first")
            }
            let releases = try store.dependentReleases(of: names, from: from, to: to)
            let range =
                (from == nil && to == nil)
                ? "" : " uploaded \(from.map(UTCTime.isoString) ?? "any time") to \(to.map(UTCTime.isoString) ?? "now")"
            print("\(releases.count) releases require \(names.map(ProjectName.normalize).joined(separator: ", "))\(range)")
            for r in releases {
                let when = r.uploadTime.map(UTCTime.isoString) ?? "no upload time      "
                var line = "  \(when)  \(r.project) \(r.version): \(r.requirement)"
                if let previous = CatalogCommand.previousRelease(of: r.project, before: r.version, in: catalog),
                    let diff = try? catalog.requirementDiff(project: r.project, from: previous, to: r.version)
                {
                    if let change = diff.changed.first(where: { $0.to.normalizedName == r.requires }) {
                        line += "  (changed from \(change.from) in \(previous))"
                    } else if diff.added.contains(where: { $0.normalizedName == r.requires }) {
                        line += "  (added since \(previous))"
                    } else {
                        line += "  (as in \(previous))"
                    }
                }
                print(line)
            }
        }
    }

    /// The release before `version` whose requirements the catalog knows.
    static func previousRelease(of project: String, before version: String, in catalog: any PackageCatalog) -> String? {
        guard let releases = try? catalog.releases(of: project), let i = releases.firstIndex(where: { $0.versionText == version }) else {
            return nil
        }
        return releases[..<i].last { (try? catalog.requirements(of: project, version: $0.versionText, for: nil)) != nil }?.versionText
    }

    /// The catalog a command reads: `--catalog DIR`, else the store's imported one, else ./catalog.
    static func open(explicit: String?, storeOptions: StoreOptions) throws -> any PackageCatalog {
        var store: Any = ()
        if explicit == nil, ClickHouseStores.isURL(storeOptions.location) {
            // A database without Casebook's tables has no imported catalog (as a missing SQLite file).
            do { store = try ClickHouseStores.openRead(storeOptions.location) } catch ClickHouseStoreError.storeMissing {
            } catch let e as ClickHouseStoreError { throw CLIError(e.description) }
        } else if explicit == nil, PostgresStores.isURL(storeOptions.location) {
            // A server without Casebook's schema has no imported catalog (as a missing SQLite file).
            do { store = try PostgresStores.openRead(storeOptions.location) } catch PostgresStoreError.tableMissing {
            } catch let e as PostgresStoreError { throw CLIError(e.description) }
        } else if explicit == nil, FileManager.default.fileExists(atPath: storeOptions.location) {
            store = try storeOptions.openExistingSQLite(readOnly: true)
        }
        guard let choice = try CatalogChoice.resolve(explicit: explicit, store: store).catalog else {
            throw CLIError(
                "no catalog: give --catalog DIR (a folder of PyPI JSON documents), import one into the store (`casebook catalog import DIR`), or create ./catalog (`casebook catalog fetch NAME...`)"
            )
        }
        do { return try choice.open() } catch { throw CLIError(error.description) }
    }
}
