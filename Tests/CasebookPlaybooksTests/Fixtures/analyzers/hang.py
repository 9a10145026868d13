import sys, time
line = sys.stdin.readline()
if '"describe"' in line:
    print('{"type":"description","name":"hang","summary":"sleeps forever","parameters":[],"outputs":[]}', flush=True)
    sys.exit(0)
time.sleep(600)
