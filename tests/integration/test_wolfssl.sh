#!/usr/bin/env bash
# The agent on one TLS stack: build/linkjoin-wolfssl (agent/net/http.c on a
# static libcurl over Debian's libwolfssl, the device key in the TLS
# handshake through wolfSSL PK callbacks, agent/net/tls_tpmkey_wolfssl.c)
# against entra-sim + swtpm: what it links, a join, and `leave` both where
# wolfSSL 5.5.4 can authenticate with the device key (a server that offers
# no RSA-PSS) and where it cannot (one that does: GnuTLS's default, like
# every current server).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_leave.sh"

export LJ_TEST_HOOKS=1
LINKJOIN=$LJ_BUILD/linkjoin-wolfssl

# wolfssl_env [SIM ARGS..] — leave_env with entra-sim started with SIM ARGS.
wolfssl_env() {
  need_sim
  sim_start "$LJ_TENANT_DEMO" "$CASE/sim" "$@"
  swtpm_start "$CASE/tpm"
  sim_ctl PATCH /control/login '{"device_code_interval":1}' >/dev/null || fail "cannot set login settings"
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  chmod 600 "$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw"
}

deletes_answered() {
  sim_ctl GET '/control/requests?path_prefix=/EnrollmentServer/device/' |
    jq "[.[] | select(.method == \"DELETE\" and .status == $1)] | length"
}

# No OpenSSL, GnuTLS or system libcurl in what the binary asks for.  The
# one way libcrypto still arrives is Debian's libtss2-esys (its ESYS crypto
# backend is OpenSSL): named here so a new path fails the test.
case_links_no_other_tls_stack() {
  local needed all via
  [ -x "$LINKJOIN" ] || fail "$LINKJOIN not built"
  needed=$(readelf -d "$LINKJOIN" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
  assert_contains "$needed" "libwolfssl.so"
  for l in libssl libcrypto libgnutls libcurl libnss3 libldap librtmp libssh libidn2 libpsl libnghttp2; do
    grep -q "^$l" <<<"$needed" && fail "$LINKJOIN needs $l: $needed"
  done
  all=$(ldd "$LINKJOIN")
  for l in libssl libgnutls libcurl libnss3 libldap librtmp libssh libidn2 libpsl libnghttp2; do
    grep -q "$l" <<<"$all" && fail "ldd $LINKJOIN shows $l: $all"
  done
  if grep -q libcrypto <<<"$all"; then
    via=$(for n in $needed; do
      p=$(awk -v n="$n" '$1 == n { print $3 }' <<<"$all")
      [ -n "$p" ] && readelf -d "$p" | grep -q 'Shared library: \[libcrypto' && echo "$n"
    done)
    assert_eq "$via" "libtss2-esys.so.0" "libraries of the agent that need libcrypto"
  fi
}

# Join and leave, all through wolfSSL; the server offers no RSA-PSS, so the
# client certificate is signed by the TPM as rsa_pkcs1_sha256.
case_join_and_leave_no_pss() {
  wolfssl_env --tls-sigalgs no-pss
  join_device
  sim_has_device "$DEVICE_ID" || fail "device not in the simulator after join"
  assert_rc 0 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "device $DEVICE_ID deleted from the cloud"
  assert_contains "$OUT" "local join state removed"
  sim_has_device "$DEVICE_ID" && fail "device object $DEVICE_ID still in the simulator"
  assert_eq "$(deletes_answered 200)" 1 "DELETEs answered 200"
  assert_no_transient_handles
}

# The server offers rsa_pss_rsae_sha256: wolfSSL 5.5.4 asks for an RSA-PSS
# signature, which the device key cannot make; nothing reaches DRS and
# nothing is removed.
case_leave_pss_offered_refused() {
  wolfssl_env
  join_device
  assert_rc 1 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "event=sign_refused scheme=rsa_pss"
  assert_contains "$OUT" "enterpriseregistration.windows.net:443: the TLS client authentication could not be signed with the device key (unsupported)"
  assert_contains "$OUT" "Nothing was removed"
  sim_has_device "$DEVICE_ID" || fail "device object gone"
  assert_file "$CASE/state/journal.json"
  assert_file "$CASE/state/device-cert.der"
  assert_eq "$(deletes_answered 200)" 0 "DELETEs answered 200"
  assert_no_transient_handles
}

# The server takes rsa_pkcs1_sha384 only: the handshake asks for a SHA-384
# signature and the PK callback refuses it before the TPM signs anything.
case_leave_sha384_refused() {
  wolfssl_env --tls-sigalgs no-pss
  join_device
  sim_stop
  sim_start "$LJ_TENANT_DEMO" "$CASE/sim" --tls-sigalgs pkcs1-sha384 --listen "127.0.0.1:$SIM_PORT"
  assert_rc 1 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" 'event=sign_refused reason="only rsa_pkcs1_sha256"'
  assert_contains "$OUT" "enterpriseregistration.windows.net:443: the TLS client authentication could not be signed with the device key (unsupported)"
  assert_contains "$OUT" "Nothing was removed"
  assert_file "$CASE/state/device-cert.der"
  assert_eq "$(deletes_answered 200)" 0 "DELETEs answered 200"
  assert_no_transient_handles
}

tcase links_no_other_tls_stack case_links_no_other_tls_stack
tcase join_and_leave_no_pss case_join_and_leave_no_pss
tcase leave_pss_offered_refused case_leave_pss_offered_refused
tcase leave_sha384_refused case_leave_sha384_refused
