#!/usr/bin/env python3
"""ui_client.py — a stand-in OOBE UI for integration tests.

Connects to the agent's Unix socket (retrying until it exists, or until the
agent named by $LJ_AGENT_PID has exited), logs every
line the agent sends to LOG (one JSON object per line), and runs ACTIONS
in order:

  send:JSON          write JSON + newline
  sendraw:TEXT       write TEXT + newline as is (malformed lines)
  oversized:N        write a line of N bytes + newline
  expect:TYPE[:KIND] read until an event of that type (prompt kind) arrives
  run:CMD            run CMD in a shell with the last prompt event in
                     $LAST_PROMPT; every stdout line is sent to the agent
  quit               hang up at once (exit 0), leaving the agent running

After the actions it reads until the agent closes the socket.  Exit 0 when
a result event was seen, 1 otherwise (timeouts: 120 s per expectation).
"""
import json
import os
import socket
import subprocess
import sys
import time


def main():
    path, log_path, actions = sys.argv[1], sys.argv[2], sys.argv[3:]
    deadline = time.time() + 120
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:
        try:
            s.connect(path)
            break
        except OSError:
            pid = os.environ.get("LJ_AGENT_PID")
            if pid:
                try:
                    os.kill(int(pid), 0)
                except OSError:
                    print("ui_client: the agent (pid", pid, ") exited before its socket came up",
                          file=sys.stderr)
                    return 1
            if time.time() > deadline:
                print("ui_client: cannot connect to", path, file=sys.stderr)
                return 1
            time.sleep(0.05)
    f = s.makefile("rwb", buffering=0)
    log = open(log_path, "a")
    seen_result = False
    last_prompt = {}

    def read_event():
        nonlocal seen_result, last_prompt
        line = f.readline()
        if not line:
            return None
        log.write(line.decode())
        log.flush()
        ev = json.loads(line)
        if ev.get("type") == "result":
            seen_result = True
        if ev.get("type") == "prompt":
            last_prompt = ev
        return ev

    def send(text):
        f.write(text.encode() + b"\n")

    for a in actions:
        kind, _, arg = a.partition(":")
        if kind == "send":
            send(arg)
        elif kind == "sendraw":
            send(arg)
        elif kind == "oversized":
            send("x" * int(arg))
        elif kind == "expect":
            want = arg.split(":")
            s.settimeout(120)
            while True:
                ev = read_event()
                if ev is None:
                    print("ui_client: closed while expecting", arg, file=sys.stderr)
                    return 1
                if ev.get("type") == want[0] and (len(want) < 2 or ev.get("kind") == want[1]):
                    break
        elif kind == "quit":
            # hang up now (a UI that restarts); the agent keeps running
            s.close()
            return 0
        elif kind == "run":
            env = dict(os.environ, LAST_PROMPT=json.dumps(last_prompt))
            out = subprocess.run(arg, shell=True, env=env, stdout=subprocess.PIPE, check=True)
            for line in out.stdout.decode().splitlines():
                if line:
                    send(line)
        else:
            print("ui_client: unknown action", a, file=sys.stderr)
            return 2
    s.settimeout(120)
    while read_event() is not None:
        pass
    return 0 if seen_result else 1


if __name__ == "__main__":
    sys.exit(main())
