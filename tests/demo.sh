#!/bin/sh
# demo.sh BUILD: run a container over the busybox rootfs in BUILD/demo and show what it sees.
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
exec "$build/husk" oci --root "$build/demo-state" run --bundle "$bundle" "demo-$$"
