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

# password_file holds a secret: a file group/other can read, one owned by
# another user, or a symbolic link is a configuration error naming the file
# and what is wrong; 0600 or 0400 of the agent's own user passes.
case_password_file_private() {
  printf '[linkjoin]\nsignin = password\nusername = alice@contoso.example\npassword_file = %s\n' \
    "$CASE/pw" >"$CASE/lj.conf"
  printf 'x\n' >"$CASE/pw"
  chmod 644 "$CASE/pw"
  assert_rc 3 lj config --config "$CASE/lj.conf" --check
  assert_contains "$OUT" "password_file $CASE/pw is mode 0644 (group or others may read it): make it 0600 or 0400"
  chmod 640 "$CASE/pw"
  assert_rc 3 lj config --config "$CASE/lj.conf" --check
  assert_contains "$OUT" "password_file $CASE/pw is mode 0640"
  chmod 600 "$CASE/pw"
  assert_rc 0 lj config --config "$CASE/lj.conf" --check
  chmod 400 "$CASE/pw"
  assert_rc 0 lj config --config "$CASE/lj.conf" --check
  chown 65534 "$CASE/pw" || skip "cannot chown"
  assert_rc 3 lj config --config "$CASE/lj.conf" --check
  assert_contains "$OUT" "password_file $CASE/pw is owned by uid 65534, not by uid $(id -u) that linkjoin runs as"
  chown "$(id -u)" "$CASE/pw"
  ln -s "$CASE/pw" "$CASE/pw-link"
  assert_rc 3 lj config --config "$CASE/lj.conf" --check --password-file "$CASE/pw-link"
  assert_contains "$OUT" "password_file $CASE/pw-link is a symbolic link or not a regular file"
  # Not there yet: read at use time, so --check does not require it.
  assert_rc 0 lj config --config "$CASE/lj.conf" --check --password-file "$CASE/later"
  assert_rc 3 lj config --config "$CASE/lj.conf" --check --password-file-remove maybe
  assert_contains "$OUT" "bad value for 'password_file_remove'"
  assert_rc 0 lj config --config "$CASE/lj.conf" --password-file-remove yes
  assert_contains "$OUT" "password_file_remove = yes"
}

# The device TCTI must be the kernel's resource manager (/dev/tpmrm0): a raw
# /dev/tpmN (or "device" alone, whose default is /dev/tpm0) is refused unless
# tpm_raw_device = yes says so.
case_raw_tpm_device_needs_switch() {
  : >"$CASE/lj.conf"
  assert_rc 3 lj config --config "$CASE/lj.conf" --check --tcti device:/dev/tpm0
  assert_contains "$OUT" "tcti device:/dev/tpm0 is the TPM without the kernel's resource manager"
  assert_contains "$OUT" "tpm_raw_device = yes"
  assert_rc 3 lj config --config "$CASE/lj.conf" --check --tcti device
  assert_rc 0 lj config --config "$CASE/lj.conf" --check --tcti device:/dev/tpm0 --tpm-raw-device yes
  assert_rc 0 lj config --config "$CASE/lj.conf" --check --tcti device:/dev/tpmrm0
  assert_rc 0 lj config --config "$CASE/lj.conf" --check
}

tcase config_bad_key_names_file_line case_bad_key_names_file_line
tcase config_loopback_redirect_needs_own_client case_loopback_redirect_needs_own_client
tcase config_http_authority_refused case_http_authority_refused
tcase config_missing_explicit_file case_missing_explicit_file
tcase config_flags_override_file_and_dump case_flags_override_file_and_dump
tcase config_password_never_on_argv case_password_never_on_argv
tcase config_password_file_private case_password_file_private
tcase config_raw_tpm_device_needs_switch case_raw_tpm_device_needs_switch
