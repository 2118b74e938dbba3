#!/usr/bin/env bash
# `linkjoin config`: the configuration as `run` reads it; errors name FILE:LINE.
. "$(dirname "$0")/lib.sh"

case_bad_key_names_file_line() {
  printf '[linkjoin]\ntenant = contoso.example\n\nfoo = 1\n' >"$CASE/lj.conf"
  assert_rc 3 lj config --config "$CASE/lj.conf"
  assert_contains "$OUT" "linkjoin: $CASE/lj.conf:4: unknown key 'foo'"
}

case_http_authority_refused() {
  : >"$CASE/lj.conf"
  assert_rc 3 lj config --config "$CASE/lj.conf" --authority http://login.microsoftonline.com
  assert_contains "$OUT" "--authority: bad value for 'authority': plain http is not allowed"
}

case_missing_explicit_file() {
  assert_rc 3 lj config --config "$CASE/nope.conf"
  assert_contains "$OUT" "$CASE/nope.conf: no such file"
}

case_flags_override_file_and_dump() {
  printf 'tenant = contoso.example\nconnect_to = login.microsoftonline.com:443:127.0.0.1:8443\n' >"$CASE/lj.conf"
  assert_rc 0 lj config --config "$CASE/lj.conf" --tenant fabrikam.example --ui tty
  assert_contains "$OUT" "tenant = fabrikam.example"
  assert_contains "$OUT" "ui = tty"
  assert_contains "$OUT" "connect_to = login.microsoftonline.com:443:127.0.0.1:8443"
  assert_contains "$OUT" "authority = https://login.microsoftonline.com"
  # The dump is itself a valid configuration file.
  lj config --config "$CASE/lj.conf" --tenant fabrikam.example >"$CASE/dump.conf" 2>/dev/null
  assert_rc 0 lj config --config "$CASE/dump.conf" --check
  assert_eq "$OUT" ""
}

case_password_never_on_argv() {
  : >"$CASE/lj.conf"
  assert_rc 3 lj config --config "$CASE/lj.conf" --password hunter2
  assert_contains "$OUT" "--password: not allowed"
}

tcase config_bad_key_names_file_line case_bad_key_names_file_line
tcase config_http_authority_refused case_http_authority_refused
tcase config_missing_explicit_file case_missing_explicit_file
tcase config_flags_override_file_and_dump case_flags_override_file_and_dump
tcase config_password_never_on_argv case_password_never_on_argv
