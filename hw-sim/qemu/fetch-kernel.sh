#!/usr/bin/env bash
# hw-sim/qemu/fetch-kernel.sh — get Debian's cloud kernel for the simulated device.
#
# Downloads the package that linux-image-cloud-amd64 currently depends on with
# `apt-get download` (never installs it into the host), unpacks it with
# `dpkg -x` and runs `depmod -b` on the unpacked tree (the .deb ships no
# modules.dep).  The result is cached: a second call only prints the paths.
#
# Usage: fetch-kernel.sh [OUTDIR]        (default: build/qemu/kernel)
# Env:   LJ_KERNEL_PKG  exact package to use instead of resolving the
#                       linux-image-cloud-amd64 dependency
#        LJ_KERNEL_DEB  a local .deb to unpack instead of downloading
# Output (stdout, one per line):  KVER=...  VMLINUZ=...  ROOT=...  PKG=...
# Layout of OUTDIR: root/ (dpkg -x tree), vmlinuz -> root/boot/vmlinuz-KVER,
#                   kver, pkg (name=version), .complete
# Exit: 0 ok; 77 the kernel cannot be had here (reason on stderr; tests skip);
#       1 anything else.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build/qemu/kernel}
unavailable() { echo "fetch-kernel: kernel unavailable: $*" >&2; exit 77; }

report() {
    echo "KVER=$(cat "$out/kver")"
    echo "VMLINUZ=$out/vmlinuz"
    echo "ROOT=$out/root"
    echo "PKG=$(cat "$out/pkg")"
}

cached() { [ -f "$out/.complete" ] && [ -f "$out/vmlinuz" ] && [ -z "${LJ_KERNEL_PKG:-}${LJ_KERNEL_DEB:-}" ]; }
if cached; then
    report
    exit 0
fi

for t in dpkg depmod apt-get; do
    command -v "$t" >/dev/null 2>&1 || unavailable "'$t' is not installed"
done

mkdir -p "$out"
# One fetch at a time per cache dir (make test and make sim-device may race).
exec 9>"$out/.lock"
flock 9
if cached; then
    report
    exit 0
fi
dl=$(mktemp -d "$out/.dl.XXXXXX")
trap 'rm -rf "$dl"' EXIT

deb=${LJ_KERNEL_DEB:-}
if [ -z "$deb" ]; then
    pkg=${LJ_KERNEL_PKG:-}
    if [ -z "$pkg" ]; then
        # The image package name carries the kernel ABI (6.1.0-56 today), so it
        # is resolved from the meta package at run time.
        pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
              sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | awk 'NR == 1' || true)
        [ -n "$pkg" ] || unavailable "apt-cache knows no linux-image-cloud-amd64 dependency (run 'apt-get update'?)"
    fi
    # A private download dir owned by root: tell apt not to drop to _apt, which
    # could not write here.
    if ! (cd "$dl" && apt-get download -q -o APT::Sandbox::User=root "$pkg") >"$dl/apt.log" 2>&1; then
        unavailable "'apt-get download $pkg' failed: $(tail -n 2 "$dl/apt.log" | tr '\n' ' ')"
    fi
    deb=$(ls "$dl"/*.deb 2>/dev/null | awk 'NR == 1' || true)
    [ -n "$deb" ] || unavailable "apt-get download $pkg produced no .deb"
fi
[ -f "$deb" ] || unavailable "no such .deb: $deb"

name=$(dpkg-deb -f "$deb" Package)
ver=$(dpkg-deb -f "$deb" Version)
rm -rf "$out/root" "$out/.complete"
dpkg -x "$deb" "$out/root"
vmlinuz=$(ls "$out"/root/boot/vmlinuz-* 2>/dev/null | awk 'NR == 1' || true)
[ -n "$vmlinuz" ] || unavailable "$name has no /boot/vmlinuz-*"
kver=${vmlinuz##*/vmlinuz-}
[ -d "$out/root/lib/modules/$kver" ] || unavailable "$name has no modules for $kver"
depmod -b "$out/root" "$kver"
echo "$kver" >"$out/kver"
echo "$name=$ver" >"$out/pkg"
ln -sfn "root/boot/vmlinuz-$kver" "$out/vmlinuz"
touch "$out/.complete"
report
