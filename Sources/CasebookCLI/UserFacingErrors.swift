import ArgumentParser
import CasebookCore
import CasebookSQLite
import Foundation

/// Turns errors from Foundation, POSIX and SQLite that reach the person at the command line into
/// sentences (a raw `NSCocoaErrorDomain Code=516` dump tells nobody what to do).
enum UserFacingErrors {
    /// `error` as the command line should show it: argument-parser's own errors and exit codes
    /// pass through; Foundation, POSIX and lock errors become a ``CLIError`` sentence.
    static func translate(_ error: any Error) -> any Error {
        if let sentence = describe(error) { return CLIError(sentence) }
        return error
    }

    /// The credentials in this process's arguments and `CASEBOOK_STORE` (to scrub from any
    /// message, in whatever form it quotes them).
    static func commandLineSecrets() -> [String] {
        let sources = CommandLine.arguments + [ProcessInfo.processInfo.environment["CASEBOOK_STORE"]].compactMap { $0 }
        return sources.flatMap { CredentialRedaction.secrets(in: $0) }
    }

    /// A sentence for a Foundation, POSIX or SQLite-lock error, or `nil` for any other error.
    static func describe(_ error: any Error) -> String? {
        if let lock = SQLiteLocking.describe(error) { return lock }
        if let e = error as? CocoaError {
            let path = e.filePath ?? e.url?.path ?? (e.userInfo[NSFilePathErrorKey] as? String)
            let what = path.map { "cannot access \($0)" } ?? "a file operation failed"
            if let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
                let code = POSIXErrorCode(rawValue: Int32(underlying.code)), let reason = sentence(for: code)
            {
                return "\(path.map { "cannot write or read \($0)" } ?? "a file operation failed"): \(reason)"
            }
            switch e.code {
            case .fileWriteFileExists: return "\(path.map { "cannot write \($0)" } ?? "cannot write"): a file with that name already exists"
            case .fileWriteNoPermission: return "\(path.map { "cannot write \($0)" } ?? "cannot write"): permission denied"
            case .fileWriteOutOfSpace: return "\(path.map { "cannot write \($0)" } ?? "cannot write"): the disk is full"
            case .fileWriteVolumeReadOnly: return "\(path.map { "cannot write \($0)" } ?? "cannot write"): the volume is read-only"
            case .fileWriteInvalidFileName: return "\(path.map { "cannot write \($0)" } ?? "cannot write"): the name is not valid"
            case .fileNoSuchFile, .fileReadNoSuchFile: return "\(what): no such file or folder"
            case .fileReadNoPermission: return "\(path.map { "cannot read \($0)" } ?? "cannot read"): permission denied"
            case .fileReadCorruptFile:
                return "\(path.map { "cannot read \($0)" } ?? "cannot read"): the file is damaged or not in the expected format"
            case .fileReadInapplicableStringEncoding:
                return "\(path.map { "cannot read \($0)" } ?? "cannot read"): it is not valid text (UTF-8 expected)"
            case .fileReadTooLarge: return "\(path.map { "cannot read \($0)" } ?? "cannot read"): the file is too large"
            case .fileLocking: return "\(what): the file is locked by another process"
            default:
                return "\(what): \(e.localizedDescription) (error \(e.code.rawValue))"
            }
        }
        if let e = error as? POSIXError, let reason = sentence(for: e.code) {
            return "a file operation failed: \(reason)"
        }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(ns.code)), let reason = sentence(for: code) {
            let path = ns.userInfo[NSFilePathErrorKey] as? String
            return "\(path.map { "cannot access \($0)" } ?? "a file operation failed"): \(reason)"
        }
        return nil
    }

    static func sentence(for code: POSIXErrorCode) -> String? {
        switch code {
        case .EEXIST: "a file with that name already exists"
        case .ENOENT: "no such file or folder"
        case .EACCES, .EPERM: "permission denied"
        case .ENOTDIR: "a part of the path is a file, not a folder"
        case .EISDIR: "it is a folder, not a file"
        case .ENOSPC: "the disk is full"
        case .EROFS: "the file system is read-only"
        case .ENAMETOOLONG: "the name is too long"
        case .EMFILE, .ENFILE: "too many files are open"
        case .EIO: "an input/output error occurred (a failing disk or network file system?)"
        case .EDQUOT: "the disk quota is exceeded"
        default: nil
        }
    }
}

/// Checks a folder a command will write to, before any work is done.
enum OutputFolder {
    /// Throws a ``CLIError`` naming the option when `path` cannot be a writable folder: it is a
    /// file, it (or the nearest existing folder above it) is not writable, or a part of the
    /// path is a file.
    static func check(_ path: String, option: String = "--out") throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if fm.fileExists(atPath: url.path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw CLIError(
                    "cannot write the report to \(option) \(path): a file with that name already exists (choose another folder, or remove the file)"
                )
            }
            guard access(url.path, W_OK | X_OK) == 0 else {
                throw CLIError("cannot write the report to \(option) \(path): the folder is not writable (permission denied)")
            }
            return
        }
        // The nearest existing ancestor must be a writable folder (the rest is created).
        var ancestor = url.deletingLastPathComponent()
        while ancestor.path != "/" && !fm.fileExists(atPath: ancestor.path, isDirectory: &isDir) {
            ancestor = ancestor.deletingLastPathComponent()
        }
        _ = fm.fileExists(atPath: ancestor.path, isDirectory: &isDir)
        guard isDir.boolValue else {
            throw CLIError("cannot create \(option) \(path): \(ancestor.path) is a file, not a folder")
        }
        guard access(ancestor.path, W_OK | X_OK) == 0 else {
            throw CLIError("cannot create \(option) \(path): the folder \(ancestor.path) is not writable (permission denied)")
        }
    }
}
