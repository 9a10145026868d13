import CasebookAnalysis
import CasebookCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Limits the engine enforces on external analyzer programs.
public struct ExternalAnalyzerLimits: Sendable {
    /// Seconds a run may take before the program's process group is killed.
    public var timeout: Double
    /// Seconds a program may take to answer `describe` during validation.
    public var describeTimeout: Double
    /// Bytes the program may write on stdout in one conversation.
    public var maxOutputBytes: Int
    /// Bytes of stderr kept for error messages (the rest is read and dropped).
    public var maxStderrBytes: Int

    public init(timeout: Double = 300, describeTimeout: Double = 10, maxOutputBytes: Int = 16 << 20, maxStderrBytes: Int = 8 << 10) {
        self.timeout = timeout
        self.describeTimeout = describeTimeout
        self.maxOutputBytes = maxOutputBytes
        self.maxStderrBytes = maxStderrBytes
    }
}

/// A program used as an analyzer (`uses: ./analyzers/x.py` or `casebook-analyzer-NAME`).
public struct ExternalProgram: Sendable {
    public var url: URL
    /// As written in `uses:` (used in messages).
    public var displayName: String
    /// What the program said about itself when asked `describe`, if it answered.
    public var description: AnalyzerDescription?

    public init(url: URL, displayName: String, description: AnalyzerDescription? = nil) {
        self.url = url
        self.displayName = displayName
        self.description = description
    }

    /// The executable and arguments: the file itself, or `python3 FILE` for a `.py` file
    /// that is not executable. Never a shell.
    func commandLine() -> (URL, [String]) {
        if !FileManager.default.isExecutableFile(atPath: url.path), url.pathExtension == "py" {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            for dir in path.split(separator: ":") {
                let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("python3")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return (candidate, [url.path]) }
            }
        }
        return (url, [])
    }
}

/// Why an external analyzer failed; the message names the program.
public struct ExternalAnalyzerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The `casebook-analyzer/1` protocol: one JSON object per line on stdin and stdout.
///
/// 1. The engine writes `{"protocol": "casebook-analyzer/1", "type": "run", "step": ..., "params": {...},
///    "inputs": {STEP: {OUTPUT: value}}, ...}` (or `"type": "describe"`).
/// 2. The program may write `{"type": "query", "id": 1, "query": {...}}`; the engine answers
///    `{"type": "result", "id": 1, "table": {...}}` or `{"type": "error", "id": 1, "message": ...}`.
///    It may also write `{"type": "log", "message": ...}` for progress.
/// 3. The program ends with `{"type": "result", "outputs": {...}, "findings": [...]}` or
///    `{"type": "error", "message": ...}` (to `describe`: `{"type": "description", ...}`).
///
/// Logs go to stderr. The engine kills the program's process group at the timeout or when it
/// writes more than the output limit, and turns any failure into a step error naming the program.
public enum ExternalAnalyzer {
    public static let protocolVersion = "casebook-analyzer/1"

    /// Asks a program to describe itself (name, summary, parameters, outputs).
    public static func describe(_ program: ExternalProgram, limits: ExternalAnalyzerLimits) async -> Result<
        ExternalProgram, ExternalAnalyzerError
    > {
        let name = program.displayName
        do {
            let session = try ProgramSession(program: program, limits: limits, timeout: limits.describeTimeout)
            defer { session.finish() }
            try session.send(["protocol": .string(protocolVersion), "type": "describe"])
            let message = try await session.nextMessage()
            guard message["type"]?.stringValue == "description" else {
                if message["type"]?.stringValue == "error" {
                    throw ExternalAnalyzerError(
                        "`\(name)` answered describe with an error: \(message["message"]?.stringValue ?? "no message")")
                }
                throw ExternalAnalyzerError(
                    "`\(name)` answered describe with a \(message["type"]?.stringValue.map { "`\($0)`" } ?? "untyped") message instead of `description`"
                )
            }
            var p = program
            p.description = try parseDescription(message, program: name)
            return .success(p)
        } catch let e as ExternalAnalyzerError {
            return .failure(e)
        } catch {
            return .failure(ExternalAnalyzerError("`\(name)`: \(error)"))
        }
    }

    static func parseDescription(_ m: Value, program: String) throws -> AnalyzerDescription {
        func kind(_ v: Value?, _ what: String) throws -> ValueKind {
            guard let s = v?.stringValue else { return .any }
            guard let k = ValueKind(name: s) else { throw ExternalAnalyzerError("`\(program)` describes \(what) with unknown type `\(s)`") }
            return k
        }
        var params: [ParameterSpec] = []
        for p in m["parameters"]?.arrayValue ?? [] {
            guard let n = p["name"]?.stringValue else { throw ExternalAnalyzerError("`\(program)` describes a parameter without a name") }
            params.append(
                ParameterSpec(
                    n, try kind(p["type"], "parameter `\(n)`"), default: p["default"],
                    optional: p["optional"]?.boolValue ?? false, doc: p["description"]?.stringValue ?? ""))
        }
        var outputs: [OutputSpec] = []
        for o in m["outputs"]?.arrayValue ?? [] {
            guard let n = o["name"]?.stringValue else { throw ExternalAnalyzerError("`\(program)` describes an output without a name") }
            outputs.append(OutputSpec(n, try kind(o["type"], "output `\(n)`"), doc: o["description"]?.stringValue ?? ""))
        }
        return AnalyzerDescription(
            name: m["name"]?.stringValue ?? program, summary: m["summary"]?.stringValue ?? "",
            discussion: m["discussion"]?.stringValue ?? "", parameters: params, outputs: outputs)
    }

    /// Runs a program for one step. Throws ``ExternalAnalyzerError`` naming the program on any failure.
    public static func run(
        _ program: ExternalProgram, context: AnalyzerContext, analyzerName: String,
        limits: ExternalAnalyzerLimits
    ) async throws -> AnalyzerResult {
        let name = program.displayName
        let session: ProgramSession
        do {
            session = try ProgramSession(program: program, limits: limits, timeout: limits.timeout)
        } catch {
            throw ExternalAnalyzerError("cannot start `\(name)`: \(error)")
        }
        defer { session.finish() }
        var storeInfo: Value = .null
        if let info = try? await context.store.info() {
            storeInfo = [
                "downloads": .int(info.downloads), "eventRows": .int(info.eventRows),
                "firstEvent": info.firstEvent.map(Value.time) ?? .null,
                "lastEvent": info.lastEvent.map(Value.time) ?? .null, "location": .string(info.location)
            ]
        }
        let request: Value = [
            "protocol": .string(protocolVersion), "type": "run", "step": .string(context.stepID),
            "analyzer": .string(analyzerName), "params": .object(context.parameters),
            "inputs": .object(context.steps.mapValues { .object($0) }),
            "dimensions": .array(CasebookCore.Dimension.allNames.map(Value.string)),
            "buckets": .array(TimeBucket.allCases.map { .string($0.rawValue) }),
            "store": storeInfo,
            "catalog": context.catalogDirectory.map { .string($0.path) } ?? .null,
            "catalogLocation": context.catalog.map { .string($0.location) } ?? .null,
            "playbookDirectory": .string(context.playbookDirectory.path)
        ]
        do {
            try session.send(request)
        } catch {
            throw session.failure(default: "`\(name)` did not read its request: \(error)")
        }
        while true {
            let message = try await session.nextMessage()
            switch message["type"]?.stringValue {
            case "query":
                let id = message["id"] ?? .null
                do {
                    let query = try AggregateQueryJSON.query(from: message["query"] ?? .null)
                    let table = try await context.store.aggregate(query)
                    try session.send(["type": "result", "id": id, "table": AggregateQueryJSON.value(of: table)])
                } catch let e as AggregateQueryJSON.Problem {
                    try? session.send(["type": "error", "id": id, "message": .string(e.message)])
                } catch {
                    try? session.send(["type": "error", "id": id, "message": .string("the store could not answer: \(error)")])
                }
            case "catalog":
                let id = message["id"] ?? .null
                do {
                    var answer: [String: Value] = ["type": "result", "id": id]
                    answer.merge(try catalogAnswer(message, context: context)) { a, _ in a }
                    try session.send(.object(answer))
                } catch let e as ExternalAnalyzerError {
                    try? session.send(["type": "error", "id": id, "message": .string(e.message)])
                } catch {
                    try? session.send(["type": "error", "id": id, "message": .string("\(error)")])
                }
            case "log":
                context.log("\(name): \(message["message"]?.interpolated ?? "")")
            case "result":
                return try parseResult(message, program: name)
            case "error":
                let text = message["message"]?.interpolated ?? "no message"
                throw ExternalAnalyzerError("`\(name)` reported an error: \(text)")
            case let other:
                throw ExternalAnalyzerError(
                    "`\(name)` sent a message of \(other.map { "unknown type `\($0)`" } ?? "no `type`") (expected query, log, result or error): \(Suggest.preview(message))"
                )
            }
        }
    }

    /// The answer to a `catalog` message: `{"project": NAME}` → the project as Casebook reads it,
    /// `{"dependents": NAME}` → the names of the projects that require it; from the run's catalog,
    /// a folder or one imported into the store alike.
    static func catalogAnswer(_ message: Value, context: AnalyzerContext) throws -> [String: Value] {
        guard let run = context.catalog else {
            throw ExternalAnalyzerError("this run has no catalog (give --catalog DIR, or import one into the store)")
        }
        let catalog = try run.open()
        if let name = message["project"]?.stringValue {
            return ["project": try Value(encoding: try catalog.project(named: name))]
        }
        if let name = message["dependents"]?.stringValue {
            return ["dependents": .array(try catalog.dependents(of: name).map(Value.string))]
        }
        throw ExternalAnalyzerError(
            "a catalog message asks for `project` or `dependents` with a project name, found \(Suggest.preview(message))")
    }

    static func parseResult(_ m: Value, program: String) throws -> AnalyzerResult {
        var outputs: [String: Value] = [:]
        switch m["outputs"] {
        case nil, .null?: break
        case .object(let o)?: outputs = o
        case let other?:
            throw ExternalAnalyzerError("`\(program)` answered a wrong-shaped result: `outputs` must be an object, found \(other.typeName)")
        }
        var findings: [Finding] = []
        switch m["findings"] {
        case nil, .null?: break
        case .array(let items)?:
            for (i, item) in items.enumerated() {
                do {
                    findings.append(try item.decode(Finding.self))
                } catch {
                    throw ExternalAnalyzerError(
                        "`\(program)` answered a wrong-shaped result: findings[\(i)] is not a finding (\(describeDecoding(error)))")
                }
            }
        case let other?:
            throw ExternalAnalyzerError("`\(program)` answered a wrong-shaped result: `findings` must be a list, found \(other.typeName)")
        }
        return AnalyzerResult(outputs: outputs, findings: findings)
    }

    static func describeDecoding(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func path(_ c: [any CodingKey]) -> String { c.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined() }
        switch e {
        case .keyNotFound(let k, let ctx):
            return "missing `\(k.stringValue)` at \(path(ctx.codingPath).isEmpty ? "top level" : path(ctx.codingPath))"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
            return "wrong type at `\(path(ctx.codingPath))`: \(ctx.debugDescription)"
        case .dataCorrupted(let ctx): return ctx.debugDescription
        @unknown default: return "\(e)"
        }
    }
}

/// JSON shape of aggregate queries and tables in the protocol.
///
/// Query: `{"bucket": "day", "dimensions": ["project"], "filters": [{"dimension": "python_major",
/// "op": "in", "values": ["2"]}], "from": "2020-03-01", "to": "2020-03-08", "top": 10}`; every field
/// optional; `filters` may also be an object `{"python_major": ["2"]}`; times are ISO 8601 or epoch seconds.
/// Table: `{"bucket": "day", "dimensions": [...], "rows": [{"time": "2020-03-04T00:00:00Z",
/// "values": ["numpy"], "downloads": 12}], "total": 12}`.
public enum AggregateQueryJSON {
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    public static func query(from v: Value) throws -> AggregateQuery {
        guard case .object(let o) = v else { throw Problem(message: "`query` must be an object, found \(v.typeName)") }
        let known = ["bucket", "dimensions", "filters", "from", "to", "top"]
        for k in o.keys where !known.contains(k) {
            throw Problem(
                message: "unknown query field `\(k)`\(Suggest.didYouMean(k, among: known)) (fields: \(known.joined(separator: ", ")))")
        }
        var q = AggregateQuery()
        if let b = o["bucket"], b != .null {
            guard let s = b.stringValue, let bucket = TimeBucket(rawValue: s) else {
                throw Problem(message: "`bucket` must be hour, day, week or null, found \(b.jsonString)")
            }
            q.bucket = bucket
        }
        func dimension(_ v: Value) throws -> CasebookCore.Dimension {
            guard let s = v.stringValue, let d = CasebookCore.Dimension(name: s) else {
                throw Problem(
                    message:
                        "unknown dimension \(v.jsonString)\(v.stringValue.map { Suggest.didYouMean($0, among: CasebookCore.Dimension.allNames) } ?? "")"
                )
            }
            return d
        }
        q.dimensions = try (o["dimensions"]?.arrayValue ?? []).map { try dimension($0) }
        func values(_ v: Value) throws -> [String?] {
            let items = v.arrayValue ?? [v]
            return try items.map { item in
                switch item {
                case .null: return nil
                case .string(let s): return s
                case .int(let i): return String(i)
                case .bool(let b): return b ? "true" : "false"
                default: throw Problem(message: "filter values must be strings or null, found \(item.jsonString)")
                }
            }
        }
        switch o["filters"] {
        case nil, .null?: break
        case .object(let f)?:
            for (k, v) in f.sorted(by: { $0.key < $1.key }) {
                q.filters.append(DimensionFilter(try dimension(Value.string(k)), .in, try values(v)))
            }
        case .array(let items)?:
            for item in items {
                guard let d = item["dimension"] else { throw Problem(message: "each filter needs a `dimension`") }
                let opText = item["op"]?.stringValue ?? item["operation"]?.stringValue ?? "in"
                guard let op = DimensionFilter.Operation(rawValue: opText) else {
                    throw Problem(message: "filter operation must be `in` or `not_in`, found `\(opText)`")
                }
                q.filters.append(DimensionFilter(try dimension(d), op, try values(item["values"] ?? .array([]))))
            }
        case let other?: throw Problem(message: "`filters` must be a list or an object, found \(other.typeName)")
        }
        func time(_ key: String) throws -> Int64? {
            guard let v = o[key], v != .null else { return nil }
            if let i = v.intValue { return i }
            if let s = v.stringValue, let t = UTCTime.parse(s) { return t }
            throw Problem(message: "`\(key)` must be an ISO 8601 time or epoch seconds, found \(v.jsonString)")
        }
        q.range = TimeRange(from: try time("from"), to: try time("to"))
        if let t = o["top"], t != .null {
            guard let n = t.intValue, n > 0 else { throw Problem(message: "`top` must be a positive integer, found \(t.jsonString)") }
            q.top = Int(n)
        }
        return q
    }

    public static func value(of table: AggregateTable) -> Value {
        .object([
            "bucket": table.bucket.map { .string($0.rawValue) } ?? .null,
            "dimensions": .array(table.dimensions.map { .string($0.rawValue) }),
            "rows": .array(
                table.rows.map { row in
                    .object([
                        "time": row.bucketStart.map(Value.time) ?? .null,
                        "values": .array(row.values.map { $0.map(Value.string) ?? .null }),
                        "downloads": .int(row.downloads)
                    ])
                }),
            "total": .int(table.total)
        ])
    }
}

/// One running program: its pipes, limits and exit.
final class ProgramSession: @unchecked Sendable {
    private static let ignoreSIGPIPE: Void = {
        signal(SIGPIPE, SIG_IGN)
        return ()
    }()

    enum Event {
        case line(Data)
        case tooBig, eof
    }

    let program: ExternalProgram
    let limits: ExternalAnalyzerLimits
    let timeout: Double
    private let process = Process()
    private let stdinPipe = Pipe(), stdoutPipe = Pipe(), stderrPipe = Pipe()
    private let lock = NSLock()
    private var stderrData = Data()
    private var timedOut = false
    private var exited: (Int32, Process.TerminationReason)?
    private var exitWaiters: [CheckedContinuation<(Int32, Process.TerminationReason), Never>] = []
    private var iterator: AsyncStream<Event>.Iterator
    private let continuation: AsyncStream<Event>.Continuation
    private var linesRead = 0

    init(program: ExternalProgram, limits: ExternalAnalyzerLimits, timeout: Double) throws {
        _ = Self.ignoreSIGPIPE
        self.program = program
        self.limits = limits
        self.timeout = timeout
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        self.iterator = stream.makeAsyncIterator()
        self.continuation = continuation
        let (exe, args) = program.commandLine()
        process.executableURL = exe
        process.arguments = args
        process.currentDirectoryURL = program.url.deletingLastPathComponent()
        var env = ProcessInfo.processInfo.environment
        env["CASEBOOK_ANALYZER_PROTOCOL"] = ExternalAnalyzer.protocolVersion
        env["PYTHONUNBUFFERED"] = "1"
        process.environment = env
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.terminationHandler = { [weak self] p in
            guard let self else { return }
            self.lock.lock()
            let result = (p.terminationStatus, p.terminationReason)
            self.exited = result
            let waiters = self.exitWaiters
            self.exitWaiters = []
            self.lock.unlock()
            for w in waiters { w.resume(returning: result) }
        }
        try process.run()
        startReaders()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak self] in
            guard let self else { return }
            self.lock.lock()
            let running = self.exited == nil
            if running { self.timedOut = true }
            self.lock.unlock()
            if running { kill(-pid, SIGKILL) }
        }
    }

    private func startReaders() {
        let outFD = stdoutPipe.fileHandleForReading.fileDescriptor
        let errFD = stderrPipe.fileHandleForReading.fileDescriptor
        let maxOut = limits.maxOutputBytes
        let maxErr = limits.maxStderrBytes
        let continuation = self.continuation
        let pid = process.processIdentifier
        DispatchQueue.global().async {
            // Linear in the output: each byte is scanned for a newline once (a long line used
            // to be rescanned, and the rest of a chunk copied, at every read).
            var buffer = [UInt8](repeating: 0, count: 65536)
            var pending: [UInt8] = []
            var total = 0
            while true {
                // Never read past the limit plus one byte: crossing it is seen at once.
                let room = maxOut - total  // >= 0 here; never overflows, unlike room + 1 for Int.max
                let n = read(outFD, &buffer, room < buffer.count ? max(room, 0) + 1 : buffer.count)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                total += n
                if total > maxOut {
                    continuation.yield(.tooBig)
                    kill(-pid, SIGKILL)
                    break
                }
                var lineStart = 0
                for i in 0..<n where buffer[i] == 10 {
                    pending.append(contentsOf: buffer[lineStart..<i])
                    if !pending.allSatisfy({ $0 == 32 || $0 == 13 || $0 == 9 }) { continuation.yield(.line(Data(pending))) }
                    pending.removeAll(keepingCapacity: pending.count < (1 << 20))
                    lineStart = i + 1
                }
                pending.append(contentsOf: buffer[lineStart..<n])
            }
            if !pending.isEmpty, total <= maxOut, !pending.allSatisfy({ $0 == 32 || $0 == 13 }) { continuation.yield(.line(Data(pending))) }
            continuation.yield(.eof)
            continuation.finish()
        }
        DispatchQueue.global().async { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = read(errFD, &buffer, buffer.count)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                guard let self else { continue }
                self.lock.lock()
                if self.stderrData.count < maxErr { self.stderrData.append(contentsOf: buffer[0..<min(n, maxErr - self.stderrData.count)]) }
                self.lock.unlock()
            }
        }
    }

    /// Writes one message as a JSON line.
    func send(_ message: Value) throws {
        var data = Data(message.jsonString.utf8)
        data.append(10)
        try stdinPipe.fileHandleForWriting.write(contentsOf: data)
    }

    /// The next JSON object from the program, or the error that ends the conversation.
    func nextMessage() async throws -> Value {
        let name = program.displayName
        switch await iterator.next() ?? .eof {
        case .line(let data):
            linesRead += 1
            guard let value = try? Value(json: data), case .object = value else {
                let text = String(decoding: data.prefix(120), as: UTF8.self)
                kill(-process.processIdentifier, SIGKILL)
                throw ExternalAnalyzerError(
                    "`\(name)` printed something that is not a \(ExternalAnalyzer.protocolVersion) JSON message on stdout (line \(linesRead): `\(text)`\(data.count > 120 ? "..." : "")); programs must write only one JSON object per line on stdout and log to stderr"
                )
            }
            return value
        case .tooBig:
            throw failure(
                default:
                    "`\(name)` answered too much: more than \(limits.maxOutputBytes) bytes on stdout (the output limit, --max-output-bytes); it was stopped"
            )
        case .eof:
            let (status, reason) = await waitForExit()
            let wasTimedOut = lock.withLock { timedOut }
            if wasTimedOut {
                throw ExternalAnalyzerError("`\(name)` timed out after \(Self.seconds(timeout)) and was killed\(stderrSuffix())")
            }
            if reason == .uncaughtSignal {
                throw ExternalAnalyzerError("`\(name)` crashed (killed by signal \(status)) before sending a result\(stderrSuffix())")
            }
            if status != 0 {
                throw ExternalAnalyzerError("`\(name)` exited with status \(status) before sending a result\(stderrSuffix())")
            }
            throw ExternalAnalyzerError("`\(name)` closed its output without sending a result\(stderrSuffix())")
        }
    }

    /// An error for a failed exchange, preferring a timeout explanation.
    func failure(default message: String) -> ExternalAnalyzerError {
        lock.lock()
        let wasTimedOut = timedOut
        lock.unlock()
        if wasTimedOut {
            return ExternalAnalyzerError(
                "`\(program.displayName)` timed out after \(Self.seconds(timeout)) and was killed\(stderrSuffix())")
        }
        return ExternalAnalyzerError(message + stderrSuffix())
    }

    private func stderrSuffix() -> String {
        lock.lock()
        let data = stderrData
        lock.unlock()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return "" }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let tail = lines.suffix(12).joined(separator: "\n")
        return "; its stderr said:\n" + tail
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }

    func waitForExit() async -> (Int32, Process.TerminationReason) {
        await withCheckedContinuation { c in
            lock.lock()
            if let e = exited {
                lock.unlock()
                c.resume(returning: e)
            } else {
                exitWaiters.append(c)
                lock.unlock()
            }
        }
    }

    /// Ends the conversation: closes stdin, kills the process group if it still runs.
    func finish() {
        try? stdinPipe.fileHandleForWriting.close()
        lock.lock()
        let running = exited == nil
        lock.unlock()
        if running { kill(-process.processIdentifier, SIGKILL) }
    }
}
