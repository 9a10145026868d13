#!/usr/bin/env python3
"""A loopback JSON API for the fetch tests: serves Fixtures/catalog as /pypi/NAME/json and
/pypi/NAME/VERSION/json, with ETag/Last-Modified and 304 answers, plus failure routes:
  /pypi/missing/json   404            /pypi/flaky/json      500 once, then a document
  /pypi/busy/json      429 once (Retry-After: 3600), then a document
  /pypi/broken/json    always 503     /pypi/slow/json       answers after an hour
  /_stats              JSON: request counts and conditional hits per path
Binds 127.0.0.1 on a free port, prints the port on stdout, and exits when its stdin closes
(the test process ended), on SIGTERM, or after 120 s regardless.
"""
import hashlib, json, os, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "catalog")
LAST_MODIFIED = "Wed, 04 Mar 2020 10:53:00 GMT"
lock = threading.Lock()
counts, conditional, not_modified = {}, {}, {}


def small_doc(name):
    return json.dumps({"info": {"name": name, "version": "1.0", "requires_dist": None},
                       "last_serial": 1, "releases": {"1.0": []}, "urls": [], "vulnerabilities": []}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        with lock:
            n = counts[path] = counts.get(path, 0) + 1
            if self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"):
                conditional[path] = conditional.get(path, 0) + 1
        if path == "/_stats":
            with lock:
                body = json.dumps({"counts": counts, "conditional": conditional, "not_modified": not_modified}).encode()
            return self.send(200, body, {"Content-Type": "application/json"})
        if path == "/pypi/flaky/json" and n == 1:
            return self.send(500, b"Internal Server Error")
        if path == "/pypi/busy/json" and n == 1:
            return self.send(429, b"Too Many Requests", {"Retry-After": "3600"})
        if path == "/pypi/broken/json":
            return self.send(503, b"Service Unavailable")
        if path == "/pypi/slow/json":
            time.sleep(3600)
            return self.send(200, small_doc("slow"), {"Content-Type": "application/json"})
        if path in ("/pypi/flaky/json", "/pypi/busy/json"):
            return self.send(200, small_doc(path.split("/")[2]), {"Content-Type": "application/json"})
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 3 and parts[0] == "pypi" and parts[-1] == "json" and ".." not in parts:
            file = os.path.join(ROOT, *parts)
            if os.path.isfile(file):
                body = open(file, "rb").read()
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    with lock:
                        not_modified[path] = not_modified.get(path, 0) + 1
                    return self.send(304, b"", {"ETag": etag})
                return self.send(200, body, {"Content-Type": "application/json", "ETag": etag,
                                             "Last-Modified": LAST_MODIFIED})
        return self.send(404, b'{"message": "Not Found"}', {"Content-Type": "application/json"})


# A parent's blocked signal mask is inherited: unblock so SIGTERM works.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.signal(signal.SIGTERM, signal.SIG_DFL)


def watch_stdin():
    try:
        while sys.stdin.buffer.read(1024):
            pass
    finally:
        os._exit(0)


threading.Thread(target=watch_stdin, daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Timer(120, lambda: os._exit(0)).start()
print(server.server_address[1], flush=True)
server.serve_forever()
