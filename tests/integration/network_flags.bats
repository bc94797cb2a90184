#!/usr/bin/env bats
# husk run's network flags (--ip, --add-host, --dns*, -p ranges, random ports, -P, husk port)
# and husk network connect/disconnect. As network.bats: every test plays on network namespaces
# of its own ("host", where husk runs, and "inet", the outside world); no packet leaves them.

load helpers
load netns

setup_file() {
	# an image that EXPOSEs 80/tcp and 53/udp (umoci writes the config), for -P
	export FIX=$BATS_FILE_TMPDIR
	(
		cd "$FIX"
		umoci init --layout L
		umoci new --image L:exp
		umoci unpack --image L:exp b >/dev/null
		cp -a "$TEST_ROOTFS"/. b/rootfs/
		umoci repack --image L:exp b
		rm -rf b
		umoci config --image L:exp --config.env PATH=/bin:/usr/bin --config.cmd sh \
			--config.exposedports 80/tcp --config.exposedports 53/udp
	) >"$FIX/setup.log" 2>&1 || { cat "$FIX/setup.log"; return 1; }
}


# a network of the test's own, in its host namespace
mknet() {
	hk network create --subnet "$2" "$1" >/dev/null
}

@test "netflags: --ip leases exactly that address, kept for husk start; taken or outside the subnet is refused" {
	mknet n1 10.123.0.0/24
	run -0 hk run -d --name a --network n1 --ip 10.123.0.50 busybox sleep 1000
	id=$output
	[ "$(address_of "$id" n1)" = 10.123.0.50 ]
	run -0 hk exec a ip -4 -o addr show eth0
	[[ "$output" == *"10.123.0.50/24"* ]] || fail "$output"
	[ "$(hk inspect -f '{{.NetworkSettings.Networks.n1.IPAMConfig.IPv4Address}}' a)" = 10.123.0.50 ]
	# another container asking for it: refused, naming the holder; nothing made
	run -125 --separate-stderr hk run --rm --network n1 --ip 10.123.0.50 busybox true
	[[ "$stderr" == *"10.123.0.50 is already in use by container ${id:0:12}"* ]] || fail "$stderr"
	# outside the subnet, the gateway, the default network: refused
	run -125 --separate-stderr hk run --rm --network n1 --ip 10.124.0.5 busybox true
	[[ "$stderr" == *"10.124.0.5 is not in the network's subnet 10.123.0.0/24"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --network n1 --ip 10.123.0.1 busybox true
	[[ "$stderr" == *"gateway"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --ip 10.88.0.9 busybox true
	[[ "$stderr" == *"husk network create"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --network n1 --ip 10.123.0.x busybox true
	[[ "$stderr" == *"not an IPv4 address"* ]] || fail "$stderr"
	[ "$(ls "$HUSK_STORAGE/containers" | wc -l)" -eq 1 ]
	# stopped, its address is free; started again, it asks for the same one
	hk stop -t 0 a >/dev/null
	[ "$(address_of "$id" n1)" = null ]
	run -0 hk start a
	[ "$(address_of "$id" n1)" = 10.123.0.50 ]
	hk rm -f a >/dev/null
	net_clean
}

@test "netflags: --add-host, --dns, --dns-search, --dns-option: /etc/hosts and resolv.conf, also after a restart" {
	run -0 hk run -d --name a --add-host db.example:10.1.2.3 --add-host v6.example:fd00::7 --dns 192.0.2.53 \
		--dns 192.0.2.54 --dns-search example.com --dns-search corp.example --dns-option ndots:2 busybox sleep 1000
	run -0 hk exec a cat /etc/hosts
	[[ "$output" == *"10.1.2.3	db.example"* ]] || fail "$output"
	[[ "$output" == *"fd00::7	v6.example"* ]] || fail "$output"
	run -0 hk exec a cat /etc/resolv.conf
	[ "$(grep -c nameserver <<<"$output")" -eq 2 ] || fail "$output"
	[[ "$output" == *"nameserver 192.0.2.53"*"nameserver 192.0.2.54"* ]] || fail "$output"
	[[ "$output" == *"search example.com corp.example"* ]] || fail "$output"
	[[ "$output" == *"options ndots:2"* ]] || fail "$output"
	[ "$(hk inspect -f '{{json .HostConfig.Dns}}' a)" = '["192.0.2.53","192.0.2.54"]' ]
	[ "$(hk inspect -f '{{json .HostConfig.DnsSearch}}' a)" = '["example.com","corp.example"]' ]
	[ "$(hk inspect -f '{{json .HostConfig.DnsOptions}}' a)" = '["ndots:2"]' ]
	[ "$(hk inspect -f '{{json .HostConfig.ExtraHosts}}' a)" = '["db.example:10.1.2.3","v6.example:fd00::7"]' ]
	hk stop -t 0 a >/dev/null
	hk start a >/dev/null
	run -0 hk exec a cat /etc/hosts
	[[ "$output" == *"10.1.2.3	db.example"* ]] || fail "after restart: $output"
	run -0 hk exec a cat /etc/resolv.conf
	[[ "$output" == *"nameserver 192.0.2.53"* ]] || fail "after restart: $output"
	hk rm -f a >/dev/null
	# bad input
	run -125 --separate-stderr hk run --rm --add-host nocolon busybox true
	[[ "$stderr" == *"--add-host nocolon: expected NAME:IP"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --add-host db:10.1.2 busybox true
	[[ "$stderr" == *"expected NAME:IP"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --dns not.an.ip busybox true
	[[ "$stderr" == *"--dns not.an.ip: not an IP address"* ]] || fail "$stderr"
	net_clean
}

@test "netflags: -p ranges, with an address and /udp; husk port shows them; bad ranges refused" {
	run -0 hk run -d --name web -p 8080-8081:80-81 -p 127.0.0.1:9000-9001:7000-7001/udp busybox sh -c \
		'echo eighty >/tmp/index.html; httpd -p 80 -h /tmp; httpd -p 81 -h /tmp; exec sleep 1000'
	run -0 hk port web
	[ "$output" = "$(printf '80/tcp -> 0.0.0.0:8080\n81/tcp -> 0.0.0.0:8081\n7000/udp -> 127.0.0.1:9000\n7001/udp -> 127.0.0.1:9001')" ] || fail "$output"
	eventually inhost busybox timeout 5 wget -q -O- http://192.0.2.1:8081/
	run -0 inhost busybox timeout 5 wget -q -O- http://192.0.2.1:8081/
	[ "$output" = eighty ]
	run -0 jq -r '.leases | keys | join(" ")' "$HUSK_STORAGE/networks/ports.json"
	[ "$output" = "tcp/0.0.0.0/8080 tcp/0.0.0.0/8081 udp/127.0.0.1/9000 udp/127.0.0.1/9001" ] || fail "$output"
	# a range overlapping it: refused, naming the holder
	run -125 --separate-stderr hk run --rm -p 8079-8080:80-81 busybox true
	[[ "$stderr" == *"host port 8080/tcp is already published by container"* ]] || fail "$stderr"
	hk rm -f web >/dev/null
	run -125 --separate-stderr hk run --rm -p 8080-8081:80 busybox true
	[[ "$stderr" == *"the host range has 2 ports and the container range 1"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -p 8080-8082:80-81 busybox true
	[[ "$stderr" == *"give ranges of the same length"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -p 8090-8080:80-90 busybox true
	[[ "$stderr" == *"ends before it starts"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -p 80-x busybox true
	[[ "$stderr" == *"is not a number"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -p :80 busybox true
	[[ "$stderr" == *"expected [HOSTIP:][HOSTPORT:]CONTAINERPORT"* ]] || fail "$stderr"
	net_clean
}

@test "netflags: -p 80 and -p IP::80 get random free host ports from the ephemeral range, never the same twice" {
	local lo hi
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	run -0 hk run -d --name a -p 80 -p 127.0.0.1::81 busybox sh -c 'echo random >/tmp/index.html; exec httpd -f -p 80 -h /tmp'
	run -0 hk run -d --name b -p 80 busybox sleep 1000
	pa=$(hk inspect a | jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort')
	pa81=$(hk inspect a | jq -r '.[0].NetworkSettings.Ports["81/tcp"][0].HostPort')
	pb=$(hk inspect b | jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort')
	for p in "$pa" "$pa81" "$pb"; do
		[ "$p" -ge "$lo" ] && [ "$p" -le "$hi" ] || fail "port $p outside $lo-$hi"
	done
	[ "$pa" != "$pb" ] || fail "both got $pa"
	run -0 hk port a 80
	[ "$output" = "0.0.0.0:$pa" ] || fail "$output"
	run -0 hk port a 81
	[ "$output" = "127.0.0.1:$pa81" ] || fail "$output"
	eventually inhost busybox timeout 5 wget -q -O- "http://192.0.2.1:$pa/"
	run -0 inhost busybox timeout 5 wget -q -O- "http://192.0.2.1:$pa/"
	[ "$output" = random ]
	# the record keeps what was asked ("80"), the lease what was chosen
	[ "$(hk inspect -f '{{json .HostConfig.PortSpecs}}' a)" = '["80","127.0.0.1::81"]' ]
	[ "$(jq -r --arg k "tcp/0.0.0.0/$pa" '.leases[$k]' "$HUSK_STORAGE/networks/ports.json")" = "$(hk inspect -f '{{.Id}}' a)" ]
	hk rm -f a b >/dev/null
	net_clean
}

@test "netflags: -P publishes every port the image exposes to random host ports; none exposed, none published" {
	img=$(hk image load "$FIX/L" | sed -n 's/^Loaded image: sha256:\(.\{12\}\).*/\1/p')
	[ -n "$img" ] || fail "no image loaded"
	run -0 hk run -d --name a -P "$img" sleep 1000
	run -0 hk port a
	[[ "$output" == *"53/udp -> 0.0.0.0:"* ]] || fail "$output"
	[[ "$output" == *"80/tcp -> 0.0.0.0:"* ]] || fail "$output"
	[ "$(echo "$output" | wc -l)" -eq 2 ] || fail "$output"
	[ "$(hk inspect -f '{{.HostConfig.PublishAllPorts}}' a)" = true ]
	[ "$(jq '.leases | length' "$HUSK_STORAGE/networks/ports.json")" -eq 2 ]
	# busybox exposes nothing: -P is no error and publishes nothing
	run -0 hk run -d --name b -P busybox sleep 1000
	run -0 hk port b
	[ -z "$output" ] || fail "$output"
	[ "$(jq '.leases | length' "$HUSK_STORAGE/networks/ports.json")" -eq 2 ]
	# restarted: random ports again, still two
	hk stop -t 0 a >/dev/null
	hk start a >/dev/null
	[ "$(hk port a | wc -l)" -eq 2 ]
	hk rm -f a b >/dev/null
	net_clean
}

@test "netflags: network connect/disconnect on a running container: eth1 with a lease, gone on disconnect" {
	mknet n1 10.123.0.0/24
	mknet n2 10.124.0.0/24
	run -0 hk run -d --name a --network n1 busybox sleep 1000
	id=$output
	run -0 hk run -d --name b --network n2 busybox sleep 1000
	idb=$output
	run -0 hk network connect --ip 10.124.0.77 --alias web --alias www n2 a
	[ "$(hk inspect a | jq -c '.[0].NetworkSettings.Networks.n2.Aliases')" = '["web","www"]' ]
	# usage errors: 125
	run -125 hk network connect n2
	run -125 hk network connect --alias 'a/b' n2 a
	run -0 hk network connect --help
	[[ "$output" == *"usage: husk network connect"* ]]
	run -0 hk network disconnect --help
	[[ "$output" == *"usage: husk network disconnect"* ]]
	run -0 hk exec a ip -4 -o addr show eth1
	[[ "$output" == *"10.124.0.77/24"* ]] || fail "$output"
	[ "$(address_of "$id" n2)" = 10.124.0.77 ]
	[ "$(hk inspect -f '{{.NetworkSettings.Networks.n2.IPAddress}}' a)" = 10.124.0.77 ]
	# a reaches b over eth1; its default route stays on eth0
	bip=$(address_of "$idb" n2)
	run -0 hk exec a ping -c 1 -W 2 "$bip"
	run -0 hk exec a ip route show default
	[[ "$output" == *"dev eth0"* ]] || fail "$output"
	# connected twice, or to a network that does not exist: refused
	run -1 --separate-stderr hk network connect n2 a
	[[ "$stderr" == *"already connected to network \"n2\""* ]] || fail "$stderr"
	run -1 --separate-stderr hk network connect nosuch a
	[[ "$stderr" == *"no network \"nosuch\""* ]] || fail "$stderr"
	# disconnected: eth1 and its lease go
	run -0 hk network disconnect n2 a
	run -0 hk exec a ip -o link
	[[ "$output" != *eth1* ]] || fail "$output"
	[ "$(address_of "$id" n2)" = null ]
	[ "$(hk inspect a | jq -c '.[0].NetworkSettings.Networks.n2')" = null ]
	run -1 --separate-stderr hk network disconnect n2 a
	[[ "$stderr" == *"is not connected to network \"n2\""* ]] || fail "$stderr"
	hk rm -f a b >/dev/null
	net_clean
}

@test "netflags: network connect is kept: a restart joins every network again, a stop releases every lease" {
	mknet n1 10.123.0.0/24
	mknet n2 10.124.0.0/24
	run -0 hk run -d --name a --network n1 busybox sleep 1000
	id=$output
	run -0 hk network connect n2 a
	[ "$(address_of "$id" n2)" != null ]
	hk stop -t 0 a >/dev/null
	# both leases released
	[ "$(address_of "$id" n1)" = null ]
	[ "$(address_of "$id" n2)" = null ]
	hk start a >/dev/null
	run -0 hk exec a ip -4 -o addr show eth1
	[[ "$output" == *"10.124.0."* ]] || fail "$output"
	[ "$(address_of "$id" n2)" != null ]
	hk stop -t 0 a >/dev/null
	# connected while stopped: joined at its next start
	mknet n3 10.125.0.0/24
	run -0 hk network connect --ip 10.125.0.9 n3 a
	[ "$(address_of "$id" n3)" = null ]
	hk start a >/dev/null
	run -0 hk exec a ip -4 -o addr
	[[ "$output" == *"eth2"*"10.125.0.9/24"* ]] || fail "$output"
	hk rm -f a >/dev/null
	net_clean
}
