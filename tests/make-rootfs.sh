#!/bin/sh
# make-rootfs.sh DIR: a busybox root filesystem in DIR, from Debian's busybox-static.
set -eu
dir=$1
bb=/bin/busybox
if ! [ -x "$bb" ] || ! "$bb" --list >/dev/null 2>&1 || ldd "$bb" >/dev/null 2>&1; then
	echo "make-rootfs.sh: $bb is not Debian's static busybox (make deps installs busybox-static)" >&2
	exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp root home var/www
chmod 1777 tmp
cp "$bb" bin/busybox
for applet in $(bin/busybox --list); do
	[ "$applet" = busybox ] || [ -e "bin/$applet" ] || ln -s busybox "bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\nuser:x:1000:1000:user:/home:/bin/sh\n' > etc/passwd
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\nuser:x:1000:\n' > etc/group
: > etc/hosts
: > etc/resolv.conf
