import ArgumentParser
import CasebookAnalysis
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookReport
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
            copytruncate and compressed rotated files already read are recognised.

            When an hour of the log completes (by the log's own times, so replayed or accelerated \
            logs work), spike detection runs over the recent days of complete hours. When a window \
            opens, grows (by --grew-hours more) or closes, the --playbook runs for it and its report \
            is written to DIR/<window start, e.g. 20200305T1400Z>/ (saying "still open" while it \
            is), one line goes to stdout, and the --on-incident command runs (without a shell) with \
            CASEBOOK_REPORT, CASEBOOK_SUMMARY and CASEBOOK_STATE (opened, grew, closed) in its \
            environment. stdout has nothing else; a status line goes to stderr when it is a \
            terminal. SIGTERM and SIGINT finish the current transaction and exit with status 0.
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
    var batchBytes: Int = 1 << 20

    @Flag(help: "Read what the files hold now, then exit (for tests and cron jobs).")
    var once = false

    @Option(help: ArgumentHelp("The playbook run for each incident (e.g. playbooks/downloads-spike.yaml).", valueName: "FILE"))
    var playbook: String?

    @Option(help: ArgumentHelp("Folder for the incidents' reports, one folder per incident.", valueName: "DIR"))
    var out: String = "incidents"

    @Option(
        help: ArgumentHelp(
            "Package-metadata catalog folder for the playbook (default: the catalog imported into the store, else ./catalog when it exists).",
            valueName: "DIR"))
    var catalog: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a playbook parameter (repeatable).", valueName: "NAME=VALUE"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("Command run at each incident state change (no shell: use sh -c '...' for one).", valueName: "COMMAND"))
    var onIncident: String?

    @Option(help: ArgumentHelp("Seconds the --on-incident command may run before it is killed.", valueName: "SECONDS"))
    var hookTimeout: Double = 30

    @Option(help: "Detection: robust standard deviations that make an hour unusual.")
    var threshold: Double = 5

    @Option(
        help: ArgumentHelp(
            "Detection: the smallest excess (or shortfall) of an incident, in percent of an average day's downloads.", valueName: "PERCENT")
    )
    var minExcess: Double = 5

    @Option(help: ArgumentHelp("Detection: days of complete hours looked at.", valueName: "DAYS"))
    var detectDays: Int = 14

    @Option(
        help: ArgumentHelp("Complete hours without an unusual one that close a window (unusual hours closer join it).", valueName: "HOURS"))
    var closeAfter: Int = 12

    @Option(
        help: ArgumentHelp(
            "A window has grown (and its report is written again) when it reaches this many hours further.", valueName: "HOURS"))
    var grewHours: Int = 6

    @Option(help: ArgumentHelp("Days before an incident's window that the playbook sees.", valueName: "DAYS"))
    var playbookDays: Int = 28

    func validate() throws {
        guard hookTimeout > 0, hookTimeout.isFinite else { throw ValidationError("--hook-timeout must be a positive number of seconds") }
        guard minExcess >= 0, minExcess.isFinite else { throw ValidationError("--min-excess must be a percentage, 0 or more") }
        guard detectDays >= 4 else { throw ValidationError("--detect-days must be at least 4 (hourly detection needs 72 hours)") }
        guard closeAfter >= 1, grewHours >= 1, playbookDays >= 1 else {
            throw ValidationError("--close-after, --grew-hours and --playbook-days must be at least 1")
        }
        if onIncident != nil { _ = try IncidentHook.split(onIncident!) }
        guard interval > 0, interval.isFinite else { throw ValidationError("--interval must be a positive number of seconds") }
        guard batchBytes > 0 else { throw ValidationError("--batch-bytes must be a positive number of bytes") }
    }

    func run() async throws {
        let store = try storeOptions.openWritableStore()
        guard let registry = store as? any WatchRegistry else {
            throw CLIError(
                "casebook watch needs a store that keeps a registry of followed files (SQLite, and Casebook's tables in PostgreSQL or ClickHouse do); \(storeOptions.displayLocation) does not"
            )
        }
        let stop = StopSignal.install()
        let follower = try FileFollower(
            patterns: logs, registry: registry, options: IngestOptions(format: inputFormat, index: index),
            maxBytes: Int64(batchBytes))
        follower.shouldStop = { stop.requested }
        // Detection runs between transactions: a backlog is read a transaction at a time.
        follower.transactionsPerLook = 1
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
        var incidents = try await IncidentWatch(command: self, store: store, status: status)
        var totalLines: Int64 = 0
        let started = Date()
        status.lastEvent = try await store.info().lastEvent
        while true {
            let pass = follower.poll()
            for note in pass.notes { status.message("note: \(note)") }
            for error in pass.errors { status.message("error: \(error)") }
            totalLines += pass.lines
            if let last = pass.lastEvent { status.lastEvent = max(status.lastEvent ?? last, last) }
            if let last = status.lastEvent {
                // The hour of the latest line has begun: every hour before it is complete.
                await incidents.hourCompleted(boundary: TimeBucket.hour.start(of: last))
            }
            status.update(lines: totalLines, seconds: Date().timeIntervalSince(started))
            if stop.requested { break }
            if pass.moreToRead { continue }
            if once { break }
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

    /// (time, lines) samples of the last ten seconds: the rate shown is the recent one.
    private var samples: [(Date, Int64)] = []

    func update(lines: Int64, seconds: Double) {
        guard enabled else { return }
        let now = Date()
        samples.append((now, lines))
        samples.removeAll { now.timeIntervalSince($0.0) > 10 }
        let first = samples[0]
        let span = now.timeIntervalSince(first.0)
        let rate = span > 0 ? Double(lines - first.1) / span : 0
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

/// The detection half of `casebook watch`: incidents, their reports and the hook.
struct IncidentWatch {
    let command: WatchCommand
    let store: any EventStore
    let status: StatusLine
    let detector: WatchDetector
    let hook: IncidentHook?
    let outDir: URL
    let bookURL: URL
    var book: IncidentBook
    /// The window end at each incident's last report (a window grows by ``WatchCommand/grewHours``).
    var reportedEnd: [String: Int64] = [:]

    init(command: WatchCommand, store: any EventStore, status: StatusLine) async throws {
        self.command = command
        self.store = store
        self.status = status
        detector = WatchDetector(
            threshold: command.threshold, mergeGap: command.closeAfter, days: command.detectDays, minExcessShare: command.minExcess / 100)
        hook = try command.onIncident.map { IncidentHook(words: try IncidentHook.split($0), timeout: command.hookTimeout) }
        try OutputFolder.check(command.out)
        outDir = URL(fileURLWithPath: command.out)
        bookURL = outDir.appendingPathComponent("incidents.json")
        book = IncidentBook.load(bookURL)
        for i in book.incidents { reportedEnd[i.id] = i.end }
        // Checked now (a wrong --catalog should not wait for an incident); opened again for each
        // incident's run, so a catalog updated while watching is read as it is then.
        _ = try CatalogChoice.resolve(explicit: command.catalog, store: store)
        if let playbook = command.playbook {
            // Validate once before watching: a mistake in the playbook should not wait for an incident.
            let validator = PlaybookValidator(registry: CasebookAnalyzerRegistry.current)
            do {
                _ = try await validator.validate(
                    try Playbook.load(from: URL(fileURLWithPath: playbook), displayPath: playbook),
                    overrides: try RunCommand.parseOverrides(command.overrides))
            } catch let e as PlaybookValidationError {
                StandardError.write(e.description + "\n")
                throw ExitCode(1)
            }
        }
    }

    /// Runs detection when a new hour has completed (by log time).
    mutating func hourCompleted(boundary: Int64) async {
        if let last = book.boundary, boundary <= last { return }
        let windows: [DetectedWindow]
        do {
            windows = try await detector.detect(store: store, boundary: boundary)
        } catch {
            status.message("error: detection up to \(UTCTime.isoString(boundary)) failed: \(error)")
            book.boundary = boundary
            return
        }
        var changes = book.update(with: windows, boundary: boundary, gapHours: command.closeAfter)
        // A window that grew is reported again only once it reached --grew-hours further.
        changes.removeAll { c in
            c.state == .grew && c.incident.end < (reportedEnd[c.incident.id] ?? c.incident.start) + Int64(command.grewHours) * 3600
        }
        status.openWindows = book.incidents.filter(\.open).count
        for change in changes {
            await report(change, boundary: boundary)
            reportedEnd[change.incident.id] = change.incident.end
        }
        // The folder is made for the first incident (a quiet log leaves no trace).
        guard !book.incidents.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
            try book.save(bookURL)
        } catch {
            status.message("error: cannot write \(bookURL.path): \(UserFacingErrors.describe(error) ?? "\(error)")")
        }
    }

    /// Writes the incident's report (with the playbook), prints its line and runs the hook.
    func report(_ change: IncidentChange, boundary: Int64) async {
        let i = change.incident
        let folder = outDir.appendingPathComponent(i.id)
        let kind = i.direction == "down" ? "drop" : "spike"
        let percent = String(format: "%+.0f%%", i.relative * 100)
        let span = "\(UTCTime.isoString(i.start)) to \(i.open ? "now (still open)" : UTCTime.isoString(i.end))"
        let asOf = UTCTime.isoString(boundary)
        var summary =
            "\(change.state.rawValue): \(kind) \(i.id), \(span): \(i.actual) downloads against \(i.expected) expected (\(percent)), as of \(asOf) (log time)"
        var reportPath = ""
        if let playbook = command.playbook {
            let sentence =
                i.open
                ? "Still open as of \(asOf) (log time): the \(kind) began \(UTCTime.isoString(i.start)) and its last unusual hour so far ended \(UTCTime.isoString(i.end)); this report is written again when the window grows or closes."
                : "Closed: the \(kind) ran from \(UTCTime.isoString(i.start)) to \(UTCTime.isoString(i.end)) (no unusual hour in the \(command.closeAfter) hours after it, as of \(asOf), log time)."
            do {
                let from = TimeBucket.day.start(of: i.start) - Int64(command.playbookDays) * 86400
                let view = LogTimeView(base: store, from: from, until: boundary)
                var document = try await PlaybookExecution.run(
                    playbookPath: playbook, store: view,
                    catalog: try CatalogChoice.resolve(explicit: command.catalog, store: store).catalog,
                    overrides: try RunCommand.parseOverrides(command.overrides), limits: ExternalAnalyzerLimits(), quiet: true,
                    command: "casebook watch --playbook \(playbook) (incident \(i.id), data \(UTCTime.isoString(from)) to \(asOf))")
                document.metadata.incident = IncidentStatus(
                    state: change.state.rawValue, open: i.open, windowStart: UTCTime.isoString(i.start),
                    windowEnd: UTCTime.isoString(i.end), direction: i.direction, asOf: asOf, sentence: sentence)
                let written = try PlaybookExecution.write(document, to: folder)
                reportPath = (written.first { $0.pathExtension == "html" } ?? written.first ?? folder).path
                summary += "; report \(reportPath)"
            } catch {
                status.message(
                    "error: the report of incident \(i.id) could not be written: \(UserFacingErrors.describe(error) ?? "\(error)")")
            }
        }
        status.clear()
        // Written at once (not buffered): a service manager's log or a pipe sees it now.
        FileHandle.standardOutput.write(Data((summary + "\n").utf8))
        if let hook {
            let env = ["CASEBOOK_REPORT": reportPath, "CASEBOOK_SUMMARY": summary, "CASEBOOK_STATE": change.state.rawValue]
            if let failure = hook.run(environment: env) { status.message("error: \(failure)") }
        }
    }
}
