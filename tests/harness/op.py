"""Start/stop the local OpenID Provider (tests/op/op.js, oidc-provider) as a subprocess."""
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import requests

from .util import OP_JS, REPO


class OPError(RuntimeError):
    pass


class OP:
    """A running oidc-provider configured like CoinPay.

    clients: list of dicts (client metadata, see op.js). port: None/0 = free port.
    """

    def __init__(self, clients, port=0, access_token_ttl=None, id_token_ttl=None,
                 refresh_token_ttl=None, auto_consent=False, key_file=None, workdir=None,
                 node="node", quiet=False, issuer=None, conform_id_token_claims=False,
                 refreshed_access_token_ttl=None, acr_values=None, par=False, require_par=False,
                 dpop_require_nonce=False, client_credentials=False):
        self.clients = clients
        self.port = port or 0
        self.access_token_ttl = access_token_ttl
        # Lifetime of access tokens from the refresh_token grant (None: access_token_ttl).
        self.refreshed_access_token_ttl = refreshed_access_token_ttl
        self.id_token_ttl = id_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self.auto_consent = auto_consent
        self.node = node
        self.quiet = quiet
        self.conform_id_token_claims = conform_id_token_claims
        # Step-up tests: acr values the OP issues (a login name "alice+strong" picks the one
        # ending in ":strong"; see op.js); None: no acr at all.
        self.acr_values = acr_values
        self.par = par                  # offer PAR (RFC 9126) at /oauth/par
        self.require_par = require_par  # and refuse authorization requests not pushed
        self.dpop_require_nonce = dpop_require_nonce
        self.client_credentials = client_credentials
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="coinpay-op-")
        self.key_file = key_file or os.path.join(self.workdir, "signing-key.json")
        self.log_path = os.path.join(self.workdir, "op.log")
        self.issuer = issuer
        self.proc = None
        self._log = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout=20.0):
        if not os.path.isdir(os.path.join(REPO, "tests", "op", "node_modules", "oidc-provider")):
            raise OPError("tests/op/node_modules missing: run `npm ci` in tests/op "
                          "(or scripts/install-deps.sh)")
        clients_file = os.path.join(self.workdir, "clients.json")
        with open(clients_file, "w") as f:
            json.dump(self.clients, f)
        cmd = [self.node, OP_JS, "--port", str(self.port), "--key-file", self.key_file,
               "--clients-file", clients_file]
        if self.issuer:
            cmd += ["--issuer", self.issuer]
        for opt, val in (("--access-token-ttl", self.access_token_ttl),
                         ("--refreshed-access-token-ttl", self.refreshed_access_token_ttl),
                         ("--id-token-ttl", self.id_token_ttl),
                         ("--refresh-token-ttl", self.refresh_token_ttl)):
            if val is not None:
                cmd += [opt, str(val)]
        if self.auto_consent:
            cmd.append("--auto-consent")
        if self.quiet:
            cmd.append("--quiet")
        if self.conform_id_token_claims:
            cmd.append("--conform-id-token-claims")
        if self.acr_values:
            cmd += ["--acr-values", " ".join(self.acr_values)]
        if self.par:
            cmd.append("--par")
        if self.require_par:
            cmd.append("--require-par")
        if self.dpop_require_nonce:
            cmd.append("--dpop-require-nonce")
        if self.client_credentials:
            cmd.append("--client-credentials")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log,
                                     stdin=subprocess.DEVNULL, cwd=os.path.dirname(OP_JS))
        deadline = time.monotonic() + timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise OPError(f"OP did not get ready; log {self.log_path}:\n{self.log_tail()}")
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    continue
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode()
        if not line.startswith("OP READY "):
            self.stop()
            raise OPError(f"unexpected first line from OP: {line!r}")
        self.issuer = line.split(" ", 2)[2].strip()
        self.port = int(self.issuer.rsplit(":", 1)[1].split("/")[0])
        return self

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def cleanup(self):
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- helpers ---------------------------------------------------------------------------
    def url(self, path):
        return self.issuer.rstrip("/") + path

    def discovery(self):
        return requests.get(self.url("/.well-known/openid-configuration"), timeout=5).json()

    def stats(self):
        r = requests.get(self.url("/__test/stats"), timeout=5)
        r.raise_for_status()
        return r.json()

    def reset_stats(self):
        requests.post(self.url("/__test/reset"), timeout=5).raise_for_status()

    def hold_refresh(self, seconds):
        """Hold every refresh_token grant's answer `seconds` after the grant is done (the
        spent token is already rotated and the new one counted in stats()); 0 = answer at once.
        Stays until changed, across reset_stats()."""
        r = requests.post(self.url("/__test/control"),
                          json={"refresh_delay_ms": int(seconds * 1000)}, timeout=5)
        r.raise_for_status()
        return r.json()

    def introspect(self, token, client_id, client_secret):
        r = requests.post(self.url("/oauth/introspect"), data={"token": token},
                          auth=(client_id, client_secret), timeout=5)
        r.raise_for_status()
        return r.json()

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""
