#!/usr/bin/env bats
# Volumes: -v (host paths, named, anonymous), --mount, --tmpfs, --volumes-from, the image's
# Volumes, seeding, husk volume create|ls|inspect|rm|prune, husk rm -v; and volumes as a hostile
# surface: symlinks a container plants (absolute, climbing, a symlinked parent, racing renames)
# cannot make a later mount, a seed copy or husk cp write outside (a canary on the host).

load helpers

setup_file() {
	export FIX=$BATS_FILE_TMPDIR
	"$HUSK" --storage "$FIX/store" image bootstrap busybox >/dev/null
	# an image with Volumes (/seeded, /empty), content owned by 1000:1000 mode 0750 at /seeded,
	# and symlinks that point at the host's canary path (absolute and climbing) under /seeded
	(
		cd "$FIX"
		umoci init --layout L
		umoci new --image L:vol
		umoci unpack --image L:vol b >/dev/null
		cp -a "$TEST_ROOTFS"/. b/rootfs/
		mkdir -p b/rootfs/seeded/sub
		echo from-image > b/rootfs/seeded/file
		echo deep > b/rootfs/seeded/sub/f
		chown -R 1000:1000 b/rootfs/seeded
		chmod 0750 b/rootfs/seeded
		ln -s "$FIX/canary" b/rootfs/seeded/abs
		ln -s ../../../../../../../../.."$FIX/canary" b/rootfs/seeded/rel
		# the mount point itself a symlink to a host path: resolved in the image, never the host
		ln -s "$FIX/canary" b/rootfs/linked
		umoci repack --image L:vol b
		rm -rf b
		umoci config --image L:vol --config.volume /seeded --config.volume /empty
	) >"$FIX/setup.log" 2>&1 || { cat "$FIX/setup.log"; return 1; }
	"$HUSK" --storage "$FIX/store" image load "$FIX/L" volimg:latest >/dev/null
}

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hkv.XXXXXX")
	export HUSK_STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
	cp -al "$FIX/store" "$HUSK_STORAGE"
	# the canary: a host directory the planted symlinks aim at; it must never change
	CANARY=$TEST_DIR/canary
	mkdir -p "$CANARY" "$FIX/canary"
	echo untouched > "$CANARY/keep"
	echo untouched > "$FIX/canary/keep"
	enter_test_cgroup
}

canary_unchanged() {
	[ "$(ls -A "$CANARY")" = keep ] || fail "the canary $CANARY changed: $(ls -la "$CANARY")"
	[ "$(cat "$CANARY/keep")" = untouched ] || fail "the canary's file changed"
	[ "$(ls -A "$FIX/canary")" = keep ] || fail "the canary $FIX/canary changed: $(ls -la "$FIX/canary")"
}

# no container, volume, monitor, mount or runtime state of the test may stay
teardown() {
	local ids left vols mounts runtime engine_rt
	ids=$(ls "$HUSK_STORAGE/containers" 2>/dev/null || true)
	[ -z "$ids" ] || "$HUSK" --root "$RUNROOT" rm -f $ids >/dev/null 2>&1 || true
	left=$(ps -eo pid=,args= | grep -F -- "$TEST_DIR" | grep -v grep || true)
	[ -z "$left" ] || { for pid in $(echo "$left" | awk '{print $1}'); do kill -9 "$pid" 2>/dev/null; done; }
	"$HUSK" --root "$RUNROOT" volume prune -a -f >/dev/null 2>&1 || true
	vols=$(ls "$HUSK_STORAGE/volumes" 2>/dev/null || true)
	mounts=$(grep -c "$TEST_DIR" /proc/self/mountinfo || true)
	leave_test_cgroup
	runtime=$(ls "$RUNROOT" 2>/dev/null || true)
	engine_rt=$(ls "$RUNROOT-engine" 2>/dev/null || true)
	[ "$mounts" -eq 0 ] || { umount -l $(grep "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}') 2>/dev/null; }
	rm -rf "$TEST_DIR"
	[ -z "$ids" ] || fail "containers left by the test: $ids"
	[ -z "$left" ] || fail "processes left: $left"
	[ -z "$vols" ] || fail "volumes left (in use?): $vols"
	[ "$mounts" -eq 0 ] || fail "mounts left: $mounts"
	[ -z "$runtime$engine_rt" ] || fail "runtime state left: $runtime $engine_rt"
}

# the engine on this test's store and root; never the host's network
hk() {
	if [ "${1:-}" = run ]; then
		shift
		"$HUSK" --root "$RUNROOT" run --network none "$@"
	else
		"$HUSK" --root "$RUNROOT" "$@"
	fi
}

mounts_of() { hk inspect -f '{{json .Mounts}}' "$1"; }

@test "-v HOST:TARGET: a missing host path is made; ro; in the record's Mounts; husk start mounts it again" {
	[ ! -e "$TEST_DIR/host/dir" ]
	run -0 hk run --name c -v "$TEST_DIR/host/dir:/data" -v "$TEST_DIR/ro:/ro:ro" busybox \
		sh -c 'echo hi > /data/f; touch /ro/x 2>/dev/null && echo writable; grep -E " /(data|ro) " /proc/self/mountinfo'
	[ -d "$TEST_DIR/host/dir" ] || fail "the host path was not made"
	[ "$(cat "$TEST_DIR/host/dir/f")" = hi ]
	[[ "$output" != *writable* ]] || fail "/ro was writable: $output"
	grep -q " /ro ro," <<<"$output" || fail "/ro not read-only: $output"
	run -0 mounts_of c
	[ "$(jq -r '.[] | select(.Destination=="/data") | .Type + " " + .Source + " " + (.RW|tostring)' <<<"$output")" = "bind $TEST_DIR/host/dir true" ]
	[ "$(jq -r '.[] | select(.Destination=="/ro") | .Mode + " " + (.RW|tostring) + " " + .Propagation' <<<"$output")" = "ro false rprivate" ]
	# husk start reuses config.json: the same mount
	rm "$TEST_DIR/host/dir/f"
	run -0 hk start -a c
	[ -e "$TEST_DIR/host/dir/f" ] || fail "husk start did not mount /data: $output"
	hk rm c >/dev/null
}

@test "named volume: made on first use, seeded from the image (owner, mode, content); an existing one untouched; nocopy" {
	run -0 hk run --rm -v vol1:/seeded volimg sh -c 'stat -c "%u:%g %a" /seeded; cat /seeded/file /seeded/sub/f; echo new > /seeded/mine'
	[ "${lines[0]}" = "1000:1000 750" ] || fail "$output"
	[ "${lines[1]}" = from-image ] && [ "${lines[2]}" = deep ] || fail "$output"
	run -0 hk volume inspect vol1
	[ "$(jq -r '.[0].Driver + " " + .[0].Name' <<<"$output")" = "local vol1" ]
	data=$(jq -r '.[0].Mountpoint' <<<"$output")
	[ "$data" = "$HUSK_STORAGE/volumes/vol1/_data" ]
	[ "$(cat "$data/mine")" = new ]
	# the volume outlived the container (--rm keeps named volumes); a second container sees it as
	# left, not seeded again
	rm "$data/file"
	run -0 hk run --rm -v vol1:/seeded volimg ls /seeded
	[[ "$output" != *file* && "$output" == *mine* ]] || fail "an existing volume was seeded again: $output"
	# volume-nocopy: a new volume stays empty
	run -0 hk run --rm --mount type=volume,src=vol2,dst=/seeded,volume-nocopy busybox ls -A /seeded
	[ -z "$output" ] || fail "nocopy seeded: $output"
	run -0 hk volume rm vol1 vol2
}

@test "-v PATH and the image's Volumes are anonymous volumes; husk rm -v removes them, named ones stay; --rm too" {
	run -0 hk run --name a -v /anon -v named:/named volimg sh -c 'cat /seeded/file; ls -d /empty /anon'
	[ "${lines[0]}" = from-image ]
	run -0 mounts_of a
	[ "$(jq -r '[.[] | .Destination] | sort | join(" ")' <<<"$output")" = "/anon /empty /named /seeded" ]
	[ "$(jq -r '[.[] | .Type] | unique | join(" ")' <<<"$output")" = volume ]
	anon=$(jq -r '.[] | select(.Destination=="/anon") | .Name' <<<"$output")
	[[ "$anon" =~ ^[0-9a-f]{64}$ ]] || fail "anonymous volume name: $anon"
	run -0 hk volume inspect "$anon"
	[ "$(jq -r '.[0].Labels["com.docker.volume.anonymous"]' <<<"$output")" = "" ]
	run -0 hk volume ls -q
	[ "${#lines[@]}" -eq 4 ] || fail "$output"
	# -v given for an image's volume replaces it
	run -0 hk run --rm -v named:/seeded volimg true
	run -0 hk volume ls -q
	[ "${#lines[@]}" -eq 4 ] || fail "--rm left an anonymous volume: $output"
	run -0 hk rm -v a
	run -0 hk volume ls -q
	[ "$output" = named ] || fail "rm -v: $output"
	hk volume rm named >/dev/null
}

@test "--mount bind|volume|tmpfs with docker's keys, --tmpfs with options" {
	mkdir "$TEST_DIR/src"
	echo b > "$TEST_DIR/src/f"
	run -0 hk run --rm --mount "type=bind,source=$TEST_DIR/src,target=/b,readonly" \
		--mount type=volume,source=mv,destination=/v \
		--mount type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770 \
		--tmpfs /t2:size=2m,mode=700 busybox \
		sh -c 'cat /b/f; touch /b/x 2>/dev/null && echo writable; stat -c %a /t /t2; df -k /t /t2 | tail -2; grep -E " /(b|t|t2) " /proc/self/mountinfo'
	[ "${lines[0]}" = b ] || fail "$output"
	[[ "$output" != *writable* ]] || fail "$output"
	[ "${lines[1]}" = 1770 ] && [ "${lines[2]}" = 700 ] || fail "$output"
	grep -Eq '^tmpfs +1024 ' <<<"$output" || fail "tmpfs-size: $output"
	grep -Eq '^tmpfs +2048 ' <<<"$output" || fail "--tmpfs size: $output"
	grep -q " /t2 .*noexec" <<<"$output" || fail "--tmpfs is noexec as docker's: $output"
	# --mount type=bind does not make a missing source (docker's rule), -v does
	run -125 --separate-stderr hk run --rm --mount "type=bind,src=$TEST_DIR/missing,dst=/m" busybox true
	[[ "$stderr" == *"$TEST_DIR/missing does not exist"* ]] || fail "$stderr"
	[ ! -e "$TEST_DIR/missing" ]
	hk volume rm mv >/dev/null
}

@test "--volumes-from: the same volumes and binds at the same targets, :ro" {
	mkdir "$TEST_DIR/src"
	run -0 hk run --name donor -v shared:/s -v "$TEST_DIR/src:/b" busybox sh -c 'echo one > /s/f'
	run -0 hk run --rm --volumes-from donor busybox sh -c 'cat /s/f; echo two > /b/g'
	[ "$output" = one ]
	[ "$(cat "$TEST_DIR/src/g")" = two ]
	run -0 hk run --rm --volumes-from donor:ro busybox sh -c 'touch /s/x 2>/dev/null && echo writable; cat /s/f'
	[ "$output" = one ] || fail "$output"
	run -125 --separate-stderr hk run --rm --volumes-from nosuch busybox true
	[[ "$stderr" == *"--volumes-from nosuch"* ]] || fail "$stderr"
	hk rm donor >/dev/null
	hk volume rm shared >/dev/null
}

@test "volume create (labels, opts, a made-up name), ls (-q, --filter), inspect, rm (-f), prune (--all)" {
	run -0 hk volume create --label team=a --opt o=1 lab
	[ "$output" = lab ]
	run -0 hk volume create
	gen=$output
	[[ "$gen" =~ ^[0-9a-f]{64}$ ]] || fail "$gen"
	run -0 hk volume create lab
	[ "$output" = lab ]
	# creators racing for one name: all succeed, one volume, never one without its record
	for i in 1 2 3 4 5 6; do hk volume create racing >"$TEST_DIR/c$i" 2>&1 & done
	wait
	for i in 1 2 3 4 5 6; do [ "$(cat "$TEST_DIR/c$i")" = racing ] || fail "creator $i: $(cat "$TEST_DIR/c$i")"; done
	run -0 hk volume rm racing
	run -0 hk volume ls
	[ "${lines[0]}" = "DRIVER     VOLUME NAME" ] && [ "${#lines[@]}" -eq 3 ] || fail "$output"
	run -0 hk volume ls -q --filter label=team=a
	[ "$output" = lab ]
	run -0 hk volume ls -q --filter name=la
	[ "$output" = lab ]
	run -0 hk volume inspect lab
	[ "$(jq -r '.[0] | .Labels.team + .Options.o + .Scope' <<<"$output")" = a1local ]
	run -1 --separate-stderr hk volume inspect nosuch
	[[ "$stderr" == *"no such volume: nosuch"* ]] || fail "$stderr"
	run -1 hk volume rm nosuch
	run -0 hk volume rm -f nosuch
	# prune: named volumes only with --all
	run -0 hk volume create
	# an anonymous volume left unused (rm without -v), one in use by a stopped container
	run -0 hk run --name gone -v /anon busybox true
	anon=$(mounts_of gone | jq -r '.[0].Name')
	hk rm gone >/dev/null
	run -0 hk run --name keep -v /kept busybox true
	run -0 hk volume prune -f
	[ "$output" = "Deleted Volumes:"$'\n'"$anon" ] || fail "prune: $output"
	run -0 hk volume ls -q
	[ "${#lines[@]}" -eq 4 ] || fail "prune removed a named or used volume: $output"
	run -0 hk volume prune --all -f
	run -0 hk volume ls -q
	[ "${#lines[@]}" -eq 1 ] || fail "the used one must stay: $output"
	hk rm -v keep >/dev/null
}

@test "volume rm: refused while a container uses it, naming it (running or stopped)" {
	run -0 hk run -d --name user1 -v busy:/d busybox sleep 1000
	run -1 --separate-stderr hk volume rm busy
	[[ "$stderr" == *"volume busy is in use by container user1"* ]] || fail "$stderr"
	run -1 --separate-stderr hk volume rm -f busy
	[[ "$stderr" == *"in use"* ]] || fail "$stderr"
	hk stop -t 0 user1 >/dev/null
	run -1 --separate-stderr hk volume rm busy
	[[ "$stderr" == *"user1"* ]] || fail "a stopped container holds it too: $stderr"
	[ -d "$HUSK_STORAGE/volumes/busy/_data" ]
	hk rm user1 >/dev/null
	run -0 hk volume rm busy
	[ ! -e "$HUSK_STORAGE/volumes/busy" ]
}

@test "bad input: relative or .. targets, a name with /, unknown --mount keys and options, --help" {
	run -125 --separate-stderr hk run --rm -v "$TEST_DIR/x:data" busybox true
	[[ "$stderr" == *'the target "data" is not an absolute path'* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -v "$TEST_DIR/x:/data/../etc" busybox true
	[[ "$stderr" == *'"/data/../etc" has a ".." component'* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --mount type=tmpfs,target=/a/.. busybox true
	[[ "$stderr" == *'".." component'* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -v a/b:/data busybox true
	[[ "$stderr" == *'volume name "a/b": a name cannot contain "/"'* ]] || fail "$stderr"
	run -125 --separate-stderr hk volume create a/b
	[[ "$stderr" == *'cannot contain "/"'* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --mount type=bind,src=/tmp,target=/x,colour=blue busybox true
	[[ "$stderr" == *'unknown key "colour"'* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --mount type=nfs,target=/x busybox true
	[[ "$stderr" == *"type=nfs: one of bind, volume, tmpfs"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -v "$TEST_DIR/x:/x:rw,ro" busybox true
	[[ "$stderr" == *"ro and rw given twice"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -v "$TEST_DIR/x:/x:bogus" busybox true
	[[ "$stderr" == *'unknown option "bogus"'* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm --tmpfs /t:size=1m,dev=/etc busybox true
	[[ "$stderr" == *'unknown option "dev=/etc"'* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -v /x -v v1:/x busybox true
	[[ "$stderr" == *"duplicate mount point"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -v "$TEST_DIR/x:/" busybox true
	[[ "$stderr" == *"cannot be mounted on /"* ]] || fail "$stderr"
	[ ! -e "$TEST_DIR/x" ] || fail "a refused -v made its host path"
	run -0 hk volume ls -q
	[ -z "$output" ] || fail "a refused run left a volume: $output"
	for verb in create ls inspect rm prune; do
		run -0 --separate-stderr hk volume "$verb" --help
		[[ "$output" == "usage: husk volume $verb"* ]] || fail "$verb --help: $output"
	done
	run -0 hk volume --help
	run -125 hk volume ls --bogus
	run -125 hk volume nosuchverb
}

@test ":z and :Z are accepted; without SELinux nothing is relabelled (a debug line says so)" {
	[ ! -e /sys/fs/selinux/enforce ] || skip "SELinux is enabled here"
	mkdir "$TEST_DIR/z"
	run -0 --separate-stderr "$HUSK" --debug --root "$RUNROOT" run --network none --rm -v "$TEST_DIR/z:/z:z" -v zz:/zz:Z,ro busybox true
	[[ "$stderr" == *"SELinux is not enabled"* ]] || fail "$stderr"
	getfattr -n security.selinux "$TEST_DIR/z" 2>/dev/null && fail "labelled without SELinux"
	hk volume rm zz >/dev/null
}

# ---- hostile volumes ----

@test "hostile: symlinks planted in a volume (absolute, climbing, a symlinked parent) cannot redirect a later mount" {
	mkdir "$TEST_DIR/src"
	echo payload > "$TEST_DIR/src/p"
	run -0 hk run --rm -v trap:/data busybox sh -c "
		ln -s $CANARY /data/abs
		ln -s ../../../../../../../..$CANARY /data/rel
		mkdir -p /data/real && ln -s /data/abs /data/parent"
	# the trap is armed: followed on the host, each link lands in the canary
	[ "$(realpath "$HUSK_STORAGE/volumes/trap/_data/abs")" = "$CANARY" ]
	[ "$(realpath "$HUSK_STORAGE/volumes/trap/_data/rel")" = "$CANARY" ]
	# mounts whose targets go through each planted link: the bind, a tmpfs and a volume
	run -0 hk run --rm -v trap:/data -v "$TEST_DIR/src:/data/abs/x" --tmpfs /data/rel/t \
		-v other:/data/parent/y busybox sh -c 'echo w > /data/rel/t/f; echo w > /data/parent/y/f; cat /data/abs/x/p'
	[ "$output" = payload ] || fail "$output"
	canary_unchanged
	# the links are still links, in the volume; what was mounted went into the container's root
	[ -L "$HUSK_STORAGE/volumes/trap/_data/abs" ]
	hk volume rm trap other >/dev/null
}

@test "hostile: the seed copy never follows the image's symlinks (into the volume or at the mount point)" {
	run -0 hk run --rm -v seed1:/seeded -v seed2:/linked volimg sh -c 'ls -la /seeded; readlink /seeded/abs'
	[[ "$output" == *"$FIX/canary"* ]] || fail "the link was not copied as a link: $output"
	canary_unchanged
	[ -L "$HUSK_STORAGE/volumes/seed1/_data/abs" ] || fail "abs is not a symlink in the volume"
	[ -L "$HUSK_STORAGE/volumes/seed1/_data/rel" ] || fail "rel is not a symlink in the volume"
	# /linked is a link to the host's canary path: resolved in the image (nothing there)
	[ -z "$(ls -A "$HUSK_STORAGE/volumes/seed2/_data")" ] || fail "seeded from the host: $(ls -A "$HUSK_STORAGE/volumes/seed2/_data")"
	hk volume rm seed1 seed2 >/dev/null
}

@test "hostile: husk cp into a volume path through a planted symlink stays in the container" {
	echo copied > "$TEST_DIR/in"
	# the links' target exists only in the container's own root: that is where cp must write
	run -0 hk run -d --name holder -v cpvol:/data busybox sh -c "mkdir -p $CANARY; ln -s $CANARY /data/abs; ln -s ../../../../../..$CANARY /data/rel; sleep 1000"
	wait_for '[ -L "$HUSK_STORAGE/volumes/cpvol/_data/rel" ]'
	run -0 hk cp "$TEST_DIR/in" holder:/data/abs/in
	run -0 hk cp "$TEST_DIR/in" holder:/data/rel/in2
	canary_unchanged
	run -0 hk exec holder cat "$CANARY/in" "$CANARY/in2"
	[ "$output" = "copied"$'\n'"copied" ] || fail "$output"
	hk rm -f holder >/dev/null
	hk volume rm cpvol >/dev/null
}

@test "hostile: a rename loop racing in a running container cannot redirect another container's mount" {
	mkdir "$TEST_DIR/src"
	run -0 hk run -d --name racer -v race:/data busybox sh -c "
		mkdir -p /data/d
		while :; do
			mv /data/d /data/d.real; ln -s $CANARY /data/d; rm /data/d; mv /data/d.real /data/d
			ln -sfn ../../../../../..$CANARY /data/l; rm -f /data/l; mkdir -p /data/l; rmdir /data/l
		done"
	wait_for '[ -d "$HUSK_STORAGE/volumes/race/_data/d" ] || [ -L "$HUSK_STORAGE/volumes/race/_data/d" ]'
	for i in $(seq 1 15); do
		# each start either works or fails cleanly; never writes through the link
		hk run --rm -v race:/data -v "$TEST_DIR/src:/data/d/x" --tmpfs /data/l/t busybox \
			sh -c 'touch /data/d/x/ok /data/l/t/ok 2>/dev/null; true' >/dev/null 2>&1 || true
	done
	canary_unchanged
	hk rm -f racer >/dev/null
	hk volume rm race >/dev/null
}
