import json, sys
line = sys.stdin.readline()
if '"describe"' in line:
    print('{"type":"description","name":"log-spam","summary":"logs a lot","parameters":[],"outputs":[]}', flush=True)
    sys.exit(0)
for i in range(600):
    print(json.dumps({"type": "log", "message": "line %d " % i + "y" * 990}))
print(json.dumps({"type": "log", "message": "z" * 300000}))
print(json.dumps({"type": "result", "outputs": {"done": True}}))
sys.stdout.flush()
