"""Signing JWTs in tests with the local OP's own key (its key file is a private JWKS), or with
a stranger's key, to forge tokens the module must refuse."""
import base64
import json
import time

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(v):
    return int.from_bytes(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), "big")


def op_signing_key(key_file):
    """(private key, kid) of the OP's RS256 key."""
    jwk = json.load(open(key_file))["keys"][0]
    pub = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"]))
    priv = rsa.RSAPrivateNumbers(_int(jwk["p"]), _int(jwk["q"]), _int(jwk["d"]), _int(jwk["dp"]),
                                 _int(jwk["dq"]), _int(jwk["qi"]), pub)
    return priv.private_key(), jwk.get("kid")


def sign_rs256(claims, key, kid, typ="at+jwt"):
    """An RS256 JWS; typed as an RFC 9068 access token unless `typ` says otherwise."""
    header = {"alg": "RS256", "typ": typ}
    if kid is not None:
        header["kid"] = kid
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64(sig)


def unsigned(claims):
    """alg none."""
    return b64(b'{"alg":"none","typ":"JWT"}') + "." + b64(json.dumps(claims).encode()) + "."


def hs256_with(secret, claims, kid=None):
    header = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    h = hmac.HMAC(secret, hashes.SHA256())
    h.update(signing_input.encode())
    return signing_input + "." + b64(h.finalize())


def access_claims(issuer, audience, scope="profile", sub="api-user", lifetime=300, **extra):
    now = int(time.time())
    c = {"iss": issuer, "aud": audience, "sub": sub, "scope": scope, "iat": now,
         "exp": now + lifetime, "jti": b64(now.to_bytes(8, "big"))}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}
