#!/usr/bin/env bats
# husk cp: files between a (stopped) container made by `husk run` and the host, both ways, and
# through tar streams; a container's symlinks never lead husk outside its root.

load helpers

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hk-cp.XXXXXX")
	export HUSK_STORAGE=$TEST_DIR/store
	RUNROOT=$TEST_DIR/run
	mkdir "$TEST_DIR/host" "$TEST_DIR/canary"
	echo canary > "$TEST_DIR/canary/secret"
}

teardown() {
	local leaks
	leaks=$(grep -c "$TEST_DIR" /proc/self/mountinfo || true)
	[ -n "${ID:-}" ] && "$HUSK" --root "$RUNROOT" rm "$ID" >/dev/null 2>&1
	[ -d "$RUNROOT" ] && for id in $(ls "$RUNROOT"); do "$HUSK" oci --root "$RUNROOT" delete --force "$id" >/dev/null 2>&1; done
	canary=$(cat "$TEST_DIR/canary/secret"; ls -A "$TEST_DIR/canary")
	rm -rf "$TEST_DIR"
	[ "$leaks" -eq 0 ] || fail "mounts left: $leaks"
	[ "$canary" = "$(printf 'canary\nsecret')" ] || fail "the canary changed: $canary"
}

hk() {
	if [ "${1:-}" = run ]; then
		shift
		"$HUSK" --root "$RUNROOT" run --network none "$@"
	else
		"$HUSK" --root "$RUNROOT" "$@"
	fi
}

# a stopped container holding /data (a file, a directory) and symlinks that lead out on the host
make_container() {
	hk image bootstrap busybox >/dev/null
	run -0 hk run busybox sh -c "mkdir -p /data/sub && echo hello > /data/file && echo deep > /data/sub/deep &&
		ln -s $TEST_DIR/canary /abs && ln -s ../../../../../../.. /climb && ln -s $TEST_DIR/canary/secret /abs-file"
	ID=$(ls "$HUSK_STORAGE/containers")
	[ -n "$ID" ]
	UPPER=$HUSK_STORAGE/containers/$ID/upper
}

@test "cp out of a container: a file, a directory (new name, into a directory), SRC/., a tar on stdout" {
	make_container
	run -0 hk cp "$ID:/data/file" "$TEST_DIR/host/f"
	[ "$(cat "$TEST_DIR/host/f")" = hello ]
	run -0 hk cp "$ID:/data" "$TEST_DIR/host/newdir"
	[ "$(cat "$TEST_DIR/host/newdir/sub/deep")" = deep ]
	run -0 hk cp "$ID:/data" "$TEST_DIR/host/newdir"
	[ "$(cat "$TEST_DIR/host/newdir/data/file")" = hello ]
	mkdir "$TEST_DIR/host/contents"
	run -0 hk cp "$ID:/data/." "$TEST_DIR/host/contents"
	[ "$(cat "$TEST_DIR/host/contents/file")" = hello ] && [ ! -e "$TEST_DIR/host/contents/data" ]
	hk cp "$ID:/data" - > "$TEST_DIR/out.tar"
	[ "$(tar -tf "$TEST_DIR/out.tar" | sort | tr '\n' ' ')" = "data/ data/file data/sub/ data/sub/deep " ] ||
		fail "$(tar -tf "$TEST_DIR/out.tar")"
	# the container's symlinks: copied as links, followed (-L) only inside its root
	run -0 hk cp "$ID:/abs-file" "$TEST_DIR/host/link"
	[ "$(readlink "$TEST_DIR/host/link")" = "$TEST_DIR/canary/secret" ]
	run -1 --separate-stderr hk cp -L "$ID:/abs-file" "$TEST_DIR/host/followed"
	[[ $stderr == "husk: cp: /abs-file in the container: No such file or directory" ]] || fail "$stderr"
	run -1 --separate-stderr hk cp "$ID:/climb/$TEST_DIR/canary/secret" "$TEST_DIR/host/x"
	[ ! -e "$TEST_DIR/host/x" ]
	run -1 --separate-stderr hk cp "$ID:/data" "$TEST_DIR/host/f"
	[[ $stderr == *"cannot copy a directory to a file"* ]] || fail "$stderr"
}

@test "cp into a container: files owned by its root unless -a, a tar from stdin, never through its symlinks" {
	make_container
	echo payload > "$TEST_DIR/host/p"
	chown 1234:4321 "$TEST_DIR/host/p"
	run -0 hk cp "$TEST_DIR/host/p" "$ID:/data/"
	[ "$(stat -c %u:%g:%s "$UPPER/data/p")" = 0:0:8 ]
	run -0 hk cp -a "$TEST_DIR/host/p" "$ID:/data/kept"
	[ "$(stat -c %u:%g "$UPPER/data/kept")" = 1234:4321 ]
	mkdir -p "$TEST_DIR/host/tree/a"
	echo t > "$TEST_DIR/host/tree/a/t"
	run -0 hk cp "$TEST_DIR/host/tree" "$ID:/newtree"
	[ "$(cat "$UPPER/newtree/a/t")" = t ]
	tar -C "$TEST_DIR/host" -cf - p | hk cp - "$ID:/etc"
	[ "$(cat "$UPPER/etc/p")" = payload ]
	# /abs and /climb lead out on the host, not inside the container
	run -1 --separate-stderr hk cp "$TEST_DIR/host/p" "$ID:/abs/secret"
	run -0 hk cp "$TEST_DIR/host/p" "$ID:/climb/"
	[ "$(cat "$UPPER/p")" = payload ]
	# a planted symlink as DEST is replaced, not written through
	run -0 hk cp "$TEST_DIR/host/p" "$ID:/abs-file"
	[ -f "$UPPER/abs-file" ] && [ ! -L "$UPPER/abs-file" ]
	run -1 --separate-stderr hk cp "$TEST_DIR/host/p" "$ID:/nodir/"
	[[ $stderr == "husk: cp: /nodir/: no such directory"* ]] || fail "$stderr"
	run -125 --separate-stderr hk cp "$TEST_DIR/host/p" "$TEST_DIR/host/q"
	[[ $stderr == *"one of SRC and DEST must be CONTAINER:PATH"* ]] || fail "$stderr"
	run -1 --separate-stderr hk cp "$TEST_DIR/host/p" nosuch:/tmp
	[[ $stderr == *'no container "nosuch"'* ]] || fail "$stderr"
}
