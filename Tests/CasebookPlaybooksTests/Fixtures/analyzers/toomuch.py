import sys
line = sys.stdin.readline()
if '"describe"' in line:
    print('{"type":"description","name":"too-much","summary":"answers a lot","parameters":[],"outputs":[]}', flush=True)
    sys.exit(0)
sys.stdout.write('{"type":"result","outputs":{"blob":"' + "x" * 5_000_000 + '"}}\n')
sys.stdout.flush()
