#!/bin/busybox sh
# PID 1 of the test VM: load the modules that reach the host's root over 9p, lay a tmpfs overlay on
# it so the guest may write anywhere, and hand over to the guest script named on the command line.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod /modules/$m.ko || echo "init: insmod $m failed"; done
opts=trans=virtio,version=9p2000.L,msize=512000,cache=loose
mount -t 9p -o ro,$opts hostroot /lower || { echo "init: cannot mount the host root over 9p"; poweroff -f; }
mount -t tmpfs -o size=256m tmpfs /upper
mkdir -p /upper/data /upper/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work /newroot ||
  { echo "init: overlay mount failed"; poweroff -f; }
mkdir -p /newroot/fabtwin-results
mount -t 9p -o $opts results /newroot/fabtwin-results || { echo "init: cannot mount the results share"; poweroff -f; }
guest=$(sed -n 's/.*fabtwin_guest=\([^ ]*\).*/\1/p' /proc/cmdline)
bin=$(sed -n 's/.*fabtwin_bin=\([^ ]*\).*/\1/p' /proc/cmdline)
sections=$(sed -n 's/.*fabtwin_sections=\([^ ]*\).*/\1/p' /proc/cmdline)
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/bash "$guest" "$bin" /fabtwin-results "$sections"
