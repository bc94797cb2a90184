#!/usr/bin/env bats
# Bridge networking for `husk run`. Every test plays on two network namespaces of its own:
# "host" (where husk runs, its bridges and rules are made) and "inet", the outside world,
# joined to host by a veth pair (192.0.2.1 host, 192.0.2.2 inet) and serving HTTP on
# 198.51.100.10, an address inet alone has. inet has no route to any container subnet, so an
# answer from it proves NAT. No packet leaves these namespaces.

load helpers
load netns

@test "network: the default bridge gives eth0 an address, a default route, /etc/hosts and resolv.conf" {
	run --separate-stderr hk run --rm busybox sh -c \
		'ip -o -4 addr show eth0; ip route; cat /sys/class/net/eth0/mtu; cat /etc/hosts; hostname; grep -c "nameserver 127\." /etc/resolv.conf; ip -o link | wc -l'
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ "$output" == *"inet 10.88.0.2/16"* ]]
	[[ "$output" == *"default via 10.88.0.1 dev eth0"* ]]
	host=$(echo "$output" | sed -n '/^[0-9a-f]\{12\}$/p')
	[ -n "$host" ]
	echo "$output" | grep -q "^10\.88\.0\.2	$host$"
	echo "$output" | grep -qx 1500
	# no loopback resolver from the host; lo and eth0 only
	echo "$output" | grep -qx 0
	[ "$(echo "$output" | tail -1)" = 2 ]
	inhost ip -o addr show husk0 | grep -q "inet 10.88.0.1/16"
	[ "$(inhost cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
	[ "$(inhost cat /proc/sys/net/ipv4/conf/husk0/route_localnet)" = 1 ]
	hk network ls | grep -q "^husk .*husk0 .*10.88.0.0/16 .*10.88.0.1"
	net_clean
}

@test "network: four containers started at once (racing to make the bridge) get four addresses" {
	local pids=() i
	for i in 1 2 3 4; do
		nsenter --net="/run/netns/$HOSTNS" "$HUSK" --root "$RUNROOT" run --rm busybox sh -c \
			'ip -o -4 addr show eth0; sleep 1' >"$TEST_DIR/c$i.out" 2>&1 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || { cat "$TEST_DIR"/c*.out; fail "a run failed"; }; done
	addrs=$(cat "$TEST_DIR"/c*.out | grep -o 'inet 10\.88\.0\.[0-9]*' | sort -u | wc -l)
	[ "$addrs" -eq 4 ] || fail "$(cat "$TEST_DIR"/c*.out)"
	# one bridge, and each of the network's rules once
	[ "$(inhost nft list chain ip husk postrouting | grep -c 'husk network husk')" -eq 2 ]
	net_clean
}

@test "network: a container reaches the outside through NAT, seen at the host's address" {
	run --separate-stderr hk run --rm busybox sh -c 'timeout 5 wget -q -O- http://198.51.100.10/cgi-bin/addr; exit $?'
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = 192.0.2.1 ]
	# the rule that did it, in husk's own table
	inhost nft list chain ip husk postrouting | grep -q 'ip saddr 10.88.0.0/16 oifname != "husk0" masquerade'
	net_clean
}

@test "network: two containers on one bridge reach each other; a container on another network cannot" {
	run_bg server --rm busybox sh -c 'hostname >/tmp/hostname && exec httpd -f -p 80 -h /tmp'
	server=$CID
	addr=$(address_of "$server")
	[ "$addr" = 10.88.0.2 ]
	run --separate-stderr hk run --rm busybox sh -c "ping -c1 -W2 $addr >/dev/null && timeout 5 wget -q -O- http://$addr/hostname; exit \$?"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "${server:0:12}" ]

	hk network create --subnet 10.99.0.0/24 other
	inhost ip -o addr show husk1 | grep -q "inet 10.99.0.1/24"
	run --separate-stderr hk run --rm --network other busybox sh -c \
		"ip -o -4 addr show eth0; timeout 3 wget -q -O- http://$addr/hostname; exit \$?"
	[ "$status" -ne 0 ]
	[[ "$output" == *"inet 10.99.0.2/24"* ]]
	[[ "$output" != *"${server:0:12}"* ]]
	# and the outside is still reachable from there
	run --separate-stderr hk run --rm --network other busybox sh -c 'timeout 5 wget -q -O- http://198.51.100.10/cgi-bin/addr; exit $?'
	[ "$output" = 192.0.2.1 ]
	stop_bg server "$server"
	hk network rm other
	net_clean
}

@test "network: -p 8080:80 answers from the host, from 127.0.0.1 and from the outside" {
	run_bg web --rm -p 8080:80 -p 127.0.0.1:8081:80 -p 5353:53/udp busybox sh -c 'hostname >/tmp/hostname && exec httpd -f -p 80 -h /tmp'
	web=$CID
	inhost nft list map ip husk ports_any | grep -q "tcp . 8080.*: 10.88.0.2 . 80"
	inhost nft list map ip husk ports_any | grep -q "udp . 5353.*: 10.88.0.2 . 53"
	inhost nft list map ip husk ports_ip | grep -q "127.0.0.1 . tcp . 8081.*: 10.88.0.2 . 80"
	eventually inhost busybox timeout 5 wget -q -O- http://192.0.2.1:8080/hostname
	run inhost busybox timeout 5 wget -q -O- http://192.0.2.1:8080/hostname
	[ "$output" = "${web:0:12}" ]
	run inhost busybox timeout 5 wget -q -O- http://127.0.0.1:8080/hostname
	[ "$output" = "${web:0:12}" ]
	run inhost busybox timeout 5 wget -q -O- http://127.0.0.1:8081/hostname
	[ "$output" = "${web:0:12}" ]
	# from the outside, at the host's address
	run ininet busybox timeout 5 wget -q -O- http://192.0.2.1:8080/hostname
	[ "$output" = "${web:0:12}" ]
	# 8081 is published on 127.0.0.1 only
	run ininet busybox timeout 3 wget -q -O- http://192.0.2.1:8081/hostname
	[ "$status" -ne 0 ]
	# a second container on the same bridge, through the host's address (hairpin)
	run --separate-stderr hk run --rm busybox sh -c 'timeout 5 wget -q -O- http://192.0.2.1:8080/hostname; exit $?'
	[ "$output" = "${web:0:12}" ] || fail "hairpin: $output $stderr"

	# the port is taken while the container lives: refused before anything is made
	snapshots=$(ls "$HUSK_STORAGE/containers" | wc -l)
	run --separate-stderr hk run --rm -p 8080:81 busybox true
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"host port 8080/tcp is already published by container ${web:0:12}"* ]]
	run --separate-stderr hk run --rm -p 127.0.0.1:8080:81 busybox true
	[[ "$stderr" == *"already published"* ]]
	[ "$(ls "$HUSK_STORAGE/containers" | wc -l)" -eq "$snapshots" ]
	stop_bg web "$web"
	net_clean
	# and free again once it is gone
	run --separate-stderr hk run --rm -p 8080:80 busybox true
	[ "$status" -eq 0 ] || fail "$stderr"
	net_clean
}

@test "network: --network none has only lo, --network host the host's links" {
	run --separate-stderr hk run --rm --network none busybox sh -c 'ip -o link | wc -l; ip -o -4 addr'
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$(echo "$output" | head -1)" = 1 ]
	[[ "$output" == *"inet 127.0.0.1/8 scope host lo"* ]]
	run --separate-stderr hk run --rm --network host busybox ip -o -4 addr
	[[ "$output" == *"inet 192.0.2.1/24"* ]]
	# neither made a bridge
	run inhost ip link show husk0
	[ "$status" -ne 0 ]
	net_clean
}

@test "network: create, ls, inspect, rm; in use refused; the table goes with the last network" {
	run --separate-stderr hk network create --subnet 172.30.0.0/24 --gateway 172.30.0.254 lab
	[ "$status" -eq 0 ] || fail "$stderr"
	hk network inspect lab | jq -e '.[0] | .subnet == "172.30.0.0/24" and .gateway == "172.30.0.254" and .bridge == "husk1"'
	inhost ip -o addr show husk1 | grep -q "inet 172.30.0.254/24"
	run --separate-stderr hk run --rm --network lab busybox sh -c 'ip -o -4 addr show eth0; ip route'
	[[ "$output" == *"inet 172.30.0.1/24"* ]]
	[[ "$output" == *"default via 172.30.0.254"* ]]
	# a second one without --subnet gets a free /16
	hk network create two
	hk network inspect two | jq -e '.[0] | .subnet == "10.89.0.0/16" and .bridge == "husk2"'
	[ "$(hk network ls -q | sort | tr '\n' ' ')" = "lab two " ]

	run_bg user --rm --network lab busybox sleep 60
	run --separate-stderr hk network rm lab
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"network \"lab\" is in use by container ${CID:0:12}"* ]]
	stop_bg user "$CID"
	hk network rm lab two
	run inhost ip link show husk1
	[ "$status" -ne 0 ]
	run inhost nft list table ip husk
	[ "$status" -ne 0 ]
	[ -z "$(hk network ls -q)" ]
	[ -z "$(ls "$HUSK_STORAGE/networks" | grep -v '^lock$\|^ports.json')" ]
}

@test "network: bad input is refused before anything is made" {
	run --separate-stderr hk run --rm --network nosuch busybox true
	[ "$status" -ne 0 ]
	[[ "$stderr" == *'no network "nosuch"'* ]]
	for bad in 10.0.0.0/33 10.0.0.0 300.0.0.0/16 10.1.2.3/16 x/8; do
		run --separate-stderr hk network create --subnet "$bad" bad
		[ "$status" -ne 0 ] || fail "$bad accepted"
		[[ "$stderr" == *"$bad"* ]] || fail "$stderr"
	done
	[[ "$stderr" == *"x/8"* ]]
	run --separate-stderr hk network create --subnet 10.1.2.3/16 bad
	[[ "$stderr" == *"did you mean 10.1.0.0/16"* ]]
	# overlapping a network, and a route of the host
	hk network create --subnet 10.50.0.0/16 first
	run --separate-stderr hk network create --subnet 10.50.4.0/24 second
	[[ "$stderr" == *'overlaps network "first"'* ]] || fail "$stderr"
	run --separate-stderr hk network create --subnet 192.0.2.0/25 second
	[[ "$stderr" == *"already routed on this host (192.0.2.0/24 via up0)"* ]] || fail "$stderr"
	run --separate-stderr hk network create --subnet 10.60.0.0/24 --gateway 10.61.0.1 second
	[[ "$stderr" == *"gateway 10.61.0.1 is not a host address"* ]] || fail "$stderr"
	run --separate-stderr hk network create first
	[[ "$stderr" == *'network "first" exists already'* ]]
	run --separate-stderr hk network create host
	[[ "$stderr" == *"is a --network mode"* ]]
	run --separate-stderr hk network create 'a b'
	[[ "$stderr" == *"is not a network name"* ]]
	# (-p 8080 alone is docker's random host port: network_flags.bats)
	for bad in 0:80 65536:80 8080:99999 :8080 8080:80/sctp; do
		run --separate-stderr hk run --rm -p "$bad" busybox true
		[ "$status" -ne 0 ] || fail "-p $bad accepted"
		[[ "$stderr" == *"$bad"* ]] || fail "$stderr"
	done
	run --separate-stderr hk run --rm -p 8080:80 -p 8080:81 busybox true
	[[ "$stderr" == *"published twice"* ]]
	run --separate-stderr hk run --rm --network none -p 8080:80 busybox true
	[[ "$stderr" == *"-p publishes ports on a bridge network"* ]]
	hk network rm first
	[ -z "$(ls -A "$HUSK_STORAGE/containers")" ]
	# only "first" made a bridge
	[ -z "$(inhost ip -o link show type bridge)" ]
	net_clean
}

@test "network: the default subnet moves aside when 10.88.0.0/16 is routed here, and says so" {
	inhost ip route add 10.88.1.0/24 via 192.0.2.2
	run --separate-stderr hk run --rm busybox ip -o -4 addr show eth0
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ "$output" == *"inet 10.89.0.2/16"* ]]
	[[ "$stderr" == *"the default network uses 10.89.0.0/16: 10.88.0.0/16 is already routed on this host"* ]] || fail "$stderr"
	net_clean
}

@test "network: SIGKILL of husk run leaves nothing husk network prune cannot clean" {
	run_bg victim -p 8080:80 busybox sleep 60
	victim=$CID
	kill -9 "$(cat "$TEST_DIR/victim.pid")"
	wait "$(cat "$TEST_DIR/victim.pid")" || true
	rm "$TEST_DIR/victim.pid"
	# the container outlives husk: its lease and port stay, and prune keeps them
	hk network prune
	[ "$(jq -r --arg id "$victim" '.leases | to_entries[] | select(.value == $id) | .key' "$HUSK_STORAGE/networks/ports.json")" = tcp/0.0.0.0/8080 ]
	kill -9 "$(jq -r .pid "$RUNROOT/$victim/state.json")"
	for i in $(seq 50); do
		[ "$(hk oci state "$victim" | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	# a veth left behind as if husk had died before its namespace did
	inhost ip link add "hk${victim:0:13}" type veth peer name tmp-peer
	hk network prune
	hk rm "$victim"
	net_clean
	# the port is free for the next container
	run --separate-stderr hk run --rm -p 8080:80 busybox true
	[ "$status" -eq 0 ] || fail "$stderr"
}

@test "network: run -d -p: a detached web server answers from the host; stop releases the port; start takes it again" {
	run -0 hk run -d --name web -p 8080:80 busybox sh -c 'echo detached >/tmp/index.html && exec httpd -f -p 80 -h /tmp'
	id=$output
	eventually inhost busybox timeout 5 wget -q -O- http://192.0.2.1:8080/
	run inhost busybox timeout 5 wget -q -O- http://192.0.2.1:8080/
	[ "$output" = detached ]
	run -0 hk port web
	[[ "$output" == "80/tcp -> 0.0.0.0:8080" ]] || fail "$output"
	[ "$(hk inspect -f '{{.NetworkSettings.IPAddress}}' web)" = "$(address_of "$id")" ]
	run -0 hk ps
	[[ "$output" == *"0.0.0.0:8080->80/tcp"* ]] || fail "$output"
	# stopped: the address and the port go back
	hk stop web >/dev/null
	[ "$(jq -c '.leases' "$HUSK_STORAGE/networks/ports.json")" = "{}" ]
	[ "$(address_of "$id")" = null ]
	# started again: the same port, reachable again
	hk start web >/dev/null
	eventually inhost busybox timeout 5 wget -q -O- http://192.0.2.1:8080/
	run -0 hk rm -f web
	net_clean
}
