#!/usr/bin/env bash
# hw-sim/qemu/mkinitramfs.sh — build the initramfs of the simulated Link device.
#
# Contents: busybox-static as /bin/busybox, hw-sim/qemu/init.sh as /init, the
# kernel modules the device needs (virtio-pci, -net, -blk, -rng and what
# modules.dep says they need, with their load order in /etc/sim/modules.order),
# the given ELF binaries in /usr/bin with every shared library `ldd` resolves,
# plus, when one of them links Debian's libtss2-tctildr (tpm2-tools), the
# TCTI it dlopen()s (libtss2-tcti-device), which ldd cannot see: linkjoin's
# tpm2-tss is static with its TCTIs compiled in (tools/deps-tss.sh); the
# command script as /etc/sim/cmd.sh; and optionally
# the simulator CA and a linkjoin config.
#
# Usage: mkinitramfs.sh [options]
#   --kernel DIR     fetch-kernel.sh output dir (default build/qemu/kernel)
#   --out FILE       (default build/qemu/initramfs.cpio.gz)
#   --bin ELF        add a binary as /usr/bin/NAME (repeatable).  Symlinks to it
#                    in its own directory come along (tpm2 -> tpm2_getcap ...).
#                    Without any --bin: build/linkjoin when it exists.
#   --cmd FILE       the command /init runs (default hw-sim/qemu/cmd-default.sh)
#   --ca FILE        simulator CA     -> /etc/linkjoin/sim-ca.pem
#   --config FILE    agent config     -> /etc/linkjoin/linkjoin.conf
#   --file SRC:DEST  any other file (repeatable)
#   --modules "M..." module names (default "virtio_pci virtio_net virtio_blk virtio_rng")
#   --full-icu       keep the real libicudata (31 MB); default: when a binary
#                    pulls it in (linkjoin -> libxml2 -> libicuuc), replace it
#                    with the empty stub hw-sim/qemu/icudata-stub.c (see there)
#   --strip          strip --bin binaries (debug info) in the image
# Prints SIZE=bytes and OUT=path; writes OUT.manifest (one path a line).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/hw-sim/qemu
kdir=$top/build/qemu/kernel
out=$top/build/qemu/initramfs.cpio.gz
cmd=$here/cmd-default.sh
modules="virtio_pci virtio_net virtio_blk virtio_rng"
bins=()
files=()
full_icu=0 strip_bins=0
die() { echo "mkinitramfs: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
    --kernel) kdir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    --cmd) cmd=$2; shift 2 ;;
    --ca) files+=("$2:/etc/linkjoin/sim-ca.pem"); shift 2 ;;
    --config) files+=("$2:/etc/linkjoin/linkjoin.conf"); shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --modules) modules=$2; shift 2 ;;
    --full-icu) full_icu=1; shift ;;
    --strip) strip_bins=1; shift ;;
    *) die "unknown option $1 (see the comment at the top of $0)" ;;
    esac
done
if [ ${#bins[@]} -eq 0 ] && [ -x "$top/build/linkjoin" ]; then
    bins=("$top/build/linkjoin")
fi

[ -f "$kdir/.complete" ] || die "no kernel in $kdir (run hw-sim/qemu/fetch-kernel.sh)"
kver=$(cat "$kdir/kver")
kroot=$kdir/root
bb=/bin/busybox
# (no `cmd | grep -q` under pipefail: grep's early exit can fail the pipe)
t=$(ldd "$bb" 2>&1 || true)
grep -q 'not a dynamic' <<<"$t" || die "$bb is not busybox-static (install busybox-static)"
[ -f "$cmd" ] || die "no command script $cmd"

mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$(dirname "$out")/.initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
r=$work/root

# Debian's merged /usr: /lib, /lib64, /bin, /sbin are links into /usr, so paths
# that ldd prints (/lib/x86_64-linux-gnu/...) land in one place.
mkdir -p "$r"/usr/{bin,sbin,lib,lib64} "$r"/{dev,proc,sys,tmp,run,root,etc/sim,etc/linkjoin,var/lib/linkjoin}
ln -s usr/lib "$r/lib"
ln -s usr/lib64 "$r/lib64"
ln -s usr/bin "$r/bin"
ln -s usr/sbin "$r/sbin"
cp "$bb" "$r/usr/bin/busybox"
ln -s busybox "$r/usr/bin/sh"
install -m 755 "$here/init.sh" "$r/init"
install -m 755 "$cmd" "$r/etc/sim/cmd.sh"
if [ "$(id -u)" = 0 ]; then
    mknod -m 600 "$r/dev/console" c 5 1
    mknod -m 666 "$r/dev/null" c 1 3
fi
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
printf 'root:x:0:\n' >"$r/etc/group"
printf '127.0.0.1 localhost\n' >"$r/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$r/etc/nsswitch.conf"

# Modules: the closure of the wanted ones in modules.dep, dependencies first.
mdir=$kroot/lib/modules/$kver
[ -f "$mdir/modules.dep" ] || die "no modules.dep in $mdir (fetch-kernel.sh runs depmod)"
declare -A seen=()
order=()
add_mod() {
    local rel=$1 line deps d i
    [ -n "${seen[$rel]:-}" ] && return 0
    seen[$rel]=1
    line=$(grep -m1 "^$rel:" "$mdir/modules.dep") || die "module $rel not in modules.dep"
    read -r -a deps <<<"${line#*:}"
    # modules.dep lists a module's dependencies nearest first; load farthest first.
    for ((i = ${#deps[@]} - 1; i >= 0; i--)); do add_mod "${deps[$i]}"; done
    order+=("$rel")
}
for m in $modules; do
    pat=$(echo "$m" | sed 's/[-_]/[-_]/g')
    rel=$(grep -oE "^[^:]*/$pat\.ko(\.[a-z]+)?:" "$mdir/modules.dep" | awk 'NR == 1' | tr -d :) || true
    if [ -z "$rel" ]; then
        # Built into this kernel: nothing to load.
        grep -qE "/$pat\.ko" "$mdir/modules.builtin" 2>/dev/null || die "module $m neither modular nor built in"
        continue
    fi
    add_mod "$rel"
done
for rel in "${order[@]}"; do
    case $rel in *.ko) ;; *) die "compressed module $rel: busybox insmod needs plain .ko" ;; esac
    mkdir -p "$r/usr/lib/modules/$kver/$(dirname "$rel")"
    cp "$mdir/$rel" "$r/usr/lib/modules/$kver/$rel"
done
printf '%s\n' "${order[@]}" >"$r/etc/sim/modules.order"

# ELF binaries and their libraries.
copy_path() {   # copy_path HOSTPATH: same path inside the root, links resolved
    local src=$1 dst
    dst=$r$(realpath -m --no-symlinks "$src" | sed 's,^/lib64/,/usr/lib64/,; s,^/lib/,/usr/lib/,')
    [ -e "$dst" ] && return 0
    mkdir -p "$(dirname "$dst")"
    cp -L "$src" "$dst"
}
copy_libs() {   # copy_libs ELF: everything ldd resolves for it
    local elf=$1 out lib
    out=$(ldd "$elf" 2>&1) || { grep -q 'not a dynamic' <<<"$out" && return 0; die "ldd $elf: $out"; }
    if grep -q 'not found' <<<"$out"; then die "ldd $elf: $(grep 'not found' <<<"$out")"; fi
    while read -r lib; do
        [ -n "$lib" ] && copy_path "$lib"
    done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$out")
}
find_lib() {    # find_lib SONAME: its path per the host's loader cache
    ldconfig -p | awk -v n="$1" '$1 == n && /x86-64/ && !f {print $NF; f = 1}'
}
dlopen_libs=(libtss2-tcti-device.so.0)
for b in "${bins[@]}"; do
    [ -f "$b" ] || die "no such binary $b"
    name=$(basename "$b")
    cp -L "$b" "$r/usr/bin/$name"
    [ $strip_bins = 1 ] && { strip --strip-debug "$r/usr/bin/$name" || die "strip $b failed"; }
    copy_libs "$b"
    d=$(dirname "$b")
    for l in "$d"/*; do
        [ -L "$l" ] && [ "$(readlink "$l")" = "$name" ] && ln -sf "$name" "$r/usr/bin/$(basename "$l")"
    done
done
if [ -n "$(find "$r" -name 'libtss2-tctildr.so.0' | head -1)" ]; then
    for so in "${dlopen_libs[@]}"; do
        p=$(find_lib "$so")
        [ -n "$p" ] || die "$so not installed (Debian package ${so%.so.0}0, e.g. libtss2-tcti-device0)"
        copy_path "$p"
        copy_libs "$p"
    done
fi

# libicudata.so.NN -> the stub (same soname and symbol, no data).
icu=
[ $full_icu = 0 ] && icu=$(find "$r" -name 'libicudata.so.[0-9]*' -type f | awk 'NR == 1')
if [ -n "$icu" ]; then
    major=${icu##*libicudata.so.}
    major=${major%%.*}
    [[ $major =~ ^[0-9]+$ ]] || die "cannot tell the ICU version of $icu"
    ${CC:-cc} -shared -fPIC -O2 -nostdlib -DLJ_ICU_MAJOR="$major" \
        -Wl,-soname,"libicudata.so.$major" -o "$work/icustub.so" "$here/icudata-stub.c" ||
        die "cannot build the ICU data stub (cc; or use --full-icu)"
    cp "$work/icustub.so" "$icu"
    echo "ICU_STUB=$icu" | sed "s,$r,,"
fi

for f in ${files[@]+"${files[@]}"}; do
    src=${f%%:*}
    dst=${f#*:}
    [ -f "$src" ] || die "no such file $src"
    mkdir -p "$r$(dirname "$dst")"
    cp -L "$src" "$r$dst"
done

(cd "$r" && find . | LC_ALL=C sort | sed 's,^\./,/,; /^\.$/d') >"$work/manifest"
(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 -n >"$work/out.gz"
mv "$work/out.gz" "$out"
mv "$work/manifest" "$out.manifest"
echo "OUT=$out"
echo "SIZE=$(stat -c %s "$out")"
echo "UNCOMPRESSED=$(du -sb "$r" | cut -f1)"
