"""Name-based virtual hosts on one loopback port, without DNS.

virtual_host() writes a <VirtualHost 127.0.0.1:port> block for Httpd(extra_conf=...).
vhost_session() gives a requests.Session that sends requests for http://<name>:<port>/... to
127.0.0.1:<port> with `Host: <name>:<port>`, so URLs, redirects and cookies keep the virtual
host's name (the cookie jar files cookies under it) while the connection goes to the loopback
httpd. Other URLs (the OP's) go out as usual.
"""
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


def virtual_host(name, port, body="", ip="127.0.0.1"):
    """A name-based <VirtualHost ip:port> for ServerName name (the first one written for an
    address is httpd's default for unknown Host headers)."""
    inner = "\n".join("    " + line if line.strip() else line for line in body.splitlines())
    return (f"<VirtualHost {ip}:{port}>\n    ServerName {name}\n"
            f"{inner}\n</VirtualHost>\n")


class LoopbackHostAdapter(HTTPAdapter):
    """Connects to `ip` for the host names it is mounted for; keeps their Host header."""

    def __init__(self, names, ip="127.0.0.1", **kw):
        super().__init__(**kw)
        self.names = {n.lower() for n in names}
        self.ip = ip

    def send(self, request, **kw):
        u = urlsplit(request.url)
        if (u.hostname or "").lower() not in self.names:
            return super().send(request, **kw)
        routed = request.copy()
        netloc = f"{self.ip}:{u.port}" if u.port else self.ip
        routed.url = urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment))
        routed.headers["Host"] = u.netloc
        resp = super().send(routed, **kw)
        resp.url = request.url       # the caller (and its cookie jar) sees the virtual host
        resp.request = request
        return resp


def vhost_session(port, *names, ip="127.0.0.1"):
    """A requests.Session that reaches http://<name>:<port>/ for each name at ip:port."""
    s = requests.Session()
    adapter = LoopbackHostAdapter(names, ip=ip)
    for n in names:
        s.mount(f"http://{n}:{port}/", adapter)
    return s


def vhost_get(port, name, path, ip="127.0.0.1", **kw):
    """One GET to virtual host `name` at ip:port (no redirects followed unless asked)."""
    kw.setdefault("allow_redirects", False)
    kw.setdefault("timeout", 30)
    headers = dict(kw.pop("headers", None) or {})
    headers["Host"] = f"{name}:{port}"
    return requests.get(f"http://{ip}:{port}{path}", headers=headers, **kw)
