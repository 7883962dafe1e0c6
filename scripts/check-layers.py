#!/usr/bin/python3
"""The house rules the compiler cannot see, checked on every build's tests (ctest: layering).

- core/ is protocol and decisions: it includes only core/ headers (they are the interface the
  platform and the glue use) and no httpd, APR, libcurl or hiredis header;
- platform/ is effects: no httpd header and nothing from httpd/;
- each outside library is used from one file: jansson core/json.cc, cjose core/jose.cc, OpenSSL
  core/crypto.cc, libcurl platform/curl_http_client.cc, hiredis platform/redis_store.cc,
  APR shared memory platform/shm_store.cc.
Prints every breach with its file and line; exits 1 when there is one.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
src = root / "mod_coinpay_auth"
include = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)

# library header prefix -> the one file allowed to include it (relative to mod_coinpay_auth/)
ONE_PLACE = {
    "jansson": "core/json.cc",
    "cjose/": "core/jose.cc",
    "openssl/": "core/crypto.cc",
    "curl/": "platform/curl_http_client.cc",
    "hiredis/": "platform/redis_store.cc",
    "apr_shm": "platform/shm_store.cc",
}
HTTPD_HEADERS = re.compile(r"^(httpd\.h|http_[a-z_]+\.h|ap_[a-z_]+\.h|mod_[a-z_]+\.h|util_[a-z_]+\.h)$")
APR_HEADERS = re.compile(r"^(apr|apu)[a-z_]*\.h$")

breaches = []
for path in sorted(list(src.rglob("*.h")) + list(src.rglob("*.cc")) + list(src.rglob("*.def"))):
    rel = path.relative_to(src).as_posix()
    layer = rel.split("/", 1)[0]
    text = path.read_text()
    for m in include.finditer(text):
        kind, name = m.groups()
        line = text.count("\n", 0, m.start()) + 1
        where = f"mod_coinpay_auth/{rel}:{line}"
        for prefix, owner in ONE_PLACE.items():
            if name.startswith(prefix) and rel != owner:
                breaches.append(f"{where}: <{name}> is used only from {owner}")
        if layer == "core":
            if kind == '"' and not name.startswith("core/"):
                breaches.append(f'{where}: core includes "{name}" (core sees only core/)')
            if kind == "<" and (HTTPD_HEADERS.match(name) or APR_HEADERS.match(name)):
                breaches.append(f"{where}: core includes <{name}> (no httpd or APR in core)")
        elif layer == "platform":
            if kind == '"' and name.startswith("httpd/"):
                breaches.append(f'{where}: platform includes "{name}" (glue is above platform)')
            if kind == "<" and HTTPD_HEADERS.match(name):
                breaches.append(f"{where}: platform includes <{name}> (no httpd in platform)")
for b in breaches:
    print(b)
sys.exit(1 if breaches else 0)
