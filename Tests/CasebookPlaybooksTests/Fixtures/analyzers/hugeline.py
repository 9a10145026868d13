import sys
line = sys.stdin.readline()
if '"describe"' in line:
    print('{"type":"description","name":"huge-line","summary":"one endless line","parameters":[],"outputs":[]}', flush=True)
    sys.exit(0)
# One line that never ends: only the output limit stops it.
sys.stdout.write('{"type":"result","outputs":{"blob":"')
chunk = "x" * 65536
while True:
    sys.stdout.write(chunk)
