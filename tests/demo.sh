#!/bin/sh
# demo.sh BUILD: run a container over the busybox rootfs in BUILD/demo and show what it sees;
# then the engine: a busybox image made from the host's busybox, run like docker run.
set -eu
build=$(cd "$1" && pwd)
bundle=$build/demo
rm -f "$bundle/config.json"
"$build/husk" oci spec --bundle "$bundle"
# the default config, with a command that looks around
jq '.hostname = "husk-demo" | .process.args = ["sh", "-c",
  "echo \"hostname: $(hostname)\"; echo; echo \"ps (this shell is PID 1):\"; ps; echo; echo \"id: $(id)\"; echo; echo mounts:; cat /proc/self/mounts"]' \
  "$bundle/config.json" > "$bundle/config.json.tmp" && mv "$bundle/config.json.tmp" "$bundle/config.json"
echo "+ husk oci run --bundle $bundle demo"
"$build/husk" oci --root "$build/demo-state" run --bundle "$bundle" "demo-$$"
echo
echo "+ husk image bootstrap busybox && husk run --rm busybox ..."
"$build/husk" image bootstrap busybox >/dev/null
"$build/husk" images
# in a network namespace of its own, standing in for the host: the bridge, its rules and the
# container's veth are made there and go with it
echo "+ unshare -n husk run --rm busybox ...   (the default bridge network, in a throwaway namespace)"
exec unshare -n "$build/husk" run --rm busybox sh -c 'echo; echo "in an overlay of the image: $(grep " / / " /proc/self/mountinfo | sed "s|.* - ||" | cut -d" " -f1)"; cat /etc/passwd | head -1; echo; ip -o -4 addr show eth0; ip route | head -1' 
