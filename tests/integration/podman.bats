#!/usr/bin/env bats
# podman with husk as its runtime (podman --runtime build/husk-oci), through ../shared/peers:
# podman's state in a private directory, its networks in a private namespace.
load helpers

PEERS=$BATS_TEST_DIRNAME/../../../shared/peers

setup_file() {
	[ -x "$PEERS/podman.sh" ] || return 0
	command -v podman >/dev/null || apt-get install -y -qq podman >/dev/null 2>&1 || true
	command -v podman >/dev/null || return 0
	export PODSTATE=$(mktemp -d /tmp/podman-state.XXXXXX)
	ls /run/netns 2>/dev/null | sort >"$PODSTATE.netns-before"
	"$PEERS/podman-import.sh" "$PODSTATE" >/dev/null 2>&1
}

teardown_file() {
	[ -n "${PODSTATE:-}" ] || return 0
	"$PEERS/podman.sh" "$PODSTATE" -- rm -af >/dev/null 2>&1 || true
	rm -rf "$PODSTATE"
	# podman makes /run/netns/netns-<uuid> and bind-mounts the namespace on it inside the
	# private mount namespace it runs in; the podman that removes the container runs in
	# another one, cannot unmount it there and leaves the empty file on the real /run: the
	# files these tests made (never a mount point out here) go
	local f
	for f in $(ls /run/netns 2>/dev/null | sort | comm -13 "$PODSTATE.netns-before" -); do
		mountpoint -q "/run/netns/$f" || rm -f "/run/netns/$f"
	done
	rm -f "$PODSTATE.netns-before"
	# conmon makes /libpod_parent/conmon in each hierarchy for itself; empty ones go
	for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
		[ -d "$d" ] || continue
		for s in "$d"/*/; do [ -d "$s" ] && rmdir "$s" 2>/dev/null; done
		rmdir "$d" 2>/dev/null || true
	done
}

setup() {
	[ -x "$PEERS/podman.sh" ] || skip "../shared/peers/podman.sh is not beside this checkout"
	command -v podman >/dev/null || skip "podman could not be installed"
	[ -n "${PODSTATE:-}" ] || skip "podman's state could not be set up"
}
teardown() { :; }

pod() {
	timeout 120 "$PEERS/podman.sh" "$PODSTATE" -- "$@"
}

podrun() {
	pod run --runtime "$HUSK_BUILD/husk-oci" "$@"
}

@test "podman run --rm with husk: output, and exit codes passed through" {
	run podrun --rm localhost/busybox echo hello-from-husk
	[ "$status" -eq 0 ]
	[[ "$output" == *hello-from-husk* ]]
	run podrun --rm localhost/busybox sh -c 'exit 42'
	[ "$status" -eq 42 ]
}

@test "podman run -d, exec, pause/unpause, top, stats, kill, rm" {
	podrun -d --name web localhost/busybox sleep 100
	run pod exec web sh -c 'echo exec-ok; cat /proc/1/cmdline | tr "\0" " "'
	[[ "$output" == *exec-ok*"sleep 100"* ]]
	pod pause web
	[ "$(pod inspect -f '{{.State.Status}}' web)" = paused ]
	pod unpause web
	[ "$(pod inspect -f '{{.State.Status}}' web)" = running ]
	run pod top web
	[[ "$output" == *"sleep 100"* ]]
	run pod stats --no-stream --format '{{.PIDs}}' web
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	pod kill web
	pod rm -f web
}

@test "podman limits and privileges through husk: --memory, --pids-limit, --read-only, --cap-drop ALL" {
	run podrun --rm --memory 32m --pids-limit 10 --read-only --cap-drop ALL localhost/busybox \
		sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; grep CapEff /proc/self/status; touch /x 2>&1; true'
	[[ "$output" == *33554432* ]]
	[[ "$output" == *$'\n10\n'* || "$output" == *$'\n10'* ]]
	[[ "$output" == *"CapEff:	0000000000000000"* ]]
	[[ "$output" == *"Read-only file system"* ]]
}

@test "podman's seccomp profile is loaded, and --security-opt seccomp=unconfined turns it off" {
	run podrun --rm localhost/busybox grep Seccomp: /proc/self/status
	[[ "$output" == *"Seccomp:	2"* ]]
	run podrun --rm --security-opt seccomp=unconfined localhost/busybox grep Seccomp: /proc/self/status
	[[ "$output" == *"Seccomp:	0"* ]]
}

# type into a tmux pane and read what the screen shows
tmux_session() { # name command...
	local name=$1; shift
	tmux kill-session -t "$name" 2>/dev/null || true
	tmux new-session -d -s "$name" -x 120 -y 30 "$*; sleep 30"
	for i in $(seq 100); do tmux capture-pane -t "$name" -p | grep -q '/ #' && return 0; sleep 0.1; done
	tmux capture-pane -t "$name" -p
	return 1
}

@test "podman run -it and exec -it with husk: a shell on a terminal, typed into under tmux" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	tmux_session husk-run-it-$$ "$PEERS/podman.sh" "$PODSTATE" -- run -it --rm --name it1 --runtime "$HUSK_BUILD/husk-oci" localhost/busybox sh
	tmux send-keys -t husk-run-it-$$ 'echo typed-$((6*7)); tty' Enter
	for i in $(seq 100); do tmux capture-pane -t husk-run-it-$$ -p | grep -q '^/dev/pts' && break; sleep 0.1; done
	screen=$(tmux capture-pane -t husk-run-it-$$ -p)
	tmux send-keys -t husk-run-it-$$ 'exit' Enter
	[[ "$screen" == *typed-42* ]] || fail "$screen"
	[[ "$screen" == *"/dev/pts/0"* ]] || fail "$screen"
	podrun -d --name it2 localhost/busybox sleep 100
	tmux_session husk-exec-it-$$ "$PEERS/podman.sh" "$PODSTATE" -- exec -it it2 sh
	tmux send-keys -t husk-exec-it-$$ 'echo exec-typed-$((6*7)); echo pid=$$' Enter
	for i in $(seq 100); do tmux capture-pane -t husk-exec-it-$$ -p | grep -q '^pid=' && break; sleep 0.1; done
	screen=$(tmux capture-pane -t husk-exec-it-$$ -p)
	tmux send-keys -t husk-exec-it-$$ 'exit' Enter
	tmux kill-session -t husk-run-it-$$ 2>/dev/null || true
	tmux kill-session -t husk-exec-it-$$ 2>/dev/null || true
	pod rm -f it2 >/dev/null
	[[ "$screen" == *exec-typed-42* ]] || fail "$screen"
	[[ "$screen" == *"pid=2"* ]] || fail "$screen"
}

@test "podman stop (SIGTERM, then SIGKILL), -p 8080:80 to busybox httpd, and a uid map, with husk" {
	# one ns.sh shell: the published port lives in that network namespace
	cat > "$PODSTATE/steps.sh" <<STEPS
export CONTAINERS_CONF=$PODSTATE/containers.conf CONTAINERS_STORAGE_CONF=$PODSTATE/storage.conf
R="--runtime $HUSK_BUILD/husk-oci"
podman run -d --name s1 \$R localhost/busybox sleep 100 >/dev/null
podman stop -t 1 s1 >/dev/null 2>&1
echo "stopped-exit=\$(podman inspect -f '{{.State.ExitCode}}' s1)"
podman rm s1 >/dev/null
podman run -d --name web -p 8080:80 \$R localhost/busybox httpd -f -p 80 -h /var/www >/dev/null
for i in \$(seq 50); do curl -s http://127.0.0.1:8080/ && break; sleep 0.1; done
podman rm -f -t 0 web >/dev/null 2>&1
podman run --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 \$R localhost/busybox cat /proc/self/uid_map
STEPS
	run timeout 120 "$PEERS/ns.sh" sh "$PODSTATE/steps.sh"
	[[ "$output" == *"stopped-exit=137"* ]] || fail "$output"
	[[ "$output" == *"hello from busybox httpd"* ]] || fail "$output"
	[[ "$(echo "$output" | tr -s ' ')" == *" 0 100000 65536"* ]] || fail "$output"
}
