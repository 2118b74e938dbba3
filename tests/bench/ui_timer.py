#!/usr/bin/env python3
"""ui_timer.py — plays the person at the device for one `linkjoin run --ui stdio`
and records when each UI event arrives (monotonic clock, milliseconds).

  ui_timer.py --ctl PORT [--upn UPN] [--password PW] [--signin-s S]
              [--signin-jitter J] [--events FILE] [--first-only]
              [--smaps FILE] [--setenv NAME=VALUE]... -- CMD...

t0 is taken just before CMD is started.  At a `device_code` prompt it waits S
seconds plus a uniform random 0..J (the person signing in on a phone; the
jitter keeps the approval out of step with the agent's polling), then approves the code through
entra-sim's control API (POST /control/devicecode/approve); at a
`credentials` prompt it waits S seconds and answers with UPN and PW.
"Sign-in finished" is the moment that approval (or answer) has been made.
Prints one JSON line:
  {"rc", "status", "mdm_state", "first_event_ms", "prompt_ms", "signin_done_ms",
   "joined_ms", "result_ms", "wait_ms", "joined_wait_ms", "enrolled_wait_ms",
   "total_ms", "maxrss_kib"}
(maxrss_kib: the agent's peak RSS since its exec, VmHWM of /proc/PID/status
read at its result and leaving events, after every timed instant; the
agent is the innermost process under CMD) where wait_ms = result_ms - signin_done_ms is the person's wait (the result
comes after the Intune enrollment).  joined_ms is when the device IS joined:
the first `progress` event of phase "mdm" or "done" after a "join" progress
(agent/flow/flow.c saves the journal as joined and then, with nothing in
between, starts Intune with progress phase "mdm"; without Intune the next
event is "done").  joined_wait_ms = joined_ms - signin_done_ms;
enrolled_wait_ms = result_ms - signin_done_ms when the result says
mdm.state "enrolled", else null.  Every event line goes to FILE with its
arrival time.  Bounded: 300 s in all.

--first-only: stop at the first event (the agent is killed then): only
first_event_ms is measured, nothing is waited for.
--setenv NAME=VALUE: CMD runs with this variable set (ui_timer itself not).
--smaps FILE: at every event, read the agent's /proc/PID/smaps_rollup (the
agent is the innermost process under CMD, so a wrapper such as
/usr/bin/time is looked through) and write to FILE, as JSON, the sample
with the largest Rss: rss_kib, anon_kib (heap, thread stacks and arenas,
library data written to), file_kib (text and read-only data of the binary
and its libraries) and by_file, the Rss of each mapped file in KiB.
Reading /proc costs time: do not combine with timed runs.
"""
import argparse
import json
import os
import random
import select
import subprocess
import sys
import time
import urllib.request

LIMIT_S = 300
LINE_MAX = 64 * 1024


def now_ms(t0):
    return (time.monotonic() - t0) * 1000.0


def approve(ctl, user_code, upn):
    body = json.dumps({"user_code": user_code, "upn": upn}).encode()
    req = urllib.request.Request(
        "http://127.0.0.1:%d/control/devicecode/approve" % ctl, data=body,
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def vm_hwm(pid):
    """The peak RSS (KiB) of pid's address space since its exec: VmHWM."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def innermost(pid):
    """The last descendant of pid (through single-child wrappers)."""
    for _ in range(8):
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                kids = f.read().split()
        except OSError:
            return pid
        if not kids:
            return pid
        pid = int(kids[-1])
    return pid


def smaps_sample(pid, best):
    """best, or this moment's composition of pid's RSS when it is larger."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            roll = dict(l.split(":", 1) for l in f.read().splitlines()[1:] if ":" in l)
        rss = int(roll["Rss"].split()[0])
        anon = int(roll["Anonymous"].split()[0])
        if best is not None and rss <= best["rss_kib"]:
            return best
        by_file = {}
        name = None
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 5 and "-" in parts[0] and ":" not in parts[0]:
                    name = parts[5] if len(parts) >= 6 else ""
                    name = os.path.basename(name) if name.startswith("/") else None
                elif name and parts[0] == "Rss:":
                    by_file[name] = by_file.get(name, 0) + int(parts[1])
    except (OSError, KeyError, ValueError, IndexError):
        return best
    return {"rss_kib": rss, "anon_kib": anon, "file_kib": rss - anon, "by_file": by_file}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", type=int, required=True)
    ap.add_argument("--upn", default="alice@contoso.example")
    ap.add_argument("--password", default="")
    ap.add_argument("--signin-s", type=float, default=0.0)
    ap.add_argument("--signin-jitter", type=float, default=0.0)
    ap.add_argument("--events", default=os.devnull)
    ap.add_argument("--first-only", action="store_true")
    ap.add_argument("--smaps", default=None)
    ap.add_argument("--setenv", action="append", default=[])
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()

    out = {"rc": None, "status": None, "mdm_state": None, "first_event_ms": None,
           "prompt_ms": None, "signin_done_ms": None, "joined_ms": None, "result_ms": None,
           "wait_ms": None, "joined_wait_ms": None, "enrolled_wait_ms": None, "total_ms": None,
           "maxrss_kib": None}
    join_seen = False
    log = open(a.events, "a")
    env = dict(os.environ)
    for kv in a.setenv:
        k, _, v = kv.partition("=")
        env[k] = v
    t0 = time.monotonic()
    p = subprocess.Popen(a.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    buf = b""
    pending = None  # (due_ms, action, arg)
    smaps = None
    first_only_done = False
    try:
        while now_ms(t0) < LIMIT_S * 1000:
            timeout = 0.5
            if pending is not None:
                timeout = max(0.0, (pending[0] - now_ms(t0)) / 1000.0)
            r, _, _ = select.select([p.stdout], [], [], timeout)
            if pending is not None and now_ms(t0) >= pending[0]:
                kind, arg = pending[1], pending[2]
                pending = None
                if kind == "approve":
                    approve(a.ctl, arg, a.upn)
                else:
                    line = json.dumps({"type": "credentials", "username": a.upn,
                                       "password": a.password})
                    p.stdin.write(line.encode() + b"\n")
                    p.stdin.flush()
                out["signin_done_ms"] = now_ms(t0)
            if not r:
                if p.poll() is not None:
                    break
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            t = now_ms(t0)
            if not chunk:
                break
            buf += chunk
            if len(buf) > LINE_MAX and b"\n" not in buf:
                raise SystemExit("ui_timer: line over 64 KiB")
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                log.write("%.3f %s\n" % (t, line.decode(errors="replace")))
                ev = json.loads(line)
                if out["first_event_ms"] is None:
                    out["first_event_ms"] = t
                    if a.first_only:
                        first_only_done = True
                        break
                if a.smaps is not None:
                    smaps = smaps_sample(innermost(p.pid), smaps)
                if ev.get("type") == "prompt" and out["prompt_ms"] is None:
                    out["prompt_ms"] = t
                    due = t + (a.signin_s + random.uniform(0.0, a.signin_jitter)) * 1000.0
                    if ev.get("kind") == "device_code":
                        pending = (due, "approve", ev["user_code"])
                    elif ev.get("kind") == "credentials":
                        pending = (due, "credentials", None)
                if ev.get("type") == "progress":
                    if ev.get("phase") == "join":
                        join_seen = True
                    elif (join_seen and out["joined_ms"] is None
                          and ev.get("phase") in ("mdm", "done")):
                        out["joined_ms"] = t
                if ev.get("type") in ("result", "leaving"):
                    # after every timed instant: the agent's peak so far
                    hwm = vm_hwm(innermost(p.pid))
                    if hwm is not None:
                        out["maxrss_kib"] = max(hwm, out["maxrss_kib"] or 0)
                if ev.get("type") == "result":
                    out["result_ms"] = t
                    out["status"] = ev.get("status")
                    if isinstance(ev.get("mdm"), dict):
                        out["mdm_state"] = ev["mdm"].get("state")
                    if out["status"] == "failed":
                        out["reason"] = ev.get("reason")
            if first_only_done:
                p.kill()
                break
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            out["rc"] = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out["rc"] = p.wait()
    out["total_ms"] = now_ms(t0) if out["result_ms"] is None else out["result_ms"]
    if out["result_ms"] is not None and out["signin_done_ms"] is not None:
        out["wait_ms"] = out["result_ms"] - out["signin_done_ms"]
        if out["mdm_state"] == "enrolled":
            out["enrolled_wait_ms"] = out["wait_ms"]
    if out["joined_ms"] is not None and out["signin_done_ms"] is not None:
        out["joined_wait_ms"] = out["joined_ms"] - out["signin_done_ms"]
    for k, v in list(out.items()):
        if isinstance(v, float):
            out[k] = round(v, 2)
    if a.smaps is not None:
        with open(a.smaps, "w") as f:
            json.dump(smaps or {}, f)
    print(json.dumps(out))
    if a.first_only:
        return 0 if out["first_event_ms"] is not None else 1
    return 0 if out["status"] not in (None, "failed", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
