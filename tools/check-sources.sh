#!/usr/bin/env bash
# tools/check-sources.sh — the house rules a reader of agent/, tpm/ and
# platform/ relies on, checked so they do not decay:
#   - no source file is over 1,000 lines (cut a bigger one along its jobs);
#   - every .c opens with a comment whose first line names it and its job:
#       /*
#        * NAME.c — what it does
#   - comments cite public specifications and code, never notes that live
#     outside this repository (drs-protocol.md, mdm-enrollment.md,
#     architecture.md, ../shared/...) or this project's issue numbers
#     ("issue 7"; a public tracker's "pytune issue #2" is a source).
#
# Usage: tools/check-sources.sh [ROOT]   (ROOT defaults to the repository top)
# Prints FILE[:LINE]: PROBLEM per violation and exits 1 when there is any;
# 0 and one summary line otherwise.
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || { echo "check-sources: no such directory: $root" >&2; exit 2; }
max_lines=1000

files=$(find agent tpm platform -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
if [ -z "$files" ]; then
  echo "check-sources: no sources under $root/agent, tpm, platform" >&2
  exit 2
fi

bad=0
n=0
for f in $files; do
  n=$((n + 1))
  lines=$(wc -l <"$f")
  if [ "$lines" -gt "$max_lines" ]; then
    echo "$f: $lines lines (at most $max_lines: cut it along its jobs)"
    bad=$((bad + 1))
  fi
  case $f in
    *.c)
      name=$(basename "$f")
      if [ "$(sed -n 1p "$f")" != "/*" ] || ! sed -n 2p "$f" | grep -q "^ \* ${name//./\\.} — ."; then
        echo "$f:1: does not open with '/*' and ' * $name — its job'"
        bad=$((bad + 1))
      fi
      ;;
  esac
  # Team notes and issue numbers in comments (string literals are not
  # comments, but no product string names these either).
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    echo "$f:${hit%%:*}: cites a note outside the repository or an issue number: ${hit#*:}"
    bad=$((bad + 1))
  done < <(grep -nE 'drs-protocol\.md|mdm-enrollment\.md|architecture\.md|feasibility\.md|\.\./shared/|shared/reference|\b[Ii]ssue [0-9]+\b' "$f" | cut -c1-160)
done

if [ "$bad" -gt 0 ]; then
  echo "check-sources: $bad problem(s) in $n files"
  exit 1
fi
echo "check-sources: $n files, none over $max_lines lines, each .c opens with its job, no outside notes cited"
