import Foundation

/// A store that can take ingested events. Ingest is all-or-nothing per source: nothing a
/// session adds is visible until ``IngestSession/commit(_:)``, and a session that is rolled back,
/// fails or whose process dies leaves the store exactly as it was.
public protocol IngestTarget: AnyObject {
    /// The store's client keyer (its salt never leaves the store).
    func clientKeyer() throws -> ClientKeyer
    /// Known sources whose first-line key is `fingerprint` (usually zero or one; files with the
    /// same header share it, their `headHash` tells them apart).
    func sources(withFingerprint fingerprint: String) throws -> [SourceRecord]
    /// Ingests one source (a new one, or the new lines of a known one) all-or-nothing: `body`
    /// adds events through the sink; when it returns, everything becomes visible at once with the
    /// summary it returns; when it throws (or the process dies), nothing of it remains.
    func ingest(_ plan: IngestPlan, _ body: (any IngestSink) throws -> IngestSummary) throws -> IngestSummary
}

/// What is known about an ingested source, for recognising it again.
public struct SourceRecord: Sendable, Hashable {
    public var id: Int64
    public var fingerprint: String
    public var name: String
    public var format: String
    /// Decompressed bytes and lines consumed so far.
    public var bytes: Int64
    public var lines: Int64
    /// SHA-256 (hex) of the up to 4096 bytes that end at `bytes`: a cheap check that a file
    /// with the same first line really continues this source.
    public var tailHash: String
    /// SHA-256 (hex) of the first up to 4096 bytes of the source (of its first `bytes` bytes when
    /// fewer): the fingerprint shown to people; empty for sources recorded before it was kept.
    public var headHash: String

    public init(
        id: Int64, fingerprint: String, name: String, format: String, bytes: Int64, lines: Int64, tailHash: String,
        headHash: String = ""
    ) {
        self.headHash = headHash
        self.id = id
        self.fingerprint = fingerprint
        self.name = name
        self.format = format
        self.bytes = bytes
        self.lines = lines
        self.tailHash = tailHash
    }
}

/// The source an ingest session writes: a new source, or more lines of a known one.
public struct IngestPlan: Sendable {
    /// The known source this continues, if any.
    public var existing: SourceRecord?
    public var fingerprint: String
    public var name: String
    public var format: String
    public var index: String?
    /// A followed file to record in the same transaction (`casebook watch`): the store writes it
    /// with the source's id and, from the summary, the bytes consumed as its offset and the head
    /// hash. Only stores that are a ``WatchRegistry`` are given one.
    public var watch: WatchedFile?

    public init(
        existing: SourceRecord?, fingerprint: String, name: String, format: String, index: String?, watch: WatchedFile? = nil
    ) {
        self.watch = watch
        self.existing = existing
        self.fingerprint = fingerprint
        self.name = name
        self.format = format
        self.index = index
    }
}

/// What one ingest of one source did, recorded with the source when committed.
public struct IngestSummary: Sendable, Hashable, Codable {
    public var name: String
    public var format: String
    /// Whether the source was known (only new lines were read) and whether anything was new.
    public var resumed: Bool
    public var alreadyIngested: Bool
    public var downloads: Int64 = 0
    public var eventRows: Int64 = 0
    public var otherRequests: [String: Int64] = [:]
    public var quarantined: [String: Int64] = [:]
    public var linesRead: Int64 = 0
    /// Decompressed bytes and lines of the source consumed after this ingest, and the tail hash.
    public var totalBytes: Int64 = 0
    public var totalLines: Int64 = 0
    public var tailHash: String = ""
    /// SHA-256 (hex) of the first up to 4096 bytes consumed (see ``SourceRecord/headHash``).
    public var headHash: String = ""
    /// The file had no bytes at all (or, when following a file, no complete line yet): nothing
    /// was read or recorded.
    public var empty: Bool = false
    /// Reading stopped at ``FollowOptions``' byte limit, before the end of the file.
    public var moreToRead: Bool = false
    /// Things worth telling the person that rejected no line (ignored CSV columns...).
    public var warnings: [String] = []
    public var firstEvent: Int64?
    public var lastEvent: Int64?
    public var seconds: Double = 0

    public init(name: String, format: String, resumed: Bool, alreadyIngested: Bool) {
        self.name = name
        self.format = format
        self.resumed = resumed
        self.alreadyIngested = alreadyIngested
    }
}

/// Where one ingest writes, inside its all-or-nothing transaction.
public protocol IngestSink: AnyObject {
    /// Adds one event.
    func add(_ event: DownloadEvent) throws
    /// Keeps a line that could not be parsed, with its reason (the line already redacted).
    func quarantine(line: Int64, reason: String, redactedLine: String) throws
    /// Adds request lines per hour and status code (downloads included) read from an access
    /// log, called once before the ingest commits. Stores that do not keep them ignore them.
    func addRequestCounts(_ counts: [RequestCount]) throws
}

extension IngestSink {
    public func addRequestCounts(_ counts: [RequestCount]) throws {}
}

/// Groups reasons for quarantined lines.
public enum QuarantineReason {
    /// The reason without the value found and without line, column and character numbers, so
    /// that lines with the same problem count together (`expected a 3-digit status code after
    /// the request`). Column *names* are kept (`column `timestamp`: expected an ISO 8601 date`).
    public static func kind(of reason: String) -> String {
        var text = reason
        for marker in [", found", "; found", " found '", " (found"] {
            if let r = text.range(of: marker) { text = String(text[..<r.lowerBound]) }
        }
        // Numbers after these words vary from line to line: "column 27" → "column #".
        var out = ""
        var rest = Substring(text)
        while let r = rest.range(of: #"(column|character|line|byte) [0-9]"#, options: .regularExpression) {
            let digitsStart = rest.index(before: r.upperBound)
            out += rest[..<digitsStart]
            out += "#"
            rest = rest[digitsStart...].drop { $0.isNumber }
        }
        out += rest
        return InputText.escaped(out.trimmingCharacters(in: CharacterSet(charactersIn: " ,;:.")))
    }
}
