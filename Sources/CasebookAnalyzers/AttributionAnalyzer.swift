import CasebookAnalysis
import CasebookCatalog
import CasebookCore
import Foundation

/// `attribution`: ranked hypotheses for what caused a window's excess.
///
/// Candidates come only from the data: the catalog's reverse dependencies of the contributors
/// (downstream projects with a release near the window) and the earlier steps' findings about
/// clients. A *release* hypothesis is scored by the release-diff fingerprint: how much of the
/// contributors' excess the requirements it added or changed explain, how little of that diff is
/// noise on this index (changed packages that did not move), how close the release is to the
/// window's start, and whether its `requires_python` admits the clients' Python. A
/// *fresh-install* hypothesis asks whether the release's whole requirement set, dependencies
/// included, moved together. *client*, *mirror* and *ci* hypotheses come from client behaviour.
public struct AttributionAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "attribution",
        summary:
            "Ranked hypotheses for the cause of a window's excess: downstream releases (from the catalog's reverse dependencies), fresh installs, a single client, a mirror or CI runners.",
        discussion: """
            Needs the package-metadata catalog (`--catalog DIR`). Every score is 0–1.

            **release**: for each project in the catalog that requires a contributor (a contributor \
            that requires another is one too: the root of a closure rises with it), its releases \
            published at most `lookback` days before the window's start or inside the window (or, if none, \
            its latest earlier release, to say why it is rejected). The diff against the previous release \
            (requirements added or changed; markers evaluated for the clients' main environment) gives \
            `coverage`: the share of the contributors' excess whose fetched version the changed requirement \
            admits (weight 1 when the change forces that version: the old specifier excluded it, or the new \
            one raised the floor to it; 0.5 when it only allows it; 0 when it excludes it). `noise`: the \
            share of changed requirements whose packages did not move here. `time`: 1 at the window's \
            start, falling linearly to 0 `lookback` days before it, and over the window for a release \
            inside it. `python`: the share of the contributors' excess from clients whose Python the \
            release's `requires_python` admits. Score: coverage × (0.3 + 0.7 time) × (0.1 + 0.9 python) × \
            (1 − 0.3 noise).

            **fresh-install**: the same candidates, with the release's full requirement set resolved \
            through the catalog (versions published before the window's end). `moved`: the share of that \
            set whose packages rose here (a fresh install fetches every one of them). Score: coverage of the \
            contributors by the set × moved² (each flat package counts strongly against it) × the same time \
            and Python factors.

            **client**: `top_client_share` (the largest client's share of the excess). **mirror**: the \
            share of the excess made by mirroring tools (bandersnatch, devpi, ...), or a single client \
            behind a broad change. **ci**: the share of the excess from clients reporting `ci` (from the \
            store; `ci_share` when the store has no CI flags), weighted by how concentrated the clients are.
            """,
        parameters: [
            ParameterSpec(
                "window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list (the first is used)."),
            ParameterSpec(
                "contributors", .any,
                doc:
                    "The contributors: the contributors step's `values` or `contributors` (values of `dimension`). Empty (a broad change): no release candidates, and the client hypotheses are weighed on all the window's downloads."
            ),
            ParameterSpec("dimension", .dimension, default: "project", doc: "The dimension the contributors' values belong to."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
            ParameterSpec(
                "baseline_days", .int, default: 14, range: .between(1, 366), doc: "Whole days before the window that make its baseline."),
            ParameterSpec(
                "lookback", .int, default: 14, range: .between(0, 366),
                doc: "Releases published at most this many days before the window's start are candidates."),
            ParameterSpec(
                "broad", .bool, default: false,
                doc: "The contributors step's `broad` (no small set explains the change): supports a mirror."),
            ParameterSpec(
                "top_client_share", .number, optional: true, range: .share,
                doc: "client-behaviour's `topClientShare`: the largest client's share of the excess."),
            ParameterSpec(
                "concentration", .string, optional: true,
                doc: "client-behaviour's `concentration`: single-client, few-clients, many-clients or unknown."),
            ParameterSpec(
                "ci_share", .number, optional: true, range: .share,
                doc: "client-behaviour's `ciShare`, used when the store has no CI flags."),
            ParameterSpec(
                "min_ratio", .number, default: 1.5, range: .atLeast(1),
                doc: "A package moved when its window / baseline is at least this (and its excess is not a handful)."),
            ParameterSpec("max_hypotheses", .int, default: 25, range: .atLeast(1), doc: "List at most this many hypotheses.")
        ],
        outputs: [
            OutputSpec(
                "hypotheses", .list(.object),
                doc:
                    "Ranked, best first: `{kind (release/fresh-install/client/mirror/ci), project, version, score (0–1), released (ISO 8601 or null), matched, missing, reasons, components}`."
            ),
            OutputSpec("top", .object, doc: "The best hypothesis, or null."),
            OutputSpec("candidates", .int, doc: "Downstream projects in the catalog that require a contributor.")
        ],
        examples: [
            AnalyzerExample(
                "A downstream release the day before requires the new version",
                with: [
                    "window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "contributors": ["alpha"],
                    "top_client_share": 0.01, "concentration": "many-clients", "ci_share": 0.0
                ],
                data: ExampleData(
                    downloads: [
                        .init("alpha-1.1-py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 2, clients: 100),
                        .init("alpha-1.1-py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 300, clients: 100),
                        .init("app-1.1-py3-none-any.whl", from: "2020-02-19", days: 17, perDay: 5, clients: 100)
                    ],
                    catalog: [
                        .init(
                            "alpha",
                            [
                                .init("1.0", "2019-01-01T00:00:00Z", files: ["alpha-1.0-py3-none-any.whl"]),
                                .init("1.1", "2020-01-10T00:00:00Z", files: ["alpha-1.1-py3-none-any.whl"])
                            ]),
                        .init(
                            "app",
                            [
                                .init("1.0", "2019-06-01T00:00:00Z", requires: ["alpha<1.1,>=1.0"], files: ["app-1.0-py3-none-any.whl"]),
                                .init("1.1", "2020-03-03T12:00:00Z", requires: ["alpha>=1.1"], files: ["app-1.1-py3-none-any.whl"])
                            ])
                    ]),
                expect: ["top": .contains(["kind": "release", "project": "app", "version": "1.1"]), "candidates": 1],
                finding: "Most likely cause: release app 1.1"),
            AnalyzerExample(
                "No downstream release, one client: the client",
                with: [
                    "window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "contributors": ["alpha"],
                    "top_client_share": 0.98, "concentration": "single-client"
                ],
                data: ExampleData(
                    downloads: [
                        .init("alpha-1.1-py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 2, clients: 20),
                        .init("alpha-1.1-py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 300, clients: 1, keyPrefix: "runner")
                    ],
                    catalog: [.init("alpha", [.init("1.1", "2020-01-10T00:00:00Z", files: ["alpha-1.1-py3-none-any.whl"])])]),
                expect: ["top": .contains(["kind": "client"]), "candidates": 0],
                finding: "Most likely cause: a single client")
        ])

    public init() {}

    static let mirrorTools: Set<String> = ["bandersnatch", "devpi", "z3c.pypimirror", "artifactory", "nexus", "pep381client"]

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let p = try Parameters(context)
        let traffic = try await ContributorTraffic.load(context, window: p.window, filters: p.filters, baselineDays: p.baselineDays)
        guard traffic.excess > 0, p.window.direction == .up else { return nothingToAttribute(p) }
        let excess = try await Excess.load(context, p, traffic: traffic)
        let (dependents, candidates, lookbackOnly) = Self.candidateReleases(p, excess: excess)
        var hypotheses = try await ReleaseScoring.load(context, p, excess: excess, candidates: candidates).hypotheses()
        hypotheses += try await Self.clientHypotheses(context, p, excess: excess)
        var shown = Self.ranked(hypotheses, limit: p.maxHypotheses)
        let partnerIndex = Self.joinWhoAndWhat(&shown)
        let findings = Self.findings(
            p, excess: excess, shown: shown, partnerIndex: partnerIndex,
            candidates: candidates.count, dependents: dependents.count, lookbackOnly: lookbackOnly)
        return AnalyzerResult(
            outputs: [
                "hypotheses": .array(shown.map(\.hypothesis.value)), "top": shown.first.map(\.hypothesis.value) ?? .null,
                "candidates": .int(Int64(dependents.count))
            ],
            findings: findings)
    }

    // MARK: - Parameters

    /// The step's parameters, read and checked in the order they are documented.
    struct Parameters {
        var window: AnalysisWindow
        var dimension: CasebookCore.Dimension
        var values: [String?]
        var catalog: any PackageCatalog
        var baselineDays: Int64
        var lookback: Int64
        var broad: Bool
        var topClientShare: Double?
        var concentration: String?
        var ciShare: Double?
        var minRatio: Double
        var maxHypotheses: Int
        var baseFilters: [DimensionFilter]
        /// The contributors' downloads; with no contributors (a broad change), all the window's
        /// downloads, on which the client hypotheses are then weighed.
        var filters: [DimensionFilter]

        init(_ context: AnalyzerContext) throws {
            window = try AnalysisWindow.from(context.value("window"), parameter: "window")
            dimension = try context.dimension("dimension")
            values = try context.contributorValues("contributors", dimension: dimension)
            catalog = try context.openCatalog(for: AttributionAnalyzer.description.name)
            baselineDays = max(1, try context.int("baseline_days"))
            lookback = max(1, try context.int("lookback"))
            broad = try context.bool("broad")
            topClientShare = context.value("top_client_share")?.doubleValue
            concentration = context.value("concentration")?.stringValue
            ciShare = context.value("ci_share")?.doubleValue
            minRatio = try context.number("min_ratio")
            maxHypotheses = max(1, Int(try context.int("max_hypotheses")))
            baseFilters = try context.filters("filter")
            filters = values.isEmpty ? baseFilters : ContributorTraffic.filters(baseFilters, dimension: dimension, values: values)
        }
    }

    /// The finding when there is no excess to attribute (or the window is a drop).
    func nothingToAttribute(_ p: Parameters) -> AnalyzerResult {
        let window = p.window
        let dimension = p.dimension
        return AnalyzerResult(
            outputs: ["hypotheses": .array([]), "top": .null, "candidates": .int(0)],
            findings: [
                Finding(
                    title: "Nothing to attribute",
                    summary: p.values.isEmpty && !p.broad && window.direction == .up
                        ? "No contributing \(dimension.rawValue) values were named for \(window.label) (the data may hold no \(dimension.rawValue) values), so no release or install can be matched to them."
                        : "The contributors have no excess in \(window.label) (\(window.direction == .up ? "no rise over their baseline" : "the window is a drop")): release, install and client hypotheses explain rises only.",
                    confidence: .medium)
            ])
    }

    // MARK: - Stage 1: the contributors' traffic

    /// The contributors' excess per project and version, their clients' main environment, and
    /// the clients' Python versions in the excess.
    struct Excess {
        var traffic: ContributorTraffic
        var total: Double
        /// Positive excess per project and version.
        var byVersion: [String: [String: Double]]
        var byProject: [String: Double]
        /// Projects with an excess, largest first.
        var contributorProjects: [String]
        var environment: ClientEnvironment?
        var python: [(version: String, excess: Double)]
        var pythonKnown: Double

        static func load(_ context: AnalyzerContext, _ p: Parameters, traffic: ContributorTraffic) async throws -> Excess {
            var byVersion: [String: [String: Double]] = [:]
            var byProject: [String: Double] = [:]
            for (project, vs) in traffic.versions {
                for (v, x) in vs where x.window - x.expected > 0 {
                    byVersion[project, default: [:]][v] = x.window - x.expected
                    byProject[project, default: 0] += x.window - x.expected
                }
            }
            let contributorProjects = byProject.filter { $0.value > 0 }.keys.sorted { byProject[$0]! > byProject[$1]! }
            let env = mainProfiles(traffic.profiles).first?.environment(glibc: nil)
            let (pyCmp, _) = try await WindowComparison.make(
                context, window: p.window, dimensions: [.python], filters: p.filters, baselineDays: p.baselineDays)
            let python = pyCmp.values.compactMap { v -> (version: String, excess: Double)? in
                guard let version = v.value, v.excess > 0 else { return nil }
                return (version, v.excess)
            }
            return Excess(
                traffic: traffic, total: traffic.excess, byVersion: byVersion, byProject: byProject,
                contributorProjects: contributorProjects, environment: env, python: python,
                pythonKnown: python.reduce(0) { $0 + $1.excess })
        }

        /// The share of the Python-known excess whose Python `requiresPython` admits, and the
        /// versions it excludes.
        func pythonMatch(_ requiresPython: String?) -> (share: Double, excluded: [String]) {
            guard let rp = requiresPython, let set = try? SpecifierSet(rp), pythonKnown > 0 else { return (1, []) }
            var ok = 0.0
            var excluded: [String] = []
            for (p, x) in python {
                var full = p
                if full.split(separator: ".").count == 2 { full += ".0" }
                if set.contains(full, prereleases: true) { ok += x } else { excluded.append(p) }
            }
            return (ok / pythonKnown, excluded)
        }

        /// The main Python versions of the excess: `Python 3.7 80%, Python 3.5 20%`.
        var pythonLabel: String {
            let majors = Dictionary(grouping: python, by: { PythonVersion.minor(of: $0.version) ?? $0.version }).mapValues {
                $0.reduce(0) { $0 + $1.excess }
            }
            return majors.sorted { $0.value > $1.value }.prefix(3).map {
                "Python \($0.key) \(Describe.percent(pythonKnown > 0 ? $0.value / pythonKnown : 0))"
            }.joined(separator: ", ")
        }

        /// A part of the excess as a percentage.
        func share(_ x: Double) -> String { Describe.percent(x / total) }
    }

    // MARK: - Stage 2: candidate releases

    struct Candidate {
        var project: String
        var version: String
        var released: Int64
        var previous: String?
        var requirements: [Requirement]
        /// Added or changed requirements that apply: (new, old or nil when added).
        var changes: [(new: Requirement, old: Requirement?)]
        var closure: [String: (version: String?, depth: Int)]
        var requiresPython: String?
    }

    /// Beyond this many projects requiring the contributors (a popular package in a whole
    /// index's catalog), only those with a release in the lookback or the window are read.
    static let manyDependents = 200

    /// The catalog's reverse dependencies of the contributors, and their releases published in
    /// the lookback or the window (or, if none, the latest earlier one), with their diffs.
    ///
    /// When more than ``manyDependents`` projects require a contributor, the catalog's index by
    /// name and upload time gives the dependents with a release in the lookback or the window,
    /// and only those are read (`lookbackOnly`): a release from years before cannot have changed
    /// what was installed this week, and reading thousands of projects would cost a run seconds.
    static func candidateReleases(_ p: Parameters, excess: Excess) -> (
        dependents: Set<String>, candidates: [Candidate], lookbackOnly: Bool
    ) {
        let catalog = p.catalog
        let window = p.window
        let env = excess.environment
        let lookbackStart = window.start - p.lookback * 86400
        let contributors = p.values.isEmpty ? [] : excess.contributorProjects.sorted()
        // A contributor that requires other contributors is a candidate too: the root of a
        // closure that CI runners fresh-install (fleetctl and its 24 dependencies) rises with it.
        var dependents = Set(contributors.flatMap { c in ((try? catalog.dependents(of: c)) ?? []).filter { $0 != c } })
        var read: Set<String>
        let lookbackOnly = dependents.count > manyDependents
        if lookbackOnly {
            let recent = (try? catalog.dependentReleases(of: contributors, from: lookbackStart, to: window.end)) ?? []
            read = Set(recent.map(\.project)).intersection(dependents)
        } else {
            read = []
            for c in contributors {
                for r in catalog.reverseDependencies(of: c) where r.dependent != c { read.insert(r.dependent) }
            }
            dependents = read
        }
        var candidates: [Candidate] = []
        for d in read.sorted() {
            guard let releases = try? catalog.releases(of: d) else { continue }
            let dated = releases.filter { ($0.uploadTime ?? .max) < window.end && !$0.yanked }
            var chosen = dated.filter { $0.uploadTime! >= lookbackStart }
            if chosen.isEmpty, !lookbackOnly, let latest = dated.max(by: { $0.uploadTime! < $1.uploadTime! }) { chosen = [latest] }
            for r in chosen {
                guard let reqs = try? catalog.requirements(of: d, version: r.versionText, for: env) else { continue }
                let index = releases.firstIndex { $0.versionText == r.versionText } ?? 0
                let previous = releases[..<index].last { (try? catalog.requirements(of: d, version: $0.versionText, for: nil)) != nil }?
                    .versionText
                var changes: [(new: Requirement, old: Requirement?)] = []
                if let previous, let diff = try? catalog.requirementDiff(project: d, from: previous, to: r.versionText) {
                    changes = diff.changed.map { ($0.to, $0.from) } + diff.added.map { ($0, nil) }
                } else {
                    changes = reqs.all.map { ($0, nil) }
                }
                changes = changes.filter { $0.new.applies(to: env) }
                let closure = catalog.closure(of: reqs.applicable, for: env, before: window.end)
                candidates.append(
                    Candidate(
                        project: d, version: r.versionText, released: r.uploadTime!, previous: previous,
                        requirements: reqs.applicable, changes: changes, closure: closure,
                        requiresPython: catalog.requiresPython(of: d, version: r.versionText)))
            }
        }
        return (dependents, candidates, lookbackOnly)
    }

    // MARK: - Stage 3: scoring

    /// A hypothesis while it is scored: the typed output (``hypothesis``) and what only the
    /// findings use (the problems, when it was released, a readable label).
    struct Scored {
        var kind: HypothesisKind
        var project: String?
        var version: String?
        var score: Double
        var released: Int64?
        var matched: [String] = []
        var missing: [String] = []
        var reasons: [String] = []
        /// The main reasons it falls short (for the rejected list).
        var problems: [String] = []
        var components: [String: Double] = [:]
        /// When it was released relative to the window, in words.
        var when: String?
        /// False for the best hypothesis and for one that tells the same story from the other
        /// side (who made it, against what was installed); true for the rivals.
        var rejected = true

        /// Who made the downloads (CI runners, a mirror, a client) or what was installed and why
        /// (a release, fresh installs of a project): one of each can be one story.
        var isWho: Bool { kind.isWho }

        var label: String {
            switch kind {
            case .release: return "release \(project ?? "?") \(version ?? "")"
            case .freshInstall: return "fresh installs of \(project ?? "?") \(version ?? "")"
            default: return kind == .ci ? "CI runners" : kind == .mirror ? "a mirror" : "a single client"
            }
        }

        /// The output: score and components rounded to three decimals.
        var hypothesis: Hypothesis {
            Hypothesis(
                kind: kind, project: project, version: version, score: round3(score), released: released,
                matched: matched, missing: missing, reasons: reasons, components: components.mapValues(round3),
                rejected: rejected)
        }
    }

    /// Release and fresh-install hypotheses for the candidates: the release-diff fingerprint and
    /// the full requirement set, against which packages moved here.
    struct ReleaseScoring {
        var p: Parameters
        var excess: Excess
        var candidates: [Candidate]
        var movement: [String: ProjectMovement]

        static func load(_ context: AnalyzerContext, _ p: Parameters, excess: Excess, candidates: [Candidate]) async throws
            -> ReleaseScoring
        {
            var watched = Set<String>()
            for c in candidates {
                watched.formUnion(c.changes.map { $0.new.normalizedName })
                watched.formUnion(c.closure.keys)
                watched.insert(c.project)
            }
            let movement = try await ProjectMovement.load(
                context, projects: watched, window: p.window, filters: p.baseFilters, baselineDays: p.baselineDays)
            return ReleaseScoring(p: p, excess: excess, candidates: candidates, movement: movement)
        }

        /// A contributor, or a package that rose clearly here.
        func moved(_ name: String) -> Bool {
            excess.contributorProjects.contains(name)
                || (movement[name]?.moved(minRatio: p.minRatio, minExcess: 0.01 * excess.total) ?? false)
        }

        /// 1 at the window's start, falling to 0 `lookback` days before it and over the window.
        func timeScore(_ released: Int64) -> (Double, String) {
            let window = p.window
            if released <= window.start {
                let days = Double(window.start - released) / 86400
                let t = max(0, 1 - days / Double(p.lookback))
                return (t, String(format: "released %.1f days before the window's start", days))
            }
            let t = max(0, 1 - Double(released - window.start) / Double(window.seconds))
            return (t, String(format: "released %.1f days into the window", Double(released - window.start) / 86400))
        }

        func hypotheses() -> [Scored] {
            var out: [Scored] = []
            for c in candidates {
                let (t, timeText) = timeScore(c.released)
                let (m, excludedPythons) = excess.pythonMatch(c.requiresPython)
                let pythonText = c.requiresPython.map { "requires_python \($0)" } ?? "no requires_python"
                var common: [String] = [timeText, "\(pythonText): admits \(Describe.percent(m)) of the excess (\(excess.pythonLabel))"]
                var commonProblems: [String] = []
                if t == 0 {
                    commonProblems.append("wrong time: \(timeText) (lookback \(p.lookback) days)")
                } else if t < 0.5 {
                    commonProblems.append("late or early: \(timeText)")
                }
                if m < 0.5 {
                    commonProblems.append(
                        "wrong Python: \(pythonText) excludes \(excludedPythons.prefix(3).joined(separator: ", ")) (\(Describe.percent(1 - m)) of the excess)"
                    )
                }
                out.append(release(c, t: t, m: m, timeText: timeText, common: common, commonProblems: commonProblems))
                if let f = freshInstall(c, t: t, m: m, common: &common, commonProblems: commonProblems) { out.append(f) }
            }
            return out
        }

        /// The release-diff fingerprint.
        func release(_ c: Candidate, t: Double, m: Double, timeText: String, common: [String], commonProblems: [String]) -> Scored {
            let totalExcess = excess.total
            var r = Scored(kind: .release, project: c.project, version: c.version, score: 0, released: c.released)
            r.when = timeText
            var coverage = 0.0
            // The excess whose version the diff admits, whatever its weight.
            var admitted = 0.0
            var changedContributors = Set<String>()
            var matchedLines: [(Double, String)] = []
            var excludedLines: [(Double, String)] = []
            var excludedShort: [String] = []
            for change in c.changes {
                let q = change.new.normalizedName
                let oldText = change.old.map { $0.specifier.isEmpty ? "any" : $0.specifier.description } ?? "absent"
                let newText = change.new.specifier.isEmpty ? "any" : change.new.specifier.description
                guard let vs = excess.byVersion[q] else { continue }
                changedContributors.insert(q)
                for (v, x) in vs.sorted(by: { $0.value > $1.value }) {
                    let weight = AttributionAnalyzer.matchWeight(
                        project: q, version: v, new: change.new.specifier, old: change.old?.specifier, catalog: p.catalog)
                    coverage += x * weight
                    if weight > 0 { admitted += x }
                    let what =
                        weight == 1 ? (change.old == nil ? "added" : "forces this version") : weight > 0 ? "allows it" : "excludes it"
                    // A version the old range allowed too counts at its weight (half) in the coverage.
                    let counted = weight > 0 && weight < 1 ? ", counted at half" : ""
                    let line = "\(q) \(v) (\(excess.share(x)) of the excess\(counted)): \(oldText) → \(newText), \(what)"
                    // Versions with a negligible part of the excess count in the score, not in the lists.
                    guard x >= 0.005 * totalExcess else { continue }
                    if weight > 0 {
                        matchedLines.append((x, line))
                    } else {
                        excludedLines.append((x, line))
                        excludedShort.append("\(q) \(v) (\(newText))")
                    }
                }
            }
            coverage /= totalExcess
            admitted /= totalExcess
            r.matched = matchedLines.sorted { $0.0 > $1.0 }.map(\.1)
            r.missing = excludedLines.sorted { $0.0 > $1.0 }.map(\.1)
            for project in excess.contributorProjects where !changedContributors.contains(project) {
                r.missing.append("\(project) (\(excess.share(excess.byProject[project] ?? 0)) of the excess): not changed by this release")
            }
            let diffNames = Set(c.changes.map { $0.new.normalizedName })
            let unmoved = diffNames.filter { !moved($0) }.sorted()
            let noise = diffNames.isEmpty ? 1 : Double(unmoved.count) / Double(diffNames.count)
            if !unmoved.isEmpty {
                r.missing.append(
                    "changed here but did not move: \(unmoved.prefix(8).joined(separator: ", "))\(unmoved.count > 8 ? " and \(unmoved.count - 8) more" : "")"
                )
            }
            r.score = coverage * (0.3 + 0.7 * t) * (0.1 + 0.9 * m) * (1 - 0.3 * noise)
            r.components = ["coverage": coverage, "admitted": admitted, "noise": noise, "time": t, "python": m]
            r.reasons =
                [
                    "explains \(Describe.percent(coverage)) of the contributors' excess with \(diffNames.count) added or changed requirements since \(c.previous ?? "nothing (first release)")",
                    "\(diffNames.count - unmoved.count) of \(diffNames.count) changed requirements moved here"
                ] + common
            if !excludedShort.isEmpty, coverage < 0.5 {
                r.problems.append("its new requirements exclude the fetched versions: \(excludedShort.prefix(4).joined(separator: ", "))")
            }
            if coverage < 0.01, excludedShort.isEmpty {
                r.problems.append("no overlap: its changed requirements explain none of the contributors' excess")
            } else if coverage < 0.5 {
                r.problems.append("partial overlap: explains only \(Describe.percent(coverage)) of the contributors' excess")
            }
            r.problems += commonProblems
            if noise > 0.8, coverage > 0 {
                r.problems.append("noisy diff: \(unmoved.count) of \(diffNames.count) changed requirements did not move here")
            }
            return r
        }

        /// Fresh installs of the release's full requirement set; nil when it requires nothing.
        func freshInstall(_ c: Candidate, t: Double, m: Double, common: inout [String], commonProblems: [String]) -> Scored? {
            let closureNames = Set(c.closure.keys).subtracting([c.project])
            guard !closureNames.isEmpty else { return nil }
            var f = Scored(kind: .freshInstall, project: c.project, version: c.version, score: 0, released: c.released)
            // A fresh install fetches the release itself too (when it is a contributor here).
            let covered = excess.contributorProjects.filter { closureNames.contains($0) || $0 == c.project }
            let freshCoverage = covered.reduce(0) { $0 + (excess.byProject[$1] ?? 0) } / excess.total
            let movedNames = closureNames.filter(moved).sorted()
            let flatNames = closureNames.subtracting(movedNames).sorted {
                (c.closure[$0]?.depth ?? 9, $0) < (c.closure[$1]?.depth ?? 9, $1)
            }
            let movedShare = Double(movedNames.count) / Double(closureNames.count)
            f.score = freshCoverage * movedShare * movedShare * (0.3 + 0.7 * t) * (0.1 + 0.9 * m)
            f.components = ["coverage": freshCoverage, "moved": movedShare, "time": t, "python": m]
            f.matched = [
                "moved with the contributors: \(movedNames.prefix(10).joined(separator: ", "))\(movedNames.count > 10 ? " and \(movedNames.count - 10) more" : "") (\(movedNames.count) of \(closureNames.count) packages it installs)"
            ]
            if !flatNames.isEmpty {
                f.missing = [
                    "did not move: \(flatNames.prefix(10).joined(separator: ", "))\(flatNames.count > 10 ? " and \(flatNames.count - 10) more" : "") (\(flatNames.count) of \(closureNames.count))"
                ]
            }
            for project in excess.contributorProjects where !closureNames.contains(project) && project != c.project {
                f.missing.append("\(project) (\(excess.share(excess.byProject[project] ?? 0)) of the excess): not in its requirement set")
            }
            common.insert(
                "its requirement set (\(closureNames.count) packages with dependencies) covers \(Describe.percent(freshCoverage)) of the contributors' excess; \(Describe.percent(movedShare)) of those packages rose here",
                at: 0)
            f.reasons = common
            if movedShare < 0.5 {
                f.problems.append(
                    "its full requirement set did not move: only \(movedNames.count) of \(closureNames.count) packages rose (upgrades, not fresh installs)"
                )
            }
            if freshCoverage < 0.5 {
                f.problems.append("partial overlap: its requirement set covers only \(Describe.percent(freshCoverage)) of the excess")
            }
            // A fresh install fetches the release itself too: when this index serves it and it
            // stayed flat, the closure rose for another reason (upgrades of pins, another release).
            if let own = movement[c.project], !moved(c.project) {
                if own.expected > 0 || own.window > 0 {
                    f.score *= 0.3
                    let flat =
                        "\(c.project) itself did not rise here (\(Describe.count(own.window)) downloads in the window against about \(Describe.count(own.expected)) expected): fresh installs would fetch it too"
                    f.missing.append(flat)
                    f.problems.append(flat)
                } else {
                    f.missing.append("\(c.project) itself has no downloads in this data (it may be installed from another index)")
                }
            }
            f.problems += commonProblems
            return f
        }
    }

    /// The CI, mirror and single-client hypotheses, from the store and client-behaviour's results.
    static func clientHypotheses(_ context: AnalyzerContext, _ p: Parameters, excess: Excess) async throws -> [Scored] {
        let window = p.window
        let totalExcess = excess.total
        let concentration = p.concentration
        let broad = p.broad
        let (ciCmp, _) = try await WindowComparison.make(
            context, window: window, dimensions: [.ci], filters: p.filters, baselineDays: p.baselineDays)
        let ciKnown = ciCmp.values.contains { $0.value != nil }
        var ciExcessShare = min(1, max(0, (ciCmp.values.first { $0.value == "true" }?.excess ?? 0) / totalExcess))
        if !ciKnown, let ciShareParam = p.ciShare { ciExcessShare = min(1, ciShareParam * excess.traffic.windowTotal / totalExcess) }
        let concentrated = concentration == "single-client" || concentration == "few-clients"
        var ci = Scored(kind: .ci, score: ciExcessShare * (concentrated ? 1 : 0.8))
        ci.components = ["ciShare": ciExcessShare]
        ci.reasons = [
            "clients reporting ci made \(Describe.percent(ciExcessShare)) of the contributors' excess"
                + (concentration.map { "; clients: \($0)" } ?? "")
        ]
        if !ciKnown && (p.ciShare ?? 0) == 0 {
            // Without CI flags nothing says whether the clients ran in CI: unknown, not "few".
            ci.reasons = ["the data has no CI flags (pip's `ci`)"]
            ci.problems.append("not assessed: the data has no CI flags")
        } else if ciExcessShare >= 0.5 {
            ci.matched.append("CI runners made \(Describe.percent(ciExcessShare)) of the excess")
        } else {
            ci.missing.append("CI runners made only \(Describe.percent(ciExcessShare)) of the excess")
            ci.problems.append("few CI downloads: \(Describe.percent(ciExcessShare)) of the excess")
        }

        let (instCmp, _) = try await WindowComparison.make(
            context, window: window, dimensions: [.installer], filters: p.filters, baselineDays: p.baselineDays)
        let mirrorExcess = instCmp.values.filter { $0.value.map { mirrorTools.contains($0.lowercased()) } ?? false }.reduce(0) {
            $0 + max(0, $1.excess)
        }
        let mirrorShare = min(1, mirrorExcess / totalExcess)
        let topShare = p.topClientShare ?? 0
        var mirror = Scored(
            kind: .mirror,
            score: max(mirrorShare, broad && concentration == "single-client" ? topShare : 0.5 * topShare * (broad ? 1 : 0.5)))
        mirror.components = ["mirrorToolShare": mirrorShare, "topClientShare": topShare]
        // The largest client's share is said only when the data has client keys.
        let clientsKnown = p.topClientShare != nil && concentration != nil && concentration != "unknown"
        mirror.reasons =
            ["mirroring tools made \(Describe.percent(mirrorShare)) of the excess"]
            + (clientsKnown ? ["the largest client made \(Describe.percent(topShare)) of it"] : [])
            + [broad ? "the change is broad (many values)" : "a small set of values explains the change"]
        if mirrorShare >= 0.5 {
            mirror.matched.append("mirroring tools made \(Describe.percent(mirrorShare)) of the excess")
        } else {
            mirror.missing.append("mirroring tools made \(Describe.percent(mirrorShare)) of the excess")
            mirror.problems.append("no mirroring tool: \(Describe.percent(mirrorShare)) of the excess")
        }
        if !broad { mirror.problems.append("a small set of packages, not a whole index") }

        // A single client that is a mirroring tool is the mirror hypothesis, not this one.
        var client = Scored(kind: .client, score: topShare * (1 - 0.5 * mirrorShare))
        client.components = ["topClientShare": topShare]
        if let topClientShare = p.topClientShare, clientsKnown {
            client.reasons = [
                "the largest client made \(Describe.percent(topClientShare, digits: 1)) of the excess"
                    + (concentration.map { " (\($0))" } ?? "")
            ]
            if topClientShare >= 0.5 {
                client.matched.append("one client made \(Describe.percent(topClientShare)) of the excess")
                if mirrorShare >= 0.5 {
                    client.problems.append("the client is a mirroring tool (\(Describe.percent(mirrorShare)) of the excess): a mirror")
                }
            } else {
                client.missing.append("the largest client made only \(Describe.percent(topClientShare, digits: 1)) of the excess")
                client.problems.append("no dominant client: the largest made \(Describe.percent(topClientShare, digits: 1)) of the excess")
            }
        } else {
            client.reasons = [
                p.topClientShare == nil ? "no client-behaviour result given (`top_client_share`)" : "the data has no client keys"
            ]
            client.problems.append("not assessed: no client information")
        }
        return [ci, mirror, client]
    }

    /// Best first (scores compared as shown, to three decimals; then by kind, project and
    /// version), at most `limit`.
    static func ranked(_ hypotheses: [Scored], limit: Int) -> [Scored] {
        func order(_ kind: HypothesisKind) -> Int {
            switch kind {
            case .release: 0
            case .freshInstall: 1
            case .ci: 2
            case .mirror: 3
            case .client, .other: 4
            }
        }
        let sorted = hypotheses.sorted {
            let a = round3($0.score)
            let b = round3($1.score)
            if a != b { return a > b }
            if $0.kind != $1.kind { return order($0.kind) < order($1.kind) }
            return ($0.project ?? "", $0.version ?? "") < ($1.project ?? "", $1.version ?? "")
        }
        return Array(sorted.prefix(limit))
    }

    // MARK: - Stage 4: who and what

    /// Keeps the best hypothesis, and the best one from the other side when it holds too: "CI
    /// runners" and "fresh installs of X 1.2" are not rivals but who and what of one story.
    /// Returns the partner's index.
    static func joinWhoAndWhat(_ shown: inout [Scored]) -> Int? {
        guard !shown.isEmpty, shown[0].score > 0.05 else { return nil }
        shown[0].rejected = false
        let partnerIndex = shown.indices.dropFirst().first { i in
            shown[i].isWho != shown[0].isWho && shown[i].score >= 0.6 && shown[i].problems.isEmpty
        }
        if let i = partnerIndex { shown[i].rejected = false }
        return partnerIndex
    }

    // MARK: - Stage 5: findings

    static func findings(
        _ p: Parameters, excess: Excess, shown: [Scored], partnerIndex: Int?, candidates: Int, dependents: Int, lookbackOnly: Bool = false
    ) -> [Finding] {
        let totalExcess = excess.total
        let table = EvidenceTable(
            title: "Hypotheses for \(p.window.label), best first",
            columns: ["rank", "kind", "project", "version", "released", "score", "matched", "missing", "why not first"],
            rows: shown.enumerated().map { i, h in
                [
                    .int(Int64(i + 1)), .string(h.kind.rawValue), h.project.map(Value.string) ?? .null,
                    h.version.map(Value.string) ?? .null,
                    h.released.map { .string(UTCTime.dateString($0)) } ?? .null, .double(round3(h.score)),
                    .string(h.matched.joined(separator: "; ")), .string(h.missing.joined(separator: "; ")),
                    .string(i == 0 ? "" : h.problems.isEmpty ? "lower score" : h.problems.joined(separator: "; "))
                ]
            })
        guard let best = shown.first, best.score > 0.05 else {
            return [
                Finding(
                    title: "No hypothesis explains the excess",
                    summary: (dependents == 0
                        ? "No project in the catalog requires a contributor, and "
                            + (p.concentration == nil || p.concentration == "unknown"
                                ? "this data cannot tell its clients apart: nothing here explains"
                                : "the client behaviour does not explain")
                        : "\(candidates == 1 ? "Neither the one release" : candidates == 0 ? "None of the releases" : "None of the \(candidates) releases")\(lookbackOnly ? " uploaded in the \(p.lookback) days before the window or in it" : "") of \(dependents == 1 ? "the one catalog project" : "the \(Describe.count(Int64(dependents))) catalog projects") requiring a contributor, nor the client behaviour, explains")
                        + " the excess of \(Describe.count(totalExcess)) downloads (best score \(String(format: "%.2f", shown.first?.score ?? 0))).",
                    evidence: [.table(table)], confidence: .medium,
                    openQuestions: ["Is the downstream project that caused it missing from the catalog? (`casebook catalog fetch NAME`)"])
            ]
        }
        var findings: [Finding] = []
        // The lead is over the best rival (a partner telling the same story is no rival).
        let second = shown.dropFirst().first { $0.rejected }
        let margin = best.score - (second?.score ?? 0)
        var summary: String
        switch best.kind {
        case .release:
            summary =
                "\(best.project!) \(best.version!) (\(best.when ?? "release date unknown")) changed the requirements of the contributors: "
                + Self.coverageText(coverage: best.components["coverage"] ?? 0, admitted: best.components["admitted"] ?? 0, of: totalExcess)
                + ", and its Python support admits \(Describe.percent(best.components["python"] ?? 0)) of it. "
            summary += "Matched: \(best.matched.prefix(6).joined(separator: "; "))."
        case .freshInstall:
            summary = "Installs of \(best.project!) \(best.version!) with its whole requirement set: \(best.reasons[0]). "
            summary += best.matched.joined(separator: "; ") + "."
        default:
            summary = best.reasons.joined(separator: "; ") + "."
        }
        let partner = partnerIndex.map { shown[$0] }
        summary +=
            " Score \(String(format: "%.2f", best.score))"
            + (second.map { ", ahead of \($0.label) (\(String(format: "%.2f", $0.score)))" } ?? "") + "."
        if let partner {
            summary +=
                " The same story seen from the other side: \(partner.label) (score \(String(format: "%.2f", partner.score))): \(partner.reasons.first ?? partner.matched.first ?? "it holds too")."
        }
        let title: String
        if best.score < 0.5 {
            // A weak lead is not a cause: say so, with the lead.
            title = "No convincing cause; the best lead is \(best.label) (score \(String(format: "%.2f", best.score)))"
        } else if let partner {
            let who = best.isWho ? best : partner
            let what = best.isWho ? partner : best
            title =
                who.kind == .ci && what.kind == .freshInstall
                ? "Most likely cause: CI runners making \(what.label)"
                : "Most likely cause: \(who.label), with \(what.label)"
        } else {
            title = "Most likely cause: \(best.label)"
        }
        findings.append(
            Finding(
                title: title,
                summary: summary,
                evidence: [
                    .table(table), .number(label: "score", value: round3(best.score), unit: "score"),
                    .number(label: "lead over the next hypothesis", value: round3(margin), unit: "score")
                ],
                confidence: best.score < 0.5 ? .low : Confidence(min(0.95, 0.4 + best.score * 0.4 + margin * 0.6)),
                openQuestions: best.missing.isEmpty ? [] : ["What explains the rest: \(best.missing.prefix(3).joined(separator: "; "))?"]))
        // Rejected: the other releases first (the decoys), then installs of the best candidate,
        // then the client kinds, then other install hypotheses that scored at all.
        let rest = shown.dropFirst().filter(\.rejected)
        let rejected =
            rest.filter { $0.kind == .release }
            + rest.filter { $0.kind == .freshInstall && ($0.project == best.project || $0.score >= 0.05) }
            + rest.filter { $0.kind.isWho }
        if !rejected.isEmpty {
            let lines = rejected.prefix(12).map { h in
                "\(h.label) (\(String(format: "%.2f", h.score))): \(h.problems.isEmpty ? "lower score" : h.problems.prefix(3).joined(separator: "; "))"
            }
            findings.append(
                Finding(
                    title: "Rejected hypotheses",
                    summary: lines.joined(separator: ". ") + ".",
                    evidence: [.table(table)], confidence: Confidence(0.25)))
        }
        return findings
    }

    /// How well a changed requirement explains fetching `version`: 1 when it forces it (the old
    /// specifier excluded it, or the new one excludes an older release the old one allowed), 0.5
    /// when it merely allows it, 0 when it excludes it. An added requirement (no old one) forces it.
    /// "its diff explains 46% of their excess of 3,252 downloads", or, when some versions count
    /// at half (the old range allowed them too), "the versions its diff admits make 92% of ...,
    /// counted as 46% (...)".
    static func coverageText(coverage: Double, admitted: Double, of total: Double) -> String {
        let excess = "of their excess of \(Describe.count(total)) downloads"
        guard admitted - coverage >= 0.005 else { return "its diff explains \(Describe.percent(coverage)) \(excess)" }
        return
            "the versions its diff admits make \(Describe.percent(admitted)) \(excess), counted as \(Describe.percent(coverage)) (a version the old range allowed too counts at half: the release allows it rather than forces it)"
    }

    static func matchWeight(project: String, version: String, new: SpecifierSet, old: SpecifierSet?, catalog: any PackageCatalog) -> Double
    {
        guard let v = Version.parse(version), new.contains(v, prereleases: true) else { return 0 }
        guard let old else { return 1 }
        if !old.contains(v, prereleases: true) { return 1 }
        let older = ((try? catalog.releases(of: project)) ?? []).compactMap(\.version).filter { $0 < v }
        if older.contains(where: { old.contains($0, prereleases: false) && !new.contains($0, prereleases: false) }) { return 1 }
        return 0.5
    }
}
