"""The Debian package: built by scripts/package-deb.sh from the build under test, installed with
dpkg into the system's apache2, enabled with a2enmod, used through Debian's own layout
(apache2ctl, mods-/sites-available, envvars) for a real sign-in, then purged.

Why a second apache2 instance: the site runs in Debian's multi-instance layout
(/usr/share/doc/apache2/README.multiple-instances), a copy of /etc/apache2 made after the
package is installed, in /etc/apache2-coinpaytest. apache2ctl, a2enmod and a2ensite act on it
when APACHE_CONFDIR points there (its envvars put run, lock and log files in
/var/{run,lock,log}/apache2-coinpaytest); APACHE_STATE_DIRECTORY keeps its a2enmod/a2dissite
state out of /var/lib/apache2. So the instance listens only on 127.0.0.1:<free port> and the
machine's own /etc/apache2 keeps its ports, sites and modules.

The machine's own /etc/apache2 is touched only where the package itself is the subject: dpkg
puts coinpay_auth.load/.conf into its mods-available, and the test runs `a2enmod coinpay_auth`
there too (no site uses it; its .conf is inert without the COINPAY_OAUTH_* defines) so that
removal is tested where it matters: `dpkg -r` must disable the module before the .so goes
(otherwise apache2 could not start any more) and `dpkg --purge` must leave /etc/apache2 and
/var/lib/apache2 exactly as they were before the test. The maintainer scripts then ask
invoke-rc.d to restart apache2 (Debian's helper does so whenever an enabled module goes away);
the test puts a recording invoke-rc.d first on PATH for dpkg, so the machine's apache2 service
is neither started nor restarted by the test, and checks that the restart was asked for.

Everything is undone in a finally block, also when the test fails: the instance's apache2 is
stopped, its directories removed, the module disabled in /etc/apache2 and the package purged.

Needs root (CI runs the e2e tests as root): without it the test fails, it never skips. Not in
the sanitized subset (a package is built from a plain build; package-deb.sh refuses an ASan one).
"""
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import CLIENT_ID, CLIENT_SECRET, PASSPHRASE, redirect_uri
from e2e_util import BROWSER
from harness import OP, REPO, coinpay_directives, free_port, login, module_path
from harness.httpd import _BAD_LEVELS, _LEVEL, BENIGN
from harness.util import make_world_readable, port_accepts, port_is_free, wait_until

PKG = "libapache2-mod-coinpay-auth"
NAME = "coinpaytest"
INSTANCE = f"/etc/apache2-{NAME}"
# What the instance's envvars derive from its name (run, lock, log), and its a2* state.
INSTANCE_DIRS = [INSTANCE, f"/var/run/apache2-{NAME}", f"/var/lock/apache2-{NAME}",
                 f"/var/log/apache2-{NAME}", f"/var/lib/apache2-{NAME}"]
INSTANCE_LOG = f"/var/log/apache2-{NAME}/error.log"
INSTANCE_PID = f"/var/run/apache2-{NAME}/apache2.pid"
MODULE_SO = "/usr/lib/apache2/modules/mod_coinpay_auth.so"
MODS_AVAILABLE = "/etc/apache2/mods-available"
DOC_DIR = f"/usr/share/doc/{PKG}"
# Libraries the module links; dpkg-shlibdeps must have turned each into a dependency.
LIBRARY_PACKAGES = [r"libcjose\d+", r"libjansson\d+", r"libcurl[34](-gnutls|-nss)?",
                    r"libhiredis[\d.]+", r"libssl\d+", r"libapr1", r"libc6"]

SITE = """<VirtualHost 127.0.0.1:{port}>
    ServerName 127.0.0.1
    DocumentRoot {docroot}
    <Directory {docroot}>
        Options None
        AllowOverride None
        Require all granted
    </Directory>
    LogLevel warn coinpay_auth:info
{coinpay}
    <Location /api/auth/login/coinpay>
        SetHandler coinpay-login
        Require all granted
    </Location>
    <Location /api/auth/callback/coinpay>
        SetHandler coinpay-callback
        Require all granted
    </Location>
    <Location /app>
        AuthType coinpay
        Require valid-user
    </Location>
</VirtualHost>
"""

PROTECTED = '<!doctype html><title>Protected</title><h1 id="protected">Protected page</h1>\n'


def run(cmd, env=None, check=True, timeout=300):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    out = p.stdout + p.stderr
    if check and p.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({p.returncode}):\n{out}", pytrace=False)
    return p.returncode, out


def dpkg(args, env, check=True):
    """dpkg ARGS; waits (up to 3 minutes) while another dpkg/apt holds the lock."""
    deadline = time.monotonic() + 180
    while True:
        rc, out = run(["dpkg", *args], env=env, check=False)
        if rc == 0 or "lock" not in out or time.monotonic() > deadline:
            break
        time.sleep(2)
    if check and rc != 0:
        pytest.fail(f"dpkg {' '.join(args)} failed ({rc}):\n{out}", pytrace=False)
    return rc, out


def plain_env(**extra):
    """The environment without any APACHE_* setting of the caller, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APACHE")}
    env.update(extra)
    return env


def instance_env():
    return plain_env(APACHE_CONFDIR=INSTANCE, APACHE_STATE_DIRECTORY=f"/var/lib/apache2-{NAME}")


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*mod_coinpay_auth\s+VERSION\s+([0-9.]+)", f.read())
    assert m, "project(mod_coinpay_auth VERSION ...) not found in CMakeLists.txt"
    return m.group(1)


def httpd_mmn():
    return run(["apxs", "-q", "HTTPD_MMN"])[1].strip()


def package_installed():
    p = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", PKG],
                       capture_output=True, text=True)
    return p.returncode == 0 and p.stdout.strip() not in ("", "un")


def tree_state(*roots):
    """{path: what it is} for every file and symlink under roots (symlink target or digest).
    Directories are left out: a2enmod creates its empty state directories
    (/var/lib/apache2/module/enabled_by_admin, ...) on first use; the test removes those
    it created (remove_new_empty_dirs)."""
    state = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if os.path.islink(p):
                    state[p] = "-> " + os.readlink(p)
                elif os.path.isfile(p):
                    with open(p, "rb") as f:
                        state[p] = hashlib.sha256(f.read()).hexdigest()
    return state


def directories(root):
    return {d for d, _, _ in os.walk(root)}


def remove_new_empty_dirs(root, before):
    for d in sorted(directories(root) - before, key=len, reverse=True):
        try:
            os.rmdir(d)
        except OSError:
            pass


def state_markers():
    """a2enmod/a2dismod state files Debian keeps for the module, e.g.
    /var/lib/apache2/module/enabled_by_admin/coinpay_auth."""
    return glob.glob("/var/lib/apache2/*/*/coinpay_auth")


def log_problems(path):
    """Lines at warn or above in an Apache error log, httpd's harmless ones aside."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    bad = []
    for line in lines:
        m = _LEVEL.match(line)
        crash = "exit signal" in line or "Segmentation" in line
        if crash or (m and m.group(2) in _BAD_LEVELS and not any(t in line for t in BENIGN)):
            bad.append(line)
    return bad


def expected_files(version):
    """Every regular file the package must ship, computed from the tree."""
    doc = [os.path.join(DOC_DIR, "README.md"), os.path.join(DOC_DIR, "copyright"),
           os.path.join(DOC_DIR, "changelog.gz")]
    doc += [os.path.join(DOC_DIR, os.path.basename(p))
            for p in glob.glob(os.path.join(REPO, "docs", "*.md"))]
    doc += [os.path.join(DOC_DIR, "providers", os.path.basename(p))
            for p in glob.glob(os.path.join(REPO, "docs", "providers", "*")) if os.path.isfile(p)]
    doc += [os.path.join(DOC_DIR, "examples", os.path.basename(p))
            for p in glob.glob(os.path.join(REPO, "conf", "examples", "*")) if os.path.isfile(p)]
    return {MODULE_SO, f"{MODS_AVAILABLE}/coinpay_auth.load",
            f"{MODS_AVAILABLE}/coinpay_auth.conf", *doc}


def build_package():
    """scripts/package-deb.sh on the build the tests run against; returns the .deb's path."""
    build_dir = os.path.dirname(module_path())
    p = subprocess.run(["bash", os.path.join(REPO, "scripts", "package-deb.sh"), build_dir],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, f"package-deb.sh failed ({p.returncode}):\n{p.stderr}{p.stdout}"
    deb = p.stdout.strip()   # its only output on stdout: the path (build chatter on stderr)
    assert deb == os.path.join(build_dir, "deb", os.path.basename(deb)), p.stdout
    assert os.path.isfile(deb), deb
    return deb


def check_metadata(deb, version):
    assert os.path.basename(deb) == f"{PKG}_{version}_amd64.deb"
    fields = {}
    for field in ("Package", "Version", "Architecture", "Depends", "Section"):
        fields[field] = run(["dpkg-deb", "-f", deb, field])[1].strip()
    assert fields["Package"] == PKG
    assert fields["Version"] == version
    assert fields["Architecture"] == "amd64"
    depends = [d.strip() for d in fields["Depends"].split(",")]
    names = [re.split(r"[\s(]", d, maxsplit=1)[0] for d in depends]
    assert f"apache2-api-{httpd_mmn()}" in names, fields["Depends"]
    assert "apache2-bin" in names, fields["Depends"]
    for lib in LIBRARY_PACKAGES:
        assert any(re.fullmatch(lib, n) for n in names), \
            f"no dependency matching {lib} (dpkg-shlibdeps): {fields['Depends']}"
    # versioned library dependencies: computed from the shared libraries, not hand-written
    assert any(re.fullmatch(r"libcjose\d+ \(>= [^)]+\)", d) for d in depends), depends

    listing = run(["dpkg-deb", "-c", deb])[1].splitlines()
    files = {line.split()[-1].lstrip(".") for line in listing if line.startswith("-")}
    assert files == expected_files(version), \
        f"unexpected: {files - expected_files(version)}; missing: {expected_files(version) - files}"
    info = run(["dpkg-deb", "-I", deb, "conffiles"])[1].split()
    assert sorted(info) == [f"{MODS_AVAILABLE}/coinpay_auth.conf",
                            f"{MODS_AVAILABLE}/coinpay_auth.load"]
    for script in ("prerm", "postrm"):
        text = run(["dpkg-deb", "-I", deb, script])[1]
        assert "apache2_invoke dismod coinpay_auth" in text, text

    # Debian's own checker: no error or warning (lintian from scripts/install-deps.sh)
    assert shutil.which("lintian"), "lintian not installed (scripts/install-deps.sh)"
    rc, out = run(["lintian", "--fail-on", "error,warning", deb], check=False)
    assert rc == 0, f"lintian:\n{out}"

    # the module is stripped: no debug sections in the packaged .so
    tmp = tempfile.mkdtemp(prefix="coinpay-deb-x-")
    try:
        run(["dpkg-deb", "-x", deb, tmp])
        sections = run(["readelf", "-S", "-W", tmp + MODULE_SO])[1]
        assert ".debug_info" not in sections and ".symtab" not in sections, \
            "packaged module is not stripped"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def install(deb):
    rc, out = dpkg(["-i", deb], env=plain_env(DEBIAN_FRONTEND="noninteractive"), check=False)
    if rc != 0:   # a library the package depends on is missing: let apt bring exactly those
        run(["apt-get", "-o", "DPkg::Lock::Timeout=180", "install", "-y", "-q",
             "--no-install-recommends", "-f"],
            env=plain_env(DEBIAN_FRONTEND="noninteractive"), timeout=900)
    assert package_installed(), f"dpkg -i {deb} did not install the package:\n{out}"


def make_instance(port, op, docroot):
    """The copy of /etc/apache2 (with the package's files) that serves the test site."""
    shutil.copytree("/etc/apache2", INSTANCE, symlinks=True)
    for d in (f"/var/log/apache2-{NAME}", f"/var/lib/apache2-{NAME}"):
        os.makedirs(d)
    shutil.chown(f"/var/log/apache2-{NAME}", "root", "adm")
    env = instance_env()
    with open(os.path.join(INSTANCE, "ports.conf"), "w") as f:
        f.write(f"# test instance of {__file__}: loopback only\nListen 127.0.0.1:{port}\n")
    for site in os.listdir(os.path.join(INSTANCE, "sites-enabled")):
        run(["a2dissite", "-q", site.removesuffix(".conf")], env=env)
    coinpay = coinpay_directives(op.issuer, CLIENT_ID, CLIENT_SECRET, redirect_uri(port),
                                 passphrase=PASSPHRASE)
    coinpay = "\n".join("    " + line for line in coinpay.splitlines())
    with open(os.path.join(INSTANCE, "sites-available", "coinpay-test.conf"), "w") as f:
        f.write(SITE.format(port=port, docroot=docroot, coinpay=coinpay))
    run(["a2enmod", "coinpay_auth"], env=env)
    run(["a2ensite", "coinpay-test"], env=env)


def stop_instance():
    pid = None
    try:
        with open(INSTANCE_PID) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    if os.path.isdir(INSTANCE):
        subprocess.run(["apache2ctl", "stop"], env=instance_env(), capture_output=True,
                       timeout=60)

    def gone():
        try:
            os.kill(pid, 0)
            return False
        except ProcessLookupError:
            return True
    try:
        wait_until(gone, timeout=20, what="the test instance's apache2 to exit")
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)


def fake_invoke_rc_d(bindir, record):
    """An invoke-rc.d that only records its arguments (first on PATH for dpkg)."""
    path = os.path.join(bindir, "invoke-rc.d")
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\necho "$*" >> {record}\nexit 0\n')
    os.chmod(path, 0o755)
    return plain_env(DEBIAN_FRONTEND="noninteractive",
                     PATH=bindir + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))


def test_debian_package_installs_serves_a_sign_in_and_purges_cleanly():
    if os.geteuid() != 0:
        pytest.fail("test_debian_package needs root: it installs the package with dpkg into the "
                    "system's apache2 (run the e2e tests as root, as CI does)", pytrace=False)
    if package_installed():
        pytest.fail(f"{PKG} is already installed: purge it first (dpkg --purge {PKG}); this "
                    "test installs and purges it", pytrace=False)
    strays = [p for p in [MODULE_SO, f"{MODS_AVAILABLE}/coinpay_auth.load",
                          f"{MODS_AVAILABLE}/coinpay_auth.conf", *INSTANCE_DIRS]
              if os.path.lexists(p)]
    if strays:
        pytest.fail("these exist before the test and would be overwritten or removed by it "
                    f"(e.g. left by `cmake --install`): {strays}", pytrace=False)

    version = project_version()
    before = tree_state("/etc/apache2", "/var/lib/apache2")
    state_dirs_before = directories("/var/lib/apache2")
    before_configtest = run(["apache2ctl", "configtest"], env=plain_env(), check=False)[0]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    op = OP([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "token_endpoint_auth_method": "client_secret_basic",
              "redirect_uris": [redirect_uri(port)],
              "post_logout_redirect_uris": [base + "/"]}], quiet=True)
    docroot = tempfile.mkdtemp(prefix="coinpay-deb-site-")
    scratch = tempfile.mkdtemp(prefix="coinpay-deb-bin-")
    restarts = os.path.join(scratch, "invoke-rc.d.log")
    dpkg_env = fake_invoke_rc_d(scratch, restarts)
    try:
        deb = build_package()
        check_metadata(deb, version)

        install(deb)
        assert os.path.isfile(MODULE_SO)
        assert os.path.isfile(f"{MODS_AVAILABLE}/coinpay_auth.load")
        assert not os.path.exists("/etc/apache2/mods-enabled/coinpay_auth.load"), \
            "installing must not enable the module: the admin does (a2enmod coinpay_auth)"

        op.start()
        os.makedirs(os.path.join(docroot, "app"))
        with open(os.path.join(docroot, "app", "index.html"), "w") as f:
            f.write(PROTECTED)
        make_world_readable(docroot)
        make_instance(port, op, docroot)
        assert os.path.islink(f"{INSTANCE}/mods-enabled/coinpay_auth.load")

        rc, out = run(["apache2ctl", "configtest"], env=instance_env(), check=False)
        assert rc == 0 and "Syntax OK" in out, out
        assert port_is_free(port), f"port {port} taken before the test instance started"
        run(["apache2ctl", "start"], env=instance_env())
        try:
            wait_until(lambda: port_accepts(port), timeout=20, what=f"apache2 on port {port}")
        except TimeoutError:
            with open(INSTANCE_LOG, errors="replace") as f:
                pytest.fail(f"apache2 did not come up:\n{f.read()}", pytrace=False)

        s = requests.Session()
        r = s.get(base + "/app/", headers=BROWSER, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].startswith(op.issuer), \
            (r.status_code, r.headers)
        r = login(s, base, "deb-user", start_path="/app/")
        assert r.status_code == 200 and 'id="protected"' in r.text, (r.status_code, r.text[:300])
        r = s.get(base + "/app/", headers=BROWSER, allow_redirects=False, timeout=10)
        assert r.status_code == 200 and 'id="protected"' in r.text

        stop_instance()
        assert not port_accepts(port)
        with open(INSTANCE_LOG, errors="replace") as f:
            assert "AH00489" in f.read(), "the instance's error log is not where envvars put it"
        problems = log_problems(INSTANCE_LOG)
        assert not problems, "unexpected error-log lines:\n" + "\n".join(problems)
        shutil.rmtree(INSTANCE)

        # The machine's own apache2: an admin enables the module, then removes the package.
        run(["a2enmod", "coinpay_auth"], env=plain_env())
        rc, out = run(["apache2ctl", "configtest"], env=plain_env(), check=False)
        assert rc == 0, f"/etc/apache2 with the module enabled does not pass configtest:\n{out}"
        dpkg(["-r", PKG], env=dpkg_env)
        assert not os.path.lexists("/etc/apache2/mods-enabled/coinpay_auth.load"), \
            "dpkg -r left the module enabled (apache2 could not start any more)"
        assert not os.path.lexists("/etc/apache2/mods-enabled/coinpay_auth.conf")
        assert not os.path.exists(MODULE_SO)
        assert os.path.exists(f"{MODS_AVAILABLE}/coinpay_auth.load"), "remove keeps conffiles"
        rc, out = run(["apache2ctl", "configtest"], env=plain_env(), check=False)
        assert rc == before_configtest, f"apache2 configtest after dpkg -r:\n{out}"
        with open(restarts) as f:
            assert "apache2 restart" in f.read(), "removing an enabled module must restart apache2"

        dpkg(["--purge", PKG], env=dpkg_env)
        assert not package_installed()
        assert not state_markers(), f"a2enmod state left behind: {state_markers()}"
        assert not os.path.exists(DOC_DIR)
        rc, out = run(["apache2ctl", "configtest"], env=plain_env(), check=False)
        assert rc == before_configtest, f"apache2 configtest after the purge:\n{out}"
        after = tree_state("/etc/apache2", "/var/lib/apache2")
        changed = sorted(set(before.items()) ^ set(after.items()))
        assert not changed, f"/etc/apache2 or /var/lib/apache2 differ after the purge: {changed}"
    finally:
        stop_instance()
        for d in INSTANCE_DIRS:
            shutil.rmtree(d, ignore_errors=True)
        for link in ("coinpay_auth.load", "coinpay_auth.conf"):
            if os.path.islink(f"/etc/apache2/mods-enabled/{link}"):
                os.unlink(f"/etc/apache2/mods-enabled/{link}")
        if package_installed():
            dpkg(["--purge", PKG], env=dpkg_env, check=False)
        for marker in state_markers():
            os.unlink(marker)
        remove_new_empty_dirs("/var/lib/apache2", state_dirs_before)
        op.cleanup()
        shutil.rmtree(docroot, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
