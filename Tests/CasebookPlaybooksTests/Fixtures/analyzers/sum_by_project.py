#!/usr/bin/env python3
# Uses the protocol directly (no helper): asks one query and answers per-project totals.
import json, sys
req = json.loads(sys.stdin.readline())
if req["type"] == "describe":
    print(json.dumps({"type": "description", "name": "sum-by-project", "summary": "totals per project",
                      "parameters": [{"name": "top", "type": "int", "default": 2, "description": "how many"}],
                      "outputs": [{"name": "totals", "type": "object", "description": "project -> downloads"},
                                  {"name": "seen", "type": "any", "description": "what the engine sent"}]}), flush=True)
    sys.exit(0)
print(json.dumps({"type": "query", "id": 7, "query": {"dimensions": ["project"], "top": req["params"]["top"]}}), flush=True)
reply = json.loads(sys.stdin.readline())
print(json.dumps({"type": "query", "id": 8, "query": {"dimensions": ["projekt"]}}), flush=True)
refused = json.loads(sys.stdin.readline())
totals = {row["values"][0]: row["downloads"] for row in reply["table"]["rows"]}
print(json.dumps({"type": "result", "outputs": {"totals": totals,
    "seen": {"inputs": req["inputs"], "id": reply["id"], "refused": refused["message"], "step": req["step"]}},
    "findings": [{"title": "Totals", "summary": "per project", "confidence": "high",
                  "evidence": [{"type": "number", "label": "projects", "value": len(totals)}]}]}), flush=True)
