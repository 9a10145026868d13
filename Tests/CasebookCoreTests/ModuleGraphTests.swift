import Foundation
import Testing

/// The module graph as the `import` lines show it: each module imports only the layers below it
/// (see the CasebookAnalysis documentation's overview). A new import that breaks the layering
/// fails here, naming the file.
@Suite struct ModuleGraphTests {
    /// Casebook modules (and third-party ones) each module may import; Foundation and the
    /// standard library are always allowed.
    static let allowed: [String: Set<String>] = [
        "CasebookCore": [],
        "CasebookCatalog": ["CasebookCore"],
        "CasebookIngest": ["CasebookCore", "CasebookCatalog", "CZlib"],
        "CasebookSQLite": ["CasebookCore", "CasebookCatalog", "GRDB", "GRDBSQLite", "SQLite3"],
        "CasebookPostgres": ["CasebookCore", "CasebookCatalog", "CLibPQ"],
        "CasebookClickHouse": ["CasebookCore", "CasebookCatalog"],
        "CasebookYAML": ["CasebookCore", "Yams"],
        "CasebookSimulation": ["CasebookCore", "CZlib", "Yams", "CasebookYAML"],
        // The analysis layer: no store backend, no YAML, no playbook engine.
        "CasebookAnalysis": ["CasebookCore", "CasebookCatalog"],
        "CasebookTesting": ["CasebookCore", "CasebookCatalog", "CasebookAnalysis"],
        // Store scenarios for the backends' tests (not for analyzer authors).
        "CasebookStoreTesting": ["CasebookCore", "CasebookIngest"],
        "CasebookAnalyzers": ["CasebookCore", "CasebookCatalog", "CasebookAnalysis"],
        // The report renders a run; it does not know the playbook engine.
        "CasebookReport": ["CasebookCore", "CasebookAnalysis"],
        "CasebookPlaybooks": ["CasebookCore", "CasebookCatalog", "CasebookAnalysis", "CasebookYAML", "Yams"]
    ]
    static let alwaysAllowed: Set<String> = [
        "Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Darwin", "Musl",
        "Synchronization", "os", "FoundationNetworking"
    ]

    static var sources: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
    }

    @Test(arguments: allowed.keys.sorted())
    func importsFollowTheLayers(_ module: String) throws {
        let folder = Self.sources.appendingPathComponent(module)
        guard FileManager.default.fileExists(atPath: folder.path) else { return }  // e.g. CasebookYAML not present
        let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        #expect(!files.isEmpty)
        let allowed = Self.allowed[module]!.union(Self.alwaysAllowed)
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let words = line.split(separator: " ")
                guard let i = words.firstIndex(of: "import"),
                    words[..<i].allSatisfy({ $0.hasPrefix("@") || $0 == "public" || $0 == "internal" }),
                    i + 1 < words.count
                else { continue }
                let imported = String(words[i + 1].split(separator: ".").first!)
                #expect(
                    allowed.contains(imported),
                    "\(module)/\(file.lastPathComponent):\(n + 1) imports \(imported), which \(module) may not depend on")
            }
        }
    }

    @Test func everyModuleIsListed() throws {
        let modules = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path)
            .filter { $0.hasPrefix("Casebook") && $0 != "CasebookCLI" }
        for m in modules { #expect(Self.allowed[m] != nil, "Sources/\(m) is not in the module graph test") }
    }
}
