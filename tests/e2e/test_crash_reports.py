"""The harness and a broken httpd: a crashed child fails the test that saw it, with the crash's
backtrace; a server that will not stop is killed with all its processes."""
import os
import signal
import time

import pytest

from e2e_util import signed_in


def _parent_and_workers(h):
    """httpd's parent (from its pid file, written just after the port opens) and its workers
    (whose threads start a moment later)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        parent = h._pid()
        workers = _workers(parent) if parent else []
        if workers:
            return parent, workers
        time.sleep(0.1)
    return h._pid(), []


def _threads(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("Threads:")).split()[1])


def _workers(pid):
    """The MPM's worker processes under httpd's parent `pid` (mod_cgid's daemon, a child
    too, has one thread)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and _threads(int(d)) > 1:  # fields[1]: the parent's pid
            out.append(int(d))
    return out


# The parent's "child pid N exit signal Segmentation fault (11)[, possible coredump in D]".
@pytest.mark.allow_log("AH00051", "AH00052")
def test_a_crashed_child_is_reported_with_its_backtrace(op, httpd_port, new_httpd):
    h = new_httpd(op.issuer, port=httpd_port).start()
    signed_in(h, "alice")   # the module has served a request in that child
    offset = h.error_log_offset()
    _, workers = _parent_and_workers(h)
    assert workers, "httpd has no worker process"
    os.kill(workers[0], signal.SIGSEGV)
    deadline = time.time() + 20
    while time.time() < deadline and not any(
            "Segmentation fault" in l for l in h.error_log_lines(offset)):
        time.sleep(0.2)
    problems = h.error_log_problems(since=offset)
    assert any("Segmentation fault" in l for l in problems), problems
    with open("/proc/sys/kernel/core_pattern") as f:
        piped = f.read().startswith("|")
    if piped:   # the core goes to a crash handler, not to CoreDumpDirectory: said so
        assert any("no core file" in l for l in problems), problems
    else:
        assert any("backtrace of" in l for l in problems), problems
        assert any(l.strip().startswith("#0") for l in problems), problems
    assert signed_in(h, "bob")   # the server goes on with a new child


def test_a_server_that_will_not_stop_leaves_no_process_behind(op, httpd_port, new_httpd):
    h = new_httpd(op.issuer, port=httpd_port).start()
    parent, workers = _parent_and_workers(h)
    assert workers, "httpd has no worker process"
    os.kill(parent, signal.SIGSTOP)   # the parent cannot act on "-k stop" any more
    h.stop(timeout=2)
    deadline = time.time() + 10
    while time.time() < deadline and any(os.path.exists(f"/proc/{p}/stat") and
                                         not _is_zombie(p) for p in [parent, *workers]):
        time.sleep(0.1)
    assert not [p for p in [parent, *workers] if os.path.exists(f"/proc/{p}/stat")
                and not _is_zombie(p)]


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
