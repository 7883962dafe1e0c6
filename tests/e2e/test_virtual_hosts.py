"""Name-based virtual hosts on one port, each its own site: a session belongs to the site it
was made on (CoinpaySessionScope, default the virtual host's name), its issuer and client id.

Two httpds, each with name-based virtual hosts on one loopback port (requests go to
127.0.0.1:<port> with the virtual host's Host header; see tests/harness/vhosts.py):

  sites httpd:  a.test (client vh-a), b.test (client vh-b), c.test (client vh-a again, no
                CoinpaySessionScope: the same provider and client as a.test, another site)
  shop httpd:   shop1.test and shop2.test (client vh-shop, both `CoinpaySessionScope shop`),
                outlet.test (client vh-shop, `CoinpaySessionScope outlet`)

All of them use the one real OP; each virtual host has its own CoinpayRedirectURI. A cookie
made on one host is carried by hand (a Cookie header) to another, as a user (or an attacker)
could do when the hosts share a parent domain.
"""
import pytest

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import API, BROWSER, query
from harness import LOCATIONS, OP, Httpd, coinpay_directives, free_port, login
from harness.vhosts import vhost_get, vhost_session, virtual_host

COOKIE = "coinpay_session"
CLIENTS = {"vh-a": "vh-a-secret-0123456789", "vh-b": "vh-b-secret-0123456789",
           "vh-shop": "vh-shop-secret-0123456789"}
SITES = {"a.test": "vh-a", "b.test": "vh-b", "c.test": "vh-a"}
SHOPS = {"shop1.test": ("vh-shop", "shop"), "shop2.test": ("vh-shop", "shop"),
         "outlet.test": ("vh-shop", "outlet")}


def _callback(name, port):
    return f"http://{name}:{port}/api/auth/callback/coinpay"


@pytest.fixture(scope="module")
def vh_ports():
    a = free_port()
    b = free_port()
    while b == a:
        b = free_port()
    return {"sites": a, "shop": b}


@pytest.fixture(scope="module")
def vh_op(vh_ports, tmp_path_factory):
    uris = {cid: [] for cid in CLIENTS}
    for name, cid in SITES.items():
        uris[cid].append(_callback(name, vh_ports["sites"]))
    for name, (cid, _) in SHOPS.items():
        uris[cid].append(_callback(name, vh_ports["shop"]))
    clients = [{"client_id": cid, "client_secret": secret, "redirect_uris": uris[cid]}
               for cid, secret in CLIENTS.items()]
    o = OP(clients, workdir=str(tmp_path_factory.mktemp("vh-op")), quiet=True)
    o.start()
    yield o
    o.cleanup()


def _vhosts_httpd(port, op, hosts):
    """hosts: {name: (client id, CoinpaySessionScope or None)}; the first is the default."""
    blocks = []
    for name, (cid, scope) in hosts.items():
        blocks.append(virtual_host(name, port, coinpay_directives(
            op.issuer, cid, CLIENTS[cid], _callback(name, port), passphrase=PASSPHRASE,
            extra=f"CoinpaySessionScope {scope}" if scope else "")))
    h = Httpd(port, coinpay=None, locations=LOCATIONS, extra_conf="\n".join(blocks))
    _HTTPDS.append(h)
    return h


@pytest.fixture(scope="module")
def sites(vh_ports, vh_op):
    h = _vhosts_httpd(vh_ports["sites"], vh_op, {n: (c, None) for n, c in SITES.items()})
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


@pytest.fixture(scope="module")
def shops(vh_ports, vh_op):
    h = _vhosts_httpd(vh_ports["shop"], vh_op, SHOPS)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


# -- helpers ----------------------------------------------------------------------------------
def sign_in_at(h, name, user):
    """Sign in on virtual host `name` of h; returns the session cookie value."""
    s = vhost_session(h.port, name)
    try:
        r = login(s, f"http://{name}:{h.port}", user)
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        cookie = s.cookies.get(COOKIE, domain=name)
        assert cookie, f"no session cookie from {name}"
        return cookie
    finally:
        s.close()


def at(h, name, path, cookie, headers=BROWSER):
    """GET path on virtual host `name` with the session cookie in a hand-written Cookie
    header (and a cookie of the application's own, which must not matter)."""
    hdrs = dict(headers)
    hdrs["Cookie"] = f"theme=dark; {COOKIE}={cookie}"
    return vhost_get(h.port, name, path, headers=hdrs)


def env_of(r):
    return dict(l.split("=", 1) for l in r.text.splitlines() if "=" in l)


def assert_opens(h, name, cookie, user):
    r = at(h, name, "/cgi-bin/whoami", cookie)
    assert r.status_code == 200, (name, r.status_code, r.text[:300])
    assert env_of(r).get("REMOTE_USER") == user, (name, r.text)


def assert_refused(h, name, cookie, user, op, client_id):
    """The cookie is no session on virtual host `name`: its page sends the browser to sign in
    with that host's own client, its API answers 401, its CGI never runs as `user`."""
    r = at(h, name, "/app/", cookie)
    assert r.status_code == 302, (f"a session from another site opens {name}",
                                  r.status_code, r.text[:200])
    loc = r.headers["Location"]
    assert loc.startswith(op.url("/oauth/authorize")), loc
    assert query(loc)["client_id"] == client_id, loc
    assert query(loc)["redirect_uri"] == _callback(name, h.port), loc
    r = at(h, name, "/app/data.json", cookie, headers=API)
    assert r.status_code == 401, (f"a session from another site opens {name}'s API",
                                  r.status_code, r.text[:200])
    for headers in (BROWSER, API):
        r = at(h, name, "/cgi-bin/whoami", cookie, headers=headers)
        assert r.status_code in (302, 401), (name, r.status_code, r.text[:300])
        assert f"REMOTE_USER={user}" not in r.text, r.text


# -- tests ------------------------------------------------------------------------------------
def test_session_from_one_virtual_host_does_not_open_another_on_the_same_port(sites, vh_op):
    alice = sign_in_at(sites, "a.test", "alice-at-a")
    assert_opens(sites, "a.test", alice, "alice-at-a")
    assert_refused(sites, "b.test", alice, "alice-at-a", vh_op, "vh-b")
    # And the other way round.
    bob = sign_in_at(sites, "b.test", "bob-at-b")
    assert_opens(sites, "b.test", bob, "bob-at-b")
    assert_refused(sites, "a.test", bob, "bob-at-b", vh_op, "vh-a")
    # Each still works where it was made.
    assert_opens(sites, "a.test", alice, "alice-at-a")


def test_same_provider_and_client_on_another_virtual_host_is_still_another_site(sites, vh_op):
    """a.test and c.test use the same issuer and client id but say nothing about scope: by
    default each virtual host is its own site."""
    carol = sign_in_at(sites, "a.test", "carol-at-a")
    assert_refused(sites, "c.test", carol, "carol-at-a", vh_op, "vh-a")
    assert_opens(sites, "a.test", carol, "carol-at-a")


def test_virtual_hosts_with_the_same_session_scope_share_sessions(shops, vh_op):
    dave = sign_in_at(shops, "shop1.test", "dave-shopper")
    assert_opens(shops, "shop1.test", dave, "dave-shopper")
    assert_opens(shops, "shop2.test", dave, "dave-shopper")
    r = at(shops, "shop2.test", "/app/data.json", dave, headers=API)
    assert r.status_code == 200 and r.json() == {"ok": True}, (r.status_code, r.text[:200])
    erin = sign_in_at(shops, "shop2.test", "erin-shopper")
    assert_opens(shops, "shop1.test", erin, "erin-shopper")


def test_another_session_scope_with_the_same_client_keeps_sessions_apart(shops, vh_op):
    frank = sign_in_at(shops, "shop1.test", "frank-shopper")
    assert_refused(shops, "outlet.test", frank, "frank-shopper", vh_op, "vh-shop")
    assert_opens(shops, "shop2.test", frank, "frank-shopper")
