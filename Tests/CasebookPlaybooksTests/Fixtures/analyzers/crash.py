import sys
sys.stdin.readline()
sys.stderr.write("Traceback (most recent call last):\nZeroDivisionError: division by zero\n")
sys.exit(3)
