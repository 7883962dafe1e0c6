"""The bench's same-run pairs (bench/pairs.py) turn httpd's own timing of each request into a
difference per request and a ratio: checked here on access-log lines of a known content, with
wrk and /proc replaced, so that a report's numbers are the arithmetic the README describes."""
import argparse
import os
import sys

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "bench")))

import pairs  # noqa: E402

A, X = "/pub/1k.html", "/app/1k.html"


class FakeServer:
    def __init__(self, root):
        self.root = root
        self.access_log = os.path.join(root, "access.log")
        open(self.access_log, "w").close()

    def url(self, path):
        return "http://127.0.0.1:1" + path


def line(path, status, us):
    return (f'127.0.0.1 - [02/Dec/2026:01:00:00 +0000] "GET {path} HTTP/1.1" {status} 1024 "-" '
            f'{us}\n')


def fake_wrk(server, lines, rps=10000.0):
    def run(url, headers, args, script=None):
        assert script and os.path.exists(script)
        assert (args.threads, args.connections) == (1, 1)  # one connection, one at a time
        with open(server.access_log, "a") as f:
            f.writelines(lines)
        return {"rps": rps, "wrk_rc": 0}
    return run


@pytest.fixture
def cpu_busy(monkeypatch):
    """The server CPU's busy time: 0 before the run, `seconds` after it."""
    def busy_for(seconds):
        return iter([0.0, seconds]).__next__
    monkeypatch.setattr(pairs.time, "sleep", lambda s: None)
    return busy_for


ARGS = argparse.Namespace(threads=2, connections=32, duration=1, pin=True, pair_rounds=1)


def test_a_pair_reports_what_the_second_request_costs_more_and_the_ratio_it_makes(
        tmp_path, cpu_busy):
    server = FakeServer(str(tmp_path))
    # 1,000 requests each: (a) 80 µs, the other 82 µs; each half's slowest 1 % (a thread
    # preempted mid-request) is left out of its mean.
    lines = [line(A, 200, 80) for _ in range(990)] + [line(A, 200, 5000) for _ in range(10)]
    lines += [line(X, 200, 82) for _ in range(990)] + [line(X, 200, 9000) for _ in range(10)]
    # 2,000 requests in 0.2 s of the server's CPU: 100 µs each on average
    r = pairs.measure_pair(server, "b", (A, []), (X, ["Cookie: s=1"]), ARGS,
                           fake_wrk(server, lines), cpu_busy(0.2))
    assert r["ok"] and r["n"] == (1000, 1000)
    assert r["a_us"] == pytest.approx(80) and r["x_us"] == pytest.approx(82)
    assert r["delta_us"] == pytest.approx(2)
    assert r["per_request_us"] == pytest.approx(100)
    # (a) 99 µs, the other 101 µs of the server per request: requests/s in the ratio 99 / 101.
    assert r["ratio"] == pytest.approx(99 / 101)


def test_a_pair_with_any_status_but_200_is_invalid(tmp_path, cpu_busy):
    server = FakeServer(str(tmp_path))
    lines = [line(A, 200, 80), line(X, 302, 20), line(A, 200, 80), line(X, 200, 82)]
    r = pairs.measure_pair(server, "b", (A, []), (X, []), ARGS, fake_wrk(server, lines),
                           cpu_busy(0.001))
    assert not r["ok"]
    assert r["statuses"][X] == {"302": 1, "200": 1}


def test_a_pair_whose_second_request_never_came_has_no_ratio(tmp_path, cpu_busy):
    server = FakeServer(str(tmp_path))
    r = pairs.measure_pair(server, "b", (A, []), (X, []), ARGS,
                           fake_wrk(server, [line(A, 200, 80)] * 50), cpu_busy(0.001))
    assert not r["ok"] and "ratio" not in r
    assert pairs.goal_line({"b": {"ratio": None}}, "b", "(b) >= 0.97 x (a)", 0.97, 5) == \
        "(b) >= 0.97 x (a), same-run pairs: not measured"


def test_the_wrk_script_alternates_the_pair_and_quotes_what_it_sends(tmp_path):
    path = pairs.write_script(str(tmp_path), "d", (A, []),
                              (X, ["Authorization: Bearer a.b.c", 'X-Odd: "q" [x]']))
    text = open(path).read()
    assert 'reqs[0] = wrk.format("GET", [==[/pub/1k.html]==], {})' in text
    assert '[ [==[Authorization]==] ] = [==[Bearer a.b.c]==]' in text
    assert '[ [==[X-Odd]==] ] = [==["q" [x]]==]' in text
    assert "return reqs[n % 2]" in text
    with pytest.raises(ValueError):
        pairs.write_script(str(tmp_path), "bad", (A, []), (X, ["Cookie: ]==]"]))


def test_a_goal_line_reads_the_median_round_and_says_when_it_cannot_be_trusted():
    def pair(med, lo, hi, ok=True, other=0.0):
        return {"ratio": (med, lo, hi), "ok": ok, "other_cpu_pct": other}
    control = pair(1.0004, 0.9998, 1.0024)
    line = pairs.goal_line({"a2": control, "b": pair(0.981, 0.967, 0.984)}, "b", "(b)", 0.97, 5)
    assert line.startswith("(b), same-run pairs: 0.9810 (0.9670 to 0.9840) -> met "
                           "(not in every round); the control's 1.0004")
    assert "NOT met" in pairs.goal_line({"b": pair(0.969, 0.96, 0.98)}, "b", "(b)", 0.97, 5)
    assert "INVALID" in pairs.goal_line({"b": pair(0.99, 0.98, 1.0, ok=False)}, "b", "(b)",
                                        0.97, 5)
    # Other work on the server's CPU counts as the server's: the ratio looks better than it is.
    assert "busy: not reliable" in pairs.goal_line({"b": pair(0.99, 0.98, 1.0, other=54)},
                                                   "b", "(b)", 0.97, 5)
