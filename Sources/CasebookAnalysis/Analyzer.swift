import CasebookCore
import Foundation

/// A playbook step's analysis, written in Swift and compiled into `casebook`.
///
/// An analyzer declares what it is (``description``: name, summary, parameters, outputs) and
/// runs with an ``AnalyzerContext``: its validated parameters, the store (aggregate queries
/// only), earlier steps' outputs and the catalog folder. It returns outputs (typed values later
/// steps can use) and findings.
///
/// ```swift
/// struct WeekendShare: Analyzer {
///     static let description = AnalyzerDescription(
///         name: "weekend-share", summary: "Share of downloads made on Saturdays and Sundays.",
///         parameters: [.init("project", .string, optional: true, doc: "Only this project.")],
///         outputs: [.init("share", .number, doc: "Weekend downloads / all downloads (0-1).")])
///     init() {}
///     func run(_ context: AnalyzerContext) async throws -> AnalyzerResult { ... }
/// }
/// ```
public protocol Analyzer: Sendable {
    /// Name, summary, parameters and outputs. The name is what playbooks write in `uses:`.
    static var description: AnalyzerDescription { get }
    init()
    /// Runs the analysis. Throw an error (its description is shown) to fail the step.
    func run(_ context: AnalyzerContext) async throws -> AnalyzerResult
}

/// What an analyzer is: it drives validation, `casebook analyzers NAME` and the docs.
public struct AnalyzerDescription: Sendable, Hashable {
    /// The name used in `uses:` (lowercase words joined by `-`, e.g. `spike-detection`).
    public var name: String
    /// One line saying what it finds.
    public var summary: String
    /// Longer explanation (Markdown), optional.
    public var discussion: String
    public var parameters: [ParameterSpec]
    public var outputs: [OutputSpec]
    /// Worked examples that are also tests: each runs on its tiny data set and must find what it
    /// says (one registry-wide test checks them; `casebook analyzers NAME` shows them).
    public var examples: [AnalyzerExample]

    public init(
        name: String, summary: String, discussion: String = "", parameters: [ParameterSpec] = [],
        outputs: [OutputSpec] = [], examples: [AnalyzerExample] = []
    ) {
        self.name = name
        self.summary = summary
        self.discussion = discussion
        self.parameters = parameters
        self.outputs = outputs
        self.examples = examples
    }

    public func parameter(named name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
    public func output(named name: String) -> OutputSpec? { outputs.first { $0.name == name } }

    /// An example step using this analyzer, in playbook YAML (required parameters and defaults).
    public var exampleStep: String {
        var lines = ["- id: \(name.replacingOccurrences(of: "-", with: "_"))", "  uses: \(name)"]
        if !parameters.isEmpty {
            lines.append("  with:")
            for p in parameters {
                let v = p.defaultValue.map { $0 == .null ? "null" : $0.jsonString } ?? (p.optional ? "null" : "<\(p.kind.name)>")
                lines.append("    \(p.name): \(v)\(p.isRequired ? "   # required" : p.defaultValue == nil ? "   # optional" : "")")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// One parameter an analyzer accepts.
public struct ParameterSpec: Sendable, Hashable {
    public var name: String
    public var kind: ValueKind
    /// Used when the step does not give the parameter. `nil` with `optional == false`: required.
    public var defaultValue: Value?
    /// Whether the parameter may be absent or `null` without a default.
    public var optional: Bool
    public var doc: String
    /// The numbers it accepts (checked at validation and before the step runs), if limited.
    public var range: ValueRange?

    public init(
        _ name: String, _ kind: ValueKind, default defaultValue: Value? = nil, optional: Bool = false,
        range: ValueRange? = nil, doc: String
    ) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.optional = optional
        self.range = range
        self.doc = doc
    }

    /// Required: no default and not optional.
    public var isRequired: Bool { defaultValue == nil && !optional }

    /// Whether `null` is acceptable for this parameter.
    public var acceptsNull: Bool { optional || defaultValue == .null }
}

/// One output an analyzer produces.
public struct OutputSpec: Sendable, Hashable {
    public var name: String
    public var kind: ValueKind
    public var doc: String

    public init(_ name: String, _ kind: ValueKind, doc: String) {
        self.name = name
        self.kind = kind
        self.doc = doc
    }
}

/// What an analyzer returns.
public struct AnalyzerResult: Sendable, Hashable, Codable {
    /// Output values by name, as declared in ``AnalyzerDescription/outputs``.
    public var outputs: [String: Value]
    public var findings: [Finding]

    public init(outputs: [String: Value] = [:], findings: [Finding] = []) {
        self.outputs = outputs
        self.findings = findings
    }
}

/// Everything an analyzer may use while it runs.
public struct AnalyzerContext: Sendable {
    /// The step's id in the playbook.
    public var stepID: String
    /// Parameters after validation, with defaults applied (absent optional parameters are missing).
    public var parameters: [String: Value]
    /// The event store. Analyzers ask it aggregate queries only.
    public var store: any EventStore
    /// Outputs of earlier steps that succeeded, by step id, then output name.
    public var steps: [String: [String: Value]]
    /// The run's package-metadata catalog (opened once per run, shared by its steps), if any.
    public var catalog: RunCatalog?
    /// The catalog folder given with `--catalog`, if the catalog is one.
    public var catalogDirectory: URL? { catalog?.isFolder == true ? catalog?.directory : nil }
    /// The folder holding the playbook; relative paths in parameters are relative to it.
    public var playbookDirectory: URL
    /// Reports progress (one line on stderr in the CLI).
    public var log: @Sendable (String) -> Void

    public init(
        stepID: String, parameters: [String: Value], store: any EventStore,
        steps: [String: [String: Value]] = [:], catalogDirectory: URL? = nil, catalog: RunCatalog? = nil,
        playbookDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.stepID = stepID
        self.parameters = parameters
        self.store = store
        self.steps = steps
        self.catalog = catalog ?? catalogDirectory.map { RunCatalog(directory: $0) }
        self.playbookDirectory = playbookDirectory
        self.log = log
    }

    /// Asks the store an aggregate query.
    public func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        try await store.aggregate(query)
    }

    // MARK: Typed parameters (validated before the run, so these only throw on a programming error)

    /// The raw value of a parameter, or `nil` when absent or `null`.
    public func value(_ name: String) -> Value? {
        guard let v = parameters[name], v != .null else { return nil }
        return v
    }

    public func string(_ name: String) throws -> String { try require(name, value(name)?.stringValue, "string") }
    public func int(_ name: String) throws -> Int64 { try require(name, value(name)?.intValue, "int") }
    public func number(_ name: String) throws -> Double { try require(name, value(name)?.doubleValue, "number") }
    public func bool(_ name: String) throws -> Bool { try require(name, value(name)?.boolValue, "bool") }
    public func list(_ name: String) throws -> [Value] { try require(name, value(name)?.arrayValue, "list") }
    public func object(_ name: String) throws -> [String: Value] { try require(name, value(name)?.objectValue, "object") }
    public func dimension(_ name: String) throws -> CasebookCore.Dimension {
        try require(name, value(name)?.stringValue.flatMap { CasebookCore.Dimension(name: $0) }, "dimension")
    }
    public func bucket(_ name: String) throws -> TimeBucket {
        try require(name, value(name)?.stringValue.flatMap { TimeBucket(rawValue: $0) }, "bucket")
    }
    /// A duration parameter in seconds.
    public func duration(_ name: String) throws -> Int64 {
        let v = value(name)
        return try require(name, v?.intValue ?? v?.stringValue.flatMap(Durations.parse), "duration")
    }
    /// A date parameter as UTC epoch seconds.
    public func date(_ name: String) throws -> Int64 {
        try require(name, value(name)?.stringValue.flatMap { UTCTime.parse($0) } ?? value(name)?.intValue, "date")
    }
    /// A date parameter as UTC epoch seconds, or `nil` when absent.
    public func optionalDate(_ name: String) throws -> Int64? { value(name) == nil ? nil : try date(name) }
    /// A path parameter resolved against the playbook's folder.
    public func path(_ name: String) throws -> URL {
        let p = try string(name)
        return p.hasPrefix("/") ? URL(fileURLWithPath: p) : playbookDirectory.appendingPathComponent(p)
    }

    private func require<T>(_ name: String, _ value: T?, _ kind: String) throws -> T {
        guard let value else {
            throw AnalyzerError(
                "parameter `\(name)` of step `\(stepID)` is missing or not a \(kind) (found \(parameters[name]?.jsonString ?? "nothing"))")
        }
        return value
    }
}

/// An error meaning "this step cannot run with what was given" (e.g. no package catalog): the
/// runner marks the step *skipped* with the error's message, not failed.
public protocol StepSkippingError: Error, CustomStringConvertible {}

/// A simple error for analyzers to throw: the message is shown as the step's failure reason.
public struct AnalyzerError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The analyzers a run can use, by name: built-ins plus any a custom build registers.
public struct AnalyzerRegistry: Sendable {
    public private(set) var analyzers: [String: any Analyzer.Type] = [:]

    public init(_ types: [any Analyzer.Type] = []) {
        for t in types { register(t) }
    }

    /// Adds (or replaces) an analyzer type under its declared name.
    public mutating func register(_ type: any Analyzer.Type) {
        analyzers[type.description.name] = type
    }

    public func analyzer(named name: String) -> (any Analyzer.Type)? { analyzers[name] }
    public var names: [String] { analyzers.keys.sorted() }
    /// Descriptions sorted by name.
    public var descriptions: [AnalyzerDescription] { names.compactMap { analyzers[$0]?.description } }
}

extension AnalyzerDescription {
    /// The parameters a step's analyzer runs with: defaults applied for absent (or `null`, when
    /// null is not accepted) parameters, then every value checked against its declared kind and
    /// range. The playbook runner and the testing kit both go through this, so an analyzer is
    /// tested with exactly the parameters it gets in a playbook.
    public func validatedParameters(_ given: [String: Value]) throws -> [String: Value] {
        var params = given
        for spec in parameters {
            if params[spec.name] == nil || params[spec.name] == .null {
                if let d = spec.defaultValue, params[spec.name] == nil || !spec.acceptsNull { params[spec.name] = d }
            }
            guard let v = params[spec.name] else {
                if spec.isRequired { throw AnalyzerError("parameter `\(spec.name)` has no value") }
                continue
            }
            if v == .null {
                if !spec.acceptsNull { throw AnalyzerError("parameter `\(spec.name)` is null; expected \(spec.kind.name)") }
            } else if let problem = spec.problem(with: v) {
                throw AnalyzerError("parameter `\(spec.name)`: \(problem)")
            }
        }
        return params
    }

    /// Checks a result against the declared outputs: a missing output becomes `null`, an output
    /// of the wrong kind is an error naming the analyzer (`uses`) and the output.
    public func checkOutputs(of result: inout AnalyzerResult, uses: String) throws {
        for spec in outputs {
            guard let v = result.outputs[spec.name] else {
                result.outputs[spec.name] = .null
                continue
            }
            if v != .null, let problem = spec.kind.problem(with: v) {
                throw AnalyzerError("`\(uses)` returned output `\(spec.name)` of the wrong type: \(problem)")
            }
        }
    }
}
