import Foundation
import PackagePlugin

/// `swift package validate-playbooks [--product NAME] [PATH...]`
///
/// Validates every playbook in the package (YAML files with a top-level `steps:` key, outside
/// build folders and hidden folders), or the given files and folders, with `casebook validate`.
/// `--product NAME` uses the package's own executable instead (a custom build with extra analyzers).
/// Exits non-zero when a playbook has errors, so CI can run it.
@main
struct ValidatePlaybooks: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let product = extractor.extractOption(named: "product").last
        let roots =
            extractor.remainingArguments.isEmpty
            ? [context.package.directoryURL]
            : extractor.remainingArguments.map { URL(fileURLWithPath: $0, relativeTo: context.package.directoryURL).standardizedFileURL }

        var playbooks: [String] = []
        for root in roots { playbooks += findPlaybooks(under: root) }
        guard !playbooks.isEmpty else {
            Diagnostics.warning("no playbooks found (YAML files with a top-level `steps:` key)")
            return
        }

        let tool: URL
        if let product {
            let result = try packageManager.build(.product(product), parameters: .init(configuration: .debug, echoLogs: true))
            guard result.succeeded, let exe = result.builtArtifacts.first(where: { $0.kind == .executable })?.url else {
                Diagnostics.error("could not build product `\(product)`:\n\(result.logText)")
                throw ValidateError.failed
            }
            tool = exe
        } else {
            tool = try context.tool(named: "casebook").url
        }

        let process = Process()
        process.executableURL = tool
        process.arguments = ["validate"] + playbooks
        process.currentDirectoryURL = context.package.directoryURL
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            Diagnostics.error("playbook validation failed")
            throw ValidateError.failed
        }
        print("validated \(playbooks.count) playbook\(playbooks.count == 1 ? "" : "s")")
    }

    func findPlaybooks(under root: URL) -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDir) else { return [] }
        if !isDir.boolValue { return [root.path] }
        var found: [String] = []
        let skip: Set<String> = ["node_modules", "Packages"]
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey]) else { return [] }
        for case let url as URL in walker {
            let name = url.lastPathComponent
            if (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
                if name.hasPrefix(".") || name.hasPrefix(".build") || skip.contains(name) { walker.skipDescendants() }
                continue
            }
            guard ["yaml", "yml"].contains(url.pathExtension),
                let text = try? String(contentsOf: url, encoding: .utf8),
                text.split(separator: "\n").contains(where: { $0.hasPrefix("steps:") })
            else { continue }
            found.append(url.path)
        }
        return found.sorted()
    }
}

enum ValidateError: Error { case failed }
