"""The bench-only session replicator (core/bench_replicate.h) is not in the module users get:
the module under test (a normal build) has none of its code, and a location that names its
handler creates no sessions, whoever posts to it. The replicator itself is unit-tested
(tests/unit/bench_replicate_test.cc) and exercised by every bench run, which builds its own
module with -DCOINPAY_BENCH_HELPERS=ON (bench/README.md)."""
import re
import subprocess

import requests

from conftest import start_checked
from e2e_util import signed_in
from harness import module_path
from harness.httpd import LOCATIONS

EXTRA = """
<Location /bench-replicate>
    SetHandler coinpay-bench-replicate
    Require all granted
</Location>
<Location /status>
    SetHandler coinpay-status
    Require all granted
</Location>
"""


def store_entries(h):
    text = requests.get(h.url("/status"), timeout=10).text
    return float(re.search(r"^coinpay_auth_store_entries (\S+)$", text, re.M).group(1))


def test_the_module_has_no_bench_replicator_code():
    nm = subprocess.run(["nm", "-C", module_path()], capture_output=True, text=True, check=True)
    assert "coinpay::ReplicateSession" not in nm.stdout
    assert "coinpay::HandleBenchReplicate" not in nm.stdout
    # The symbol table is there (RelWithDebInfo), so the absence above means something.
    assert "coinpay::Sessions::Create" in nm.stdout


def test_posting_to_the_bench_handler_name_creates_no_sessions(op, httpd_port, new_httpd):
    h = start_checked(new_httpd(op.issuer, port=httpd_port, locations=LOCATIONS + EXTRA))
    s = signed_in(h)
    before = store_entries(h)
    r = s.post(h.url("/bench-replicate"), data={"count": "100"}, allow_redirects=False,
               timeout=10)
    assert r.status_code == 404, (r.status_code, r.text[:200])
    assert "written" not in r.text
    assert store_entries(h) == before


# The bench's floor scenario (bench/README.md) authenticates anyone in a bench build; in the
# module users get the auth type does not exist, so such a location opens to nobody.
FLOOR = """
<Location /app/floor>
    AuthType coinpay-bench-floor
    Require valid-user
</Location>
"""


def test_the_module_has_no_bench_floor_auth_type():
    with open(module_path(), "rb") as f:
        assert b"coinpay-bench-floor" not in f.read()


def test_a_location_naming_the_bench_floor_opens_to_nobody(op, httpd_port, new_httpd, allow_log):
    allow_log.append("AH01796")  # httpd: no module serves this AuthType (its 500)
    h = start_checked(new_httpd(op.issuer, port=httpd_port, locations=LOCATIONS + FLOOR))
    r = requests.get(h.url("/app/floor/index.html"), allow_redirects=False, timeout=10)
    assert r.status_code == 500, (r.status_code, r.text[:200])
    assert "bench" not in r.text
