#!/usr/bin/env python3
"""A Coinbase-like plain OAuth 2.0 server ("Sign in with Coinbase") for mod_coinpay_auth's
multi-provider tests. No OpenID Connect: no discovery, no ID token, no nonce.

Stdlib http.server (threaded), on 127.0.0.1 and a free port. Modelled on what Coinbase
documents (see /work/shared/reference/coinbase-oauth2-*.txt):

  GET  /oauth/authorize   validates client_id, redirect_uri (registered; the first one when
                          left out) and response_type=code; records every query parameter;
                          no UI: 302 straight back to redirect_uri with code and state
  POST /oauth/token       grant_type=authorization_code (client_secret_post or _basic; PKCE
                          code_verifier checked when a code_challenge was sent; redirect_uri
                          must match) and grant_type=refresh_token. Access tokens are opaque
                          (64 hex), expires_in 7200 unless configured. Refresh tokens are
                          SINGLE-USE: presenting a spent one answers 400 invalid_grant and
                          revokes the whole chain (every token of that sign-in).
  POST /oauth/revoke      needs `Authorization: Bearer <valid access token>` (else 401);
                          form token=...; 200 for anything (Coinbase answers 200 for both
                          successful and unsuccessful requests); the named token is revoked
                          (a refresh token takes its chain with it, as RFC 7009 suggests)
  GET  /v2/user           with a valid bearer: {"data": {"id": ..., "name": ..., "email": ...}}
                          (Coinbase's "show current user"); 401 otherwise

Test-only routes:
  GET  /__stats           JSON counters and recorded requests (see stats())
  POST /__reset           forget counters and scripting (tokens stay valid)
  POST /__control         JSON {"next_user": {"id": ..., "name": ..., "email": ...},
                          "access_token_ttl": s, "token_delay": s}

As a library:
    from coinbase_like import CoinbaseLike
    cb = CoinbaseLike(client_id="cb-client", client_secret="cb-secret",
                      redirect_uris=["http://127.0.0.1:8080/api/auth/callback/coinbase"]).start()
    cb.url("/oauth/authorize"); cb.set_next_user("cb-user-7", name="Seven"); cb.stats(); cb.stop()

Standalone:
    /usr/bin/python3 tests/op/coinbase_like.py --port 9292 --client-id cb-client \
        --client-secret cb-secret --redirect-uri http://127.0.0.1:8080/api/auth/callback/coinbase
"""
import argparse
import copy
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

from loopback_server import LoopbackHandler, LoopbackServer, b64u as _b64u

DEFAULT_USER_ID = "cb-user-1"
CODE_TTL = 600  # seconds an authorization code may wait for its exchange


def _user(user_id, name=None, email=None):
    name = name if name is not None else "Coinbase User " + user_id
    email = email if email is not None else f"{user_id}@example-business.com"
    return {"id": user_id, "name": name, "email": email}


class CoinbaseLike(LoopbackServer):
    """The server. Thread-safe; one instance may serve many tests (reset() between them)."""

    def __init__(self, client_id="cb-client", client_secret="cb-secret", redirect_uris=None,
                 port=0, host="127.0.0.1", access_token_ttl=7200, token_delay=0.0):
        super().__init__(host, port)
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris or [])
        self.default_access_token_ttl = access_token_ttl
        self.default_token_delay = token_delay
        self._lock = threading.Lock()
        self._codes = {}     # code -> {client_id, redirect_uri, challenge, method, user, scope,
                             #          chain, used}
        self._access = {}    # access token -> {chain, user, scope, exp, revoked}
        self._refresh = {}   # refresh token -> {chain, user, scope, used, revoked}
        self._chains = {}    # chain id -> {"access": [...], "refresh": [...], "revoked": bool}
        self.reset()

    # -- scripting / inspection ------------------------------------------------------------
    def reset(self):
        """Default user, default TTL and delay, zero counters. Issued tokens stay as they are."""
        with self._lock:
            self.next_user = _user(DEFAULT_USER_ID)
            self.access_token_ttl = self.default_access_token_ttl
            self.token_delay = self.default_token_delay
            self._stats = {
                "authorize_calls": 0,
                "authorize_requests": [],    # per authorize: list of [name, value] (decoded)
                "authorize_raw_queries": [],  # per authorize: the query string as received
                "authorize_errors": [],
                "token_calls": {},           # grant_type -> count (failed calls included)
                "token_errors": {},          # grant_type -> count of non-200 answers
                "token_auth_methods": [],    # client_secret_basic / client_secret_post
                "token_requests": [],        # form fields (client_secret left out)
                "access_tokens_issued": [],
                "refresh_tokens_issued": [],
                "refresh_tokens_presented": [],
                "refresh_token_reuse": 0,    # spent refresh tokens presented (chain revoked)
                "revocations": 0,
                "revoke_requests": [],       # {"token", "kind", "auth", "authorized", "status"}
                "revoked_tokens": [],        # token values revoked by an authorized call
                "user_calls": 0,
                "user_call_errors": 0,
                "user_call_tokens": [],
            }

    def set_next_user(self, user_id=DEFAULT_USER_ID, name=None, email=None):
        """Who signs in at the following authorize requests (until changed or reset())."""
        with self._lock:
            self.next_user = _user(user_id, name, email)

    def set(self, access_token_ttl=None, token_delay=None, next_user=None):
        """access_token_ttl: expires_in of tokens issued from now on; token_delay: seconds the
        token endpoint waits before answering; next_user: dict id/name/email."""
        with self._lock:
            if access_token_ttl is not None:
                self.access_token_ttl = int(access_token_ttl)
            if token_delay is not None:
                self.token_delay = float(token_delay)
        if next_user is not None:
            self.set_next_user(next_user.get("id", DEFAULT_USER_ID), next_user.get("name"),
                               next_user.get("email"))

    def stats(self):
        with self._lock:
            return copy.deepcopy(self._stats)

    def token_is_active(self, token):
        """True when token is a live access token or an unspent, unrevoked refresh token."""
        with self._lock:
            a = self._access.get(token)
            if a is not None:
                return self._access_ok(a)
            r = self._refresh.get(token)
            return r is not None and not r["used"] and not self._chain_revoked(r)

    # -- lifecycle -------------------------------------------------------------------------
    thread_name = "coinbase-like"

    # -- token bookkeeping (call with the lock held) ---------------------------------------
    def _chain_revoked(self, rec):
        return self._chains[rec["chain"]]["revoked"] or rec["revoked"]

    def _access_ok(self, a):
        return not self._chain_revoked(a) and time.time() < a["exp"]

    def _revoke_chain(self, chain):
        self._chains[chain]["revoked"] = True

    def _issue(self, chain, user, scope):
        access = secrets.token_hex(32)
        refresh = secrets.token_hex(32)
        ttl = self.access_token_ttl
        self._access[access] = {"chain": chain, "user": user, "scope": scope,
                                "exp": time.time() + ttl, "revoked": False}
        self._refresh[refresh] = {"chain": chain, "user": user, "scope": scope, "used": False,
                                  "revoked": False}
        self._chains[chain]["access"].append(access)
        self._chains[chain]["refresh"].append(refresh)
        self._stats["access_tokens_issued"].append(access)
        self._stats["refresh_tokens_issued"].append(refresh)
        return {"access_token": access, "token_type": "bearer", "expires_in": ttl,
                "refresh_token": refresh, "scope": scope}

    def _bearer(self, headers):
        """The access-token record named by `Authorization: Bearer ...` if it is valid."""
        auth = headers.get("Authorization", "")
        if not auth[:7].lower() == "bearer ":
            return None, None
        token = auth[7:].strip()
        a = self._access.get(token)
        if a is None or not self._access_ok(a):
            return token, None
        return token, a


_COINBASE_401 = {"errors": [{"id": "invalid_token",
                             "message": "The access token is invalid"}]}
_COINBASE_EXPIRED = {"errors": [{"id": "expired_token",
                                 "message": "The access token expired"}]}


class _Handler(LoopbackHandler):
    content_type = "application/json; charset=utf-8"

    @property
    def cb(self):
        return self.owner

    # -- routing ---------------------------------------------------------------------------
    def do_GET(self):
        u = urlsplit(self.path)
        if u.path == "/oauth/authorize":
            return self._authorize(u.query)
        if u.path == "/v2/user":
            return self._user()
        if u.path == "/__stats":
            return self.send(200, self.cb.stats())
        return self.send(404, {"errors": [{"id": "not_found", "message": "Not found"}]})

    def do_POST(self):
        u = urlsplit(self.path)
        raw = self.body()
        if u.path == "/__reset":
            self.cb.reset()
            return self.send(200, {"ok": True})
        if u.path == "/__control":
            try:
                self.cb.set(**json.loads(raw or b"{}"))
            except (ValueError, TypeError) as e:
                return self.send(400, {"error": str(e)})
            return self.send(200, {"ok": True})
        ctype = self.headers.get("Content-Type", "")
        if u.path in ("/oauth/token", "/oauth/revoke") and \
                not ctype.lower().startswith("application/x-www-form-urlencoded"):
            return self.send(400, {"error": "invalid_request",
                                    "error_description": "form-encoded body expected"})
        pairs = parse_qsl(raw.decode(errors="replace"), keep_blank_values=True)
        if u.path == "/oauth/token":
            return self._token(pairs)
        if u.path == "/oauth/revoke":
            return self._revoke(pairs)
        return self.send(404, {"errors": [{"id": "not_found", "message": "Not found"}]})

    # -- /oauth/authorize ------------------------------------------------------------------
    def _authorize(self, raw_query):
        cb = self.cb
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        with cb._lock:
            cb._stats["authorize_calls"] += 1
            cb._stats["authorize_requests"].append([list(p) for p in pairs])
            cb._stats["authorize_raw_queries"].append(raw_query)
            user = dict(cb.next_user)

        def fail(status, error, desc):
            with cb._lock:
                cb._stats["authorize_errors"].append(f"{error}: {desc}")
            return self.send(status, {"error": error, "error_description": desc})

        names = [k for k, _ in pairs]
        dups = sorted({k for k in names if names.count(k) > 1})
        if dups:  # RFC 6749 3.1: request parameters MUST NOT be included more than once
            return fail(400, "invalid_request", "repeated parameters: " + ", ".join(dups))
        q = dict(pairs)
        # Problems with client_id / redirect_uri are shown to the user, never redirected.
        if q.get("client_id") != cb.client_id:
            return fail(400, "invalid_client", "unknown client_id")
        redirect_uri = q.get("redirect_uri") or (cb.redirect_uris[0] if cb.redirect_uris
                                                 else None)
        if redirect_uri is None or redirect_uri not in cb.redirect_uris:
            return fail(400, "invalid_request", "redirect_uri is not registered")

        def back(params):
            if "state" in q:
                params["state"] = q["state"]
            sep = "&" if "?" in redirect_uri else "?"
            return self.send(302, "", "text/plain",
                              {"Location": redirect_uri + sep + urlencode(params)})

        if q.get("response_type") != "code":
            with cb._lock:
                cb._stats["authorize_errors"].append("unsupported_response_type")
            return back({"error": "unsupported_response_type",
                         "error_description": "response_type must be code"})
        challenge = q.get("code_challenge")
        method = q.get("code_challenge_method", "plain" if challenge else None)
        if challenge is not None and method not in ("S256", "plain"):
            return back({"error": "invalid_request",
                         "error_description": "unsupported code_challenge_method"})
        code = _b64u(secrets.token_bytes(24))
        with cb._lock:
            chain = secrets.token_hex(8)
            cb._chains[chain] = {"access": [], "refresh": [], "revoked": False}
            cb._codes[code] = {"client_id": q["client_id"],
                               "redirect_uri": q.get("redirect_uri"),
                               "challenge": challenge, "method": method, "user": user,
                               "scope": q.get("scope", ""), "chain": chain, "used": False,
                               "exp": time.time() + CODE_TTL}
        return back({"code": code})

    # -- /oauth/token ----------------------------------------------------------------------
    def _client_auth(self, form):
        """(method, ok, error response or None)"""
        cb = self.cb
        auth = self.headers.get("Authorization", "")
        has_basic = auth[:6].lower() == "basic "
        if has_basic and "client_secret" in form:
            return None, False, (400, {"error": "invalid_request",
                                       "error_description": "more than one client authentication"})
        if has_basic:
            cid, sec = self.basic_credentials()
            if sec is None:
                return "client_secret_basic", False, None
            if "client_id" in form and form["client_id"] != cid:
                return "client_secret_basic", False, None
            method = "client_secret_basic"
        else:
            cid, sec = form.get("client_id"), form.get("client_secret")
            method = "client_secret_post"
        ok = (cid == cb.client_id and sec is not None
              and hmac.compare_digest(sec.encode(), cb.client_secret.encode()))
        return method, ok, None

    def _token(self, pairs):
        cb = self.cb
        form = dict(pairs)
        gt = form.get("grant_type", "")
        with cb._lock:
            cb._stats["token_calls"][gt] = cb._stats["token_calls"].get(gt, 0) + 1
            cb._stats["token_requests"].append(
                {k: v for k, v in form.items() if k != "client_secret"})
            delay = cb.token_delay
        if delay:
            time.sleep(delay)
        status, body = self._token_answer(pairs, form, gt)
        if status != 200:
            with cb._lock:
                cb._stats["token_errors"][gt] = cb._stats["token_errors"].get(gt, 0) + 1
        headers = {"WWW-Authenticate": 'Basic realm="coinbase"'} if status == 401 else None
        return self.send(status, body, headers=headers)

    def _token_answer(self, pairs, form, gt):
        cb = self.cb
        names = [k for k, _ in pairs]
        if len(names) != len(set(names)):
            return 400, {"error": "invalid_request", "error_description": "repeated parameters"}
        method, ok, err = self._client_auth(form)
        with cb._lock:
            cb._stats["token_auth_methods"].append(method)
        if err:
            return err
        if not ok:
            return 401, {"error": "invalid_client",
                         "error_description": "Client authentication failed"}
        if gt == "authorization_code":
            return self._code_grant(form)
        if gt == "refresh_token":
            return self._refresh_grant(form)
        return 400, {"error": "unsupported_grant_type"}

    def _code_grant(self, form):
        cb = self.cb
        code = form.get("code", "")
        with cb._lock:
            rec = cb._codes.get(code)
            if rec is None or rec["exp"] < time.time():
                return 400, {"error": "invalid_grant",
                             "error_description": "The authorization code is invalid"}
            if rec["used"]:  # replayed code: revoke what it gave (RFC 6749 4.1.2)
                cb._revoke_chain(rec["chain"])
                return 400, {"error": "invalid_grant",
                             "error_description": "The authorization code was already used"}
            rec["used"] = True
            if rec["client_id"] != cb.client_id:
                return 400, {"error": "invalid_grant", "error_description": "client mismatch"}
            # Coinbase requires redirect_uri at the exchange; it must be the one authorized.
            expected = rec["redirect_uri"] or (cb.redirect_uris[0] if cb.redirect_uris else None)
            if form.get("redirect_uri") != expected:
                return 400, {"error": "invalid_grant",
                             "error_description": "redirect_uri does not match"}
            if rec["challenge"] is not None:
                verifier = form.get("code_verifier")
                if not verifier:
                    return 400, {"error": "invalid_grant",
                                 "error_description": "code_verifier missing"}
                if rec["method"] == "S256":
                    got = _b64u(hashlib.sha256(verifier.encode()).digest())
                else:
                    got = verifier
                if not hmac.compare_digest(got.encode(), rec["challenge"].encode()):
                    return 400, {"error": "invalid_grant",
                                 "error_description": "PKCE verification failed"}
            elif "code_verifier" in form:
                return 400, {"error": "invalid_grant",
                             "error_description": "code_verifier without code_challenge"}
            return 200, cb._issue(rec["chain"], rec["user"], rec["scope"])

    def _refresh_grant(self, form):
        cb = self.cb
        rt = form.get("refresh_token", "")
        with cb._lock:
            cb._stats["refresh_tokens_presented"].append(rt)
            rec = cb._refresh.get(rt)
            if rec is None:
                return 400, {"error": "invalid_grant",
                             "error_description": "The refresh token is invalid"}
            if rec["used"]:
                # Single use, like Coinbase: a second use looks like theft; end the chain.
                cb._stats["refresh_token_reuse"] += 1
                cb._revoke_chain(rec["chain"])
                return 400, {"error": "invalid_grant",
                             "error_description": "The refresh token was already used"}
            if cb._chain_revoked(rec):
                return 400, {"error": "invalid_grant",
                             "error_description": "The refresh token was revoked"}
            rec["used"] = True
            return 200, cb._issue(rec["chain"], rec["user"], rec["scope"])

    # -- /oauth/revoke ---------------------------------------------------------------------
    def _revoke(self, pairs):
        cb = self.cb
        form = dict(pairs)
        token = form.get("token")
        auth = self.headers.get("Authorization", "")
        with cb._lock:
            cb._stats["revocations"] += 1
            bearer, a = cb._bearer(self.headers)
            kind = ("access" if token in cb._access else
                    "refresh" if token in cb._refresh else "unknown")
            entry = {"token": token, "kind": kind,
                     "auth": auth.split(" ", 1)[0].lower() if auth else None,
                     "bearer": bearer, "authorized": a is not None}
            cb._stats["revoke_requests"].append(entry)
            if a is None:
                entry["status"] = 401
                status, body = 401, _COINBASE_401
            else:
                entry["status"] = 200
                status, body = 200, {}
                if token is not None:
                    cb._stats["revoked_tokens"].append(token)
                    if kind == "access":
                        cb._access[token]["revoked"] = True
                    elif kind == "refresh":
                        cb._revoke_chain(cb._refresh[token]["chain"])
        headers = ({"WWW-Authenticate": 'Bearer realm="Coinbase", error="invalid_token"'}
                   if status == 401 else None)
        return self.send(status, body, headers=headers)

    # -- /v2/user --------------------------------------------------------------------------
    def _user(self):
        cb = self.cb
        with cb._lock:
            cb._stats["user_calls"] += 1
            bearer, a = cb._bearer(self.headers)
            cb._stats["user_call_tokens"].append(bearer)
            expired = (a is None and bearer in cb._access
                       and not cb._chain_revoked(cb._access[bearer]))
            if a is None:
                cb._stats["user_call_errors"] += 1
            user = dict(a["user"]) if a else None
        if user is None:
            return self.send(401, _COINBASE_EXPIRED if expired else _COINBASE_401,
                              headers={"WWW-Authenticate": 'Bearer realm="Coinbase"'})
        uid = user["id"]
        data = {"id": uid, "name": user["name"], "username": uid,
                "profile_location": None, "profile_bio": None,
                "profile_url": f"https://www.coinbase.com/{uid}",
                "avatar_url": "https://images.coinbase.com/avatar?s=128",
                "resource": "user", "resource_path": "/v2/user",
                "email": user["email"], "time_zone": "UTC", "native_currency": "USD",
                "country": {"code": "US", "name": "United States of America"},
                "created_at": "2024-01-02T03:04:05Z"}
        return self.send(200, {"data": data})


CoinbaseLike.handler_class = _Handler


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--client-id", default="cb-client")
    ap.add_argument("--client-secret", default="cb-secret")
    ap.add_argument("--redirect-uri", action="append", default=[],
                    help="a registered redirect URI (repeatable; the first is the default)")
    ap.add_argument("--access-token-ttl", type=int, default=7200)
    a = ap.parse_args(argv)
    cb = CoinbaseLike(client_id=a.client_id, client_secret=a.client_secret,
                      redirect_uris=a.redirect_uri, port=a.port, host=a.host,
                      access_token_ttl=a.access_token_ttl).start()
    print(f"COINBASE-LIKE READY {cb.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        cb.stop()


if __name__ == "__main__":
    sys.exit(main())
