#!/usr/bin/env bash
# hw-sim/swtpm-manufacture.sh — give a simulated TPM a manufacturing history.
#
#   hw-sim/swtpm-manufacture.sh WORKDIR [--ca-dir DIR] [--no-ek-cert]
#
# Creates WORKDIR/tpmstate (swtpm TPM 2.0 state) with persistent endorsement
# keys (RSA 0x81010001, ECC 0x81010016) and, unless --no-ek-cert, EK
# certificates in NV (swtpm 0.7: RSA-2048 at 0x01c00002, ECC P-384 at
# 0x01c00016) plus a platform certificate (0x01c08000), signed by a local
# "manufacturer" CA made by swtpm_localca, NV write-locked.  Every config file lives in
# WORKDIR (the Debian default /etc/swtpm_setup.conf would write into
# /var/lib/swtpm-localca).  The CA lives in --ca-dir (default
# WORKDIR/localca); several TPMs can share one CA by passing the same dir.
# Prints the path of the CA bundle (intermediate + root, PEM) to pass to
# `linkjoin factory-test --ek-ca`.  Start the TPM afterwards with
# `swtpm socket --tpmstate dir=WORKDIR/tpmstate ...` (tests: swtpm_start).
set -eu

usage() { echo "usage: $0 WORKDIR [--ca-dir DIR] [--no-ek-cert]" >&2; exit 2; }
[ $# -ge 1 ] || usage
W=$1; shift
CA=
EKCERT=1
while [ $# -gt 0 ]; do
  case $1 in
    --ca-dir) [ $# -ge 2 ] || usage; CA=$2; shift 2 ;;
    --no-ek-cert) EKCERT=0; shift ;;
    *) usage ;;
  esac
done
mkdir -p "$W"
W=$(cd "$W" && pwd)
CA=${CA:-$W/localca}
mkdir -p "$CA" "$W/tpmstate"
CA=$(cd "$CA" && pwd)

cat >"$W/swtpm-localca.conf" <<CONF
statedir = $CA
signingkey = $CA/signkey.pem
issuercert = $CA/issuercert.pem
certserial = $CA/certserial
CONF
cat >"$W/swtpm-localca.options" <<CONF
--platform-manufacturer linkjoin-sim
--platform-version 2.1
--platform-model linkjoin-sim-device
CONF
cat >"$W/swtpm_setup.conf" <<CONF
create_certs_tool = /usr/bin/swtpm_localca
create_certs_tool_config = $W/swtpm-localca.conf
create_certs_tool_options = $W/swtpm-localca.options
active_pcr_banks = sha256
CONF

args=(--tpm2 --tpmstate "$W/tpmstate" --config "$W/swtpm_setup.conf" --overwrite
      --logfile "$W/swtpm_setup.log")
if [ "$EKCERT" = 1 ]; then
  args+=(--create-ek-cert --create-platform-cert --lock-nvram)
else
  args+=(--createek)
fi
# swtpm_localca takes a lock file in its statedir; parallel runs sharing a
# CA are serialized by it.
swtpm_setup "${args[@]}" >/dev/null 2>>"$W/swtpm_setup.log" || {
  echo "swtpm-manufacture: swtpm_setup failed (see $W/swtpm_setup.log)" >&2
  tail -n 20 "$W/swtpm_setup.log" >&2
  exit 1
}
if [ "$EKCERT" = 1 ]; then
  cat "$CA/issuercert.pem" "$CA/swtpm-localca-rootca-cert.pem" >"$W/ek-ca.pem" 2>/dev/null ||
    cp "$CA/issuercert.pem" "$W/ek-ca.pem"
  echo "$W/ek-ca.pem"
fi
