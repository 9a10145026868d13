import CasebookCore
import GRDB

/// How the embedded store answers one aggregate query: the table it reads and the SQL.
public struct SQLiteQueryPlan: Sendable, Hashable, CustomStringConvertible {
    /// The table read: a rollup, or the raw events.
    public var table: SQLiteTable
    /// Why the planner could not use a smaller table (`nil` when a rollup answers).
    public var fallbackReason: String?
    /// The SQL statement (arguments bound as `?`).
    public var sql: String
    var arguments: [DatabaseValue]

    public var description: String {
        "\(table.rawValue)\(fallbackReason.map { " (\($0))" } ?? ""): \(sql)"
    }
}

/// Translates an ``AggregateQuery`` into one SQL statement over the star schema, reading the
/// smallest table that answers it exactly and joining only the dimension tables it needs.
///
/// The planner: a query can be answered from a rollup when the rollup keeps every dimension the
/// query groups or filters by (files: project, version, filename, file type; profiles: the
/// other dimensions; never `client`), and when its time bucket and range boundaries fall on the
/// rollup's time granularity (hours for `rollup_hour`, UTC days for the others; ISO weeks start
/// on a UTC day). Among those, it takes the first of `rollup_hour`, `rollup_day_profile`,
/// `rollup_day_file`, `rollup_day_file_profile`; otherwise it reads `events`. Every table sums
/// the same downloads, so the answers are identical (`Tests/CasebookSQLiteTests` checks it).
enum SQLiteQueryBuilder {
    /// The SQL expression of a dimension, and the table alias it needs.
    static func column(_ d: Dimension) -> (sql: String, table: Character) {
        let c = StarSchema.column(d)
        return (c.qualified, c.table.rawValue)
    }

    static func bucketExpression(_ b: TimeBucket, column: String) -> String {
        switch b {
        case .hour: "(\(column) - (((\(column) % 3600) + 3600) % 3600))"
        case .day: "(\(column) - (((\(column) % 86400) + 86400) % 86400))"
        case .week: "(\(column) - (((\(column) + 259200) % 604800 + 604800) % 604800))"
        }
    }

    /// The table that answers `q` with the fewest rows (``RollupTable/choose(for:)``, shared with
    /// the PostgreSQL backend), or the events and the reason why.
    static func choose(for q: AggregateQuery, useRollups: Bool) -> (SQLiteTable, String?) {
        guard useRollups else { return (.events, "rollups disabled") }
        let (rollup, reason) = RollupTable.choose(for: q)
        guard let rollup, let table = SQLiteTable(rawValue: rollup.rawValue) else { return (.events, reason) }
        return (table, nil)
    }

    static func plan(for q: AggregateQuery, useRollups: Bool = true) -> SQLiteQueryPlan {
        let (table, reason) = choose(for: q, useRollups: useRollups)
        let (sql, args) = sql(for: q, table: table)
        return SQLiteQueryPlan(table: table, fallbackReason: reason, sql: sql, arguments: args)
    }

    /// A filter's condition on its dimension table's row.
    private static func condition(_ f: DimensionFilter, _ args: inout [DatabaseValue]) -> String? {
        let c = column(f.dimension)
        let known = f.values.compactMap { $0 }
        let hasNull = known.count != f.values.count
        var parts: [String] = []
        if !known.isEmpty {
            parts.append("\(c.sql) IN (\(Array(repeating: "?", count: known.count).joined(separator: ", ")))")
            args.append(contentsOf: known.map { $0.databaseValue })
        }
        if hasNull { parts.append("\(c.sql) IS NULL") }
        switch f.operation {
        case .in:
            return parts.isEmpty ? "0" : "(" + parts.joined(separator: " OR ") + ")"
        case .notIn:
            if parts.isEmpty { return nil }
            // NOT IN must keep unknown values unless unknown itself is excluded.
            var cond = "NOT (" + parts.joined(separator: " OR ") + ")"
            if !hasNull { cond = "(\(c.sql) IS NULL OR \(cond))" }
            return cond
        }
    }

    /// A rollup's rows grouped by their integer keys first (`file_id`, `profile_id`, and the
    /// bucket), the dimension tables joined to those groups after and grouped again by the
    /// values. Sorting integers and joining a few thousand groups is cheaper than joining every
    /// row and sorting its strings (about half the time of a 14-day split on the demo store).
    /// When only the first key of `rollup_day_file_profile` is needed, the inner groups follow
    /// the table's order (day, file), so SQLite aggregates them without sorting.
    private static func keyedFirst(_ q: AggregateQuery, table: SQLiteTable, joins: Set<Character>, wheres: [String]) -> String {
        let time = "e.\(table.timeColumn)"
        var inner: [String] = []
        var innerGroup: [String] = []
        if let b = q.bucket {
            inner.append("\(bucketExpression(b, column: time)) AS bucket")
            innerGroup.append("bucket")
        } else if table == .dayFileProfile, joins == ["f"] {
            innerGroup.append(time)
        }
        var keyJoins = ""
        if joins.contains("f") {
            inner.append("e.file_id AS fk")
            innerGroup.append("fk")
            keyJoins += " JOIN files f ON f.id = g.fk"
        }
        if joins.contains("p") {
            inner.append("e.profile_id AS pk")
            innerGroup.append("pk")
            keyJoins += " JOIN profiles p ON p.id = g.pk"
        }
        inner.append("SUM(e.\(table.countColumn)) AS downloads")
        var innerSQL = "SELECT " + inner.joined(separator: ", ") + " FROM \(table.rawValue) e"
        if !wheres.isEmpty { innerSQL += " WHERE " + wheres.joined(separator: " AND ") }
        innerSQL += " GROUP BY " + innerGroup.joined(separator: ", ")
        var outer: [String] = q.bucket != nil ? ["g.bucket AS bucket"] : []
        var group: [String] = q.bucket != nil ? ["bucket"] : []
        for (i, d) in q.dimensions.enumerated() {
            outer.append("\(column(d).sql) AS d\(i)")
            group.append("d\(i)")
        }
        outer.append("SUM(g.downloads) AS downloads")
        return "SELECT " + outer.joined(separator: ", ") + " FROM (\(innerSQL)) g\(keyJoins) GROUP BY " + group.joined(separator: ", ")
    }

    static func sql(for q: AggregateQuery, table: SQLiteTable) -> (String, [DatabaseValue]) {
        var args: [DatabaseValue] = []
        let time = "e.\(table.timeColumn)"
        var joins = Set<Character>()
        var select: [String] = []
        var group: [String] = []
        if let b = q.bucket {
            select.append("\(bucketExpression(b, column: time)) AS bucket")
            group.append("bucket")
        }
        // Grouping by client groups by its integer key first and looks the client keys up after
        // (one lookup per group instead of per event; integer groups sort faster than strings).
        var clientGroups: [Int] = []
        for (i, d) in q.dimensions.enumerated() {
            let c = column(d)
            if c.table == "c" {
                select.append("e.client_id AS d\(i)")
                clientGroups.append(i)
            } else {
                joins.insert(c.table)
                select.append("\(c.sql) AS d\(i)")
            }
            group.append("d\(i)")
        }
        select.append("SUM(e.\(table.countColumn)) AS downloads")
        var wheres: [String] = []
        let filtersKeys = q.filters.contains { column($0.dimension).table != "c" }
        if table.granularity == 86400, filtersKeys, let from = q.range.from, let to = q.range.to, to > from, (to - from) / 86400 <= 400 {
            // The rollups are keyed (day, file or profile, ...): listing the days lets SQLite
            // seek each day's rows of the filtered files or profiles instead of reading them all.
            let days = stride(from: from, to: to, by: 86400).map { String($0) }
            wheres.append("\(time) IN (\(days.joined(separator: ", ")))")
        } else {
            if let from = q.range.from {
                wheres.append("\(time) >= ?")
                args.append(from.databaseValue)
            }
            if let to = q.range.to {
                wheres.append("\(time) < ?")
                args.append(to.databaseValue)
            }
        }
        // Filters on files and profiles select key sets (`file_id IN (SELECT ...)`): the rollup
        // keyed by file reads only those files' rows; filters on clients need the outer join.
        // Arguments are bound in the order the conditions appear in the SQL: grouped by table.
        for t: Character in ["f", "p", "c"] {
            var conds: [String] = []
            for f in q.filters where column(f.dimension).table == t {
                if let cond = condition(f, &args) { conds.append(cond) }
            }
            if conds.isEmpty { continue }
            switch t {
            case "f": wheres.append("e.file_id IN (SELECT f.id FROM files f WHERE \(conds.joined(separator: " AND ")))")
            case "p": wheres.append("e.profile_id IN (SELECT p.id FROM profiles p WHERE \(conds.joined(separator: " AND ")))")
            default:
                joins.insert("c")
                wheres.append(contentsOf: conds)
            }
        }
        var sql: String
        if table != .events, !joins.isEmpty {
            sql = keyedFirst(q, table: table, joins: joins, wheres: wheres)
        } else {
            var from = "\(table.rawValue) e"
            if joins.contains("f") { from += " JOIN files f ON f.id = e.file_id" }
            if joins.contains("p") { from += " JOIN profiles p ON p.id = e.profile_id" }
            if joins.contains("c") { from += " LEFT JOIN clients c ON c.id = e.client_id" }
            sql = "SELECT " + select.joined(separator: ", ") + " FROM " + from
            if !wheres.isEmpty { sql += " WHERE " + wheres.joined(separator: " AND ") }
            if !group.isEmpty { sql += " GROUP BY " + group.joined(separator: ", ") }
        }
        if !clientGroups.isEmpty {
            var outer = (q.bucket != nil ? ["g.bucket"] : [])
            var keyJoins = ""
            for i in q.dimensions.indices {
                if clientGroups.contains(i) {
                    outer.append("c\(i).key AS d\(i)")
                    keyJoins += " LEFT JOIN clients c\(i) ON c\(i).id = g.d\(i)"
                } else {
                    outer.append("g.d\(i)")
                }
            }
            outer.append("g.downloads")
            sql = "SELECT \(outer.joined(separator: ", ")) FROM (\(sql)) g\(keyJoins)"
        }
        let valueOrder = q.dimensions.indices.map { "d\($0) IS NULL, d\($0)" }
        let order = (q.bucket != nil ? ["bucket"] : []) + ["downloads DESC"] + valueOrder
        if let top = q.top {
            let partition = q.bucket != nil ? "PARTITION BY bucket " : ""
            let rankOrder = (["downloads DESC"] + valueOrder).joined(separator: ", ")
            let cols = (q.bucket != nil ? ["bucket"] : []) + q.dimensions.indices.map { "d\($0)" } + ["downloads"]
            sql =
                "SELECT \(cols.joined(separator: ", ")) FROM (SELECT *, ROW_NUMBER() OVER (\(partition)ORDER BY \(rankOrder)) AS rank FROM (\(sql))) WHERE rank <= ?"
            args.append(Int64(top).databaseValue)
        }
        sql += " ORDER BY " + order.joined(separator: ", ")
        return (sql, args)
    }
}
