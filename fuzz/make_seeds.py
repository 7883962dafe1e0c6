#!/usr/bin/env python3
"""Writes the named seed inputs under fuzz/corpus/<target>/ (the committed corpus).

Each seed is a shape that broke some other module or that reaches a branch the fuzzer would
take long to find alone. Run it again after changing a target's input format; it only
(re)writes the files named here and leaves regression-* seeds (crash inputs) alone.
    python3 fuzz/make_seeds.py
"""
import base64
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
NOW = 1700000000
ISS = "https://op.example"
AUD = "https://api.example"


def b64u(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def j(o):
    return json.dumps(o, separators=(",", ":"))


def deep(n):
    return "[" * n + "]" * n


HUGE = "1" + "0" * 400
ACCESS = {"iss": ISS, "sub": "alice", "aud": AUD, "exp": NOW + 600, "iat": NOW - 10,
          "nbf": NOW - 10, "scope": "payments:read payments:write", "client_id": "app-2",
          "jti": "at-1"}
RFC7515_RS256 = open(os.path.join(ROOT, "jwt", "rfc7515-a2-rs256")).read().strip() \
    if os.path.exists(os.path.join(ROOT, "jwt", "rfc7515-a2-rs256")) else "a.b.c"

# --- bearer: first byte '0' raw header, '1' signed claims, '2' "header\nclaims" signed -----
none_tok = b64u(j({"alg": "none", "kid": "x"})) + "." + b64u("{}") + "."
for name, header in {
    "alg-none": "Bearer " + none_tok,
    "basic": "Basic dXNlcjpwYXNz",
    "malformed-escapes": "bearer a%zz=1&b=%2",
    "rfc7515-token": "Bearer " + RFC7515_RS256,
    "lowercase-scheme": "bearer " + RFC7515_RS256,
    "two-spaces": "Bearer  abc.def.ghi",
    "trailing-comma-params": "Bearer abc, realm=\"x\"",
    "nul-in-token": "Bearer abc\x00def.ghi.jkl",
    "opaque-token": "Bearer 2YotnFZFEjr1zCsicMWpAA",
    "token68-padding": "Bearer abc==",
    "overlong-base64": "Bearer " + "A" * 5000 + "." + "B" * 5000 + ".C",
    "four-parts": "Bearer a.b.c.d",
    "empty-scheme": "Bearer",
    "hs256-confusion": "Bearer " + b64u(j({"alg": "HS256", "kid": "rsa"})) + "." + b64u(j(ACCESS)) + ".c2ln",
}.items():
    write("bearer", name, "0" + header)
for name, claims in {
    "signed-valid": j(ACCESS),
    "signed-expired": j({**ACCESS, "exp": NOW - 3600}),
    "signed-not-yet": j({**ACCESS, "nbf": NOW + 3600}),
    "signed-wrong-aud": j({**ACCESS, "aud": ["https://other.example"]}),
    "signed-aud-array": j({**ACCESS, "aud": [AUD, "x"]}),
    "signed-wrong-iss": j({**ACCESS, "iss": "https://evil.example"}),
    "signed-huge-exp": '{"iss":"%s","sub":"a","aud":"%s","exp":%s}' % (ISS, AUD, HUGE),
    "signed-real-exp": '{"iss":"%s","sub":"a","aud":"%s","exp":1.7000006e9}' % (ISS, AUD),
    "signed-negative-exp": '{"iss":"%s","sub":"a","aud":"%s","exp":-9223372036854775808}' % (ISS, AUD),
    "signed-max-exp": '{"iss":"%s","sub":"a","aud":"%s","exp":9223372036854775807}' % (ISS, AUD),
    "signed-duplicate-sub": '{"iss":"%s","sub":"a","sub":"admin","aud":"%s","exp":%d}' % (ISS, AUD, NOW + 60),
    "signed-id-token-shape": j({**ACCESS, "aud": "client-1", "nonce": "n", "azp": "client-1"}),
    "signed-logout-token-shape": j({**ACCESS, "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
    "signed-nul-sub": '{"iss":"%s","sub":"al\\u0000ice","aud":"%s","exp":%d}' % (ISS, AUD, NOW + 60),
    "signed-deep-nesting": '{"iss":"%s","sub":"a","aud":"%s","exp":%d,"x":%s}' % (ISS, AUD, NOW + 60, deep(2000)),
    "signed-not-object": "[1,2,3]",
}.items():
    write("bearer", name, "1" + claims)
for name, (hdr, claims) in {
    "header-typ-jwt": ({"alg": "EdDSA", "kid": "ed", "typ": "JWT"}, ACCESS),
    "header-no-typ": ({"alg": "EdDSA", "kid": "ed"}, ACCESS),
    "header-crit": ({"alg": "EdDSA", "kid": "ed", "typ": "at+jwt", "crit": ["exp"], "exp": 1}, ACCESS),
    "header-unknown-kid": ({"alg": "EdDSA", "kid": "nope", "typ": "at+jwt"}, ACCESS),
    "header-alg-rs256-on-okp": ({"alg": "RS256", "kid": "ed", "typ": "at+jwt"}, ACCESS),
    "header-typ-application": ({"alg": "EdDSA", "kid": "ed", "typ": "application/at+JWT"}, ACCESS),
}.items():
    write("bearer", name, "2" + j(hdr) + "\n" + j(claims))
write("bearer", "header-duplicate-alg",
      '2{"alg":"EdDSA","alg":"none","kid":"ed","typ":"at+jwt"}\n' + j(ACCESS))

# --- jwt: a compact JWS; with a newline, "header\npayload" signed with the Ed25519 key ------
write("jwt", "signed-eddsa-kid", j({"alg": "EdDSA", "kid": "ed"}) + "\n" + j(ACCESS))
write("jwt", "signed-b64-false", j({"alg": "EdDSA", "kid": "ed", "b64": False, "crit": ["b64"]}) + "\n{}")
write("jwt", "signed-payload-not-json", j({"alg": "EdDSA", "kid": "ed"}) + "\nnot json")
write("jwt", "signed-alg-case", j({"alg": "eddsa", "kid": "ed"}) + "\n{}")
write("jwt", "signed-kid-number", '{"alg":"EdDSA","kid":7}\n{}')
write("jwt", "overlong-base64", "eyJhbGciOiJFUzI1NiJ9." + "A" * 12000 + "." + "A" * 87)
write("jwt", "padded-base64", "eyJhbGciOiJFUzI1NiJ9==.e30=.AAAA")
write("jwt", "nul-bytes", b"eyJhbGciOiJFUzI1NiJ9\x00.e30.\x00AAA")
write("jwt", "es256-short-sig", b64u(j({"alg": "ES256", "kid": "ec"})) + ".e30." + b64u(b"\x00" * 63))
write("jwt", "eddsa-with-rsa-kid", b64u(j({"alg": "EdDSA", "kid": "rsa"})) + ".e30." + b64u(b"\x00" * 64))
write("jwt", "header-deep-nesting", b64u('{"alg":"EdDSA","x":' + deep(3000) + "}") + ".e30." + b64u(b"\x00" * 64))

# --- jwks ---------------------------------------------------------------------------------
write("jwks", "duplicate-kid", j({"keys": [
    {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}))
write("jwks", "okp-with-private-d", j({"keys": [
    {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
     "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}))
write("jwks", "x25519", j({"keys": [{"kty": "OKP", "kid": "x", "crv": "X25519",
                                     "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}]}))
write("jwks", "huge-rsa-exponent", j({"keys": [{"kty": "RSA", "kid": "rsa", "n": "A" * 8000, "e": "A" * 400}]}))
write("jwks", "duplicate-keys-member", '{"keys":[],"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}')
write("jwks", "deep-nesting", '{"keys":' + deep(5000) + "}")
write("jwks", "nul-in-kid", '{"keys":[{"kty":"OKP","kid":"e\\u0000d","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}')
write("jwks", "kid-not-string", '{"keys":[{"kty":"OKP","kid":["ed"],"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}')

# --- discovery (configured issuer https://op.example) --------------------------------------
base = {"issuer": ISS, "authorization_endpoint": ISS + "/authorize", "token_endpoint": ISS + "/token",
        "jwks_uri": ISS + "/jwks"}
write("discovery", "coinpay", j({**base, "revocation_endpoint": ISS + "/revoke",
                                 "userinfo_endpoint": ISS + "/userinfo",
                                 "introspection_endpoint": ISS + "/introspect",
                                 "end_session_endpoint": ISS + "/logout"}))
write("discovery", "duplicate-issuer", '{"issuer":"https://op.example","issuer":"https://evil.example"}')
write("discovery", "issuer-mismatch", j({**base, "issuer": "https://evil.example"}))
write("discovery", "issuer-trailing-slash", j({**base, "issuer": ISS + "/"}))
write("discovery", "open-redirect", j({**base, "authorization_endpoint": "//evil.com/authorize",
                                       "token_endpoint": "https://op.example@evil.com/token",
                                       "jwks_uri": "javascript:alert(1)"}))
write("discovery", "http-endpoints", j({**base, "token_endpoint": "http://op.example/token",
                                        "jwks_uri": "http://127.0.0.1/jwks"}))
write("discovery", "endpoint-not-string", j({**base, "jwks_uri": ["https://op.example/jwks"]}))
write("discovery", "nul-in-endpoint", '{"issuer":"https://op.example","authorization_endpoint":"https://op.example/a\\u0000.evil","token_endpoint":"https://op.example/t","jwks_uri":"https://op.example/k"}')
write("discovery", "deep-nesting", '{"issuer":"https://op.example","x":' + deep(5000) + "}")
write("discovery", "huge-number", '{"issuer":"https://op.example","n":' + HUGE + "}")

# --- cookie: a Cookie header ---------------------------------------------------------------
sid = "A" * 43
write("cookie", "two-session-cookies", "coinpay_session=%s; coinpay_session=%s" % ("B" * 43, sid))
write("cookie", "session-wrong-length", "coinpay_session=" + "A" * 44)
write("cookie", "quoted-session", 'coinpay_session="%s"' % sid)
write("cookie", "no-space-separators", "a=1;coinpay_session=%s;b=2" % sid)
write("cookie", "only-module-cookies", "coinpay_session=%s; coinpay_login_abc=x" % sid)
write("cookie", "nul-bytes", b"a=\x00; coinpay_session=" + sid.encode() + b"\x00; b=2")
write("cookie", "prefix-only-name", "coinpay_login_=x; coinpay_login=y; coinpay_sessionx=z")
write("cookie", "empty-and-semicolons", ";;; ; =; ==; a")
write("cookie", "login-state-duplicate-keys", '{"s":"a","s":"b","n":"n","v":"v","r":"/","p":"","t":1}')
write("cookie", "login-state-huge-t", '{"s":"a","n":"n","v":"v","r":"/","p":"","t":%s}' % HUGE)
write("cookie", "login-state-real-t", '{"s":"a","n":"n","v":"v","r":"/","p":"","t":9.3e18}')
write("cookie", "login-state-nul", '{"s":"a\\u0000b","n":"n","v":"v","r":"/","p":"","t":1}')
write("cookie", "overlong-sealed", "coinpay_login_abc=" + "A" * 10000)
# A step-up attempt's login state remembers what it asked for.
write("cookie", "login-state-step-up",
      '{"s":"a","n":"n","v":"v","r":"/","p":"","t":1,"a":"urn:x urn:y","m":300}')
write("cookie", "login-state-negative-max-age", '{"s":"a","n":"n","v":"v","r":"/","p":"","t":1,"m":-1}')

# --- session: an encoded session record ----------------------------------------------------
def pstr(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack("<I", len(s)) + s


def record(scope="host:example-business.com", claims=(("email", "a@example.com"),), created=NOW - 100,
           seen=NOW - 100, version=b"\x02", sub="alice", acr="", auth_time=0):
    out = version
    for f in (scope, "", ISS, "client-1", sub, sub):
        out += pstr(f)
    out += struct.pack("<q", len(claims))
    for n, v in claims:
        out += pstr(n) + pstr(v)
    out += pstr('{"sub":"alice"}')
    if version == b"\x03":  # step-up: acr and auth_time after the claims
        out += pstr(acr) + struct.pack("<q", auth_time)
    for f in ("id.token.x", "access-1", "refresh-1"):
        out += pstr(f)
    for v in (NOW + 300, NOW - 100, created, seen):
        out += struct.pack("<q", v)
    return out


write("session", "live-record", record())
write("session", "other-scope", record(scope="host:other.example"))
write("session", "idle-expired", record(seen=NOW - 7200))
write("session", "old-version", record(version=b"\x01"))
write("session", "no-claims", record(claims=()))
write("session", "trailing-byte", record() + b"\x00")
write("session", "truncated", record()[:40])
write("session", "huge-string-length", b"\x02" + struct.pack("<I", 0xFFFFFFFF) + b"abc")
write("session", "negative-claim-count", b"\x02" + pstr("") * 6 + struct.pack("<q", -1))
write("session", "huge-claim-count", b"\x02" + pstr("") * 6 + struct.pack("<q", 4096))
write("session", "min-int-times", record(created=-2**63, seen=2**63 - 1))
# Found by session_fuzz: times near the int64 limits overflowed the idle/max-age sums.
write("session", "max-times", record(created=2**63 - 1, seen=2**63 - 1))
# Version 3 (step-up): the acr and auth_time of the sign-in.
write("session", "v3-step-up", record(version=b"\x03", acr="urn:coinpay:acr:strong",
                                      auth_time=NOW - 50))
write("session", "v3-auth-time-limits", record(version=b"\x03", auth_time=-2**63))

# --- token_response: the token endpoint's body (HTTP 200, then 400) -----------------------
write("token_response", "ok", j({"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                                 "id_token": "a.b.c", "refresh_token": "rt", "scope": "openid"}))
write("token_response", "dpop", j({"access_token": "at", "token_type": "DPoP"}))
write("token_response", "unknown-type", j({"access_token": "at", "token_type": "mac"}))
write("token_response", "no-access-token", j({"token_type": "Bearer"}))
write("token_response", "invalid-grant", j({"error": "invalid_grant", "error_description": "x"}))
write("token_response", "error-with-control", '{"error":"bad\\r\\nX-Injected: 1"}')
write("token_response", "huge-expires-in", '{"access_token":"at","expires_in":%s}' % HUGE)
write("token_response", "real-expires-in", '{"access_token":"at","expires_in":1e300}')
write("token_response", "negative-expires-in", '{"access_token":"at","expires_in":-9223372036854775808}')
write("token_response", "duplicate-keys", '{"access_token":"a","access_token":"b"}')
write("token_response", "deep-nesting", '{"access_token":"a","x":' + deep(5000) + "}")
write("token_response", "nul-in-token", '{"access_token":"a\\u0000b","token_type":"bearer"}')
write("token_response", "form-encoded", "access_token=at&token_type=bearer")
write("token_response", "empty", "")

# --- userinfo: "<pointer>\n<document>" or a document ---------------------------------------
write("userinfo", "oidc-userinfo", j({"sub": "alice", "email": "a@example.com", "email_verified": True}))
write("userinfo", "sub-mismatch", j({"sub": "mallory", "email": "m@example.com"}))
write("userinfo", "coinbase-user", "/data/id\n" + j({"data": {"id": "9da7a204", "name": "A", "email": "a@x"}}))
write("userinfo", "pointer-escapes", "/a~1b/0\n" + j({"a/b": ["x"], "~": {"/": 1}}))
write("userinfo", "pointer-bad-escape", "/a~2\n{}")
write("userinfo", "pointer-leading-zero", "/data/01\n" + j({"data": [1, 2]}))
write("userinfo", "pointer-huge-index", "/data/99999999999999999999\n" + j({"data": [1]}))
write("userinfo", "control-chars", '{"sub":"alice","name":"a\\r\\nSet-Cookie: x","nul":"a\\u0000b"}')
write("userinfo", "deep-nesting", '{"sub":"alice","x":' + deep(5000) + "}")
write("userinfo", "duplicate-sub", '{"sub":"alice","sub":"admin"}')
write("userinfo", "huge-number", '{"sub":' + HUGE + "}")

# --- introspection: the introspection endpoint's body -------------------------------------
write("introspection", "active", j({"active": True, "sub": "alice", "iss": ISS, "aud": AUD,
                                    "exp": NOW + 300, "scope": "payments:read", "client_id": "app"}))
write("introspection", "inactive", j({"active": False}))
write("introspection", "active-string", j({"active": "true", "sub": "a", "exp": NOW + 300}))
write("introspection", "no-aud", j({"active": True, "sub": "a", "exp": NOW + 300}))
write("introspection", "no-exp", j({"active": True, "sub": "a", "aud": AUD}))
write("introspection", "wrong-iss", j({"active": True, "sub": "a", "aud": AUD, "iss": "https://evil", "exp": NOW + 300}))
write("introspection", "not-yet-valid", j({"active": True, "sub": "a", "aud": AUD, "exp": NOW + 300, "nbf": NOW + 200}))
write("introspection", "huge-exp", '{"active":true,"sub":"a","aud":"%s","exp":%s}' % (AUD, HUGE))
write("introspection", "max-exp", '{"active":true,"sub":"a","aud":"%s","exp":9223372036854775807}' % AUD)
write("introspection", "duplicate-active", '{"active":false,"active":true}')
write("introspection", "deep-nesting", '{"active":true,"x":' + deep(5000) + "}")

# --- backchannel: '0' + form body, or '1' + logout-token claims signed --------------------
EVENT = {"http://schemas.openid.net/event/backchannel-logout": {}}
LOGOUT = {"iss": ISS, "aud": "client-1", "iat": NOW - 5, "exp": NOW + 120, "jti": "j-1", "events": EVENT}
write("backchannel", "form-empty", "0")
write("backchannel", "form-two-tokens", "0logout_token=a.b.c&logout_token=d.e.f")
write("backchannel", "form-bad-escape", "0logout_token=%zz")
write("backchannel", "form-question-amp", "0?&logout_token=&")
write("backchannel", "form-alg-none", "0logout_token=" + none_tok)
write("backchannel", "signed-by-sid", "1" + j({**LOGOUT, "sid": "sid-1"}))
write("backchannel", "signed-by-sub", "1" + j({**LOGOUT, "sub": "alice"}))
write("backchannel", "signed-with-nonce", "1" + j({**LOGOUT, "sub": "alice", "nonce": "n"}))
write("backchannel", "signed-no-event", "1" + j({**LOGOUT, "sub": "alice", "events": {}}))
write("backchannel", "signed-no-jti", "1" + j({k: v for k, v in {**LOGOUT, "sub": "alice"}.items() if k != "jti"}))
write("backchannel", "signed-old-iat", "1" + j({**LOGOUT, "sub": "alice", "iat": NOW - 90000}))
write("backchannel", "signed-sub-not-string", "1" + j({**LOGOUT, "sub": 7}))
write("backchannel", "signed-huge-iat", "1" + '{"iss":"%s","aud":"client-1","iat":%s,"jti":"j","sub":"a","events":%s}' % (ISS, HUGE, j(EVENT)))

# --- query: a query string or urlencoded body -----------------------------------------------
for name, q in {
    "callback": "code=abc&state=xyz&iss=https%3A%2F%2Fop.example",
    "question-amp": "?&",
    "empty-pairs": "&&&=&==&",
    "duplicate-keys": "state=a&state=b",
    "bad-escape": "a=%zz",
    "truncated-escape": "a=%2",
    "plus-and-space": "a=b+c%20d&+=+",
    "nul-escape": "a=%00&b=\x00",
    "overlong-utf8": "a=%C0%AF%E0%80%AF",
    "no-equals": "flag&other",
    "base64-like": "eyJhbGciOiJub25lIn0",
    "base64-one-char-tail": "AAAAA",
}.items():
    write("query", name, q)

# --- redirect: a return_to candidate ---------------------------------------------------------
for name, r in {
    "path": "/app/page?x=1#f",
    "protocol-relative": "//evil.com/",
    "backslash": "/\\evil.com",
    "userinfo": "https://example-business.com@evil.com/",
    "own-origin": "https://example-business.com/x",
    "own-origin-443": "https://EXAMPLE-business.com:443/x",
    "allowed-origin": "https://app.example-business.com:8443/y",
    "http-scheme-only": "http:evil.com",
    "javascript": "javascript:alert(1)",
    "tab-in-scheme": "https:\t//evil.com",
    "crlf": "/x\r\nLocation: https://evil.com",
    "ipv6": "https://[::1]:8443/",
    "port-overflow": "https://example-business.com:4294967739/",
    "percent-host": "https://example-business.com%2eevil.com/",
    "nul": "/ok\x00//evil",
    "question-amp": "?&",
    "trailing-dot-host": "https://example-business.com./",
}.items():
    write("redirect", name, r)

# --- sealed_store: the value Redis hands back -----------------------------------------------
write("sealed_store", "empty", "")
write("sealed_store", "iv-only", b"\x00" * 12)
write("sealed_store", "iv-and-tag", b"\x00" * 28)
write("sealed_store", "version-byte-then-zeros", b"\x01" + b"\x00" * 60)
write("sealed_store", "session-record", record())
write("sealed_store", "redis-nil-text", "$-1\r\n")

# --- forwarded: Forwarded \n X-Forwarded-Proto \n X-Forwarded-Host \n X-Forwarded-Port -------
for name, r in {
    "rfc7239-single": 'for="_gazonk"\n\n\n',
    "rfc7239-ipv6-for": 'For="[2001:db8:cafe::17]:4711"\n\n\n',
    "rfc7239-three-params": "for=192.0.2.60;proto=http;by=203.0.113.43\n\n\n",
    "rfc7239-list": "for=192.0.2.43, for=198.51.100.17\n\n\n",
    "proxy-appended-last": 'proto=https;host=evil.example, for=192.0.2.9;proto=https;host="shop.example:8443"\n\n\n',
    "quoted-separators": 'host="a,b;c=d", proto=https;ext="x\\"y\\\\z"\n\n\n',
    "unquoted-port": "proto=https;host=shop.example:443\n\n\n",
    "duplicate-param": "proto=https;proto=http\n\n\n",
    "unterminated-quote": 'host="shop.example\n\n\n',
    "empty-elements": " , ,for=a;;proto=http ,\n\n\n",
    "x-forwarded-all": "\nhttps\nshop.example\n443",
    "x-forwarded-lists": "\nhttp, https\nevil.example, shop.example\n1, 8443",
    "x-forwarded-bad-port": "\nhttps\nshop.example\n70000",
    "x-forwarded-bad-host": "\nhttps\nevil.example/x@y\n",
    "x-forwarded-ipv6-host": "\nhttps\n[2001:db8::1]:8443\n",
    "x-forwarded-port-only": "\n\n\n8443",
    "host-control-chars": "\nhttps\nshop\x01.example\r\n",
    "proto-uppercase": "PROTO=HTTPS;HOST=Shop.Example\n\n\n",
}.items():
    write("forwarded", name, r)

# --- dpop: '0' + a DPoP header value; '1' + "header\nclaims" signed with the Ed25519 key ------
ED_JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
ATH = b64u(__import__("hashlib").sha256(b"access-token-1").digest())
PROOF = {"jti": "j1", "htm": "GET", "htu": "https://api.example/v1/payments", "iat": NOW, "ath": ATH}
for name, (hdr, claims) in {
    "valid": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ED_JWK}, PROOF),
    "jwk-private-d": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {**ED_JWK, "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}}, PROOF),
    "jwk-missing": ({"typ": "dpop+jwt", "alg": "EdDSA"}, PROOF),
    "jwk-not-object": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": "x"}, PROOF),
    "jwk-oct": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "oct", "k": "c2VjcmV0"}}, PROOF),
    "typ-jwt": ({"typ": "JWT", "alg": "EdDSA", "jwk": ED_JWK}, PROOF),
    "kid-and-jwk": ({"typ": "dpop+jwt", "alg": "EdDSA", "kid": "ed", "jwk": ED_JWK}, PROOF),
    "htu-with-query": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ED_JWK}, {**PROOF, "htu": "HTTPS://API.example:443/v1/%70ayments?x#y"}),
    "htu-userinfo": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ED_JWK}, {**PROOF, "htu": "https://u@api.example/v1/payments"}),
    "iat-string": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ED_JWK}, {**PROOF, "iat": str(NOW)}),
    "iat-real": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ED_JWK}, {**PROOF, "iat": NOW + 0.5}),
    "iat-huge": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ED_JWK}, {**PROOF, "iat": 9223372036854775807}),
    "no-ath": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ED_JWK}, {k: v for k, v in PROOF.items() if k != "ath"}),
    "cnf-x5t": ({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ED_JWK}, {**PROOF, "cnf": {"x5t#S256": "abc"}}),
}.items():
    write("dpop", name, "1" + j(hdr) + "\n" + j(claims))
write("dpop", "alg-none", "0" + b64u(j({"typ": "dpop+jwt", "alg": "none", "jwk": ED_JWK})) + "." + b64u(j(PROOF)) + ".")
write("dpop", "hs256", "0" + b64u(j({"typ": "dpop+jwt", "alg": "HS256", "jwk": ED_JWK})) + "." + b64u(j(PROOF)) + ".c2ln")
write("dpop", "two-headers", "0a.b.c, d.e.f")
write("dpop", "htu-ipv6", "0https://[::1]:0443/%2f")
