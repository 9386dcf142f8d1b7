#!/usr/bin/env python3
"""Traffic driver of the spraywatch lab (standard library only).

    driver.py users FILE
        writes the lab's accounts (username -> password) as JSON.
    driver.py run --name NAME --port PORT --direct-port PORT --certs DIR
                  --auth-log FILE --manifest FILE
        logs in through the mTLS proxy listening on 127.0.0.1:PORT, and
        directly at the application on 127.0.0.1:DIRECT-PORT from 127.0.0.2,
        then writes what it did (the ground truth) as JSON to --manifest.

Scenario, the same for every proxy:
  benign   employees on their own device certificates and through the shared
           SSO gateway certificate: password typos (and one username typo),
           then a successful login; one of them sends its own X-Request-ID
           (the value of an earlier request's real id), which the proxy must
           replace.
  spray    an attacker with frank's stolen device certificate tries two
           passwords, one round each, against many usernames; the second
           works for one of them.
  nocert   a client without a certificate sprays usernames holding non-ASCII
           letters, quotes, a newline and fullwidth letters.
  bypass   a client on 127.0.0.2 (not a trusted proxy) posts straight to
           gunicorn with a spoofed X-Request-ID and X-Forwarded-For.
"""

import argparse
import http.client
import json
import re
import ssl
import sys
import unicodedata
import urllib.parse

SPRAY_PASSWORD = "Winter2026!"
SPRAY_ROUNDS = ["Autumn2026!", SPRAY_PASSWORD]

USERS = {
    "alice": "alice-correct-horse",
    "bob": "bob-battery-staple",
    "carol": "carol-purple-monkey",
    "dave": "dave-seven-bridges",
    "zoe": "zoë-fjord-ønske",
    # sprayed accounts: guest has the sprayed password
    "guest": SPRAY_PASSWORD,
    "admin": "admin-long-random-1",
    "support": "support-long-random-2",
    "finance": "finance-long-random-3",
}

# The stolen certificate's spray: 12 usernames, guest opens in the second round.
SPRAY_USERS = [
    "admin", "test", "root", "support", "backup", "hr", "finance", "it-helpdesk",
    "guest", "svc-deploy", "intern", "reception",
]

# Usernames that must survive proxy, Django, the JSON log and spraywatch.
WEIRD_USERS = ["josé.garcía", "o'brien", 'say "hi"', "eve\nadmin", "ｍａｌｌｏｒｙ"]
NOCERT_USERS = WEIRD_USERS + [
    "oracle", "postgres", "ubuntu", "administrator", "webmaster", "sales", "marketing",
]

BYPASS_USERS = ["payroll", "ceo", "cfo"]

TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Client:
    """One HTTP(S) keep-alive connection with Django's CSRF cookie and token."""

    def __init__(self, port, certs=None, cert=None, direct=False, headers=None):
        if direct:
            self.conn = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0)
            )
        else:
            ctx = ssl.create_default_context(cafile="%s/ca.crt" % certs)
            if cert:
                ctx.load_cert_chain("%s/%s.crt" % (certs, cert), "%s/%s.key" % (certs, cert))
            self.conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
        self.headers = dict(headers or {})
        if not direct:
            # Behind a TLS proxy Django checks the Referer of a POST, as a
            # browser would send it.
            self.headers["Referer"] = "https://127.0.0.1:%d/accounts/login/" % port
        self.cookies = {}
        self.token = None

    def request(self, method, path, body=None, headers=None):
        h = {"User-Agent": "spraywatch-lab/1"}
        h.update(self.headers)
        h.update(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        self.conn.request(method, path, body=body, headers=h)
        resp = self.conn.getresponse()
        data = resp.read()
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data

    def login(self, username, password, headers=None):
        """Posts the login form; returns the HTTP status (302 = logged in)."""
        if self.token is None:
            status, page = self.request("GET", "/accounts/login/")
            m = TOKEN_RE.search(page.decode("utf-8", "replace"))
            if status != 200 or not m:
                raise RuntimeError("login page: status %d, no CSRF token" % status)
            self.token = m.group(1)
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": self.token, "username": username, "password": password}
        )
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )
        if status == 302:
            self.token = None  # Django rotates the CSRF token at login
            self.cookies.pop("sessionid", None)
        return status

    def close(self):
        self.conn.close()


def last_proxy_request_id(auth_log):
    """The request id of the newest auth line that came through the proxy."""
    rid = None
    with open(auth_log, encoding="utf-8") as f:
        for line in f:
            try:
                r = json.loads(line).get("request_id", "")
            except ValueError:
                continue
            if r and not r.startswith("local-"):
                rid = r
    if rid is None:
        # The proxy sets no id Django believes (a broken config): spoof a
        # well-formed one; the lab's checks report the failure.
        print("driver: no proxied auth line in %s" % auth_log, file=sys.stderr)
        rid = "0123456789abcdef0123456789abcdef"
    return rid


def run(args):
    posts = {"benign": 0, "spray": 0, "nocert": 0, "bypass": 0}
    outcomes = []

    def attempt(kind, client, user, password, expect, headers=None):
        status = client.login(user, password, headers)
        posts[kind] += 1
        # Django's LoginView: 302 to the landing page on success, the form
        # again (200) on failure; anything else is a lab fault.
        ok = status == (302 if expect else 200)
        outcomes.append({"kind": kind, "user": user, "status": status, "as_expected": ok})
        if not ok:
            print("driver %s: %s login as %r: status %d, expected %d" % (
                args.name, kind, user, status, 302 if expect else 200), file=sys.stderr)

    P = USERS
    # Benign employees: typos, then success.
    c = Client(args.port, args.certs, "alice")
    attempt("benign", c, "alice", "alice-correct-hrose", False)
    attempt("benign", c, "alcie", P["alice"], False)  # username typo
    attempt("benign", c, "alice", P["alice"], True)
    c.close()
    # bob sends his own X-Request-ID: alice's real proxy id.
    spoof_via_proxy = last_proxy_request_id(args.auth_log)
    c = Client(args.port, args.certs, "bob", headers={"X-Request-ID": spoof_via_proxy})
    attempt("benign", c, "bob", "bob-battery-stapel", False)
    attempt("benign", c, "bob", P["bob"], True)
    c.close()
    c = Client(args.port, args.certs, "carol")
    attempt("benign", c, "carol", "Carol-purple-monkey", False)
    attempt("benign", c, "carol", "carol-purple-monky", False)
    attempt("benign", c, "carol", P["carol"], True)
    c.close()
    c = Client(args.port, args.certs, "zoe")
    attempt("benign", c, "zoe", "zoe-fjord-onske", False)
    attempt("benign", c, "zoe", P["zoe"], True)
    c.close()
    # The shared SSO gateway certificate carries several people.
    c = Client(args.port, args.certs, "gateway")
    attempt("benign", c, "dave", "dave-seven-bridge", False)
    attempt("benign", c, "dave", P["dave"], True)
    attempt("benign", c, "alice", P["alice"], True)
    attempt("benign", c, "bob", P["bob"], True)
    c.close()

    # The stolen certificate sprays two passwords over the usernames: the
    # first round fails everywhere, the second opens guest.
    c = Client(args.port, args.certs, "frank")
    for password in SPRAY_ROUNDS:
        for u in SPRAY_USERS:
            ok = u == "guest" and password == SPRAY_PASSWORD
            attempt("spray", c, u, password, ok)
            if ok:
                c.close()
                c = Client(args.port, args.certs, "frank")
    c.close()

    # No client certificate at all.
    c = Client(args.port, args.certs, None)
    for u in NOCERT_USERS:
        attempt("nocert", c, u, SPRAY_PASSWORD, False)
    c.close()

    # Straight to gunicorn, claiming a real proxy request id.
    spoof_direct = last_proxy_request_id(args.auth_log)
    c = Client(args.direct_port, direct=True,
               headers={"X-Request-ID": spoof_direct, "X-Forwarded-For": "10.9.8.7"})
    for u in BYPASS_USERS:
        attempt("bypass", c, u, SPRAY_PASSWORD, False)
    c.close()

    manifest = {
        "name": args.name,
        "posts": posts,
        "proxied_posts": posts["benign"] + posts["spray"] + posts["nocert"],
        "direct_posts": posts["bypass"],
        "spoofed_ids": [spoof_via_proxy, spoof_direct],
        "benign_users": ["alice", "alcie", "bob", "carol", "dave", "zoe"],
        "benign_certs": ["alice", "bob", "carol", "zoe", "gateway"],
        "stolen_cert": "frank",
        "spray_users": SPRAY_USERS,
        "spray_success_user": "guest",
        # What Django logs: its login form applies NFKC and trims.
        "nocert_users": [unicodedata.normalize("NFKC", u).strip() for u in NOCERT_USERS],
        "weird_users": [unicodedata.normalize("NFKC", u).strip() for u in WEIRD_USERS],
        "bypass_users": BYPASS_USERS,
        "bypass_ip": "127.0.0.2",
        "nocert_ip": "127.0.0.1",
        "unexpected_outcomes": [o for o in outcomes if not o["as_expected"]],
    }
    with open(args.manifest, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    bad = len(manifest["unexpected_outcomes"])
    print("driver %s: %d logins through the proxy, %d direct, %d unexpected outcomes" % (
        args.name, manifest["proxied_posts"], manifest["direct_posts"], bad), file=sys.stderr)
    return 1 if bad else 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("users")
    u.add_argument("file")
    r = sub.add_parser("run")
    r.add_argument("--name", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--direct-port", type=int, required=True)
    r.add_argument("--certs", required=True)
    r.add_argument("--auth-log", required=True)
    r.add_argument("--manifest", required=True)
    args = ap.parse_args(argv[1:])
    if args.cmd == "users":
        with open(args.file, "w", encoding="utf-8") as f:
            json.dump(USERS, f, ensure_ascii=False)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
