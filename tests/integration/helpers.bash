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
	peer_cleanup
	if [ -d "$STATE" ]; then
		for id in $(ls "$STATE"); do
			"$HUSK" oci --root "$STATE" delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	rm -rf "$TEST_DIR"
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

# The same bundle through a peer runtime, to show it accepts the config: `peer runc ARGS` or
# `peer crun ARGS`, with a private --root under $TEST_DIR (removed after). crun 1.8.1 refuses
# this hybrid host while the empty cgroup2 mount is there: it runs in a private mount namespace
# with that mount hidden (which that namespace only sees). Skips when the peer is missing.
peer() {
	local rt=$1; shift
	command -v "$rt" >/dev/null || skip "$rt is not installed"
	local root=$TEST_DIR/peer-$rt
	if [ "$rt" = crun ]; then
		# crun 1.8.1 knows runtime-spec versions up to 1.0.x; husk takes any 1.x
		update_config '.ociVersion = "1.0.2"'
		(cd "$BUNDLE" && unshare --mount --propagation private sh -c \
			'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root "$0" "$@"' "$root" "$@")
	else
		(cd "$BUNDLE" && runc --root "$root" "$@")
	fi
}

# Delete what peer made (its containers, its root).
peer_cleanup() {
	local rt id
	for rt in runc crun; do
		[ -d "$TEST_DIR/peer-$rt" ] || continue
		for id in $(peer "$rt" list -q 2>/dev/null); do
			peer "$rt" delete --force "$id" >/dev/null 2>&1 || true
		done
		rm -rf "$TEST_DIR/peer-$rt"
	done
}
