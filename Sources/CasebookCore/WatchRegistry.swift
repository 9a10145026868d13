import Foundation

/// A followed log file as `casebook watch` remembers it in the store: its identity (device and
/// inode, and the fingerprint of its first bytes) and how far it has been read.
///
/// A row is written in the same transaction as the events read from the file (see
/// ``IngestPlan/watch``), so after a restart, even after `kill -9`, the watcher resumes exactly
/// where the last committed transaction ended: no line is lost and none is counted twice.
public struct WatchedFile: Sendable, Hashable, Codable {
    /// The file system's identity of the file (stable across a rename, as in log rotation).
    public var device: UInt64
    public var inode: UInt64
    /// The path the file was last seen at (a rotated file keeps its identity, not its name).
    public var path: String
    /// SHA-256 (hex) of the first up to 4096 bytes read (see ``SourceRecord/headHash``): a file
    /// truncated and rewritten in place (copytruncate), or a new file that reuses an inode, has
    /// other first bytes.
    public var headHash: String
    /// Decompressed bytes consumed: always the end of a complete line (a last line without its
    /// newline yet is left for the next read).
    public var offset: Int64
    /// The file's size and modification time (nanoseconds since 1970) when it was last read: a
    /// file whose identity, size and time are unchanged has nothing new.
    public var size: Int64
    public var modified: Int64
    /// The source its lines went to.
    public var sourceID: Int64?
    /// Whether the file is done with: a rotated file that can no longer be found by its identity
    /// (deleted or compressed), or a compressed file (which does not grow).
    public var finished: Bool

    public init(
        device: UInt64, inode: UInt64, path: String, headHash: String = "", offset: Int64 = 0, size: Int64 = 0,
        modified: Int64 = 0, sourceID: Int64? = nil, finished: Bool = false
    ) {
        self.device = device
        self.inode = inode
        self.path = path
        self.headHash = headHash
        self.offset = offset
        self.size = size
        self.modified = modified
        self.sourceID = sourceID
        self.finished = finished
    }

    /// The identity that survives a rename.
    public var identity: FileIdentity { FileIdentity(device: device, inode: inode) }
}

/// A file's device and inode.
public struct FileIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
    public var description: String { "\(device):\(inode)" }
}

/// A store that keeps the watcher's registry of followed files.
public protocol WatchRegistry: IngestTarget {
    /// Every followed file the store remembers.
    func watchedFiles() throws -> [WatchedFile]
    /// Records a file's state outside an ingest (a file marked finished, one with nothing to read
    /// yet); inside an ingest, ``IngestPlan/watch`` records it in the same transaction.
    func recordWatchedFile(_ file: WatchedFile) throws
}
