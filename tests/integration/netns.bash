# Shared by network.bats and network_flags.bats: every test plays on two network namespaces of
# its own: "host" (where husk runs, its bridges and rules are made) and "inet", the outside world,
# joined to host by a veth pair (192.0.2.1 host, 192.0.2.2 inet) and serving HTTP on
# 198.51.100.10, an address inet alone has. inet has no route to any container subnet, so an
# answer from it proves NAT. No packet leaves these namespaces. setup, teardown, inhost/ininet,
# hk, run_bg, stop_bg, address_of, eventually, net_clean.

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hk.XXXXXX")
	export HUSK_STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
	HOSTNS=hk-host-$$-$BATS_TEST_NUMBER
	INETNS=hk-inet-$$-$BATS_TEST_NUMBER
	"$HUSK" image bootstrap busybox >/dev/null
	ip netns add "$HOSTNS"
	ip netns add "$INETNS"
	inhost ip link set lo up
	ininet ip link set lo up
	inhost ip link add up0 type veth peer name up1 netns "$INETNS"
	inhost ip addr add 192.0.2.1/24 dev up0
	inhost ip link set up0 up
	inhost ip route add default via 192.0.2.2
	ininet ip addr add 192.0.2.2/24 dev up1
	ininet ip link set up1 up
	ininet ip addr add 198.51.100.10/32 dev lo
	# the outside server answers with the address it sees the client at
	mkdir -p "$TEST_DIR/www/cgi-bin"
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%%s\\n" "$REMOTE_ADDR"\n' >"$TEST_DIR/www/cgi-bin/addr"
	chmod +x "$TEST_DIR/www/cgi-bin/addr"
	# not through a shell function: $! must be the server itself (nsenter execs it)
	nsenter --net="/run/netns/$INETNS" busybox httpd -f -p 198.51.100.10:80 -h "$TEST_DIR/www" 3>&- &
	echo $! >"$TEST_DIR/inet.pid"
}

teardown() {
	local id pid i
	# detached containers: removed with their monitors
	ids=$(ls "$HUSK_STORAGE/containers" 2>/dev/null || true)
	[ -z "$ids" ] || hk rm -f $ids >/dev/null 2>&1 || true
	# containers first: their husk run then cleans up and exits by itself
	[ -d "$RUNROOT" ] && for id in $(ls "$RUNROOT"); do
		"$HUSK" oci --root "$RUNROOT" kill "$id" KILL >/dev/null 2>&1 || true
	done
	for pid in $(cat "$TEST_DIR"/*.pid 2>/dev/null); do
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[ -d "$RUNROOT" ] && for id in $(ls "$RUNROOT"); do
		"$HUSK" oci --root "$RUNROOT" delete --force "$id" >/dev/null 2>&1 || true
	done
	ip netns del "$HOSTNS" 2>/dev/null || true
	ip netns del "$INETNS" 2>/dev/null || true
	local leaks
	leaks=$(grep -c "$TEST_DIR" /proc/self/mountinfo || true)
	rm -rf "$TEST_DIR"
	[ "$leaks" -eq 0 ] || fail "mounts left: $leaks"
}

inhost() { nsenter --net="/run/netns/$HOSTNS" "$@"; }
ininet() { nsenter --net="/run/netns/$INETNS" "$@"; }
hk() { inhost "$HUSK" --root "$RUNROOT" "$@"; }

# husk run in the background (its pid in $TEST_DIR/NAME.pid); waits until the container runs
# and sets $CID to its id
run_bg() {
	local name=$1 before after i
	shift
	before=$(ls "$RUNROOT" 2>/dev/null | sort)
	nsenter --net="/run/netns/$HOSTNS" "$HUSK" --root "$RUNROOT" run "$@" >"$TEST_DIR/$name.out" 2>&1 3>&- &
	echo $! >"$TEST_DIR/$name.pid"
	for i in $(seq 100); do
		after=$(ls "$RUNROOT" 2>/dev/null | sort)
		CID=$(comm -13 <(echo "$before") <(echo "$after") | head -1)
		if [ -n "$CID" ] && [ "$(jq -r .status "$RUNROOT/$CID/state.json" 2>/dev/null)" = running ]; then
			return 0
		fi
		sleep 0.05
	done
	cat "$TEST_DIR/$name.out"
	fail "container $name did not start"
}

# its address on network $2 (default husk)
address_of() {
	hk network inspect "${2:-husk}" | jq -r --arg id "$1" '.[0].containers[$id]'
}

# end the container of run_bg NAME: SIGKILL to its init, as the host's root may; husk run
# then cleans up and exits
stop_bg() {
	local name=$1 id=$2 pid
	pid=$(jq -r .pid "$RUNROOT/$id/state.json")
	kill -9 "$pid"
	wait "$(cat "$TEST_DIR/$name.pid")" || true
	rm -f "$TEST_DIR/$name.pid"
}

# until a command succeeds (a server coming up), at most 5 s
eventually() {
	local i
	for i in $(seq 50); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}

# (in a container, timeout must not be PID 1: its watcher's SIGTERM to PID 1 would be ignored,
# hence `sh -c '...; exit $?'`, which keeps sh as PID 1)

# nothing of a container stays: no veth, no lease, no published port
net_clean() {
	local links leases ports i
	# the kernel destroys a veth with its container's network namespace, asynchronously
	for i in $(seq 40); do
		links=$(inhost ip -o link show | awk -F': ' '{print $2}' | grep '^hk' || true)
		[ -z "$links" ] && break
		sleep 0.05
	done
	[ -z "$links" ] || fail "links left: $links"
	for f in "$HUSK_STORAGE"/networks/*.leases "$HUSK_STORAGE"/networks/ports.json; do
		[ -f "$f" ] || continue
		leases=$(jq -c '.leases' "$f")
		[ "$leases" = "{}" ] || fail "leases left in $f: $leases"
	done
	if inhost nft list table ip husk >/dev/null 2>&1; then
		ports=$(inhost nft -j list table ip husk | jq -c '[.nftables[] | select(.map) | .map.elem // empty]')
		[ "$ports" = "[]" ] || fail "published ports left: $ports"
	fi
	[ -z "$(ls "$HUSK_STORAGE/containers")" ] || fail "snapshots left"
}
