import CasebookCatalog
import CasebookCore
import CasebookAnalysis
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
        summary: "Ranked hypotheses for the cause of a window's excess: downstream releases (from the catalog's reverse dependencies), fresh installs, a single client, a mirror or CI runners.",
        discussion: """
        Needs the package-metadata catalog (`--catalog DIR`). Every score is 0–1.

        **release**: for each project in the catalog that requires a contributor, its releases \
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
            ParameterSpec("window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list (the first is used)."),
            ParameterSpec("contributors", .any, doc: "The contributors: the contributors step's `values` or `contributors` (values of `dimension`). Empty (a broad change): no release candidates, and the client hypotheses are weighed on all the window's downloads."),
            ParameterSpec("dimension", .dimension, default: "project", doc: "The dimension the contributors' values belong to."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
            ParameterSpec("baseline_days", .int, default: 14, range: .between(1, 366), doc: "Whole days before the window that make its baseline."),
            ParameterSpec("lookback", .int, default: 14, range: .between(0, 366), doc: "Releases published at most this many days before the window's start are candidates."),
            ParameterSpec("broad", .bool, default: false, doc: "The contributors step's `broad` (no small set explains the change): supports a mirror."),
            ParameterSpec("top_client_share", .number, optional: true, range: .share, doc: "client-behaviour's `topClientShare`: the largest client's share of the excess."),
            ParameterSpec("concentration", .string, optional: true, doc: "client-behaviour's `concentration`: single-client, few-clients, many-clients or unknown."),
            ParameterSpec("ci_share", .number, optional: true, range: .share, doc: "client-behaviour's `ciShare`, used when the store has no CI flags."),
            ParameterSpec("min_ratio", .number, default: 1.5, range: .atLeast(1), doc: "A package moved when its window / baseline is at least this (and its excess is not a handful)."),
            ParameterSpec("max_hypotheses", .int, default: 25, range: .atLeast(1), doc: "List at most this many hypotheses."),
        ],
        outputs: [
            OutputSpec("hypotheses", .list(.object), doc: "Ranked, best first: `{kind (release/fresh-install/client/mirror/ci), project, version, score (0–1), released (ISO 8601 or null), matched, missing, reasons, components}`."),
            OutputSpec("top", .object, doc: "The best hypothesis, or null."),
            OutputSpec("candidates", .int, doc: "Downstream projects in the catalog that require a contributor."),
        ],
        examples: [
            AnalyzerExample(
                "A downstream release the day before requires the new version",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "contributors": ["alpha"],
                       "top_client_share": 0.01, "concentration": "many-clients", "ci_share": 0.0],
                data: ExampleData(
                    downloads: [
                        .init("alpha-1.1-py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 2, clients: 100),
                        .init("alpha-1.1-py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 300, clients: 100),
                        .init("app-1.1-py3-none-any.whl", from: "2020-02-19", days: 17, perDay: 5, clients: 100),
                    ],
                    catalog: [.init("alpha", [.init("1.0", "2019-01-01T00:00:00Z", files: ["alpha-1.0-py3-none-any.whl"]),
                                              .init("1.1", "2020-01-10T00:00:00Z", files: ["alpha-1.1-py3-none-any.whl"])]),
                              .init("app", [.init("1.0", "2019-06-01T00:00:00Z", requires: ["alpha<1.1,>=1.0"], files: ["app-1.0-py3-none-any.whl"]),
                                            .init("1.1", "2020-03-03T12:00:00Z", requires: ["alpha>=1.1"], files: ["app-1.1-py3-none-any.whl"])])]),
                expect: ["top": .contains(["kind": "release", "project": "app", "version": "1.1"]), "candidates": 1],
                finding: "Most likely cause: release app 1.1"),
            AnalyzerExample(
                "No downstream release, one client: the client",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "contributors": ["alpha"],
                       "top_client_share": 0.98, "concentration": "single-client"],
                data: ExampleData(
                    downloads: [
                        .init("alpha-1.1-py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 2, clients: 20),
                        .init("alpha-1.1-py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 300, clients: 1, keyPrefix: "runner"),
                    ],
                    catalog: [.init("alpha", [.init("1.1", "2020-01-10T00:00:00Z", files: ["alpha-1.1-py3-none-any.whl"])])]),
                expect: ["top": .contains(["kind": "client"]), "candidates": 0],
                finding: "Most likely cause: a single client"),
        ])

    public init() {}

    static let mirrorTools: Set<String> = ["bandersnatch", "devpi", "z3c.pypimirror", "artifactory", "nexus", "pep381client"]

    struct Hypothesis {
        var kind: String
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
        var isWho: Bool { ["ci", "mirror", "client"].contains(kind) }

        var label: String {
            switch kind {
            case "release": return "release \(project ?? "?") \(version ?? "")"
            case "fresh-install": return "fresh installs of \(project ?? "?") \(version ?? "")"
            default: return kind == "ci" ? "CI runners" : kind == "mirror" ? "a mirror" : "a single client"
            }
        }

        var value: Value {
            .object([
                "kind": .string(kind), "project": project.map(Value.string) ?? .null, "version": version.map(Value.string) ?? .null,
                "score": .double(round3(score)), "released": released.map(Value.time) ?? .null,
                "matched": .array(matched.map(Value.string)), "missing": .array(missing.map(Value.string)),
                "reasons": .array(reasons.map(Value.string)),
                "components": .object(components.mapValues { .double(round3($0)) }),
                "rejected": .bool(rejected),
            ])
        }
    }

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

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let dimension = try context.dimension("dimension")
        let values = try context.contributorValues("contributors", dimension: dimension)
        let catalog = try context.openCatalog(for: Self.description.name)
        let baselineDays = max(1, try context.int("baseline_days"))
        let lookback = max(1, try context.int("lookback"))
        let broad = try context.bool("broad")
        let topClientShare = context.value("top_client_share")?.doubleValue
        let concentration = context.value("concentration")?.stringValue
        let ciShareParam = context.value("ci_share")?.doubleValue
        let minRatio = try context.number("min_ratio")
        let maxHypotheses = max(1, Int(try context.int("max_hypotheses")))
        let baseFilters = try context.filters("filter")
        // No contributors (a broad change): weigh the client hypotheses on all the window's downloads.
        let filters = values.isEmpty ? baseFilters : ContributorTraffic.filters(baseFilters, dimension: dimension, values: values)

        let traffic = try await ContributorTraffic.load(context, window: window, filters: filters, baselineDays: baselineDays)
        let totalExcess = traffic.excess
        guard totalExcess > 0, window.direction == "up" else {
            return AnalyzerResult(
                outputs: ["hypotheses": .array([]), "top": .null, "candidates": .int(0)],
                findings: [Finding(title: "Nothing to attribute",
                                   summary: values.isEmpty && !broad && window.direction == "up"
                                       ? "No contributing \(dimension.rawValue) values were named for \(window.label) (the data may hold no \(dimension.rawValue) values), so no release or install can be matched to them."
                                       : "The contributors have no excess in \(window.label) (\(window.direction == "up" ? "no rise over their baseline" : "the window is a drop")): release, install and client hypotheses explain rises only.",
                                   confidence: .medium)])
        }
        // Positive excess per project and version.
        var versionExcess: [String: [String: Double]] = [:]
        var projectExcess: [String: Double] = [:]
        for (p, vs) in traffic.versions {
            for (v, x) in vs where x.window - x.expected > 0 {
                versionExcess[p, default: [:]][v] = x.window - x.expected
                projectExcess[p, default: 0] += x.window - x.expected
            }
        }
        let contributorProjects = projectExcess.filter { $0.value > 0 }.keys.sorted { projectExcess[$0]! > projectExcess[$1]! }
        let env = mainProfiles(traffic.profiles).first?.environment(glibc: nil)

        // The clients' Python versions in the excess.
        let (pyCmp, _) = try await WindowComparison.make(context, window: window, dimensions: [.python], filters: filters, baselineDays: baselineDays)
        let pythonExcess = pyCmp.values.compactMap { v -> (String, Double)? in
            guard let p = v.value, v.excess > 0 else { return nil }
            return (p, v.excess)
        }
        let pythonKnown = pythonExcess.reduce(0) { $0 + $1.1 }
        func pythonMatch(_ requiresPython: String?) -> (share: Double, excluded: [String]) {
            guard let rp = requiresPython, let set = try? SpecifierSet(rp), pythonKnown > 0 else { return (1, []) }
            var ok = 0.0
            var excluded: [String] = []
            for (p, x) in pythonExcess {
                var full = p
                if full.split(separator: ".").count == 2 { full += ".0" }
                if set.contains(full, prereleases: true) { ok += x } else { excluded.append(p) }
            }
            return (ok / pythonKnown, excluded)
        }
        let pythonLabel: String = {
            let majors = Dictionary(grouping: pythonExcess, by: { PythonVersion.minor(of: $0.0) ?? $0.0 }).mapValues { $0.reduce(0) { $0 + $1.1 } }
            return majors.sorted { $0.value > $1.value }.prefix(3).map { "Python \($0.key) \(Describe.percent(pythonKnown > 0 ? $0.value / pythonKnown : 0))" }.joined(separator: ", ")
        }()

        // Candidates: the catalog's reverse dependencies of the contributors.
        var dependents = Set<String>()
        for p in contributorProjects where !values.isEmpty { for r in catalog.reverseDependencies(of: p) { dependents.insert(r.dependent) } }
        dependents.subtract(contributorProjects)
        let lookbackStart = window.start - lookback * 86400
        var candidates: [Candidate] = []
        for d in dependents.sorted() {
            guard let releases = try? catalog.releases(of: d) else { continue }
            let dated = releases.filter { ($0.uploadTime ?? .max) < window.end && !$0.yanked }
            var chosen = dated.filter { $0.uploadTime! >= lookbackStart }
            if chosen.isEmpty, let latest = dated.max(by: { $0.uploadTime! < $1.uploadTime! }) { chosen = [latest] }
            for r in chosen {
                guard let reqs = try? catalog.requirements(of: d, version: r.versionText, for: env) else { continue }
                let index = releases.firstIndex { $0.versionText == r.versionText } ?? 0
                let previous = releases[..<index].last { (try? catalog.requirements(of: d, version: $0.versionText, for: nil)) != nil }?.versionText
                var changes: [(new: Requirement, old: Requirement?)] = []
                if let previous, let diff = try? catalog.requirementDiff(project: d, from: previous, to: r.versionText) {
                    changes = diff.changed.map { ($0.to, $0.from) } + diff.added.map { ($0, nil) }
                } else {
                    changes = reqs.all.map { ($0, nil) }
                }
                changes = changes.filter { $0.new.applies(to: env) }
                let closure = catalog.closure(of: reqs.applicable, for: env, before: window.end)
                candidates.append(Candidate(project: d, version: r.versionText, released: r.uploadTime!, previous: previous,
                                            requirements: reqs.applicable, changes: changes, closure: closure,
                                            requiresPython: catalog.requiresPython(of: d, version: r.versionText)))
            }
        }
        var watched = Set<String>()
        for c in candidates { watched.formUnion(c.changes.map { $0.new.normalizedName }); watched.formUnion(c.closure.keys) }
        let movement = try await ProjectMovement.load(context, projects: watched, window: window, filters: baseFilters, baselineDays: baselineDays)
        let contributorSet = Set(contributorProjects)
        func moved(_ p: String) -> Bool {
            contributorSet.contains(p) || (movement[p]?.moved(minRatio: minRatio, minExcess: 0.01 * totalExcess) ?? false)
        }
        func share(_ x: Double) -> String { Describe.percent(x / totalExcess) }

        func timeScore(_ released: Int64) -> (Double, String) {
            if released <= window.start {
                let days = Double(window.start - released) / 86400
                let t = max(0, 1 - days / Double(lookback))
                return (t, String(format: "released %.1f days before the window's start", days))
            }
            let t = max(0, 1 - Double(released - window.start) / Double(window.seconds))
            return (t, String(format: "released %.1f days into the window", Double(released - window.start) / 86400))
        }

        var hypotheses: [Hypothesis] = []
        for c in candidates {
            let (t, timeText) = timeScore(c.released)
            let (m, excludedPythons) = pythonMatch(c.requiresPython)
            let pythonText = c.requiresPython.map { "requires_python \($0)" } ?? "no requires_python"
            var common: [String] = [timeText, "\(pythonText): admits \(Describe.percent(m)) of the excess (\(pythonLabel))"]
            var commonProblems: [String] = []
            if t == 0 { commonProblems.append("wrong time: \(timeText) (lookback \(lookback) days)") }
            else if t < 0.5 { commonProblems.append("late or early: \(timeText)") }
            if m < 0.5 { commonProblems.append("wrong Python: \(pythonText) excludes \(excludedPythons.prefix(3).joined(separator: ", ")) (\(Describe.percent(1 - m)) of the excess)") }

            // Release diff fingerprint.
            var r = Hypothesis(kind: "release", project: c.project, version: c.version, score: 0, released: c.released)
            r.when = timeText
            var coverage = 0.0
            var changedContributors = Set<String>()
            var matchedLines: [(Double, String)] = [], excludedLines: [(Double, String)] = []
            var excludedShort: [String] = []
            for change in c.changes {
                let q = change.new.normalizedName
                let oldText = change.old.map { $0.specifier.isEmpty ? "any" : $0.specifier.description } ?? "absent"
                let newText = change.new.specifier.isEmpty ? "any" : change.new.specifier.description
                guard let vs = versionExcess[q] else { continue }
                changedContributors.insert(q)
                for (v, x) in vs.sorted(by: { $0.value > $1.value }) {
                    let weight = Self.matchWeight(project: q, version: v, new: change.new.specifier, old: change.old?.specifier, catalog: catalog)
                    coverage += x * weight
                    let what = weight == 1 ? (change.old == nil ? "added" : "forces this version") : weight > 0 ? "allows it" : "excludes it"
                    let line = "\(q) \(v) (\(share(x)) of the excess): \(oldText) → \(newText), \(what)"
                    // Versions with a negligible part of the excess count in the score, not in the lists.
                    guard x >= 0.005 * totalExcess else { continue }
                    if weight > 0 { matchedLines.append((x, line)) } else {
                        excludedLines.append((x, line))
                        excludedShort.append("\(q) \(v) (\(newText))")
                    }
                }
            }
            coverage /= totalExcess
            r.matched = matchedLines.sorted { $0.0 > $1.0 }.map(\.1)
            r.missing = excludedLines.sorted { $0.0 > $1.0 }.map(\.1)
            for p in contributorProjects where !changedContributors.contains(p) {
                r.missing.append("\(p) (\(share(projectExcess[p] ?? 0)) of the excess): not changed by this release")
            }
            let diffNames = Set(c.changes.map { $0.new.normalizedName })
            let unmoved = diffNames.filter { !moved($0) }.sorted()
            let noise = diffNames.isEmpty ? 1 : Double(unmoved.count) / Double(diffNames.count)
            if !unmoved.isEmpty {
                r.missing.append("changed here but did not move: \(unmoved.prefix(8).joined(separator: ", "))\(unmoved.count > 8 ? " and \(unmoved.count - 8) more" : "")")
            }
            r.score = coverage * (0.3 + 0.7 * t) * (0.1 + 0.9 * m) * (1 - 0.3 * noise)
            r.components = ["coverage": coverage, "noise": noise, "time": t, "python": m]
            r.reasons = ["explains \(Describe.percent(coverage)) of the contributors' excess with \(diffNames.count) added or changed requirements since \(c.previous ?? "nothing (first release)")",
                         "\(diffNames.count - unmoved.count) of \(diffNames.count) changed requirements moved here"] + common
            if !excludedShort.isEmpty, coverage < 0.5 { r.problems.append("its new requirements exclude the fetched versions: \(excludedShort.prefix(4).joined(separator: ", "))") }
            if coverage < 0.01, excludedShort.isEmpty { r.problems.append("no overlap: its changed requirements explain none of the contributors' excess") }
            else if coverage < 0.5 { r.problems.append("partial overlap: explains only \(Describe.percent(coverage)) of the contributors' excess") }
            r.problems += commonProblems
            if noise > 0.8, coverage > 0 { r.problems.append("noisy diff: \(unmoved.count) of \(diffNames.count) changed requirements did not move here") }
            hypotheses.append(r)

            // Fresh installs of the release's full requirement set.
            let closureNames = Set(c.closure.keys).subtracting([c.project])
            guard !closureNames.isEmpty else { continue }
            var f = Hypothesis(kind: "fresh-install", project: c.project, version: c.version, score: 0, released: c.released)
            let covered = contributorProjects.filter { closureNames.contains($0) }
            let freshCoverage = covered.reduce(0) { $0 + (projectExcess[$1] ?? 0) } / totalExcess
            let movedNames = closureNames.filter(moved).sorted()
            let flatNames = closureNames.subtracting(movedNames).sorted { (c.closure[$0]?.depth ?? 9, $0) < (c.closure[$1]?.depth ?? 9, $1) }
            let movedShare = Double(movedNames.count) / Double(closureNames.count)
            f.score = freshCoverage * movedShare * movedShare * (0.3 + 0.7 * t) * (0.1 + 0.9 * m)
            f.components = ["coverage": freshCoverage, "moved": movedShare, "time": t, "python": m]
            f.matched = ["moved with the contributors: \(movedNames.prefix(10).joined(separator: ", "))\(movedNames.count > 10 ? " and \(movedNames.count - 10) more" : "") (\(movedNames.count) of \(closureNames.count) packages it installs)"]
            if !flatNames.isEmpty {
                f.missing = ["did not move: \(flatNames.prefix(10).joined(separator: ", "))\(flatNames.count > 10 ? " and \(flatNames.count - 10) more" : "") (\(flatNames.count) of \(closureNames.count))"]
            }
            for p in contributorProjects where !closureNames.contains(p) {
                f.missing.append("\(p) (\(share(projectExcess[p] ?? 0)) of the excess): not in its requirement set")
            }
            common.insert("its requirement set (\(closureNames.count) packages with dependencies) covers \(Describe.percent(freshCoverage)) of the contributors' excess; \(Describe.percent(movedShare)) of those packages rose here", at: 0)
            f.reasons = common
            if movedShare < 0.5 { f.problems.append("its full requirement set did not move: only \(movedNames.count) of \(closureNames.count) packages rose (upgrades, not fresh installs)") }
            if freshCoverage < 0.5 { f.problems.append("partial overlap: its requirement set covers only \(Describe.percent(freshCoverage)) of the excess") }
            f.problems += commonProblems
            hypotheses.append(f)
        }

        // Client hypotheses.
        let (ciCmp, _) = try await WindowComparison.make(context, window: window, dimensions: [.ci], filters: filters, baselineDays: baselineDays)
        let ciKnown = ciCmp.values.contains { $0.value != nil }
        var ciExcessShare = min(1, max(0, (ciCmp.values.first { $0.value == "true" }?.excess ?? 0) / totalExcess))
        if !ciKnown, let ciShareParam { ciExcessShare = min(1, ciShareParam * traffic.windowTotal / totalExcess) }
        let concentrated = concentration == "single-client" || concentration == "few-clients"
        var ci = Hypothesis(kind: "ci", score: ciExcessShare * (concentrated ? 1 : 0.8))
        ci.components = ["ciShare": ciExcessShare]
        ci.reasons = ["clients reporting ci made \(Describe.percent(ciExcessShare)) of the contributors' excess" + (concentration.map { "; clients: \($0)" } ?? "")]
        if ciExcessShare >= 0.5 { ci.matched.append("CI runners made \(Describe.percent(ciExcessShare)) of the excess") }
        else { ci.missing.append("CI runners made only \(Describe.percent(ciExcessShare)) of the excess"); ci.problems.append("few CI downloads: \(Describe.percent(ciExcessShare)) of the excess") }
        if !ciKnown && ciShareParam == nil { ci.problems.append("the store has no CI flags") }
        hypotheses.append(ci)

        let (instCmp, _) = try await WindowComparison.make(context, window: window, dimensions: [.installer], filters: filters, baselineDays: baselineDays)
        let mirrorExcess = instCmp.values.filter { $0.value.map { Self.mirrorTools.contains($0.lowercased()) } ?? false }.reduce(0) { $0 + max(0, $1.excess) }
        let mirrorShare = min(1, mirrorExcess / totalExcess)
        let topShare = topClientShare ?? 0
        var mirror = Hypothesis(kind: "mirror", score: max(mirrorShare, broad && concentration == "single-client" ? topShare : 0.5 * topShare * (broad ? 1 : 0.5)))
        mirror.components = ["mirrorToolShare": mirrorShare, "topClientShare": topShare]
        // The largest client's share is said only when the data has client keys.
        let clientsKnown = topClientShare != nil && concentration != nil && concentration != "unknown"
        mirror.reasons = ["mirroring tools made \(Describe.percent(mirrorShare)) of the excess"]
            + (clientsKnown ? ["the largest client made \(Describe.percent(topShare)) of it"] : [])
            + [broad ? "the change is broad (many values)" : "a small set of values explains the change"]
        if mirrorShare >= 0.5 { mirror.matched.append("mirroring tools made \(Describe.percent(mirrorShare)) of the excess") }
        else { mirror.missing.append("mirroring tools made \(Describe.percent(mirrorShare)) of the excess"); mirror.problems.append("no mirroring tool: \(Describe.percent(mirrorShare)) of the excess") }
        if !broad { mirror.problems.append("a small set of packages, not a whole index") }
        hypotheses.append(mirror)

        // A single client that is a mirroring tool is the mirror hypothesis, not this one.
        var client = Hypothesis(kind: "client", score: topShare * (1 - 0.5 * mirrorShare))
        client.components = ["topClientShare": topShare]
        if let topClientShare {
            client.reasons = ["the largest client made \(Describe.percent(topClientShare, digits: 1)) of the excess" + (concentration.map { " (\($0))" } ?? "")]
            if topClientShare >= 0.5 { client.matched.append("one client made \(Describe.percent(topClientShare)) of the excess") }
            if topClientShare >= 0.5, mirrorShare >= 0.5 { client.problems.append("the client is a mirroring tool (\(Describe.percent(mirrorShare)) of the excess): a mirror") }
            else { client.missing.append("the largest client made only \(Describe.percent(topClientShare, digits: 1)) of the excess"); client.problems.append("no dominant client: the largest made \(Describe.percent(topClientShare, digits: 1)) of the excess") }
        } else {
            client.reasons = ["no client-behaviour result given (`top_client_share`)"]
            client.problems.append("not assessed: no client information")
        }
        hypotheses.append(client)

        let kindOrder = ["release": 0, "fresh-install": 1, "ci": 2, "mirror": 3, "client": 4]
        hypotheses.sort {
            let a = round3($0.score), b = round3($1.score)
            if a != b { return a > b }
            if $0.kind != $1.kind { return kindOrder[$0.kind]! < kindOrder[$1.kind]! }
            return ($0.project ?? "", $0.version ?? "") < ($1.project ?? "", $1.version ?? "")
        }
        var shown = Array(hypotheses.prefix(maxHypotheses))
        // The best hypothesis, and the best one from the other side when it holds too: "CI
        // runners" and "fresh installs of X 1.2" are not rivals but who and what of one story.
        var partnerIndex: Int?
        if !shown.isEmpty, shown[0].score > 0.05 {
            shown[0].rejected = false
            partnerIndex = shown.indices.dropFirst().first { i in
                shown[i].isWho != shown[0].isWho && shown[i].score >= 0.6 && shown[i].problems.isEmpty
            }
            if let i = partnerIndex { shown[i].rejected = false }
        }

        // Findings.
        let table = EvidenceTable(
            title: "Hypotheses for \(window.label), best first",
            columns: ["rank", "kind", "project", "version", "released", "score", "matched", "missing", "why not first"],
            rows: shown.enumerated().map { i, h in
                [.int(Int64(i + 1)), .string(h.kind), h.project.map(Value.string) ?? .null, h.version.map(Value.string) ?? .null,
                 h.released.map { .string(UTCTime.dateString($0)) } ?? .null, .double(round3(h.score)),
                 .string(h.matched.joined(separator: "; ")), .string(h.missing.joined(separator: "; ")),
                 .string(i == 0 ? "" : h.problems.isEmpty ? "lower score" : h.problems.joined(separator: "; "))]
            })
        var findings: [Finding] = []
        if let best = shown.first, best.score > 0.05 {
            // The lead is over the best rival (a partner telling the same story is no rival).
            let second = shown.dropFirst().first { $0.rejected }
            let margin = best.score - (second?.score ?? 0)
            var summary: String
            switch best.kind {
            case "release":
                summary = "\(best.project!) \(best.version!) (\(best.when ?? "release date unknown")) changed the requirements of the contributors: its diff explains \(Describe.percent(best.components["coverage"] ?? 0)) of their excess of \(Describe.count(totalExcess)) downloads, and its Python support admits \(Describe.percent(best.components["python"] ?? 0)) of it. "
                summary += "Matched: \(best.matched.prefix(6).joined(separator: "; "))."
            case "fresh-install":
                summary = "Installs of \(best.project!) \(best.version!) with its whole requirement set: \(best.reasons[0]). "
                summary += best.matched.joined(separator: "; ") + "."
            default:
                summary = best.reasons.joined(separator: "; ") + "."
            }
            let partner = partnerIndex.map { shown[$0] }
            summary += " Score \(String(format: "%.2f", best.score))" + (second.map { ", ahead of \($0.label) (\(String(format: "%.2f", $0.score)))" } ?? "") + "."
            if let partner {
                summary += " The same story seen from the other side: \(partner.label) (score \(String(format: "%.2f", partner.score))): \(partner.reasons.first ?? partner.matched.first ?? "it holds too")."
            }
            let title: String
            if best.score < 0.5 {
                // A weak lead is not a cause: say so, with the lead.
                title = "No convincing cause; the best lead is \(best.label) (score \(String(format: "%.2f", best.score)))"
            } else if let partner {
                let who = best.isWho ? best : partner, what = best.isWho ? partner : best
                title = who.kind == "ci" && what.kind == "fresh-install"
                    ? "Most likely cause: CI runners making \(what.label)"
                    : "Most likely cause: \(who.label), with \(what.label)"
            } else {
                title = "Most likely cause: \(best.label)"
            }
            findings.append(Finding(
                title: title,
                summary: summary,
                evidence: [.table(table), .number(label: "score", value: round3(best.score), unit: "score"),
                           .number(label: "lead over the next hypothesis", value: round3(margin), unit: "score")],
                confidence: best.score < 0.5 ? .low : Confidence(min(0.95, 0.4 + best.score * 0.4 + margin * 0.6)),
                openQuestions: best.missing.isEmpty ? [] : ["What explains the rest: \(best.missing.prefix(3).joined(separator: "; "))?"]))
            // Rejected: the other releases first (the decoys), then installs of the best candidate,
            // then the client kinds, then other install hypotheses that scored at all.
            let rest = shown.dropFirst().filter(\.rejected)
            let rejected = rest.filter { $0.kind == "release" }
                + rest.filter { $0.kind == "fresh-install" && ($0.project == best.project || $0.score >= 0.05) }
                + rest.filter { ["ci", "mirror", "client"].contains($0.kind) }
            if !rejected.isEmpty {
                let lines = rejected.prefix(12).map { h in "\(h.label) (\(String(format: "%.2f", h.score))): \(h.problems.isEmpty ? "lower score" : h.problems.prefix(3).joined(separator: "; "))" }
                findings.append(Finding(
                    title: "Rejected hypotheses",
                    summary: lines.joined(separator: ". ") + ".",
                    evidence: [.table(table)], confidence: Confidence(0.25)))
            }
        } else {
            findings.append(Finding(
                title: "No hypothesis explains the excess",
                summary: "None of the \(candidates.count) releases of the \(dependents.count) catalog projects requiring a contributor, nor the client behaviour, explains the excess of \(Describe.count(totalExcess)) downloads (best score \(String(format: "%.2f", shown.first?.score ?? 0))).",
                evidence: [.table(table)], confidence: .medium,
                openQuestions: ["Is the downstream project that caused it missing from the catalog? (`casebook catalog fetch NAME`)"]))
        }
        return AnalyzerResult(
            outputs: ["hypotheses": .array(shown.map(\.value)), "top": shown.first.map(\.value) ?? .null, "candidates": .int(Int64(dependents.count))],
            findings: findings)
    }

    /// How well a changed requirement explains fetching `version`: 1 when it forces it (the old
    /// specifier excluded it, or the new one excludes an older release the old one allowed), 0.5
    /// when it merely allows it, 0 when it excludes it. An added requirement (no old one) forces it.
    static func matchWeight(project: String, version: String, new: SpecifierSet, old: SpecifierSet?, catalog: Catalog) -> Double {
        guard let v = Version.parse(version), new.contains(v, prereleases: true) else { return 0 }
        guard let old else { return 1 }
        if !old.contains(v, prereleases: true) { return 1 }
        let older = ((try? catalog.releases(of: project)) ?? []).compactMap(\.version).filter { $0 < v }
        if older.contains(where: { old.contains($0, prereleases: false) && !new.contains($0, prereleases: false) }) { return 1 }
        return 0.5
    }
}
