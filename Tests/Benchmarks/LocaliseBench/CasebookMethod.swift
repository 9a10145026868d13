import CasebookAnalysis
import CasebookCore
import Foundation

// Casebook's own method: `Localiser` (CasebookAnalysis, issue 15) run through an in-memory
// `aggregate` over the cube's leaves. The window is the cube's window range, the baseline the
// baseline range of the same length, so the expected value of a leaf is its baseline count.
//
// Until `Localiser` is on this branch the adapter is compiled out and the table skips it with a
// note. To enable it, build with the CASEBOOK_LOCALISER condition:
//
//   swift build -c release --product casebook-localise-bench -Xswiftc -DCASEBOOK_LOCALISER
//
// (or add `swiftSettings: [.define("CASEBOOK_LOCALISER")]` to the target in Package.swift once the
// localiser is merged).

#if CASEBOOK_LOCALISER
    struct CasebookMethod: LocalisationMethod {
        var name: String { "Casebook (Localiser)" }

        static var isAvailable: Bool { true }

        func localise(_ cube: Cube) async throws -> [CauseKey] {
            let localiser = Localiser(
                dimensions: cube.dimensions, window: Cube.windowRange, baseline: Cube.baselineRange)
            let result = try await localiser.localise(using: { query in cube.aggregate(query) })
            return result.causes.map { cause in
                CauseKey(cause.pairs.map { pair in (pair.dimension, pair.values.map { $0 ?? "(unknown)" }) })
            }
        }
    }
#else
    struct CasebookMethod: LocalisationMethod {
        var name: String { "Casebook (Localiser)" }

        static var isAvailable: Bool { false }

        func localise(_ cube: Cube) async throws -> [CauseKey] { [] }
    }
#endif
