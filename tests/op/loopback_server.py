"""The common part of the Python test providers (bad_op.py, coinbase_like.py, ...): a threaded
HTTP/1.1 server on 127.0.0.1 and a free port, and a request handler with the few helpers every
route needs. Stdlib only.

    class MyProvider(LoopbackServer):
        handler_class = MyHandler          # a LoopbackHandler; self.owner is the provider
    p = MyProvider(host="127.0.0.1", port=0).start(); p.url("/x"); p.stop()
"""
import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_plus


def b64u(data):
    """base64url without padding (JOSE, PKCE); str is UTF-8 encoded first."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LoopbackServer:
    """Starts, serves on a daemon thread, stops. stop() also cuts kept-alive connections, as a
    provider that goes down would: otherwise they would go on answering."""

    handler_class = None  # set by the subclass
    thread_name = "loopback-server"

    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self._server = None
        self._thread = None
        self._connections = set()

    @property
    def base_url(self):
        return f"http://{self.host}:{self.port}"

    def url(self, path=""):
        return self.base_url + path

    def start(self):
        owner = self

        class Handler(self.handler_class):
            pass

        Handler.owner = owner
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"{self.thread_name}-{self.port}")
        self._thread.start()
        return self

    def before_stop(self):
        """Hook: release anything a handler may be waiting on."""

    def stop(self):
        self.before_stop()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for conn in list(self._connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class LoopbackHandler(BaseHTTPRequestHandler):
    owner = None  # the LoopbackServer, set by start()
    protocol_version = "HTTP/1.1"
    content_type = "application/json"  # the default of send()

    def log_message(self, fmt, *args):  # quiet: tests read the provider's stats instead
        pass

    def setup(self):
        super().setup()
        self.owner._connections.add(self.connection)

    def finish(self):
        self.owner._connections.discard(self.connection)
        super().finish()

    def send(self, status, body=b"", ctype=None, headers=None):
        """Answers `body` (dict/list as JSON, str as UTF-8) with no-store."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype or self.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def basic_credentials(self):
        """(client_id, secret) from `Authorization: Basic` (form-urlencoded parts, RFC 6749
        2.3.1); None without Basic; ("", None) when it does not decode."""
        auth = self.headers.get("Authorization", "")
        if auth[:6].lower() != "basic ":
            return None
        try:
            cid, sep, sec = base64.b64decode(auth[6:], validate=True).decode().partition(":")
        except ValueError:
            return "", None
        if not sep:
            return "", None
        return unquote_plus(cid), unquote_plus(sec)
