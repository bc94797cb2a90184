# Shared set-up for husk's integration tests: a fresh bundle over the busybox rootfs and a
bats_require_minimum_version 1.5.0
# private state root per test; teardown force-deletes whatever a test left.
HUSK_BUILD=${HUSK_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
HUSK=$HUSK_BUILD/husk
TEST_ROOTFS=${TEST_ROOTFS:-$HUSK_BUILD/test-rootfs}

# "mountpoint own-path" for each v1 hierarchy this process is in (none on a cgroup v2 host)
v1_hierarchies() {
	[ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || return 0
	awk 'NR == FNR { if ($1 != 0) own[$2] = $3; next }
		{ for (i = 7; $i != "-"; i++); if ($(i + 1) != "cgroup") next
		  n = split($(i + 3), o, ","); c = ""
		  for (j = 1; j <= n; j++) if (o[j] !~ /^(rw|ro|relatime|clone_children|noprefix|xattr)$/) c = c (c == "" ? "" : ",") o[j]
		  if (c in own) print $5, own[c] }' FS=: /proc/self/cgroup FS=' ' /proc/self/mountinfo
}

# The test's shell moves into cgroups of its own (under the ones it was in), so that its
# containers' default cgroups, <own>/husk/<id>, are its own too: another copy of the suite, or
# anyone's husk, running a c1 at the same time uses another directory. Only on v1: in a v2
# guest (the suite alone) a cgroup holding the shell could not pass controllers on.
enter_test_cgroup() {
	local mp own from
	TEST_CGROUP=hk-test-$BASHPID-$RANDOM
	TEST_CGROUP_FROM=()
	while read -r mp own; do
		from=$mp${own%/}
		mkdir "$from/$TEST_CGROUP" || return 1
		TEST_CGROUP_FROM+=("$from")
		# v1 cpuset: no task can join a cpuset without cpus and memory nodes
		if [ -e "$from/cpuset.cpus" ]; then
			cat "$from/cpuset.cpus" > "$from/$TEST_CGROUP/cpuset.cpus"
			cat "$from/cpuset.mems" > "$from/$TEST_CGROUP/cpuset.mems"
		fi
		# "0": this shell itself (a builtin echo, not a child)
		echo 0 > "$from/$TEST_CGROUP/tasks"
	done < <(v1_hierarchies)
}

# back to where the test started; what it left running in its cgroup (a server, a namespace
# holder) is its own and goes; a cgroup left under it (a container's) fails the test
leave_test_cgroup() {
	local from i pids left=
	[ -n "${TEST_CGROUP:-}" ] || return 0
	for from in "${TEST_CGROUP_FROM[@]}"; do echo 0 > "$from/tasks"; done
	for from in "${TEST_CGROUP_FROM[@]}"; do
		for i in $(seq 100); do
			pids=$(cat "$from/$TEST_CGROUP/cgroup.procs")
			[ -z "$pids" ] && break
			kill -9 $pids 2>/dev/null
			sleep 0.02
		done
		# (an exited task leaves a v1 cgroup a moment after it is reaped)
		for i in $(seq 50); do rmdir "$from/$TEST_CGROUP" 2>/dev/null && break; sleep 0.02; done
		[ ! -d "$from/$TEST_CGROUP" ] || left="$left $(find "$from/$TEST_CGROUP" -mindepth 1 -type d)"
	done
	TEST_CGROUP=
	[ -z "${left// }" ] || fail "cgroups left:$left"
}

setup_bundle() {
	enter_test_cgroup
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
	leave_test_cgroup
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

# create ID with --console-socket (husk-probe receives the pty master and prints what comes
# through it), start it, wait until it stops; what the terminal showed (no \r) in $console_out
run_with_console() {
	local receiver i
	"$HUSK_BUILD/husk-probe" console-receiver "$TEST_DIR/console.sock" > "$TEST_DIR/console.out" &
	receiver=$!
	for i in $(seq 100); do [ -S "$TEST_DIR/console.sock" ] && break; sleep 0.02; done
	husk create --console-socket "$TEST_DIR/console.sock" "$1"
	husk start "$1"
	wait_stopped "$1"
	wait $receiver || true
	console_out=$(tr -d '\r' < "$TEST_DIR/console.out")
}

wait_stopped() {
	local i
	for i in $(seq 100); do
		husk state "$1" | grep -q '"stopped"' && return 0
		sleep 0.05
	done
	return 1
}

# until a condition holds (a command line, evaluated each time), at most 10 s; then fails
wait_for() {
	local i
	for i in $(seq 200); do
		eval "$1" && return 0
		sleep 0.05
	done
	fail "not within 10 s: $1"
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
