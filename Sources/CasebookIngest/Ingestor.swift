import CasebookCore
import Foundation

/// The input formats Casebook reads.
public enum InputFormat: String, CaseIterable, Sendable, Codable {
    /// Recognise the format from the content.
    case auto
    /// Apache/nginx combined (or common) access logs.
    case combined
    /// Apache `vhost_combined` logs: `HOST:PORT` before the combined fields.
    case vhostCombined = "vhost-combined"
    /// PyPI's BigQuery `file_downloads` rows as newline-delimited JSON.
    case bigquery
    /// A CSV of counts with a header.
    case csv
}

/// How to ingest.
public struct IngestOptions: Sendable {
    public var format: InputFormat = .auto
    /// The index the input belongs to (recorded with every download).
    public var index: String?
    /// Make the first malformed line an error (the file's ingest is then rolled back).
    public var strict = false
    /// CSV column overrides.
    public var timeColumn: String?
    public var countColumn: String?
    /// CSV: the project of every row, for files without a `project` column.
    public var project: String?

    public init(
        format: InputFormat = .auto, index: String? = nil, strict: Bool = false,
        timeColumn: String? = nil, countColumn: String? = nil, project: String? = nil
    ) {
        self.project = project
        self.format = format
        self.index = index
        self.strict = strict
        self.timeColumn = timeColumn
        self.countColumn = countColumn
    }
}

/// Progress of a running ingest, for a progress line.
public struct IngestProgress: Sendable {
    public var file: String
    public var bytes: Int64
    public var lines: Int64
    public var downloads: Int64
    public var seconds: Double
}

/// How a followed file is read (`casebook watch`): a small transaction of its new complete lines.
public struct FollowOptions: Sendable {
    /// Leave a last line without its newline (still being written) for the next read.
    public var completeLinesOnly: Bool
    /// Stop at the first line end after about this many new bytes, so that a long backlog is
    /// read in several small transactions (``IngestSummary/totalBytes`` tells where it stopped).
    public var maxBytes: Int64?
    /// The registry row recorded in the same transaction as the lines (see ``IngestPlan/watch``).
    public var watch: WatchedFile?

    public init(completeLinesOnly: Bool = true, maxBytes: Int64? = nil, watch: WatchedFile? = nil) {
        self.completeLinesOnly = completeLinesOnly
        self.maxBytes = maxBytes
        self.watch = watch
    }
}

/// Why an ingest failed. Nothing of the failing file was kept.
public struct IngestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads input files into a store: recognises each source by its content, reads only what is
/// new, and hands every line to the format's reader.
public final class Ingestor: @unchecked Sendable {
    private let target: any IngestTarget
    private let options: IngestOptions
    private let keyer: ClientKeyer
    /// Every quarantined line and reason passes through it: no address reaches a store.
    private let redactor: AddressRedactor
    /// Called about twice a second while a file is read.
    public var onProgress: ((IngestProgress) -> Void)?
    /// Called after each line (for tests that inject failures); throwing aborts the ingest.
    public var afterLine: ((Int64) throws -> Void)?
    /// The combined-log reader of the last file, kept for the next one: it holds nothing but
    /// caches (client keys, parsed user agents, file names), and consecutive logs of one server
    /// share most of those; cold caches made ingesting 70 daily logs cost twice the CPU of
    /// ingesting them as one file.
    private var combinedReader: CombinedLogReader?

    static let chunkSize = 1 << 20
    static let maxLine = 1 << 20
    static let headBytes = 4096
    static let batchSize = 8192

    public init(target: any IngestTarget, options: IngestOptions = IngestOptions()) throws {
        self.target = target
        self.options = options
        self.keyer = try target.clientKeyer()
        self.redactor = AddressRedactor(keyer: keyer)
    }

    /// Recognises a format from a first non-empty line.
    public static func detectFormat(firstLine: String) -> InputFormat? {
        let t = firstLine.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("{") { return .bigquery }
        if t.contains(" [") && t.contains("] \"") {
            // vhost_combined: `www.example.org:443 192.0.2.1 - - [...`, the first field HOST:PORT
            // and the second an address (a combined line's second field is the identity, `-`).
            let fields = t.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            if fields.count == 3, let colon = fields[0].lastIndex(of: ":"),
                colon != fields[0].startIndex, fields[0][fields[0].index(after: colon)...].allSatisfy(\.isNumber),
                fields[0].index(after: colon) != fields[0].endIndex, Self.looksLikeAddress(fields[1])
            {
                return .vhostCombined
            }
            return .combined
        }
        let header = t.lowercased()
        if header.contains(","),
            header.split(separator: ",").contains(where: {
                let c = $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
                return c == "timestamp" || c == "date"
            })
        {
            return .csv
        }
        return nil
    }

    /// An IPv4 or IPv6 address (hex digits, dots and colons, with a digit).
    static func looksLikeAddress(_ s: Substring) -> Bool {
        guard s != "-", s.contains(where: \.isNumber) else { return false }
        return s.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" } && (s.contains(".") || s.contains(":"))
    }

    func makeReader(_ format: InputFormat) -> any LineReader {
        switch format {
        case .vhostCombined:
            if let r = combinedReader, r.vhost { r } else { CombinedLogReader(keyer: keyer, index: options.index, vhost: true) }
        case .combined, .auto:
            if let r = combinedReader, !r.vhost { r } else { CombinedLogReader(keyer: keyer, index: options.index) }
        case .bigquery: BigQueryReader(index: options.index ?? "pypi")
        case .csv:
            CountsCSVReader(
                index: options.index, timeColumn: options.timeColumn, countColumn: options.countColumn, clientKeyer: keyer,
                project: options.project)
        }
    }

    /// Ingests one file (plain or gzip), all-or-nothing.
    public func ingest(path: String) throws -> IngestSummary {
        try ingest(path: path, follow: nil)
    }

    /// Ingests one file (plain or gzip), all-or-nothing; `follow` reads only new complete lines
    /// (at most about ``FollowOptions/maxBytes``) and records the followed file in the same
    /// transaction.
    public func ingest(path: String, follow: FollowOptions?) throws -> IngestSummary {
        let started = Date()
        let name = URL(fileURLWithPath: path).lastPathComponent
        let file = try InputFile(path: path)
        // The head: the first line (up to 4 KiB) fingerprints the source.
        let head = try file.readBytes(Self.chunkSize)
        if head.isEmpty {
            // Nothing to recognise or record: an empty file is not a source.
            var s = IngestSummary(name: name, format: options.format.rawValue, resumed: false, alreadyIngested: false)
            s.empty = true
            s.seconds = Date().timeIntervalSince(started)
            return s
        }
        if let follow, follow.completeLinesOnly, !head.contains(10), head.count < Self.maxLine {
            // Not even the first line is complete: nothing can be fingerprinted or read yet.
            var s = IngestSummary(name: name, format: options.format.rawValue, resumed: false, alreadyIngested: false)
            s.empty = true
            s.seconds = Date().timeIntervalSince(started)
            return s
        }
        let firstLineEnd = head.firstIndex(of: 10) ?? head.count
        let firstLine = Array(head[..<min(firstLineEnd, Self.headBytes)])
        // The first line is only a lookup key (files with the same header share it); the head
        // (first 4 KiB, or all that was read of a shorter source) is what identifies content.
        let fingerprint = SHA256.hash(firstLine).hexString
        func headHash(upTo bytes: Int64) -> String {
            SHA256.hash(Array(head.prefix(Int(min(bytes, Int64(Self.headBytes)))))).hexString
        }
        var format = options.format
        if format == .auto {
            let sample = head.split(separator: 10, maxSplits: 8).first { !$0.allSatisfy { $0 == 32 || $0 == 13 } }
            let text = sample.map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard let detected = Self.detectFormat(firstLine: text) else {
                throw IngestError(
                    """
                    \(path):1: cannot recognise the input format: expected a combined access log line \
                    (`HOST - - [TIME] "GET /path HTTP/1.1" STATUS SIZE "REFERER" "AGENT"`), a BigQuery JSON row \
                    (`{"timestamp": ...}`) or a CSV header with a `timestamp` or `date` column; found \
                    '\(InputText.escaped((sample ?? []).prefix(120)))'. Use --input-format to say which it is.
                    """)
            }
            format = detected
        }

        if let project = options.project, format != .csv {
            throw IngestError(
                "\(path): --project \(InputText.escaped(project)) is for CSV files of counts without a project column; this file is read as \(format.rawValue), whose lines name their projects (nothing of this file was stored)"
            )
        }
        // Is this a source we know (same first line, same content up to what we read before)?
        var existing: SourceRecord?
        // A known source this file starts like but is shorter than (an older copy of a log?).
        var shorterThan: SourceRecord?
        for candidate in try target.sources(withFingerprint: fingerprint) where candidate.format == format.rawValue {
            // Same first line is not same content: the head must match too (sources recorded
            // before heads were kept have none, and are matched by their tail alone).
            if follow != nil, Int64(head.count) < min(Int64(Self.headBytes), candidate.bytes) {
                // Followed, with the same first line but shorter than the source's head: a copy
                // being written (see below).
                if shorterThan == nil { shorterThan = candidate }
                continue
            }
            if !candidate.headHash.isEmpty, candidate.headHash != headHash(upTo: candidate.bytes) { continue }
            let start = max(0, candidate.bytes - Int64(Self.headBytes))
            try file.seek(to: start)
            let tail = try file.readBytes(Int(candidate.bytes - start))
            if Int64(tail.count) == candidate.bytes - start, SHA256.hash(tail).hexString == candidate.tailHash {
                existing = candidate
                break
            }
            if !candidate.headHash.isEmpty, Int64(tail.count) < candidate.bytes - start, shorterThan == nil { shorterThan = candidate }
        }
        if follow != nil, existing == nil, shorterThan != nil {
            // A followed file that starts like a known source but is shorter: a copy being
            // written (copytruncate copies, then truncates). Reading it now would count its
            // lines twice; once it is complete it continues the source it copies.
            var s = IngestSummary(name: name, format: format.rawValue, resumed: false, alreadyIngested: false)
            s.empty = true
            s.seconds = Date().timeIntervalSince(started)
            return s
        }
        let startOffset = existing?.bytes ?? 0
        try file.seek(to: startOffset)
        var reader = makeReader(format)
        if format == .csv, let csv = reader as? CountsCSVReader {
            // A header that cannot be read fails the file before anything is stored.
            var number = 0
            for line in head.split(separator: 10, omittingEmptySubsequences: false) {
                number += 1
                let text = String(decoding: line, as: UTF8.self)
                if text.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
                do {
                    try csv.checkHeader(line: Array(line), number: number)
                } catch {
                    throw IngestError(
                        "\(path):\(number): the CSV header cannot be used: \(InputText.escaped(error.description)); name other columns with --time-column and --count-column (nothing of this file was stored)"
                    )
                }
                break
            }
        }
        if existing != nil, format == .csv {
            // The header is needed to read the rest.
            _ = firstLine.withUnsafeBytes { reader.read(line: $0, number: 1) }
        }

        let plan = IngestPlan(
            existing: existing, fingerprint: fingerprint, name: name, format: format.rawValue, index: options.index,
            watch: follow?.watch)
        var summary = IngestSummary(name: name, format: format.rawValue, resumed: existing != nil, alreadyIngested: false)
        summary = try target.ingest(plan) { sink in
            var s = summary
            try self.readLines(
                file: file, startLine: existing?.lines ?? 0, startBytes: startOffset,
                reader: &reader, sink: sink, summary: &s, started: started,
                follow: follow, resumed: existing != nil)
            if existing != nil, s.linesRead == 0 { s.alreadyIngested = true }
            s.headHash = headHash(upTo: s.totalBytes)
            if let csv = reader as? CountsCSVReader { s.warnings = csv.warnings.map(\.description) }
            if existing == nil, let known = shorterThan {
                // Its content up to its end cannot be compared with what was read of the known
                // source (only that source's first and last 4 KiB are known): say so.
                s.warnings.append(
                    """
                    its first 4 KiB are those of source \(known.id) (\(InputText.escaped(known.name))), but it is shorter than the \
                    \(known.bytes) bytes read of that source: if it is an older copy of the same log, its lines are now counted \
                    twice (`casebook sources remove` undoes this ingest)
                    """)
            }
            s.seconds = Date().timeIntervalSince(started)
            return s
        }
        if let warm = reader as? CombinedLogReader { combinedReader = warm }
        return summary
    }

    /// Lines parsed by the reading thread, handed to the writing thread.
    struct Batch: @unchecked Sendable {
        var outcomes: [LineOutcome] = []
        /// The line number of `outcomes[0]`.
        var firstLine: Int64 = 0
        /// Line numbers of lines too long to read (kept aside).
        var tooLong: [Int64] = []
        /// Outcomes the reader held until the end of the input (see ``LineReader/finish()``).
        var trailing: [LineOutcome] = []
        var consumedBytes: Int64 = 0
    }

    /// What the reading thread found at the end of the file.
    struct ReadEnd: @unchecked Sendable {
        var lines: Int64 = 0
        var consumed: Int64 = 0
        var tail: [UInt8] = []
        /// Stopped at the byte limit, before the end of the file.
        var stoppedEarly = false
    }

    /// Reads and parses on one thread while the store writes on another (and a compressed file
    /// is inflated on a third, see `ReadAhead`): the parts of an ingest take about the same
    /// time, and two cores are shared among them.
    private func readLines(
        file: InputFile, startLine: Int64, startBytes: Int64, reader: inout any LineReader,
        sink: any IngestSink, summary: inout IngestSummary, started: Date, follow: FollowOptions? = nil, resumed: Bool = false
    ) throws {
        let queue = BatchQueue(capacity: 4)
        let box = ReaderBox(reader: reader)
        let end = ReadEndBox()
        let thread = Thread { [self] in
            do {
                end.value = try self.parse(
                    file: file, startLine: startLine, startBytes: startBytes, reader: box, queue: queue,
                    completeLinesOnly: follow?.completeLinesOnly ?? false, maxBytes: follow?.maxBytes)
                queue.finish(error: nil)
            } catch {
                queue.finish(error: error)
            }
        }
        thread.stackSize = 1 << 22
        thread.start()
        var lastProgress = Date()
        var first = summary.firstEvent
        var last = summary.lastEvent
        var consumed = startBytes
        var lineNumber = startLine
        // An access log's request lines per hour and status (downloads are 200s): what tells an
        // outage or a gap in the log from a change in traffic.
        let logsRequests = reader.formatName == "combined" || reader.formatName == "vhost-combined"
        var requests: [RequestKey: Int64] = [:]
        var firstMalformed: (line: Int64, reason: String)?
        do {
            while var batch = try queue.take() {
                // Lines too long to read come before the batch's parsed lines.
                for long in batch.tooLong {
                    if options.strict {
                        throw IngestError(
                            "\(file.path):\(long): line longer than \(Self.maxLine) bytes (--strict: nothing of this file was stored)")
                    }
                    summary.quarantined["line too long", default: 0] += 1
                    if firstMalformed == nil { firstMalformed = (long, "line longer than \(Self.maxLine) bytes") }
                    try sink.quarantine(line: long, reason: "line longer than \(Self.maxLine) bytes", redactedLine: "(not kept: too long)")
                }
                var n = batch.firstLine
                // Outcomes are moved out of the batch (not copied): a copy would retain the
                // event's shared boxes, which the reading thread's caches also touch.
                try batch.outcomes.withUnsafeMutableBufferPointer { outcomes in
                    for i in outcomes.indices {
                        var outcome = LineOutcome.skip
                        swap(&outcome, &outcomes[i])
                        switch outcome {
                        case .download(let e):
                            try sink.add(e)
                            if logsRequests {
                                requests[RequestKey(hour: TimeBucket.hour.start(of: e.timestamp), status: 200), default: 0] += e.count
                            }
                            summary.downloads += e.count
                            summary.eventRows += 1
                            if first == nil || e.timestamp < first! { first = e.timestamp }
                            if last == nil || e.timestamp > last! { last = e.timestamp }
                        case .notDownload(let kind, let time, let status):
                            summary.otherRequests[kind, default: 0] += 1
                            if logsRequests, let time, let status {
                                requests[RequestKey(hour: TimeBucket.hour.start(of: time), status: status), default: 0] += 1
                            }
                        case .malformed(let rawReason, let redacted):
                            let reason = redactor.redact(rawReason)
                            if options.strict {
                                throw IngestError(
                                    "\(file.path):\(n): \(InputText.escaped(reason)) (--strict: nothing of this file was stored)")
                            }
                            summary.quarantined[Self.reasonKind(reason), default: 0] += 1
                            if firstMalformed == nil { firstMalformed = (n, reason) }
                            // Addresses replaced by client keys, then escaped: a stored NUL would cut
                            // the text short, and it is shown on terminals.
                            try sink.quarantine(
                                line: n, reason: InputText.escaped(reason),
                                redactedLine: InputText.escaped(redactor.redactKept(redacted, limit: 8192)))
                        case .skip:
                            break
                        }
                        try afterLine?(n)
                        n += 1
                    }
                }
                for outcome in batch.trailing {
                    switch outcome {
                    case .download(let e):
                        try sink.add(e)
                        summary.downloads += e.count
                        summary.eventRows += 1
                        if first == nil || e.timestamp < first! { first = e.timestamp }
                        if last == nil || e.timestamp > last! { last = e.timestamp }
                    case .notDownload(let kind, _, _):
                        summary.otherRequests[kind, default: 0] += 1
                    case .malformed(let reason, _):
                        throw IngestError(
                            "\(file.path): at the end of the input: \(InputText.escaped(reason)) (nothing of this file was stored)")
                    case .skip:
                        break
                    }
                }
                lineNumber = max(lineNumber, n - 1, batch.tooLong.max() ?? 0)
                consumed = batch.consumedBytes
                summary.linesRead = lineNumber - startLine
                if let onProgress, Date().timeIntervalSince(lastProgress) > 0.5 {
                    lastProgress = Date()
                    onProgress(
                        IngestProgress(
                            file: file.path, bytes: consumed, lines: lineNumber, downloads: summary.downloads,
                            seconds: Date().timeIntervalSince(started)))
                }
            }
        } catch {
            queue.cancel()
            queue.waitUntilFinished()
            throw error
        }
        queue.waitUntilFinished()
        if !requests.isEmpty {
            try sink.addRequestCounts(
                requests.map { RequestCount(hour: $0.key.hour, status: $0.key.status, count: $0.value) }
                    .sorted { ($0.hour, $0.status) < ($1.hour, $1.status) })
        }
        reader = box.reader
        let malformed = summary.quarantined.values.reduce(0, +)
        // A followed file's new lines are kept aside like any malformed line: refusing them would
        // stop the file there for good (the same lines would fail again at every read).
        if malformed > 0, summary.eventRows == 0, summary.otherRequests.isEmpty, !(follow != nil && resumed), let firstMalformed {
            // Recording such a file would mark lines that were never read as ingested.
            throw IngestError(
                """
                \(file.path): none of its \(startLine > 0 ? "new lines (after the \(startLine) already ingested)" : "lines") could be read \
                (\(malformed) malformed; the first, line \(firstMalformed.line): \
                \(InputText.escaped(firstMalformed.reason))); nothing of this file was stored or recorded, so it can be \
                ingested again once fixed or with other options (--input-format, --time-column, --count-column)
                """)
        }
        let readEnd = end.value
        summary.linesRead = readEnd.lines - startLine
        summary.totalLines = readEnd.lines
        summary.totalBytes = readEnd.consumed
        summary.moreToRead = readEnd.stoppedEarly
        summary.firstEvent = first
        summary.lastEvent = last
        var tail = readEnd.tail
        if readEnd.consumed > 0 && tail.count < min(Self.headBytes, Int(readEnd.consumed)) {
            // Resumed with little new content: the tail reaches into what was read before.
            let start = max(0, readEnd.consumed - Int64(Self.headBytes))
            try file.seek(to: start)
            tail = try file.readBytes(Int(readEnd.consumed - start))
        }
        summary.tailHash = SHA256.hash(tail).hexString
    }

    /// The reading thread: splits the file into lines, parses them, and queues batches.
    private func parse(
        file: InputFile, startLine: Int64, startBytes: Int64, reader box: ReaderBox, queue: BatchQueue,
        completeLinesOnly: Bool = false, maxBytes: Int64? = nil
    ) throws -> ReadEnd {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.chunkSize + Self.maxLine, alignment: 8)
        defer { buffer.deallocate() }
        var carried = 0  // bytes of an unfinished line at the start of the buffer
        var lineNumber = startLine
        var consumed = startBytes
        var tail: [UInt8] = []
        var skippingLongLine = false
        var stoppedEarly = false
        // Followed files are read in transactions of about `maxBytes` new bytes.
        let limit = maxBytes.map { startBytes + $0 } ?? Int64.max
        var batch = Batch()
        batch.firstLine = lineNumber + 1
        batch.outcomes.reserveCapacity(Self.batchSize)
        let readAhead = file.isCompressed ? ReadAhead(file: file, chunkSize: Self.chunkSize) : nil
        defer { readAhead?.stop() }
        let source: any ByteSource = readAhead ?? file

        func handle(_ ptr: UnsafeRawBufferPointer) throws {
            lineNumber += 1
            var line = ptr
            if let lastByte = line.last, lastByte == 13 { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
            batch.outcomes.append(box.reader.read(line: line, number: Int(lineNumber)))
        }
        func flush() throws {
            batch.consumedBytes = consumed
            guard queue.put(batch) else { throw CancellationError() }
            batch = Batch()
            batch.firstLine = lineNumber + 1
            batch.outcomes.reserveCapacity(Self.batchSize)
        }

        /// A line longer than ``maxLine`` bytes: one quarantined entry with its own number.
        func tooLong() throws {
            try flush()
            lineNumber += 1
            batch.tooLong.append(lineNumber)
            batch.firstLine = lineNumber + 1
        }

        while true {
            let n = try source.read(into: buffer + carried, count: Self.chunkSize)
            let end = carried + n
            let bytes = UnsafeRawBufferPointer(start: buffer, count: end)
            var start = 0
            var k = 0
            var limitReached = false
            while k < end {
                guard let nl = memchr(buffer + k, 10, end - k) else { break }
                let pos = buffer.distance(to: nl)
                if skippingLongLine {
                    // The end of a long line already counted.
                    skippingLongLine = false
                } else if pos - start > Self.maxLine {
                    try tooLong()
                } else {
                    try handle(UnsafeRawBufferPointer(rebasing: bytes[start..<pos]))
                }
                k = pos + 1
                start = k
                if consumed + Int64(start) >= limit {
                    limitReached = true
                    break
                }
            }
            if limitReached {
                // Enough for one transaction: stop at this line end (the rest is read next time).
                consumed += Int64(start)
                appendTail(&tail, UnsafeRawBufferPointer(rebasing: bytes[0..<start]))
                stoppedEarly = n > 0 || start < end
                break
            }
            if n == 0 {
                if completeLinesOnly, !skippingLongLine {
                    // A last line without its newline is still being written: leave it.
                    appendTail(&tail, UnsafeRawBufferPointer(rebasing: bytes[0..<start]))
                    consumed += Int64(start)
                    break
                }
                if start < end, !skippingLongLine {
                    if end - start > Self.maxLine {
                        try tooLong()
                    } else {
                        try handle(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                    }
                }
                consumed += Int64(end - start)
                appendTail(&tail, UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
                break
            }
            consumed += Int64(start)
            appendTail(&tail, UnsafeRawBufferPointer(rebasing: bytes[0..<start]))
            carried = end - start
            if skippingLongLine || carried > Self.maxLine {
                // Inside a line longer than 1 MiB: count it once (when it starts), and drop its
                // bytes up to its end.
                if !skippingLongLine { try tooLong() }
                skippingLongLine = true
                appendTail(&tail, UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                consumed += Int64(carried)
                carried = 0
            } else if carried > 0 {
                memmove(buffer, buffer + start, carried)
            }
            if batch.outcomes.count >= Self.batchSize { try flush() }
        }
        batch.trailing = box.reader.finish()
        try flush()
        return ReadEnd(lines: lineNumber, consumed: consumed, tail: tail, stoppedEarly: stoppedEarly)
    }

    private func appendTail(_ tail: inout [UInt8], _ bytes: UnsafeRawBufferPointer) {
        if bytes.count >= Self.headBytes {
            tail = Array(bytes.suffix(Self.headBytes))
        } else {
            tail.append(contentsOf: bytes)
            if tail.count > Self.headBytes { tail.removeFirst(tail.count - Self.headBytes) }
        }
    }

    struct RequestKey: Hashable {
        var hour: Int64
        var status: Int
    }

    /// A short kind for a malformed line's reason (see ``QuarantineReason/kind(of:)``).
    public static func reasonKind(_ reason: String) -> String { QuarantineReason.kind(of: reason) }
}

/// Holds the reader for the reading thread (only one thread uses it at a time).
final class ReaderBox: @unchecked Sendable {
    var reader: any LineReader
    init(reader: any LineReader) { self.reader = reader }
}

final class ReadEndBox: @unchecked Sendable {
    var value = Ingestor.ReadEnd()
}

/// A small bounded queue between the reading and the writing thread.
final class BatchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Ingestor.Batch] = []
    private let capacity: Int
    private var finished = false
    private var cancelled = false
    private var error: (any Error)?
    private var producerDone = false

    init(capacity: Int) { self.capacity = capacity }

    /// Adds a batch, waiting while the queue is full. False when the consumer cancelled.
    func put(_ batch: Ingestor.Batch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(batch)
        condition.broadcast()
        return true
    }

    /// The next batch, nil at the end; rethrows the reading thread's error.
    func take() throws -> Ingestor.Batch? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        if !items.isEmpty {
            let b = items.removeFirst()
            condition.broadcast()
            return b
        }
        if let error { throw error }
        return nil
    }

    func finish(error: (any Error)?) {
        condition.lock()
        defer { condition.unlock() }
        finished = true
        producerDone = true
        self.error = error
        condition.broadcast()
    }

    func cancel() {
        condition.lock()
        defer { condition.unlock() }
        cancelled = true
        condition.broadcast()
    }

    func waitUntilFinished() {
        condition.lock()
        defer { condition.unlock() }
        while !producerDone { condition.wait() }
    }
}
