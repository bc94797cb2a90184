#!/usr/bin/env bats
# IPv6 on bridge networks (husk network create --ipv6). As network.bats: two network namespaces
# per test, "host" (husk runs there) and "inet", joined by a veth pair that has IPv4
# (192.0.2.1 host, 192.0.2.2 inet) and IPv6 addresses (2001:db8::1 host, 2001:db8::2 inet).
# inet serves HTTP on 2001:db8:ffff::10, an address it alone has, and has no route to any
# container subnet: an answer from it proves NAT66. No packet leaves these namespaces.

load helpers

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
	# nodad: no address waits a second of duplicate detection
	inhost ip addr add 2001:db8::1/64 dev up0 nodad
	inhost ip -6 route add default via 2001:db8::2
	ininet ip addr add 192.0.2.2/24 dev up1
	ininet ip link set up1 up
	ininet ip addr add 2001:db8::2/64 dev up1 nodad
	ininet ip addr add 2001:db8:ffff::10/128 dev lo nodad
	# the outside server answers with the address it sees the client at
	mkdir -p "$TEST_DIR/www/cgi-bin"
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%%s\\n" "$REMOTE_ADDR"\n' >"$TEST_DIR/www/cgi-bin/addr"
	chmod +x "$TEST_DIR/www/cgi-bin/addr"
	# not through a shell function: $! must be the server itself (nsenter execs it)
	nsenter --net="/run/netns/$INETNS" busybox httpd -f -p '[2001:db8:ffff::10]:80' -h "$TEST_DIR/www" 3>&- &
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

# its IPv6 address on network $2, from its record
address6_of() {
	hk inspect "$1" | jq -r --arg net "$2" '.[0].NetworkSettings.Networks[$net].GlobalIPv6Address'
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

# nothing of a container stays: no veth, no lease, no published port (in either family's table)
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
	if inhost nft list table ip6 husk >/dev/null 2>&1; then
		ports=$(inhost nft -j list table ip6 husk | jq -c '[.nftables[] | select(.map) | .map.elem // empty]')
		[ "$ports" = "[]" ] || fail "published IPv6 ports left: $ports"
	fi
	[ -z "$(ls "$HUSK_STORAGE/containers")" ] || fail "snapshots left"
}


@test "ipv6: a dual-stack network: both subnets in inspect, the gateways on the bridge, forwarding on" {
	run -0 hk network create --ipv6 --subnet 10.99.0.0/24 --subnet fd00:10::/64 --gateway fd00:10::1 v6net
	run -0 hk network inspect v6net
	[ "$(jq -r '.[0].subnet' <<<"$output")" = 10.99.0.0/24 ]
	[ "$(jq -r '.[0].subnet6' <<<"$output")" = fd00:10::/64 ]
	[ "$(jq -r '.[0].gateway6' <<<"$output")" = fd00:10::1 ]
	[ "$(jq -r '.[0].ipv6' <<<"$output")" = true ]
	bridge=$(jq -r '.[0].bridge' <<<"$output")
	inhost ip -o addr show "$bridge" | grep -q "inet 10.99.0.1/24"
	inhost ip -o addr show "$bridge" | grep -q "inet6 fd00:10::1/64"
	[ "$(inhost cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ]
	inhost nft list chain ip6 husk postrouting | grep -q 'ip6 saddr fd00:10::/64 oifname != "'"$bridge"'" masquerade'
	# only the subnet given: the IPv4 one is picked
	run -0 hk network create --ipv6 --subnet fd00:11::/64 v6b
	[ "$(hk network inspect v6b | jq -r '.[0].subnet')" != null ]
	# the default network stays IPv4-only, as docker's
	run -0 hk run --rm busybox sh -c 'ip -o -6 addr show scope global; true'
	[ -z "$output" ] || fail "default network has IPv6: $output"
	[ "$(hk network inspect husk | jq -r '.[0].ipv6')" = false ]
	hk network rm v6b
	hk network rm v6net
	# the ip6 rules go with the last network, as the ip ones
	hk network rm husk
	run inhost nft list table ip6 husk
	[ "$status" -ne 0 ]
	run inhost nft list table ip husk
	[ "$status" -ne 0 ]
	net_clean
}

@test "ipv6: a container gets an address, a default route, /etc/hosts, its record; NAT66 to the outside" {
	hk network create --ipv6 --subnet fd00:10::/64 v6net
	run -0 hk run -d --name c6 --network v6net busybox sh -c 'ip -o -6 addr show eth0 scope global; ip -6 route show default; cat /etc/hosts; timeout 5 wget -q -O- "http://[2001:db8:ffff::10]/cgi-bin/addr"; echo rc=$?; sleep 1000'
	id=$output
	eventually grep -q 'rc=' "$HUSK_STORAGE/containers/$id/ctr.log" 2>/dev/null || eventually sh -c "hk logs c6 | grep -q rc="
	run -0 hk logs c6
	[[ "$output" == *"inet6 fd00:10::2/64"* ]] || fail "$output"
	[[ "$output" == *"default via fd00:10::1 dev eth0"* ]] || fail "$output"
	[[ "$output" == *"fd00:10::2	${id:0:12}"* ]] || fail "hosts: $output"
	# the outside server saw the host's address: NAT66
	[[ "$output" == *"2001:db8::1"* ]] || fail "$output"
	[[ "$output" == *"rc=0"* ]] || fail "$output"
	run -0 hk inspect c6
	[ "$(jq -r '.[0].NetworkSettings.GlobalIPv6Address' <<<"$output")" = fd00:10::2 ]
	[ "$(jq -r '.[0].NetworkSettings.GlobalIPv6PrefixLen' <<<"$output")" = 64 ]
	[ "$(jq -r '.[0].NetworkSettings.IPv6Gateway' <<<"$output")" = fd00:10::1 ]
	[ "$(jq -r '.[0].NetworkSettings.Networks.v6net.GlobalIPv6Address' <<<"$output")" = fd00:10::2 ]
	[ "$(jq -r '.[0].NetworkSettings.Networks.v6net.IPv6Gateway' <<<"$output")" = fd00:10::1 ]
	jq -e '.leases["fd00:10::2"]' "$HUSK_STORAGE/networks/v6net.leases" >/dev/null
	# stopped: the IPv6 lease goes too
	hk stop -t 0 c6 >/dev/null
	[ "$(jq -c .leases "$HUSK_STORAGE/networks/v6net.leases")" = "{}" ]
	hk rm c6 >/dev/null
	hk network rm v6net
	net_clean
}

@test "ipv6: two containers reach each other over IPv6; --ip6 gives an exact address" {
	hk network create --ipv6 --subnet fd00:10::/64 v6net
	run -0 hk run -d --name web --network v6net --ip6 fd00:10::80 busybox sh -c 'hostname >/tmp/hostname && exec httpd -f -p "[::]:80" -h /tmp'
	web=$output
	[ "$(address6_of web v6net)" = fd00:10::80 ]
	[ "$(hk inspect web | jq -r '.[0].NetworkSettings.Networks.v6net.IPAMConfig.IPv6Address')" = fd00:10::80 ]
	run --separate-stderr hk run --rm --network v6net busybox sh -c 'for i in $(seq 50); do timeout 3 wget -q -O- "http://[fd00:10::80]/hostname" && exit 0; sleep 0.1; done; exit 1'
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "${web:0:12}" ]
	# the address is taken while web lives, and --ip (an IPv6 one) means the same
	run --separate-stderr hk run --rm --network v6net --ip fd00:10::80 busybox true
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"fd00:10::80 is already in use by container ${web:0:12}"* ]] || fail "$stderr"
	# stop releases it; start asks for the same address again (the record's IPAMConfig)
	hk stop -t 0 web >/dev/null
	[ "$(jq -c .leases "$HUSK_STORAGE/networks/v6net.leases")" = "{}" ]
	hk start web >/dev/null
	[ "$(jq -r '.leases["fd00:10::80"]' "$HUSK_STORAGE/networks/v6net.leases")" = "$web" ]
	[ "$(address6_of web v6net)" = fd00:10::80 ]
	hk rm -f web >/dev/null
	hk network rm v6net
	net_clean
}

@test "ipv6: on a dual-stack user network a name answers A and AAAA (husk-dns)" {
	hk network create --ipv6 --subnet 10.97.0.0/24 --subnet fd00:12::/64 dual
	hk run -d --name web --network dual --network-alias www busybox sleep 1000 >/dev/null
	hk run -d --name client --network dual busybox sleep 1000 >/dev/null
	v4=$(hk inspect -f '{{.NetworkSettings.Networks.dual.IPAddress}}' web)
	v6=$(address6_of web dual)
	[ -n "$v6" ] && [ "$v6" != null ]
	# busybox nslookup asks for both types and prints every address
	run -0 hk exec client nslookup www
	[[ "$output" == *"Address: $v4"* ]] || fail "no A record: $output"
	[[ "$output" == *"Address: $v6"* ]] || fail "no AAAA record: $output"
	run -0 hk exec client nslookup -type=AAAA web
	[[ "$output" == *"$v6"* ]] || fail "$output"
	[[ "$output" != *"$v4"* ]] || fail "an A record in an AAAA answer: $output"
	hk rm -f web client >/dev/null
	hk network rm dual
	net_clean
}

@test "ipv6: -p publishes on the host's IPv6 addresses too; [addr]:port on one; released on stop" {
	hk network create --ipv6 --subnet fd00:10::/64 v6net
	run -0 hk run -d --name web --network v6net -p 8080:80 -p '[2001:db8::1]:8081:80' busybox sh -c 'hostname >/tmp/hostname && exec httpd -f -p "[::]:80" -h /tmp'
	web=$output
	inhost nft list map ip6 husk ports_any | grep -q "tcp . 8080.*: fd00:10::2 . 80"
	inhost nft list map ip6 husk ports_ip | grep -q "2001:db8::1 . tcp . 8081.*: fd00:10::2 . 80"
	inhost nft list map ip husk ports_any | grep -q "tcp . 8080.*: 10\."
	# 8081 is IPv6-only: no IPv4 element
	run inhost nft list map ip husk ports_ip
	[[ "$output" != *8081* ]] || fail "$output"
	eventually ininet busybox timeout 5 wget -q -O- "http://[2001:db8::1]:8080/hostname"
	run ininet busybox timeout 5 wget -q -O- "http://[2001:db8::1]:8080/hostname"
	[ "$output" = "${web:0:12}" ]
	run ininet busybox timeout 5 wget -q -O- "http://[2001:db8::1]:8081/hostname"
	[ "$output" = "${web:0:12}" ]
	# and IPv4 still
	run ininet busybox timeout 5 wget -q -O- "http://192.0.2.1:8080/hostname"
	[ "$output" = "${web:0:12}" ]
	run ininet busybox timeout 3 wget -q -O- "http://192.0.2.1:8081/hostname"
	[ "$status" -ne 0 ]
	run -0 hk port web
	[[ "$output" == *"80/tcp -> [2001:db8::1]:8081"* ]] || fail "$output"
	run -0 hk ps
	[[ "$output" == *"[2001:db8::1]:8081->80/tcp"* ]] || fail "$output"
	# stopped: the elements of both tables go
	hk stop -t 0 web >/dev/null
	run -0 inhost nft list map ip6 husk ports_any
	[[ "$output" != *8080* ]] || fail "$output"
	run -0 inhost nft list map ip6 husk ports_ip
	[[ "$output" != *8081* ]] || fail "$output"
	# an IPv6 host address on a network without IPv6 is refused
	run --separate-stderr hk run --rm -p '[2001:db8::1]:8082:80' busybox true
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"has no IPv6"* ]] || fail "$stderr"
	hk rm web >/dev/null
	hk network rm v6net
	net_clean
}

@test "ipv6: bad input is refused before anything is made, saying why" {
	run --separate-stderr hk network create --subnet fd00:10::/64 nov6
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"add --ipv6"* ]] || fail "$stderr"
	run --separate-stderr hk network create --ipv6 --subnet fd00:10::/121 long
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"longer than /120 leaves fewer than 256 addresses"* ]] || fail "$stderr"
	run --separate-stderr hk network create --ipv6 --subnet fd00::/47 short
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"shorter than /48 is a whole site's allocation"* ]] || fail "$stderr"
	run --separate-stderr hk network create --ipv6 --subnet fd00:10::1/64 hostbits
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"host bits set"* ]] || fail "$stderr"
	run --separate-stderr hk network create --ipv6 net0
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"--ipv6 needs an IPv6 --subnet"* ]] || fail "$stderr"
	# usage errors exit 125
	run --separate-stderr hk network create --ipv6 --subnet fd00:10::/64 --subnet fd00:20::/64 twice
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"an IPv6 subnet is given already"* ]] || fail "$stderr"
	[ -z "$(ls "$HUSK_STORAGE/networks/" 2>/dev/null | grep json)" ] || fail "a network was made"
	# overlapping IPv6 subnets between networks
	hk network create --ipv6 --subnet fd00:10::/64 one
	run --separate-stderr hk network create --ipv6 --subnet fd00:10::/56 two
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"overlaps network \"one\" (fd00:10::/64)"* ]] || fail "$stderr"
	# an IPv6 --ip outside the subnet, and --ip6 on a network without IPv6
	run --separate-stderr hk run --rm --network one --ip fd00:99::2 busybox true
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"fd00:99::2 is not in the network's subnet fd00:10::/64"* ]] || fail "$stderr"
	run --separate-stderr hk run --rm --network one --ip6 fd00:10::1 busybox true
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"gateway"* ]] || fail "$stderr"
	hk network create --subnet 10.98.0.0/24 v4only
	run --separate-stderr hk run --rm --network v4only --ip6 fd00:10::5 busybox true
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"has no IPv6"* ]] || fail "$stderr"
	[ -z "$(ls "$HUSK_STORAGE/containers")" ] || fail "a container was made"
	hk network rm one v4only 2>/dev/null || { hk network rm one; hk network rm v4only; }
	net_clean
}
