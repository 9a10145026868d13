import CasebookCore
import GRDB

/// Translates an ``AggregateQuery`` into one SQL statement over the star schema, joining only
/// the dimension tables the query needs.
enum SQLiteQueryBuilder {
    /// The SQL expression of a dimension, and the table alias it needs.
    static func column(_ d: Dimension) -> (sql: String, table: Character) {
        switch d {
        case .project: ("f.project", "f")
        case .version: ("f.version", "f")
        case .filename: ("f.filename", "f")
        case .fileType: ("f.file_type", "f")
        case .python: ("p.python", "p")
        case .pythonMajor: ("p.python_major", "p")
        case .pythonMinor: ("p.python_minor", "p")
        case .implementation: ("p.implementation", "p")
        case .installer: ("p.installer", "p")
        case .installerVersion: ("p.installer_version", "p")
        case .distro: ("p.distro", "p")
        case .distroVersion: ("p.distro_version", "p")
        case .system: ("p.system", "p")
        case .cpu: ("p.cpu", "p")
        case .ci: ("p.ci", "p")
        case .country: ("p.country", "p")
        case .index: ("p.index_name", "p")
        case .client: ("c.key", "c")
        }
    }

    static func bucketExpression(_ b: TimeBucket) -> String {
        switch b {
        case .hour: "(e.ts - (((e.ts % 3600) + 3600) % 3600))"
        case .day: "(e.ts - (((e.ts % 86400) + 86400) % 86400))"
        case .week: "(e.ts - (((e.ts + 259200) % 604800 + 604800) % 604800))"
        }
    }

    static func sql(for q: AggregateQuery) -> (String, [(any DatabaseValueConvertible)?]) {
        var args: [(any DatabaseValueConvertible)?] = []
        var tables = Set<Character>()
        var select: [String] = []
        var group: [String] = []
        if let b = q.bucket {
            select.append("\(bucketExpression(b)) AS bucket")
            group.append("bucket")
        }
        for (i, d) in q.dimensions.enumerated() {
            let c = column(d)
            tables.insert(c.table)
            select.append("\(c.sql) AS d\(i)")
            group.append("d\(i)")
        }
        select.append("SUM(e.count) AS downloads")
        var wheres: [String] = []
        if let from = q.range.from { wheres.append("e.ts >= ?"); args.append(from) }
        if let to = q.range.to { wheres.append("e.ts < ?"); args.append(to) }
        for f in q.filters {
            let c = column(f.dimension)
            tables.insert(c.table)
            let known = f.values.compactMap { $0 }
            let hasNull = known.count != f.values.count
            var parts: [String] = []
            if !known.isEmpty {
                parts.append("\(c.sql) IN (\(Array(repeating: "?", count: known.count).joined(separator: ", ")))")
                args.append(contentsOf: known.map { $0 as (any DatabaseValueConvertible)? })
            }
            if hasNull { parts.append("\(c.sql) IS NULL") }
            switch f.operation {
            case .in:
                wheres.append(parts.isEmpty ? "0" : "(" + parts.joined(separator: " OR ") + ")")
            case .notIn:
                if parts.isEmpty { continue }
                // NOT IN must keep unknown values unless unknown itself is excluded.
                var cond = "NOT (" + parts.joined(separator: " OR ") + ")"
                if !hasNull { cond = "(\(c.sql) IS NULL OR \(cond))" }
                wheres.append(cond)
            }
        }
        var from = "events e"
        if tables.contains("f") { from += " JOIN files f ON f.id = e.file_id" }
        if tables.contains("p") { from += " JOIN profiles p ON p.id = e.profile_id" }
        if tables.contains("c") { from += " LEFT JOIN clients c ON c.id = e.client_id" }
        var sql = "SELECT " + select.joined(separator: ", ") + " FROM " + from
        if !wheres.isEmpty { sql += " WHERE " + wheres.joined(separator: " AND ") }
        if !group.isEmpty { sql += " GROUP BY " + group.joined(separator: ", ") }
        let valueOrder = q.dimensions.indices.map { "d\($0) IS NULL, d\($0)" }
        var order = (q.bucket != nil ? ["bucket"] : []) + ["downloads DESC"] + valueOrder
        if let top = q.top {
            let partition = q.bucket != nil ? "PARTITION BY bucket " : ""
            let rankOrder = (["downloads DESC"] + valueOrder).joined(separator: ", ")
            let cols = (q.bucket != nil ? ["bucket"] : []) + q.dimensions.indices.map { "d\($0)" } + ["downloads"]
            sql = "SELECT \(cols.joined(separator: ", ")) FROM (SELECT *, ROW_NUMBER() OVER (\(partition)ORDER BY \(rankOrder)) AS rank FROM (\(sql))) WHERE rank <= ?"
            args.append(Int64(top))
            order = (q.bucket != nil ? ["bucket"] : []) + ["downloads DESC"] + valueOrder
        }
        sql += " ORDER BY " + order.joined(separator: ", ")
        return (sql, args)
    }
}
