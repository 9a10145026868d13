import CasebookCore
import Foundation

/// The outcome of a step.
public enum StepStatus: String, Sendable, Codable, Hashable {
    case succeeded, skipped, failed
}

/// What `casebook run` writes to `DIR/report.json`:
/// `{"playbook": {name, file, description, params}, "steps": [{id, uses, status, reason?, outputs, findings}]}`.
public struct RunReport: Sendable, Codable, Hashable {
    public struct PlaybookInfo: Sendable, Codable, Hashable {
        public var name: String
        public var file: String
        public var description: String
        /// Parameters after `--set` overrides.
        public var params: [String: Value]

        public init(name: String, file: String, description: String, params: [String: Value]) {
            self.name = name
            self.file = file
            self.description = description
            self.params = params
        }
    }

    public struct StepReport: Sendable, Codable, Hashable {
        public var id: String
        /// Display name, when the step has one.
        public var name: String?
        public var uses: String
        public var status: StepStatus
        /// Why the step was skipped or failed.
        public var reason: String?
        public var outputs: [String: Value]
        public var findings: [Finding]
        /// Wall-clock seconds.
        public var seconds: Double

        public init(
            id: String, name: String? = nil, uses: String, status: StepStatus, reason: String? = nil,
            outputs: [String: Value] = [:], findings: [Finding] = [], seconds: Double = 0
        ) {
            self.id = id
            self.name = name
            self.uses = uses
            self.status = status
            self.reason = reason
            self.outputs = outputs
            self.findings = findings
            self.seconds = seconds
        }
    }

    public var playbook: PlaybookInfo
    public var steps: [StepReport]

    public init(playbook: PlaybookInfo, steps: [StepReport]) {
        self.playbook = playbook
        self.steps = steps
    }

    /// The step with this id.
    public func step(_ id: String) -> StepReport? { steps.first { $0.id == id } }

    /// Pretty, key-sorted JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// A plain-text summary: one line per step, then its findings' titles.
    public var textSummary: String {
        var lines = ["\(playbook.name) (\(playbook.file))"]
        for s in steps {
            var line = "  [\(s.status.rawValue)] \(s.id) (\(s.uses))"
            if let reason = s.reason { line += ": \(reason.split(separator: "\n").first.map(String.init) ?? reason)" }
            lines.append(line)
            for f in s.findings {
                lines.append("      - \(f.title) [confidence \(f.confidence.level)]")
                if !f.summary.isEmpty { lines.append("        \(f.summary)") }
            }
        }
        let failed = steps.filter { $0.status == .failed }.count
        let skipped = steps.filter { $0.status == .skipped }.count
        lines.append("\(steps.count) steps: \(steps.count - failed - skipped) succeeded, \(skipped) skipped, \(failed) failed")
        return lines.joined(separator: "\n")
    }
}
