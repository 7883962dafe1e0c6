"""Run Apache httpd with mod_coinpay_auth from a private, throw-away configuration."""
import functools
import glob
import os
import re
import resource
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
# A sanitizer report (ASan, LSan, UBSan "runtime error:") in any log is a failure, always.
_SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                        r"ThreadSanitizer|MemorySanitizer|ASAN:DEADLYSIGNAL|: runtime error: ")


# -- a module built with -DCOINPAY_SANITIZE=ON (ASan + UBSan) ----------------------------------
@functools.lru_cache(maxsize=None)
def _links_asan(path, _mtime):
    try:
        with open(path, "rb") as f:
            return b"libasan.so" in f.read()   # DT_NEEDED of a gcc -fsanitize=address build
    except OSError:
        return False


def links_asan(module=None):
    """True when the module (default: the one under test) links the ASan runtime."""
    module = module or module_path()
    try:
        return _links_asan(module, os.path.getmtime(module))
    except OSError:
        return False


def is_sanitized(module=None):
    """True when env COINPAY_SANITIZE=1 or the module links the ASan runtime."""
    return os.environ.get("COINPAY_SANITIZE") == "1" or links_asan(module)


def asan_runtime():
    """The libasan.so of the compiler that built the module (gcc unless $COINPAY_SANITIZE_CC),
    or $COINPAY_ASAN_LIB."""
    lib = os.environ.get("COINPAY_ASAN_LIB")
    if not lib:
        cc = os.environ.get("COINPAY_SANITIZE_CC", "gcc")
        lib = subprocess.run([cc, "-print-file-name=libasan.so"], capture_output=True,
                             text=True, check=True).stdout.strip()
    lib = os.path.realpath(lib)
    if not os.path.isfile(lib):
        raise HttpdError(f"ASan runtime not found ({lib}): install the compiler's libasan "
                         "(Debian: gcc's libasan8) or set COINPAY_ASAN_LIB")
    return lib


def _allow_core_files():
    """In apache2 before it execs: core files up to the hard limit, so a crashed child leaves
    one in CoreDumpDirectory (httpd makes its children dumpable again when that is set)."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def sanitizer_env(log_dir):
    """Environment for an apache2 that loads an ASan+UBSan module (see docs/testing.md).

    The ASan runtime must be the first library of the process, so it is preloaded: dlopen()ing
    the module into a plain apache2 would abort ("ASan runtime does not come first").
    detect_leaks=0: httpd exits leaving its pools (pconf, the process pool) and the libraries'
    globals (OpenSSL, libcurl, APR) unfreed by design, so leak reports at exit would be about
    httpd, not the module; leaks in the module's code are caught by the unit tests, which run
    with leak detection on. ASan reports go to files in log_dir (asan.<pid>), which the harness
    reads. gcc's UBSan runtime ignores log_path next to ASan, so UBSan reports go to stderr:
    httpd's error log once it is open, the captured output of the apache2 command before.
    halt_on_error=1: the first report ends the process.
    """
    env = dict(os.environ)
    env["LD_PRELOAD"] = " ".join(x for x in (asan_runtime(), env.get("LD_PRELOAD", "")) if x)
    env["ASAN_OPTIONS"] = ":".join([
        "detect_leaks=0", "halt_on_error=1", "abort_on_error=0",
        "allow_user_segv_handler=0",   # httpd's own SIGSEGV handler would hide ASan's report
        f"log_path={log_dir}/asan"])
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


def sanitizer_reports(log_dir, seen):
    """Sanitizer report files in log_dir not in the set seen (which is updated), as lines."""
    out = []
    for path in sorted(glob.glob(os.path.join(log_dir, "*san.*"))):
        if path in seen:
            continue
        seen.add(path)
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        out.append(f"sanitizer report {path}:")
        out += ["  " + l for l in text.splitlines()[:80]]
    return out


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
        # ASan/UBSan build of the module: apache2 runs with the runtime preloaded, reports land
        # in sanitizer_dir and fail the test (error_log_problems) or the command (_run).
        self.sanitize = load_module and is_sanitized(self.module)
        self.sanitizer_dir = os.path.join(self.root, "logs", "sanitizer")
        # A child that crashes leaves its core here (CoreDumpDirectory; where kernel.core_pattern
        # names a plain file), and the crash's error-log line comes with its backtrace.
        self.core_dir = os.path.join(self.root, "cores")
        self._cores_seen = set()
        self._sanitizer_seen = set()

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
            f'CoreDumpDirectory "{self.core_dir}"',
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
        os.makedirs(self.core_dir, exist_ok=True)
        os.chmod(self.core_dir, 0o1777)   # workers run as www-data when started by root
        if self.sanitize:   # workers (www-data when started by root) write their reports here
            os.makedirs(self.sanitizer_dir, exist_ok=True)
            os.chmod(self.sanitizer_dir, 0o1777)

    # -- control ---------------------------------------------------------------------------
    def _run(self, *args, timeout=30):
        env = sanitizer_env(self.sanitizer_dir) if self.sanitize else None
        p = subprocess.run([APACHE, "-d", self.root, "-f", self.conf_path, *args],
                           capture_output=True, text=True, timeout=timeout, env=env,
                           preexec_fn=_allow_core_files)
        out = p.stdout + p.stderr
        if self.sanitize:
            reports = self.sanitizer_problems()
            if reports or _SANITIZER.search(out):
                raise HttpdError(f"sanitizer report from apache2 {' '.join(args)}:\n{out}\n"
                                 + "\n".join(reports))
        return p.returncode, out

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
                # The whole process group (httpd's parent leads it): killing the parent alone
                # would leave its children waiting on a pipe that never closes, for good.
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.running = False

    def graceful(self):
        rc, out = self._run("-k", "graceful")
        if rc != 0:
            raise HttpdError(out)
        time.sleep(0.5)
        wait_until(lambda: port_accepts(self.port), timeout=10, what="httpd after graceful")

    def cleanup(self):
        self.stop()
        reports = self.sanitizer_problems() if self.sanitize else []
        if reports:   # e.g. found at shutdown: keep the tree for a look
            raise HttpdError(f"sanitizer report (httpd tree kept: {self.root}):\n"
                             + "\n".join(reports))
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
        """Error-log lines at warn or above, and crash reports, that are not allowed; and
        every sanitizer report (never allowed) written since the last call.

        allowed_tags: e.g. ("CPA00042",) for lines a test provokes on purpose.
        """
        bad = []
        for line in self.error_log_lines(since):
            if _SANITIZER.search(line):
                bad.append(line)
                continue
            crash = "exit signal" in line or "Segmentation" in line or "core dumped" in line
            m = _LEVEL.match(line)
            level = m.group(2) if m else None
            if not crash and level not in _BAD_LEVELS:
                continue
            if not crash and any(t in line for t in BENIGN):
                continue
            if any(t in line for t in allowed_tags):
                continue
            bad.append(line)
            if crash:
                bad += self.crash_backtraces()
        return bad + self.sanitizer_problems()

    def crash_backtraces(self):
        """The backtraces of core files in core_dir not reported before (gdb), or why none."""
        cores = [c for c in sorted(glob.glob(os.path.join(self.core_dir, "core*")))
                 if c not in self._cores_seen]
        if not cores:
            try:
                with open("/proc/sys/kernel/core_pattern") as f:
                    pattern = f.read().strip()
            except OSError:
                pattern = "?"
            return [f"  (no core file in {self.core_dir}; kernel.core_pattern is {pattern!r})"]
        out = []
        for core in cores:
            self._cores_seen.add(core)
            gdb = shutil.which("gdb")
            if gdb is None:
                out.append(f"  core file {core} (gdb not installed: no backtrace)")
                continue
            # The crashing thread first, whole; then every thread briefly.
            p = subprocess.run([gdb, "-batch", "-nx", "-ex", "bt 40", "-ex",
                                "thread apply all bt 16", APACHE, core],
                               capture_output=True, text=True, timeout=120)
            lines = [l for l in p.stdout.splitlines() if l.startswith(("#", "Thread"))]
            out.append(f"  backtrace of {core}:")
            out += ["    " + l for l in lines[:120]]
        return out

    def sanitizer_problems(self):
        """Sanitizer report files (ASan/UBSan builds) not returned before."""
        if not self.sanitize:
            return []
        return sanitizer_reports(self.sanitizer_dir, self._sanitizer_seen)

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
        san_dir = os.path.join(root, "logs", "sanitizer")
        env = None
        if is_sanitized():
            os.makedirs(san_dir, exist_ok=True)
            env = sanitizer_env(san_dir)
        p = subprocess.run([APACHE, "-d", root, "-f", conf, "-t"], capture_output=True,
                           text=True, timeout=30, env=env)
        out = p.stdout + p.stderr
        reports = sanitizer_reports(san_dir, set()) if env else []
        if reports or _SANITIZER.search(out):
            raise HttpdError("sanitizer report from apache2 -t:\n" + out + "\n".join(reports))
        return p.returncode, out
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
