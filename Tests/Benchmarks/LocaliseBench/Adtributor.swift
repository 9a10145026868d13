import Foundation

// Adtributor, after R. Bhagwan, R. Kumar, R. Ramjee, G. Varghese, S. Mohapatra, H. Manoharan and
// P. Shah, "Adtributor: Revenue Debugging in Advertising Systems", NSDI 2014 (Algorithm 1).
//
// For every dimension i and each of its elements j, with F the forecast and A the actual value:
//   explanatory power  EP_ij = (A_ij − F_ij) / (A − F)
//   surprise           S_ij  = ½ (p log(2p / (p + q)) + q log(2q / (p + q))),  p = F_ij / F, q = A_ij / A
//                      (the element's term of the Jensen–Shannon divergence; 0 log 0 = 0)
// Per dimension, elements in decreasing surprise; an element with EP_ij > T_EEP joins the candidate
// set; once the set's EP passes T_EP it is an explanatory set, its surprise the sum of its
// elements'. The sets, by decreasing surprise, are the answer; the paper shows the top 3.
// Thresholds as in the paper: T_EEP = 10%, T_EP = 67%.
//
// Adtributor assumes each cause lies in a single dimension. Each explanatory set is returned as
// one cause: its dimension with its elements as the value set. `top` sets are returned (3 in the
// paper; the benchmark also shows top 1, which suits single-cause cases better).

struct Adtributor: LocalisationMethod {
    var top = 3
    var tEEP = 0.1
    var tEP = 0.67

    private struct Element {
        var index: Int
        var ep: Double
        var surprise: Double
    }

    var name: String { top == 3 ? "Adtributor (top 3)" : "Adtributor (top \(top))" }

    func localise(_ cube: Cube) async throws -> [CauseKey] {
        let fTotal = cube.baseline.reduce(0, +)
        let aTotal = cube.window.reduce(0, +)
        let change = aTotal - fTotal
        guard fTotal > 0, aTotal > 0, change != 0 else { return [] }

        var sets: [(surprise: Double, cause: CauseKey)] = []
        for d in cube.dimensions.indices {
            var f = [Double](repeating: 0, count: cube.values[d].count)
            var a = f
            let c = cube.coords[d]
            for i in 0..<cube.leafCount {
                f[Int(c[i])] += cube.baseline[i]
                a[Int(c[i])] += cube.window[i]
            }
            var elements: [Element] = []
            for j in f.indices {
                let p = f[j] / fTotal
                let q = a[j] / aTotal
                var s = 0.0
                if p > 0 { s += p * log(2 * p / (p + q)) }
                if q > 0 { s += q * log(2 * q / (p + q)) }
                elements.append(Element(index: j, ep: (a[j] - f[j]) / change, surprise: 0.5 * s))
            }
            elements.sort { $0.surprise != $1.surprise ? $0.surprise > $1.surprise : $0.index < $1.index }

            var candidate: [Int] = []
            var explains = 0.0
            var surprise = 0.0
            for e in elements {
                if e.ep > tEEP {
                    candidate.append(e.index)
                    explains += e.ep
                    surprise += e.surprise
                }
                if explains > tEP {
                    sets.append((surprise, CauseKey([(cube.dimensions[d], candidate.map { cube.values[d][$0] })])))
                    break
                }
            }
        }
        return sets.sorted { $0.surprise > $1.surprise }.prefix(top).map(\.cause)
    }
}
