import CZlib
import Foundation

/// Errors reading an input file.
public struct InputError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A plain or gzip-compressed file read as a stream of decompressed bytes, in large chunks.
///
/// zlib's `gzread` reads both (a plain file passes through), including concatenated gzip members.
final class InputFile: @unchecked Sendable {
    let path: String
    private let file: gzFile
    private(set) var offset: Int64 = 0

    init(path: String) throws {
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw InputError("\(path): no such file")
        }
        guard !isDir.boolValue else { throw InputError("\(path): is a folder, expected a log file") }
        guard let f = gzopen(path, "rb") else { throw InputError("\(path): cannot open (\(String(cString: strerror(errno))))") }
        file = f
        gzbuffer(file, 1 << 18)
    }

    deinit { gzclose(file) }

    /// Reads up to `count` bytes into `buffer` (at `at`), returning how many were read (0 at end).
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        let n = gzread(file, buffer, UInt32(count))
        if n < 0 {
            var errnum: Int32 = 0
            let msg = gzerror(file, &errnum).map { String(cString: $0) } ?? "read error"
            throw InputError("\(path): cannot read at byte \(offset): \(msg) (is the gzip file truncated or corrupt?)")
        }
        if n == 0 {
            // gzread reports a stream cut short as a quiet end; gzerror tells it apart.
            var errnum: Int32 = 0
            _ = gzerror(file, &errnum)
            if errnum == Z_BUF_ERROR {
                throw InputError(
                    "\(path): the compressed data ends early, after \(offset) bytes of text (is the gzip file truncated, or still being written?)"
                )
            }
        }
        offset += Int64(n)
        return Int(n)
    }

    /// Reads exactly up to `count` bytes from the current position (fewer only at end).
    func readBytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        try out.withUnsafeMutableBytes { raw in
            while got < count {
                let n = try read(into: raw.baseAddress! + got, count: count - got)
                if n == 0 { break }
                got += n
            }
        }
        out.removeLast(count - got)
        return out
    }

    /// Moves to an absolute offset of the decompressed stream (forward seeks decompress).
    func seek(to target: Int64) throws {
        if gzseek(file, off_t(target), SEEK_SET) < 0 { throw InputError("\(path): cannot seek to byte \(target)") }
        offset = target
    }
}

extension InputFile {
    /// Whether the file is gzip-compressed (known once something was read).
    var isCompressed: Bool { gzdirect(file) == 0 }
}

/// Something the reading thread takes decompressed bytes from.
protocol ByteSource: AnyObject {
    /// Reads up to `count` bytes into `buffer`, returning how many were read (0 at the end).
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int
}

extension InputFile: ByteSource {}

/// Decompresses a gzip file on a thread of its own, a few chunks ahead of the reader.
///
/// Inflating costs about as much as parsing the lines it yields; on the reading thread it made
/// that thread the ingest's bottleneck for `.gz` logs, while the cores were not both busy.
/// A third thread lets the system share two cores among inflating, parsing and writing.
final class ReadAhead: ByteSource, @unchecked Sendable {
    private let file: InputFile
    private let chunkSize: Int
    private let depth: Int
    private let condition = NSCondition()
    private var ready: [[UInt8]] = []
    private var atEnd = false
    private var failure: (any Error)?
    private var stopping = false
    private var running = true
    private var current: [UInt8] = []
    private var position = 0

    /// Starts reading `file` from its current position in chunks of `chunkSize` bytes, holding
    /// at most `depth` chunks.
    init(file: InputFile, chunkSize: Int, depth: Int = 4) {
        self.file = file
        self.chunkSize = chunkSize
        self.depth = depth
        let thread = Thread { [self] in fill() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func fill() {
        defer {
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            while ready.count >= depth && !stopping { condition.wait() }
            let stop = stopping
            condition.unlock()
            if stop { return }
            var chunk = [UInt8](repeating: 0, count: chunkSize)
            let n: Int
            do {
                n = try chunk.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: chunkSize) }
            } catch {
                condition.lock()
                failure = error
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.lock()
            if n == 0 {
                atEnd = true
            } else {
                chunk.removeLast(chunkSize - n)
                ready.append(chunk)
            }
            condition.broadcast()
            condition.unlock()
            if n == 0 { return }
        }
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        if position == current.count {
            condition.lock()
            while ready.isEmpty && !atEnd && failure == nil { condition.wait() }
            if ready.isEmpty {
                let error = failure
                condition.unlock()
                if let error { throw error }
                return 0
            }
            current = ready.removeFirst()
            position = 0
            condition.broadcast()
            condition.unlock()
        }
        let n = min(count, current.count - position)
        current.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
        position += n
        return n
    }

    /// Stops the thread and waits for it, so that the file can be used again.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }
}
