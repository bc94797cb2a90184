# Sourced by the bench scripts (after setting $peers): what they all need.

# the median of numbers, one per line
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# podman's state in DIR/pod holding the peers' localhost/busybox, and podman's own
# `save --format oci-archive` of it in DIR/bb.tar, so every engine starts the same layers
podman_busybox() {
	"$peers/podman-import.sh" "$1/pod" >/dev/null 2>&1
	"$peers/podman.sh" "$1/pod" -- save --format oci-archive -o "$1/bb.tar" localhost/busybox >/dev/null 2>&1
}

# the empty cgroup parents the peers leave in every hierarchy (conmon's libpod_parent,
# containerd's default namespace, which crun and runc never remove): NAME...
remove_empty_cgroup_parents() {
	local name d s
	for name; do
		for d in /sys/fs/cgroup/*/"$name"; do
			[ -d "$d" ] || continue
			for s in "$d"/*/; do [ -d "$s" ] && rmdir "$s" 2>/dev/null; done
			rmdir "$d" 2>/dev/null
		done
	done
	true
}
