import CasebookAnalysis
import Foundation

/// What a step shows on the terminal (the progress callback): its log messages up to a budget,
/// and why it failed, capped. The report keeps every failure reason whole; the terminal gets
/// enough to act on, and says how much it did not show.
final class StepEcho: @unchecked Sendable {
    /// Bytes of log messages shown per step.
    static let logBudget = 64 << 10
    /// Bytes shown of one log message.
    static let messageCap = 2000
    /// Lines and bytes of a failure reason shown.
    static let reasonLines = 12
    static let reasonBytes = 4000

    private let lock = NSLock()
    private let stepID: String
    private let progress: @Sendable (String) -> Void
    private var shown = 0
    private var droppedBytes = 0
    private var droppedMessages = 0

    init(stepID: String, progress: @escaping @Sendable (String) -> Void) {
        self.stepID = stepID
        self.progress = progress
    }

    /// Shows a log message, unless the step's budget is spent (then counts it).
    func log(_ message: String) {
        let bytes = message.utf8.count
        let line: String? = lock.withLock {
            guard shown < Self.logBudget else {
                droppedBytes += bytes
                droppedMessages += 1
                return nil
            }
            if bytes > Self.messageCap {
                let kept = Self.prefix(message, bytes: Self.messageCap)
                shown += kept.utf8.count
                droppedBytes += bytes - kept.utf8.count
                return kept + " ... (\(bytes - kept.utf8.count) more bytes of this message not shown)"
            }
            shown += bytes
            return message
        }
        if let line { progress("    \(stepID): \(line)") }
    }

    /// Says how much of the log was not shown, if anything.
    func finish() {
        let (bytes, messages) = lock.withLock { (droppedBytes, droppedMessages) }
        guard bytes > 0 else { return }
        let m = messages > 0 ? "\(messages) log message\(messages == 1 ? "" : "s") and " : ""
        progress(
            "    \(stepID): (\(m)\(bytes) bytes of log output not shown on the terminal; at most \(Self.logBudget / 1024) KiB per step are)"
        )
    }

    /// A failure reason for the progress line: its first lines, capped, then what was cut.
    static func reason(_ reason: String) -> String {
        let lines = reason.split(separator: "\n", omittingEmptySubsequences: false)
        var kept = lines.prefix(reasonLines).joined(separator: "\n")
        var cut = lines.count > reasonLines
        if kept.utf8.count > reasonBytes {
            kept = prefix(kept, bytes: reasonBytes)
            cut = true
        }
        let total = reason.utf8.count
        let indented = kept.replacingOccurrences(of: "\n", with: "\n      ")
        return cut ? indented + "\n      ... (\(total - kept.utf8.count) more bytes in the report)" : indented
    }

    /// The longest prefix of `s` of at most `bytes` UTF-8 bytes, not cutting a character.
    static func prefix(_ s: String, bytes: Int) -> String {
        var n = 0
        var end = s.startIndex
        for c in s {
            let l = c.utf8.count
            if n + l > bytes { break }
            n += l
            end = s.index(after: end)
        }
        return String(s[..<end])
    }
}
