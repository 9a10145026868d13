import BenchmarkSupport
import CasebookAnalyzers
import CasebookCore
import Foundation

// casebook-detect-bench: the shipped `downloads-spike` playbook's detection (its `spike` step,
// `spike-detection` with the playbook's defaults, at hour buckets for hourly series) on public
// labelled count series, beside published detectors run in Python on the same series, scored by
// window precision, recall and F1. Figures, not assertions.
//
//   bash Tests/Benchmarks/fetch-detect-data.sh /tmp/detect-data     # NAB and pypistats' fixture
//   swift run -c release casebook-detect-bench --data /tmp/detect-data [--set NAME=VALUE ...]
//       [--thresholds 3,4,5] [--no-peers] [--python PYTHON] [--playbook FILE] [--show-windows]
//       [--cross-validate-max-windows 3,4,5,6,8,10]
//
// Overlap rule: a detected window is a true positive when it overlaps (shares at least one
// bucket with) a labelled window; a labelled window is found when at least one detected window
// overlaps it, and counts once however many do. Precision = true-positive detections /
// detections, recall = labelled windows found / labelled windows, both summed over the series of
// a family (and over every labelled series for "all"); F1 is their harmonic mean. Unlabelled
// series (PyPI daily) only count the windows flagged, per 100 days.

struct Args {
    var data: String?
    var overrides: [(String, String)] = []
    var thresholds: [String] = []
    var peers = true
    var python = "python3"
    var playbook: String?
    var showWindows = false
    var crossValidateCaps: [Int] = []

    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let a = it.next() {
            switch a {
            case "--data": data = it.next()
            case "--set":
                let kv = (it.next() ?? "").split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { Args.fail("--set takes NAME=VALUE") }
                overrides.append((kv[0], kv[1]))
            case "--thresholds": thresholds = (it.next() ?? "").split(separator: ",").map(String.init)
            case "--no-peers": peers = false
            case "--python": python = it.next() ?? python
            case "--playbook": playbook = it.next()
            case "--show-windows": showWindows = true
            case "--cross-validate-max-windows":
                crossValidateCaps = (it.next() ?? "").split(separator: ",").compactMap { Int($0) }.sorted()
                guard !crossValidateCaps.isEmpty, crossValidateCaps[0] >= 1 else {
                    Args.fail("--cross-validate-max-windows takes a list of counts, e.g. 3,4,5,6,8,10")
                }
            case "-h", "--help":
                say(
                    "usage: casebook-detect-bench --data DIR [--set NAME=VALUE ...] [--thresholds 3,4,5] [--no-peers] [--python PYTHON] [--playbook FILE] [--show-windows] [--cross-validate-max-windows 3,4,5,...]"
                )
                exit(0)
            default: Args.fail("unknown argument \(a)")
            }
        }
        if data == nil { Args.fail("--data DIR is required (fill it with Tests/Benchmarks/fetch-detect-data.sh DIR)") }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("casebook-detect-bench: \(message)\n".utf8))
        exit(2)
    }
}

func say(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }
func format(_ x: Double, _ digits: Int = 2) -> String { x.isFinite ? String(format: "%.\(digits)f", x) : "–" }

/// Window counts of one detector on a group of series.
struct Score {
    var detected = 0
    var truePositives = 0
    var labelled = 0
    var found = 0
    var buckets = 0
    var days = 0.0

    var precision: Double { detected == 0 ? (labelled == 0 ? .nan : 0) : Double(truePositives) / Double(detected) }
    var recall: Double { labelled == 0 ? .nan : Double(found) / Double(labelled) }
    var f1: Double {
        let p = precision
        let r = recall
        return p.isFinite && r.isFinite && p + r > 0 ? 2 * p * r / (p + r) : (p.isFinite && r.isFinite ? 0 : .nan)
    }
    var per100Days: Double { days > 0 ? Double(detected) / days * 100 : .nan }

    mutating func add(_ windows: [Detected], _ s: Series) {
        detected += windows.count
        buckets += s.values.count
        days += Double(s.end - s.start) / 86400
        guard let labels = s.labels else { return }
        labelled += labels.count
        truePositives += windows.filter { w in labels.contains { $0.overlaps(w.span) } }.count
        found += labels.filter { l in windows.contains { $0.span.overlaps(l) } }.count
    }

    static func + (a: Score, b: Score) -> Score {
        Score(
            detected: a.detected + b.detected, truePositives: a.truePositives + b.truePositives, labelled: a.labelled + b.labelled,
            found: a.found + b.found, buckets: a.buckets + b.buckets, days: a.days + b.days)
    }
}

let args = Args()
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let playbook = URL(fileURLWithPath: args.playbook ?? packageRoot().appendingPathComponent("playbooks/downloads-spike.yaml").path)
let dataDir = URL(fileURLWithPath: args.data!)
let work = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-detect-bench-\(getpid())")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }

var series: [Series]
do {
    series = try NAB.load(root: dataDir.appendingPathComponent("NAB"))
    let fixture = dataDir.appendingPathComponent("pypistats/python_minor.py")
    if FileManager.default.fileExists(atPath: fixture.path) {
        series += try PyPIFixture.load(file: fixture)
    } else {
        say("note: \(fixture.path) missing: no PyPI daily series")
    }
} catch {
    Args.fail("\(error)")
}
let families = Family.allCases.filter { f in series.contains { $0.family == f } }

say("")
say("| family | series | bucket | buckets | gaps | labelled windows |")
say("|---|--:|---|--:|--:|--:|")
for f in families {
    let ss = series.filter { $0.family == f }
    let labels = ss.map { $0.labels?.count ?? 0 }.reduce(0, +)
    say(
        "| \(f.title) | \(ss.count) | \(ss[0].bucket.rawValue) | \(ss.map(\.values.count).reduce(0, +)) | \(ss.map { $0.values.filter { $0 == nil }.count }.reduce(0, +)) | \(f.labelled ? String(labels) : "unlabelled") |"
    )
}

/// The spike step's default cap on the windows it lists.
let casebookMaxWindows: Int = {
    guard case .int(let n)? = SpikeDetectionAnalyzer.description.parameters.first(where: { $0.name == "max_windows" })?.defaultValue
    else { Args.fail("spike-detection has no integer max_windows default") }
    return Int(n)
}()

/// Detector name → series id → windows.
var results: [(name: String, windows: [String: [Detected]], seconds: Double)] = []

@MainActor func casebookRun(_ name: String, _ overrides: [(String, String)]) async throws {
    let detector = CasebookDetector(playbook: playbook, overrides: overrides, workDirectory: work)
    var out: [String: [Detected]] = [:]
    let t0 = Date()
    for s in series { out[s.id] = try await detector.detect(s) }
    results.append((name, out, Date().timeIntervalSince(t0)))
}

do {
    let sets = args.overrides.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
    try await casebookRun("Casebook `spike-detection`" + (sets.isEmpty ? "" : " (\(sets))"), args.overrides)
    for t in args.thresholds {
        try await casebookRun("Casebook, threshold \(t)", args.overrides.filter { $0.0 != "threshold" } + [("threshold", t)])
    }
    if args.peers {
        let t0 = Date()
        let peers = Peers(python: args.python, script: root.appendingPathComponent("detect_peers.py"), workDirectory: work)
        let (names, windows) = try peers.detect(series)
        let seconds = Date().timeIntervalSince(t0) / Double(max(1, names.count))
        for n in names { results.append((n, windows[n] ?? [:], seconds)) }
        // The same peers with Casebook's cap on the windows listed (`max_windows`, its default),
        // each keeping its largest windows by its own measure of size: the comparison of
        // rankings at the same list length.
        for n in names {
            let capped = (windows[n] ?? [:]).mapValues { ws in Array(ws.sorted { $0.magnitude > $1.magnitude }.prefix(casebookMaxWindows)) }
            results.append(("\(n), largest \(casebookMaxWindows)", capped, seconds))
        }
    }
} catch {
    Args.fail("\(error)")
}

if args.showWindows {
    for r in results {
        say("\n\(r.name):")
        for s in series {
            let ws = r.windows[s.id] ?? []
            let text = ws.map { w -> String in
                let hit = s.labels.map { ls in ls.contains { $0.overlaps(w.span) } ? "+" : "-" } ?? ""
                return
                    "\(hit)\(UTCTime.isoString(w.span.lowerBound).prefix(16))/\((w.span.upperBound - w.span.lowerBound) / s.bucket.seconds)\(w.kind == "window" || w.kind == "spike" ? "" : " " + w.kind)\(w.figures)"
            }
            let labels = (s.labels ?? []).map {
                "\(UTCTime.isoString($0.lowerBound).prefix(13))…\(UTCTime.isoString($0.upperBound).prefix(13))"
            }
            say("  \(s.id): \(text.joined(separator: ", "))" + (labels.isEmpty ? "" : "  [labels \(labels.joined(separator: ", "))]"))
        }
    }
}

let labelledFamilies = families.filter(\.labelled)
say("")
say(
    "| detector | "
        + labelledFamilies.map { "\($0.title): P / R / F1" }.joined(separator: " | ")
        + " | all labelled: P | R | F1 | windows / labelled | "
        + (families.contains(.pypi) ? "\(Family.pypi.title): windows per 100 days | " : "")
        + "s |")
say(
    "|---|" + labelledFamilies.map { _ in "--:|" }.joined() + "--:|--:|--:|--:|" + (families.contains(.pypi) ? "--:|" : "") + "--:|")
for r in results {
    var byFamily: [Family: Score] = [:]
    for s in series { byFamily[s.family, default: Score()].add(r.windows[s.id] ?? [], s) }
    let all = labelledFamilies.map { byFamily[$0] ?? Score() }.reduce(Score(), +)
    var cells = labelledFamilies.map { f -> String in
        let sc = byFamily[f] ?? Score()
        return "\(format(sc.precision)) / \(format(sc.recall)) / \(format(sc.f1))"
    }
    cells += [format(all.precision), format(all.recall), "**\(format(all.f1))**", "\(all.detected) / \(all.labelled)"]
    if let p = byFamily[.pypi] { cells.append("\(format(p.per100Days, 1)) (\(p.detected) in \(Int(p.days.rounded())) series-days)") }
    cells.append(format(r.seconds, 1))
    say("| \(r.name) | " + cells.joined(separator: " | ") + " |")
}
say("")
say(
    "Overlap rule: a detected window is a true positive when it shares a bucket with a labelled window; a labelled window is found when any detected window overlaps it (counted once). Sums over series; `s` = seconds for all series."
)

// The spike step's `max_windows` chosen on data, by 2-fold cross-validation over the labelled
// series: the series alternate between fold A and fold B (by family, then name); the cap with
// the best F1 on one fold (ties: the larger cap, which loses less) is scored on the other. One
// run at the largest cap gives every smaller one: the analyzer's cap keeps the first windows of
// the same ranked list.
if !args.crossValidateCaps.isEmpty {
    let largest = args.crossValidateCaps.last!
    let detector = CasebookDetector(playbook: playbook, overrides: args.overrides, workDirectory: work, maxWindows: largest)
    var ranked: [String: [Detected]] = [:]
    let labelledSeries = series.filter { $0.labels != nil }
    for s in labelledSeries { ranked[s.id] = try await detector.detect(s) }
    var folds: [[Series]] = [[], []]
    var next = 0
    for f in labelledFamilies {
        for s in labelledSeries.filter({ $0.family == f }).sorted(by: { $0.id < $1.id }) {
            folds[next].append(s)
            next = 1 - next
        }
    }
    func score(_ cap: Int, _ fold: [Series]) -> Score {
        fold.reduce(Score()) { acc, s in
            var one = Score()
            one.add(Array((ranked[s.id] ?? []).prefix(cap)), s)
            return acc + one
        }
    }
    say("")
    say("Cross-validation of `max_windows` (2 folds of the labelled series; F1 per cap):")
    say("")
    say("| max_windows | fold A: P / R / F1 | fold B: P / R / F1 | both: F1 |")
    say("|--:|--:|--:|--:|")
    for cap in args.crossValidateCaps {
        let a = score(cap, folds[0])
        let b = score(cap, folds[1])
        say(
            "| \(cap) | \(format(a.precision)) / \(format(a.recall)) / \(format(a.f1)) | \(format(b.precision)) / \(format(b.recall)) / \(format(b.f1)) | \(format((a + b).f1)) |"
        )
    }
    var heldOut = Score()
    for (train, test) in [(0, 1), (1, 0)] {
        let chosen = args.crossValidateCaps.max { x, y in
            let fx = score(x, folds[train]).f1
            let fy = score(y, folds[train]).f1
            return fx != fy ? fx < fy : x < y
        }!
        let t = score(chosen, folds[test])
        heldOut = heldOut + t
        say("")
        say(
            "fold \(train == 0 ? "A" : "B") (\(folds[train].map(\.id).joined(separator: ", "))) chooses \(chosen); "
                + "on fold \(test == 0 ? "A" : "B") it scores P \(format(t.precision)) / R \(format(t.recall)) / F1 \(format(t.f1))")
    }
    say("")
    say("held out, both folds: P \(format(heldOut.precision)) / R \(format(heldOut.recall)) / **F1 \(format(heldOut.f1))**")
}
