#!/usr/bin/env python3
"""breakdown.py — where the time between "sign-in finished" and "joined" /
"enrolled" goes, from the info-level logs of `linkjoin run --signin password`
(one log file per run).

  breakdown.py LOG...

Each step is the time from the previous mark to the next, taken from the
log lines' own millisecond timestamps (platform/common/log.c), so a step is at
best 1 ms exact; the table shows the median, min and max over the runs.
The marks, in the order agent/flow/flow.c passes them after the credentials
arrive (a mark missing from a run is skipped: its time goes to the next
step):
  credentials   the UI's credentials line arrived (mod=ui event=message)
  token         token answer (new TLS connection to the login host + the
                simulator issuing the tokens)
  discovery     DRS discovery answer (new TLS connection to the DRS host);
                with a configured domain it runs before the prompt and is
                missing here (counted under "before the credentials")
  keys          keys_await done (pregenerated: nothing to wait for)
  journal       journal saved as keys_ready (no fsync: join_sent, next,
                is the durable record)
  csr           the join CSR: collected from the TPM worker, which signed
                it during sign-in (csr_presigned_used), or signed now
                (ECC parent CreatePrimary, Load, RSA Sign, flushes)
  journal       transport-key blob + journal saved as join_sent
  join          the DRS join answer (the simulator issuing the certificate)
  store         answer checked, device cert (its content fsync'ed) +
                journal saved as joined (file + directory fsync'ed)
  marker        the systemd marker file `joined` (end: JOINED)
  mdm token     Intune access token (refresh grant, same login connection)
  mdm csr       the MDM CSR signed in the TPM (by the TPM worker while the
                discovery request is on the network: this step and the next
                overlap)
  mdm soap      discovery + policy + enrollment SOAP (new TLS connection to
                the enrollment host), from the CSR's signature on
  mdm store     MDM certificate checked and saved, journal mdm_enrolled
                (end: ENROLLED)
Prints one line a step, then the totals, then what ran before the
credentials arrived (off the person's wait).  Bounded: at most 64 log
files, lines over 8 KiB are cut.
"""
import datetime
import re
import statistics
import sys

MARKS = [
    ("credentials", r"mod=ui event=message"),
    ("token", r"event=signed_in "),
    ("discovery", r"event=discovered domain="),
    ("keys", r"event=keys_ready "),
    ("journal keys_ready", r"event=saved state=keys_ready"),
    ("csr", r"event=csr_signed |event=csr_presigned_used "),
    ("journal join_sent", r"event=saved state=join_sent"),
    ("join", r"event=join_answer "),
    ("store", r"event=saved state=joined"),
    ("marker", r"event=joined device_id="),
    ("mdm token", r"event=mdm_token "),
    ("mdm csr", r"event=csr_signed "),
    ("mdm soap", r"mod=mdm event=enrolled "),
    ("mdm store", r"event=mdm_enrolled "),
]
# Work done before the credentials arrived, off the person's wait.
BEFORE = [
    ("discovery before the prompt", r"event=discovered domain="),
    ("join CSR presigned", r"event=csr_signed "),
]
TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z linkjoin")


def lines_of(path):
    """(ms, text) of every timestamped line of one log."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line[:8192]
            m = TS.match(line)
            if m is not None:
                ts = datetime.datetime.fromisoformat(m.group(1))
                out.append((ts.timestamp() * 1000.0, line))
    return out


def marks_of(path):
    """(t, before): the time (ms) of each mark in one log (None when
    missing), and which BEFORE items happened before the credentials."""
    lines = lines_of(path)
    t = [None] * len(MARKS)
    before = [False] * len(BEFORE)
    pos = 0
    for i, (_, pat) in enumerate(MARKS):
        rx = re.compile(pat)
        for k in range(pos, len(lines)):
            if rx.search(lines[k][1]):
                t[i] = lines[k][0]
                pos = k + 1
                break
        if i == 0:
            cred = pos - 1 if t[0] is not None else len(lines)
            for j, (_, bpat) in enumerate(BEFORE):
                brx = re.compile(bpat)
                before[j] = any(brx.search(text) for _, text in lines[:cred])
            if t[0] is None:
                break
    return t, before


def row(name, v):
    if not v:
        return "  %-22s %s" % (name, "-")
    return "  %-22s median %5.0f ms  (min %4.0f, max %4.0f, n=%d)" % (
        name, statistics.median(v), min(v), max(v), len(v))


def main():
    runs = [marks_of(p) for p in sys.argv[1:65]]
    names = [name for name, _ in MARKS]
    steps = {name: [] for name in names[1:]}
    joined, enrolled = [], []
    for t, _ in runs:
        last = t[0]
        for i in range(1, len(MARKS)):
            if t[i] is not None and last is not None:
                steps[names[i]].append(t[i] - last)
                last = t[i]
        if t[0] is not None and t[names.index("marker")] is not None:
            joined.append(t[names.index("marker")] - t[0])
        if t[0] is not None and t[names.index("mdm store")] is not None:
            enrolled.append(t[names.index("mdm store")] - t[0])
    for name in names[1:]:
        print(row(name, steps[name]))
        if name == "marker":
            print(row("= credentials->joined", joined))
    print(row("= credentials->enrolled", enrolled))
    for j, (name, _) in enumerate(BEFORE):
        print("  before the credentials: %s in %d of %d runs" % (
            name, sum(1 for _, b in runs if b[j]), len(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
