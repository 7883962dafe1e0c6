"""Behind a TLS-terminating proxy or load balancer (CoinpayTrustedProxy, docs/reverse-proxy.md).

The proxy is played by a requests adapter: the browser (a requests.Session) talks to
https://rp.example/, the adapter forwards each request over plain http to the loopback httpd
and adds the headers a load balancer adds. The connection comes from 127.0.0.1, so whether
127.0.0.1 is trusted decides whether those headers count.
"""
import re
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from conftest import CLIENT_ID, CLIENT_SECRET, PASSPHRASE, _HTTPDS, redirect_uri, start_checked
from e2e_util import BROWSER, login_cookies
from harness import OP, Httpd, coinpay_directives, free_port, login
from harness.httpd import STD_MODULES

PUBLIC = "rp.example"
PUBLIC_CALLBACK = f"https://{PUBLIC}/api/auth/callback/coinpay"
MISMATCH = "CPA00310"
IGNORED = "CPA00311"


class TlsTerminatingProxy(HTTPAdapter):
    """Forwards https://rp.example/... to http://127.0.0.1:<port>/... as a load balancer would.

    style "x-forwarded": Host is the backend's own (like ProxyPreserveHost Off), the original
    scheme, host and port travel in X-Forwarded-Proto/-Host/-Port (appended to what the client
    sent). style "forwarded": Host preserved, an RFC 7239 element appended to Forwarded.
    """

    def __init__(self, port, style, **kw):
        super().__init__(**kw)
        self.port = port
        self.style = style

    def send(self, request, **kw):
        u = urlsplit(request.url)
        routed = request.copy()
        routed.url = urlunsplit(("http", f"127.0.0.1:{self.port}", u.path, u.query, u.fragment))
        h = routed.headers

        def append(name, value):
            h[name] = f"{h[name]}, {value}" if name in h else value

        if self.style == "plain":  # a real proxy listens at that port and adds the headers
            h["Host"] = PUBLIC
        elif self.style == "x-forwarded":
            h["Host"] = f"127.0.0.1:{self.port}"
            append("X-Forwarded-For", "198.51.100.7")
            append("X-Forwarded-Proto", "https")
            append("X-Forwarded-Host", PUBLIC)
            append("X-Forwarded-Port", "443")
        else:
            h["Host"] = PUBLIC
            append("Forwarded", f'for=198.51.100.7;proto=https;host="{PUBLIC}"')
        resp = super().send(routed, **kw)
        resp.url = request.url  # the browser (and its cookie jar) sees the public URL
        resp.request = request
        return resp


def proxied_session(port, style):
    s = requests.Session()
    s.mount(f"https://{PUBLIC}/", TlsTerminatingProxy(port, style))
    return s


@pytest.fixture(scope="module")
def public_op(tmp_path_factory):
    """An OP whose client is registered with the public https redirect URI."""
    o = OP([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
             "token_endpoint_auth_method": "client_secret_basic",
             "redirect_uris": [PUBLIC_CALLBACK],
             "post_logout_redirect_uris": [f"https://{PUBLIC}/"]}],
           workdir=str(tmp_path_factory.mktemp("public-op")), quiet=True)
    o.start()
    yield o
    o.cleanup()


def behind_proxy_httpd(issuer, trusted, redirect):
    port = free_port()
    extra = f"CoinpayTrustedProxy {trusted}" if trusted else ""
    h = Httpd(port, coinpay=coinpay_directives(issuer, CLIENT_ID, CLIENT_SECRET, redirect,
                                               passphrase=PASSPHRASE, extra=extra))
    h.per_test = True  # the error-log guard checks it after the test, then removes it
    _HTTPDS.append(h)
    return start_checked(h)


def module_lines(h, tag):
    return [l for l in h.error_log_lines() if f"{tag}:" in l]


def login_request(h, **headers):
    return requests.get(h.url("/api/auth/login/coinpay?return_to=/app/"),
                        headers={**BROWSER, **headers}, allow_redirects=False, timeout=10)


@pytest.mark.sanitize
@pytest.mark.parametrize("style", ["x-forwarded", "forwarded"])
def test_whole_sign_in_works_behind_a_trusted_tls_terminating_proxy(public_op, style):
    h = behind_proxy_httpd(public_op.issuer, "127.0.0.1", PUBLIC_CALLBACK)
    s = proxied_session(h.port, style)
    trace = []
    r = login(s, f"https://{PUBLIC}", "alice", trace=trace)
    assert r.status_code == 200 and 'id="protected"' in r.text, (r.status_code, trace)
    assert urlsplit(r.url).netloc == PUBLIC
    # The callback was reached through the proxy at the registered https URI.
    assert any(url.startswith(PUBLIC_CALLBACK) for _, url, _ in trace), trace
    # Every cookie the module set is Secure, and the jar sends them only over https.
    ours = [c for c in s.cookies if c.name.startswith("coinpay_")]
    assert ours and all(c.secure for c in ours), [(c.name, c.secure) for c in ours]
    again = s.get(f"https://{PUBLIC}/app/", headers=BROWSER, allow_redirects=False, timeout=10)
    assert again.status_code == 200 and 'id="protected"' in again.text
    # The sign-in looked like the redirect URI's origin: no mismatch warning (the guard also
    # fails the test on any warn line).
    assert not module_lines(h, MISMATCH)


@pytest.mark.allow_log(MISMATCH)
def test_sign_in_through_a_real_apache_reverse_proxy_hop(public_op):
    # A second httpd with mod_proxy plays the TLS-terminating front end: it sets
    # X-Forwarded-Proto and appends X-Forwarded-Host itself (ProxyPreserveHost Off, so the
    # backend's Host is 127.0.0.1:<port>). The browser also sends a forged X-Forwarded-Host,
    # to which mod_proxy appends the real one: only that last item counts.
    backend = behind_proxy_httpd(public_op.issuer, "127.0.0.1", PUBLIC_CALLBACK)
    front_conf = ("ProxyPreserveHost Off\n"
                  "RequestHeader set X-Forwarded-Proto https\n"
                  f"ProxyPass / http://127.0.0.1:{backend.port}/\n")
    front = Httpd(free_port(), coinpay=None, locations="", load_module=False, log_level="warn",
                  modules=STD_MODULES + ["proxy", "proxy_http"], extra_conf=front_conf)
    front.per_test = True
    _HTTPDS.append(front)
    start_checked(front)
    s = proxied_session(front.port, "plain")
    s.headers["X-Forwarded-Host"] = "evil.example"
    r = login(s, f"https://{PUBLIC}", "alice")
    assert r.status_code == 200 and 'id="protected"' in r.text
    ours = [c for c in s.cookies if c.name.startswith("coinpay_")]
    assert ours and all(c.secure for c in ours)
    assert not module_lines(backend, MISMATCH)
    # The hop was real: the backend saw the front end's connection and headers.
    assert any("/api/auth/callback/coinpay" in l for l in backend.access_log_lines())


@pytest.mark.allow_log(MISMATCH)
def test_trusted_proxy_https_makes_login_cookies_secure_on_a_plain_http_site(op, httpd_port):
    # The usual test site's redirect URI is http://127.0.0.1:<port>: cookies are Secure only
    # when the request itself was https, which only a trusted proxy can tell us.
    h = behind_proxy_httpd(op.issuer, "127.0.0.1", redirect_uri(httpd_port))
    plain = login_request(h)
    assert plain.status_code == 302
    (_, attrs), = login_cookies(plain).values()
    assert "secure" not in attrs, plain.headers.get("Set-Cookie")
    proxied = login_request(h, **{"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 302
    (_, attrs), = login_cookies(proxied).values()
    assert attrs.get("secure") is True, proxied.headers.get("Set-Cookie")
    # That request claimed https while the redirect URI is http: the operator hears of it.
    assert len(module_lines(h, MISMATCH)) == 1


def test_proxy_headers_from_an_untrusted_peer_are_ignored(op, httpd_port):
    h = behind_proxy_httpd(op.issuer, "10.0.0.0/8 2001:db8::/32", redirect_uri(httpd_port))
    for headers in ({"X-Forwarded-Proto": "https"},
                    {"Forwarded": "proto=https;host=evil.example"},
                    {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}):
        r = login_request(h, **headers)
        assert r.status_code == 302
        (_, attrs), = login_cookies(r).values()
        assert "secure" not in attrs, (headers, r.headers.get("Set-Cookie"))
    # Nothing claimed was believed: the sign-in matched the redirect URI, no CPA00310.
    assert not module_lines(h, MISMATCH)
    assert not module_lines(h, IGNORED)


def test_without_trusted_proxy_directive_the_headers_are_ignored(op, httpd_port):
    h = behind_proxy_httpd(op.issuer, None, redirect_uri(httpd_port))
    r = login_request(h, **{"X-Forwarded-Proto": "https"})
    (_, attrs), = login_cookies(r).values()
    assert "secure" not in attrs


@pytest.mark.allow_log(MISMATCH)
def test_sign_in_on_another_scheme_than_the_redirect_uri_is_logged_once(public_op):
    # The load balancer is not trusted (or sends nothing): sign-ins look like
    # http://127.0.0.1:<port> while the redirect URI is https://rp.example.
    h = behind_proxy_httpd(public_op.issuer, "10.0.0.1", PUBLIC_CALLBACK)
    for _ in range(3):
        assert login_request(h, **{"X-Forwarded-Proto": "https"}).status_code == 302
        assert requests.get(h.url("/app/"), headers=BROWSER, allow_redirects=False,
                            timeout=10).status_code == 302
    lines = module_lines(h, MISMATCH)
    assert len(lines) == 1, lines
    line = lines[0]
    assert "[coinpay_auth:warn]" in line
    assert f"arrived as http://127.0.0.1:{h.port}" in line
    assert f"CoinpayRedirectURI is on https://{PUBLIC}" in line
    assert "CoinpayTrustedProxy" in line and "UseCanonicalName" in line


@pytest.mark.allow_log(MISMATCH)
def test_callback_on_the_wrong_scheme_names_the_fix(public_op):
    # The classic failure: the callback arrives without the state cookie; the same line
    # tells the operator why, also when the first sign-in request seen is the callback.
    h = behind_proxy_httpd(public_op.issuer, None, PUBLIC_CALLBACK)
    r = requests.get(h.url("/api/auth/callback/coinpay?code=x&state=y"), headers=BROWSER,
                     allow_redirects=False, timeout=10)
    assert r.status_code == 400
    assert len(module_lines(h, MISMATCH)) == 1


@pytest.mark.parametrize("headers, reason", [
    ({"Forwarded": 'proto=https;host="bad host/"'}, "Forwarded host is not a host name"),
    ({"Forwarded": "proto=https;host=rp.example:443"}, "Forwarded header malformed"),
    ({"Forwarded": "proto=gopher"}, "Forwarded proto is not http or https"),
    # A broken Forwarded is not rescued by X-Forwarded-*: Forwarded, when present, decides.
    ({"Forwarded": "proto=https;;=", "X-Forwarded-Proto": "https"}, "Forwarded header malformed"),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Port": "70000"}, "X-Forwarded-Port is not a port"),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example/x"},
     "X-Forwarded-Host is not a host name"),
    ({"X-Forwarded-Proto": "https" + ", https" * 1000}, "longer than 4096 bytes"),
])
def test_malformed_proxy_headers_are_ignored_and_the_request_goes_on(op, httpd_port, headers,
                                                                      reason):
    h = behind_proxy_httpd(op.issuer, "127.0.0.1", redirect_uri(httpd_port))
    r = login_request(h, **headers)
    assert r.status_code == 302 and r.headers["Location"].startswith(op.issuer)
    (_, attrs), = login_cookies(r).values()
    assert "secure" not in attrs  # the connection's own scheme
    lines = module_lines(h, IGNORED)
    assert len(lines) == 1, lines
    assert "[coinpay_auth:info]" in lines[0] and reason in lines[0], lines[0]
    assert "trusted peer 127.0.0.1" in lines[0]
    assert not module_lines(h, MISMATCH)


@pytest.mark.sanitize
def test_only_the_element_the_trusted_proxy_appended_counts(op, httpd_port):
    # The client wrote the first element; the proxy appended the last (plain http).
    h = behind_proxy_httpd(op.issuer, "127.0.0.1", redirect_uri(httpd_port))
    r = login_request(h, Forwarded='proto=https;host=evil.example, for=198.51.100.7;proto=http')
    (_, attrs), = login_cookies(r).values()
    assert "secure" not in attrs
    r = login_request(h, **{"X-Forwarded-Proto": "https, http"})
    (_, attrs), = login_cookies(r).values()
    assert "secure" not in attrs
    assert not module_lines(h, MISMATCH)


def _configtest(tmp_path, trusted_lines):
    port = free_port()
    d = coinpay_directives("http://127.0.0.1:1", CLIENT_ID, CLIENT_SECRET,
                           f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
                           passphrase=PASSPHRASE, extra="\n".join(trusted_lines))
    return Httpd(port, coinpay=d, root=str(tmp_path)).configtest()


def test_apachectl_t_accepts_trusted_proxy_lists(tmp_path):
    rc, out = _configtest(tmp_path, ["CoinpayTrustedProxy 10.0.0.0/8 192.0.2.7",
                                     "CoinpayTrustedProxy 2001:db8::/32 ::1 ::ffff:10.0.0.0/104"])
    assert rc == 0, out


@pytest.mark.parametrize("value, fix", [
    ("proxy.internal", "is not an IP address"),
    ("10.1", "write an address or a range such as 192.0.2.7, 10.0.0.0/8"),
    ("10.0.0.0/33", "must be a number from 1 to 32"),
    ("2001:db8::/129", "must be a number from 1 to 128"),
    ("10.0.0.1/8", "write 10.0.0.0/8 for the range, or 10.0.0.1 for that one address"),
    ("0.0.0.0/0", "would trust every client"),
    ("::/0", "list only your proxies' or load balancers' addresses"),
])
def test_apachectl_t_refuses_a_bad_trusted_proxy_and_names_the_fix(tmp_path, value, fix):
    rc, out = _configtest(tmp_path, [f"CoinpayTrustedProxy 192.0.2.1 {value}"])
    assert rc != 0, out
    assert "CoinpayTrustedProxy" in out and fix in out, out
    assert re.search(r"CPA0093\d", out), out
