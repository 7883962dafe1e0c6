"""Run Apache httpd with mod_coinpay_auth from a private, throw-away configuration."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from .util import make_world_readable, module_path, port_accepts, port_is_free, wait_until

APACHE = os.environ.get("APACHE_BIN", "/usr/sbin/apache2")
MODDIR = os.environ.get("APACHE_MODULES_DIR", "/usr/lib/apache2/modules")

STD_MODULES = ["mpm_event", "authn_core", "authz_core", "authz_user", "authz_host", "mime",
               "cgid", "alias", "dir", "headers", "env", "setenvif"]

CGI_SCRIPT = r"""#!/bin/sh
# Prints who is signed in, and what the module put into the CGI environment.
printf 'Content-Type: text/plain\r\n\r\n'
echo "REMOTE_USER=$REMOTE_USER"
echo "AUTH_TYPE=$AUTH_TYPE"
env | grep -E '^(COINPAY_|HTTP_)' | sort
"""

APP_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Protected page</title></head>
<body><h1 id="protected">Protected page</h1>
<p>You are signed in with CoinPay. <a href="/cgi-bin/whoami">Who am I?</a>
<a id="logout" href="/api/auth/logout/coinpay?return_to=/bye">Sign out</a></p></body></html>
"""

HOME_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Home</title></head>
<body><h1 id="home">Home (public)</h1>
<p><a id="signin" href="/api/auth/login/coinpay?return_to=/app/">Sign in with CoinPay</a></p>
</body></html>
"""

BYE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Signed out</title></head>
<body><h1 id="bye">Signed out</h1><p><a href="/app/">Back to the app</a></p></body></html>
"""

# Error-log lines that a correct run may contain (httpd's own, harmless).
BENIGN = ("AH00558",   # could not reliably determine the server's FQDN
          "AH00489",   # configured -- resuming normal operations (notice)
          "AH00094",   # command line (notice)
          "AH00492",   # caught SIGWINCH, shutting down gracefully
          "AH00491",   # caught SIGTERM, shutting down
          "AH00493",   # SIGUSR1 received. Doing graceful restart
          "AH00169",   # caught SIGTERM, shutting down (child)
          )
_LEVEL = re.compile(r"^\[[^\]]*\] \[([a-z_0-9]+):([a-z0-9]+)\]")
_BAD_LEVELS = {"warn", "error", "crit", "alert", "emerg"}


def coinpay_directives(issuer, client_id, client_secret, redirect_uri,
                       passphrase="test-passphrase-0123456789abcdef",
                       scope="openid email profile offline_access", token_auth=None, extra=""):
    lines = [f"CoinpayIssuer {issuer}",
             f"CoinpayClientID {client_id}",
             f"CoinpayClientSecret {client_secret}",
             f"CoinpayRedirectURI {redirect_uri}",
             f'CoinpayScope "{scope}"',
             f"CoinpayCryptoPassphrase {passphrase}"]
    if token_auth:
        lines.append(f"CoinpayTokenEndpointAuth {token_auth}")
    if extra:
        lines.append(extra)
    return "\n".join(l for l in lines if l)


LOCATIONS = """
<Location /api/auth/login/coinpay>
    SetHandler coinpay-login
    Require all granted
</Location>
<Location /api/auth/callback/coinpay>
    SetHandler coinpay-callback
    Require all granted
</Location>
<Location /api/auth/logout/coinpay>
    SetHandler coinpay-logout
    Require all granted
</Location>
<Location /app>
    AuthType coinpay
    Require valid-user
</Location>
<Location /cgi-bin>
    AuthType coinpay
    Require valid-user
</Location>
"""


class HttpdError(RuntimeError):
    pass


class Httpd:
    """A private httpd on 127.0.0.1:port.

    coinpay: the module's directive block (see coinpay_directives()); None leaves it out.
    locations: the <Location> block (default LOCATIONS); extra_conf: appended verbatim, e.g.
    name-based <VirtualHost> blocks on the same port (harness.vhosts.virtual_host()), which
    inherit the main server's locations, aliases and CGI.
    """

    def __init__(self, port, coinpay=None, locations=LOCATIONS, extra_conf="", root=None,
                 module=None, load_module=True, log_level="warn coinpay_auth:debug",
                 modules=STD_MODULES):
        self.port = port
        self.coinpay = coinpay
        self.locations = locations
        self.extra_conf = extra_conf
        self.module = module or module_path()
        self.load_module = load_module
        self.log_level = log_level
        self.modules = modules
        self._own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="coinpay-httpd-")
        self.conf_path = os.path.join(self.root, "conf", "httpd.conf")
        self.error_log = os.path.join(self.root, "logs", "error.log")
        self.access_log = os.path.join(self.root, "logs", "access.log")
        self.pid_file = os.path.join(self.root, "run", "httpd.pid")
        self.running = False

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return self.base_url + path

    # -- config ----------------------------------------------------------------------------
    def conf_text(self):
        root = self.root
        out = [f'ServerRoot "{root}"',
               f'DefaultRuntimeDir "{root}/run"',
               f'PidFile "{self.pid_file}"',
               f"Listen 127.0.0.1:{self.port}",
               "ServerName 127.0.0.1",
               f"Mutex file:{root}/run default"]
        for m in self.modules:
            out.append(f"LoadModule {m}_module {MODDIR}/mod_{m}.so")
        if self.load_module:
            out.append(f"LoadModule coinpay_auth_module {self.module}")
        if os.geteuid() == 0:
            out += ["User www-data", "Group www-data"]
        out += [
            f'ScriptSock "{root}/run/cgid.sock"',
            "TypesConfig /etc/mime.types",
            f'ErrorLog "{self.error_log}"',
            f"LogLevel {self.log_level}",
            'LogFormat "%h %u %t \\"%r\\" %>s %b \\"%{Location}o\\"" cpa',
            f'CustomLog "{self.access_log}" cpa',
            "StartServers 1", "ServerLimit 2", "ThreadsPerChild 16", "MaxRequestWorkers 32",
            "MinSpareThreads 4", "MaxSpareThreads 32", "ThreadLimit 16",
            "KeepAliveTimeout 2", "Timeout 30",
            f'DocumentRoot "{root}/htdocs"',
            f'<Directory "{root}/htdocs">',
            "    Options None", "    AllowOverride None", "    Require all granted",
            "</Directory>",
            "DirectoryIndex index.html",
            "<Files bye>", "    ForceType text/html", "</Files>",
            f'ScriptAlias /cgi-bin/ "{root}/cgi-bin/"',
            f'ScriptAlias /public-cgi/ "{root}/cgi-bin/"',   # same script, not protected
            f'<Directory "{root}/cgi-bin">',
            "    Options +ExecCGI", "    AllowOverride None", "    Require all granted",
            "</Directory>",
        ]
        if self.coinpay:
            out.append(self.coinpay)
        if self.locations:
            out.append(self.locations)
        if self.extra_conf:
            out.append(self.extra_conf)
        return "\n".join(out) + "\n"

    def write(self):
        for d in ("conf", "logs", "run", "htdocs/app", "htdocs/public", "cgi-bin"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        files = {"htdocs/index.html": HOME_PAGE, "htdocs/app/index.html": APP_PAGE,
                 "htdocs/public/index.html": HOME_PAGE, "htdocs/bye": BYE_PAGE,
                 "htdocs/app/data.json": '{"ok": true}\n', "cgi-bin/whoami": CGI_SCRIPT}
        for rel, text in files.items():
            with open(os.path.join(self.root, rel), "w") as f:
                f.write(text)
        os.chmod(os.path.join(self.root, "cgi-bin/whoami"), 0o755)
        with open(self.conf_path, "w") as f:
            f.write(self.conf_text())
        make_world_readable(self.root)

    # -- control ---------------------------------------------------------------------------
    def _run(self, *args, timeout=30):
        p = subprocess.run([APACHE, "-d", self.root, "-f", self.conf_path, *args],
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, (p.stdout + p.stderr)

    def configtest(self):
        self.write()
        return self._run("-t")

    def start(self, timeout=15.0):
        self.write()
        if not port_is_free(self.port):
            wait_until(lambda: port_is_free(self.port), timeout=10, what=f"port {self.port} free")
        rc, out = self._run("-k", "start")
        if rc != 0:
            raise HttpdError(f"apache2 -k start failed ({rc}):\n{out}\n{self.error_log_text()}")
        try:
            wait_until(lambda: port_accepts(self.port), timeout=timeout,
                       what=f"httpd on port {self.port}")
        except TimeoutError:
            raise HttpdError(f"httpd did not come up:\n{out}\n{self.error_log_text()}")
        self.running = True
        return self

    def _pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout=15.0):
        if not self.running and self._pid() is None:
            return
        pid = self._pid()
        self._run("-k", "stop")
        if pid:
            def gone():
                try:
                    os.kill(pid, 0)
                    return False
                except ProcessLookupError:
                    return True
            try:
                wait_until(gone, timeout=timeout, what="httpd to exit")
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
        self.running = False

    def graceful(self):
        rc, out = self._run("-k", "graceful")
        if rc != 0:
            raise HttpdError(out)
        time.sleep(0.5)
        wait_until(lambda: port_accepts(self.port), timeout=10, what="httpd after graceful")

    def cleanup(self):
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- logs ------------------------------------------------------------------------------
    def error_log_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def error_log_offset(self):
        try:
            return os.path.getsize(self.error_log)
        except OSError:
            return 0

    def error_log_lines(self, since=0):
        try:
            with open(self.error_log, "rb") as f:
                f.seek(since)
                return f.read().decode(errors="replace").splitlines()
        except OSError:
            return []

    def error_log_problems(self, allowed_tags=(), since=0):
        """Error-log lines at warn or above, and crash reports, that are not allowed.

        allowed_tags: e.g. ("CPA00042",) for lines a test provokes on purpose.
        """
        bad = []
        for line in self.error_log_lines(since):
            crash = ("exit signal" in line or "Segmentation" in line or "core dumped" in line
                     or "AddressSanitizer" in line)
            m = _LEVEL.match(line)
            level = m.group(2) if m else None
            if not crash and level not in _BAD_LEVELS:
                continue
            if not crash and any(t in line for t in BENIGN):
                continue
            if any(t in line for t in allowed_tags):
                continue
            bad.append(line)
        return bad

    def access_log_lines(self):
        try:
            with open(self.access_log, errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def module_log_lines(self, since=0):
        return [l for l in self.error_log_lines(since) if "coinpay_auth" in l or "CPA" in l]


def configtest(conf_text, root=None):
    """Run `apache2 -t` on a complete configuration text. Returns (rc, output)."""
    own = root is None
    root = root or tempfile.mkdtemp(prefix="coinpay-conftest-")
    try:
        for d in ("conf", "logs", "run", "htdocs"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        conf = os.path.join(root, "conf", "httpd.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        make_world_readable(root)
        p = subprocess.run([APACHE, "-d", root, "-f", conf, "-t"], capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
