/* The container's root filesystem: mounts, devices, pivot_root, masked and read-only paths.
 * Runs in the container's init, in its new mount namespace. */
#ifndef HUSK_ROOTFS_H
#define HUSK_ROOTFS_H

#include <stdbool.h>

#include "cgroup.h"
#include "error.h"
#include "spec.h"

struct husk_rootfs_opts {
	const char *rootfs;          /* absolute host path of the root */
	bool no_pivot;               /* MS_MOVE + chroot instead of pivot_root (roots on initramfs) */
	bool in_user_ns;             /* devices are bind-mounted from the host: mknod is not allowed */
	bool new_cgroup_ns;
	const struct husk_cgroup *cgroup;
	const char *mount_label;     /* linux.mountLabel: context= on filesystem mounts (SELinux) */
	bool mount_ns;               /* false: no mount namespace, the root is entered by chroot and
				      * nothing is mounted (the host's mount table is not husk's) */
	int rootfs_dir_fd;           /* the root's directory opened by husk in this mount namespace
				      * (taken by prepare), or -1: opened by path */
	int root_mount_fd;           /* a detached mount to become the root (taken by prepare), or -1 */
	int devnull_tree;            /* set by prepare: a detached clone of the host's /dev/null
				      * (checked to be char 1:3), the only source masks come from */
};

/* Everything up to and including the switch to the new root. */
int husk_rootfs_prepare(const struct husk_spec *spec, struct husk_rootfs_opts *opts, struct husk_err *err);
/* After the switch: sysctl, masked and read-only paths. */
int husk_rootfs_finish(const struct husk_spec *spec, const struct husk_rootfs_opts *opts, struct husk_err *err);
/* Last: root.readonly. After the console, which may have to create /dev/console in the root
 * itself (a config without a /dev tmpfs). */
int husk_rootfs_seal(const struct husk_spec *spec, struct husk_err *err);

#endif
