#!/usr/bin/python3
"""Regenerates the directive reference in docs/directives.md from core/directives.def.

Only the part between the GENERATED markers is rewritten; the prose around it is kept.
Run it after adding a row; the Docs.EveryDirectiveRowIsDocumented unit test checks the result.
"""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
rows = re.findall(r'COINPAY_(SERVER|DIR)\((\w+), (\w+), (\w+), "([^"]*)",\s*\n\s*"((?:[^"\\]|\\.)*)"\)',
                  (root / "mod_coinpay_auth/core/directives.def").read_text())
kinds = {"Text": "text", "Url": "absolute URL", "Seconds": "seconds", "Count": "number",
         "Flag": "On | Off", "List": "one or more values", "TokenAuth":
         "client_secret_basic | client_secret_post | private_key_jwt | none", "PassClaims":
         "environment | headers | both | none", "Unauthenticated": "auto | login | 401", "Profile": "oidc | oauth2",
         "RevocationAuth": "client | bearer", "Userinfo": "auto | on | off",
         "BearerTokenType": "at+jwt | jwt", "Refresh": "auto | always",
         "Pairs": "name value (two arguments)"}
kinds["Cidrs"] = "one or more IP addresses or CIDR ranges"
kinds["ErrorTemplateFile"] = "a file name"
kinds["ErrorPageFiles"] = "kind file"
kinds["AcrValues"] = "one or more acr values (e.g. urn:coinpay:acr:strong)"
kinds["PrivateKeyFiles"] = "file [kid [alg]]"
kinds["PushedAuthorization"] = "auto | on | off"
kinds["BearerDPoP"] = "off | allowed | required"
kinds["SecurityProfile"] = "default | fapi2"
kinds["ClientDPoP"] = "off | on | required"
out = []
for scope, title in (("SERVER", "Server and virtual host"), ("DIR", "Location")):
    out += ["## " + title, ""]
    for s, name, _field, kind, default, text in rows:
        if s != scope:
            continue
        out += ["### " + name, "", text.replace('\\"', '"') + ".", "", "- Value: " + kinds[kind],
                "- Default: `%s`" % default if default else "- Default: none", ""]
doc = root / "docs/directives.md"
text = doc.read_text()
begin, end = "<!-- GENERATED: directives -->", "<!-- END GENERATED -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
doc.write_text(head + begin + "\n" + "\n".join(out) + end + tail)
