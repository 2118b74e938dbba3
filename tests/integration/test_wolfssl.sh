#!/usr/bin/env bash
# The agent on one TLS stack: build/linkjoin (agent/net/http.c on a
# static libcurl over Debian's libwolfssl, the device key in the TLS
# handshake through wolfSSL PK callbacks, agent/net/tls_tpmkey_wolfssl.c)
# against entra-sim + swtpm: what it links, a join, and `leave` with the
# device key signing RSA-PSS (what wolfSSL 5.5.4 asks for whenever the
# server offers it: GnuTLS's default, like every current server) on TLS 1.3
# and 1.2 against entra-sim (GnuTLS) and an OpenSSL server, PKCS#1 v1.5 where
# the server offers no RSA-PSS, SHA-384 where it offers only that (both
# schemes), a device key of the earlier RSASSA-only template refused by
# name, and a server offering only rsa_pkcs1_sha1 refused by name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_leave.sh"

export LJ_TEST_HOOKS=1

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

# After a refused leave: no internal error, the device object, the journal
# and the certificate still there, no DELETE answered, no TPM handle left.
nothing_removed() {
  assert_not_contains "$OUT" "0x8000ffff"
  sim_has_device "$DEVICE_ID" || fail "device object gone"
  assert_file "$CASE/state/journal.json"
  assert_file "$CASE/state/device-cert.der"
  assert_eq "$(deletes_answered 200)" 0 "DELETEs answered 200"
  assert_no_transient_handles
}

# No OpenSSL, GnuTLS or system libcurl (libcurl4-openssl/-gnutls) in what
# the agent asks for, nor in what ldd resolves, and no shared tpm2-tss:
# Debian's libtss2-esys brings libcrypto (its ESYS crypto backend is
# OpenSSL); the agent links a static tpm2-tss 4.x without a crypto backend
# (tools/deps-tss.sh) and gives ESYS wolfCrypt callbacks (tpm/esys_crypto.c).
case_links_no_other_tls_stack() {
  local needed all l
  [ -x "$LINKJOIN" ] || fail "$LINKJOIN not built"
  needed=$(readelf -d "$LINKJOIN" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
  assert_contains "$needed" "libwolfssl.so"
  all=$(ldd "$LINKJOIN")
  # libxml2 is static, built without ICU, lzma or zlib (tools/deps-libxml2.sh).
  for l in libssl libcrypto libgnutls libcurl libnss3 libldap librtmp libssh libidn2 libpsl libnghttp2 \
    libxml2 libicu liblzma libtss2; do
    grep -q "^$l" <<<"$needed" && fail "$LINKJOIN needs $l: $needed"
    grep -q "$l" <<<"$all" && fail "ldd $LINKJOIN shows $l: $all"
  done
  # tctildr-nodl.c: the TCTIs are compiled in, nothing is dlopen()ed.
  readelf --dyn-syms -W "$LINKJOIN" | grep -qE ' (dlopen|dlmopen)(@|$)' &&
    fail "$LINKJOIN imports dlopen"
  return 0
}

# The agent talks to swtpm (tpm health) without loading any library at run
# time: nothing "dynamically loaded" in the loader's trace, and no libtss2-*
# (Debian's tctildr dlopen()s "swtpm", then libtss2-tcti-swtpm.so.0).
case_tcti_not_dlopened() {
  local loaded
  swtpm_start "$CASE/tpm"
  LD_DEBUG=files LD_DEBUG_OUTPUT="$CASE/ld" "$LINKJOIN" tpm health --tcti "$TCTI" >"$CASE/out" 2>&1 ||
    fail "tpm health failed: $(head -c 2000 "$CASE/out")"
  loaded=$(cat "$CASE"/ld.* | sed -n 's/.*file=\([^ ]*\) .*generating link map.*/\1/p' | sort -u)
  assert_contains "$loaded" "libwolfssl.so"
  assert_not_contains "$loaded" "libtss2" "libraries loaded at run time"
  cat "$CASE"/ld.* | grep -q 'dynamically loaded' &&
    fail "dlopen while talking to the TPM: $(grep -h 'dynamically loaded' "$CASE"/ld.* | head -3)"
  return 0
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

# leave_pss TLSVERSION [SIM ARGS..] — join, then leave against a server that
# offers RSA-PSS (GnuTLS's default list): wolfSSL 5.5.4 asks for
# rsa_pss_rsae_sha256, which the TPM makes (the device key's scheme is NULL).
leave_pss() {
  local version=$1
  shift
  wolfssl_env "$@"
  join_device
  assert_rc 0 lj leave --config "$CASE/lj.conf" --log-level debug
  assert_contains "$OUT" "event=client_auth_signed scheme=rsa_pss hash=sha256 bytes=256"
  assert_contains "$OUT" "event=client_auth_connection tls=$version signs=1"
  assert_contains "$OUT" "device $DEVICE_ID deleted from the cloud"
  sim_has_device "$DEVICE_ID" && fail "device object $DEVICE_ID still in the simulator"
  assert_eq "$(deletes_answered 200)" 1 "DELETEs answered 200"
  assert_no_transient_handles
}

# GnuTLS's default: TLS 1.3, whose CertificateVerify is RSA-PSS (RFC 8446
# 4.4.3); libmicrohttpd asks for the certificate in the handshake.
case_leave_pss_tls13() {
  leave_pss TLSv1.3
}

# The same list on TLS 1.2: the CertificateRequest offers RSA-PSS first.
case_leave_pss_tls12() {
  leave_pss TLSv1.2 --tls-sigalgs tls12
}

# A device joined with the device-key template of earlier versions (scheme
# fixed to RSASSA, made here through the test hook): status still works,
# the server offers RSA-PSS, tpm/ refuses it before the TPM is asked
# (LJ_ERR_KEY_SCHEME); the person reads the taxonomy row
# device_key_outdated (exit 13, not internal 0x8000ffff) and the way out;
# nothing reaches DRS and nothing is removed.
case_leave_old_key_pss_refused() {
  local want
  wolfssl_env --tls-sigalgs tls12
  LJ_TEST_DEVICE_KEY=rsassa join_device
  assert_contains "$(cat "$CASE/run.err")" "event=test_device_key_rsassa"
  assert_rc 0 lj status --config "$CASE/lj.conf"
  assert_rc 13 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" 'level=error mod=tpm rc=key_scheme event=sign_refused scheme=rsa_pss reason="the device key was made for RSASSA-PKCS1-v1_5 only (the template of earlier versions); RSA-PSS needs a key of the current template, made by a new join"'
  assert_contains "$OUT" 'level=error mod=http rc=key_scheme event=request_failed host=enterpriseregistration.windows.net:443 failure="the TLS client authentication could not be signed with the device key (key_scheme)" curl_code=35'
  want="linkjoin leave: This device's security key was made by an older version of the setup program and cannot prove the device's identity the way Microsoft's service now asks, so the device cannot remove itself; reset the device and set it up again, or ask your IT admin to remove it. (reason device_key_outdated, code 0x80280092)
linkjoin leave: admin action: The device key was made with the RSASSA-only key template of earlier linkjoin versions (TPM key scheme RSASSA-SHA256, not NULL), and enterpriseregistration.windows.net asks in the TLS handshake for a signature that key cannot make (RSA-PSS, or a hash other than SHA-256): run linkjoin leave --local-only (or reset the device to factory settings), delete the device object in Entra admin center > Entra ID > Devices > All devices, then join the device again; the new key has the current template (scheme NULL: RSA-PSS or PKCS#1)
linkjoin leave: the device key (made with the RSASSA-only template of earlier versions) cannot make the signature the server asks for, so the device cannot prove itself to the cloud. Nothing was removed.
  \`linkjoin leave --local-only\` removes local state; the device object $DEVICE_ID then
  remains in the cloud for an administrator to delete."
  assert_eq "$(grep -v ' level=' <<<"$OUT")" "$want" "what leave tells the person"
  nothing_removed
}

# The same old key where the server offers no RSA-PSS: rsa_pkcs1_sha256 as before.
case_leave_old_key_no_pss() {
  wolfssl_env --tls-sigalgs no-pss
  LJ_TEST_DEVICE_KEY=rsassa join_device
  assert_rc 0 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "event=client_auth_connection tls=TLSv1.2 signs=1"
  assert_contains "$OUT" "device $DEVICE_ID deleted from the cloud"
  assert_eq "$(deletes_answered 200)" 1 "DELETEs answered 200"
  assert_no_transient_handles
}

# leave_sigalg SIGALGS SCHEME HASH — join, then leave, against entra-sim
# started with --tls-sigalgs SIGALGS (a CertificateRequest that offers one
# signature algorithm; the sim keeps its devices in memory, so it is not
# restarted between the two): the TPM signs it (SCHEME rsa_pkcs1 or rsa_pss with
# HASH; PSS salt = digest length, RFC 8446 4.2.3, checked by tpm/ with
# wolfCrypt, by wolfSSL after signing and by GnuTLS in the server), the
# DELETE is answered 200 and the local state is gone.
leave_sigalg() {
  wolfssl_env --tls-sigalgs "$1"
  join_device
  assert_rc 0 lj leave --config "$CASE/lj.conf" --log-level debug
  assert_contains "$OUT" "event=client_auth_signed scheme=$2 hash=$3 bytes=256"
  assert_contains "$OUT" "event=client_auth_connection tls=TLSv1.2 signs=1"
  assert_contains "$OUT" "device $DEVICE_ID deleted from the cloud"
  assert_contains "$OUT" "local join state removed"
  assert_not_contains "$OUT" "sign_refused"
  sim_has_device "$DEVICE_ID" && fail "device object $DEVICE_ID still in the simulator"
  assert_eq "$(deletes_answered 200)" 1 "DELETEs answered 200"
  [ -e "$CASE/state/device-cert.der" ] && fail "device certificate still there"
  [ -e "$CASE/state/journal.json" ] && fail "journal still there"
  assert_no_transient_handles
}

# The server takes rsa_pkcs1_sha384 only: the TPM signs the SHA-384 DigestInfo.
case_leave_pkcs1_sha384() { leave_sigalg pkcs1-sha384 rsa_pkcs1 sha384; }

# The server takes rsa_pss_rsae_sha384 only: TPM2_Sign RSAPSS-SHA384, salt 48.
case_leave_pss_sha384() { leave_sigalg pss-sha384 rsa_pss sha384; }

# rsa_pss_rsae_sha512 only: TPM2_Sign RSAPSS-SHA512, salt 64 (fits RSA-2048).
case_leave_pss_sha512() { leave_sigalg pss-sha512 rsa_pss sha512; }

# A device key of the earlier RSASSA-SHA256-only template against a server
# that takes rsa_pkcs1_sha384 only: tpm/ refuses the SHA-384 signature by
# name before the TPM is asked (its scheme would answer TPM_RC_SCHEME):
# device_key_outdated (exit 13), nothing removed.
case_leave_old_key_sha384_refused() {
  wolfssl_env --tls-sigalgs pkcs1-sha384
  LJ_TEST_DEVICE_KEY=rsassa join_device
  assert_rc 13 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" 'level=error mod=tpm rc=key_scheme event=sign_refused scheme=rsassa hash=sha384 reason="the device key was made for SHA-256 only (the template of earlier versions); sha384 needs a key of the current template, made by a new join"'
  assert_contains "$OUT" "(reason device_key_outdated, code 0x80280092)"
  assert_contains "$OUT" "enterpriseregistration.windows.net asks in the TLS handshake for a signature that key cannot make (RSA-PSS, or a hash other than SHA-256)"
  assert_contains "$OUT" "cannot make the signature the server asks for, so the device cannot prove itself to the cloud. Nothing was removed."
  nothing_removed
}

# The server takes rsa_pkcs1_sha1 only, which the device key does not sign
# (SHA-1; RFC 8446 4.2.3 keeps it for legacy certificates only): wolfSSL
# ends the handshake before any sign callback (INVALID_PARAMETER); the
# person reads the taxonomy row tls_signature_unsupported (exit 5), not
# internal 0x8000ffff nor "check the network cable"; nothing is removed.
case_leave_sha1_refused() {
  local want
  wolfssl_env --tls-sigalgs pkcs1-sha1
  join_device
  assert_rc 5 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" 'level=warn mod=tls event=sign_refused reason="the server'"'"'s CertificateRequest offers no signature algorithm the device key makes (rsa_pkcs1 or rsa_pss_rsae with sha256, sha384 or sha512)" wolfssl_error=-425'
  assert_contains "$OUT" 'level=error mod=http rc=sig_unsupported event=request_failed host=enterpriseregistration.windows.net:443 failure="the TLS client authentication could not be signed with the device key (sig_unsupported)" curl_code=35'
  want="linkjoin leave: The device could not prove its identity to Microsoft's service because the connection asked for a kind of signature its security key does not make, which usually means the network inspects encrypted traffic; give your IT admin the details below. (reason tls_signature_unsupported, code 0x80090331)
linkjoin leave: admin action: enterpriseregistration.windows.net asked the device for a TLS client signature algorithm its key does not make (it signs rsa_pkcs1 and rsa_pss_rsae with SHA-256, SHA-384 or SHA-512): exclude login.microsoftonline.com, enterpriseregistration.windows.net and enrollment.manage.microsoft.com from TLS inspection on the proxy or firewall, or let the server offer one of those algorithms
linkjoin leave: the server asks for a TLS client signature the device key does not make, so the device cannot prove itself to the cloud. Nothing was removed.
  \`linkjoin leave --local-only\` removes local state; the device object $DEVICE_ID then
  remains in the cloud for an administrator to delete."
  assert_eq "$(grep -v ' level=' <<<"$OUT")" "$want" "what leave tells the person"
  nothing_removed
}

# openssl_drs VERSION — in place of the stopped entra-sim on SIM_PORT, an
# OpenSSL TLS server (python3's ssl module, Debian's OpenSSL 3) with the
# sim's server certificate that requires a client certificate issued by
# the sim's DRS CA, offers OpenSSL's default signature algorithms (RSA-PSS
# first), speaks at most TLS VERSION ("1.2" or "1.3"), answers one DELETE
# with 200 and writes what it saw to $CASE/drs.seen.
openssl_drs() {
  python3 - "$SIM_PORT" "$CASE/sim" "$1" "$CASE/drs.seen" <<'PY' 2>"$CASE/drs.err" &
import http.server, ssl, sys
port, sim, version, seen = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sim + "/server.pem", sim + "/server.key")
ctx.load_verify_locations(sim + "/drs-ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
class H(http.server.BaseHTTPRequestHandler):
    def do_DELETE(self):
        cn = dict(x[0] for x in self.connection.getpeercert()["subject"])["commonName"]
        with open(seen, "w") as f:
            f.write("%s %s %s\n" % (self.connection.version(), cn, self.path))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.handle_request()
PY
  track_pid $!
  for _ in $(seq 100); do ss -ltn | grep -q "127.0.0.1:$SIM_PORT " && return 0; sleep 0.05; done
  fail "the OpenSSL server did not start: $(cat "$CASE/drs.err")"
}

# leave_openssl_server VERSION — join against entra-sim, then leave against
# openssl_drs: OpenSSL's TLS server checks the RSA-PSS CertificateVerify the
# TPM made (salt = digest length, RSA_PSS_SALTLEN_DIGEST in libssl).
leave_openssl_server() {
  wolfssl_env
  join_device
  sim_stop
  openssl_drs "$1"
  assert_rc 0 lj leave --config "$CASE/lj.conf" --log-level debug
  assert_contains "$OUT" "event=client_auth_signed scheme=rsa_pss hash=sha256 bytes=256"
  assert_contains "$OUT" "event=client_auth_connection tls=TLSv$1 signs=1"
  assert_contains "$OUT" "device $DEVICE_ID deleted from the cloud"
  assert_eq "$(cat "$CASE/drs.seen")" "TLSv$1 $DEVICE_ID /EnrollmentServer/device/$DEVICE_ID?api-version=1.0" \
    "what the OpenSSL server saw"
  assert_no_transient_handles
}

case_leave_pss_openssl_tls13() { leave_openssl_server 1.3; }
case_leave_pss_openssl_tls12() { leave_openssl_server 1.2; }

tcase links_no_other_tls_stack case_links_no_other_tls_stack
tcase tcti_not_dlopened case_tcti_not_dlopened
tcase join_and_leave_no_pss case_join_and_leave_no_pss
tcase leave_pss_tls13 case_leave_pss_tls13
tcase leave_pss_tls12 case_leave_pss_tls12
tcase leave_pss_openssl_tls13 case_leave_pss_openssl_tls13
tcase leave_pss_openssl_tls12 case_leave_pss_openssl_tls12
tcase leave_old_key_pss_refused case_leave_old_key_pss_refused
tcase leave_old_key_no_pss case_leave_old_key_no_pss
tcase leave_pkcs1_sha384 case_leave_pkcs1_sha384
tcase leave_pss_sha384 case_leave_pss_sha384
tcase leave_pss_sha512 case_leave_pss_sha512
tcase leave_old_key_sha384_refused case_leave_old_key_sha384_refused
tcase leave_sha1_refused case_leave_sha1_refused
