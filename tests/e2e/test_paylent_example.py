"""conf/examples/paylent-two-services.conf, run as shipped (ports and paths moved to the test's):
sign in on the client vhost, its CGI page calls the API vhost with the user's access token."""
import os
import shutil

import pytest
import requests

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import signed_in
from harness import OP, Httpd, free_port
from jwt_util import access_claims, op_signing_key, sign_rs256

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(REPO, "conf", "examples", "paylent-two-services.conf")
CLIENT = "paylent-docs-app"
SECRET = "paylent-docs-secret-0123456789"


@pytest.fixture(scope="module")
def ports():
    return free_port(), free_port()


@pytest.fixture(scope="module")
def paylent_op(ports, tmp_path_factory):
    client_port, _ = ports
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [f"http://127.0.0.1:{client_port}/api/auth/callback/coinpay"]}
    o = OP([client], workdir=str(tmp_path_factory.mktemp("paylent-op")), quiet=True)
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="module")
def paylent(paylent_op, ports):
    client_port, api_port = ports
    h = Httpd(client_port, coinpay=None, locations="")
    root = h.root
    api_root = os.path.join(root, "api-htdocs")
    cgi_root = os.path.join(root, "paylent-cgi")
    for route, body in (("profile", '{"profile": "dana"}'), ("documents", '{"documents": ["q3.pdf"]}')):
        os.makedirs(os.path.join(api_root, "api", route), exist_ok=True)
        with open(os.path.join(api_root, "api", route, "index.html"), "w") as f:
            f.write(body + "\n")
    os.makedirs(cgi_root, exist_ok=True)
    shutil.copy(os.path.join(REPO, "conf", "examples", "paylent-documents.cgi"),
                os.path.join(cgi_root, "documents"))
    os.chmod(os.path.join(cgi_root, "documents"), 0o755)
    text = open(EXAMPLE).read()
    text = text.replace("Listen 127.0.0.1:3000\n", "")
    text = text.replace("3000", str(client_port)).replace("4100", str(api_port))
    text = text.replace("/var/www/paylent-client", os.path.join(root, "htdocs"))
    text = text.replace("/var/www/paylent-api", api_root)
    text = text.replace("/usr/lib/cgi-bin/paylent/", cgi_root + "/")
    defines = (f"Define COINPAY_OAUTH_ISSUER {paylent_op.issuer}\n"
               f"Define COINPAY_OAUTH_CLIENT_ID {CLIENT}\n"
               f"Define COINPAY_OAUTH_CLIENT_SECRET {SECRET}\n"
               f"Define COINPAY_CRYPTO_PASSPHRASE {PASSPHRASE}\n")
    h.extra_conf = defines + text
    _HTTPDS.append(h)
    start_checked(h)
    yield h, api_port
    h.cleanup()
    _HTTPDS.remove(h)


def test_client_page_shows_the_documents_the_api_returns_for_the_signed_in_user(paylent):
    h, _ = paylent
    s = signed_in(h, "dana", start_path="/api/auth/login/coinpay?return_to=/")
    r = s.get(h.url("/cgi-bin/documents"), allow_redirects=False, timeout=15)
    assert r.status_code == 200, r.text
    assert "Signed in as: dana" in r.text
    assert 'profile: {"profile": "dana"}' in r.text and "(HTTP 200)" in r.text
    assert 'documents: {"documents": ["q3.pdf"]}' in r.text


def test_api_refuses_a_token_without_read_documents(paylent, paylent_op):
    _, api_port = paylent
    key, kid = op_signing_key(paylent_op.key_file)
    token = sign_rs256(access_claims(paylent_op.issuer, f"http://127.0.0.1:{api_port}",
                                     scope="openid profile"), key, kid)
    base = f"http://127.0.0.1:{api_port}"
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(base + "/api/profile/", headers=auth, timeout=10).status_code == 200
    r = requests.get(base + "/api/documents/", headers=auth, timeout=10)
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    assert 'scope="read:documents"' in r.headers["WWW-Authenticate"]
