import CasebookAnalysis
import CasebookCore
import Foundation

// Casebook's own method: `Localiser` (CasebookAnalysis, issue 15) with its default settings, run
// through an in-memory `aggregate` over the cube's leaves (`Cube.aggregate`, the store's query
// semantics). The window is the cube's window range and the baseline the baseline range of the
// same length, so the expected value of a leaf is its baseline count. The time per case includes
// every aggregate query it asks (each a pass over the cube's leaves).

struct CasebookMethod: LocalisationMethod {
    var name: String { "Casebook (Localiser)" }

    func localise(_ cube: Cube) async throws -> [CauseKey] {
        let localiser = Localiser(dimensions: cube.dimensions, window: Cube.windowRange, baseline: Cube.baselineRange)
        let result = try await localiser.localise(using: { query in cube.aggregate(query) })
        return result.causes.map { cause in
            CauseKey(cause.pairs.map { pair in (pair.dimension, pair.values.map { $0 ?? "(unknown)" }) })
        }
    }
}
