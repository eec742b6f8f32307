"""Kill -9 under load, then start again: every answered sign-up and rotation is intact, and a family whose last
rotation was never answered is usable or revoked as a whole, never forked (crash.sh runs this on SQLite and on
PostgreSQL).

Load: threads sign up accounts, sign each in, and refresh its family over and over, recording only what the server
answered. After a few seconds the server is killed with SIGKILL mid-load and started again on the same database.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

BASE = os.environ["CRASH_BASE"]
BIN = os.environ["CRASH_BIN"]
API_KEY = os.environ["CRASH_API_KEY"]
LOG = os.environ["CRASH_LOG"]
PASSWORD = "crash check password"


def call(path, body):
    request = urllib.request.Request(
        BASE + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", "x-api-key": API_KEY},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def start():
    server = subprocess.Popen([BIN], stdin=subprocess.DEVNULL, stdout=open(LOG, "a"), stderr=subprocess.STDOUT)
    for _ in range(120):
        try:
            with urllib.request.urlopen(BASE + "/health/ready", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("not ok - the server did not become ready")


accounts = {}  # username -> last answered refresh token (None: signed up, not yet signed in)
lock = threading.Lock()
stop = threading.Event()


def load(worker):
    n = 0
    while not stop.is_set():
        n += 1
        username = f"w{worker}n{n}"
        try:
            status, _ = call("/api/v1/users", {"username": username, "email": f"{username}@example.org",
                                               "password": PASSWORD})
            if status != 201:
                continue
            with lock:
                accounts[username] = None
            status, pair = call("/api/v1/auth/login", {"login": username, "password": PASSWORD})
            if status != 200:
                continue
            token = pair["refresh_token"]
            with lock:
                accounts[username] = token
            for _ in range(random.randint(3, 8)):
                status, pair = call("/api/v1/auth/refresh", {"refresh_token": token})
                if status != 200:
                    break
                token = pair["refresh_token"]
                with lock:
                    accounts[username] = token
        except OSError:
            # The server is gone: whatever was in flight was never answered.
            return


def main():
    server = start()
    workers = [threading.Thread(target=load, args=(i,)) for i in range(8)]
    for worker in workers:
        worker.start()
    time.sleep(float(os.environ.get("CRASH_LOAD_SECS", "4")))
    server.send_signal(signal.SIGKILL)
    server.wait()
    stop.set()
    for worker in workers:
        worker.join()
    with lock:
        answered = dict(accounts)
    print(f"ok - killed under load after {len(answered)} answered sign-ups")
    if not answered:
        sys.exit("not ok - nothing was answered before the kill")

    server = start()
    try:
        usable = revoked = 0
        for username, token in answered.items():
            status, body = call("/api/v1/auth/login", {"login": username, "password": PASSWORD})
            if status != 200:
                sys.exit(f"not ok - the answered sign-up of {username} is gone ({status} {body})")
            if token is None:
                continue
            status, body = call("/api/v1/auth/refresh", {"refresh_token": token})
            if status == 200:
                usable += 1
            elif status == 401 and body.get("code") == "refresh_token_reused":
                # The server rotated it once more but the answer never arrived: the family ends as a whole.
                revoked += 1
            else:
                sys.exit(f"not ok - the last answered refresh token of {username}: {status} {body}")
        print(f"ok - every answered account is there; {usable} families usable, {revoked} ended as a whole")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
