"""Checks a cluster of Tessera instances on one PostgreSQL database behind a load balancer (run.sh starts it).

Talks HTTP only (the standard library): through the balancer, and to each instance directly where a check needs
to name the instance. Prints one line per check and exits non-zero at the first failure.
"""

import http.cookiejar
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

LB = os.environ["CLUSTER_LB"]
INSTANCES = os.environ["CLUSTER_INSTANCES"].split()
API_KEY = os.environ["CLUSTER_API_KEY"]
METERED_KEY = os.environ["CLUSTER_METERED_KEY"]
ADMIN_LOGIN = os.environ["CLUSTER_ADMIN_LOGIN"]
ADMIN_PASSWORD = os.environ["CLUSTER_ADMIN_PASSWORD"]
PASSWORD = "cluster check password"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def call(base, method, path, body=None, key=API_KEY, bearer=None, form=None, opener=None, headers=None):
    """One request; returns (status, parsed JSON body or text, response headers)."""
    data = None
    all_headers = dict(headers or {})
    if key:
        all_headers["x-api-key"] = key
    if bearer:
        all_headers["authorization"] = f"Bearer {bearer}"
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["content-type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        all_headers["content-type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(base + path, data=data, method=method, headers=all_headers)
    opener = opener or urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            status, raw, response_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, response_headers = error.code, error.read(), error.headers
    try:
        return status, json.loads(raw), response_headers
    except ValueError:
        return status, raw.decode(errors="replace"), response_headers


def check(condition, message):
    if not condition:
        print(f"not ok - {message}")
        sys.exit(1)
    print(f"ok - {message}")


def budget():
    """A 1,000-a-minute application lets 1,000 requests through in total: never more than the budget and what
    refills during the run; fewer by at most the tokens other instances still hold in their leases (10 each)."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(lambda _: call(LB, "GET", "/api/v1/user", key=METERED_KEY)[0], range(1300)))
    elapsed = time.monotonic() - started
    passed = sum(1 for s in statuses if s != 429)
    # What refills while the run lasts, and a few for the moments between the clock and the requests.
    refill = int(elapsed * 1000 / 60) + 5
    leased = 10 * (len(INSTANCES) - 1)
    check(
        1000 - leased <= passed <= 1000 + refill,
        f"budget: {passed} of 1300 passed in {elapsed:.1f} s over {len(INSTANCES)} instances "
        f"(1000, less at most {leased} leased elsewhere, plus at most {refill} refilled)",
    )


def lock_out():
    """Wrong guesses spread over the instances lock the account everywhere."""
    status, _, _ = call(LB, "POST", "/api/v1/users",
                        {"username": "mallory", "email": "mallory@example.org", "password": PASSWORD})
    check(status == 201, "lock-out: the account signs up through the balancer")
    with ThreadPoolExecutor(max_workers=8) as pool:
        wrong = list(pool.map(
            lambda i: call(INSTANCES[i % len(INSTANCES)], "POST", "/api/v1/auth/login",
                           {"login": "mallory", "password": "not the password"})[0],
            range(12)))
    check(all(s == 401 for s in wrong), "lock-out: twelve wrong guesses over every instance are refused")
    refused = [call(base, "POST", "/api/v1/auth/login", {"login": "mallory", "password": PASSWORD})[0]
               for base in INSTANCES]
    check(all(s == 401 for s in refused), "lock-out: the right password is refused at every instance")


def refresh_reuse():
    """A refresh token rotated at one instance is reuse-detected at another, and the family ends everywhere."""
    call(LB, "POST", "/api/v1/users", {"username": "rita", "email": "rita@example.org", "password": PASSWORD})
    first, second, third = (INSTANCES * 3)[:3]
    status, pair, _ = call(first, "POST", "/api/v1/auth/login", {"login": "rita", "password": PASSWORD})
    check(status == 200, "refresh: signed in at the first instance")
    status, rotated, _ = call(second, "POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    check(status == 200, "refresh: rotated at the second instance")
    status, body, _ = call(third, "POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    check(status == 401, f"refresh: the spent token is refused at the third instance ({body.get('code')})")
    status, body, _ = call(first, "POST", "/api/v1/auth/refresh", {"refresh_token": rotated["refresh_token"]})
    check(status == 401, f"refresh: the family ended with the reuse, at the first instance too ({body.get('code')})")


def browser_sign_in():
    """A browser sign-in that starts at one instance finishes at another."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    first, second, third = (INSTANCES * 3)[:3]
    status, page, _ = call(first, "GET", "/login", key=None, opener=browser)
    check(status == 200, "browser: the sign-in page from the first instance")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    status, _, headers = call(second, "POST", "/login", key=None, opener=browser,
                              form={"csrf": csrf, "login": "rita", "password": PASSWORD},
                              headers={"origin": LB})
    check(status == 303 and headers.get("location") == "/account",
          f"browser: the form posted to the second instance signs in ({status} {headers.get('location')})")
    status, _, _ = call(third, "GET", "/account", key=None, opener=browser)
    check(status == 200, "browser: the third instance knows the session")


def key_revocation():
    """An API key revoked at one instance is refused by every instance within a second."""
    status, admin, _ = call(LB, "POST", "/api/v1/auth/login", {"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD})
    check(status == 200, "keys: the administrator signs in")
    token = admin["access_token"]
    status, app, _ = call(LB, "POST", "/api/v1/admin/apps", {"name": "Revocable"}, bearer=token)
    check(status == 201, "keys: an application")
    status, key, _ = call(LB, "POST", f"/api/v1/admin/apps/{app['id']}/api-keys", {"name": "soon gone"}, bearer=token)
    check(status == 201, "keys: its key")
    for base in INSTANCES:
        status, body, _ = call(base, "GET", "/api/v1/user", key=key["key"])
        check(body.get("code") == "token_missing", f"keys: {base} accepts the key (and caches it)")
    status, _, _ = call(INSTANCES[0], "DELETE", f"/api/v1/admin/apps/{app['id']}/api-keys/{key['id']}", bearer=token)
    check(status == 204, "keys: revoked at the first instance")
    revoked = time.monotonic()
    for base in INSTANCES:
        while True:
            status, body, _ = call(base, "GET", "/api/v1/user", key=key["key"])
            if body.get("code") == "api_key_invalid":
                break
            if time.monotonic() - revoked >= 1.0:
                check(False, f"keys: {base} still accepts the revoked key after a second")
            time.sleep(0.05)
    check(True, f"keys: every instance refused it within {time.monotonic() - revoked:.2f} s")


if __name__ == "__main__":
    budget()
    lock_out()
    refresh_reuse()
    browser_sign_in()
    key_revocation()
    print(f"{len(INSTANCES)} instances: every check passed")
