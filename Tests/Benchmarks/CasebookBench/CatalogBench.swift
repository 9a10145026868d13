import CasebookCore
import CasebookSQLite
import CasebookSimulation
import Foundation

/// `casebook-bench catalog`: the imported package catalog against the folder of documents it
/// replaces (issue 16). Everything is run through the `casebook` executable, as a user runs it.
///
/// 1. **An index of 2,000 projects** (the founding case's simulated store and catalog, plus
///    generated projects to 2,000, about 25,000 documents): `casebook run` of the shipped
///    playbook with `--catalog DIR` (the folder read once per run), then `casebook catalog
///    import DIR` (documents/s; and again, to show a second import adds nothing), then the
///    same run on the imported catalog. Per-step seconds come from the run's own step lines.
/// 2. **A whole index**: the simulator's synthetic index (default 300,000 projects, 3 million
///    releases) written as NDJSON metadata rows, imported with `casebook catalog import FILE`
///    (rows/s, peak memory, size on disk), then reverse-dependency queries for four names
///    over 14 days: in-process through the store (cold, then the median of 20), and the whole
///    `casebook catalog dependents` command.
///
///     swift build -c release --product casebook --product casebook-bench
///     .build/release/casebook-bench catalog [--dir DIR] [--index-projects 2000] [--projects 300000]
///         [--releases 3000000] [--skip-index] [--skip-scale] [--reuse] [--casebook PATH]
enum CatalogBench {
    struct Options {
        var dir = "/tmp/casebook-catalog-bench"
        var scenario = "examples/piwheels-2020-03/scenario.yaml"
        var playbook = "playbooks/downloads-spike.yaml"
        var indexProjects = 2000
        var indexDocuments = 25_000
        var projects = 300_000
        var releases = 3_000_000
        var index = true
        var scale = true
        var reuse = false
        var casebook: String

        init(_ argv: [String]) throws {
            casebook =
                URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
                .appendingPathComponent("casebook").path
            var it = argv.makeIterator()
            while let a = it.next() {
                switch a {
                case "--dir": dir = it.next() ?? dir
                case "--scenario": scenario = it.next() ?? scenario
                case "--playbook": playbook = it.next() ?? playbook
                case "--index-projects": indexProjects = Int(it.next() ?? "") ?? indexProjects
                case "--index-documents": indexDocuments = Int(it.next() ?? "") ?? indexDocuments
                case "--projects": projects = Int(it.next() ?? "") ?? projects
                case "--releases": releases = Int(it.next() ?? "") ?? releases
                case "--skip-index": index = false
                case "--skip-scale": scale = false
                case "--reuse": reuse = true
                case "--casebook": casebook = it.next() ?? casebook
                case "-h", "--help":
                    print(
                        "usage: casebook-bench catalog [--dir DIR] [--index-projects N] [--index-documents N] [--projects N] [--releases N] [--skip-index] [--skip-scale] [--reuse] [--casebook PATH]"
                    )
                    exit(0)
                default: throw SpawnError(description: "unknown argument \(a)")
                }
            }
        }
    }

    static func main(_ argv: [String]) throws {
        let o = try Options(argv)
        guard FileManager.default.isExecutableFile(atPath: o.casebook) else {
            throw SpawnError(
                description: "\(o.casebook) is not built: run `swift build -c release --product casebook` first (or pass --casebook PATH)")
        }
        try FileManager.default.createDirectory(atPath: o.dir, withIntermediateDirectories: true)
        print("casebook-bench catalog: \(o.casebook)")
        if o.index { try indexRun(o) }
        if o.scale { try scaleRun(o) }
    }

    // MARK: - An index of 2,000 projects

    static func indexRun(_ o: Options) throws {
        let fm = FileManager.default
        let input = o.dir + "/input"
        let store = o.dir + "/index.sqlite"
        let catalog = o.dir + "/index-catalog"
        if !o.reuse || !fm.fileExists(atPath: store) {
            for p in [input, catalog, store, store + "-wal", store + "-shm"] { try? fm.removeItem(atPath: p) }
            print("\n## Preparing: the founding case's store and a catalog of \(o.indexProjects) projects")
            let sim = try measure([o.casebook, "simulate", o.scenario, "--out", input], scratch: o.dir)
            print(String(format: "simulate: %.1f s", sim.seconds))
            let logs = try fm.contentsOfDirectory(atPath: input + "/logs").sorted().map { input + "/logs/" + $0 }
            let ingest = try measure([o.casebook, "ingest"] + logs + ["--store", store, "--index", "piwheels"], scratch: o.dir)
            print(String(format: "ingest: %.1f s", ingest.seconds))
            // Generated projects up to the index's size, then the scenario's own documents over them.
            let scenarioProjects = try fm.contentsOfDirectory(atPath: input + "/catalog/pypi")
            // Generated names the scenario also has are replaced by its documents: generate enough for the size.
            let taken = Set(scenarioProjects)
            var generated = max(0, o.indexProjects - scenarioProjects.count)
            let namer = SyntheticIndex(projects: 1, releases: 1)
            while (0..<generated).filter({ !taken.contains(namer.name($0)) }).count + taken.count < o.indexProjects { generated += 1 }
            let perProject = max(1.0, Double(o.indexDocuments) / Double(max(1, o.indexProjects)) - 1)
            let index = SyntheticIndex(projects: generated, releases: Int(Double(generated) * perProject), seed: 16)
            try index.writeDocuments(to: catalog)
            for name in scenarioProjects {
                try? fm.removeItem(atPath: catalog + "/pypi/" + name)
                try fm.copyItem(atPath: input + "/catalog/pypi/" + name, toPath: catalog + "/pypi/" + name)
            }
        }
        try? fm.removeItem(atPath: input + "/logs")
        let (documents, bytes) = try countDocuments(catalog + "/pypi")
        let projects = try fm.contentsOfDirectory(atPath: catalog + "/pypi").count
        print(
            "\n## An index of \(projects) projects: \(documents) documents, \(String(format: "%.0f", Double(bytes) / 1_048_576)) MB")

        // `--catalog DIR` comes before an imported catalog: the folder, read once per run.
        let folderRun = try measure(
            [o.casebook, "run", o.playbook, "--store", store, "--catalog", catalog, "--out", o.dir + "/report-folder"], scratch: o.dir)
        let importRun = try measure([o.casebook, "catalog", "import", catalog, "--store", store, "--quiet"], scratch: o.dir)
        let again = try measure([o.casebook, "catalog", "import", catalog, "--store", store, "--quiet"], scratch: o.dir)
        let importedRun = try measure(
            [o.casebook, "run", o.playbook, "--store", store, "--out", o.dir + "/report-imported"], scratch: o.dir)

        print(
            String(
                format: "catalog import: %.2f s, %.0f documents/s, %.0f MiB peak; again: %.2f s (%@)", importRun.seconds,
                Double(documents) / importRun.seconds, importRun.peakMiB, again.seconds, lastLine(again.stdout)))
        let a = stepSeconds(folderRun.stderr)
        let b = stepSeconds(importedRun.stderr)
        print("\n| step | folder (read once per run) | imported catalog |")
        print("|---|---:|---:|")
        for (step, s) in a {
            print(String(format: "| %@ | %.2f s | %@ |", step, s, b.first { $0.0 == step }.map { String(format: "%.2f s", $0.1) } ?? "-"))
        }
        print(String(format: "| whole `casebook run` (process) | %.2f s | %.2f s |", folderRun.seconds, importedRun.seconds))
        print(String(format: "| peak memory | %.0f MiB | %.0f MiB |", folderRun.peakMiB, importedRun.peakMiB))
        let same = try sameConclusions(o.dir + "/report-folder/report.md", o.dir + "/report-imported/report.md")
        print("reports: \(same ? "the same findings from both catalogs" : "the findings DIFFER (compare the two report.md)")")
    }

    // MARK: - A whole index

    static func scaleRun(_ o: Options) throws {
        let fm = FileManager.default
        let rows = o.dir + "/index-rows.ndjson"
        let store = o.dir + "/scale.sqlite"
        print("\n## A whole index: \(o.projects) projects, \(o.releases) releases, as metadata rows")
        if !o.reuse || !fm.fileExists(atPath: rows) {
            let started = Date()
            let n = try SyntheticIndex(projects: o.projects, releases: o.releases, seed: 300).writeRows(to: rows)
            print(String(format: "written: %d rows in %.1f s", n, Date().timeIntervalSince(started)))
        }
        let rowBytes = (try fm.attributesOfItem(atPath: rows)[.size] as? Int) ?? 0
        let rowCount = try lineCount(rows)
        for p in [store, store + "-wal", store + "-shm"] { try? fm.removeItem(atPath: p) }
        let imported = try measure([o.casebook, "catalog", "import", rows, "--store", store, "--quiet"], scratch: o.dir)
        let onDisk = [store, store + "-wal"].compactMap { (try? fm.attributesOfItem(atPath: $0)[.size]) as? Int }.reduce(0, +)
        print(
            String(
                format: "import: %d rows (%.0f MB) in %.1f s: %.0f rows/s, %.0f releases/s; peak %.0f MiB; store %.0f MB on disk",
                rowCount, Double(rowBytes) / 1e6, imported.seconds, Double(rowCount) / imported.seconds,
                Double(o.releases) / imported.seconds, imported.peakMiB, Double(onDisk) / 1e6))

        let names = ["flask-login", "markdown", "sentry-sdk", "semantic-version"]
        let from = UTCTime.parse("2020-03-01T00:00:00Z")!
        let to = from + 14 * 86400
        let sqlite = try SQLiteEventStore(path: store, readOnly: true)
        var times: [Double] = []
        var found = 0
        for _ in 0..<21 {
            let t = DispatchTime.now().uptimeNanoseconds
            found = try sqlite.dependentReleases(of: names, from: from, to: to).count
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
        }
        let warm = times.dropFirst().sorted()
        print(
            String(
                format: "reverse dependencies of 4 names over 14 days: %d releases; first query %.1f ms, then median %.1f ms (max %.1f ms)",
                found, times[0], warm[warm.count / 2], warm.last ?? 0))
        let command = try measure(
            [o.casebook, "catalog", "dependents"] + names + ["--from", "2020-03-01", "--to", "2020-03-15", "--store", store], scratch: o.dir
        )
        print(String(format: "`casebook catalog dependents` (4 names, 14 days, whole process): %.2f s", command.seconds))
    }

    // MARK: - Helpers

    static func countDocuments(_ dir: String) throws -> (Int, Int) {
        var documents = 0
        var bytes = 0
        let e = FileManager.default.enumerator(atPath: dir)
        while let p = e?.nextObject() as? String {
            guard p.hasSuffix("json") else { continue }
            documents += 1
            bytes += ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + p)[.size]) as? Int) ?? 0
        }
        return (documents, bytes)
    }

    static func lineCount(_ path: String) throws -> Int {
        guard let h = FileHandle(forReadingAtPath: path) else { throw SpawnError(description: "cannot read \(path)") }
        var n = 0
        while let d = try h.read(upToCount: 1 << 22), !d.isEmpty { n += d.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } }
        return n
    }

    /// `[3/10] index_source: ok in 0.12 s` → (index_source, 0.12), in order.
    static func stepSeconds(_ stderr: String) -> [(String, Double)] {
        stderr.split(separator: "\n").compactMap { line -> (String, Double)? in
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]"), let colon = line.firstIndex(of: ":"),
                let inRange = line.range(of: " in ", options: .backwards), line.hasSuffix(" s")
            else { return nil }
            let id = line[line.index(after: close)..<colon].trimmingCharacters(in: .whitespaces)
            guard let s = Double(line[inRange.upperBound...].dropLast(2)) else { return nil }
            return (id, s)
        }
    }

    static func lastLine(_ s: String) -> String {
        s.split(separator: "\n").last.map(String.init) ?? ""
    }

    /// The two reports say the same, apart from the command that made them and when.
    static func sameConclusions(_ a: String, _ b: String) throws -> Bool {
        func lines(_ p: String) throws -> [String] {
            try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n").map {
                $0.replacingOccurrences(of: #"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC"#, with: "", options: .regularExpression)
            }.filter { !$0.contains("casebook run") && !$0.hasPrefix("| Generated |") }
        }
        return try lines(a) == lines(b)
    }
}
