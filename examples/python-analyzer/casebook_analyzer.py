"""Helper for writing Casebook analyzers in Python (protocol casebook-analyzer/1).

A Casebook playbook step can use any program as its analyzer (``uses: ./weekday_effect.py``).
The engine and the program exchange one JSON object per line on stdin/stdout:

    engine  -> {"protocol": "casebook-analyzer/1", "type": "describe"}
    program -> {"type": "description", "name": ..., "summary": ..., "parameters": [...], "outputs": [...]}

    engine  -> {"protocol": "casebook-analyzer/1", "type": "run", "step": ..., "params": {...},
                "inputs": {STEP: {OUTPUT: value}}, "store": {...}, "catalog": ..., ...}
    program -> {"type": "query", "id": 1, "query": {"bucket": "day", "filters": {...}, ...}}
    engine  -> {"type": "result", "id": 1, "table": {"rows": [{"time": ..., "values": [...], "downloads": n}], ...}}
    program -> {"type": "result", "outputs": {...}, "findings": [...]}    (or {"type": "error", "message": ...})

Logs go to stderr (or ``ctx.log``); stdout carries only protocol messages.
This module has no dependencies beyond the standard library.
"""

import json
import sys

PROTOCOL = "casebook-analyzer/1"


class QueryError(Exception):
    """The engine refused a query (bad dimension, bad time, ...)."""


class Param:
    def __init__(self, name, type="any", default=None, optional=False, description=""):
        self.name, self.type, self.default, self.optional, self.description = name, type, default, optional, description

    def to_json(self):
        d = {"name": self.name, "type": self.type, "description": self.description, "optional": self.optional}
        if self.default is not None:
            d["default"] = self.default
        return d


class Output:
    def __init__(self, name, type="any", description=""):
        self.name, self.type, self.description = name, type, description

    def to_json(self):
        return {"name": self.name, "type": self.type, "description": self.description}


def finding(title, summary, evidence=(), confidence="medium", open_questions=()):
    """A finding: title, summary, evidence (see number/table/series), confidence 0-1 or low/medium/high."""
    return {"title": title, "summary": summary, "evidence": list(evidence),
            "confidence": confidence, "openQuestions": list(open_questions)}


def number(label, value, unit=None):
    d = {"type": "number", "label": label, "value": value}
    if unit:
        d["unit"] = unit
    return d


def table(title, columns, rows):
    return {"type": "table", "title": title, "columns": list(columns), "rows": [list(r) for r in rows]}


def series(title, points, bucket=None, unit="downloads"):
    """points: iterable of (iso_time, value)."""
    return {"type": "series", "title": title, "bucket": bucket, "unit": unit,
            "points": [{"time": t, "value": v} for t, v in points]}


class Context:
    """What a run receives: params, earlier steps' outputs, and store queries."""

    def __init__(self, request, reader, writer):
        self.request = request
        self.step = request.get("step")
        self.params = request.get("params") or {}
        self.inputs = request.get("inputs") or {}
        self.store = request.get("store") or {}
        self.catalog = request.get("catalog")  # the catalog folder, or None (an imported catalog: ask project())
        self.catalog_location = request.get("catalogLocation")
        self.playbook_directory = request.get("playbookDirectory")
        self._reader, self._writer, self._next_id = reader, writer, 0

    def log(self, message):
        _send(self._writer, {"type": "log", "message": str(message)})

    def query(self, bucket=None, dimensions=(), filters=None, start=None, end=None, top=None):
        """Asks the store an aggregate query; returns the table dict (rows with time, values, downloads).

        filters: {"dimension": [values]} (None stands for "unknown"); start/end: ISO 8601 or epoch seconds.
        """
        q = {"bucket": bucket, "dimensions": list(dimensions), "filters": filters or {}, "from": start, "to": end, "top": top}
        return self._ask({"type": "query", "query": q}, "query refused")["table"]

    def project(self, name):
        """The project `name` (any spelling) from the run's catalog, a folder or one imported into
        the store alike: {"name", "displayName", "latestVersion", "files": {VERSION: [{"filename",
        "packageType", "uploadTime", "requiresPython", ...}]}, "metadata": {VERSION: {"requiresDist",
        "requiresPython"}}}. Raises QueryError when the catalog lacks it or the run has none."""
        return self._ask({"type": "catalog", "project": name}, "catalog request refused")["project"]

    def dependents(self, name):
        """The names of the projects in the run's catalog that require `name`."""
        return self._ask({"type": "catalog", "dependents": name}, "catalog request refused")["dependents"]

    def _ask(self, message, refused):
        """Sends a message with the next id and returns the engine's answer; QueryError on refusal."""
        self._next_id += 1
        _send(self._writer, dict(message, id=self._next_id))
        line = self._reader.readline()
        if not line:
            raise QueryError("the engine closed the connection")
        reply = json.loads(line)
        if reply.get("type") == "error":
            raise QueryError(reply.get("message", refused))
        return reply


class Analyzer:
    """Subclass: set name, summary, parameters, outputs; implement run(ctx) -> {"outputs": ..., "findings": ...}."""
    name = "analyzer"
    summary = ""
    parameters = []
    outputs = []

    def run(self, ctx):
        raise NotImplementedError

    def describe(self):
        return {"type": "description", "name": self.name, "summary": self.summary,
                "parameters": [p.to_json() for p in self.parameters],
                "outputs": [o.to_json() for o in self.outputs]}


def _send(writer, message):
    writer.write(json.dumps(message, separators=(",", ":")) + "\n")
    writer.flush()


def serve(analyzer, reader=None, writer=None):
    """Answers one request from the engine (describe or run) and returns."""
    reader = reader or sys.stdin
    writer = writer or sys.stdout
    line = reader.readline()
    if not line:
        return
    request = json.loads(line)
    if request.get("protocol") != PROTOCOL:
        _send(writer, {"type": "error", "message": "unsupported protocol %r (this helper speaks %s)" % (request.get("protocol"), PROTOCOL)})
        return
    if request.get("type") == "describe":
        _send(writer, analyzer.describe())
        return
    if request.get("type") != "run":
        _send(writer, {"type": "error", "message": "unknown request type %r" % request.get("type")})
        return
    ctx = Context(request, reader, writer)
    # Apply declared defaults for parameters the step left out.
    for p in analyzer.parameters:
        if ctx.params.get(p.name) is None and p.default is not None:
            ctx.params[p.name] = p.default
    try:
        result = analyzer.run(ctx) or {}
    except Exception as e:  # reported as a step error, with the type for context
        _send(writer, {"type": "error", "message": "%s: %s" % (type(e).__name__, e)})
        return
    _send(writer, {"type": "result", "outputs": result.get("outputs", {}), "findings": result.get("findings", [])})
