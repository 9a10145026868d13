import CasebookCore

/// Reads a CSV of pre-aggregated download counts, as pypistats or a spreadsheet gives them:
/// a header line, then one row per (time, dimension values) with a count.
///
/// Columns (names compared case-insensitively, `-` read as `_`, surrounding spaces ignored):
/// - time: `timestamp` or `date` (or `timeColumn`), ISO 8601 as ``UTCTime/parse(_:)`` reads it
///   (`2020-03-05`, `2020-03-05T14:00:00Z`, `2020-03-05 14:00:00 UTC`...).
/// - count: `count`, `downloads` or `download_count` (pypinfo's name), or `countColumn`:
///   a whole number, 0 or more (`1234`, `+1234` and `1234.0` are accepted; `1.5`, `-3`,
///   `1,234` are not). A zero count gives `.skip`: it stands for no download.
/// - every other column named like a ``Dimension`` is that dimension: `project` (normalized,
///   the written name kept as `projectDisplay`), `python`/`python_minor`/`python_major`
///   (all set `python`; the most precise present wins, so `2` gives `python_major` 2),
///   `ci` (`true`/`false`/`1`/`0`), `country`, `index` (overrides the reader's `index`),
///   `client` (see below) and the rest by name. `dimensionColumns` maps other names to
///   dimensions: pypistats calls its grouped column `category`, so
///   `dimensionColumns: ["category": .pythonMajor]` reads a `pypistats python_major` export.
/// - `category` (pypistats' grouped column), when not mapped: rows whose category is
///   `with_mirrors` or `without_mirrors` (`pypistats overall`) overlap, so they are never both
///   summed: per time and other values, the `without_mirrors` count is stored as direct
///   downloads and the difference (`with_mirrors` − `without_mirrors`) as downloads with
///   installer `bandersnatch` (mirror clients), when ``finish()`` is called at the end of the
///   input. A row with only one of the two is stored as it is, and a warning says so. `Total`
///   rows (a sum of the others) are skipped with a warning. Other category values are ignored
///   like any unknown column.
/// - `project`: with the reader's `project` set (`ingest --project NAME`), every row gets that
///   project, and a file with a `project` column is rejected at its header.
/// - any other column is ignored and listed once in ``warnings``.
///
/// Values: surrounding spaces are trimmed; an empty cell, and `null` in any column except
/// `project`, `version` and `filename`, is unknown (pypistats writes `null`).
///
/// Client keys: a `client` value already in key form (`c-` and 16 hex digits) is kept. Any
/// other value may be a raw address: with a `clientKeyer` it is replaced by its key, without
/// one it is dropped (and a warning says so). A malformed row's kept line has its client cell
/// replaced the same way, so raw addresses never reach the store.
///
/// Quoting follows RFC 4180: a field in double quotes may hold commas, and `""` stands for a
/// quote. The reader is line-based, so a quoted field cannot span lines: such a row is
/// reported as malformed. The first non-blank line is the header (`.skip`); if it lacks a
/// time or a count column, it and every later line are malformed, each naming the columns
/// expected and found.
public struct CountsCSVReader: LineReader, Sendable {
    public var formatName: String { "csv" }

    /// The index assigned to rows without an `index` column value.
    public let index: String?
    /// Time column name to use instead of `timestamp`/`date`.
    public let timeColumn: String?
    /// Count column name to use instead of `count`/`downloads`/`download_count`.
    public let countColumn: String?
    /// Extra column-name → dimension mappings (names normalized like headers).
    public let dimensionColumns: [String: Dimension]
    public let clientKeyer: ClientKeyer?
    /// The project of every row, for files without a `project` column (display name as given).
    public let project: String?

    /// Things worth telling the user that do not reject a line (ignored columns, dropped client
    /// values), each reported once.
    public private(set) var warnings: [CountsCSVWarning] = []

    private var layout: Layout?
    private var headerError: CountsCSVError?
    private var droppedClientValues = false
    private var headerNamesClient = false
    private var headerLine = 1
    private var warnedCategoryIgnored = false
    /// Mirror-split rows waiting for their counterpart, by time and other values, in order.
    private var mirrorRows: [String: MirrorRow] = [:]
    private var mirrorOrder: [String] = []
    private var totalRows: (count: Int, first: Int)?

    struct MirrorRow: Sendable {
        var event: DownloadEvent
        var withMirrors: Int64?
        var withoutMirrors: Int64?
        var line: Int
    }

    public init(
        index: String? = nil, timeColumn: String? = nil, countColumn: String? = nil,
        dimensionColumns: [String: Dimension] = [:], clientKeyer: ClientKeyer? = nil, project: String? = nil
    ) {
        self.project = project
        self.index = index
        self.timeColumn = timeColumn
        self.countColumn = countColumn
        self.dimensionColumns = Dictionary(
            dimensionColumns.map { (Self.normalizeName($0.key), $0.value) },
            uniquingKeysWith: { a, _ in a })
        self.clientKeyer = clientKeyer
    }

    /// The resolved column layout, once the header has been read.
    struct Layout: Sendable {
        var names: [String]
        var time: Int
        var count: Int
        var dimensions: [(column: Int, dimension: Dimension)]
        var client: Int?
        /// pypistats' `category` column, when not mapped to a dimension.
        var category: Int?
    }

    public mutating func read(line raw: UnsafeRawBufferPointer, number: Int) -> LineOutcome {
        var bytes = raw
        if number == 1, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            bytes = UnsafeRawBufferPointer(rebasing: bytes[3...])
        }
        if let last = bytes.last, last == 0x0D { bytes = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - 1)]) }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.allSatisfy({ $0 == " " || $0 == "\t" }) { return .skip }

        if let headerError {
            let kept = headerNamesClient ? "[line withheld: the header names a client column but is not usable]" : text
            return .malformed(reason: "no usable header (line \(headerError.line ?? 1)): \(headerError)", redactedLine: kept)
        }
        guard let layout else {
            do {
                self.layout = try readHeader(text, number: number)
                return .skip
            } catch {
                headerError = error
                headerNamesClient = ((try? Self.split(text, line: number)) ?? [text]).contains {
                    let n = Self.normalizeName($0)
                    return (dimensionColumns[n] ?? Dimension(rawValue: n)) == .client || n.contains("client")
                }
                return .malformed(reason: error.description, redactedLine: text)
            }
        }

        let fields: [String]
        do {
            fields = try Self.split(text, line: number)
        } catch {
            let kept = layout.client == nil ? text : "[line withheld: it has a client column but could not be split into fields]"
            return .malformed(reason: error.description, redactedLine: kept)
        }
        do {
            guard let event = try makeEvent(fields, layout: layout, line: number) else { return .skip }
            return .download(event)
        } catch {
            return .malformed(reason: error.description, redactedLine: redact(fields, layout: layout))
        }
    }

    // MARK: Header

    /// Checks a header line (as read, with any BOM and CR) without reading it into this reader:
    /// the ingest fails a file whose header is unusable before storing anything.
    public func checkHeader(line: [UInt8], number: Int) throws(CountsCSVError) {
        var copy = self
        var bytes = line[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        _ = try copy.readHeader(String(decoding: bytes, as: UTF8.self), number: number)
    }

    static func normalizeName(_ s: String) -> String {
        s.trimmingSpaces.lowercased().replacingOccurrences(of: "-", with: "_")
    }

    private mutating func readHeader(_ text: String, number: Int) throws(CountsCSVError) -> Layout {
        let raw = try Self.split(text, line: number)
        let names = raw.map(Self.normalizeName)
        let shown = raw.map { $0.trimmingSpaces }.joined(separator: ", ")
        var seen: [String: Int] = [:]
        for (i, n) in names.enumerated() where !n.isEmpty {
            if let j = seen[n] {
                throw CountsCSVError(
                    line: number, column: n,
                    expected: "each column named once",
                    found: "`\(n)` as columns \(j + 1) and \(i + 1)")
            }
            seen[n] = i
        }
        func find(_ override: String?, _ defaults: [String]) -> Int? {
            if let override { return seen[Self.normalizeName(override)] }
            return defaults.lazy.compactMap { seen[$0] }.first
        }
        let timeNames = timeColumn.map { ["`\($0)`"] } ?? ["`timestamp`", "`date`"]
        let countNames = countColumn.map { ["`\($0)`"] } ?? ["`count`", "`downloads`", "`download_count`"]
        let time = find(timeColumn, ["timestamp", "date"])
        let count = find(countColumn, ["count", "downloads", "download_count"])
        guard let time, let count, time != count else {
            var found = "columns: \(shown.isEmpty ? "(none)" : shown)"
            if raw.count == 1, text.contains(";") || text.contains("\t") {
                found += " (one column: this reader expects commas between fields, not ';' or tabs)"
            }
            throw CountsCSVError(
                line: number, column: nil,
                expected:
                    "a header naming a time column (\(timeNames.joined(separator: " or "))) and a count column (\(countNames.joined(separator: ", ")))",
                found: found)
        }
        var dims: [(Int, Dimension)] = []
        var ignored: [String] = []
        var client: Int?
        var category: Int?
        for (i, n) in names.enumerated() where i != time && i != count {
            if let d = dimensionColumns[n] ?? Dimension(rawValue: n) {
                if d == .project, project != nil {
                    throw CountsCSVError(
                        line: number, column: raw[i].trimmingSpaces,
                        expected: "no project column, since a project was given for every row (--project is for files without one)",
                        found: "a project column (the file names its projects itself)")
                }
                dims.append((i, d))
                if d == .client { client = i }
            } else if n == "category" {
                category = i
            } else {
                ignored.append(raw[i].trimmingSpaces.isEmpty ? "(unnamed column \(i + 1))" : raw[i].trimmingSpaces)
            }
        }
        // The most precise Python column is applied last so that it wins.
        func rank(_ d: Dimension) -> Int {
            switch d {
            case .pythonMajor: 1
            case .pythonMinor: 2
            case .python: 3
            default: 0
            }
        }
        dims.sort { rank($0.1) < rank($1.1) }
        if !ignored.isEmpty {
            warnings.append(.ignoredColumns(ignored, line: number))
        }
        headerLine = number
        return Layout(
            names: names, time: time, count: count, dimensions: dims.map { (column: $0.0, dimension: $0.1) }, client: client,
            category: category)
    }

    // MARK: Rows

    private mutating func makeEvent(_ fields: [String], layout: Layout, line: Int) throws(CountsCSVError) -> DownloadEvent? {
        guard fields.count == layout.names.count else {
            throw CountsCSVError(
                line: line, column: nil,
                expected: "\(layout.names.count) fields, like the header (\(layout.names.joined(separator: ",")))",
                found: "\(fields.count) field\(fields.count == 1 ? "" : "s")")
        }
        for (i, field) in fields.enumerated() {
            // No real cell holds a control byte (a NUL would cut the value short where stored).
            if let c = InputText.firstControlByte(field.utf8) {
                throw CountsCSVError(
                    line: line, column: layout.names[i].isEmpty ? "column \(i + 1)" : layout.names[i],
                    expected: "a value without control characters",
                    found: "\(InputText.byteName(Array(field.utf8)[c.offset])) in \"\(InputText.escaped(String(field.prefix(60))))\"")
            }
        }
        let timeText = fields[layout.time].trimmingSpaces
        guard let time = Self.parseTime(timeText) else {
            throw CountsCSVError(
                line: line, column: layout.names[layout.time],
                expected: "an ISO 8601 date or time such as 2020-03-05 or 2020-03-05T14:00:00Z",
                found: timeText.isEmpty ? "an empty cell" : "\"\(timeText)\"")
        }
        let countText = fields[layout.count].trimmingSpaces
        guard let count = Self.parseCount(countText) else {
            throw CountsCSVError(
                line: line, column: layout.names[layout.count],
                expected: "a whole number of downloads, 0 or more",
                found: countText.isEmpty ? "an empty cell" : "\"\(countText)\"")
        }
        if count == 0, layout.category == nil { return nil }
        var event = DownloadEvent(timestamp: time, count: count)
        event.index = index
        if let project {
            event.project = ProjectName.normalize(project)
            event.projectDisplay = project
        }
        for (column, dimension) in layout.dimensions {
            let value = fields[column].trimmingSpaces
            if value.isEmpty { continue }
            if value.lowercased() == "null", ![.project, .version, .filename].contains(dimension) { continue }
            switch dimension {
            case .project:
                event.project = ProjectName.normalize(value)
                event.projectDisplay = value
            case .version: event.version = value
            case .filename: event.filename = value
            case .fileType: event.fileType = value
            case .python, .pythonMinor, .pythonMajor: event.python = value
            case .implementation: event.implementation = value
            case .installer: event.installer = value
            case .installerVersion: event.installerVersion = value
            case .distro: event.distro = value
            case .distroVersion: event.distroVersion = value
            case .libc: event.libc = value
            case .libcVersion: event.libcVersion = value
            case .openssl: event.opensslVersion = value
            case .system: event.system = value
            case .cpu: event.cpu = value
            case .country: event.country = value
            case .index: event.index = value
            case .ci:
                switch value.lowercased() {
                case "true", "1": event.ci = true
                case "false", "0": event.ci = false
                default:
                    throw CountsCSVError(
                        line: line, column: layout.names[column],
                        expected: "true, false, 1 or 0", found: "\"\(value)\"")
                }
            case .client:
                event.client = clientKey(value)
            }
        }
        event.fillFromFilename()
        if let c = layout.category {
            let value = fields[c].trimmingSpaces
            switch value.lowercased() {
            case "with_mirrors", "without_mirrors":
                // Overlapping counts: held until the end of the input (see `finish()`).
                var key = String(time)
                for (i, f) in fields.enumerated() where i != c && i != layout.count && i != layout.time {
                    key += "\u{1F}" + f.trimmingSpaces
                }
                if mirrorRows[key] == nil {
                    var held = event
                    held.count = 0
                    mirrorRows[key] = MirrorRow(event: held, line: line)
                    mirrorOrder.append(key)
                }
                if value.lowercased() == "with_mirrors" {
                    mirrorRows[key]!.withMirrors = (mirrorRows[key]!.withMirrors ?? 0) + count
                } else {
                    mirrorRows[key]!.withoutMirrors = (mirrorRows[key]!.withoutMirrors ?? 0) + count
                }
                return nil
            case "total":
                // A sum of the other rows: adding it would count them twice.
                totalRows = (count: (totalRows?.count ?? 0) + 1, first: totalRows?.first ?? line)
                return nil
            default:
                if !warnedCategoryIgnored {
                    warnedCategoryIgnored = true
                    warnings.append(.ignoredColumns([layout.names[c]], line: headerLine))
                }
            }
        }
        if count == 0 { return nil }
        return event
    }

    /// The rows held until the end: each `with_mirrors`/`without_mirrors` pair as direct
    /// downloads (`without_mirrors`) and mirror downloads (the difference, installer
    /// `bandersnatch`); a row without its counterpart as it is. Adds warnings for what could not
    /// be split and for skipped `Total` rows.
    public mutating func finish() -> [LineOutcome] {
        var out: [LineOutcome] = []
        var unpaired: [String: (count: Int, first: Int)] = [:]
        var inconsistent: (count: Int, first: Int)?
        for key in mirrorOrder {
            guard let row = mirrorRows[key] else { continue }
            func store(_ n: Int64, installer: String? = nil) {
                guard n > 0 else { return }
                var e = row.event
                e.count = n
                if let installer { e.installer = installer }
                out.append(.download(e))
            }
            switch (row.withMirrors, row.withoutMirrors) {
            case (let with?, let without?):
                store(without)
                if with >= without {
                    store(with - without, installer: "bandersnatch")
                } else {
                    inconsistent = (count: (inconsistent?.count ?? 0) + 1, first: inconsistent?.first ?? row.line)
                }
            case (let with?, nil):
                store(with)
                unpaired["with_mirrors", default: (0, row.line)].count += 1
            case (nil, let without?):
                store(without)
                unpaired["without_mirrors", default: (0, row.line)].count += 1
            case (nil, nil):
                break
            }
        }
        for (category, u) in unpaired.sorted(by: { $0.key < $1.key }) {
            warnings.append(.mirrorRowUnpaired(category: category, rows: u.count, firstLine: u.first))
        }
        if let inconsistent {
            warnings.append(.mirrorCountsInconsistent(rows: inconsistent.count, firstLine: inconsistent.first))
        }
        if let totalRows {
            warnings.append(.totalRowsSkipped(rows: totalRows.count, firstLine: totalRows.first))
        }
        mirrorRows = [:]
        mirrorOrder = []
        totalRows = nil
        return out
    }

    /// ISO 8601 through ``UTCTime/parse(_:)``, with the common shapes read from bytes first.
    static func parseTime(_ text: String) -> Int64? {
        var text = text
        let fast = text.withUTF8 { FastUTC.parse(UnsafeRawBufferPointer($0), quoted: false) }
        return fast?.0 ?? UTCTime.parse(text)
    }

    /// A whole, non-negative count; nil otherwise.
    static func parseCount(_ text: String) -> Int64? {
        var t = Substring(text)
        if t.hasPrefix("+") { t = t.dropFirst() }
        if let dot = t.firstIndex(of: ".") {
            let fraction = t[t.index(after: dot)...]
            guard !fraction.isEmpty, fraction.allSatisfy({ $0 == "0" }) else { return nil }
            t = t[..<dot]
        }
        guard !t.isEmpty, t.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(t)
    }

    /// Whether a value is already a client key (`c-` + 16 lowercase hex digits).
    static func isClientKey(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 18, u[0] == UInt8(ascii: "c"), u[1] == UInt8(ascii: "-") else { return false }
        return u[2...].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    private mutating func clientKey(_ value: String) -> String? {
        if Self.isClientKey(value) { return value }
        if let clientKeyer { return clientKeyer.key(for: value) }
        if !droppedClientValues {
            droppedClientValues = true
            warnings.append(.clientValuesDropped(column: layout.flatMap { l in l.client.map { l.names[$0] } } ?? "client"))
        }
        return nil
    }

    /// The row as it may be kept: the client cell replaced by its key (or `-`).
    private func redact(_ fields: [String], layout: Layout) -> String {
        var fields = fields
        if let c = layout.client, c < fields.count {
            let v = fields[c].trimmingSpaces
            fields[c] = Self.isClientKey(v) ? v : (clientKeyer?.key(for: v) ?? "-")
        }
        return fields.map(Self.quoteField).joined(separator: ",")
    }

    static func quoteField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Splits one CSV line into fields (RFC 4180 quoting; no line breaks inside fields).
    static func split(_ line: String, line number: Int) throws(CountsCSVError) -> [String] {
        var fields: [String] = []
        let u = Array(line.utf8)
        var i = 0
        while true {
            // Start of a field: skip spaces before an opening quote.
            var j = i
            while j < u.count, u[j] == 0x20 { j += 1 }
            if j < u.count, u[j] == UInt8(ascii: "\"") {
                let open = j
                j += 1
                var value: [UInt8] = []
                var closed = false
                while j < u.count {
                    if u[j] == UInt8(ascii: "\"") {
                        if j + 1 < u.count, u[j + 1] == UInt8(ascii: "\"") {
                            value.append(u[j])
                            j += 2
                            continue
                        }
                        closed = true
                        j += 1
                        break
                    }
                    value.append(u[j])
                    j += 1
                }
                guard closed else {
                    throw CountsCSVError(
                        line: number, column: nil,
                        expected:
                            "a closing quote for the field opened at character \(open + 1) (fields cannot span lines: the input is read line by line)",
                        found: "the end of the line")
                }
                while j < u.count, u[j] == 0x20 { j += 1 }
                fields.append(String(decoding: value, as: UTF8.self))
                if j == u.count { return fields }
                guard u[j] == UInt8(ascii: ",") else {
                    throw CountsCSVError(
                        line: number, column: nil,
                        expected: "',' after the quoted field ending at character \(j)",
                        found: "'\(String(decoding: u[j...].prefix(10), as: UTF8.self))'")
                }
                i = j + 1
            } else {
                var k = i
                while k < u.count, u[k] != UInt8(ascii: ",") { k += 1 }
                fields.append(String(decoding: u[i..<k], as: UTF8.self))
                if k == u.count { return fields }
                i = k + 1
            }
        }
    }
}

/// Why a CSV line was rejected: line, column (by header name), expected, found.
public struct CountsCSVError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int?
    /// The header name of the offending column, when one is at fault.
    public var column: String?
    public var expected: String
    public var found: String

    public init(line: Int?, column: String?, expected: String, found: String) {
        self.line = line
        self.column = column
        self.expected = expected
        self.found = found
    }

    public var description: String {
        let prefix = column.map { "column `\($0)`: " } ?? ""
        return "\(prefix)expected \(expected), found \(found)"
    }
}

/// A condition in a CSV file worth reporting that rejects no line.
public enum CountsCSVWarning: Sendable, Hashable, CustomStringConvertible {
    /// Columns that name no dimension and were ignored.
    case ignoredColumns([String], line: Int)
    /// `client` values that were not client keys were dropped because no keyer was given.
    case clientValuesDropped(column: String)
    /// Rows of one mirror category (`with_mirrors` or `without_mirrors`) without the other for
    /// the same time and values, stored as they are.
    case mirrorRowUnpaired(category: String, rows: Int, firstLine: Int)
    /// Rows whose `with_mirrors` count was below `without_mirrors`: only the latter was stored.
    case mirrorCountsInconsistent(rows: Int, firstLine: Int)
    /// `Total` rows of a category column, skipped (they sum the other rows).
    case totalRowsSkipped(rows: Int, firstLine: Int)

    public var description: String {
        switch self {
        case .ignoredColumns(let names, let line):
            let one = names.count == 1
            return "line \(line): column\(one ? "" : "s") \(names.map { "`\($0)`" }.joined(separator: ", ")) "
                + "\(one ? "is not a dimension" : "are not dimensions") Casebook knows and \(one ? "was" : "were") ignored "
                + "(known: \(Dimension.allNames.joined(separator: ", ")))"
        case .mirrorRowUnpaired(let category, let rows, let firstLine):
            return "\(rows) `\(category)` row\(rows == 1 ? "" : "s") (the first on line \(firstLine)) had no "
                + "`\(category == "with_mirrors" ? "without_mirrors" : "with_mirrors")` row for the same date and values "
                + "and \(rows == 1 ? "was" : "were") stored as \(rows == 1 ? "it is" : "they are")"
                + (category == "with_mirrors" ? " (mirror downloads included, not told apart)" : " (mirror downloads not included)")
        case .mirrorCountsInconsistent(let rows, let firstLine):
            return "\(rows) date\(rows == 1 ? "" : "s") (the first on line \(firstLine)) had fewer `with_mirrors` than "
                + "`without_mirrors` downloads: only `without_mirrors` was stored"
        case .totalRowsSkipped(let rows, let firstLine):
            return "\(rows) `Total` row\(rows == 1 ? "" : "s") (the first on line \(firstLine)) skipped: "
                + "\(rows == 1 ? "it sums" : "they sum") the other rows"
        case .clientValuesDropped(let column):
            return "column `\(column)`: values that are not client keys (c-<16 hex digits>) were dropped, "
                + "since no client keyer was given; raw addresses are never stored"
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
