#!/usr/bin/env bats
# Names on a user network: the network's responder (husk-dns) on its gateway. The set-up is
# network.bats's: two network namespaces per test, "host" (husk, its bridges, the responder)
# and "inet" (the outside world, via 192.0.2.2), and no packet leaves them. The host's
# nameserver (the first non-loopback one of /etc/resolv.conf, if any) is played by a small
# python DNS server in inet (start_upstream), which answers every A query with 203.0.113.7,
# but big.example's with 50 addresses (over 512 bytes), over UDP and TCP.

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

@test "dns: one name per container (a second is refused), an alias two share answers with both addresses" {
	hk network create --subnet 10.78.0.0/24 lab
	a=$(hk run -d --name one --network lab --network-alias shared busybox sleep 1000)
	run -125 hk run -d --name one --network lab busybox sleep 1000
	[[ "$output" == *'"one" is already in use'* ]] || fail "$output"
	b=$(hk run -d --name two --network lab --network-alias shared busybox sleep 1000)
	all=$(hk exec one nslookup shared 2>/dev/null | awk '/^Name:/ { name = 1; next } name && /^Address/ { sub(/^Address:? */, ""); print }' | sort)
	[ "$all" = "$(printf '%s\n%s' "$(address_of "$a" lab)" "$(address_of "$b" lab)" | sort)" ] || fail "shared: $all"
	# one of them stops: the alias is the other's alone (polled: lookup_is)
	hk stop -t 0 two >/dev/null
	lookup_is one shared "$(address_of "$a" lab)"
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

# Play the host's resolver $1 in inet, over UDP and TCP: A queries get 203.0.113.7, but
# big.example and naive.example get 198.51.100.1-50 (about 830 bytes). Over UDP an answer
# bigger than the query allows (512, or its EDNS size) is cut with TC set, as a real server does,
# but naive.example's never is (the responder must cut it); "PROTO NAME EDNS-SIZE" of each
# query is written to $TEST_DIR/upstream-edns. Returns once it listens.
start_upstream() {
	ininet ip addr add "$1/32" dev lo
	cat >"$TEST_DIR/dns.py" <<'PY'
import socket, socketserver, struct, sys, threading
log = sys.argv[2]
def answer(data, tcp):
    qend = 12
    while data[qend]:
        qend += 1 + data[qend]
    qend += 5
    qname = data[12:qend-4]
    qtype = struct.unpack('!H', data[qend-4:qend-2])[0]
    ancount, arcount = 0, struct.unpack('!H', data[10:12])[0]
    edns = None
    if arcount and data[qend] == 0 and struct.unpack('!H', data[qend+1:qend+3])[0] == 41:
        edns = struct.unpack('!H', data[qend+3:qend+5])[0]
    with open(log, 'a') as f:
        f.write('%s %s %s\n' % ('tcp' if tcp else 'udp', qname[1:-1].decode(errors='replace'), edns))
    ans = b''
    if qtype == 1:
        big = qname in (b'\x03big\x07example\x00', b'\x05naive\x07example\x00')
        addrs = [bytes([198, 51, 100, i]) for i in range(1, 51)] if big else [bytes([203, 0, 113, 7])]
        for a in addrs:
            ans += b'\xc0\x0c' + struct.pack('!HHIH', 1, 1, 60, 4) + a
        ancount = len(addrs)
    opt = b'\x00' + struct.pack('!HHIH', 41, 1232, 0, 0) if edns is not None else b''
    flags = 0x8180
    msg = data[:2] + struct.pack('!HHHHH', flags, 1, ancount, 0, 1 if opt else 0) + data[12:qend] + ans + opt
    # naive.example: a server that does not cut (the responder must)
    if not tcp and len(msg) > max(512, edns or 0) and not qname.startswith(b'\x05naive'):
        msg = data[:2] + struct.pack('!HHHHH', flags | 0x0200, 1, 0, 0, 1 if opt else 0) + data[12:qend] + opt
    return msg
class U(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(answer(data, False), self.client_address)
class T(socketserver.BaseRequestHandler):
    def handle(self):
        n = struct.unpack('!H', self.request.recv(2, socket.MSG_WAITALL))[0]
        msg = answer(self.request.recv(n, socket.MSG_WAITALL), True)
        self.request.sendall(struct.pack('!H', len(msg)) + msg)
socketserver.TCPServer.allow_reuse_address = True
t = socketserver.ThreadingTCPServer((sys.argv[1], 53), T)
threading.Thread(target=t.serve_forever, daemon=True).start()
socketserver.UDPServer((sys.argv[1], 53), U).serve_forever()
PY
	nsenter --net="/run/netns/$INETNS" python3 "$TEST_DIR/dns.py" "$1" "$TEST_DIR/upstream-edns" 3>&- &
	echo $! >"$TEST_DIR/inetdns.pid"
	local i
	for i in $(seq 50); do
		ininet ss -Hlun "src $1" | grep -q . && ininet ss -Hltn "src $1" | grep -q . && return 0
		sleep 0.1
	done
	fail "the upstream did not start"
}

# A DNS client for what busybox's nslookup cannot do (TCP, EDNS), run in the host namespace
# from the gateway's address (the responder answers the network's addresses only): `dnsq SERVER NAME [tcp] [edns SIZE]` prints
# "tc=0|1 rcode=N opt=SIZE|none answers=N first=ADDR" (opt: the answer's OPT record's payload
# size), or fails when no answer comes (3 s).
dnsq() {
	cat >"$TEST_DIR/dnsq.py" <<'PY'
import random, socket, struct, sys
server, name, args = sys.argv[1], sys.argv[2], sys.argv[3:]
tcp = 'tcp' in args
edns = int(args[args.index('edns') + 1]) if 'edns' in args else None
qid = random.randrange(65536)
q = struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 1 if edns else 0)
q += b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0' + struct.pack('!HH', 1, 1)
if edns:
    q += b'\0' + struct.pack('!HHIH', 41, edns, 0, 0)
if tcp:
    s = socket.create_connection((server, 53), timeout=3)
    s.sendall(struct.pack('!H', len(q)) + q)
    def need(n):
        b = b''
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                sys.exit('connection closed')
            b += c
        return b
    m = need(struct.unpack('!H', need(2))[0])
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, (server, 53))
    m = s.recv(65536)
rid, flags, qd, an, ns, ar = struct.unpack('!HHHHHH', m[:12])
assert rid == qid, 'id'
def skip(o):
    while True:
        if m[o] >= 0xc0:
            return o + 2
        if m[o] == 0:
            return o + 1
        o += 1 + m[o]
o = 12
for _ in range(qd):
    o = skip(o) + 4
addrs, opt = [], 'none'
for i in range(an + ns + ar):
    o = skip(o)
    t, c, ttl, rl = struct.unpack('!HHIH', m[o:o+10])
    o += 10
    if i < an and t == 1:
        addrs.append(socket.inet_ntoa(m[o:o+4]))
    if t == 41:
        opt = c
    o += rl
print('tc=%d rcode=%d opt=%s answers=%d first=%s' % ((flags >> 9) & 1, flags & 15, opt, len(addrs), addrs[0] if addrs else ''))
PY
	local pid
	pid=$(hk inspect "$1" | jq -r '.[0].State.Pid')
	shift
	nsenter --net="/proc/$pid/ns/net" python3 "$TEST_DIR/dnsq.py" "$@"
}

# dnsq, its line in $output; its error as the test's failure
q() {
	run dnsq "$@"
	[ "$status" -eq 0 ] || fail "dnsq $*: $output"
}

@test "dns: a name of the world is forwarded to the host's resolver" {
	ns=$(host_nameserver)
	[ -n "$ns" ] || skip "the host's resolv.conf has no non-loopback IPv4 nameserver to stand in for"
	start_upstream "$ns"
	hk network create --subnet 10.79.0.0/24 lab
	hk run -d --name client --network lab busybox sleep 1000 >/dev/null
	lookup_is client example.org 203.0.113.7
	grep -q "listening on 10.79.0.1:53 (udp, tcp), 1 upstream" "$RUNROOT-engine/dns/lab.log" || fail "$(cat "$RUNROOT-engine/dns/lab.log")"
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

@test "dns: over TCP: a forwarded answer over 512 bytes, cut over UDP, comes whole; a local name" {
	ns=$(host_nameserver)
	[ -n "$ns" ] || skip "the host's resolv.conf has no non-loopback IPv4 nameserver to stand in for"
	start_upstream "$ns"
	hk network create --subnet 10.82.0.0/24 lab
	a=$(hk run -d --name web --network lab busybox sleep 1000)
	hk run -d --name client --network lab busybox sleep 1000 >/dev/null
	# no EDNS: 512 bytes at most over UDP, the upstream cuts
	q client 10.82.0.1 big.example
	[[ "$output" == "tc=1 rcode=0 opt=none answers=0 "* ]] || fail "udp: $output"
	# an upstream that does not cut: the responder does, keeping the question
	q client 10.82.0.1 naive.example
	[[ "$output" == "tc=1 rcode=0 opt=none answers=0 "* ]] || fail "udp, naive upstream: $output"
	# the client's retry over TCP: whole, forwarded to the upstream over TCP
	q client 10.82.0.1 big.example tcp
	[ "$output" = "tc=0 rcode=0 opt=none answers=50 first=198.51.100.1" ] || fail "tcp: $output"
	grep -qx "tcp big.example None" "$TEST_DIR/upstream-edns" || fail "upstream saw: $(cat "$TEST_DIR/upstream-edns")"
	q client 10.82.0.1 web tcp
	[ "$output" = "tc=0 rcode=0 opt=none answers=1 first=$(address_of "$a" lab)" ] || fail "web over tcp: $output"
	q client 10.82.0.1 WEB tcp edns 4096
	[ "$output" = "tc=0 rcode=0 opt=1232 answers=1 first=$(address_of "$a" lab)" ] || fail "WEB over tcp, edns: $output"
}

@test "dns: EDNS: the client's buffer size is honoured (capped at 1232) and told upstream; TC only when over it; OPT echoed" {
	ns=$(host_nameserver)
	[ -n "$ns" ] || skip "the host's resolv.conf has no non-loopback IPv4 nameserver to stand in for"
	start_upstream "$ns"
	hk network create --subnet 10.83.0.0/24 lab
	a=$(hk run -d --name web --network lab busybox sleep 1000)
	hk run -d --name client --network lab busybox sleep 1000 >/dev/null
	q client 10.83.0.1 big.example edns 4096
	[ "$output" = "tc=0 rcode=0 opt=1232 answers=50 first=198.51.100.1" ] || fail "edns 4096: $output"
	grep -qx "udp big.example 1232" "$TEST_DIR/upstream-edns" || fail "upstream saw: $(cat "$TEST_DIR/upstream-edns")"
	q client 10.83.0.1 naive.example edns 1000
	[ "$output" = "tc=0 rcode=0 opt=1232 answers=50 first=198.51.100.1" ] || fail "edns 1000, naive upstream: $output"
	# 600 bytes is less than the answer: cut, with the OPT record kept
	q client 10.83.0.1 naive.example edns 600
	[ "$output" = "tc=1 rcode=0 opt=1232 answers=0 first=" ] || fail "edns 600, naive upstream: $output"
	q client 10.83.0.1 big.example edns 600
	[ "$output" = "tc=1 rcode=0 opt=1232 answers=0 first=" ] || fail "edns 600: $output"
	# local answers: an OPT record when the query had one, none when not
	q client 10.83.0.1 web edns 4096
	[ "$output" = "tc=0 rcode=0 opt=1232 answers=1 first=$(address_of "$a" lab)" ] || fail "web, edns: $output"
	q client 10.83.0.1 web
	[ "$output" = "tc=0 rcode=0 opt=none answers=1 first=$(address_of "$a" lab)" ] || fail "web: $output"
}

@test "dns: a flood of idle TCP connections: at most 16 held, each closed after 2 s; UDP answered meanwhile" {
	hk network create --subnet 10.84.0.0/24 lab
	a=$(hk run -d --name web --network lab busybox sleep 1000)
	hk run -d --name client --network lab busybox sleep 1000 >/dev/null
	pid=$(responder_pid lab)
	[ -n "$pid" ] || fail "no responder"
	cat >"$TEST_DIR/flood.py" <<'PY'
import os, random, socket, struct, sys, time
server, name, pid, want = sys.argv[1:]
def nfds():
    return len(os.listdir('/proc/%s/fd' % pid))
base = nfds()
conns = []
for i in range(40):
    s = socket.create_connection((server, 53), timeout=5)
    s.send(b'\0')   # half a length prefix: stuck
    conns.append(s)
most = nfds()
qid = random.randrange(65536)
q = struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0) + bytes([len(name)]) + name.encode() + b'\0\0\1\0\1'
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
start = time.monotonic()
u.sendto(q, (server, 53))
m = u.recv(512)
took = time.monotonic() - start
got = socket.inet_ntoa(m[-4:]) if m[:2] == struct.pack('!H', qid) else 'wrong id'
most = max(most, nfds())
# every connection is closed by the responder: refused at once, or after its read timeout
closed = 0
deadline = time.monotonic() + 8
for s in conns:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        closed += s.recv(1) == b''
    except ConnectionResetError:
        closed += 1
    except socket.timeout:
        pass
    most = max(most, nfds())
print('held=%d took=%.1f got=%s closed=%d' % (most - base, took, got, closed))
PY
	cpid=$(hk inspect client | jq -r '.[0].State.Pid')
	run nsenter --net="/proc/$cpid/ns/net" python3 "$TEST_DIR/flood.py" 10.84.0.1 web "$pid" "$(address_of "$a" lab)"
	[ "$status" -eq 0 ] || fail "flood: $output"
	read -r held took got closed <<<"$output"
	[ "${held#held=}" -le 16 ] || fail "more than 16 connections held: $output"
	# bound: the read timeout; a responder stuck reading one client answers only after it
	[[ "$took" == took=[01].* ]] || fail "UDP answered late: $output"
	[ "$got" = "got=$(address_of "$a" lab)" ] || fail "$output"
	[ "$closed" = closed=40 ] || fail "connections left open: $output"
	kill -0 "$pid" || fail "the responder died"
	# the slots are free again
	q client 10.84.0.1 web tcp
	[ "$output" = "tc=0 rcode=0 opt=none answers=1 first=$(address_of "$a" lab)" ] || fail "tcp after the flood: $output"
}
