#!/usr/bin/env python3
# Uses the protocol directly: asks the run's catalog for a project (spelled as written), for its
# dependents, and for a project it does not have, and answers with what it got.
import json, sys
req = json.loads(sys.stdin.readline())
if req["type"] == "describe":
    print(json.dumps({"type": "description", "name": "catalog-reader", "summary": "reads the run's catalog",
                      "parameters": [], "outputs": [{"name": "seen", "type": "any", "description": "the answers"}]}), flush=True)
    sys.exit(0)


def ask(message):
    print(json.dumps(message), flush=True)
    return json.loads(sys.stdin.readline())


project = ask({"type": "catalog", "id": 1, "project": "Lib_One"})
dependents = ask({"type": "catalog", "id": 2, "dependents": "lib-one"})
missing = ask({"type": "catalog", "id": 3, "project": "no-such-thing"})
print(json.dumps({"type": "result", "outputs": {"seen": {
    "folder": req.get("catalog"), "location": req.get("catalogLocation"),
    "name": project["project"]["name"], "versions": sorted(project["project"]["files"].keys()),
    "dependents": dependents["dependents"], "missingType": missing["type"], "missing": missing.get("message"),
    "ids": [project["id"], dependents["id"], missing["id"]]}}}), flush=True)
