#!/usr/bin/python3
"""ui_schema_check.py — validate agent -> UI transcripts against
platform/oobe/ui-protocol.schema.json (JSON Schema draft 2020-12, with
Debian's python3-jsonschema).

  ui_schema_check.py [--agent|--ui] FILE...   every JSON line of each FILE
      is one event the agent sent (--agent, default) or one message a UI sent
      (--ui); lines that are not JSON (a tty transcript) are counted, not
      checked.  Prints one line per file, and every violation with its file
      and line.  Exit 0 when every event is valid and at least one was seen,
      1 on a violation, 2 when no event was found.
  ui_schema_check.py --check-schema   the schema itself against the draft
"""
import json
import os
import sys

from jsonschema import Draft202012Validator

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "platform", "oobe",
                      "ui-protocol.schema.json")


def main(argv):
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    if argv == ["--check-schema"]:
        Draft202012Validator.check_schema(schema)
        print("schema ok: draft 2020-12")
        return 0
    which = "agent_event"
    if argv and argv[0] in ("--agent", "--ui"):
        which = "agent_event" if argv[0] == "--agent" else "ui_message"
        argv = argv[1:]
    base = {k: v for k, v in schema.items() if k != "anyOf"}

    def validator_for(name):
        return Draft202012Validator(dict(base, **{"$ref": "#/$defs/" + name}))

    whole = validator_for(which)
    names = {n for n in schema["$defs"]}
    events = bad = 0
    for path in argv:
        n = text = 0
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    text += 1
                    continue
                n += 1
                if whole.is_valid(ev):
                    continue
                bad += 1
                # the definition this event claims to be, for a precise message
                t = ev.get("type") if isinstance(ev, dict) else None
                name = f"{t}_{ev.get('kind')}" if t == "prompt" else t
                if which == "ui_message":
                    name = f"ui_{t}"
                if name not in names:
                    print(f"{path}:{lineno}: not a known {which}: {line[:200]}")
                    continue
                for e in validator_for(name).iter_errors(ev):
                    where = "/".join(str(p) for p in e.absolute_path) or "(event)"
                    print(f"{path}:{lineno}: {name}: {where}: {e.message[:300]}")
        events += n
        print(f"# {path}: {n} events" + (f", {text} text lines not checked" if text else ""))
    if bad:
        print(f"{bad} violations in {events} events")
        return 1
    if events == 0:
        print("no events found")
        return 2
    print(f"{events} events valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
