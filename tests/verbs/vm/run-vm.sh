#!/usr/bin/env bash
# Boots Debian's kernel under qemu (TCG: this machine's KVM cannot run it) with this machine's root
# file system shared read-only over 9p beneath a tmpfs overlay, so the build tree appears at the same
# path inside, and runs guest.sh there, where Soft-RoCE (rdma_rxe) gives two RDMA devices.
# Usage: run-vm.sh FABTWIN_BINARY [SECONDS] [SECTIONS]
#   SECTIONS: comma-separated subset of correctness,failures,performance (default: all of them).
# Exit status: the guest script's, or 125 if the VM failed.
set -euo pipefail

fabtwin=$(readlink -f "$1")
limit=${2:-280}
sections=${3:-correctness,failures,performance}
here=$(cd "$(dirname "$0")" && pwd)

kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n1 || true)
busybox=$(command -v busybox || true)
qemu=$(command -v qemu-system-x86_64 || true)
if [[ -z $kernel || -z $busybox || -z $qemu ]]; then
  echo "run-vm: needs qemu-system-x86, linux-image-amd64 and busybox-static: run scripts/install-deps.sh" >&2
  exit 125
fi
kver=${kernel#/boot/vmlinuz-}
moddir=/lib/modules/$kver
if [[ ! -f $moddir/kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko ]]; then
  echo "run-vm: $moddir has no rdma_rxe.ko (Soft-RoCE): the kernel package is not Debian's amd64 one" >&2
  exit 125
fi

work=$(mktemp -d /tmp/fabtwin-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/initramfs"/{bin,mnt,proc,sys,dev,lower,upper,newroot,modules} "$work/results"

# Only what it takes to reach the shared root; everything else loads from the root's /lib/modules.
initramfs_modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  netfs fscache 9pnet 9pnet_virtio 9p overlay)
for m in "${initramfs_modules[@]}"; do
  path=$(find "$moddir/kernel" -name "$m.ko*" | head -n1)
  if [[ -z $path ]]; then
    # Built into this kernel rather than a module: nothing to load.
    continue
  fi
  case $path in
    *.ko.xz) xz -dc "$path" >"$work/initramfs/modules/$m.ko" ;;
    *.ko.zst) zstd -dcq "$path" >"$work/initramfs/modules/$m.ko" ;;
    *) cp "$path" "$work/initramfs/modules/$m.ko" ;;
  esac
  echo "$m" >>"$work/initramfs/modules/order"
done
cp "$busybox" "$work/initramfs/bin/busybox"
cp "$here/init.sh" "$work/initramfs/init"
chmod +x "$work/initramfs/init"
(cd "$work/initramfs" && find . | cpio -o -H newc --quiet | gzip -1 >"$work/initramfs.gz")

echo "run-vm: booting $kver under qemu TCG (2 vCPUs, 1 GiB); guest log follows"
start=$(date +%s)
set +e
timeout --kill-after=10 "$limit" "$qemu" \
  -accel tcg,thread=multi,tb-size=256 -cpu max -smp 2 -m 1024 \
  -nographic -no-reboot -nic none -serial mon:stdio -monitor none \
  -kernel "$kernel" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 fabtwin_guest=$here/guest.sh fabtwin_bin=$fabtwin fabtwin_sections=$sections" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$work/results,mount_tag=results,security_model=none" </dev/null
qemu_rc=$?
set -e
echo "run-vm: qemu exited with $qemu_rc after $(($(date +%s) - start)) s"
if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
  echo "run-vm: the VM did not finish within $limit s" >&2
  exit 125
fi
if [[ ! -f $work/results/rc ]]; then
  echo "run-vm: the guest wrote no exit status (it failed before or during the tests; see the log above)" >&2
  exit 125
fi
exit "$(cat "$work/results/rc")"
