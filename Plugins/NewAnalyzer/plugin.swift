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
              name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }), name.first?.isLetter == true else {
            Diagnostics.error("usage: swift package --allow-writing-to-package-directory new-analyzer NAME --target TARGET (NAME like `weekend-share`)")
            throw ScaffoldError.usage
        }
        let sourceTargets = context.package.targets.compactMap { $0 as? SwiftSourceModuleTarget }.filter { $0.kind == .generic }
        guard let target = targetName.flatMap({ t in sourceTargets.first { $0.name == t } }) ?? (targetName == nil && sourceTargets.count == 1 ? sourceTargets.first : nil) else {
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
        print("""
        next: register it, e.g. `await CasebookCommand.main(analyzers: [\(typeName).self])`, and make sure
        Package.swift has a test target `\(target.name)Tests` depending on `\(target.name)` and the `Casebook` product.
        """)
    }

    func source(name: String, typeName: String) -> String {
        """
        import CasebookCore
        import CasebookAnalysis

        /// `\(name)`: TODO one line saying what it finds.
        public struct \(typeName): Analyzer {
            public static let description = AnalyzerDescription(
                name: "\(name)",
                summary: "Downloads per day for one project (replace with what \(name) finds).",
                parameters: [
                    ParameterSpec("project", .string, optional: true, doc: "Only this project (PEP 503 name)."),
                    ParameterSpec("bucket", .bucket, default: "day", doc: "Time bucket."),
                ],
                outputs: [
                    OutputSpec("total", .int, doc: "Downloads counted."),
                ])

            public init() {}

            public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
                var filters: [DimensionFilter] = []
                if let project = context.value("project")?.stringValue { filters.append(.equals(.project, project)) }
                let table = try await context.aggregate(AggregateQuery(bucket: try context.bucket("bucket"), filters: filters))
                let finding = Finding(
                    title: "\\(table.total) downloads",
                    summary: "Counted over \\(table.rows.count) buckets.",
                    evidence: [.count("downloads", table.total)],
                    confidence: .medium)
                return AnalyzerResult(outputs: ["total": .int(table.total)], findings: [finding])
            }
        }

        """
    }

    func test(name: String, typeName: String, module: String) -> String {
        """
        import CasebookCore
        import CasebookAnalysis
        import Testing
        @testable import \(module)

        @Test func \(typeName.prefix(1).lowercased() + typeName.dropFirst())CountsDownloads() async throws {
            var a = DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 4), count: 3)
            a.project = "flask-login"
            var b = DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 5), count: 2)
            b.project = "numpy"
            let context = AnalyzerContext(stepID: "test", parameters: ["project": "flask-login", "bucket": "day"],
                                          store: InMemoryEventStore(events: [a, b]))
            let result = try await \(typeName)().run(context)
            #expect(result.outputs["total"] == .int(3))
            #expect(result.findings.count == 1)
        }

        """
    }
}

enum ScaffoldError: Error { case usage, exists }
