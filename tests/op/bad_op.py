#!/usr/bin/env python3
"""A scriptable *misbehaving* OpenID Provider for mod_coinpay_auth's negative tests.

Stdlib http.server (threaded) + python3-cryptography, on 127.0.0.1 and a free port.

  /.well-known/openid-configuration   discovery (CoinPay's route names)
  /.well-known/jwks.json              the RS256 public key
  /oauth/authorize                    no login UI: 302 straight back to redirect_uri with a code
                                      and the given state (or error=... when scripted)
  /oauth/token                        code -> tokens; the ID token carries the scripted defect
  /oauth/userinfo, /oauth/revoke      minimal
  POST /__control                     JSON {"defect": "...", "claims": {...}, ...} scripts what
                                      follows (see DEFECTS); {"defect": null} = honest
  GET  /__stats                       JSON counters and the last authorize/token requests

As a library:
    from bad_op import BadOP
    with BadOP(client_id="rp", client_secret="s", defect="wrong_iss") as op:
        op.issuer ...; op.set(defect="expired")

Standalone:  /usr/bin/python3 tests/op/bad_op.py --port 9191 --client-id rp --client-secret s
"""
import argparse
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from loopback_server import LoopbackHandler, LoopbackServer, b64u

DEFECTS = {
    None: "honest provider",
    "bad_signature": "RS256 signature with one byte flipped",
    "wrong_iss": "iss is another issuer",
    "wrong_aud": "aud is another client",
    "aud_array_without_client": "aud is an array that does not contain the client",
    "expired": "exp an hour in the past",
    "missing_exp": "no exp claim",
    "future_iat": "iat and nbf an hour in the future",
    "wrong_nonce": "nonce is not the one sent to /oauth/authorize",
    "missing_nonce": "no nonce claim",
    "alg_none": "alg none, empty signature",
    "hs256_public_key": "HS256 with the RSA public key (PEM) as HMAC secret",
    "unknown_kid": "signed with another RSA key whose kid is not in the JWKS",
    "other_key_same_kid": "signed with another RSA key but with the JWKS key's kid",
    "missing_sub": "no sub claim",
    "malformed_jwt": "an ID token that is not a JWT",
    "no_id_token": "token response without id_token",
    "token_error": "token endpoint answers 400 invalid_grant",
    "token_500": "token endpoint answers 500 with an HTML body",
    "token_not_json": "token endpoint answers 200 with a non-JSON body",
    "authorize_error": "authorize redirects back with error=access_denied",
    "token_hang": "token endpoint takes the request and never answers (until the script "
                  "changes or the OP stops)",
}


def _int_b64u(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class _Key:
    def __init__(self, kid):
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public = self.private.public_key()
        self.public_pem = self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwk(self):
        nums = self.public.public_numbers()
        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                "n": _int_b64u(nums.n), "e": _int_b64u(nums.e)}

    def sign(self, data):
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())


class BadOP(LoopbackServer):
    """A misbehaving OP. Thread-safe; one instance serves many tests (use set()/reset())."""

    def __init__(self, client_id="rp", client_secret="rp-secret", defect=None, port=0,
                 host="127.0.0.1", sub="mallory", claims=None, **opts):
        if defect not in DEFECTS:
            raise ValueError(f"unknown defect {defect!r}; one of {sorted(map(str, DEFECTS))}")
        super().__init__(host, port)
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = _Key("good-key-1")
        self.other_key = _Key("unknown-key-9")
        self._lock = threading.Lock()
        self._codes = {}
        self._release = threading.Event()  # set when the script changes: ends token_hang waits
        self.script = {}
        self.sub = sub
        self.set(defect=defect, claims=claims, **opts)
        self.stats = {}
        self.reset_stats()

    # -- scripting -----------------------------------------------------------------------
    def set(self, defect=None, claims=None, **opts):
        """Script the next responses. defect: a key of DEFECTS. claims: extra/overriding
        ID-token claims. opts: id_token_ttl (s), token_delay (s), refresh_token (bool),
        access_token_ttl (s, the token response's expires_in)."""
        if defect not in DEFECTS:
            raise ValueError(f"unknown defect {defect!r}")
        with self._lock:
            self.script = {"defect": defect, "claims": dict(claims or {}), **opts}
            released, self._release = self._release, threading.Event()
        released.set()

    def reset(self):
        self.set(defect=None)
        self.reset_stats()

    def reset_stats(self):
        with self._lock:
            self.stats = {"authorize_calls": 0, "token_calls": 0, "jwks_fetches": 0,
                          "discovery_fetches": 0, "userinfo_calls": 0, "revocations": 0,
                          "last_authorize": None, "last_token_request": None,
                          "last_token_auth": None}

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def issuer(self):
        return f"http://{self.host}:{self.port}"

    thread_name = "bad-op"

    def before_stop(self):
        self._release.set()

    # -- protocol --------------------------------------------------------------------------
    def discovery(self):
        i = self.issuer
        return {
            "issuer": i,
            "authorization_endpoint": i + "/oauth/authorize",
            "token_endpoint": i + "/oauth/token",
            "userinfo_endpoint": i + "/oauth/userinfo",
            "revocation_endpoint": i + "/oauth/revoke",
            "end_session_endpoint": i + "/oauth/logout",
            "introspection_endpoint": i + "/oauth/introspect",
            "jwks_uri": i + "/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"],
            "claims_supported": ["sub", "email", "email_verified", "name"],
        }

    def jwks(self):
        return {"keys": [self.key.jwk()]}

    def make_id_token(self, nonce, script=None):
        script = script if script is not None else self.script
        defect = script.get("defect")
        now = int(time.time())
        ttl = int(script.get("id_token_ttl", 300))
        claims = {"iss": self.issuer, "sub": self.sub, "aud": self.client_id,
                  "iat": now, "exp": now + ttl, "auth_time": now,
                  "email": f"{self.sub}@example-business.com", "email_verified": True,
                  "name": self.sub}
        if nonce is not None:
            claims["nonce"] = nonce
        if defect == "wrong_iss":
            claims["iss"] = "http://127.0.0.1:1/evil-issuer"
        elif defect == "wrong_aud":
            claims["aud"] = "some-other-client"
        elif defect == "aud_array_without_client":
            claims["aud"] = ["some-other-client", "yet-another"]
        elif defect == "expired":
            claims["iat"] = now - 7200
            claims["auth_time"] = now - 7200
            claims["exp"] = now - 3600
        elif defect == "missing_exp":
            del claims["exp"]
        elif defect == "future_iat":
            claims["iat"] = now + 3600
            claims["nbf"] = now + 3600
            claims["exp"] = now + 7200
        elif defect == "wrong_nonce":
            claims["nonce"] = b64u(secrets.token_bytes(32))
        elif defect == "missing_nonce":
            claims.pop("nonce", None)
        elif defect == "missing_sub":
            del claims["sub"]
        claims.update(script.get("claims") or {})
        return self.encode(claims, defect)

    def encode(self, claims, defect=None):
        if defect == "malformed_jwt":
            return "this-is-not-a-jwt"
        header = {"typ": "JWT", "alg": "RS256", "kid": self.key.kid}
        if defect == "alg_none":
            header = {"typ": "JWT", "alg": "none"}
        elif defect == "hs256_public_key":
            header = {"typ": "JWT", "alg": "HS256", "kid": self.key.kid}
        elif defect == "unknown_kid":
            header["kid"] = self.other_key.kid
        signing_input = (b64u(json.dumps(header, separators=(",", ":"))) + "." +
                         b64u(json.dumps(claims, separators=(",", ":")))).encode()
        if defect == "alg_none":
            sig = b""
        elif defect == "hs256_public_key":
            sig = hmac.new(self.key.public_pem, signing_input, hashlib.sha256).digest()
        elif defect in ("unknown_kid", "other_key_same_kid"):
            sig = self.other_key.sign(signing_input)
        else:
            sig = self.key.sign(signing_input)
            if defect == "bad_signature":
                sig = bytes([sig[0] ^ 0x01]) + sig[1:]
        return signing_input.decode() + "." + b64u(sig)


class _Handler(LoopbackHandler):
    @property
    def provider(self):
        return self.owner

    def do_GET(self):
        op = self.provider
        u = urlsplit(self.path)
        q = parse_qs(u.query, keep_blank_values=True)
        if u.path == "/.well-known/openid-configuration":
            with op._lock:
                op.stats["discovery_fetches"] += 1
            return self.send(200, op.discovery())
        if u.path == "/.well-known/jwks.json":
            with op._lock:
                op.stats["jwks_fetches"] += 1
            return self.send(200, op.jwks())
        if u.path == "/__stats":
            with op._lock:
                return self.send(200, dict(op.stats))
        if u.path == "/oauth/authorize":
            return self._authorize(q)
        if u.path == "/oauth/userinfo":
            with op._lock:
                op.stats["userinfo_calls"] += 1
            return self.send(200, {"sub": op.sub, "email": f"{op.sub}@example-business.com",
                                    "email_verified": True, "name": op.sub})
        if u.path == "/oauth/logout":
            target = q.get("post_logout_redirect_uri", [None])[0]
            if target:
                return self.send(302, "", "text/plain", {"Location": target})
            return self.send(200, "signed out", "text/plain")
        return self.send(404, {"error": "not_found"})

    def do_POST(self):
        op = self.provider
        u = urlsplit(self.path)
        raw = self.body()
        if u.path == "/__control":
            try:
                req = json.loads(raw or b"{}")
                op.set(**req)
            except (ValueError, TypeError) as e:
                return self.send(400, {"error": str(e)})
            return self.send(200, {"ok": True, "script": op.script})
        form = parse_qs(raw.decode(errors="replace"), keep_blank_values=True)
        if u.path == "/oauth/token":
            return self._token(form)
        if u.path == "/oauth/revoke":
            with op._lock:
                op.stats["revocations"] += 1
            return self.send(200, "", "text/plain")
        if u.path == "/oauth/introspect":
            return self.send(200, {"active": False})
        return self.send(404, {"error": "not_found"})

    def _authorize(self, q):
        op = self.provider
        one = {k: v[0] for k, v in q.items()}
        with op._lock:
            op.stats["authorize_calls"] += 1
            op.stats["last_authorize"] = one
            script = dict(op.script)
        redirect_uri = one.get("redirect_uri")
        if not redirect_uri:
            return self.send(400, {"error": "invalid_request",
                                    "error_description": "redirect_uri missing"})
        params = {}
        if script.get("defect") == "authorize_error":
            params = {"error": "access_denied", "error_description": "The user said no"}
        else:
            code = b64u(secrets.token_bytes(24))
            with op._lock:
                op._codes[code] = {"nonce": one.get("nonce"),
                                   "code_challenge": one.get("code_challenge"),
                                   "code_challenge_method": one.get("code_challenge_method"),
                                   "redirect_uri": redirect_uri,
                                   "client_id": one.get("client_id")}
            params["code"] = code
        if "state" in one:
            params["state"] = one["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return self.send(302, "", "text/plain", {"Location": redirect_uri + sep + urlencode(params)})

    def _client_auth(self, form):
        op = self.provider
        basic = self.basic_credentials()
        if basic is not None:
            cid, sec = basic
            method = "client_secret_basic"
        else:
            cid = form.get("client_id", [None])[0]
            sec = form.get("client_secret", [None])[0]
            method = "client_secret_post"
        ok = cid == op.client_id and sec is not None and hmac.compare_digest(
            sec.encode(), op.client_secret.encode())
        return method, ok

    def _token(self, form):
        op = self.provider
        one = {k: v[0] for k, v in form.items()}
        method, ok = self._client_auth(form)
        with op._lock:
            op.stats["token_calls"] += 1
            op.stats["last_token_request"] = {k: v for k, v in one.items()
                                              if k not in ("client_secret",)}
            op.stats["last_token_auth"] = method
            script = dict(op.script)
            release = op._release
        if script.get("defect") == "token_hang":
            # Connection taken, request read, no answer: the client waits for its own timeout.
            release.wait(timeout=300)
            self.close_connection = True
            return
        delay = float(script.get("token_delay", 0))
        if delay:
            time.sleep(delay)
        if not ok:
            return self.send(401, {"error": "invalid_client"})
        defect = script.get("defect")
        if defect == "token_error":
            return self.send(400, {"error": "invalid_grant", "error_description": "scripted"})
        if defect == "token_500":
            return self.send(500, "<html><body>Internal error</body></html>", "text/html")
        if defect == "token_not_json":
            return self.send(200, "this is not json", "text/plain")
        if one.get("grant_type") != "authorization_code":
            return self.send(400, {"error": "unsupported_grant_type"})
        with op._lock:
            rec = op._codes.pop(one.get("code", ""), None)
        if rec is None:
            return self.send(400, {"error": "invalid_grant", "error_description": "bad code"})
        if rec["redirect_uri"] != one.get("redirect_uri"):
            return self.send(400, {"error": "invalid_grant",
                                    "error_description": "redirect_uri mismatch"})
        verifier = one.get("code_verifier", "")
        challenge = b64u(hashlib.sha256(verifier.encode()).digest())
        if rec["code_challenge_method"] != "S256" or challenge != rec["code_challenge"]:
            return self.send(400, {"error": "invalid_grant",
                                    "error_description": "PKCE verification failed"})
        body = {"access_token": b64u(secrets.token_bytes(24)), "token_type": "Bearer",
                "expires_in": int(script.get("access_token_ttl", 300)),
                "scope": "openid email profile"}
        if script.get("refresh_token", True):
            body["refresh_token"] = b64u(secrets.token_bytes(24))
        if defect != "no_id_token":
            body["id_token"] = op.make_id_token(rec["nonce"], script)
        return self.send(200, body)


BadOP.handler_class = _Handler


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--client-id", default="rp")
    ap.add_argument("--client-secret", default="rp-secret")
    ap.add_argument("--defect", default=None, choices=[d for d in DEFECTS if d])
    ap.add_argument("--sub", default="mallory")
    a = ap.parse_args(argv)
    op = BadOP(client_id=a.client_id, client_secret=a.client_secret, defect=a.defect,
               port=a.port, sub=a.sub).start()
    print(f"BAD OP READY {op.issuer}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        op.stop()


if __name__ == "__main__":
    sys.exit(main())
