import CasebookCore

/// The SQL another engine (DuckDB) runs for an ``AggregateQuery`` over one flat table
/// `downloads(timestamp, <one column per dimension>, count)`: the same semantics as Casebook's
/// own answers (buckets floored in UTC, ISO weeks from Monday, unknown values kept by `not in`
/// unless listed, top N per bucket with ties broken by values, unknown last).
enum FlatSQL {
    static func quoted(_ d: Dimension) -> String { "\"\(d.rawValue)\"" }

    static func literal(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    static func bucket(_ b: TimeBucket) -> String {
        switch b {
        case .hour: "(timestamp - (((timestamp % 3600) + 3600) % 3600))"
        case .day: "(timestamp - (((timestamp % 86400) + 86400) % 86400))"
        case .week: "(timestamp - (((timestamp + 259200) % 604800 + 604800) % 604800))"
        }
    }

    static func sql(_ q: AggregateQuery) -> String {
        var select: [String] = []
        var group: [String] = []
        if let b = q.bucket {
            select.append("\(bucket(b)) AS bucket")
            group.append("bucket")
        }
        for (i, d) in q.dimensions.enumerated() {
            select.append("\(quoted(d)) AS d\(i)")
            group.append("d\(i)")
        }
        select.append("SUM(count) AS downloads")
        var wheres: [String] = []
        if let from = q.range.from { wheres.append("timestamp >= \(from)") }
        if let to = q.range.to { wheres.append("timestamp < \(to)") }
        for f in q.filters {
            let c = quoted(f.dimension)
            let known = f.values.compactMap { $0 }
            let hasNull = known.count != f.values.count
            var parts: [String] = []
            if !known.isEmpty { parts.append("\(c) IN (\(known.map(literal).joined(separator: ", ")))") }
            if hasNull { parts.append("\(c) IS NULL") }
            switch f.operation {
            case .in: wheres.append(parts.isEmpty ? "false" : "(" + parts.joined(separator: " OR ") + ")")
            case .notIn:
                if parts.isEmpty { continue }
                var cond = "NOT (" + parts.joined(separator: " OR ") + ")"
                if !hasNull { cond = "(\(c) IS NULL OR \(cond))" }
                wheres.append(cond)
            }
        }
        var sql = "SELECT " + select.joined(separator: ", ") + " FROM downloads"
        if !wheres.isEmpty { sql += " WHERE " + wheres.joined(separator: " AND ") }
        if !group.isEmpty { sql += " GROUP BY " + group.joined(separator: ", ") }
        let valueOrder = q.dimensions.indices.map { "d\($0) ASC NULLS LAST" }
        let order = (q.bucket != nil ? ["bucket"] : []) + ["downloads DESC"] + valueOrder
        if let top = q.top {
            let partition = q.bucket != nil ? "PARTITION BY bucket " : ""
            let cols = (q.bucket != nil ? ["bucket"] : []) + q.dimensions.indices.map { "d\($0)" } + ["downloads"]
            sql =
                "SELECT \(cols.joined(separator: ", ")) FROM (SELECT *, ROW_NUMBER() OVER (\(partition)ORDER BY \((["downloads DESC"] + valueOrder).joined(separator: ", "))) AS rank FROM (\(sql))) WHERE rank <= \(top)"
        }
        // A sum over no rows is one NULL row in SQL; Casebook returns no row.
        if q.bucket == nil && q.dimensions.isEmpty { sql = "SELECT * FROM (\(sql)) WHERE downloads IS NOT NULL" }
        return sql + " ORDER BY " + order.joined(separator: ", ")
    }
}
