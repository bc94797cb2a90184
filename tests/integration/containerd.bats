#!/usr/bin/env bats
# containerd with husk as the binary of its runc shim (ctr run --runc-binary build/husk-oci),
# through ../shared/peers: a private containerd, started and used inside one ns.sh shell.
load helpers

PEERS=$BATS_TEST_DIRNAME/../../../shared/peers

setup() {
	[ -x "$PEERS/containerd.sh" ] || skip "../shared/peers/containerd.sh is not beside this checkout"
	for tool in containerd ctr podman; do
		command -v $tool >/dev/null || apt-get install -y -qq $tool >/dev/null 2>&1 || true
		command -v $tool >/dev/null || skip "$tool could not be installed"
	done
	WORK=$(mktemp -d /tmp/containerd-test.XXXXXX)
	# the image: podman's busybox, saved as an OCI archive for ctr to import
	"$PEERS/podman-import.sh" "$WORK/pod" >/dev/null 2>&1
	"$PEERS/podman.sh" "$WORK/pod" -- save --format oci-archive -o "$WORK/bb.tar" localhost/busybox >/dev/null 2>&1
	[ -s "$WORK/bb.tar" ] || skip "podman could not export the busybox image"
}

teardown() {
	[ -n "${WORK:-}" ] || return 0
	"$PEERS/podman.sh" "$WORK/pod" -- rm -af >/dev/null 2>&1 || true
	rm -rf "$WORK"
	for d in /sys/fs/cgroup/*/libpod_parent; do
		[ -d "$d" ] || continue
		for s in "$d"/*/; do [ -d "$s" ] && rmdir "$s" 2>/dev/null; done
		rmdir "$d" 2>/dev/null
	done
	true
}

@test "ctr run --rm, run -d + task exec, pause/resume, metrics, kill: containerd drives husk" {
	cat > "$WORK/steps.sh" <<STEPS
C="$PEERS/containerd.sh $WORK/cd"
R="--runc-binary $HUSK_BUILD/husk-oci"
# ctr's namespace names the containers' cgroups (/NAMESPACE/ID): one of this run's own
export CONTAINERD_NAMESPACE=hk-test-$$
\$C start || exit 1
\$C ctr image import --base-name localhost/busybox $WORK/bb.tar >/dev/null
\$C ctr run --rm \$R localhost/busybox:latest t1 echo hello-from-ctr
echo "run-rc=\$?"
\$C ctr run --rm \$R localhost/busybox:latest t3 sh -c 'exit 5'
echo "exit-rc=\$?"
\$C ctr run -d \$R localhost/busybox:latest t2 sleep 100
\$C ctr task exec --exec-id e1 t2 sh -c 'echo exec-ok; cat /proc/1/cmdline | tr "\\\\0" " "; echo'
\$C ctr task pause t2 && \$C ctr task ls | grep t2
\$C ctr task resume t2 && \$C ctr task ls | grep t2
echo "metrics-usage-lines=\$(\$C ctr task metrics t2 | grep -c usage)"
\$C ctr task kill -s KILL t2
for i in \$(seq 100); do \$C ctr task ls | grep -q 't2.*STOPPED' && break; sleep 0.1; done
\$C ctr task ls | grep t2
\$C ctr task rm t2 >/dev/null 2>&1
\$C ctr container rm t2
\$C stop
STEPS
	run timeout 120 "$PEERS/ns.sh" sh "$WORK/steps.sh"
	[[ "$output" == *hello-from-ctr* ]]
	[[ "$output" == *"run-rc=0"* ]]
	[[ "$output" == *"exit-rc=5"* ]]
	[[ "$output" == *exec-ok*"sleep 100"* ]] || fail "$output"
	[[ "$output" == *"metrics-usage-lines="[1-9]* ]] || fail "$output"
	[[ "$output" == *PAUSED* ]]
	[[ "$output" == *RUNNING* ]]
	[[ "$output" == *STOPPED* ]]
}
