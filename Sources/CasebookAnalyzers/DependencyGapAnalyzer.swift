import CasebookAnalysis
import CasebookCatalog
import CasebookCore
import Foundation

/// `dependency-gap`: did the contributors' dependencies move with them?
///
/// A fresh install fetches a package *and* whatever of its dependencies the environment lacks;
/// an upgrade inside an existing environment fetches only the package, its dependencies being
/// already satisfied. So when the contributors jumped and their dependencies stayed flat, the
/// downloads are upgrades into existing environments, not fresh installs.
public struct DependencyGapAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "dependency-gap",
        summary:
            "Whether the contributors' dependencies moved with them: a gap means upgrades into existing environments, not fresh installs.",
        discussion: """
            Needs the package-metadata catalog (`--catalog DIR`). For every version of the contributors \
            fetched in the window (those with at least 10% of a project's window downloads), the catalog's \
            requirements are read with markers evaluated for the clients that fetched it (their Python, \
            platform and implementation, from the store; extras ignored). Each direct dependency's \
            downloads in the window are compared with its baseline (the `baseline_days` days before, \
            scaled to the window). A dependency *follows* a contributor when its excess is a good part of \
            that contributor's excess (`follow`: dependency excess / the largest excess among the \
            contributors requiring it). `gap` is true when the contributors rose by at least `min_ratio` \
            and their dependencies together followed less than `follow_threshold` of it.
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
                "min_ratio", .number, default: 1.5, range: .atLeast(1),
                doc: "The contributors count as having jumped when window / baseline is at least this."),
            ParameterSpec(
                "follow_threshold", .number, default: 0.2, range: .share,
                doc: "Dependencies that together gained less than this share of the contributors' excess are flat: a gap.")
        ],
        outputs: [
            OutputSpec(
                "gap", .bool,
                doc: "True when the contributors jumped and their dependencies stayed flat: upgrades into existing environments."),
            OutputSpec(
                "dependencies", .list(.object),
                doc:
                    "Per contributor and dependency: `{project (the contributor), version, dependency, requirement, baseline, window, ratio (null without baseline), excess, follow, contributor (whether the dependency is itself a contributor)}`."
            ),
            OutputSpec(
                "contributorRatio", .number,
                doc: "The contributors' window downloads / their baseline (scaled to the window); null when they had no baseline."),
            OutputSpec(
                "followShare", .number, doc: "The dependencies' excess / the excess of the contributors requiring them (0–1, capped)."),
            OutputSpec("unknown", .list(.string), doc: "Contributor releases whose requirements the catalog does not know.")
        ],
        examples: [
            AnalyzerExample(
                "The contributor jumped, its dependency stayed flat: upgrades",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "contributors": ["alpha"]],
                data: ExampleData(
                    downloads: [
                        .init("alpha-1.0-py2.py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 2, clients: 50),
                        .init("alpha-1.0-py2.py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 300, clients: 50),
                        .init("base-1.1-py2.py3-none-any.whl", from: "2020-02-19", days: 17, perDay: 16, clients: 50)
                    ],
                    catalog: [
                        .init(
                            "alpha",
                            [.init("1.0", "2019-05-20T10:00:00Z", requires: ["base>=1.0"], files: ["alpha-1.0-py2.py3-none-any.whl"])]),
                        .init("base", [.init("1.1", "2019-01-01T00:00:00Z", files: ["base-1.1-py2.py3-none-any.whl"])])
                    ]),
                expect: [
                    "gap": true, "contributorRatio": 150.0,
                    "dependencies": .contains([["project": "alpha", "dependency": "base", "baseline": 48, "window": 48]])
                ],
                finding: "upgrades, not fresh installs"),
            AnalyzerExample(
                "The dependency rose with it: fresh installs",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "contributors": ["alpha"]],
                data: ExampleData(
                    downloads: [
                        .init("alpha-1.0-py2.py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 2, clients: 50),
                        .init("alpha-1.0-py2.py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 300, clients: 50),
                        .init("base-1.1-py2.py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 16, clients: 50),
                        .init("base-1.1-py2.py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 314, clients: 50)
                    ],
                    catalog: [
                        .init(
                            "alpha",
                            [.init("1.0", "2019-05-20T10:00:00Z", requires: ["base>=1.0"], files: ["alpha-1.0-py2.py3-none-any.whl"])]),
                        .init("base", [.init("1.1", "2019-01-01T00:00:00Z", files: ["base-1.1-py2.py3-none-any.whl"])])
                    ]),
                expect: ["gap": false],
                finding: "fresh installs")
        ])

    public init() {}

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let dimension = try context.dimension("dimension")
        let values = try context.contributorValues("contributors", dimension: dimension)
        let catalog = try context.openCatalog(for: Self.description.name)
        guard !values.isEmpty else {
            return AnalyzerResult(
                outputs: [
                    "gap": .bool(false), "dependencies": .array([]), "contributorRatio": .null, "followShare": .double(0),
                    "unknown": .array([])
                ],
                findings: [noContributorsFinding(window, what: "packages")])
        }
        let baselineDays = max(1, try context.int("baseline_days"))
        let minRatio = try context.number("min_ratio")
        let followThreshold = try context.number("follow_threshold")
        let baseFilters = try context.filters("filter")
        let filters = ContributorTraffic.filters(baseFilters, dimension: dimension, values: values)

        let traffic = try await ContributorTraffic.load(context, window: window, filters: filters, baselineDays: baselineDays)
        let projects = traffic.projects
        let contributorNames = Set(projects.keys)

        // The contributors' requirements, per fetched version, for the clients that fetched it.
        struct Edge {
            var project: String
            var version: String
            var dependency: String
            var requirement: String
        }
        var edges: [Edge] = []
        var unknown: [String] = []
        for (project, versions) in traffic.versions.sorted(by: { $0.key < $1.key }) {
            let total = versions.values.reduce(0) { $0 + $1.window }
            for (version, v) in versions.sorted(by: { $0.value.window > $1.value.window }) where total > 0 && v.window / total >= 0.1 {
                guard catalog.knows(project) else {
                    unknown.append("\(project) \(version) (project not in the catalog)")
                    continue
                }
                var seen = Set<String>()
                var known = false
                for profile in mainProfiles(v.profiles) {
                    guard let reqs = try? catalog.requirements(of: project, version: version, for: profile.environment(glibc: nil)) else {
                        continue
                    }
                    known = true
                    for r in reqs.applicable where r.normalizedName != project && !seen.contains(r.normalizedName) {
                        seen.insert(r.normalizedName)
                        edges.append(
                            Edge(
                                project: project, version: version, dependency: r.normalizedName,
                                requirement: r.specifier.isEmpty ? "any" : r.specifier.description))
                    }
                }
                if v.profiles.isEmpty, let reqs = try? catalog.requirements(of: project, version: version, for: nil) {
                    known = true
                    for r in reqs.applicable where r.normalizedName != project && !seen.contains(r.normalizedName) {
                        seen.insert(r.normalizedName)
                        edges.append(
                            Edge(
                                project: project, version: version, dependency: r.normalizedName,
                                requirement: r.specifier.isEmpty ? "any" : r.specifier.description))
                    }
                }
                if !known { unknown.append("\(project) \(version)") }
            }
        }
        // Downloads without a version (daily counts, for instance) cannot be matched to requirements.
        let versioned = traffic.versions
        for project in contributorNames.sorted() where versioned[project]?.isEmpty ?? true {
            unknown.append("\(project) (the data has no versions)")
        }

        let dependencyNames = Set(edges.map(\.dependency))
        let movement = try await ProjectMovement.load(
            context, projects: dependencyNames.union(contributorNames), window: window,
            filters: baseFilters, baselineDays: baselineDays)
        let cWindow = traffic.windowTotal
        let cExpected = traffic.expectedTotal
        let contributorRatio = cExpected > 0 ? cWindow / cExpected : (cWindow > 0 ? Double.infinity : 0)
        let jumped = traffic.excess > 0 && contributorRatio >= minRatio

        // How much each dependency followed the contributors requiring it.
        var drivers: [String: Double] = [:]  // dependency → largest excess of a contributor requiring it
        for e in edges {
            drivers[e.dependency] = max(drivers[e.dependency] ?? 0, max(0, projects[e.project].map { $0.window - $0.expected } ?? 0))
        }
        func follow(_ d: String) -> Double {
            guard let m = movement[d], let drive = drivers[d], drive > 0 else { return 0 }
            return min(1, max(0, m.excess) / drive)
        }
        let independent = dependencyNames.subtracting(contributorNames)
        let driveTotal = independent.reduce(0) { $0 + (drivers[$1] ?? 0) }
        let followedTotal = independent.reduce(0) { $0 + min(max(0, movement[$1]?.excess ?? 0), drivers[$1] ?? 0) }
        // Dependencies that are contributors themselves moved by definition.
        let contributorDeps = dependencyNames.intersection(contributorNames)
        let driveAll = driveTotal + contributorDeps.reduce(0) { $0 + (drivers[$1] ?? 0) }
        let followedAll = followedTotal + contributorDeps.reduce(0) { $0 + min(max(0, movement[$1]?.excess ?? 0), drivers[$1] ?? 0) }
        // Judge by the dependencies that are not contributors themselves when there are any: a
        // dependency that is also a contributor moved by definition and tells nothing.
        let followShare = driveTotal > 0 ? min(1, followedTotal / driveTotal) : (driveAll > 0 ? min(1, followedAll / driveAll) : 0)
        let gap = jumped && !dependencyNames.isEmpty && followShare < followThreshold

        func ratioValue(_ m: ProjectMovement?) -> Value { m?.ratio.map { .double(round3($0)) } ?? .null }
        let dependencyValues: [Value] = edges.map { e in
            let m = movement[e.dependency]
            return .object([
                "project": .string(e.project), "version": .string(e.version), "dependency": .string(e.dependency),
                "requirement": .string(e.requirement), "baseline": .int(Int64((m?.expected ?? 0).rounded())),
                "window": .int(Int64(m?.window ?? 0)), "ratio": ratioValue(m), "excess": .int(Int64((m?.excess ?? 0).rounded())),
                "follow": .double(round3(follow(e.dependency))), "contributor": .bool(contributorNames.contains(e.dependency))
            ])
        }

        // Evidence: table, graph, daily series of contributors and dependencies.
        func ratioText(_ r: Double?) -> Value { r.map { .double(round3($0)) } ?? .string("new") }
        var rows: [[Value]] = []
        for (p, pm) in projects.sorted(by: { ($0.value.window - $0.value.expected) > ($1.value.window - $1.value.expected) }) {
            let m = ProjectMovement(window: pm.window, expected: pm.expected)
            rows.append([
                .string(p), .string("(contributor)"), .string(""), .int(Int64(pm.expected.rounded())), .int(Int64(pm.window)),
                ratioText(m.ratio), .double(1)
            ])
            for e in edges where e.project == p {
                let dm = movement[e.dependency]
                rows.append([
                    .string(p), .string(e.dependency), .string(e.requirement), .int(Int64((dm?.expected ?? 0).rounded())),
                    .int(Int64(dm?.window ?? 0)), ratioText(dm?.ratio), .double(round3(follow(e.dependency)))
                ])
            }
        }
        let table = EvidenceTable(
            title: "The contributors and their dependencies, \(window.label) against the \(baselineDays) days before (scaled)",
            columns: ["contributor", "dependency", "requirement", "baseline", "window", "ratio", "follow"], rows: rows)
        var nodes: [EvidenceChart.Node] = []
        for p in contributorNames.sorted() {
            nodes.append(.init(id: p, label: p, group: "contributor", value: projects[p]?.window))
        }
        for d in independent.sorted() {
            nodes.append(
                .init(
                    id: d, label: d,
                    group: (movement[d]?.moved(minRatio: minRatio, minExcess: 0.05 * traffic.excess) ?? false)
                        ? "dependency (moved)" : "dependency", value: movement[d]?.window ?? 0))
        }
        let graph = EvidenceChart(
            kind: .graph, title: "Dependencies of the contributors (value: downloads in \(window.label))", unit: "downloads",
            nodes: nodes, edges: edges.map { .init(from: $0.project, to: $0.dependency, label: $0.requirement) })
        var evidence: [Evidence] = [.table(table), .chart(graph)]
        let dayStart = TimeBucket.day.start(of: window.start) - baselineDays * 86400
        let dayEnd = max(window.end, TimeBucket.day.start(of: window.end - 1) + 86400)
        if !independent.isEmpty {
            let daily = try await context.aggregate(
                AggregateQuery(
                    bucket: .day, dimensions: [.project],
                    filters: baseFilters + [DimensionFilter(.project, .in, contributorNames.union(independent).sorted())],
                    range: TimeRange(from: dayStart, to: dayEnd)))
            var cSeries: [Int64: Double] = [:]
            var dSeries: [Int64: Double] = [:]
            var day = dayStart
            while day < dayEnd {
                cSeries[day] = 0
                dSeries[day] = 0
                day += 86400
            }
            for r in daily.rows {
                guard let b = r.bucketStart, let p = r.values[0] else { continue }
                if contributorNames.contains(p) {
                    cSeries[b, default: 0] += Double(r.downloads)
                } else {
                    dSeries[b, default: 0] += Double(r.downloads)
                }
            }
            evidence.append(
                .chart(
                    EvidenceChart(
                        kind: .line, title: "Daily downloads of the contributors and of their dependencies", unit: "downloads",
                        bucket: .day,
                        series: [
                            .init(
                                name: "contributors",
                                points: cSeries.sorted { $0.key < $1.key }.map { .init(x: UTCTime.isoString($0.key), y: $0.value) }),
                            .init(
                                name: "their dependencies",
                                points: dSeries.sorted { $0.key < $1.key }.map { .init(x: UTCTime.isoString($0.key), y: $0.value) })
                        ],
                        highlights: [.init(start: UTCTime.isoString(window.start), end: UTCTime.isoString(window.end), label: "window")])))
        }
        evidence.append(
            .number(
                label: "contributors: window / baseline", value: round3(contributorRatio.isFinite ? contributorRatio : 0), unit: "ratio"))
        evidence.append(.number(label: "dependencies' excess / contributors' excess", value: round3(followShare), unit: "share"))
        if !unknown.isEmpty { evidence.append(.note("Requirements unknown to the catalog: \(Describe.list(unknown, limit: 20)).")) }

        let flat = independent.filter { follow($0) < followThreshold }.sorted { (movement[$0]?.window ?? 0) > (movement[$1]?.window ?? 0) }
        let moved = independent.filter { follow($0) >= followThreshold }.sorted()
        let ratioWords =
            contributorRatio.isFinite ? String(format: "%.1f×", contributorRatio) : "from nothing to \(Describe.count(cWindow))"
        func example(_ d: String) -> String {
            let m = movement[d]
            return "\(d): \(Describe.count(m?.window ?? 0)) in the window against \(Describe.count(m?.expected ?? 0)) expected"
        }
        var findings: [Finding] = []
        if dependencyNames.isEmpty {
            findings.append(
                Finding(
                    title: "No dependencies to compare",
                    summary: unknown.isEmpty
                        ? "The contributors fetched in \(window.label) have no dependencies for these clients, so a gap cannot be told from a fresh install."
                        : "The catalog does not know the requirements of \(Describe.list(unknown)), so whether their dependencies moved cannot be told.",
                    evidence: evidence, confidence: .low,
                    openQuestions: unknown.isEmpty
                        ? [] : ["Add release documents for these versions to the catalog (`casebook catalog fetch`)."]))
        } else if gap {
            findings.append(
                Finding(
                    title: "The dependencies did not move: upgrades, not fresh installs",
                    summary:
                        "The contributors rose \(ratioWords) in \(window.label) (\(Describe.count(cWindow)) downloads against \(Describe.count(cExpected)) expected), while \(independent.count == 1 ? "their one dependency" : "their \(independent.count) dependencies") gained only \(Describe.percent(followShare)) of the excess of the contributors requiring them (\(flat.prefix(5).map(example).joined(separator: "; "))\(flat.count > 5 ? "; ..." : "")). Fresh installs would have fetched the missing dependencies too: these downloads are upgrades of the contributors into environments that already had their dependencies.",
                    evidence: evidence, confidence: Confidence(followShare < followThreshold / 2 ? 0.85 : 0.7)))
        } else if jumped && independent.isEmpty {
            findings.append(
                Finding(
                    title: "Every dependency is itself a contributor",
                    summary:
                        "The contributors rose \(ratioWords) in \(window.label), and each of their dependencies (\(Describe.list(contributorDeps.sorted()))) is itself a contributor, so it moved by definition. That fits whole requirement sets being installed (fresh installs) as well as a release that pins these dependencies too: this step cannot tell the two apart.",
                    evidence: evidence, confidence: .low,
                    openQuestions: [
                        "Did the clients install everything anew, or upgrade pinned packages? The attribution step weighs both."
                    ]))
        } else if jumped {
            findings.append(
                Finding(
                    title: "The dependencies moved with the contributors: fresh installs",
                    summary:
                        "The contributors rose \(ratioWords) in \(window.label) and their dependencies gained \(Describe.percent(followShare)) of the excess of the contributors requiring them\(moved.isEmpty ? "" : " (\(moved.prefix(6).joined(separator: ", ")))"). Whole requirement sets fetched together look like new installs (a CI farm, new machines, rebuilt environments), not upgrades.",
                    evidence: evidence, confidence: Confidence(followShare >= 0.5 ? 0.8 : 0.6)))
        } else {
            findings.append(
                Finding(
                    title: "The contributors did not jump",
                    summary:
                        "The contributors' downloads in \(window.label) are \(ratioWords) their baseline, below \(String(format: "%.1f", minRatio))×: there is no jump for the dependencies to follow.",
                    evidence: evidence, confidence: .medium))
        }
        return AnalyzerResult(
            outputs: [
                "gap": .bool(gap), "dependencies": .array(dependencyValues),
                "contributorRatio": contributorRatio.isFinite ? .double(round3(contributorRatio)) : .null,
                "followShare": .double(round3(followShare)), "unknown": .array(unknown.map(Value.string))
            ],
            findings: findings)
    }
}
