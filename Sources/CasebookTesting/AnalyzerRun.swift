import CasebookAnalysis
import CasebookCore
import Foundation

/// Runs an analyzer the way a playbook step runs it: the parameters go through the analyzer's
/// declared parameter validation (defaults applied, kinds and ranges checked), and the result
/// through its declared outputs (missing outputs become `null`, wrong kinds are an error).
///
/// ```swift
/// let store = TestEvents { $0.daily("flask", from: "2020-02-01", counts: [100, 100, 400]) }.store
/// let result = try await run(SpikeDetectionAnalyzer.self, with: ["bucket": "day"], store: store)
/// ```
///
/// - Parameters:
///   - type: the analyzer.
///   - parameters: the step's `with:` values, before defaults.
///   - store: the data; ``TestEvents/store`` or any ``EventStore``.
///   - catalog: a catalog folder (``TestCatalog/write()``), for analyzers that read one.
///   - steps: earlier steps' outputs, by step id, as a playbook run would pass them.
public func run(
    _ type: any Analyzer.Type, with parameters: [String: Value] = [:], store: any EventStore,
    catalog: URL? = nil, steps: [String: [String: Value]] = [:],
    stepID: String = "test"
) async throws -> AnalyzerResult {
    let description = type.description
    let params = try description.validatedParameters(parameters)
    let context = AnalyzerContext(
        stepID: stepID, parameters: params, store: store, steps: steps,
        catalogDirectory: catalog)
    var result = try await type.init().run(context)
    try description.checkOutputs(of: &result, uses: description.name)
    return result
}
