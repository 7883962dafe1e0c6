"""The README's demo: the local OP and Apache with mod_coinpay_auth, until Ctrl-C.

  /usr/bin/python3 -m harness.demo          (from tests/; scripts/demo.sh does the rest)

Environment: DEMO_OP_PORT (default 9090), DEMO_HTTPD_PORT (default 8080) -- a free port is
used instead when the one asked for is taken; COINPAY_MODULE (default build/mod_coinpay_auth.so);
DEMO_STATE_DIR (default build/demo) for the OP's signing key and Apache's files.
"""
import os
import secrets
import shutil
import signal
import sys
import threading

from .httpd import Httpd, coinpay_directives
from .op import OP
from .util import REPO, free_port, module_path, port_is_free

CLIENT_ID = "demo-client"


def _port(env, default):
    want = int(os.environ.get(env, default))
    if port_is_free(want):
        return want
    got = free_port()
    print(f"demo: port {want} is taken, using {got} instead (set {env} to choose)", flush=True)
    return got


def main():
    mod = module_path()
    if not os.path.exists(mod):
        print(f"demo: {mod} not found; build first (cmake -S . -B build && cmake --build build)",
              file=sys.stderr)
        return 1
    state = os.path.abspath(os.environ.get("DEMO_STATE_DIR", os.path.join(REPO, "build", "demo")))
    os.makedirs(state, exist_ok=True)
    op_port = _port("DEMO_OP_PORT", 9090)
    httpd_port = _port("DEMO_HTTPD_PORT", 8080)
    if httpd_port == op_port:
        httpd_port = free_port()
    base = f"http://127.0.0.1:{httpd_port}"
    callback = base + "/api/auth/callback/coinpay"
    secret = secrets.token_urlsafe(24)
    passphrase = secrets.token_urlsafe(32)

    op_dir = os.path.join(state, "op")
    os.makedirs(op_dir, exist_ok=True)
    op = OP([{"client_id": CLIENT_ID, "client_secret": secret, "redirect_uris": [callback],
              "post_logout_redirect_uris": [base + "/bye", base + "/"],
              "token_endpoint_auth_method": "client_secret_basic"}],
            port=op_port, workdir=op_dir, key_file=os.path.join(state, "op-signing-key.json"))
    httpd_root = os.path.join(state, "httpd")
    shutil.rmtree(httpd_root, ignore_errors=True)
    httpd = Httpd(httpd_port, root=httpd_root, log_level="info coinpay_auth:debug",
                  coinpay=coinpay_directives(f"http://127.0.0.1:{op_port}", CLIENT_ID, secret,
                                             callback, passphrase=passphrase))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        op.start()
        httpd.start()
        print(f"""
mod_coinpay_auth demo is running.

  Open  {base}/app/            (a static page protected by the module)
  or    {base}/cgi-bin/whoami  (a CGI that prints who is signed in)
  Sign out: {base}/api/auth/logout/coinpay?return_to=/bye

  The local OpenID Provider at {op.issuer} accepts ANY login and ANY password:
  the login you type becomes your user id (sub), your email is <login>@example-business.com.

  Logs: {httpd.error_log}
        {op.log_path}
  Press Ctrl-C to stop.
""", flush=True)
        while not stop.wait(1.0):
            if op.proc is None or op.proc.poll() is not None:
                print("demo: the OP exited; stopping", file=sys.stderr)
                break
    finally:
        print("demo: stopping Apache and the OP", flush=True)
        httpd.stop()
        op.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
