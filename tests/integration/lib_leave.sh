# tests/integration/lib_leave.sh — helpers for leave/factory-reset tests
# (source after lib.sh).
#
#   leave_env            entra-sim (demo tenant) + swtpm for this case, and
#                        $CASE/lj.conf pointing the agent at them
#   join_device [DIR]    join the device whose state is DIR (default
#                        $CASE/state): the agent's own TPM keys (`linkjoin
#                        csr`), the join POSTed with the sim helpers, and the
#                        journal, device certificate and joined marker
#                        written in agent/journal.h's format.  Sets DEVICE_ID.
#   sim_has_device ID    the simulator holds device object ID
LJ_TENANT_DEMO=${LJ_TENANT_DEMO:-$LJ_TOP/hw-sim/tenants/demo.json}

leave_env() {
  [ -x "$ENTRASIM" ] || fail "entra-sim not built ($ENTRASIM)"
  sim_start "$LJ_TENANT_DEMO"
  swtpm_start "$CASE/tpm"
  leave_conf "$CASE/lj.conf"
}

# leave_conf FILE [LINE...] — agent configuration for the simulator.
leave_conf() {
  local f=$1 h l
  shift
  {
    echo "tenant = contoso.example"
    for h in login.microsoftonline.com enterpriseregistration.windows.net enrollment.manage.microsoft.com; do
      echo "connect_to = $h:443:127.0.0.1:$SIM_PORT"
    done
    echo "ca_file = $SIM_CA"
    echo "tcti = $TCTI"
    echo "state_dir = $CASE/state"
    echo "log_level = ${LEAVE_LOG_LEVEL:-info}"
    echo "connect_timeout = 5"
    for l in "$@"; do echo "$l"; done
  } >"$f"
}

join_device() {
  local dir=${1:-$CASE/state} csr tk token tid fp
  csr=$(lj csr --state-dir "$dir" --tcti "$TCTI" 2>/dev/null | openssl req -outform DER 2>/dev/null | base64 -w0)
  [ -n "$csr" ] || fail "linkjoin csr failed"
  tk=$(lj csr --state-dir "$dir" --tcti "$TCTI" --transport-key-blob 2>/dev/null)
  [ -n "$tk" ] || fail "linkjoin csr --transport-key-blob failed"
  jq -n --arg csr "$csr" --arg tk "$tk" '{
    CertificateRequest: {Type: "pkcs10", Data: $csr}, TransportKey: $tk,
    TargetDomain: "contoso.example", DeviceType: "Windows", OSVersion: "10.0.26100.1",
    DeviceDisplayName: "LINK-TEST", JoinType: 0}' >"$CASE/join.json"
  token=$(sim_token alice@contoso.example true)
  sim_join "$token" "$CASE/join.json"
  [ "$HTTP_STATUS" = 200 ] || fail "join: HTTP $HTTP_STATUS $BODY"
  jq -r .Certificate.RawBody <<<"$BODY" | base64 -d >"$dir/device-cert.der"
  chmod 600 "$dir/device-cert.der"
  DEVICE_ID=$(openssl x509 -inform DER -in "$dir/device-cert.der" -noout -subject -nameopt RFC2253 |
    sed -n 's/^subject=CN=//p')
  [ -n "$DEVICE_ID" ] || fail "no device id in the certificate"
  tid=$(jwt_claims "$token" | jq -r .tid)
  fp=$(openssl x509 -inform DER -in "$dir/device-cert.der" -noout -pubkey |
    openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
  jq -n --arg d "$DEVICE_ID" --arg t "$tid" --arg fp "$fp" --argjson now "$(date +%s)" '{
    version: 1, state: "joined", device_id: $d, tenant_id: $t, tenant_name: "contoso.example",
    upn: "alice@contoso.example", join_fingerprint: $fp, join_attempts: 1,
    times: {new: $now, keys_ready: $now, signed_in: $now, join_sent: $now, joined: $now, updated: $now}}' \
    >"$dir/journal.json"
  chmod 600 "$dir/journal.json"
  : >"$dir/joined"
  export DEVICE_ID
}

sim_has_device() {
  sim_ctl GET "/control/devices/$1" >/dev/null 2>&1
}
