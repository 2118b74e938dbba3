#!/usr/bin/env python3
"""ui_timer.py — plays the person at the device for one `linkjoin run --ui stdio`
and records when each UI event arrives (monotonic clock, milliseconds).

  ui_timer.py --ctl PORT [--upn UPN] [--password PW] [--signin-s S]
              [--signin-jitter J] [--events FILE] -- CMD...

t0 is taken just before CMD is started.  At a `device_code` prompt it waits S
seconds plus a uniform random 0..J (the person signing in on a phone; the
jitter keeps the approval out of step with the agent's polling), then approves the code through
entra-sim's control API (POST /control/devicecode/approve); at a
`credentials` prompt it waits S seconds and answers with UPN and PW.
"Sign-in finished" is the moment that approval (or answer) has been made.
Prints one JSON line:
  {"rc", "status", "mdm_state", "first_event_ms", "prompt_ms", "signin_done_ms",
   "joined_ms", "result_ms", "wait_ms", "joined_wait_ms", "enrolled_wait_ms",
   "total_ms"}
where wait_ms = result_ms - signin_done_ms is the person's wait (the result
comes after the Intune enrollment).  joined_ms is when the device IS joined:
the first `progress` event of phase "mdm" or "done" after a "join" progress
(agent/flow/flow.c saves the journal as joined and then, with nothing in
between, starts Intune with progress phase "mdm"; without Intune the next
event is "done").  joined_wait_ms = joined_ms - signin_done_ms;
enrolled_wait_ms = result_ms - signin_done_ms when the result says
mdm.state "enrolled", else null.  Every event line goes to FILE with its
arrival time.  Bounded: 300 s in all.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", type=int, required=True)
    ap.add_argument("--upn", default="alice@contoso.example")
    ap.add_argument("--password", default="")
    ap.add_argument("--signin-s", type=float, default=0.0)
    ap.add_argument("--signin-jitter", type=float, default=0.0)
    ap.add_argument("--events", default=os.devnull)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()

    out = {"rc": None, "status": None, "mdm_state": None, "first_event_ms": None,
           "prompt_ms": None, "signin_done_ms": None, "joined_ms": None, "result_ms": None,
           "wait_ms": None, "joined_wait_ms": None, "enrolled_wait_ms": None, "total_ms": None}
    join_seen = False
    log = open(a.events, "a")
    t0 = time.monotonic()
    p = subprocess.Popen(a.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    buf = b""
    pending = None  # (due_ms, action, arg)
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
                if ev.get("type") == "result":
                    out["result_ms"] = t
                    out["status"] = ev.get("status")
                    if isinstance(ev.get("mdm"), dict):
                        out["mdm_state"] = ev["mdm"].get("state")
                    if out["status"] == "failed":
                        out["reason"] = ev.get("reason")
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
    print(json.dumps(out))
    return 0 if out["status"] not in (None, "failed", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
