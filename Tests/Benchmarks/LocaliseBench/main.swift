import BenchmarkSupport
import Foundation

// casebook-localise-bench: root-cause localisation on semi-synthetic cubes. Casebook's `Localiser`
// against two published methods implemented here (Adtributor, NSDI'14; Squeeze, ISSRE'19),
// scored by exact-match precision, recall and F1 of the returned cause sets, per case family,
// with the time per case. Figures, not assertions.
//
//   swift run -c release casebook-localise-bench [--seed N] [--cases-per-family N] [--family a,b,...]
//                                                [--method NAME] [--show-misses N]
//
// Families: a = 1 cause × 1 dimension, b = 1 cause × 2–3 dimensions, c = 2–3 causes, d = drops
// (1–3 causes), e = a cause inside a dimension of 200–500 values, f = scenarios of the simulator
// (real-format logs ingested into SQLite; `LogCases.swift`). Every method sees the same cases, one
// at a time, on one thread.

struct Args {
    var seed: UInt64 = 15
    var casesPerFamily = 80
    var families = Family.allCases
    var method: String?
    var showMisses = 0
    var paperNoise = false

    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let a = it.next() {
            switch a {
            case "--seed": seed = Args.number(it.next(), a)
            case "--cases-per-family": casesPerFamily = Args.number(it.next(), a)
            case "--family":
                let names = (it.next() ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
                families = names.map { name in
                    guard let f = Family(rawValue: name) else { Args.fail("unknown family \(name) (a, b, c, d, e, f)") }
                    return f
                }
            case "--method": method = it.next()
            case "--paper-noise": paperNoise = true
            case "--show-misses": showMisses = Args.number(it.next(), a)
            case "-h", "--help":
                say(
                    "usage: casebook-localise-bench [--seed N] [--cases-per-family N] [--family a,b,c,d,e,f] [--method NAME] [--show-misses N] [--paper-noise]"
                )
                exit(0)
            default: Args.fail("unknown argument \(a)")
            }
        }
    }

    static func number<T: LosslessStringConvertible>(_ text: String?, _ flag: String) -> T {
        guard let text, let n = T(text) else { fail("\(flag) takes a number") }
        return n
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("casebook-localise-bench: \(message)\n".utf8))
        exit(2)
    }
}

func say(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

func format(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

/// A count with thousands separators.
func grouped(_ n: Int64) -> String {
    let f = NumberFormatter()
    f.numberStyle = .decimal
    f.groupingSeparator = ","
    return f.string(from: NSNumber(value: n)) ?? String(n)
}

let args = Args()
var methods: [any LocalisationMethod] = [CasebookMethod(), Squeeze(), Adtributor(top: 3), Adtributor(top: 1)]
if let m = args.method { methods = methods.filter { $0.name.lowercased().contains(m.lowercased()) } }

let started = ContinuousClock.now
var generator = Generator(seed: args.seed)
generator.countingNoise = !args.paperNoise
var scores: [String: [Family: Score]] = [:]
var generated: [Family: (cases: Int, minLeaves: Int, maxLeaves: Int, causes: Int)] = [:]
var logRows: [String] = []
for family in args.families where family != .logs {
    let cubes = generator.cases(family, count: args.casesPerFamily)
    generated[family] = (
        cubes.count, cubes.map(\.leafCount).min() ?? 0, cubes.map(\.leafCount).max() ?? 0, cubes.reduce(0) { $0 + $1.truth.count }
    )
    for method in methods {
        var score = Score()
        var shown = 0
        for cube in cubes {
            let t0 = ContinuousClock.now
            let returned: [CauseKey]
            do {
                returned = try await method.localise(cube)
            } catch {
                returned = []
                score.failures += 1
            }
            score.add(returned: returned, truth: cube.truth, milliseconds: milliseconds(since: t0))
            if shown < args.showMisses && normalise(returned) != Set(cube.truth) {
                shown += 1
                say(
                    "miss \(method.name) \(family.rawValue)#\(cube.index) (\(cube.leafCount) leaves, \(cube.direction.rawValue)): "
                        + "truth [\(cube.truth.map(\.description).joined(separator: "; "))] "
                        + "returned [\(normalise(returned).map(\.description).sorted().joined(separator: "; "))]")
            }
        }
        scores[method.name, default: [:]][family] = score
    }
}
if args.families.contains(.logs) {
    // Family (f): one store per scenario, simulated and ingested here (see LogCases.swift).
    var leafCounts: [Int] = []
    for (i, spec) in logCases.enumerated() {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-localise-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        FileHandle.standardError.write(Data("casebook-localise-bench: simulating and ingesting \(spec.scenario) ...\n".utf8))
        let c = try await loadLogCase(spec, index: i, in: dir)
        leafCounts.append(c.cube.leafCount)
        for method in methods {
            let t0 = ContinuousClock.now
            var returned: [CauseKey] = []
            var failed = false
            do {
                if method is CasebookMethod {
                    returned = try await casebookOnStore(c)
                } else {
                    returned = try await method.localise(c.cube)
                }
            } catch {
                failed = true
            }
            let ms = milliseconds(since: t0)
            let (matched, count) = try await scoreLogCase(returned, c)
            var score = scores[method.name]?[.logs] ?? Score()
            score.add(matched: matched, returned: count, truth: c.cube.truth.count, milliseconds: ms)
            if failed { score.failures += 1 }
            scores[method.name, default: [:]][.logs] = score
            if method is CasebookMethod {
                logRows.append(
                    "| \(spec.name) | \(grouped(c.events)) | \(c.cube.leafCount) | \(c.cube.truth.map(\.description).joined(separator: "; ")) | "
                        + "\(normalise(returned).map(\.description).sorted().joined(separator: "; ")) | \(matched)/\(c.cube.truth.count) of \(count) | "
                        + "\(format(ms, 0)) | \(format(c.cubeMilliseconds, 0)) |")
            } else if args.showMisses > 0 && matched < c.cube.truth.count {
                say(
                    "miss \(method.name) f#\(i) \(spec.name): truth [\(c.cube.truth.map(\.description).joined(separator: "; "))] "
                        + "returned [\(normalise(returned).map(\.description).sorted().joined(separator: "; "))]")
            }
        }
    }
    generated[.logs] = (logCases.count, leafCounts.min() ?? 0, leafCounts.max() ?? 0, logCases.reduce(0) { $0 + $1.truth.count })
}
let wall = ContinuousClock.now - started

say("")
say(
    "seed \(args.seed), \(args.casesPerFamily) cases per family requested"
        + (args.paperNoise ? "; paper-style noise (no counting noise, volumes ×1000)" : ""))
say("")
say("| family | cases | leaves | injected causes |")
say("|---|--:|--:|--:|")
for family in args.families {
    guard let g = generated[family] else { continue }
    say("| \(family.title) | \(g.cases) | \(g.minLeaves)–\(g.maxLeaves) | \(g.causes) |")
}
say("")
say("| method | family | precision | recall | F1 | exact cases | mean ms | max ms |")
say("|---|---|--:|--:|--:|--:|--:|--:|")
for method in methods {
    var all = Score()
    for family in args.families {
        guard let s = scores[method.name]?[family] else { continue }
        all.add(s)
        say(
            "| \(method.name) | \(family.title) | \(format(s.precision, 2)) | \(format(s.recall, 2)) | **\(format(s.f1, 2))** | "
                + "\(s.exactCases)/\(s.cases) | \(format(s.meanMilliseconds, 1)) | \(format(s.maxMilliseconds, 1)) |")
    }
    say(
        "| \(method.name) | **all** | \(format(all.precision, 2)) | \(format(all.recall, 2)) | **\(format(all.f1, 2))** | "
            + "\(all.exactCases)/\(all.cases) | \(format(all.meanMilliseconds, 1)) | \(format(all.maxMilliseconds, 1)) |")
    if all.failures > 0 { say("| \(method.name) | errors | \(all.failures) cases threw | | | | | |") }
}
if !logRows.isEmpty {
    say("")
    say("Family (f), Casebook's causes per case (a cause matches when it selects the same downloads: Jaccard ≥ 0.9):")
    say("")
    say("| case | events | peers' leaves | injected | Casebook returned | matched | Casebook ms | cube ms |")
    say("|---|--:|--:|---|---|---|--:|--:|")
    for row in logRows { say(row) }
}
say("")
say(
    "peak memory \(format(peakMemoryMiB(), 0)) MiB; wall \(format(Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18, 1)) s, "
        + "CPU \(format(cpuSeconds(), 1)) s")
