import CasebookCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What one look at the followed files read.
public struct FollowPass: Sendable {
    /// One entry per transaction that read something: the path and what it stored.
    public var ingests: [FollowedIngest] = []
    /// Things worth telling the operator (a rotation, a truncation), one sentence each.
    public var notes: [String] = []
    /// Files that could not be read this time (they are tried again), one sentence each.
    public var errors: [String] = []
    /// A file has more to read than one transaction took (see ``FileFollower/transactionsPerLook``).
    public var moreToRead = false

    public init() {}

    /// Lines read and downloads stored in this pass.
    public var lines: Int64 { ingests.reduce(0) { $0 + $1.summary.linesRead } }
    public var downloads: Int64 { ingests.reduce(0) { $0 + $1.summary.downloads } }
    /// The latest download time read in this pass.
    public var lastEvent: Int64? { ingests.compactMap(\.summary.lastEvent).max() }
}

/// One transaction of a followed file.
public struct FollowedIngest: Sendable {
    public var path: String
    public var summary: IngestSummary
}

/// Follows growing log files like a log shipper, through the ``Ingestor``: each look reads each
/// file's new complete lines in small transactions that also record the file in the store's
/// registry (``WatchedFile``: identity, head fingerprint, committed offset).
///
/// - A file that grew: its new complete lines (a last line without its newline waits).
/// - Rotation by rename: the old file keeps its identity; it is found again in its folder by
///   device and inode and read to its end, and the new file at the old name starts at 0.
/// - copytruncate: the same identity, but shorter than what was read or with other first bytes:
///   read from the start (as a new source).
/// - A compressed rotated file (`access.log.1.gz`) whose content was already read is recognised
///   by its content, recorded as finished and not read again.
/// - New files matching a glob pattern are picked up.
public final class FileFollower {
    /// The paths and glob patterns followed.
    public let patterns: [String]
    private let registry: any WatchRegistry
    private let ingestor: Ingestor
    /// New bytes read per transaction at most (about; it ends at a line end).
    public var maxBytes: Int64
    /// Transactions per file and look at most (nil: read each file to its end): a watcher that
    /// acts on what it read looks again at once when ``FollowPass/moreToRead`` says so.
    public var transactionsPerLook: Int?
    /// Asked between transactions: true ends the look early (after a committed transaction).
    public var shouldStop: () -> Bool = { false }
    /// A rotated file (out of the patterns' reach) unwritten for this long is finished: it is
    /// no longer looked for.
    static let rotatedQuietSeconds: Double = 300
    /// The last error reported per path, so that an unreadable file is reported once per state.
    private var reported: [String: String] = [:]

    public init(patterns: [String], registry: any WatchRegistry, options: IngestOptions, maxBytes: Int64 = 4 << 20) throws {
        self.patterns = patterns
        self.registry = registry
        self.ingestor = try Ingestor(target: registry, options: options)
        self.maxBytes = maxBytes
    }

    /// For crash tests: called after each line read, inside the transaction.
    public var afterLine: ((Int64) throws -> Void)? {
        get { ingestor.afterLine }
        set { ingestor.afterLine = newValue }
    }

    /// A file as the file system describes it now.
    struct Status {
        var identity: FileIdentity
        var size: Int64
        var modified: Int64
    }

    /// The status of a regular file, nil for anything else or a missing file.
    static func status(_ path: String) -> Status? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        #if canImport(Darwin)
            let modified = Int64(st.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st.st_mtimespec.tv_nsec)
        #else
            let modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        #endif
        return Status(
            identity: FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)), size: Int64(st.st_size), modified: modified)
    }

    /// The files a pattern names now: a glob's matches, or the path itself when it has no glob
    /// characters (a file that does not exist yet matches nothing until it appears).
    static func expand(_ pattern: String) -> [String] {
        guard pattern.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) else { return [pattern] }
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { i in g.gl_pathv[i].map { String(cString: $0) } }
    }

    /// SHA-256 (hex) of a file's first `min(4096, bytes)` decompressed bytes, nil when unreadable.
    static func headHash(_ path: String, upTo bytes: Int64) -> String? {
        guard let file = try? InputFile(path: path), let head = try? file.readBytes(Int(min(bytes, Int64(Ingestor.headBytes)))) else {
            return nil
        }
        return SHA256.hash(head).hexString
    }

    static func isCompressed(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let magic = h.readData(ofLength: 2)
        return magic == Data([0x1f, 0x8b])
    }

    /// Looks at every followed file once and reads what is new, oldest file first.
    public func poll() -> FollowPass {
        var pass = FollowPass()
        let known: [FileIdentity: WatchedFile]
        do {
            known = Dictionary(try registry.watchedFiles().map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            pass.errors.append("cannot read the registry of followed files: \(error)")
            return pass
        }
        var seen: [FileIdentity: (path: String, status: Status)] = [:]
        var order: [FileIdentity] = []
        for pattern in patterns {
            for path in Self.expand(pattern) {
                guard let st = Self.status(path), seen[st.identity] == nil else { continue }
                seen[st.identity] = (path, st)
                order.append(st.identity)
            }
        }
        // Rotated by rename out of the patterns' reach: find the file by its identity in its
        // folder and read its last lines before the new file's first ones.
        for row in known.values.sorted(by: { $0.path < $1.path }) where !row.finished && seen[row.identity] == nil {
            if shouldStop() { return pass }
            if let moved = Self.find(row.identity, near: row.path), Self.headHash(moved.path, upTo: row.offset) == row.headHash {
                if moved.status.size != row.size || moved.status.modified != row.modified {
                    if moved.path != row.path {
                        pass.notes.append(
                            "\(InputText.escaped(row.path)) was rotated to \(InputText.escaped(moved.path)): reading its last lines")
                    }
                    read(path: moved.path, status: moved.status, known: row, into: &pass)
                } else if Date().timeIntervalSince1970 - Double(moved.status.modified) / 1e9 > Self.rotatedQuietSeconds {
                    // Rotated away and unwritten for a while: its writer has moved to the new file.
                    var finished = row
                    finished.path = moved.path
                    finished.finished = true
                    try? registry.recordWatchedFile(finished)
                }
            } else {
                // Gone (deleted, or compressed into a new file): nothing more can come from it.
                var finished = row
                finished.finished = true
                do { try registry.recordWatchedFile(finished) } catch {
                    pass.errors.append("cannot update the registry for \(InputText.escaped(row.path)): \(error)")
                }
            }
        }
        order.sort { (seen[$0]!.status.modified, seen[$0]!.path) < (seen[$1]!.status.modified, seen[$1]!.path) }
        for identity in order {
            if shouldStop() { return pass }
            let (path, st) = seen[identity]!
            read(path: path, status: st, known: known[identity], into: &pass)
        }
        return pass
    }

    /// Finds the file with `identity` in the folder of `path` (where a rotated log is renamed to).
    static func find(_ identity: FileIdentity, near path: String) -> (path: String, status: Status)? {
        if let st = status(path), st.identity == identity { return (path, st) }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return nil }
        for name in names.sorted() {
            let candidate = dir.appendingPathComponent(name).path
            if let st = status(candidate), st.identity == identity { return (candidate, st) }
        }
        return nil
    }

    /// Reads one file's new complete lines, in transactions of about ``maxBytes``.
    private func read(path: String, status st: Status, known: WatchedFile?, into pass: inout FollowPass) {
        if let known, known.size == st.size, known.modified == st.modified {
            // Nothing changed (a rename alone only moves the path).
            if known.path != path {
                var moved = known
                moved.path = path
                try? registry.recordWatchedFile(moved)
            }
            return
        }
        let compressed = Self.isCompressed(path)
        if let known, known.offset > 0, !compressed,
            st.size < known.offset || Self.headHash(path, upTo: known.offset) != known.headHash
        {
            pass.notes.append(
                "\(InputText.escaped(path)) has other content than was read from it (truncated in place by copytruncate, or a new file): reading it from the start"
            )
        }
        var row = WatchedFile(
            device: st.identity.device, inode: st.identity.inode, path: path, size: st.size, modified: st.modified,
            finished: compressed)
        var transactions = 0
        while true {
            let summary: IngestSummary
            do {
                summary = try ingestor.ingest(path: path, follow: FollowOptions(maxBytes: maxBytes, watch: row))
            } catch {
                let message = "\(error)"
                if reported[path] != message {
                    reported[path] = message
                    pass.errors.append(message)
                }
                return
            }
            reported[path] = nil
            if summary.empty {
                // No complete line yet: remember the size so that the file is read when it changes.
                row.offset = 0
                try? registry.recordWatchedFile(row)
                return
            }
            if summary.linesRead > 0 { pass.ingests.append(FollowedIngest(path: path, summary: summary)) }
            transactions += 1
            if !summary.moreToRead || shouldStop() { return }
            if let most = transactionsPerLook, transactions >= most {
                pass.moreToRead = true
                return
            }
            row.sourceID = nil
        }
    }
}
