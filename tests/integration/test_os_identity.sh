#!/usr/bin/env bash
# test_os_identity.sh — the Windows identity the device presents: DRS's
# OSVersion and Intune's ApplicationVersion / OSVersion are a dotted quad
# (the configured os_version, default 10.0.26100.1; never os-release's "12"),
# OSEdition is os_edition (default 4); `config --check` refuses a version
# that is not a dotted quad, naming the key, and entra-sim refuses one on the
# wire (test_sim_drs.sh, test_sim_mdm.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

# assert_presented VERSION EDITION — the simulator's device object and
# Intune enrollment carry what the agent sent.
assert_presented() {
  local e
  assert_eq "$LJ_RC" 0 "joins and enrolls ($(result_event) $(tail -5 "$CASE/err.log"))"
  assert_eq "$(sim_ctl GET /control/devices | jq -r '.[0].os_version')" "$1" "DRS OSVersion"
  e=$(sim_ctl GET /control/enrollments) || fail enrollments
  assert_eq "$(jq -r '.[0].os_version' <<<"$e")" "$1" "Intune OSVersion"
  assert_eq "$(jq -r '.[0].os_edition' <<<"$e")" "$2" "Intune OSEdition"
}

case_default_identity() {
  join_env
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_presented 10.0.26100.1 4
}

case_configured_identity() {
  join_env
  lj_conf "$CASE/lj.conf" "os_version = 10.0.22631.4460" "os_edition = 48"
  run_device_code
  assert_presented 10.0.22631.4460 48
}

case_check_refuses_os_release_version() {
  printf '[linkjoin]\nos_version = 12\n' >"$CASE/lj.conf"
  : >"$CASE/empty.conf"
  assert_rc 3 lj config --config "$CASE/lj.conf" --check
  assert_contains "$OUT" "lj.conf:2: bad value for 'os_version': must be a Windows version, four numbers 0..65535 joined by dots (e.g. 10.0.26100.1)"
  assert_rc 3 lj config --config "$CASE/empty.conf" --check --os-version 10.0.26100
  assert_contains "$OUT" "--os-version: bad value for 'os_version'"
  assert_rc 3 lj config --config "$CASE/empty.conf" --check --os-edition 0
  assert_contains "$OUT" "bad value for 'os_edition': is out of range (1..65535)"
  assert_rc 0 lj config --config "$CASE/empty.conf" --check --os-version 10.0.22631.4460 --os-edition 48
  # the defaults, as `config` prints them
  assert_rc 0 lj config --config "$CASE/empty.conf"
  assert_contains "$OUT" "os_version = 10.0.26100.1"
  assert_contains "$OUT" "os_edition = 4"
}

tcase os_identity_default_dotted_quad_and_enterprise case_default_identity
tcase os_identity_configured case_configured_identity
tcase os_identity_config_check_refuses_non_quad case_check_refuses_os_release_version
