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
