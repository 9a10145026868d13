import CasebookAnalyzers
import CasebookCatalog
import CasebookCore
import CasebookAnalysis
import CasebookPlaybooks
import CasebookTesting
import Foundation
import Testing

/// The kit's builders, under the names these tests use.
typealias Events = TestEvents

/// Many distinct Python 2.7 Raspberry Pi clients.
func piClients(_ n: Int, python: String = "2.7.16", prefix: String = "pi") -> [Events.Client] {
    (0..<n).map { Events.Client(python: python, cpu: $0 % 5 == 0 ? "armv6l" : "armv7l", key: "\(prefix)-\($0)") }
}

/// The window used by the tests: 4–6 March 2020.
let testWindow: Value = ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z", "direction": "up"]

/// Runs an analyzer through the kit (the runner's parameter validation and output checks).
func run(_ type: any Analyzer.Type, _ parameters: [String: Value], store: TestStore, catalog: URL?) async throws -> AnalyzerResult {
    try await CasebookTesting.run(type, with: parameters, store: store, catalog: catalog)
}

extension Value {
    /// The objects of a list output.
    var objects: [[String: Value]] { (arrayValue ?? []).compactMap(\.objectValue) }
}
