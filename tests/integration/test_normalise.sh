#!/usr/bin/env bash
# tests/integration/test_normalise.sh — tests/integration/normalise.sed (what
# tty_normalise applies before a golden comparison) with every time format the
# agent prints or echoes from a server, at hours 0, 8 and 23 (one- and
# two-digit), one- and two-digit months and days where the format allows
# them.  One case per format; each asserts the exact output line.  Needs no
# build, no simulator and no TPM.
. "$(dirname "$0")/lib.sh"

NORM=$LJ_TOP/tests/integration/normalise.sed

# norm_is INPUT WANT — the normaliser turns the line INPUT into exactly WANT.
norm_is() {
  local got
  got=$(printf '%s\n' "$1" | sed -E -f "$NORM") || fail "sed failed on: $1"
  [ "$got" = "$2" ] || fail "normalised '$1': expected '$2', got '$got'"
}

# DRS ErrorResponse "Time" (entra-sim's sim_time_drs, as DRS writes it).
case_drs_time() {
  norm_is '  Time:           12-03-2026 8:15:11Z' '  Time:           <time>'
  norm_is '  Time:           12-03-2026 0:05:09Z' '  Time:           <time>'
  norm_is '  Time:           12-31-2026 23:59:59Z' '  Time:           <time>'
  norm_is '  Time:           12-03-2026 08:15:11Z' '  Time:           <time>'
  norm_is '"Time":"1-2-2027 0:05:09Z"' '"Time":"<time>"'
}
case_drs_time_slashes_ampm() {
  norm_is 'Time: 12/3/2026 8:15:11 AM' 'Time: <time>'
  norm_is 'Time: 1/2/2027 11:59:59 PM.' 'Time: <time>.'
}
# ISO 8601 / RFC 3339: the agent's own times (expires_at, status "time").
case_iso_utc() {
  norm_is '(The code expires at 2026-12-03T08:30:00Z.)' '(The code expires at <time>.)'
  norm_is 'at 2026-12-03T0:05:09Z and 2026-12-31T23:59:59Z' 'at <time> and <time>'
  norm_is '2027-1-2T8:15:11Z' '<time>'
}
case_iso_fraction() {
  norm_is '2026-12-03T08:15:11.1234567Z' '<time>'
  norm_is '2026-12-03T23:59:59,5Z' '<time>'
  norm_is '"time":"2026-12-03T08:15:11.000Z"' '"time":"<time>"'
}
case_iso_offset() {
  norm_is '2026-12-03T08:15:11+01:00' '<time>'
  norm_is '2026-12-03T0:05:09-0500 x' '<time> x'
  norm_is '2026-12-03T23:59:59.25+05:30' '<time>'
  norm_is '2026-12-03T23:59:59-08' '<time>'
}
case_iso_no_zone() {
  norm_is 'at 2026-12-03T08:15:11 local' 'at <time> local'
  norm_is '2026-12-03T23:59' '<time>'
}
# The agent's log line prefix (platform/common/log.c).
case_log_line() {
  norm_is '2026-12-03T08:15:11.123Z linkjoin[42] level=info mod=flow event=x' \
    '<time> linkjoin[42] level=info mod=flow event=x'
}
# AADSTS error_description "Timestamp:" line and the "timestamp" JSON value.
case_aadsts_timestamp() {
  norm_is 'Timestamp: 2026-12-03 08:15:11Z' 'Timestamp: <time>'
  norm_is 'Timestamp: 2026-12-03 0:05:09Z' 'Timestamp: <time>'
  norm_is 'Timestamp: 2026-12-31 23:59:59Z' 'Timestamp: <time>'
}
case_json_timestamp() {
  norm_is '{"timestamp":"2026-12-03 08:15:11Z","trace_id":"5d1c7a40-1c2b-4b4e-9a3f-0e3a1f1b2c3d"}' \
    '{"timestamp":"<time>","trace_id":"<guid>"}'
  norm_is '"timestamp":"2026-12-03 23:59:59.1234567Z"' '"timestamp":"<time>"'
}
# HTTP dates (the Date header stands in for the server time): IMF-fixdate,
# RFC 850, asctime.
case_http_date_imf() {
  norm_is 'Time: Thu, 03 Dec 2026 08:15:11 GMT' 'Time: <time>'
  norm_is 'Time: Thu, 3 Dec 2026 0:05:09 GMT' 'Time: <time>'
  norm_is 'Time: Thu, 31 Dec 2026 23:59:59 GMT' 'Time: <time>'
}
case_http_date_rfc850() {
  norm_is 'Time: Thursday, 03-Dec-26 08:15:11 GMT' 'Time: <time>'
}
case_http_date_asctime() {
  norm_is 'Time: Thu Dec  3 08:15:11 2026' 'Time: <time>'
  norm_is 'Time: Thu Dec 31 23:59:59 2026' 'Time: <time>'
}
# A date alone (the build date in the clock_wrong message).
case_date_only() {
  norm_is "the clock is before this software's build date (2026-11-26)." \
    "the clock is before this software's build date (<date>)."
  norm_is 'on 2027-1-2.' 'on <date>.'
  # the tty's support facts: UTC and the device's local time
  norm_is '  Time:           2026-12-03T08:04:04Z (local time 2026-12-03 09:04:04+01:00)' \
    '  Time:           <time> (local time <time>)'
}
# What must stay: codes, statuses, numbers, versions; ports are replaced.
case_no_false_matches() {
  local l
  for l in '  Error code:     0x801c0003 (join_not_permitted)' '  HTTP status:    503' \
      '  Error code:     AADSTS50126' 'Retry-After: 2' 'linkjoin 1.2.3' 'Phase: join' \
      'waited 12 s of 30 s' 'serial SIM-0001' '2026 devices' '12:30 is not a date'; do
    norm_is "$l" "$l"
  done
  norm_is 'https://login.microsoftonline.com:443/x' 'https://login.microsoftonline.com:<port>/x'
  norm_is 'enter the code ABCD-EFGH' 'enter the code <user-code>'
}
# Every golden tty file is already normalised (normalising it changes nothing).
case_goldens_are_fixed_points() {
  local f
  for f in "$LJ_TOP"/tests/data/tty/*.txt; do
    sed -E -f "$NORM" "$f" | diff -u "$f" - >&2 || fail "$f changes when normalised"
  done
}

tcase normalise_drs_time case_drs_time
tcase normalise_drs_time_slashes_ampm case_drs_time_slashes_ampm
tcase normalise_iso_utc case_iso_utc
tcase normalise_iso_fraction case_iso_fraction
tcase normalise_iso_offset case_iso_offset
tcase normalise_iso_no_zone case_iso_no_zone
tcase normalise_log_line case_log_line
tcase normalise_aadsts_timestamp case_aadsts_timestamp
tcase normalise_json_timestamp case_json_timestamp
tcase normalise_http_date_imf case_http_date_imf
tcase normalise_http_date_rfc850 case_http_date_rfc850
tcase normalise_http_date_asctime case_http_date_asctime
tcase normalise_date_only case_date_only
tcase normalise_no_false_matches case_no_false_matches
tcase normalise_goldens_are_fixed_points case_goldens_are_fixed_points
