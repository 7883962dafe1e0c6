"""Browser-less login: drive the relying party and oidc-provider's devInteractions forms
with a plain requests.Session (cookies kept by the session)."""
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []
        self._cur = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._cur = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                         "id": a.get("id"), "fields": {}}
            self.forms.append(self._cur)
        elif tag == "input":
            form = self._cur
            if a.get("form"):  # input outside its form (form="id")
                form = next((f for f in self.forms if f["id"] == a["form"]), form)
            if form is not None and a.get("name"):
                form["fields"][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._cur = None


def parse_forms(html):
    p = _Forms()
    p.feed(html)
    return p.forms


class LoginError(AssertionError):
    pass


def _same_origin(a, b):
    sa, sb = urlsplit(a), urlsplit(b)
    return (sa.scheme, sa.netloc) == (sb.scheme, sb.netloc)


def login(session, base_url, username="alice", password="any-password",
          start_path="/api/auth/login/coinpay?return_to=/app/", max_steps=30, headers=None,
          stop_at_callback=False, trace=None):
    """Sign in `username` through the relying party at base_url.

    GETs base_url+start_path (a login handler or a protected page), follows redirects to the
    OP, submits the login form (login/password), then the consent form if shown, and follows
    redirects back to the relying party. Returns the final response (redirects followed).

    stop_at_callback=True: return the (unfollowed) request to the RP's callback URL instead,
    as a prepared URL string, without calling it (for replay / tampering tests).
    trace: optional list that receives every (method, url, status) visited.
    """
    hdrs = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}
    hdrs.update(headers or {})
    url = start_path if start_path.startswith("http") else base_url.rstrip("/") + start_path
    method, data = "GET", None
    login_done = consent_done = False
    for _ in range(max_steps):
        if stop_at_callback and method == "GET" and _same_origin(url, base_url) \
                and "/callback" in urlsplit(url).path:
            return url
        if method == "GET":
            r = session.get(url, headers=hdrs, allow_redirects=False, timeout=10)
        else:
            r = session.post(url, data=data, headers=hdrs, allow_redirects=False, timeout=10)
        if trace is not None:
            trace.append((method, url, r.status_code))
        if r.is_redirect or r.status_code in (301, 302, 303, 307, 308):
            url = urljoin(url, r.headers["Location"])
            method, data = "GET", None
            continue
        if _same_origin(url, base_url):
            return r  # back at the relying party, final answer
        # At the OP: expect a login or consent form.
        if r.status_code != 200:
            raise LoginError(f"OP answered {r.status_code} at {url}: {r.text[:500]}")
        forms = [f for f in parse_forms(r.text) if f["method"] == "post"]
        if not forms:
            raise LoginError(f"no form on OP page {url}: {r.text[:500]}")
        form = forms[0]
        fields = dict(form["fields"])
        if "login" in fields or 'name="login"' in r.text:
            if login_done:
                raise LoginError("OP asked for a login twice")
            fields["login"] = username
            fields["password"] = password
            login_done = True
        elif fields.get("prompt") == "consent":
            if consent_done:
                raise LoginError("OP asked for consent twice")
            consent_done = True
        url = urljoin(url, form["action"])
        method, data = "POST", fields
    raise LoginError(f"too many steps; last URL {url}")
