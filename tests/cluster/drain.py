"""Graceful shutdown: at SIGTERM the server stops accepting connections, finishes a request already in flight (its
body still arriving), and exits within `server.shutdown_timeout_secs` (crash.sh runs this)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

BASE = os.environ["CRASH_BASE"]
BIN = os.environ["CRASH_BIN"]
API_KEY = os.environ["CRASH_API_KEY"]
LOG = os.environ["CRASH_LOG"]
HOST, PORT = BASE.removeprefix("http://").split(":")


def check(condition, message):
    if not condition:
        sys.exit(f"not ok - {message}")
    print(f"ok - {message}")


def main():
    env = dict(os.environ, TESSERA_SERVER__SHUTDOWN_TIMEOUT_SECS="5")
    server = subprocess.Popen([BIN], stdin=subprocess.DEVNULL, stdout=open(LOG, "a"), stderr=subprocess.STDOUT, env=env)
    for _ in range(120):
        try:
            with urllib.request.urlopen(BASE + "/health/ready", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    body = json.dumps({"login": "nobody-here", "password": "not a password at all"}).encode()
    head = (f"POST /api/v1/auth/login HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nx-api-key: {API_KEY}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n").encode()
    in_flight = socket.create_connection((HOST, int(PORT)))
    in_flight.sendall(head + body[:10])
    time.sleep(0.3)
    stopping = time.monotonic()
    server.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    try:
        late = socket.create_connection((HOST, int(PORT)), timeout=1)
        late.sendall(f"GET /health/live HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        accepted = late.recv(100).startswith(b"HTTP/1.1 200")
    except OSError:
        accepted = False
    check(not accepted, "after SIGTERM no new connection is served")
    in_flight.sendall(body[10:])
    in_flight.settimeout(10)
    answer = b""
    while chunk := in_flight.recv(4096):
        answer += chunk
    check(answer.startswith(b"HTTP/1.1 401"), f"the request in flight was answered ({answer[:12]!r})")
    server.wait(timeout=10)
    elapsed = time.monotonic() - stopping
    check(elapsed < 6, f"the server exited {elapsed:.1f} s after SIGTERM (shutdown_timeout_secs = 5)")


if __name__ == "__main__":
    main()
