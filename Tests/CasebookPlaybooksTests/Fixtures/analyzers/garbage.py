import sys
line = sys.stdin.readline()
if '"describe"' in line:
    print('{"type":"description","name":"garbage","summary":"prints text","parameters":[],"outputs":[]}', flush=True)
    sys.exit(0)
print("Hello! I am not JSON", flush=True)
