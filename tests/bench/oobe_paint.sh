# tests/bench/oobe_paint.sh — `make bench` measurement oobe_paint (sourced by
# tests/bench/run.sh): how fast the OOBE screen (platform/oobe/www) paints
# in headless chromium when served by linkjoin-oobe on loopback — the paint
# timing's first-contentful-paint, median of BENCH_N loads (target: at most
# 300 ms) — and the bytes of its assets (target: under 150 KB together).
# No agent runs behind the bridge: the first paint is the page's own.

bench_oobe_paint() {
  local oobe=$LJ_BUILD/linkjoin-oobe www=$LJ_TOP/platform/oobe/www url bytes
  [ -x "$oobe" ] || fail "$oobe missing"
  [ -d "$LJ_TOP/tests/browser/node_modules/playwright-core" ] || fail "tests/browser/node_modules missing (make deps)"
  "$oobe" --ui-socket "$CASE/none.sock" --listen 127.0.0.1:0 --assets "$www" \
    --token-file "$CASE/token" --i18n "$LJ_BUILD/oobe/i18n" >"$CASE/oobe.out" 2>"$CASE/oobe.err" &
  track_pid $!
  for _ in $(seq 200); do grep -q '^listening ' "$CASE/oobe.out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening //p' "$CASE/oobe.out")
  [ -n "$url" ] || fail "linkjoin-oobe did not start: $(tail -3 "$CASE/oobe.err")"
  OOBE_URL=$url OOBE_TOKEN_FILE=$CASE/token node "$LJ_TOP/tests/browser/paint.mjs" "$N" \
    >"$CASE/paint.txt" 2>"$CASE/paint.err" || fail "paint.mjs: $(tail -5 "$CASE/paint.err" "$CASE/paint.txt")"
  grep -E '^[0-9.]+ [0-9.]+$' "$CASE/paint.txt" | cut -d' ' -f1 >"$CASE/fcp.ms"
  grep -E '^[0-9.]+ [0-9.]+$' "$CASE/paint.txt" | cut -d' ' -f2 >"$CASE/load.ms"
  report "OOBE screen first contentful paint" ms "$CASE/fcp.ms" \
    "node tests/browser/paint.mjs $N (headless chromium, linkjoin-oobe on 127.0.0.1)" "target <= 300 ms"
  report "OOBE screen load event end" ms "$CASE/load.ms" "the same loads"
  bytes=$(cat "$www/index.html" "$www/app.js" "$www/app.css" | wc -c)
  single "OOBE screen assets (index.html + app.js + app.css)" "$bytes" bytes \
    "wc -c platform/oobe/www/{index.html,app.js,app.css} (target < 150 KB)"
}
