"""Same-run pairs: two rows' requests interleaved in one wrk run, each timed by httpd itself.

Why: on a shared host the CPU's speed moves by 10-30 % from one second to the next (the bench's
CPU probe), more than the module costs a request. Two rows measured seconds apart meet two
different machines; two rows whose requests alternate within one run meet the same one.

How: wrk sends the pair's two requests in turn over one connection (a generated Lua script);
httpd logs the time it spent on each (%D: from reading the request line to writing the
access-log line, the response sent, in microseconds); the difference of the two halves' means is
what the second request costs the server more than the first, with whatever slowed the host
falling on both. One connection, because with many a request's %D also holds the turns other
requests took on the CPU meanwhile, and the difference drowns in them.

From it, the throughput ratio that the wrk rows estimate: the server's CPUs were busy for so
long over the requests served, so a request of the mix took that much CPU on average; the (a)
half took delta / 2 less, the other half delta / 2 more; and the ratio of what each would serve
per second is c_a / (c_a + delta). A pair of (a) with itself (the same file under a second
name) is the control: its ratio shows the method's own error.

What %D leaves out is the same for both halves (reading the request line, the keep-alive loop),
except the freeing of the request's pool after the log line: callgrind counts that.
"""
import argparse
import os
import random
import re
import statistics
import time

# %D appended to the harness's access-log format (BenchHttpd).
LOG_FORMAT = 'LogFormat "%h %u %t \\"%r\\" %>s %b \\"%{Location}o\\" %D" cpa'
_LINE = re.compile(r'^\S+ \S+ \[[^\]]*\] "\S+ (\S+) [^"]*" (\d{3}) \S+ "[^"]*" (\d+)$')
TRIM = 0.01  # each class's slowest 1 % (a thread preempted mid-request) left out of its mean


def _lua_string(s):
    if "]==]" in s:
        raise ValueError("a request part that the Lua script cannot quote")
    return f"[==[{s}]==]"


def _lua_request(path, headers):
    fields = []
    for hdr in headers:
        name, value = hdr.split(":", 1)
        fields.append(f"[ {_lua_string(name.strip())} ] = {_lua_string(value.strip())}")
    return f"wrk.format(\"GET\", {_lua_string(path)}, {{{', '.join(fields)}}})"


def write_script(dirpath, name, first, second):
    """A wrk script whose every thread sends first, second, first, ... first/second:
    (path, ["Name: value", ...])."""
    path = os.path.join(dirpath, f"pair-{name}.lua")
    with open(path, "w") as f:
        f.write("-- bench/pairs.py: every thread alternates the pair's two requests.\n"
                "local reqs = {}\nlocal n = 0\n"
                "init = function(args)\n"
                f"  reqs[0] = {_lua_request(*first)}\n"
                f"  reqs[1] = {_lua_request(*second)}\n"
                "end\n"
                "request = function()\n  n = n + 1\n  return reqs[n % 2]\nend\n")
    return path


def _trimmed_mean(values):
    values = sorted(values)
    keep = values[:max(1, int(len(values) * (1 - TRIM)))]
    return statistics.fmean(keep)


def timings_since(access_log, offset, paths):
    """{path: [microseconds, ...]} and {path: {status: count}} of the access-log lines after
    offset whose path is one of `paths`; other lines are counted under 'other'."""
    times = {p: [] for p in paths}
    statuses = {p: {} for p in paths}
    other = 0
    with open(access_log, "rb") as f:
        f.seek(offset)
        for raw in f:
            m = _LINE.match(raw.decode(errors="replace").rstrip("\n"))
            if not m or m.group(1) not in times:
                other += 1
                continue
            p, status, us = m.group(1), m.group(2), int(m.group(3))
            statuses[p][status] = statuses[p].get(status, 0) + 1
            times[p].append(us)
    return times, statuses, other


def measure_pair(h, key, first, second, args, run_wrk, server_busy_s):
    """One wrk run of the pair over one connection. first is (a): (path, headers); second the
    row measured against it. Needs BenchHttpd's log format (%D last). server_busy_s(): the
    server side's CPUs' busy time so far, in seconds."""
    script = write_script(h.root, key, first, second)
    offset = os.path.getsize(h.access_log) if os.path.exists(h.access_log) else 0
    one = argparse.Namespace(**{**vars(args), "threads": 1, "connections": 1})
    busy0 = server_busy_s()
    res = run_wrk(h.url(first[0]), [], one, script=script)
    busy = server_busy_s() - busy0
    time.sleep(0.3)  # the last log lines
    times, statuses, other = timings_since(h.access_log, offset, [first[0], second[0]])
    a, x = times[first[0]], times[second[0]]
    ok = (res["wrk_rc"] == 0 and bool(a) and bool(x)
          and all(set(s) == {"200"} for s in statuses.values()))
    out = {"rps": res["rps"], "ok": ok, "statuses": statuses, "other_lines": other,
           "n": (len(a), len(x)), "busy_s": busy,
           "other_cpu_pct": res.get("other_cpu_pct")}
    if not (a and x and busy > 0):
        return out
    ta, tx = _trimmed_mean(a), _trimmed_mean(x)
    delta = tx - ta
    # The server side's CPU time per request of the mix (its CPUs' busy time over the requests
    # served), whether or not one connection kept it busy throughout.
    per_request = 1e6 * busy / (len(a) + len(x))
    ca = per_request - delta / 2
    out.update(a_us=ta, x_us=tx, delta_us=delta, per_request_us=per_request,
               ratio=ca / (ca + delta) if ca + delta > 0 else None)
    return out


def measure_pairs(h, pairs, args, run_wrk, log, server_busy_s):
    """pairs: [(key, label, first, second)]; `args.pair_rounds` rounds, each in its own seeded
    random order. Returns {key: {"label", "rounds": [...], "ratio": (median, lo, hi),
    "delta_us": (median, lo, hi), "ok"}}."""
    order_rng = random.Random(41)
    rounds = {key: [] for key, *_ in pairs}
    for _ in range(max(1, args.pair_rounds)):
        order = list(range(len(pairs)))
        order_rng.shuffle(order)
        for i in order:
            key, label, first, second = pairs[i]
            r = measure_pair(h, key, first, second, args, run_wrk, server_busy_s)
            rounds[key].append(r)
            if "delta_us" in r:
                log(f"pair {label}: {r['rps']:.0f} req/s of the mix, {r['a_us']:.2f} vs "
                    f"{r['x_us']:.2f} µs in httpd, {r['delta_us']:+.3f} µs, ratio "
                    f"{r['ratio']:.4f}{'' if r['ok'] else ' INVALID ' + str(r['statuses'])}; "
                    f"{r['per_request_us']:.1f} µs of server CPU per request, "
                    f"{r['busy_s']:.2f} s of it in the run")
            else:
                log(f"pair {label}: no timings ({r['statuses']}, wrk {r['rps']:.0f} req/s)")
    out = {}
    for key, label, *_ in pairs:
        rs = rounds[key]
        ratios = [r["ratio"] for r in rs if r.get("ratio") is not None]
        deltas = [r["delta_us"] for r in rs if "delta_us" in r]
        out[key] = {"label": label, "rounds": rs, "ok": all(r["ok"] for r in rs),
                    "ratio": _summary(ratios), "delta_us": _summary(deltas),
                    "a_us": _summary([r["a_us"] for r in rs if "a_us" in r]),
                    "x_us": _summary([r["x_us"] for r in rs if "x_us" in r]),
                    "cpu_us": _summary([r["per_request_us"] for r in rs
                                        if "per_request_us" in r]),
                    "other_cpu_pct": max((r["other_cpu_pct"] for r in rs
                                          if r.get("other_cpu_pct") is not None), default=None)}
    return out


def _summary(values):
    return (statistics.median(values), min(values), max(values)) if values else None


def _fmt(summary, fmt):
    if summary is None:
        return "-"
    med, lo, hi = summary
    return f"{med:{fmt}} ({lo:{fmt}} to {hi:{fmt}})"


def _other_load(p, busy_pct):
    other = p.get("other_cpu_pct")
    if other is None:
        return "-"
    return f"{other:.0f}%" + (" **busy**" if other > busy_pct else "")


def _busy(p, busy_pct):
    return (p.get("other_cpu_pct") or 0.0) > busy_pct


def report_lines(result, args, busy_pct):
    """The report's section on the pairs. busy_pct: a round whose other CPU load was above it
    is marked busy (the server's CPU time per request then holds other work's too)."""
    if not result:
        return []
    lines = ["", "## Same-run pairs: requests interleaved in one wrk run, timed by httpd", "",
             f"Each pair ran {args.pair_rounds} times ({args.duration} s each, rounds in random "
             "order), wrk -t1 -c1 sending the pair's two requests in turn over one connection. "
             "httpd's own time per request is the access log's %D (from the request line read "
             "to the log line, the response sent), its mean per half without the slowest "
             f"{TRIM:.0%}. The difference is what the second request costs the server more, "
             "measured on the same host at the same moments: what slows the host falls on both "
             "halves. The ratio turns it into requests/s: the server's CPU time per request of "
             "the mix (CPU 0's busy time over the requests served), (a) half the difference "
             "below it, the other half the difference above; ratio = (a)'s / the other's. "
             "Medians of the rounds, their range in brackets. The control pairs (a) with the "
             "same file under a second name: its distance from 1.000 is the method's own error. "
             "\"other CPU load\" as in the table above, the most of any round: other work slows "
             "both halves of a pair alike, but its time on the server's CPU would count as the "
             "server's, so a busy pair's ratio is not reliable.",
             "", "| pair | server CPU per request | (a) in httpd | the other in httpd | "
             "difference per request | ratio to (a) | statuses OK | other CPU load (most) |",
             "|---|---:|---:|---:|---:|---:|---|---:|"]
    for p in result.values():
        st = "yes" if p["ok"] else "**INVALID** " + "; ".join(
            str(r["statuses"]) for r in p["rounds"] if not r["ok"])[:300]
        lines.append(f"| {p['label']} | {_fmt(p.get('cpu_us'), '.1f')} µs | "
                     f"{_fmt(p['a_us'], '.2f')} µs | {_fmt(p['x_us'], '.2f')} µs | "
                     f"{_fmt(p['delta_us'], '+.3f')} µs | {_fmt(p['ratio'], '.4f')} | {st} | "
                     + _other_load(p, busy_pct) + " |")
    return lines


def goal_line(result, key, text, factor, busy_pct):
    """'(b) >= 0.97 x (a), same-run pairs: 0.9812 (0.9790 to 0.9840) -> met'."""
    p = (result or {}).get(key)
    if not p or p["ratio"] is None:
        return f"{text}, same-run pairs: not measured"
    control = (result.get("a2") or {}).get("ratio")
    verdict = "met" if p["ratio"][0] >= factor else "NOT met"
    if p["ratio"][1] < factor <= p["ratio"][0]:
        verdict += " (not in every round)"
    return (f"{text}, same-run pairs: {_fmt(p['ratio'], '.4f')} -> {verdict}"
            + ("" if p["ok"] and (result.get("a2") or {}).get("ok", True)
               else " (a run involved is INVALID)")
            + (" (a run involved was busy: not reliable)" if _busy(p, busy_pct) else "")
            + (f"; the control's {control[0]:.4f} ({control[1]:.4f} to {control[2]:.4f}) is "
               "the method's error" if control else ""))


def split_line(result, key, floor_key, text, floor_is, rest_is):
    """How much of a row's difference per request its floor pair already has, and what is left
    for the rest (floor_is, rest_is: what each part is)."""
    p, f = (result or {}).get(key), (result or {}).get(floor_key)
    if not p or not f or p["delta_us"] is None or f["delta_us"] is None:
        return None
    d, fd = p["delta_us"][0], f["delta_us"][0]
    return (f"{text}: {d:+.2f} µs per request over (a) (medians of the rounds), of which "
            f"{fd:+.2f} µs {floor_is} (its ratio {f['ratio'][0]:.4f}) and {d - fd:+.2f} µs "
            f"{rest_is}")
