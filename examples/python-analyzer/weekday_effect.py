#!/usr/bin/env python3
"""weekday-effect: how downloads depend on the day of the week (a Casebook analyzer in Python).

It asks the store for daily totals (optionally for one project, within a range), averages them per
weekday and compares weekends with weekdays. A window found by an earlier step can be excluded
so that an incident does not distort the weekly shape.
"""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from casebook_analyzer import Analyzer, Output, Param, finding, number, serve, table  # noqa: E402

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def parse_time(text):
    return datetime.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)


class WeekdayEffect(Analyzer):
    name = "weekday-effect"
    summary = "Average downloads per day of the week, and how weekends compare with weekdays."
    parameters = [
        Param("project", "string", optional=True, description="Only this project (PEP 503 name); default: all."),
        Param("from", "date", optional=True, description="Start of the range (inclusive)."),
        Param("to", "date", optional=True, description="End of the range (exclusive)."),
        Param("exclude", "list", default=[], description="Windows to leave out: a list of {start, end} (e.g. an earlier step's windows)."),
    ]
    outputs = [
        Output("means", "object", "Average daily downloads per weekday name."),
        Output("weekendRatio", "number", "Average weekend day / average weekday (1 = no weekly effect)."),
        Output("days", "int", "Number of days averaged."),
    ]

    def run(self, ctx):
        filters = {"project": [ctx.params["project"]]} if ctx.params.get("project") else {}
        result = ctx.query(bucket="day", filters=filters, start=ctx.params.get("from"), end=ctx.params.get("to"))
        excluded = [(parse_time(w["start"]), parse_time(w["end"])) for w in ctx.params.get("exclude") or []
                    if isinstance(w, dict) and "start" in w and "end" in w]
        sums, counts = [0] * 7, [0] * 7
        for row in result["rows"]:
            day = parse_time(row["time"])
            if any(a <= day < b for a, b in excluded):
                continue
            sums[day.weekday()] += row["downloads"]
            counts[day.weekday()] += 1
        ctx.log("averaged %d days" % sum(counts))
        means = {DAYS[i]: (sums[i] / counts[i] if counts[i] else None) for i in range(7)}
        weekday = [sums[i] / counts[i] for i in range(5) if counts[i]]
        weekend = [sums[i] / counts[i] for i in range(5, 7) if counts[i]]
        ratio = (sum(weekend) / len(weekend)) / (sum(weekday) / len(weekday)) if weekday and weekend and sum(weekday) else None
        what = ctx.params.get("project") or "all projects"
        if ratio is None:
            summary = "Not enough days to compare weekends with weekdays for %s." % what
            confidence = "low"
        else:
            summary = "For %s, an average weekend day has %.0f%% of an average weekday's downloads." % (what, ratio * 100)
            confidence = "high" if sum(counts) >= 28 else "medium"
        rows = [[DAYS[i], counts[i], round(means[DAYS[i]], 1) if means[DAYS[i]] is not None else None] for i in range(7)]
        evidence = [table("Average downloads per weekday", ["weekday", "days", "mean downloads"], rows)]
        if ratio is not None:
            evidence.append(number("weekend / weekday ratio", round(ratio, 3)))
        return {
            "outputs": {"means": means, "weekendRatio": ratio, "days": sum(counts)},
            "findings": [finding("Weekly pattern of downloads", summary, evidence, confidence)],
        }


if __name__ == "__main__":
    serve(WeekdayEffect())
