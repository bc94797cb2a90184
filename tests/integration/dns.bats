#!/usr/bin/env bats
# Names on a user network: the network's responder (husk-dns) on its gateway. The set-up is
# network.bats's: two network namespaces per test, "host" (husk, its bridges, the responder)
# and "inet" (the outside world, via 192.0.2.2), and no packet leaves them. The host's
# nameserver (the first non-loopback one of /etc/resolv.conf, if any) is played by a small
# python DNS server in inet, which answers every A query with 203.0.113.7.

load helpers

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hk.XXXXXX")
	export HUSK_STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
	HOSTNS=hk-dnsh-$$-$BATS_TEST_NUMBER
	INETNS=hk-dnsi-$$-$BATS_TEST_NUMBER
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
}

teardown() {
	local ids pid i
	ids=$(ls "$HUSK_STORAGE/containers" 2>/dev/null || true)
	[ -z "$ids" ] || hk rm -f $ids >/dev/null 2>&1 || true
	for pid in $(cat "$TEST_DIR"/*.pid 2>/dev/null); do
		kill "$pid" 2>/dev/null || true
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	# the last container gone, the responder goes by itself: its lock is free
	local left=""
	for lock in "$RUNROOT-engine"/dns/*.lock; do
		[ -e "$lock" ] || continue
		responder_gone "$lock" || left="$left $lock"
	done
	ip netns del "$HOSTNS" 2>/dev/null || true
	ip netns del "$INETNS" 2>/dev/null || true
	local leaks
	leaks=$(grep -c "$TEST_DIR" /proc/self/mountinfo || true)
	rm -rf "$TEST_DIR" "$RUNROOT-engine"
	[ "$leaks" -eq 0 ] || fail "mounts left: $leaks"
	[ -z "$left" ] || fail "a responder is left (lock held):$left"
}

inhost() { nsenter --net="/run/netns/$HOSTNS" "$@"; }
ininet() { nsenter --net="/run/netns/$INETNS" "$@"; }
hk() { inhost "$HUSK" --root "$RUNROOT" "$@"; }

# the responder holding lock $1 exits (at most 5 s)
responder_gone() {
	local i
	for i in $(seq 50); do
		flock -n "$1" true && return 0
		sleep 0.1
	done
	return 1
}

# the pid of network $1's responder (its pid file, checked against the lock and the process)
responder_pid() {
	local pid
	pid=$(cat "$RUNROOT-engine/dns/$1.pid" 2>/dev/null) || return 0
	[ "$(readlink "/proc/$pid/exe")" = "$HUSK_BUILD/husk-dns" ] || return 0
	flock -n "$RUNROOT-engine/dns/$1.lock" true && return 0
	echo "$pid"
}

# what container $1's nslookup says the address of $2 is (empty: not found)
lookup() {
	hk exec "$1" nslookup "$2" 2>/dev/null | awk '/^Name:/ { name = 1; next } name && /^Address/ { sub(/^Address:? */, ""); print; exit }'
}

# until `lookup $1 $2` says $3 (at most 5 s)
lookup_is() {
	local i got
	for i in $(seq 50); do
		got=$(lookup "$1" "$2")
		[ "$got" = "$3" ] && return 0
		sleep 0.1
	done
	echo "lookup of $2 from $1: '$got', wanted '$3'"
	return 1
}

address_of() {
	hk network inspect "$2" | jq -r --arg id "$1" '.[0].containers[$id]'
}

@test "dns: containers on a user network find each other by name and alias, at once; resolv.conf names the gateway" {
	hk network create --subnet 10.77.0.0/24 lab
	a=$(hk run -d --name web --network lab --network-alias www --network-alias front busybox sleep 1000)
	b=$(hk run -d --name client --network lab busybox sleep 1000)
	run -0 hk exec client cat /etc/resolv.conf
	[ "$(grep -c '^nameserver' <<<"$output")" -eq 1 ] || fail "resolv.conf: $output"
	grep -qx 'nameserver 10.77.0.1' <<<"$output" || fail "resolv.conf: $output"
	addr=$(address_of "$a" lab)
	[ "$(lookup client web)" = "$addr" ] || fail "web: $(lookup client web), wanted $addr"
	[ "$(lookup client www)" = "$addr" ] || fail "www: $(lookup client www)"
	[ "$(lookup client FRONT)" = "$addr" ] || fail "FRONT"
	[ "$(lookup web client)" = "$(address_of "$b" lab)" ] || fail "client from web"
	# the aliases are in the record, where docker keeps them
	run -0 hk inspect web
	[ "$(jq -c '.[0].NetworkSettings.Networks.lab.Aliases' <<<"$output")" = '["www","front"]' ] || fail "$output"
	# a name no container has is not answered as one
	[ -z "$(lookup client nosuch)" ] || fail "nosuch resolved"
}

@test "dns: the default network has no names (docker's default bridge); --network-alias is refused there" {
	a=$(hk run -d --name web busybox sleep 1000)
	b=$(hk run -d --name client busybox sleep 1000)
	[ -z "$(lookup client web)" ] || fail "web resolved on the default network"
	run -0 hk exec client cat /etc/resolv.conf
	grep -q '^nameserver 10\.88\.' <<<"$output" && fail "the default network's resolv.conf names its gateway: $output"
	[ ! -e "$RUNROOT-engine/dns/husk.lock" ] || fail "a responder for the default network"
	run -125 --separate-stderr hk run --rm --network-alias x busybox true
	[[ "$stderr" == *"--network-alias x"*"user network"* ]] || fail "$stderr"
}

@test "dns: a stopped container stops resolving; restarted, it resolves to its new address" {
	hk network create --subnet 10.78.0.0/24 lab
	a=$(hk run -d --name web --network-alias www --network lab busybox sleep 1000)
	hk run -d --name client --network lab busybox sleep 1000 >/dev/null
	old=$(address_of "$a" lab)
	lookup_is client web "$old"
	hk stop -t 0 web
	lookup_is client web ""
	lookup_is client www ""
	# a third container takes the old address: the restarted one gets another
	hk run -d --name third --network lab busybox sleep 1000 >/dev/null
	[ "$(address_of "$(hk inspect third | jq -r '.[0].Id')" lab)" = "$old" ] || fail "third did not take $old"
	hk start web
	new=$(address_of "$a" lab)
	[ -n "$new" ] && [ "$new" != "$old" ] || fail "new address '$new'"
	lookup_is client web "$new"
	lookup_is client www "$new"
	lookup_is client third "$old"
}

# the first non-loopback nameserver of the host's resolv.conf: the responder forwards to it
host_nameserver() {
	awk '$1 == "nameserver" && $2 !~ /^127\./ && $2 !~ /:/ { print $2; exit }' /etc/resolv.conf
}

@test "dns: a name of the world is forwarded to the host's resolver" {
	ns=$(host_nameserver)
	[ -n "$ns" ] || skip "the host's resolv.conf has no non-loopback IPv4 nameserver to stand in for"
	ininet ip addr add "$ns/32" dev lo
	cat >"$TEST_DIR/dns.py" <<'PY'
import socketserver, struct, sys
class H(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        qend = 12
        while data[qend]:
            qend += 1 + data[qend]
        qend += 5
        qtype = struct.unpack('!H', data[qend-4:qend-2])[0]
        flags = 0x8180
        ans = b''
        if qtype == 1:
            ans = b'\xc0\x0c' + struct.pack('!HHIH', 1, 1, 60, 4) + bytes([203, 0, 113, 7])
        sock.sendto(data[:2] + struct.pack('!HHHHH', flags, 1, 1 if ans else 0, 0, 0) + data[12:qend] + ans, self.client_address)
socketserver.UDPServer((sys.argv[1], 53), H).serve_forever()
PY
	nsenter --net="/run/netns/$INETNS" python3 "$TEST_DIR/dns.py" "$ns" 3>&- &
	echo $! >"$TEST_DIR/inetdns.pid"
	hk network create --subnet 10.79.0.0/24 lab
	hk run -d --name client --network lab busybox sleep 1000 >/dev/null
	lookup_is client example.org 203.0.113.7
	grep -q "listening on 10.79.0.1:53/udp, 1 upstream" "$RUNROOT-engine/dns/lab.log" || fail "$(cat "$RUNROOT-engine/dns/lab.log")"
}

@test "dns: a flood of queries: the responder stays up and answers; SIGKILLed, the next start brings it back" {
	hk network create --subnet 10.80.0.0/24 lab
	a=$(hk run -d --name web --network lab busybox sleep 1000)
	hk run -d --name client --network lab busybox sleep 1000 >/dev/null
	pid=$(responder_pid lab)
	[ -n "$pid" ] || fail "no responder"
	# 2000 queries for names of the network and of nowhere, without waiting for answers
	run -0 hk exec client sh -c 'i=0; while [ $i -lt 400 ]; do nslookup -timeout=1 -retry=0 web 10.80.0.1 >/dev/null 2>&1 & nslookup -timeout=1 -retry=0 q$i.nowhere.invalid 10.80.0.1 >/dev/null 2>&1 & i=$((i+1)); done; wait; exit 0'
	kill -0 "$pid" || fail "the responder died in the flood"
	lookup_is client web "$(address_of "$a" lab)"
	kill -9 "$pid"
	responder_gone "$RUNROOT-engine/dns/lab.lock" || fail "not gone"
	b=$(hk run -d --name late --network lab busybox sleep 1000)
	newpid=$(responder_pid lab)
	[ -n "$newpid" ] && [ "$newpid" != "$pid" ] || fail "no new responder"
	lookup_is client late "$(address_of "$b" lab)"
	lookup_is late web "$(address_of "$a" lab)"
}

@test "dns: the responder exits with the network's last container; two starts at once make one" {
	hk network create --subnet 10.81.0.0/24 lab
	hk run -d --name one --network lab busybox sleep 1000 >/dev/null &
	hk run -d --name two --network lab busybox sleep 1000 >/dev/null &
	wait
	lookup_is one two "$(address_of "$(hk inspect two | jq -r '.[0].Id')" lab)"
	n=$(grep -c "listening on" "$RUNROOT-engine/dns/lab.log")
	[ "$n" -eq 1 ] || fail "$n responders started: $(cat "$RUNROOT-engine/dns/lab.log")"
	pid=$(responder_pid lab)
	hk rm -f one >/dev/null
	kill -0 "$pid" || fail "the responder left with a container still on the network"
	hk rm -f two >/dev/null
	responder_gone "$RUNROOT-engine/dns/lab.lock" || fail "the responder stayed"
	grep -q "no container left" "$RUNROOT-engine/dns/lab.log" || fail "$(cat "$RUNROOT-engine/dns/lab.log")"
}
