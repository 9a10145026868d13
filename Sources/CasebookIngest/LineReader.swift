import CasebookCore

/// What one input line turned out to be.
public enum LineOutcome: Sendable, Equatable {
    /// A download (or pre-aggregated downloads, with `count > 1`).
    case download(DownloadEvent)
    /// A well-formed line that is not a download (an index page, a 404, a bot...), with a short
    /// kind used for counting (`"not-found"`, `"index-page"`, ...) and, for a request line of an
    /// access log, its time and the server's status code (kept per hour: see ``RequestLogStore``).
    case notDownload(kind: String, time: Int64? = nil, status: Int? = nil)
    /// A line that could not be parsed: the reason (for a person to read) and the line as it may
    /// be kept, with any client address already replaced by its client key.
    case malformed(reason: String, redactedLine: String)
    /// A line that carries no record (a CSV header, a blank line).
    case skip
}

/// Reads one input format line by line. Readers are stateful (a CSV reader learns its header
/// from the first line) and are used from one thread.
public protocol LineReader {
    /// The format's name (`combined`, `bigquery`, `csv`), recorded with each source.
    var formatName: String { get }
    /// Parses one line (without its line terminator). `number` is 1-based.
    mutating func read(line: UnsafeRawBufferPointer, number: Int) -> LineOutcome
    /// Called once after the last line: outcomes of records held until the end (a CSV's
    /// `with_mirrors`/`without_mirrors` pairs). Most readers hold none.
    mutating func finish() -> [LineOutcome]
}

extension LineReader {
    public mutating func finish() -> [LineOutcome] { [] }
}
