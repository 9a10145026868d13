#!/usr/bin/env python3
"""DuckDB side of `casebook-bench scale`: loads the events Casebook exported (CSV, one row per
event, the `downloads` view's dimensions) into a DuckDB table, then runs the same aggregate
queries Casebook's playbook and `casebook query` asked (translated to SQL by the harness), and
prints timings and per-query answers (rows, downloads) as JSON on stdout.

    python3 duckdb_bench.py EVENTS.csv QUERIES.json

QUERIES.json: {"groups": {"playbook": ["SELECT ...", ...], "query-daily": [...], ...}}.
Each group is run twice; the second (warm) run is the figure, like Casebook's runs on a warm
page cache.
"""
import json
import sys
import time

import duckdb


def main():
    csv_path, queries_path = sys.argv[1], sys.argv[2]
    groups = json.load(open(queries_path))["groups"]
    con = duckdb.connect()  # in memory: DuckDB's fastest configuration
    t0 = time.perf_counter()
    con.execute(
        "CREATE TABLE downloads AS SELECT * FROM read_csv(?, header = true, all_varchar = false, "
        "types = {'timestamp': 'BIGINT', 'count': 'BIGINT', 'python_major': 'VARCHAR', 'ci': 'VARCHAR', "
        "'version': 'VARCHAR', 'python': 'VARCHAR', 'python_minor': 'VARCHAR', 'installer_version': 'VARCHAR', "
        "'distro_version': 'VARCHAR'})",
        [csv_path],
    )
    load = time.perf_counter() - t0
    rows = con.execute("SELECT COUNT(*), SUM(count) FROM downloads").fetchone()
    out = {"load_seconds": load, "rows": rows[0], "downloads": int(rows[1] or 0),
           "threads": con.execute("SELECT current_setting('threads')").fetchone()[0], "groups": {}}
    for name, sqls in groups.items():
        answers = []
        best = None
        for attempt in range(2):
            t = time.perf_counter()
            answers = []
            for sql in sqls:
                res = con.execute(sql).fetchall()
                answers.append({"rows": len(res), "downloads": int(sum(r[-1] for r in res))})
            elapsed = time.perf_counter() - t
            best = elapsed if attempt == 1 else best
        out["groups"][name] = {"seconds": best, "queries": len(sqls), "answers": answers}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
