import Foundation
import PackagePlugin

/// `swift package --allow-writing-to-package-directory new-analyzer NAME --target TARGET`
///
/// Scaffolds a Swift analyzer named NAME (e.g. `weekend-share`) in `Sources/TARGET/` and a
/// Swift Testing test for it in `Tests/TARGETTests/`, both ready to build. Register the type with
/// `CasebookCommand.main(analyzers: [...])` (custom build) or in `BuiltinAnalyzers.all` (Casebook).
@main
struct NewAnalyzer: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let targetName = extractor.extractOption(named: "target").last
        guard let name = extractor.remainingArguments.first,
            name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }), name.first?.isLetter == true
        else {
            Diagnostics.error(
                "usage: swift package --allow-writing-to-package-directory new-analyzer NAME --target TARGET (NAME like `weekend-share`)")
            throw ScaffoldError.usage
        }
        let sourceTargets = context.package.targets.compactMap { $0 as? SwiftSourceModuleTarget }.filter { $0.kind == .generic }
        guard
            let target = targetName.flatMap({ t in sourceTargets.first { $0.name == t } })
                ?? (targetName == nil && sourceTargets.count == 1 ? sourceTargets.first : nil)
        else {
            Diagnostics.error("choose a library target with --target (one of: \(sourceTargets.map(\.name).joined(separator: ", ")))")
            throw ScaffoldError.usage
        }
        let typeName = name.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "Analyzer"
        let sourceURL = target.directoryURL.appendingPathComponent("\(typeName).swift")
        let testDir = context.package.directoryURL.appendingPathComponent("Tests/\(target.name)Tests")
        let testURL = testDir.appendingPathComponent("\(typeName)Tests.swift")
        for url in [sourceURL, testURL] where FileManager.default.fileExists(atPath: url.path) {
            Diagnostics.error("\(url.path) already exists")
            throw ScaffoldError.exists
        }
        try FileManager.default.createDirectory(at: testDir, withIntermediateDirectories: true)
        try source(name: name, typeName: typeName).write(to: sourceURL, atomically: true, encoding: .utf8)
        try test(name: name, typeName: typeName, module: target.moduleName).write(to: testURL, atomically: true, encoding: .utf8)
        print("created \(sourceURL.path)")
        print("created \(testURL.path)")
        print(
            """
            next: register it, e.g. `await CasebookCommand.main(analyzers: [\(typeName).self])`, and make sure
            Package.swift has a test target `\(target.name)Tests` depending on `\(target.name)` and the `CasebookAnalysis`
            and `CasebookTesting` products (the library itself needs only `CasebookAnalysis`).
            """)
    }

    func source(name: String, typeName: String) -> String {
        """
        import CasebookAnalysis
        import CasebookCore

        /// `\(name)`: TODO one line saying what it finds.
        public struct \(typeName): Analyzer {
            public static let description = AnalyzerDescription(
                name: "\(name)",
                summary: "Downloads per day for one project (replace with what \(name) finds).",
                parameters: [
                    ParameterSpec("project", .string, optional: true, doc: "Only this project (any spelling: `Flask_Login` is `flask-login`)."),
                    ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
                    ParameterSpec("bucket", .bucket, default: "day", doc: "Time bucket."),
                ],
                outputs: [
                    OutputSpec("total", .int, doc: "Downloads counted."),
                ])

            public init() {}

            public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
                // The toolkit's filters: dimension names checked, project names PEP 503-normalised.
                var filters = try context.filters("filter")
                if let project = context.value("project")?.stringValue {
                    filters.append(.equals(.project, ProjectName.normalize(project)))
                }
                let table = try await context.aggregate(AggregateQuery(bucket: try context.bucket("bucket"), filters: filters))
                let finding = Finding(
                    title: "\\(Describe.count(table.total)) downloads",
                    summary: "\\(Describe.count(table.total)) downloads (\\(Describe.scope(filters))) over \\(Describe.counted(table.rows.count, "bucket")).",
                    evidence: [.count("downloads", table.total)],
                    confidence: .medium)
                return AnalyzerResult(outputs: ["total": .int(table.total)], findings: [finding])
            }
        }

        """
    }

    func test(name: String, typeName: String, module: String) -> String {
        """
        import CasebookAnalysis
        import CasebookTesting
        import Testing
        @testable import \(module)

        @Test func \(typeName.prefix(1).lowercased() + typeName.dropFirst())CountsDownloads() async throws {
            let store = TestEvents {
                $0.daily("flask-login", from: "2020-03-04", counts: [3])
                $0.daily("numpy", from: "2020-03-05", counts: [2])
            }.store
            // `run` validates the parameters as a playbook step would (defaults applied).
            let result = try await run(\(typeName).self, with: ["project": "Flask_Login"], store: store)
            #expect(result.outputs["total"] == .int(3))
            #expect(result.findings.first?.summary == "3 downloads (project flask-login) over 1 bucket.")
        }

        """
    }
}

enum ScaffoldError: Error { case usage, exists }
