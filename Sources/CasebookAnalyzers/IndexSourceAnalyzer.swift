import CasebookAnalysis
import CasebookCatalog
import CasebookCore
import Foundation

/// `index-source`: for each file the contributors fetched in a window, whether the reference
/// index (the catalog: PyPI) served an equally good wheel for the clients that fetched it here.
///
/// A client that lists this index only as an *extra* index (pip before 21, PyPI primary) takes
/// the primary index's file when both offer equally good ones. So when the reference index had
/// a wheel at least as good as the file fetched here, for that client's Python and platform,
/// the download here means the client uses this index as its *primary* index. When the
/// reference index had no compatible wheel (an sdist only, or a `requires_python` that
/// excludes the client), or this index's file fits the client better, the download is expected.
public struct IndexSourceAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "index-source",
        summary:
            "Whether the reference index (the catalog) had an equally good wheel for each contributing file: clients that still fetched it here use this index as their primary index.",
        discussion: """
            Needs the package-metadata catalog (`--catalog DIR`). For the files of `contributors` \
            fetched in the window (largest excess first, at most `max_files`), the clients' Python, \
            cpu, system and implementation come from the store; for each such client the catalog says \
            which wheel of that release its pip would pick from the reference index \
            (`PackageCatalog.hasCompatibleWheel`). Downloads for which that wheel ranks at least as well as the \
            fetched file are evidence of primary-index clients; downloads where the reference index had \
            no compatible wheel, or a worse one, are expected on this index. `primaryShare` is the share \
            of the contributors' excess covered by the first kind. Downloads by pip 21 or later are left \
            out of that evidence (pip 21 no longer prefers the primary index on a tie). The store keeps no \
            C library version, so Linux clients are assumed to have glibc `assume_glibc` for manylinux wheels.
            """,
        parameters: [
            ParameterSpec(
                "window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list (the first is used)."),
            ParameterSpec(
                "contributors", .any, doc: "The contributors: the contributors step's `values` or `contributors` (values of `dimension`)."),
            ParameterSpec("dimension", .dimension, default: "project", doc: "The dimension the contributors' values belong to."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
            ParameterSpec(
                "baseline_days", .int, default: 14, range: .between(1, 366), doc: "Whole days before the window that make its baseline."),
            ParameterSpec(
                "max_files", .int, default: 25, range: .atLeast(1), doc: "Examine at most this many files (largest excess first)."),
            ParameterSpec(
                "min_file_share", .number, default: 0.01, range: .share,
                doc: "Examine only files with at least this share of the contributors' excess."),
            ParameterSpec(
                "min_share", .number, default: 0.1, range: .share,
                doc: "`primaryIndex` is true when files the reference index also had explain at least this share of the excess."),
            ParameterSpec("reference", .string, default: "PyPI", doc: "The reference index's name, for the findings."),
            ParameterSpec(
                "assume_glibc", .string, default: "2.17", optional: true,
                doc: "glibc version assumed for Linux clients (manylinux wheels); null accepts no manylinux wheel.")
        ],
        outputs: [
            OutputSpec(
                "primaryIndex", .bool,
                doc:
                    "True when at least `min_share` of the contributors' excess is files the reference index also served as equally good wheels: these clients use this index as their primary index."
            ),
            OutputSpec(
                "primaryShare", .number,
                doc: "Share (0–1) of the contributors' excess explained by files the reference index also had as equally good wheels."),
            OutputSpec(
                "expectedShare", .number,
                doc: "Share (0–1) of the contributors' excess in files the reference index had no equally good wheel for (expected here)."),
            OutputSpec(
                "files", .list(.object),
                doc:
                    "Per file: `{project, version, filename, downloads, excess, referenceWheel (filename or null), kind (universal/pure/platform/none), verdict (primary-index/expected/mixed/unknown), primaryShare, clients}`."
            )
        ],
        examples: [
            AnalyzerExample(
                "PyPI had the same universal wheel: a primary index",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "contributors": ["alpha"]],
                data: ExampleData(
                    downloads: [
                        .init(
                            "alpha-1.0-py2.py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 1, clients: 50,
                            client: .init(python: "2.7.16", cpu: "armv7l")),
                        .init(
                            "alpha-1.0-py2.py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 300, clients: 50,
                            client: .init(python: "2.7.16", cpu: "armv7l"))
                    ],
                    catalog: [
                        .init(
                            "alpha", [.init("1.0", "2019-05-20T10:00:00Z", files: ["alpha-1.0-py2.py3-none-any.whl", "alpha-1.0.tar.gz"])])
                    ]),
                expect: [
                    "primaryIndex": true, "primaryShare": 1.0,
                    "files": .contains([["project": "alpha", "verdict": "primary-index", "kind": "universal"]])
                ],
                finding: "primary index"),
            AnalyzerExample(
                "PyPI had only an sdist: the downloads are expected here",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "contributors": ["beta"]],
                data: ExampleData(
                    downloads: [
                        .init(
                            "beta-0.4-py2.py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 1, clients: 50,
                            client: .init(python: "2.7.16", cpu: "armv7l")),
                        .init(
                            "beta-0.4-py2.py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 300, clients: 50,
                            client: .init(python: "2.7.16", cpu: "armv7l"))
                    ],
                    catalog: [.init("beta", [.init("0.4", "2017-12-02T10:00:00Z", files: ["beta-0.4.tar.gz"])])]),
                expect: [
                    "primaryIndex": false, "primaryShare": 0.0,
                    "files": .contains([["project": "beta", "verdict": "expected", "referenceWheel": nil]])
                ],
                finding: "expected")
        ])

    public init() {}

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let dimension = try context.dimension("dimension")
        let values = try context.contributorValues("contributors", dimension: dimension)
        let catalog = try context.openCatalog(for: Self.description.name)
        guard !values.isEmpty else {
            return AnalyzerResult(
                outputs: ["primaryIndex": .bool(false), "primaryShare": .double(0), "expectedShare": .double(0), "files": .array([])],
                findings: [noContributorsFinding(window, what: "files")])
        }
        let baselineDays = max(1, try context.int("baseline_days"))
        let maxFiles = max(1, Int(try context.int("max_files")))
        let minShare = try context.number("min_share")
        let minFileShare = try context.number("min_file_share")
        let reference = try context.string("reference")
        let glibc = context.value("assume_glibc")?.stringValue
        let filters = ContributorTraffic.filters(try context.filters("filter"), dimension: dimension, values: values)

        let traffic = try await ContributorTraffic.load(context, window: window, filters: filters, baselineDays: baselineDays)
        let totalExcess = traffic.excess
        guard totalExcess > 0 else {
            return AnalyzerResult(
                outputs: ["primaryIndex": .bool(false), "primaryShare": .double(0), "expectedShare": .double(0), "files": .array([])],
                findings: [
                    Finding(
                        title: "No excess to trace to an index",
                        summary:
                            "The contributors have no excess in \(window.label) over their baseline, so where their files came from says nothing about the window.",
                        confidence: .medium)
                ])
        }

        // Downloads by pip 21 or later per file: pip 21 no longer prefers the primary index on a tie.
        let installers = try await context.aggregate(
            AggregateQuery(
                dimensions: [.project, .version, .filename, .installer, .installerVersion],
                filters: filters, range: TimeRange(from: window.start, to: window.end)))
        var modernPip: [[String?]: Double] = [:]
        for r in installers.rows where r.values[3] == "pip" {
            if let v = r.values[4], let major = Int(v.prefix { $0.isNumber }), major >= 21 {
                modernPip[Array(r.values.prefix(3)), default: 0] += Double(r.downloads)
            }
        }

        struct FileResult {
            var file: ContributorTraffic.File
            var primary = 0.0, expected = 0.0, unknown = 0.0
            var referenceWheel: String?
            var kind = "none"
            var reason = ""
            var verdict: String {
                let known = primary + expected
                if known == 0 { return "unknown" }
                return primary / known >= 0.8 ? "primary-index" : expected / known >= 0.8 ? "expected" : "mixed"
            }
            var primaryFraction: Double { primary + expected + unknown > 0 ? primary / (primary + expected + unknown) : 0 }
            var expectedFraction: Double { primary + expected + unknown > 0 ? expected / (primary + expected + unknown) : 0 }
        }
        var results: [FileResult] = []
        var notInCatalog = Set<String>()
        var unversioned = Set<String>()
        for file in traffic.files.filter({ $0.excess > 0 && $0.excess >= minFileShare * totalExcess }).prefix(maxFiles) {
            var r = FileResult(file: file)
            let fetchedWheel = file.filename.flatMap { try? WheelFilename($0) }
            let unknownProfile = max(0, file.window - file.profiles.values.reduce(0, +))
            r.unknown += unknownProfile
            // Leave pip ≥ 21 downloads out of the evidence, spread evenly over the profiles.
            let modern = modernPip[[file.project, file.version, file.filename]] ?? 0
            let keep = file.window > 0 ? max(0, 1 - modern / file.window) : 1
            r.unknown += modern
            guard let version = file.version, catalog.knows(file.project),
                (try? catalog.files(of: file.project, version: version)) != nil
            else {
                r.unknown += file.profiles.values.reduce(0, +) * keep
                if file.version == nil && catalog.knows(file.project) {
                    r.reason = "no version in the data"
                    unversioned.insert(file.project)
                } else {
                    r.reason =
                        catalog.knows(file.project) ? "release \(file.version ?? "?") not in the catalog" : "project not in the catalog"
                    notInCatalog.insert(file.project)
                }
                results.append(r)
                continue
            }
            var dominant: (ClientPlatform, Double)?
            for (profile, n) in file.profiles.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                let env = profile.environment(glibc: glibc)
                let match = try? catalog.hasCompatibleWheel(project: file.project, version: version, for: env)
                var fetchedRank = Int.max
                if let fetchedWheel {
                    let supported = env.supportedTags()
                    fetchedRank = fetchedWheel.tags.compactMap { supported.firstIndex(of: $0) }.min() ?? Int.max
                }
                if let match, match.rank <= fetchedRank { r.primary += n * keep } else { r.expected += n * keep }
                if dominant == nil {
                    dominant = (profile, n)
                    r.referenceWheel = match?.file.filename
                    r.kind = match?.kind.rawValue ?? "none"
                    if let match {
                        r.reason =
                            match.rank <= fetchedRank
                            ? "\(reference) had \(match.file.filename) (\(match.kind.rawValue)) for \(profile.label): at least as good as the file fetched here"
                            : "\(reference)'s best wheel for \(profile.label), \(match.file.filename), fits worse than the file fetched here"
                    } else {
                        let hasWheel = ((try? catalog.files(of: file.project, version: version)) ?? []).contains(where: \.isWheel)
                        r.reason =
                            hasWheel
                            ? "\(reference)'s wheels of \(version) do not fit \(profile.label)"
                            : "\(reference) had no wheel of \(version) (sdist only)"
                        // The first later release with a wheel that fits, if any.
                        let later = ((try? catalog.releases(of: file.project)) ?? []).filter { r in
                            guard let v = r.version, let current = Version.parse(version) else { return false }
                            return v > current && r.hasWheel
                        }
                        if let next = later.first(where: {
                            (try? catalog.hasCompatibleWheel(project: file.project, version: $0.versionText, for: env)) != nil
                        }) {
                            r.reason += "; its first release with a fitting wheel there is \(next.versionText)"
                        }
                    }
                }
            }
            results.append(r)
        }

        let primaryExcess = results.reduce(0) { $0 + max(0, $1.file.excess) * $1.primaryFraction }
        let expectedExcess = results.reduce(0) { $0 + max(0, $1.file.excess) * $1.expectedFraction }
        let primaryShare = min(1, primaryExcess / totalExcess)
        let expectedShare = min(1, expectedExcess / totalExcess)
        let primaryIndex = primaryShare >= minShare

        func name(_ f: ContributorTraffic.File) -> String { f.filename ?? "\(f.project) \(f.version ?? "")" }
        let fileValues: [Value] = results.map { r in
            .object([
                "project": .string(r.file.project), "version": r.file.version.map(Value.string) ?? .null,
                "filename": r.file.filename.map(Value.string) ?? .null, "downloads": .int(Int64(r.file.window)),
                "excess": .int(Int64(r.file.excess.rounded())), "referenceWheel": r.referenceWheel.map(Value.string) ?? .null,
                "kind": .string(r.kind), "verdict": .string(r.verdict), "primaryShare": .double(round3(r.primaryFraction)),
                "clients": .string(describeProfiles(r.file.profiles))
            ])
        }
        let table = EvidenceTable(
            title: "Contributing files in \(window.label) and \(reference)'s best wheel for the clients that fetched them",
            columns: ["file", "downloads", "excess", "clients", "\(reference) wheel", "kind", "verdict", "why"],
            rows: results.map { r in
                [
                    .string(name(r.file)), .int(Int64(r.file.window)), .int(Int64(r.file.excess.rounded())),
                    .string(describeProfiles(r.file.profiles)),
                    r.referenceWheel.map(Value.string) ?? .string("none"), .string(r.kind), .string(r.verdict), .string(r.reason)
                ]
            })
        let primaryFiles = results.filter { $0.verdict == "primary-index" }
        let expectedFiles = results.filter { $0.verdict == "expected" }
        func list(_ rs: [FileResult]) -> String {
            let names = rs.map { name($0.file) }
            return Describe.list(names)
        }
        var findings: [Finding] = []
        let evidence: [Evidence] = [
            .table(table),
            .number(label: "share of the excess in files \(reference) also had", value: round3(primaryShare), unit: "share"),
            .number(label: "share of the excess expected here", value: round3(expectedShare), unit: "share"),
            .count("contributors' excess", Int64(totalExcess.rounded()))
        ]
        if primaryIndex {
            var summary =
                (results.count == 1
                    ? "The one contributing file"
                    : primaryFiles.count == results.count
                        ? "All \(results.count) contributing files" : "\(primaryFiles.count) of the \(results.count) contributing files")
                + " (\(Describe.percent(primaryShare)) of the contributors' excess of \(Describe.count(totalExcess)) downloads) \(primaryFiles.count == 1 ? "was" : "were") also on \(reference) as \(primaryFiles.count == 1 ? "an equally good wheel for the clients that fetched it" : "equally good wheels for the clients that fetched them") here (\(list(primaryFiles))). "
            summary +=
                "A client that uses this index only as an extra index (pip before 21, \(reference) primary) takes \(reference)'s file on such a tie, so these clients use this index as their primary index."
            if !expectedFiles.isEmpty {
                summary +=
                    " For \(list(expectedFiles)) \(reference) had no equally good wheel for these clients, so fetching \(expectedFiles.count == 1 ? "it" : "them") here is expected (\(Describe.percent(expectedShare)) of the excess)."
            }
            findings.append(
                Finding(
                    title: "The clients use this index as their primary index",
                    summary: summary, evidence: evidence,
                    confidence: Confidence(primaryShare >= 0.5 ? 0.85 : 0.65),
                    openQuestions: [
                        "Why do these clients list this index as their primary index (an image's pip.conf, a tool's --index-url)?"
                    ]))
        } else if expectedShare > 0 || primaryShare > 0 || (notInCatalog.isEmpty && unversioned.isEmpty) {
            // Said only when some file's verdict is known: with none, the catalog finding below
            // is all there is to say.
            findings.append(
                Finding(
                    title: "The downloads here are expected",
                    summary:
                        "\(Describe.percent(expectedShare)) of the contributors' excess is in files \(reference) had no equally good wheel for, for the clients that fetched them (\(expectedFiles.isEmpty ? "none" : list(expectedFiles))): a client with this index as an extra index would fetch them here too. Files \(reference) also had explain only \(Describe.percent(primaryShare)) of the excess, so nothing shows these clients use this index as their primary index.",
                    evidence: evidence, confidence: .medium))
        }
        if !notInCatalog.isEmpty {
            findings.append(
                Finding(
                    title: "Some contributors are not in the catalog",
                    summary:
                        "The catalog has no release document for \(Describe.list(notInCatalog.sorted())), so whether \(reference) had their files is unknown.",
                    evidence: [.note("Fetch them with `casebook catalog fetch \(notInCatalog.sorted().joined(separator: " "))`.")],
                    confidence: .high))
        }
        if !unversioned.isEmpty {
            findings.append(
                Finding(
                    title: "The data has no versions",
                    summary:
                        "The downloads of \(Describe.list(unversioned.sorted())) carry no version (daily counts, for instance), so which files were fetched, and whether \(reference) had them, cannot be told.",
                    confidence: .high))
        }
        return AnalyzerResult(
            outputs: [
                "primaryIndex": .bool(primaryIndex), "primaryShare": .double(round3(primaryShare)),
                "expectedShare": .double(round3(expectedShare)), "files": .array(fileValues)
            ],
            findings: findings)
    }
}
