#!/usr/bin/python3
"""Soak: N mixed requests against one httpd per session store (shared memory, then Redis).

Run through scripts/soak.sh (CI: --requests 50000; full: --requests 1000000). For each store:

  1. starts a real OP (tests/op/op.js), for Redis a real redis-server on a free loopback port,
     and a private httpd (event MPM, fixed pool of 2 processes x 32 threads, never recycled:
     MaxConnectionsPerChild 0, no spare-thread reaping) whose access log records the status and
     the request line of every request;
  2. signs users in through the OP (valid sessions), signs some of them out again (ended
     sessions), and signs bearer tokens with the OP's own key (good ones, and expired, wrong
     audience, wrong issuer, bad signature, alg none, HS256, unknown kid, wrong scope);
  3. writes a list of raw HTTP requests, each tagged with its kind in the query (`_k=<kind>`):
     valid sessions, sessions past a location's age limit, ended, forged, truncated, oversized
     and garbled cookies, good and bad bearer tokens, spoofed identity headers, the login,
     callback, logout and back-channel handlers with bogus queries and bodies, malformed
     requests httpd itself refuses;
  4. runs wrk (tests/soak/rotate.lua goes round the list) for a warm-up, samples the resident
     memory of the httpd children, runs the N requests, samples again;
  5. checks: no crash line (exit signal, AH00052, Segmentation, core dumped) and nothing at
     warn or above in the error log; the same children alive before and after (none died or was
     replaced); no 5xx at all and every kind answered one of its expected statuses (from the
     access log); each child's RSS grew by no more than max(--rss-mib MiB, --rss-pct %) between
     the samples.

Prints a summary; --report FILE writes the figures as JSON. Exit status 0 when every check
passed. Everything runs on loopback and is stopped at the end, also on failure.
"""
import argparse
import collections
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

from harness import LOCATIONS, OP, Httpd, coinpay_directives, free_port, login  # noqa: E402
from harness.httpd import STD_MODULES  # noqa: E402
from harness.load import RedisProc, httpd_children, rss_kib  # noqa: E402
from harness.util import make_world_readable  # noqa: E402
from jwt_util import (access_claims, hs256_with, op_signing_key, sign_rs256,  # noqa: E402
                      unsigned)

CLIENT, SECRET = "soak-rp", "soak-rp-secret-0123456789"
PASSPHRASE = "soak-passphrase-0123456789abcdef0123"
AUDIENCE = "https://api.soak.example"
COOKIE = "coinpay_session"
LUA = os.path.join(HERE, "rotate.lua")
MODULES = [m for m in STD_MODULES if m != "cgid"]
# Error-log lines the mix provokes on purpose (tag: why); anything else at warn or above fails.
ALLOWED_LOG = {"CPA00181": "a refused back-channel logout token (warn by design)",
               "AH10244": "httpd core: invalid URI path (raw_bad_path_escape)"}
CRASH = ("exit signal", "AH00052", "Segmentation", "core dumped", "AddressSanitizer")

POOL = """
StartServers 2
ServerLimit 2
ThreadLimit 32
ThreadsPerChild 32
MaxRequestWorkers 64
MinSpareThreads 8
MaxSpareThreads 64
MaxConnectionsPerChild 0
MaxKeepAliveRequests 0
KeepAliveTimeout 30
"""

SOAK_LOCATIONS = LOCATIONS + """
<Location /api/auth/backchannel/coinpay>
    SetHandler coinpay-backchannel-logout
    Require all granted
</Location>
<Location /app/strict>
    CoinpayLocationMaxAge 1
</Location>
<Location /api/profile>
    AuthType coinpay-bearer
    Require coinpay-scope profile
</Location>
<Location /api/pay>
    AuthType coinpay-bearer
    Require coinpay-scope payments
</Location>
"""

BROWSER = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate",
           "Sec-Fetch-Dest": "document", "User-Agent": "soak-browser"}
API = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest",
       "User-Agent": "soak-api"}


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class SoakHttpd(Httpd):
    """The harness httpd with the soak's access log (status, microseconds, request line), no
    mod_cgid (its daemon would be one more child), and the bearer locations' files."""

    def conf_text(self):
        keep = [l for l in super().conf_text().split("\n")
                if not l.startswith(("ScriptSock", "CustomLog", "LogFormat"))]
        keep += ['LogFormat "%>s %D \\"%r\\"" soak', f'CustomLog "{self.access_log}" soak']
        return "\n".join(keep) + "\n"

    def write(self):
        super().write()
        for d in ("app/strict", "api/profile", "api/pay"):
            os.makedirs(os.path.join(self.root, "htdocs", d), exist_ok=True)
            with open(os.path.join(self.root, "htdocs", d, "index.html"), "w") as f:
                f.write("<!doctype html><title>soak</title><p>ok</p>\n")
        make_world_readable(self.root)


# -- the request mix -------------------------------------------------------------------------------
class Mix:
    """Raw HTTP/1.1 requests, each with its kind and the statuses it may get (None: anything
    below 500)."""

    def __init__(self, port):
        self.host = f"127.0.0.1:{port}"
        self.items = []          # (kind, raw bytes)
        self.expect = {}         # kind -> set of statuses or None
        self.raw_kinds = []      # (kind, raw template): deliberately broken or odd requests

    def add(self, kind, path, headers=None, method="GET", body=None, expect=None, weight=1,
            raw=None):
        path, _, query = path.partition("?")
        target = f"{path}?_k={kind}" + (f"&{query}" if query else "")
        if raw is not None:
            self.raw_kinds.append((kind, raw))
        if raw is None:
            lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}"]
            for k, v in (headers or {}).items():
                lines.append(f"{k}: {v}")
            data = body.encode() if isinstance(body, str) else (body or b"")
            if method == "POST":
                lines.append("Content-Type: application/x-www-form-urlencoded")
                lines.append(f"Content-Length: {len(data)}")
            req = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
        else:
            req = raw.replace(b"{target}", target.encode()).replace(b"{host}", self.host.encode())
        self.expect[kind] = set(expect) if expect else None
        self.items += [(kind, req)] * weight

    def write_lua(self, path):
        """A Lua file returning the requests as a table of strings (decimal escapes)."""
        def esc(b):
            return "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else f"\\{c:03d}"
                           for c in b)
        rng = secrets.SystemRandom()
        items = list(self.items)
        rng.shuffle(items)
        # wrk parses the first request its first thread sends (rotate.lua: thread t starts at
        # index t*7919 mod n) and exits when it is not well-formed HTTP, so a raw kind (a
        # deliberately broken request) must not sit where a thread starts: swap it with a
        # well-formed one. Without this, "This is not a header" landed there once in ~50 runs.
        starts = {(t * 7919) % len(items) for t in range(1, 33)}
        raw = {kind for kind, _ in self.raw_kinds}
        fine = [i for i in range(len(items)) if i not in starts and items[i][0] not in raw]
        for i in sorted(starts):
            if items[i][0] in raw:
                j = fine.pop()
                items[i], items[j] = items[j], items[i]
        with open(path, "w") as f:
            f.write("return {\n")
            for _, req in items:
                f.write(f'"{esc(req)}",\n')
            f.write("}\n")
        return len(items)


def build_mix(port, op, cookies, ended, bearer):
    m = Mix(port)
    ok, ok2 = cookies[0], cookies[1]
    # Sessions.
    for i, c in enumerate(cookies):
        m.add("session_api", "/app/data.json", {**API, "Cookie": f"{COOKIE}={c}"},
              expect={200}, weight=2)
        m.add("session_page", "/app/", {**BROWSER, "Cookie": f"theme=dark; {COOKIE}={c}"},
              expect={200})
    m.add("session_too_old_here", "/app/strict/", {**API, "Cookie": f"{COOKIE}={ok}"},
          expect={401})
    m.add("session_too_old_here_page", "/app/strict/", {**BROWSER, "Cookie": f"{COOKIE}={ok2}"},
          expect={302})
    for c in ended:
        m.add("session_ended", "/app/data.json", {**API, "Cookie": f"{COOKIE}={c}"},
              expect={401})
        m.add("session_ended_page", "/app/", {**BROWSER, "Cookie": f"{COOKIE}={c}"},
              expect={302})
    m.add("cookie_forged", "/app/data.json",
          {**API, "Cookie": f"{COOKIE}={secrets.token_urlsafe(32)}"}, expect={401}, weight=2)
    m.add("cookie_forged_page", "/app/", {**BROWSER, "Cookie": f"{COOKIE}={secrets.token_urlsafe(32)}"},
          expect={302})
    m.add("cookie_truncated", "/app/data.json", {**API, "Cookie": f"{COOKIE}={ok[:len(ok) // 2]}"},
          expect={401})
    m.add("cookie_one_char_off", "/app/data.json",
          {**API, "Cookie": f"{COOKIE}={ok[:-1]}{'A' if ok[-1] != 'A' else 'B'}"}, expect={401})
    m.add("cookie_empty", "/app/data.json", {**API, "Cookie": f"{COOKIE}="}, expect={401})
    m.add("cookie_huge", "/app/data.json", {**API, "Cookie": f"{COOKIE}={'x' * 6000}"},
          expect={401})
    m.add("cookie_garbled", "/app/data.json",
          {**API, "Cookie": f'{COOKIE}="%00%ff\\\\;;=={COOKIE}; ;=;{COOKIE}'}, expect={401})
    m.add("cookie_duplicate", "/app/data.json",
          {**API, "Cookie": f"{COOKIE}={secrets.token_urlsafe(32)}; {COOKIE}={ok}"})
    m.add("cookie_login_forged", "/app/data.json",
          {**API, "Cookie": f"coinpay_login_abc={secrets.token_urlsafe(60)}; {COOKIE}={ok}"},
          expect={200})
    m.add("no_cookie_page", "/app/", BROWSER, expect={302})
    m.add("no_cookie_api", "/app/data.json", API, expect={401})
    m.add("spoofed_identity_headers", "/app/data.json",
          {**API, "Cookie": f"{COOKIE}={ok}", "Coinpay-Claim-email": "evil@example.com",
           "COINPAY-PROVIDER": "evil", "Coinpay-Issuer": "http://evil", "Remote-User": "admin"},
          expect={200})
    m.add("public_with_module_cookies", "/public/",
          {**BROWSER, "Cookie": f"{COOKIE}={ok}; coinpay_login_x=y; other=1"}, expect={200})
    m.add("public", "/", BROWSER, expect={200})
    # Bearer tokens.
    good = bearer["good"]
    m.add("bearer_ok", "/api/profile/", {"Authorization": f"Bearer {good}"}, expect={200},
          weight=6)
    m.add("bearer_ok_lowercase_scheme", "/api/profile/", {"Authorization": f"bearer {good}"})
    m.add("bearer_wrong_scope", "/api/pay/", {"Authorization": f"Bearer {good}"}, expect={403})
    for name in ("expired", "wrong_aud", "wrong_iss", "bad_signature", "stranger_key",
                 "alg_none", "hs256", "unknown_kid", "not_at_jwt", "no_exp"):
        m.add(f"bearer_{name}", "/api/profile/", {"Authorization": f"Bearer {bearer[name]}"},
              expect={401})
    m.add("bearer_garbage", "/api/profile/", {"Authorization": "Bearer not-a-token"},
          expect={400, 401})
    m.add("bearer_dots", "/api/profile/", {"Authorization": "Bearer ..."}, expect={400, 401})
    m.add("bearer_huge", "/api/profile/", {"Authorization": "Bearer " + "A" * 7000},
          expect={400, 401})
    m.add("bearer_empty", "/api/profile/", {"Authorization": "Bearer "}, expect={400, 401})
    m.add("bearer_basic", "/api/profile/", {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
          expect={400, 401})
    m.add("bearer_truncated", "/api/profile/", {"Authorization": f"Bearer {good[:-20]}"},
          expect={400, 401})
    m.add("bearer_missing", "/api/profile/", {}, expect={401})
    m.add("bearer_in_query", f"/api/profile/?access_token={good}", {}, expect={400, 401})
    m.add("bearer_on_session_location", "/app/data.json",
          {**API, "Authorization": f"Bearer {good}"}, expect={401})
    # Handlers with bogus input.
    m.add("login_start", "/api/auth/login/coinpay?return_to=/app/", BROWSER, expect={302})
    m.add("login_open_redirect", "/api/auth/login/coinpay?return_to=https://evil.example/",
          BROWSER)
    m.add("login_scheme_relative", "/api/auth/login/coinpay?return_to=//evil.example/x",
          BROWSER)
    m.add("login_crlf", "/api/auth/login/coinpay?return_to=%0d%0aSet-Cookie:%20x=1", BROWSER)
    m.add("login_bad_escape", "/api/auth/login/coinpay?return_to=%zz%&&==", BROWSER)
    m.add("login_huge_query", "/api/auth/login/coinpay?return_to=/" + "a" * 6000, BROWSER)
    m.add("callback_bogus", "/api/auth/callback/coinpay?code=abc&state=def", BROWSER)
    m.add("callback_forged_cookie", "/api/auth/callback/coinpay?code=abc&state=def",
          {**BROWSER, "Cookie": f"coinpay_login_{secrets.token_hex(8)}={secrets.token_urlsafe(90)}"})
    m.add("callback_empty", "/api/auth/callback/coinpay", BROWSER)
    m.add("callback_error", "/api/auth/callback/coinpay?error=access_denied&state=x"
          "&error_description=%3Cscript%3E", BROWSER)
    m.add("callback_repeated_params", "/api/auth/callback/coinpay?code=a&code=b&state=c&state=d",
          BROWSER)
    m.add("logout_anonymous", "/api/auth/logout/coinpay?return_to=/bye", BROWSER)
    m.add("logout_forged_cookie", "/api/auth/logout/coinpay?return_to=https://evil.example/",
          {**BROWSER, "Cookie": f"{COOKIE}={secrets.token_urlsafe(32)}"})
    m.add("logout_cross_site", "/api/auth/logout/coinpay",
          {**BROWSER, "Sec-Fetch-Site": "cross-site", "Cookie": f"{COOKIE}={ok}"})
    m.add("logout_post_without_token", "/api/auth/logout/coinpay",
          {**BROWSER, "Cookie": f"{COOKIE}={ok}", "Sec-Fetch-Site": "cross-site"},
          method="POST", body="x=1")
    m.add("backchannel_garbage", "/api/auth/backchannel/coinpay", {}, method="POST",
          body="logout_token=garbage", expect={400})
    m.add("backchannel_empty", "/api/auth/backchannel/coinpay", {}, method="POST", body="",
          expect={400})
    m.add("backchannel_forged", "/api/auth/backchannel/coinpay", {}, method="POST",
          body="logout_token=" + bearer["stranger_key"], expect={400})
    m.add("backchannel_get", "/api/auth/backchannel/coinpay", {})
    # Requests httpd itself refuses before the module sees them (the connection is closed).
    m.add("raw_header_without_colon", "/app/data.json", raw=(
        b"GET {target} HTTP/1.1\r\nHost: {host}\r\nThis is not a header\r\n\r\n"),
        expect={400})
    m.add("raw_bad_path_escape", "/app/%zz", raw=(
        b"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n"), expect={400, 404})
    m.add("raw_http10_no_host", "/app/data.json", raw=(
        b"GET {target} HTTP/1.0\r\nAccept: application/json\r\n\r\n"), expect={401})
    return m


def make_bearer_tokens(op):
    key, kid = op_signing_key(op.key_file)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    life = 6 * 3600

    def claims(**kw):
        base = dict(issuer=op.issuer, audience=AUDIENCE, scope="profile", lifetime=life)
        base.update(kw)
        return access_claims(**base)
    good = sign_rs256(claims(), key, kid)
    sig = good.rsplit(".", 1)[1]
    mid = len(sig) // 2
    flipped = sig[:mid] + ("A" if sig[mid] != "A" else "B") + sig[mid + 1:]
    noexp = claims()
    del noexp["exp"]
    return {
        "good": good,
        "expired": sign_rs256(claims(lifetime=-600, iat=now - 1200), key, kid),
        "wrong_aud": sign_rs256(claims(audience="https://other.example"), key, kid),
        "wrong_iss": sign_rs256(claims(issuer="http://127.0.0.1:1/evil"), key, kid),
        "bad_signature": good.rsplit(".", 1)[0] + "." + flipped,
        "stranger_key": sign_rs256(claims(), stranger, kid),
        "alg_none": unsigned(claims()),
        "hs256": hs256_with(b"guessed-secret", claims(), kid),
        "unknown_kid": sign_rs256(claims(), key, "no-such-kid"),
        "not_at_jwt": sign_rs256(claims(), key, kid, typ="JWT"),
        "no_exp": sign_rs256(noexp, key, kid),
    }


# -- running -----------------------------------------------------------------------------------------
def sign_in(h, user):
    s = requests.Session()
    r = login(s, h.base_url, user)
    if r.status_code != 200 or not s.cookies.get(COOKIE):
        raise RuntimeError(f"sign-in of {user} ended with {r.status_code}: {r.text[:200]}")
    return s, s.cookies.get(COOKIE)


def run_wrk(h, lua_data, total, connections, threads, cap):
    """wrk until each thread has had its share of `total` responses (then SIGINT: wrk's main
    thread would otherwise sleep out the whole -d), or `cap` seconds."""
    per_thread = max(1, -(-total // threads))
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(cap)}s", "--timeout", "10s",
           "-s", LUA, h.base_url + "/", "--", lua_data, str(per_thread)]
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done, other = 0, []
    for line in p.stderr:
        if line.strip() == "soak-thread-done":
            done += 1
            if done == threads:
                took = time.monotonic() - start
                p.send_signal(signal.SIGINT)
        else:
            other.append(line)
    out = p.stdout.read()
    p.wait(60)
    if done < threads:
        took = time.monotonic() - start
    out += "".join(other)
    m = re.search(r"(\d+) requests in", out)
    errs = re.search(r"Socket errors: (.*)", out)
    return {"wrk_requests": int(m.group(1)) if m else 0, "seconds": round(took, 1),
            "socket_errors": errs.group(1).strip() if errs else "", "rc": p.returncode,
            "threads_done": done, "output": out}


_LINE = re.compile(r'^(\d{3}) (\d+) "(.*)"$')
_KIND = re.compile(r"[?&]_k=([A-Za-z0-9_]+)")


def access_counts(h, offset):
    """{kind: Counter(status)}, max duration (µs) of the access-log lines after offset."""
    counts = collections.defaultdict(collections.Counter)
    slowest = 0
    with open(h.access_log, "rb") as f:
        f.seek(offset)
        for raw in f:
            line = raw.decode(errors="replace").rstrip("\n")
            m = _LINE.match(line)
            if not m:
                counts["unparsed_log_line"][line[:3]] += 1
                continue
            k = _KIND.search(m.group(3))
            counts[k.group(1) if k else "no_kind"][int(m.group(1))] += 1
            slowest = max(slowest, int(m.group(2)))
    return counts, slowest


def sample(h):
    return {pid: rss_kib(pid) for pid in httpd_children(h)}


def soak_store(store, args, op, port, workdir):
    """One store's soak; returns (figures, [failures])."""
    fails = []
    redis = None
    h = None
    fig = {"store": store}
    try:
        extra = f"CoinpayBearerAudience {AUDIENCE}\nCoinpayJWKSRefetchInterval 300"
        if store == "redis":
            redis = RedisProc(os.path.join(workdir, "redis")).start()
            extra += f"\nCoinpaySessionStore {redis.url(3)}\nCoinpayRedisTimeout 2"
        coinpay = coinpay_directives(op.issuer, CLIENT, SECRET,
                                     f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
                                     passphrase=PASSPHRASE, extra=extra)
        root = os.path.join(workdir, f"httpd-{store}")
        h = SoakHttpd(port, coinpay=coinpay, locations=SOAK_LOCATIONS, extra_conf=POOL,
                      root=root, log_level="warn", modules=MODULES)
        h.start()
        problems = h.error_log_problems()
        if problems:
            fails.append(f"{store}: start-up logged: {problems[:3]}")
        cookies = [sign_in(h, f"soak-{store}-{i}")[1] for i in range(args.users)]
        ended = []
        for i in range(args.ended):
            s, c = sign_in(h, f"soak-{store}-gone-{i}")
            r = s.get(h.url("/api/auth/logout/coinpay?return_to=/bye"), headers=BROWSER,
                      allow_redirects=False, timeout=10)
            if r.status_code != 302:
                fails.append(f"{store}: logout of an 'ended' user answered {r.status_code}")
            ended.append(c)
        bearer = make_bearer_tokens(op)
        time.sleep(1.5)  # every session is now older than /app/strict's CoinpayLocationMaxAge
        mix = build_mix(port, op, cookies, ended, bearer)
        lua_data = os.path.join(workdir, f"requests-{store}.lua")
        n_items = mix.write_lua(lua_data)
        fig["mix"] = {"distinct_requests": n_items, "kinds": len(mix.expect)}
        cap = max(120, args.requests / 200)

        warm = min(max(5000, args.requests // 10), 50000)
        log(f"{store}: warm-up, {warm} requests ({n_items} requests in the rotation, "
            f"{len(mix.expect)} kinds)")
        w = run_wrk(h, lua_data, warm, args.connections, args.threads, cap)
        fig["warmup"] = {"requests": w["wrk_requests"], "seconds": w["seconds"]}
        time.sleep(1)
        before = sample(h)
        offset = os.path.getsize(h.access_log)
        err_offset = h.error_log_offset()
        log(f"{store}: {args.requests} requests; children {sorted(before)}")
        r = run_wrk(h, lua_data, args.requests, args.connections, args.threads, cap)
        time.sleep(1)
        after = sample(h)
        counts, slowest = access_counts(h, offset)
        logged = sum(sum(c.values()) for c in counts.values())
        fig["run"] = {"wrk_requests": r["wrk_requests"], "logged_requests": logged,
                      "seconds": r["seconds"],
                      "requests_per_second": round(logged / r["seconds"]) if r["seconds"] else 0,
                      "socket_errors": r["socket_errors"], "slowest_ms": round(slowest / 1000, 1)}
        fig["statuses"] = {k: dict(sorted(v.items())) for k, v in sorted(counts.items())}
        log(f"{store}: {logged} requests logged in {r['seconds']} s "
            f"({fig['run']['requests_per_second']}/s), wrk: {r['socket_errors'] or 'no socket errors'}")
        if r["threads_done"] < args.threads:
            fails.append(f"{store}: wrk threads did not finish within the {cap:.0f} s cap")
        if r["rc"] not in (0, -signal.SIGINT):
            fails.append(f"{store}: wrk exited {r['rc']}: {r['output'][-500:]}")
        if logged < args.requests * 0.99:
            fails.append(f"{store}: only {logged} of {args.requests} requests were answered "
                         f"within the {cap:.0f} s cap")
        # Statuses.
        for kind, c in counts.items():
            five = {s: n for s, n in c.items() if s >= 500}
            if five:
                fails.append(f"{store}: {kind}: 5xx answers {five}")
            exp = mix.expect.get(kind)
            if kind == "no_kind" and set(c) <= {408}:
                continue  # connections wrk opened but sent nothing on before it stopped
            if kind not in mix.expect:
                fails.append(f"{store}: access-log lines of unknown kind {kind}: {dict(c)}")
            elif exp is not None:
                wrong = {s: n for s, n in c.items() if s not in exp}
                if wrong:
                    fails.append(f"{store}: {kind}: expected {sorted(exp)}, got also {wrong}")
        missing = [k for k in mix.expect if k not in counts]
        if missing:
            fails.append(f"{store}: kinds never answered: {missing}")
        # Error log and children.
        lines = h.error_log_lines(err_offset)
        crashes = [l for l in lines if any(c in l for c in CRASH)]
        problems = h.error_log_problems(allowed_tags=tuple(ALLOWED_LOG), since=err_offset)
        fig["error_log"] = {"lines": len(lines), "crash_lines": len(crashes),
                            "unexpected_warn_or_above": len(problems),
                            "allowed": {t: sum(t in l for l in lines) for t in ALLOWED_LOG}}
        if crashes:
            fails.append(f"{store}: crash lines: {crashes[:5]}")
        if problems:
            fails.append(f"{store}: {len(problems)} error-log line(s) at warn or above, first: "
                         f"{problems[:3]}")
        if sorted(before) != sorted(after) or len(before) != 2:
            fails.append(f"{store}: httpd children changed: before {sorted(before)}, after "
                         f"{sorted(after)}")
        rss = []
        for pid in sorted(before):
            b = before[pid].get("VmRSS", 0)
            a = after.get(pid, {}).get("VmRSS", 0)
            bound = max(args.rss_mib * 1024, b * args.rss_pct / 100)
            grew = a - b
            rss.append({"pid": pid, "before_kib": b, "after_kib": a, "growth_kib": grew,
                        "anon_before_kib": before[pid].get("RssAnon", 0),
                        "anon_after_kib": after.get(pid, {}).get("RssAnon", 0),
                        "bound_kib": round(bound)})
            if pid in after and grew > bound:
                fails.append(f"{store}: child {pid} RSS grew {grew} KiB ({b} -> {a}), bound "
                             f"{bound:.0f} KiB")
        fig["rss"] = rss
        for x in rss:
            log(f"{store}: child {x['pid']} RSS {x['before_kib']} -> {x['after_kib']} KiB "
                f"({x['growth_kib']:+d}; anon {x['anon_before_kib']} -> {x['anon_after_kib']})")
    except Exception as e:  # noqa: BLE001  reported as a failure of this store
        fails.append(f"{store}: {type(e).__name__}: {e}")
    finally:
        if h is not None:
            h.stop()
            fig["error_log_path"] = h.error_log
        if redis is not None:
            redis.stop()
    return fig, fails


def main(argv=None):
    ap = argparse.ArgumentParser(description="mod_coinpay_auth soak (see the module docstring)")
    ap.add_argument("--requests", type=int, default=50000, help="requests per store")
    ap.add_argument("--stores", default="shm,redis")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--users", type=int, default=8, help="signed-in users")
    ap.add_argument("--ended", type=int, default=3, help="users signed in, then out")
    ap.add_argument("--rss-mib", type=float, default=10.0)
    ap.add_argument("--rss-pct", type=float, default=15.0)
    ap.add_argument("--report", help="write the figures here as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        print("soak: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    stores = [s for s in args.stores.split(",") if s]
    from harness.load import REDIS_SERVER
    if "redis" in stores and not os.path.exists(REDIS_SERVER):
        print(f"soak: {REDIS_SERVER} is not installed (apt-get install redis-server)",
              file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="coinpay-soak-")
    os.chmod(workdir, 0o755)  # httpd's workers (www-data when run as root) read below it
    port = free_port()
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [f"http://127.0.0.1:{port}/api/auth/callback/coinpay"],
              "post_logout_redirect_uris": [f"http://127.0.0.1:{port}/bye"]}
    op = OP([client], workdir=os.path.join(workdir, "op"), quiet=True)
    os.makedirs(op.workdir, exist_ok=True)
    t0 = time.monotonic()
    figures, fails = [], []
    try:
        op.start()
        for store in stores:
            fig, f = soak_store(store, args, op, port, workdir)
            figures.append(fig)
            fails += f
    finally:
        op.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "requests_per_store": args.requests,
              "connections": args.connections, "threads": args.threads, "cpus": os.cpu_count(),
              "elapsed_seconds": round(time.monotonic() - t0, 1), "stores": figures,
              "failures": fails}
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
    for fig in figures:
        for kind, c in fig.get("statuses", {}).items():
            print(f"  {fig['store']:5} {kind:32} {c}")
    log(f"done in {report['elapsed_seconds']} s")
    if fails:
        print("SOAK FAILED:\n  " + "\n  ".join(fails), file=sys.stderr)
        return 1
    log("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
