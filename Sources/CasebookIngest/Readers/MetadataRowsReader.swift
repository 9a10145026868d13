import CasebookCatalog
import CasebookCore
import Foundation

/// A line of a metadata-rows file that could not be read, and why.
public struct MetadataRowProblem: Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var reason: String
    public var description: String { "\(path):\(line): \(reason)" }
}

/// Reads package metadata shipped as one row per distribution file, the shape of PyPI's
/// public `distribution_metadata` table and of ClickPy's `pypi.projects`: `name`, `version`,
/// `requires_dist` (a list, or null when unknown), `requires_python`, `upload_time`,
/// `filename`, `packagetype`, and optionally `python_version`, `yanked`.
///
/// Two encodings: NDJSON (one JSON object per line, `requires_dist` a JSON array), and CSV
/// with a header naming those columns (`requires_dist` as a JSON array, or ClickHouse's
/// `['a', 'b']`). Plain or gzip. A row that cannot be read is counted and kept with its line
/// and reason; the rest are read. Rows are grouped into projects (consecutive rows of the
/// same project become one ``CatalogProject``) and handed over in batches.
public struct MetadataRowsReader: Sendable {
    public var path: String
    /// Projects per batch handed to `body`.
    public var batchSize = 2000

    public init(path: String) { self.path = path }

    /// Reads every row; returns the number of rows read and the problems.
    public func read(_ body: ([CatalogProject]) throws -> Void) throws -> (rows: Int, problems: [MetadataRowProblem]) {
        let file = try InputFile(path: path)
        var problems: [MetadataRowProblem] = []
        var rows = 0
        var header: [String]?
        var isJSON: Bool?
        var batch: [CatalogProject] = []
        var current: ProjectRows?
        var lineNumber = 0
        var pending: [UInt8] = []
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        func handle(_ raw: ArraySlice<UInt8>) throws {
            lineNumber += 1
            let line = raw.last == 13 ? raw.dropLast() : raw
            guard line.contains(where: { $0 != 32 && $0 != 9 }) else { return }
            let row: Row
            do throws(RowError) {
                if isJSON == nil { isJSON = line.first(where: { $0 != 32 && $0 != 9 }) == UInt8(ascii: "{") }
                if isJSON == true {
                    row = try line.withUnsafeBytes { bytes in Swift.Result { () throws(RowError) in try Self.parseJSON(bytes) } }.get()
                } else if let h = header {
                    row = try Self.parseCSV(String(decoding: line, as: UTF8.self), header: h, line: lineNumber)
                } else {
                    header = try Self.parseHeader(String(decoding: line, as: UTF8.self))
                    return
                }
            } catch {
                problems.append(MetadataRowProblem(path: path, line: lineNumber, reason: error.description))
                return
            }
            rows += 1
            let name = ProjectName.normalize(row.name)
            if current?.name == name {
                current?.add(row)
            } else {
                if let c = current { batch.append(c.project) }
                current = ProjectRows(name: name, first: row)
                if batch.count >= batchSize {
                    try body(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
        while true {
            let n = try buffer.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: chunk) }
            if n == 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == 10 {
                if pending.isEmpty {
                    try handle(buffer[start..<i])
                } else {
                    pending.append(contentsOf: buffer[start..<i])
                    try handle(pending[...])
                    pending.removeAll(keepingCapacity: true)
                }
                start = i + 1
            }
            pending.append(contentsOf: buffer[start..<n])
        }
        if !pending.isEmpty { try handle(pending[...]) }
        if let c = current { batch.append(c.project) }
        if !batch.isEmpty { try body(batch) }
        return (rows, problems)
    }

    /// One row: one file of one release.
    struct Row {
        var name: String
        var version: String
        var requiresDist: [String]?
        var requiresPython: String?
        var file: ReleaseFile?
    }

    /// One project's rows as they arrive (a project's rows are contiguous in an export):
    /// files by file name and metadata by version, a later row winning, gathered once into a
    /// ``CatalogProject`` at the project's last row.
    struct ProjectRows {
        let name: String
        var displayName: String
        var files: [String: [String: ReleaseFile]] = [:]
        var metadata: [String: ReleaseMetadata] = [:]
        /// The version text first seen for each PEP 440 version (`1.0` and `1.0.0` are one release).
        var keys: [Version: String] = [:]

        init(name: String, first: Row) {
            self.name = name
            displayName = first.name
            add(first)
        }

        mutating func add(_ row: Row) {
            var key = row.version
            if files[key] == nil, let v = Version.parse(row.version) {
                if let k = keys[v] { key = k } else { keys[v] = key }
            }
            var byName = files[key] ?? [:]
            if let f = row.file { byName[f.filename] = f }
            files[key] = byName
            metadata[key] = ReleaseMetadata(requiresDist: row.requiresDist, requiresPython: row.requiresPython, source: .metadataRow)
        }

        var project: CatalogProject {
            CatalogProject(
                name: name, displayName: displayName, latestVersion: nil, lastSerial: nil,
                files: files.mapValues { $0.values.sorted { $0.filename < $1.filename } }, metadata: metadata)
        }
    }

    struct RowError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static let columns = [
        "name", "version", "requires_dist", "requires_python", "upload_time", "filename", "packagetype", "python_version", "yanked"
    ]

    static func parseHeader(_ text: String) throws(RowError) -> [String] {
        let fields: [String]
        do { fields = try CountsCSVReader.split(text, line: 1).map { $0.lowercased() } } catch { throw RowError("\(error)") }
        for required in ["name", "version", "requires_dist"] where !fields.contains(required) {
            throw RowError(
                "expected a header naming the columns (\(columns.joined(separator: ", "))) or a JSON object per line, found no `\(required)` column in `\(text.prefix(120))`"
            )
        }
        return fields
    }

    static func parseCSV(_ text: String, header: [String], line: Int) throws(RowError) -> Row {
        let fields: [String]
        do { fields = try CountsCSVReader.split(text, line: line) } catch { throw RowError("\(error)") }
        guard fields.count == header.count else {
            throw RowError("expected \(header.count) fields as in the header, found \(fields.count)")
        }
        var values: [String: String] = [:]
        for (h, f) in zip(header, fields) { values[h] = f }
        let rd = values["requires_dist"] ?? ""
        let requiresDist: [String]?
        if rd.isEmpty || rd == "\\N" || rd.lowercased() == "null" {
            requiresDist = nil
        } else {
            requiresDist = try parseList(rd)
        }
        return try makeRow(
            name: values["name"], version: values["version"], requiresDist: requiresDist, requiresPython: values["requires_python"],
            uploadTime: values["upload_time"], filename: values["filename"], packagetype: values["packagetype"],
            pythonVersion: values["python_version"], yanked: values["yanked"].map { ["1", "true", "True"].contains($0) } ?? false)
    }

    /// A list as JSON (`["a", "b"]`) or as ClickHouse writes an array (`['a','b']`).
    static func parseList(_ text: String) throws(RowError) -> [String] {
        if let data = text.data(using: .utf8), let list = try? JSONSerialization.jsonObject(with: data) as? [String] { return list }
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("["), t.hasSuffix("]") else {
            throw RowError("requires_dist: expected a list like [\"a>=1\"], found `\(text.prefix(80))`")
        }
        var out: [String] = []
        var i = t.index(after: t.startIndex)
        let end = t.index(before: t.endIndex)
        while i < end {
            let c = t[i]
            if c == "'" || c == "\"" {
                var item = ""
                var j = t.index(after: i)
                while j < end, t[j] != c {
                    if t[j] == "\\", t.index(after: j) < end { j = t.index(after: j) }
                    item.append(t[j])
                    j = t.index(after: j)
                }
                guard j < end else { throw RowError("requires_dist: a quoted item is not closed in `\(text.prefix(80))`") }
                out.append(item)
                i = t.index(after: j)
            } else if c == "," || c == " " {
                i = t.index(after: i)
            } else {
                throw RowError("requires_dist: expected quoted items, found `\(t[i...].prefix(20))`")
            }
        }
        return out
    }

    static func parseJSON(_ line: UnsafeRawBufferPointer) throws(RowError) -> Row {
        var c = JSONCursor(bytes: line)
        c.skipWhitespace()
        guard c.peek == UInt8(ascii: "{") else {
            throw RowError("expected one JSON object per line, found \(c.describeToken())")
        }
        var fields: [String: String] = [:]
        var requiresDist: [String]?
        var yanked = false
        do {
            try c.object(path: "") { c, key in
                let name = key.text
                switch name {
                case "requires_dist":
                    requiresDist = try Self.readList(&c)
                case "yanked":
                    yanked = try Self.readFlag(&c)
                case "name", "version", "requires_python", "upload_time", "filename", "packagetype", "python_version":
                    fields[name] = try Self.readScalar(&c, field: name)
                default:
                    try c.skipValue()
                }
            }
            c.skipWhitespace()
            guard c.atEnd else { throw c.syntaxError("the end of the line after the object") }
        } catch let e as RowError {
            throw e
        } catch {
            throw RowError("\(error)")
        }
        return try makeRow(
            name: fields["name"], version: fields["version"], requiresDist: requiresDist, requiresPython: fields["requires_python"],
            uploadTime: fields["upload_time"], filename: fields["filename"], packagetype: fields["packagetype"],
            pythonVersion: fields["python_version"], yanked: yanked)
    }

    /// A string, a number (as its text) or null.
    static func readScalar(_ c: inout JSONCursor, field: String) throws -> String? {
        switch c.peek {
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try c.numberText()
        default: return try c.stringOrNull(path: field)
        }
    }

    /// `requires_dist`: a list of strings, null, or a list written as a string (`"['a', 'b']"`).
    static func readList(_ c: inout JSONCursor) throws -> [String]? {
        switch c.peek {
        case UInt8(ascii: "["):
            c.position += 1
            var out: [String] = []
            c.skipWhitespace()
            if c.peek == UInt8(ascii: "]") {
                c.position += 1
                return out
            }
            while true {
                c.skipWhitespace()
                guard c.peek == UInt8(ascii: "\"") else {
                    throw RowError("`requires_dist`: expected a list of strings, found an item \(c.describeToken())")
                }
                out.append(try c.string())
                c.skipWhitespace()
                if c.peek == UInt8(ascii: ",") {
                    c.position += 1
                } else if c.peek == UInt8(ascii: "]") {
                    c.position += 1
                    return out
                } else {
                    throw c.syntaxError("',' or ']' in the `requires_dist` list")
                }
            }
        case UInt8(ascii: "\""):
            return try parseList(try c.string())
        case UInt8(ascii: "n"):
            let found = c.describeToken()
            if try c.literal() == nil { return nil }
            throw RowError("`requires_dist`: expected a list of strings or null, found \(found)")
        default:
            throw RowError("`requires_dist`: expected a list of strings or null, found \(c.describeToken())")
        }
    }

    /// `yanked`: true/false, 1/0, or null (not yanked).
    static func readFlag(_ c: inout JSONCursor) throws -> Bool {
        switch c.peek {
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return (Double(try c.numberText()) ?? 0) != 0
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): return try c.literal() ?? false
        default: throw RowError("`yanked`: expected true, false or null, found \(c.describeToken())")
        }
    }

    static func makeRow(
        name: String?, version: String?, requiresDist: [String]?, requiresPython: String?, uploadTime: String?, filename: String?,
        packagetype: String?, pythonVersion: String?, yanked: Bool
    ) throws(RowError) -> Row {
        guard let name, !name.isEmpty else { throw RowError("`name`: expected a project name, found nothing") }
        guard let version, !version.isEmpty else { throw RowError("`version`: expected a version, found nothing") }
        var time: Int64?
        if let u = uploadTime, !u.isEmpty {
            if let t = UTCTime.parse(u) {
                time = t
            } else if let n = Int64(u) {
                time = n
            } else if let d = Double(u) {
                time = Int64(d)
            } else {
                throw RowError("`upload_time`: expected an ISO 8601 time or epoch seconds, found `\(u.prefix(40))`")
            }
        }
        let file = filename.flatMap { f -> ReleaseFile? in
            guard !f.isEmpty else { return nil }
            let type = packagetype.flatMap { $0.isEmpty ? nil : $0 } ?? (f.hasSuffix(".whl") ? "bdist_wheel" : "sdist")
            return ReleaseFile(
                filename: f, packageType: type, pythonVersion: pythonVersion, uploadTime: time, yanked: yanked,
                requiresPython: requiresPython.flatMap { $0.isEmpty ? nil : $0 })
        }
        return Row(
            name: name, version: version, requiresDist: requiresDist, requiresPython: requiresPython.flatMap { $0.isEmpty ? nil : $0 },
            file: file)
    }
}
