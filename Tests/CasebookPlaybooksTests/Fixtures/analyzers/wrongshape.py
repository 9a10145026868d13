import sys
line = sys.stdin.readline()
if '"describe"' in line:
    print('{"type":"description","name":"wrong-shape","summary":"bad findings","parameters":[],"outputs":[]}', flush=True)
    sys.exit(0)
print('{"type":"result","outputs":{},"findings":[{"summary":"no title"}]}', flush=True)
