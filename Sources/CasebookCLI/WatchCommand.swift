import ArgumentParser
import CasebookCore
import CasebookIngest
import Foundation

/// `casebook watch LOG...`: follows growing access logs into the store.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow growing access logs into the store, and investigate incidents as they happen.",
        discussion: """
            Each LOG is a path or a quoted glob pattern ('/var/log/apache2/access.log*'): files that \
            appear later and match are picked up. Every few seconds, each file's new complete lines are \
            ingested in small transactions that also record, in the store, the file's identity (device, \
            inode, fingerprint of its first bytes) and how far it was read: after a restart, even after \
            kill -9, the watcher resumes exactly (no line lost, none counted twice). Rotation by rename, \
            copytruncate and compressed rotated files already read are recognised. SIGTERM and SIGINT \
            finish the current transaction and exit with status 0.
            """)

    @Argument(help: ArgumentHelp("Log files or quoted glob patterns to follow.", valueName: "LOG"))
    var logs: [String]

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Input format: auto, combined, vhost-combined, bigquery or csv.")
    var inputFormat: InputFormat = .auto

    @Option(help: "Name of the index these logs come from (recorded with each download).")
    var index: String?

    @Option(help: ArgumentHelp("Seconds between looks at the files.", valueName: "SECONDS"))
    var interval: Double = 2

    @Option(help: ArgumentHelp("New bytes read per transaction at most (about; it ends at a line end).", valueName: "BYTES"))
    var batchBytes: Int = 4 << 20

    @Flag(help: "Read what the files hold now, then exit (for tests and cron jobs).")
    var once = false

    func validate() throws {
        guard interval > 0, interval.isFinite else { throw ValidationError("--interval must be a positive number of seconds") }
        guard batchBytes > 0 else { throw ValidationError("--batch-bytes must be a positive number of bytes") }
    }

    func run() async throws {
        let store = try storeOptions.openWritableStore()
        guard let registry = store as? any WatchRegistry else {
            throw CLIError(
                "casebook watch needs a store that keeps a registry of followed files: the SQLite store does, \(storeOptions.displayLocation) does not yet"
            )
        }
        let stop = StopSignal.install()
        let follower = try FileFollower(
            patterns: logs, registry: registry, options: IngestOptions(format: inputFormat, index: index),
            maxBytes: Int64(batchBytes))
        follower.shouldStop = { stop.requested }
        if let pauseAt = ProcessInfo.processInfo.environment["CASEBOOK_TEST_PAUSE_AT_LINE"].flatMap(Int64.init) {
            // For crash tests: stop mid-transaction so that a test can kill the process there.
            follower.afterLine = { line in
                if line == pauseAt {
                    StandardError.write("casebook: paused at line \(line)\n")
                    sleep(600)
                }
            }
        }
        let status = StatusLine(enabled: StandardError.isTerminal)
        var totalLines: Int64 = 0
        let started = Date()
        while true {
            let pass = follower.poll()
            for note in pass.notes { status.message("note: \(note)") }
            for error in pass.errors { status.message("error: \(error)") }
            totalLines += pass.lines
            if let last = pass.lastEvent { status.lastEvent = max(status.lastEvent ?? last, last) }
            status.update(lines: totalLines, seconds: Date().timeIntervalSince(started))
            if once || stop.requested { break }
            // Sleep in short steps, so that a signal ends the wait at once.
            let until = Date().addingTimeInterval(interval)
            while Date() < until, !stop.requested { try await Task.sleep(nanoseconds: 50_000_000) }
            if stop.requested { break }
        }
        status.clear()
    }
}

/// Set when SIGTERM or SIGINT arrives; the watcher finishes its transaction and exits with 0.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    private var sources: [any DispatchSourceSignal] = []

    var requested: Bool { lock.withLock { flag } }

    static func install() -> StopSignal {
        let s = StopSignal()
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { s.lock.withLock { s.flag = true } }
            source.resume()
            s.sources.append(source)
        }
        return s
    }
}

/// The live status line on stderr, only when stderr is a terminal.
final class StatusLine {
    let enabled: Bool
    var lastEvent: Int64?
    var openWindows = 0
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    /// A line of its own on stderr (the status line is redrawn after it).
    func message(_ text: String) {
        clear()
        StandardError.write(InputText.escaped(text) + "\n")
    }

    func update(lines: Int64, seconds: Double) {
        guard enabled else { return }
        let rate = seconds > 0 ? Double(lines) / seconds : 0
        let bucket = lastEvent.map { UTCTime.isoString(TimeBucket.hour.start(of: $0)) } ?? "none yet"
        StandardError.write("\r\u{1B}[K\(lines) lines, \(Int(rate)) lines/s, last hour \(bucket), \(openWindows) open window(s)")
        shown = true
    }

    func clear() {
        guard enabled, shown else { return }
        StandardError.write("\r\u{1B}[K")
        shown = false
    }
}
