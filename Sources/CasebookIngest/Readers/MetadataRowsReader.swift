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
public struct MetadataRowsReader {
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
        var current: CatalogProject?
        var lineNumber = 0
        var pending: [UInt8] = []
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        func handle(_ line: ArraySlice<UInt8>) throws {
            lineNumber += 1
            var text = String(decoding: line, as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return }
            let row: Row
            do {
                if isJSON == nil { isJSON = text.first == "{" }
                if isJSON == true {
                    row = try Self.parseJSON(text)
                } else if let h = header {
                    row = try Self.parseCSV(text, header: h, line: lineNumber)
                } else {
                    header = try Self.parseHeader(text)
                    return
                }
            } catch {
                problems.append(MetadataRowProblem(path: path, line: lineNumber, reason: error.description))
                return
            }
            rows += 1
            let project = row.project
            if let c = current, c.name == project.name {
                current = c.merging(project)
            } else {
                if let c = current { batch.append(c) }
                current = project
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
        if let c = current { batch.append(c) }
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

        var project: CatalogProject {
            CatalogProject(
                name: name, displayName: name, latestVersion: nil, lastSerial: nil,
                files: [version: file.map { [$0] } ?? []],
                metadata: [version: ReleaseMetadata(requiresDist: requiresDist, requiresPython: requiresPython, source: .metadataRow)])
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

    static func parseJSON(_ text: String) throws(RowError) -> Row {
        guard let data = text.data(using: .utf8), let any = try? JSONSerialization.jsonObject(with: data), let o = any as? [String: Any]
        else {
            throw RowError("expected one JSON object per line, found text that is not JSON: `\(text.prefix(80))`")
        }
        func string(_ key: String) throws(RowError) -> String? {
            switch o[key] {
            case nil, is NSNull: return nil
            case let s as String: return s
            case let n as NSNumber: return n.stringValue
            case let other?: throw RowError("`\(key)`: expected a string, found \(type(of: other))")
            }
        }
        let requiresDist: [String]?
        switch o["requires_dist"] {
        case nil, is NSNull: requiresDist = nil
        case let a as [Any]:
            requiresDist = try a.map { (x: Any) throws(RowError) -> String in
                guard let s = x as? String else { throw RowError("`requires_dist`: expected a list of strings, found an item \(x)") }
                return s
            }
        case let s as String: requiresDist = try parseList(s)
        case let other?: throw RowError("`requires_dist`: expected a list of strings or null, found \(type(of: other))")
        }
        let yanked = (o["yanked"] as? Bool) ?? ((o["yanked"] as? NSNumber)?.boolValue ?? false)
        return try makeRow(
            name: try string("name"), version: try string("version"), requiresDist: requiresDist,
            requiresPython: try string("requires_python"), uploadTime: try string("upload_time"), filename: try string("filename"),
            packagetype: try string("packagetype"), pythonVersion: try string("python_version"), yanked: yanked)
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
