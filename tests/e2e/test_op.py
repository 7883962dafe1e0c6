"""The local OP itself (tests/op/op.js) behaves like CoinPay: checks of the test harness."""
import base64
import hashlib
import json
import secrets
from urllib.parse import urlencode

import requests

from conftest import CLIENT_ID, CLIENT_SECRET, redirect_uri
from e2e_util import query
from harness import login


def _b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _jwt_payload(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def _code_flow(op, httpd_port, user="olivia", scope="openid email profile offline_access",
               resource=None, pkce=True):
    verifier = _b64u(secrets.token_bytes(32))
    params = {"response_type": "code", "client_id": CLIENT_ID,
              "redirect_uri": redirect_uri(httpd_port), "scope": scope,
              "state": "st", "nonce": "nn"}
    if pkce:
        params.update(code_challenge=_b64u(hashlib.sha256(verifier.encode()).digest()),
                      code_challenge_method="S256")
    if resource:
        params["resource"] = resource
    s = requests.Session()
    cb = login(s, f"http://127.0.0.1:{httpd_port}", user, stop_at_callback=True,
               start_path=op.url("/oauth/authorize?" + urlencode(params)))
    return s, query(cb), verifier


def _token(op, **data):
    return requests.post(op.url("/oauth/token"), data=data, auth=(CLIENT_ID, CLIENT_SECRET))


def test_discovery_uses_coinpay_routes(op):
    d = op.discovery()
    assert d["issuer"] == op.issuer
    for key, path in [("authorization_endpoint", "/oauth/authorize"),
                      ("token_endpoint", "/oauth/token"),
                      ("userinfo_endpoint", "/oauth/userinfo"),
                      ("revocation_endpoint", "/oauth/revoke"),
                      ("end_session_endpoint", "/oauth/logout"),
                      ("introspection_endpoint", "/oauth/introspect"),
                      ("jwks_uri", "/.well-known/jwks.json")]:
        assert d[key] == op.issuer + path, key
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert d["backchannel_logout_supported"] is True


def test_op_requires_pkce(op, httpd_port):
    params = {"response_type": "code", "client_id": CLIENT_ID,
              "redirect_uri": redirect_uri(httpd_port), "scope": "openid", "state": "x"}
    r = requests.get(op.url("/oauth/authorize?" + urlencode(params)), allow_redirects=False)
    assert r.status_code in (302, 303)
    assert query(r.headers["Location"]).get("error") == "invalid_request"


def test_op_issues_refresh_token_without_prompt_consent_and_rotates_it(op, httpd_port):
    s, q, verifier = _code_flow(op, httpd_port)
    r = _token(op, grant_type="authorization_code", code=q["code"],
               redirect_uri=redirect_uri(httpd_port), code_verifier=verifier)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["refresh_token"] and t["id_token"]
    claims = _jwt_payload(t["id_token"])
    assert claims["sub"] == "olivia" and claims["nonce"] == "nn"
    assert claims["email"] == "olivia@example-business.com" and claims["email_verified"] is True
    r2 = _token(op, grant_type="refresh_token", refresh_token=t["refresh_token"])
    assert r2.status_code == 200, r2.text
    assert r2.json()["refresh_token"] != t["refresh_token"]
    st = op.stats()
    assert t["refresh_token"] in st["refresh_tokens_presented"]
    assert r2.json()["refresh_token"] in st["refresh_tokens_issued"]
    assert st["token_calls"]["refresh_token"] >= 1


def test_op_gives_jwt_access_token_for_a_resource(op, httpd_port):
    aud = "https://api.example-business.com"
    s, q, verifier = _code_flow(op, httpd_port, scope="openid email", resource=aud)
    r = _token(op, grant_type="authorization_code", code=q["code"], resource=aud,
               redirect_uri=redirect_uri(httpd_port), code_verifier=verifier)
    assert r.status_code == 200, r.text
    at = r.json()["access_token"]
    assert at.count(".") == 2
    assert _jwt_payload(at)["aud"] == aud


def test_op_stats_route_counts_token_calls(op):
    op.reset_stats()
    _token(op, grant_type="authorization_code", code="nope", redirect_uri="http://x/",
           code_verifier="x" * 43)
    st = op.stats()
    assert st["token_calls"] == {"authorization_code": 1}
    assert st["token_errors"] == {"authorization_code": 1}
