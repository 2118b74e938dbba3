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

# A loopback redirect_uri with the default client_id (Microsoft Authentication
# Broker, 29d9ed98: no loopback redirect registered, roadtx
# firstpartyscopes.json; Entra answers AADSTS50011) is refused by
# `config --check`, naming the client; with a client_id of one's own app
# registration it is accepted.
case_loopback_redirect_needs_own_client() {
  printf '[linkjoin]\nsignin = auth_code\nredirect_uri = http://127.0.0.1/cb\n' >"$CASE/lj.conf"
  assert_rc 3 lj config --config "$CASE/lj.conf" --check
  assert_contains "$OUT" "redirect_uri http://127.0.0.1/cb: client_id 29d9ed98-a469-4536-ade2-f981bc1d605e (Microsoft Authentication Broker, the default) has no loopback redirect registered, so Entra refuses it (AADSTS50011)"
  assert_rc 0 lj config --config "$CASE/lj.conf" --check --client-id 4b8f2d1c-6a3e-4c5f-9d7b-2e1a0f3c5b7d
  assert_rc 0 lj config --config "$CASE/lj.conf" --check --redirect-uri ms-aadj-redir://auth/drs
}

tcase config_bad_key_names_file_line case_bad_key_names_file_line
tcase config_loopback_redirect_needs_own_client case_loopback_redirect_needs_own_client
tcase config_http_authority_refused case_http_authority_refused
tcase config_missing_explicit_file case_missing_explicit_file
tcase config_flags_override_file_and_dump case_flags_override_file_and_dump
tcase config_password_never_on_argv case_password_never_on_argv
