import CasebookCore

/// What a layout tells the query builder: where events come from and how each dimension is
/// computed in SQL. Both layouts share the rest (grouping, filters, top-N, canonical order).
struct PostgresRelation: Sendable {
    /// SQL of the event time as UTC epoch seconds (bigint).
    var timestamp: String
    /// SQL of the event's count (bigint).
    var count: String
    /// The dimension's SQL expression, and the join it needs (nil: none).
    var column: @Sendable (Dimension) -> (sql: String, join: String?)
    /// `FROM` clause given the joins needed.
    var from: @Sendable (Set<String>) -> String
    /// A condition `time >= $n` / `time < $n` that can use the layout's index.
    var timeAtLeast: @Sendable (String) -> String
    var timeBefore: @Sendable (String) -> String
}

/// Translates an ``AggregateQuery`` into one PostgreSQL statement whose rows come in
/// ``AggregateTable``'s canonical order: bucket, downloads descending, values ascending in byte
/// order (`COLLATE "C"`, as SQLite compares) with unknown values last.
enum PostgresQueryBuilder {
    static func bucketExpression(_ b: TimeBucket, ts: String) -> String {
        switch b {
        case .hour: "(\(ts) - (((\(ts) % 3600) + 3600) % 3600))"
        case .day: "(\(ts) - (((\(ts) % 86400) + 86400) % 86400))"
        case .week: "(\(ts) - (((\(ts) + 259200) % 604800 + 604800) % 604800))"
        }
    }

    static func sql(for q: AggregateQuery, over rel: PostgresRelation) -> (String, [String?]) {
        var args: [String?] = []
        func param(_ v: String, _ type: String) -> String {
            args.append(v)
            return "$\(args.count)::\(type)"
        }
        var joins = Set<String>()
        var select: [String] = []
        var group: [String] = []
        if let b = q.bucket {
            select.append("\(bucketExpression(b, ts: rel.timestamp)) AS bucket")
            group.append("bucket")
        }
        for (i, d) in q.dimensions.enumerated() {
            let c = rel.column(d)
            if let j = c.join { joins.insert(j) }
            select.append("(\(c.sql)) COLLATE \"C\" AS d\(i)")
            group.append("d\(i)")
        }
        select.append("SUM(\(rel.count))::bigint AS downloads")
        var wheres: [String] = []
        if let from = q.range.from { wheres.append(rel.timeAtLeast(param(String(from), "bigint"))) }
        if let to = q.range.to { wheres.append(rel.timeBefore(param(String(to), "bigint"))) }
        for f in q.filters {
            let c = rel.column(f.dimension)
            if let j = c.join { joins.insert(j) }
            let known = f.values.compactMap { $0 }
            let hasNull = known.count != f.values.count
            var parts: [String] = []
            if !known.isEmpty {
                parts.append("(\(c.sql)) = ANY(\(param(SQL.textArray(known), "text[]")))")
            }
            if hasNull { parts.append("(\(c.sql)) IS NULL") }
            switch f.operation {
            case .in:
                wheres.append(parts.isEmpty ? "FALSE" : "(" + parts.joined(separator: " OR ") + ")")
            case .notIn:
                if parts.isEmpty { continue }
                // NOT IN keeps unknown values unless unknown itself is excluded.
                var cond = "NOT (" + parts.joined(separator: " OR ") + ")"
                if !hasNull { cond = "((\(c.sql)) IS NULL OR \(cond))" }
                wheres.append(cond)
            }
        }
        var sql = "SELECT " + select.joined(separator: ", ") + " FROM " + rel.from(joins)
        if !wheres.isEmpty { sql += " WHERE " + wheres.joined(separator: " AND ") }
        if !group.isEmpty { sql += " GROUP BY " + group.joined(separator: ", ") }
        let valueOrder = q.dimensions.indices.map { "d\($0) ASC NULLS LAST" }
        let order = (q.bucket != nil ? ["bucket"] : []) + ["downloads DESC"] + valueOrder
        if let top = q.top {
            let partition = q.bucket != nil ? "PARTITION BY bucket " : ""
            let rankOrder = (["downloads DESC"] + valueOrder).joined(separator: ", ")
            let cols = (q.bucket != nil ? ["bucket"] : []) + q.dimensions.indices.map { "d\($0)" } + ["downloads"]
            sql =
                "SELECT \(cols.joined(separator: ", ")) FROM (SELECT g.*, ROW_NUMBER() OVER (\(partition)ORDER BY \(rankOrder)) AS rank FROM (\(sql)) AS g) AS r WHERE rank <= \(param(String(top), "bigint"))"
        }
        sql += " ORDER BY " + order.joined(separator: ", ")
        return (sql, args)
    }

    /// Runs a query and reads the rows into a table.
    static func run(_ q: AggregateQuery, over rel: PostgresRelation, on connection: PGConnection) throws -> AggregateTable {
        let (sql, args) = sql(for: q, over: rel)
        var rows: [AggregateRow] = []
        let hasBucket = q.bucket != nil
        let n = q.dimensions.count
        try connection.forEachRow(sql, args) { value in
            var i = 0
            var bucket: Int64?
            if hasBucket {
                bucket = value(0).flatMap { Int64($0) }
                i = 1
            }
            var values: [String?] = []
            values.reserveCapacity(n)
            for k in 0..<n { values.append(value(i + k)) }
            guard let downloads = value(i + n).flatMap({ Int64($0) }) else { return }  // SUM over no rows
            rows.append(AggregateRow(bucketStart: bucket, values: values, downloads: downloads))
        }
        return AggregateTable(bucket: q.bucket, dimensions: q.dimensions, rows: rows)
    }
}
