import Foundation

// Exact-match scoring of returned causes against the injected ones.
//
// A returned cause matches an injected one when it names the same dimensions with the same values
// (a value set compared as a set). Before matching, the returned causes are normalised: causes
// naming the same dimensions that differ in the values of one dimension only are merged into one
// cause with a value set there (Squeeze and Adtributor return elements, e.g. `country=DE` and
// `country=AT`, where the truth says `country∈{AT,DE}`); the generator never injects two causes
// that this would merge. Counts are summed over a family's cases (micro-averaged precision,
// recall and F1), as in the Squeeze and RiskLoc evaluations.

func normalise(_ causes: [CauseKey]) -> Set<CauseKey> {
    var list = Array(Set(causes))
    var merged = true
    while merged {
        merged = false
        search: for i in list.indices {
            for j in list.indices where j > i {
                if let m = merge(list[i], list[j]) {
                    list.remove(at: j)
                    list[i] = m
                    merged = true
                    break search
                }
            }
        }
    }
    return Set(list)
}

private func merge(_ a: CauseKey, _ b: CauseKey) -> CauseKey? {
    guard a.dimensions == b.dimensions else { return nil }
    var differing: [Int] = []
    for i in a.pairs.indices where a.pairs[i].values != b.pairs[i].values { differing.append(i) }
    guard differing.count == 1 else { return nil }
    return CauseKey(a.pairs.map { ($0.dimension, $0.values) } + [(b.pairs[differing[0]].dimension, b.pairs[differing[0]].values)])
}

struct Score {
    var truePositives = 0
    var falsePositives = 0
    var falseNegatives = 0
    var cases = 0
    var exactCases = 0
    var milliseconds: [Double] = []
    var failures = 0

    mutating func add(returned: [CauseKey], truth: [CauseKey], milliseconds ms: Double) {
        let r = normalise(returned)
        let t = Set(truth)
        let tp = r.intersection(t).count
        truePositives += tp
        falsePositives += r.count - tp
        falseNegatives += t.count - tp
        cases += 1
        if r == t { exactCases += 1 }
        milliseconds.append(ms)
    }

    /// A case scored elsewhere (the log cases, matched by the downloads each cause selects):
    /// `matched` of `truth` injected causes found among `returned` causes.
    mutating func add(matched: Int, returned: Int, truth: Int, milliseconds ms: Double) {
        truePositives += matched
        falsePositives += returned - matched
        falseNegatives += truth - matched
        cases += 1
        if matched == truth && returned == truth { exactCases += 1 }
        milliseconds.append(ms)
    }

    mutating func add(_ other: Score) {
        truePositives += other.truePositives
        falsePositives += other.falsePositives
        falseNegatives += other.falseNegatives
        cases += other.cases
        exactCases += other.exactCases
        milliseconds += other.milliseconds
        failures += other.failures
    }

    var precision: Double { truePositives + falsePositives == 0 ? 0 : Double(truePositives) / Double(truePositives + falsePositives) }
    var recall: Double { truePositives + falseNegatives == 0 ? 0 : Double(truePositives) / Double(truePositives + falseNegatives) }
    var f1: Double {
        let d = 2 * truePositives + falsePositives + falseNegatives
        return d == 0 ? 0 : 2 * Double(truePositives) / Double(d)
    }
    var meanMilliseconds: Double { milliseconds.isEmpty ? 0 : milliseconds.reduce(0, +) / Double(milliseconds.count) }
    var maxMilliseconds: Double { milliseconds.max() ?? 0 }
}
