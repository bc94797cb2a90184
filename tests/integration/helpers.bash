# Shared set-up for husk's integration tests: a fresh bundle over the busybox rootfs and a
bats_require_minimum_version 1.5.0
# private state root per test; teardown force-deletes whatever a test left.
HUSK_BUILD=${HUSK_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
HUSK=$HUSK_BUILD/husk
TEST_ROOTFS=${TEST_ROOTFS:-$HUSK_BUILD/test-rootfs}

setup_bundle() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hk.XXXXXX")
	BUNDLE=$TEST_DIR/bundle
	STATE=$TEST_DIR/state
	mkdir -p "$BUNDLE"
	cp -a "$TEST_ROOTFS" "$BUNDLE/rootfs"
	"$HUSK" oci spec --bundle "$BUNDLE"
	# tests look at the result from inside: let them write to /tmp
	update_config '.root.readonly = false'
}

teardown_bundle() {
	local id
	if [ -d "$STATE" ]; then
		for id in $(ls "$STATE"); do
			"$HUSK" oci --root "$STATE" delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	# what a peer runtime (runc_peer, crun_peer) left under its private root
	if [ -d "$TEST_DIR/runc-root" ]; then
		for id in $(ls "$TEST_DIR/runc-root"); do
			runc_peer delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	if [ -d "$TEST_DIR/crun-root" ]; then
		for id in $(ls "$TEST_DIR/crun-root"); do
			crun_peer delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	rm -rf "$TEST_DIR"
}

# Debian's runc and crun, to show a config is one they run too; each with a private --root in
# the test's directory, which teardown empties
runc_peer() {
	runc --root "$TEST_DIR/runc-root" "$@"
}

# crun 1.8 refuses a hybrid host whose cgroup2 hierarchy has a controller ("cgroups in hybrid
# mode not supported"): there it runs in a private mount namespace without that hierarchy, so
# it sees the v1 controllers only (nothing changes on the host)
crun_peer() {
	if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
	   grep -q . /sys/fs/cgroup/unified/cgroup.controllers; then
		unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh \
			crun --root "$TEST_DIR/crun-root" "$@"
	else
		crun --root "$TEST_DIR/crun-root" "$@"
	fi
}

setup() { setup_bundle; }
teardown() { teardown_bundle; }

# jq filter applied to config.json in place
update_config() {
	local tmp=$BUNDLE/config.json.tmp
	jq "$@" "$BUNDLE/config.json" > "$tmp" && mv "$tmp" "$BUNDLE/config.json"
}

# the command the container runs, as sh -c
set_cmd() {
	update_config --arg c "$1" '.process.args = ["sh", "-c", $c]'
}

# from the bundle directory, as runc users do (--bundle defaults to it)
husk() {
	(cd "$BUNDLE" && "$HUSK" oci --root "$STATE" "$@")
}

# run husk and keep stderr apart: $output is stdout, $stderr the error text
run_husk() {
	run --separate-stderr husk "$@"
}

# the container's own cgroup dir in a v1 hierarchy (or the v2 one), from the state file
container_cgroup_dirs() {
	jq -r '.cgroupDirs[]' "$STATE/$1/state.json"
}

wait_stopped() {
	local i
	for i in $(seq 100); do
		husk state "$1" | grep -q '"stopped"' && return 0
		sleep 0.05
	done
	return 1
}

# fail with the output shown
fail() {
	echo "$@" >&2
	return 1
}
