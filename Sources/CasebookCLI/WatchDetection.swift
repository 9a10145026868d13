import CasebookAnalysis
import CasebookCore
import CasebookPlaybooks
import Foundation

/// A store seen as it was up to a log time: queries end at `until` (exclusive) and start no
/// earlier than `from`, so that detection and the playbook read complete hours only, and the
/// playbook looks at the incident's own weeks.
struct LogTimeView: RequestLogStore {
    let base: any EventStore
    let from: Int64?
    let until: Int64

    func clamp(_ range: TimeRange) -> TimeRange {
        var r = range
        r.to = min(r.to ?? until, until)
        if let from { r.from = max(r.from ?? from, from) }
        return r
    }

    func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        var q = query
        q.range = clamp(q.range)
        if let f = q.range.from, let t = q.range.to, f >= t { q.range = TimeRange(from: t, to: t) }
        return try await base.aggregate(q)
    }

    func info() async throws -> StoreInfo {
        var i = try await base.info()
        if let last = i.lastEvent { i.lastEvent = min(last, until - 1) }
        if let from, let first = i.firstEvent { i.firstEvent = max(first, from) }
        if let f = i.firstEvent, let l = i.lastEvent, f > l {
            i.firstEvent = nil
            i.lastEvent = nil
        }
        return i
    }

    func requestCounts(in range: TimeRange) async throws -> [RequestCount] {
        guard let log = base as? any RequestLogStore else { return [] }
        return try await log.requestCounts(in: clamp(range))
    }

    func requestLogSpan() async throws -> TimeRange? {
        guard let log = base as? any RequestLogStore, let span = try await log.requestLogSpan() else { return nil }
        let r = clamp(span)
        if let f = r.from, let t = r.to, f >= t { return nil }
        return r
    }
}

/// A window that spike detection found.
struct DetectedWindow: Equatable {
    var start: Int64
    var end: Int64
    var direction: String
    var excess: Int64
    var expected: Int64
    var actual: Int64
    var relative: Double
}

/// Runs the `spike-detection` analyzer through the playbook engine over the recent complete hours.
struct WatchDetector {
    var threshold: Double
    var mergeGap: Int
    var days: Int
    /// Windows whose excess (or shortfall) is under this share of an average day's downloads
    /// are not incidents (a busy quarter hour at night is unusual, and not news).
    var minExcessShare: Double = 0.05

    /// The detection playbook for the hours `[from, to)`.
    func playbook(from: Int64, to: Int64) -> String {
        """
        name: casebook watch detection
        description: Spike detection over the recent complete hours of the log.
        steps:
          - id: spike
            name: Unusual hours
            uses: spike-detection
            with:
              bucket: hour
              from: "\(UTCTime.isoString(from))"
              to: "\(UTCTime.isoString(to))"
              threshold: \(threshold)
              merge_gap: \(mergeGap)
        """
    }

    /// The windows in the `days` before `boundary` (the end of the last complete hour).
    func detect(store: any EventStore, boundary: Int64) async throws -> [DetectedWindow] {
        // Not before the log's first hour: hours before it are not zeros, they are unknown.
        guard let first = try await store.info().firstEvent else { return [] }
        let from = max(boundary - Int64(days) * 86400, TimeBucket.hour.start(of: first))
        // An hour-of-day baseline learnt from a few days flags ordinary hours: wait for a week.
        guard boundary - from >= Int64(min(days, 7)) * 86400 else { return [] }
        let book = try Playbook.parse(
            playbook(from: from, to: boundary), file: "(casebook watch detection)",
            directory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        let plan = try await PlaybookValidator(registry: CasebookAnalyzerRegistry.current).validate(book)
        let report = await PlaybookRunner(store: LogTimeView(base: store, from: from, until: boundary)).run(plan)
        guard let step = report.steps.first else { return [] }
        if step.status == .failed { throw CLIError("spike detection failed: \(step.reason ?? "no reason given")") }
        let series = step.outputs["series"]?.arrayValue ?? []
        let total = series.compactMap { $0["downloads"]?.doubleValue }.reduce(0, +)
        let perDay = series.isEmpty ? 0 : total / (Double(series.count) / 24)
        let windows: [DetectedWindow] = (step.outputs["windows"]?.arrayValue ?? []).compactMap { w in
            guard let s = w["start"]?.stringValue.flatMap({ UTCTime.parse($0) }),
                let e = w["end"]?.stringValue.flatMap({ UTCTime.parse($0) })
            else { return nil }
            return DetectedWindow(
                start: s, end: e, direction: w["direction"]?.stringValue ?? "up", excess: w["excess"]?.intValue ?? 0,
                expected: w["baseline"]?.intValue ?? 0, actual: w["actual"]?.intValue ?? 0,
                relative: w["relative"]?.doubleValue ?? 0)
        }
        return windows.filter { Double(abs($0.excess)) >= minExcessShare * perDay }
    }
}

/// An incident the watcher follows: a detected window, from when it opened until it closed.
struct Incident: Codable, Equatable {
    /// The window's start when first seen: names the incident's folder.
    var id: String
    var start: Int64
    var end: Int64
    var direction: String
    var excess: Int64
    var expected: Int64
    var actual: Int64
    var relative: Double
    var open: Bool

    /// `20200305T1400Z`: the folder name of the incident's reports.
    static func folderName(_ t: Int64) -> String {
        let iso = UTCTime.isoString(t)  // 2020-03-05T14:00:00Z
        let digits = iso.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        return String(digits.prefix(13)) + "Z"  // 20200305T1400Z
    }
}

/// A change of an incident's state.
struct IncidentChange {
    enum State: String { case opened, grew, closed }
    var state: State
    var incident: Incident
}

/// What the watcher remembers of incidents between runs (`DIR/incidents.json`), so that a
/// restart does not report them again.
struct IncidentBook: Codable {
    var incidents: [Incident] = []
    /// The end of the last complete hour detection ran for.
    var boundary: Int64?

    /// Compares detected windows with the incidents known, and returns the changes: a new window
    /// opens an incident, a known one that reaches later hours grows, one that `gap` complete
    /// hours have passed without a new unusual hour (or that detection no longer finds) closes.
    mutating func update(with windows: [DetectedWindow], boundary: Int64, gapHours: Int) -> [IncidentChange] {
        let gap = Int64(gapHours) * 3600
        let previous = self.boundary
        self.boundary = boundary
        var changes: [IncidentChange] = []
        var matched = Set<String>()
        for w in windows.sorted(by: { $0.start < $1.start }) {
            let isOpen = w.end + gap > boundary
            if let i = incidents.firstIndex(where: {
                $0.direction == w.direction && $0.start < w.end + gap && w.start < $0.end + gap
            }) {
                matched.insert(incidents[i].id)
                guard incidents[i].open else { continue }  // closed incidents stay closed
                let grew = w.end > incidents[i].end
                incidents[i].end = max(incidents[i].end, w.end)
                incidents[i].start = min(incidents[i].start, w.start)
                incidents[i].excess = w.excess
                incidents[i].expected = w.expected
                incidents[i].actual = w.actual
                incidents[i].relative = w.relative
                if !isOpen {
                    incidents[i].open = false
                    changes.append(IncidentChange(state: .closed, incident: incidents[i]))
                } else if grew {
                    changes.append(IncidentChange(state: .grew, incident: incidents[i]))
                }
                continue
            }
            // A new window: report it when it is open now, or when it opened and closed since the
            // last detection (a backlog read at once); older windows are history, not news.
            guard isOpen || (previous.map { w.end + gap > $0 } ?? false) else { continue }
            let incident = Incident(
                id: Incident.folderName(w.start), start: w.start, end: w.end, direction: w.direction, excess: w.excess,
                expected: w.expected, actual: w.actual, relative: w.relative, open: isOpen)
            incidents.append(incident)
            matched.insert(incident.id)
            changes.append(IncidentChange(state: isOpen ? .opened : .closed, incident: incident))
        }
        for i in incidents.indices where incidents[i].open && !matched.contains(incidents[i].id) {
            // Detection no longer finds it (more data changed the baseline): it is over.
            incidents[i].open = false
            changes.append(IncidentChange(state: .closed, incident: incidents[i]))
        }
        return changes
    }

    static func load(_ url: URL) -> IncidentBook {
        guard let data = try? Data(contentsOf: url), let book = try? JSONDecoder().decode(IncidentBook.self, from: data) else {
            return IncidentBook()
        }
        return book
    }

    func save(_ url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(self).write(to: url, options: .atomic)
    }
}

/// Runs the `--on-incident` command: no shell (the command's words are the program and its
/// arguments, found on PATH), with a timeout; its output goes to stderr (stdout is for incidents).
struct IncidentHook {
    var words: [String]
    var timeout: Double

    /// Splits a command line into words: spaces separate them, single and double quotes group
    /// them, a backslash escapes the next character. Nothing else is interpreted.
    static func split(_ command: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for ch in command {
            if escaped {
                current.append(ch)
                escaped = false
                inWord = true
            } else if ch == "\\" && quote != "'" {
                escaped = true
            } else if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
            } else if ch == "'" || ch == "\"" {
                quote = ch
                inWord = true
            } else if ch == " " || ch == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(ch)
                inWord = true
            }
        }
        if quote != nil || escaped {
            throw CLIError("--on-incident \(command): a quote is not closed (or a backslash ends it)")
        }
        if inWord { words.append(current) }
        guard !words.isEmpty else { throw CLIError("--on-incident: the command is empty") }
        return words
    }

    /// Runs the hook; returns a sentence when it failed or timed out (nil when it succeeded).
    func run(environment extra: [String: String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["--"] + words
        var env = ProcessInfo.processInfo.environment
        for (k, v) in extra { env[k] = v }
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.standardError
        p.standardError = FileHandle.standardError
        let name = InputText.escaped(words[0])
        do { try p.run() } catch {
            return "the --on-incident command \(name) could not be started: \(error.localizedDescription)"
        }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning {
            kill(-p.processIdentifier, SIGKILL)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            return
                "the --on-incident command \(name) did not finish within \(Self.seconds(timeout)) s and was killed (--hook-timeout sets the limit); watching goes on"
        }
        if p.terminationReason == .uncaughtSignal {
            return "the --on-incident command \(name) was ended by signal \(p.terminationStatus); watching goes on"
        }
        if p.terminationStatus == 127 {
            return "the --on-incident command \(name) was not found (on PATH); watching goes on"
        }
        if p.terminationStatus != 0 {
            return "the --on-incident command \(name) failed with exit status \(p.terminationStatus); watching goes on"
        }
        return nil
    }

    static func seconds(_ s: Double) -> String { s.rounded() == s ? String(Int(s)) : String(s) }
}
