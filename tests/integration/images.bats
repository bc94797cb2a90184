#!/usr/bin/env bats
# Images: the store, bootstrap, import, load (archives made by umoci, skopeo and podman), pull
# from a real registry, `husk run IMAGE`, and what is left behind (nothing).

load helpers

setup_file() {
	export FIX=$BATS_FILE_TMPDIR
	# a multi-layer OCI layout made by umoci: layer 1 busybox plus files, layer 2 deletes some
	# (umoci writes the whiteouts), and an image config with Env, Entrypoint, Cmd, WorkingDir
	(
		cd "$FIX"
		umoci init --layout L
		umoci new --image L:multi
		umoci unpack --image L:multi b >/dev/null
		cp -a "$TEST_ROOTFS"/. b/rootfs/
		mkdir -p b/rootfs/gone b/rootfs/srv
		echo one > b/rootfs/etc/one
		echo x > b/rootfs/gone/f
		umoci repack --image L:multi b
		rm -rf b
		umoci unpack --image L:multi b >/dev/null
		rm -rf b/rootfs/gone b/rootfs/etc/one
		echo two > b/rootfs/etc/two
		umoci repack --image L:multi b
		rm -rf b
		umoci config --image L:multi --config.env PATH=/bin:/usr/bin --config.env FROM_IMAGE=yes \
			--config.entrypoint /bin/sh --config.entrypoint -c --config.cmd 'echo default cmd in $(pwd)' \
			--config.workingdir /srv --config.user nobody
		skopeo copy -q oci:L:multi docker-archive:d.tar:test/umoci:v1
		skopeo copy -q oci:L:multi oci-archive:o.tar:myrepo/img:v2
	) >"$FIX/setup.log" 2>&1 || { cat "$FIX/setup.log"; return 1; }
}

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hk.XXXXXX")
	export HUSK_STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
}

# nothing of a test may stay: no mount of the store, no container state, no snapshot
teardown() {
	local leaks
	leaks=$(grep -c "$TEST_DIR" /proc/self/mountinfo || true)
	# these tests must not make husk's bridge or table on the machine's own network: a network
	# a run used is recorded in this test's store (husk0 on the host may be anyone's)
	networks=$(ls "$HUSK_STORAGE/networks" 2>/dev/null | grep -v '^lock$\|^ports.json$' || true)
	# servers a test started (by pid, also when it failed half-way)
	for pidfile in "$TEST_DIR/proxy.pid" "$TEST_DIR/reg/registry.pid"; do
		[ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null && sleep 0.1
	done
	[ -d "$RUNROOT" ] && for id in $(ls "$RUNROOT"); do "$HUSK" oci --root "$RUNROOT" delete --force "$id" >/dev/null 2>&1; done
	rm -rf "$TEST_DIR"
	[ "$leaks" -eq 0 ] || fail "mounts left: $leaks"
	[ -z "$networks" ] || fail "a run used the host's network: $networks"
}

# husk run's default bridge would be made on this machine's own network: these tests are about
# images, so their containers have only lo (network.bats plays in namespaces of its own)
hk() {
	local globals=()
	while [ "${1:-}" = --debug ]; do globals+=("$1"); shift; done
	if [ "${1:-}" = run ]; then
		shift
		"$HUSK" --root "$RUNROOT" "${globals[@]}" run --network none "$@"
	else
		"$HUSK" --root "$RUNROOT" "${globals[@]}" "$@"
	fi
}

no_containers_left() {
	[ -z "$(ls "$HUSK_STORAGE/containers")" ] || fail "snapshots left: $(ls "$HUSK_STORAGE/containers")"
	[ -z "$(ls "$RUNROOT" 2>/dev/null)" ] || fail "state left: $(ls "$RUNROOT")"
	[ -z "$(ls "$HUSK_STORAGE/tmp")" ] || fail "tmp left: $(ls "$HUSK_STORAGE/tmp")"
}

@test "bootstrap busybox, list it, run it with --rm: output, exit status, nothing left" {
	run -0 hk image bootstrap busybox
	id=$output
	[[ $id == sha256:* ]]
	run -0 hk images
	[[ $output == *"localhost/busybox"*"latest"*"${id:7:12}"* ]] || fail "$output"
	run -0 hk run --rm busybox sh -c 'echo hello; cat /etc/passwd | head -1; ls /bin/ls'
	[[ $output == *hello*root:x:0:0*"/bin/ls"* ]] || fail "$output"
	run -3 hk run --rm busybox sh -c 'exit 3'
	no_containers_left
	# the same busybox gives the same image
	run -0 hk image bootstrap busybox other
	[ "$output" = "$id" ]
}

@test "run: the container's root is an overlay that the host's mount table never holds" {
	hk image bootstrap busybox >/dev/null
	# the container holds on until the host's mounts are looked at (a line on its stdin)
	mkfifo "$TEST_DIR/release"
	hk run --rm -i busybox sh -c 'grep " / " /proc/self/mountinfo; echo husk-upper-marker-42 > /etc/new; read line' < "$TEST_DIR/release" > "$TEST_DIR/out" &
	exec 5> "$TEST_DIR/release"
	wait_for '[ -n "$(ls "$HUSK_STORAGE"/containers/*/upper/etc/new 2>/dev/null)" ]'
	! grep -q overlay /proc/self/mountinfo || ! grep overlay /proc/self/mountinfo | grep -q "$TEST_DIR" || fail "overlay in the host's mounts"
	echo go >&5
	exec 5>&-
	wait
	grep -q ' / / .*overlay' "$TEST_DIR/out" || fail "$(cat "$TEST_DIR/out")"
	# the write went to the container's upper directory, not into the image's layer
	! grep -rqF husk-upper-marker-42 "$HUSK_STORAGE/layers" || fail "the layer was written to"
	no_containers_left
}

@test "run: image config and flags: Env, Entrypoint, Cmd, WorkingDir, User; -e -w -u -h --entrypoint" {
	hk image load "$FIX/L" multi:latest
	run -0 hk run --rm multi
	[ "$output" = "default cmd in /srv" ] || fail "$output"
	run -0 hk run --rm multi 'id; echo $FROM_IMAGE $HOME; hostname'
	[[ $output == "uid=65534(nobody) gid=65534(nogroup)"*"yes /"* ]] || fail "$output"
	run -0 hk run --rm -e FROM_IMAGE=overridden -e NEW=1 -w /tmp -u 1000:5 -h box multi 'echo $FROM_IMAGE $NEW; pwd; id; hostname'
	[ "$output" = "$(printf 'overridden 1\n/tmp\nuid=1000(user) gid=5(tty)\nbox')" ] || fail "$output"
	HOST_VAR=from-host run -0 hk run --rm -e HOST_VAR multi 'echo $HOST_VAR'
	[ "$output" = from-host ]
	# --entrypoint replaces the image's and drops its Cmd
	run -0 hk run --rm --entrypoint /bin/echo multi a b
	[ "$output" = "a b" ]
	run -0 hk run --rm -u user multi 'id -u; echo $HOME'
	[ "$output" = "$(printf '1000\n/home')" ] || fail "$output"
	run -125 --separate-stderr hk run --rm -u ghost multi true
	[[ $stderr == "husk: run: user ghost is not in the image's /etc/passwd"* ]] || fail "$stderr"
	run -125 --separate-stderr hk run --rm -w relative multi true
	[[ $stderr == *"working directory \"relative\" is not absolute"* ]] || fail "$stderr"
	no_containers_left
}

@test "run: -t gives a terminal, -i passes stdin, without -i stdin is empty" {
	hk image bootstrap busybox >/dev/null
	run -0 script -qec "$HUSK --root $RUNROOT run --network none --rm -it busybox sh -c 'tty; echo \$TERM'" /dev/null </dev/null
	[[ $output == *"/dev/pts/0"*xterm* ]] || fail "$output"
	run -0 sh -c "echo piped | $HUSK --root $RUNROOT run --network none --rm -i busybox cat"
	[ "$output" = piped ]
	run -0 sh -c "echo piped | $HUSK --root $RUNROOT run --network none --rm busybox cat"
	[ "$output" = "" ]
	run -125 --separate-stderr hk run --rm -t busybox true </dev/null
	[[ $stderr == *"-t needs a terminal"* ]]
	no_containers_left
}

@test "run without --rm keeps the container's filesystem until husk rm" {
	hk image bootstrap busybox >/dev/null
	run -0 --separate-stderr hk --debug run busybox sh -c 'echo kept > /root/file'
	id=$(ls "$HUSK_STORAGE/containers")
	[ -n "$id" ]
	[ "$(cat "$HUSK_STORAGE/containers/$id/upper/root/file")" = kept ]
	# the image cannot go while a container uses it
	run -1 --separate-stderr hk image rm busybox
	[[ $stderr == *"used by container $id"* ]] || fail "$stderr"
	run -0 hk rm "$id"
	no_containers_left
	run -1 --separate-stderr hk rm "$id"
	[[ $stderr == *"no container \"$id\""* ]]
	run -0 hk image rm busybox
}

@test "import: a root filesystem tarball, plain and gzip, from a file and from stdin" {
	tar -C "$TEST_ROOTFS" -cf "$TEST_DIR/rootfs.tar" .
	gzip -c "$TEST_DIR/rootfs.tar" > "$TEST_DIR/rootfs.tar.gz"
	run -0 hk image import "$TEST_DIR/rootfs.tar" plain
	run -0 sh -c "$HUSK image import - gz:1 < $TEST_DIR/rootfs.tar.gz"
	run -0 hk run --rm gz:1 cat /etc/group
	[[ $output == root:x:0:* ]]
	run -0 hk run --rm localhost/plain:latest true
	run -0 hk image inspect plain
	[ "$(echo "$output" | jq -r '.[0].Config.rootfs.diff_ids[0]')" = "sha256:$(sha256sum < "$TEST_DIR/rootfs.tar" | cut -d' ' -f1)" ]
	printf 'not a tar' > "$TEST_DIR/junk"
	run -1 --separate-stderr hk image import "$TEST_DIR/junk" junk
	[[ $stderr == "husk: image import: "* ]] || fail "$stderr"
	run -0 hk images
	[ "$(echo "$output" | grep -c localhost/)" -eq 2 ] || fail "$output"
	no_containers_left
}

@test "load: umoci's OCI layout (multi-layer, whiteouts), skopeo's docker-archive and oci-archive" {
	run -0 hk image load "$FIX/L"
	[[ $output == "Loaded image: sha256:"* ]] || fail "$output"
	run -0 hk image load "$FIX/d.tar"
	[ "$output" = "Loaded image: docker.io/test/umoci:v1" ]
	run -0 hk image load "$FIX/o.tar"
	[ "$output" = "Loaded image: docker.io/myrepo/img:v2" ]
	for image in test/umoci:v1 myrepo/img:v2; do
		run -0 hk run --rm "$image" 'cat /etc/two; ls /etc/one /gone 2>&1; true'
		[[ $output == two*"/etc/one: No such file"*"/gone: No such file"* ]] || fail "$image: $output"
	done
	run -0 hk image inspect test/umoci:v1
	[ "$(echo "$output" | jq '.[0].Manifest.layers | length')" -eq 2 ]
	no_containers_left
}

@test "load: podman save archives (docker-archive and oci-archive)" {
	[ -x "$BATS_TEST_DIRNAME/../../../shared/peers/podman.sh" ] || skip "../shared/peers is not here"
	local peers=$BATS_TEST_DIRNAME/../../../shared/peers pstate=$TEST_DIR/podman
	"$peers/podman-import.sh" "$pstate" >/dev/null
	"$peers/podman.sh" "$pstate" -- save -q --format docker-archive -o "$TEST_DIR/pd.tar" localhost/busybox
	"$peers/podman.sh" "$pstate" -- save -q --format oci-archive -o "$TEST_DIR/po.tar" localhost/busybox
	"$peers/podman.sh" "$pstate" -- system reset -f >/dev/null 2>&1 || true
	run -0 hk image load "$TEST_DIR/pd.tar"
	[ "$output" = "Loaded image: localhost/busybox:latest" ] || fail "$output"
	run -0 hk run --rm localhost/busybox sh -c 'echo from podman'
	[ "$output" = "from podman" ]
	run -0 hk image load "$TEST_DIR/po.tar" frompodman:oci
	run -0 hk run --rm frompodman:oci true
	no_containers_left
}

@test "load: an OCI layout whose index is a multi-platform index; bad archives are refused" {
	# a second-level index, as registries serve: arm64 first, then this machine's manifest
	local L=$TEST_DIR/L m size idx
	cp -a "$FIX/L" "$L"
	m=$(jq -r '.manifests[0].digest' "$L/index.json")
	size=$(jq -r '.manifests[0].size' "$L/index.json")
	jq -n --arg m "$m" --argjson s "$size" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000", size: 1, platform: {os: "linux", architecture: "arm64"}},
			    {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $s, platform: {os: "linux", architecture: "amd64"}}]}' > "$TEST_DIR/idx.json"
	idx=$(sha256sum < "$TEST_DIR/idx.json" | cut -d' ' -f1)
	cp "$TEST_DIR/idx.json" "$L/blobs/sha256/$idx"
	jq -n --arg d "sha256:$idx" --argjson s "$(stat -c %s "$TEST_DIR/idx.json")" '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "example.com/multi:arch"}}]}' > "$L/index.json"
	run -0 hk image load "$L"
	[ "$output" = "Loaded image: example.com/multi:arch" ] || fail "$output"
	run -0 hk run --rm example.com/multi:arch 'cat /etc/two'
	# a blob whose content does not match its name
	echo tampered >> "$L/blobs/sha256/${m#sha256:}"
	rm -rf "$HUSK_STORAGE"
	run -1 --separate-stderr hk image load "$L"
	[[ $stderr == *"does not match its digest"* ]] || fail "$stderr"
	run -1 --separate-stderr hk image load "$TEST_DIR"
	[[ $stderr == *"neither an OCI image layout"* ]] || fail "$stderr"
	run -0 hk images -q
	[ -z "$output" ]
	no_containers_left
}

@test "pull: from a local registry (filled by skopeo), bearer-token auth, resume after a cut, no refetch" {
	local peers=$BATS_TEST_DIRNAME/../../../shared/peers port=$((20000 + RANDOM % 10000)) proxy
	[ -x "$peers/registry.sh" ] || skip "../shared/peers is not here"
	# bats waits for whatever holds its fd 3: the servers must not
	"$peers/registry.sh" "$TEST_DIR/reg" start $port 3>&-
	"$peers/registry.sh" "$TEST_DIR/reg" push "oci-archive:$FIX/o.tar" umo/img:v2
	"$peers/registry.sh" "$TEST_DIR/reg" push "docker-archive:$FIX/d.tar" umo/dock:v1
	# a registry that wants a token, and cuts the first blob after 300 kB
	/usr/bin/python3 "$BATS_TEST_DIRNAME/../tools/registry-proxy.py" $((port + 1)) $port "$TEST_DIR/proxy.log" 300000 3>&- &
	proxy=$!
	echo $proxy > "$TEST_DIR/proxy.pid"
	for i in $(seq 50); do curl -s "http://127.0.0.1:$((port + 1))/v2/" >/dev/null && break; sleep 0.1; done

	run -0 --separate-stderr hk pull "127.0.0.1:$port/umo/img:v2"
	[ "${lines[0]}" = "127.0.0.1:$port/umo/img:v2" ] || fail "$output"
	run -0 hk run --rm "127.0.0.1:$port/umo/img:v2" 'cat /etc/two'
	run -0 hk pull "127.0.0.1:$port/umo/dock:v1"
	[[ $output == *"already here"* ]] || fail "$output"

	rm -rf "$HUSK_STORAGE"
	run -1 --separate-stderr hk pull "127.0.0.1:$((port + 1))/umo/img:v2"
	[[ $stderr == *"transfer closed"* ]] || fail "$stderr"
	run -0 hk pull "127.0.0.1:$((port + 1))/umo/img:v2"
	[[ $output == *"(resuming)"* ]] || fail "$output"
	grep -q "range=bytes=300000- auth=yes" "$TEST_DIR/proxy.log" || fail "$(cat "$TEST_DIR/proxy.log")"
	grep -q "GET /token?service=husk-test&scope=repository%3Aumo%2Fimg%3Apull" "$TEST_DIR/proxy.log"
	run -0 hk run --rm "127.0.0.1:$((port + 1))/umo/img:v2" 'cat /etc/two'

	run -1 --separate-stderr hk pull "127.0.0.1:$port/umo/nothere"
	[[ $stderr == *"the registry has no manifest latest"* ]] || fail "$stderr"
	run -1 --separate-stderr hk pull "127.0.0.1:$port/UPPER"
	[[ $stderr == *"not a valid repository name"* ]] || fail "$stderr"
	no_containers_left
}

@test "tag, rm, prune: names move, content goes when nothing uses it" {
	hk image bootstrap busybox >/dev/null
	hk image load "$FIX/d.tar" >/dev/null
	run -0 hk image tag busybox mine:1
	run -0 hk image tag busybox registry.example:5000/team/bb:2
	run -0 hk images
	[[ $output == *"localhost/mine"*"registry.example:5000/team/bb"* ]] || fail "$output"
	run -1 --separate-stderr hk image rm "$(hk images -q | head -1)"
	[[ $stderr == *"has 3 names"* ]] || fail "$stderr"
	run -0 hk image rm mine:1
	[ "$output" = "Untagged: localhost/mine:1" ]
	run -0 hk image rm -f busybox
	[[ $output == *"Untagged: localhost/busybox:latest"* ]]
	run -0 hk image rm registry.example:5000/team/bb:2
	[[ $output == *"Deleted: sha256:"* ]] || fail "$output"
	run -0 hk image rm test/umoci:v1
	[ -z "$(ls "$HUSK_STORAGE/layers")" ] || fail "layers left: $(ls "$HUSK_STORAGE/layers")"
	[ -z "$(ls "$HUSK_STORAGE/blobs/sha256")" ] || fail "blobs left"
	run -1 --separate-stderr hk image rm nosuch
	[[ $stderr == *"no image nosuch in the store (get it with \`husk pull nosuch\`"* ]] || fail "$stderr"
	# prune: unnamed images and litter
	hk image load "$FIX/L" >/dev/null
	mkdir "$HUSK_STORAGE/tmp/layer-crashed"
	run -0 hk image prune
	[[ $output == "Total reclaimed space: "* ]]
	run -0 hk images -q
	[ -z "$output" ]
	[ -z "$(ls "$HUSK_STORAGE/layers")" ] && [ -z "$(ls "$HUSK_STORAGE/tmp")" ]
}

@test "a husk killed mid-import leaves the old state; prune clears its litter; concurrent imports agree" {
	hk image bootstrap busybox >/dev/null
	before=$(cat "$HUSK_STORAGE/images.json")
	# a big layer: 200 MB of incompressible data
	mkdir -p "$TEST_DIR/big"
	head -c 200M /dev/urandom > "$TEST_DIR/big/blob"
	tar -C "$TEST_DIR/big" -cf "$TEST_DIR/big.tar" .
	# (a fast machine may finish before the kill: then the new state is what must be there)
	for delay in 0.02 0.1 0.25; do
		hk image import "$TEST_DIR/big.tar" big &
		pid=$!
		sleep $delay
		kill -9 $pid 2>/dev/null || true
		wait $pid || true
		[ "$(cat "$HUSK_STORAGE/images.json")" = "$before" ] || [ -n "$(hk images | grep big)" ] || fail "images.json torn"
		run -0 hk images
		run -0 hk run --rm busybox true
	done
	run -0 hk image prune
	[ -z "$(ls "$HUSK_STORAGE/tmp")" ]
	# two at once, of the same tarball: one image, one layer
	hk image import "$TEST_DIR/big.tar" big & p1=$!
	hk image import "$TEST_DIR/big.tar" big & p2=$!
	wait $p1
	wait $p2
	run -0 hk images
	[ "$(echo "$output" | grep -c localhost/big)" -eq 1 ] || fail "$output"
	[ "$(ls "$HUSK_STORAGE/layers" | wc -l)" -eq 2 ]
}

@test "errors a newcomer meets: unknown image, store not writable, corrupt blob" {
	run -125 --separate-stderr hk run --rm busybox true || run -125 --separate-stderr hk run --rm busybox true
	[[ $stderr == *"no image busybox in the store (get it with \`husk pull busybox\`, or make busybox with \`husk image bootstrap busybox\`)"* ]] || fail "$stderr"
	run -1 --separate-stderr "$HUSK" --storage /proc/husk-store images
	[[ $stderr == *"image store /proc/husk-store (choose another with --storage DIR or HUSK_STORAGE)"* ]] || fail "$stderr"
	run -125 --separate-stderr "$HUSK" --storage relative images
	[[ $stderr == *"--storage relative: give an absolute path"* ]]
	hk image bootstrap busybox >/dev/null
	config=$(hk image inspect busybox | jq -r '.[0].Id')
	echo corrupt >> "$HUSK_STORAGE/blobs/sha256/${config#sha256:}"
	run -125 --separate-stderr hk run --rm busybox true
	[[ $stderr == *"is corrupt"* ]] || fail "$stderr"
	no_containers_left
}
