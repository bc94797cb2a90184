#define _GNU_SOURCE
#include "rootfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>

#include "inroot.h"
#include "lsm.h"
#include "procfs.h"
#include "util.h"

#define FD_PATH_MAX 32

static void fd_path(int fd, char buf[FD_PATH_MAX])
{
	snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

static int mount_at_fd(const char *source, int fd, const char *type, unsigned long flags, const void *data,
		       const char *what, struct husk_err *err)
{
	char target[FD_PATH_MAX];

	fd_path(fd, target);
	if (mount(source, target, type, flags, data) < 0)
		return husk_err_sys(err, "mount %s on %s", source && *source ? source : type ? type : "", what);
	return 0;
}

/* Remount a bind mount with its flags. Flags the kernel locked on the source (nodev, nosuid,
 * noexec, ro of a mount seen from a user namespace) must be kept, or the remount is refused. */
static int remount_bind(int fd, unsigned long flags, const char *what, struct husk_err *err)
{
	char target[FD_PATH_MAX];
	struct statfs sfs;

	fd_path(fd, target);
	flags |= MS_REMOUNT | MS_BIND;
	if (mount(NULL, target, NULL, flags, NULL) == 0)
		return 0;
	if (errno == EPERM && fstatfs(fd, &sfs) == 0) {
		unsigned long locked = 0;
		if (sfs.f_flags & ST_NOSUID)
			locked |= MS_NOSUID;
		if (sfs.f_flags & ST_NODEV)
			locked |= MS_NODEV;
		if (sfs.f_flags & ST_NOEXEC)
			locked |= MS_NOEXEC;
		if (sfs.f_flags & ST_RDONLY)
			locked |= MS_RDONLY;
		if (mount(NULL, target, NULL, flags | locked, NULL) == 0)
			return 0;
	}
	return husk_err_sys(err, "remount %s", what);
}

static int mount_cgroup_v1(int rootfd, const struct husk_mount *m, const struct husk_rootfs_opts *opts,
			   unsigned long flags, struct husk_err *err)
{
	_cleanup_close_ int dest = husk_mkpath_in_root(rootfd, m->destination, false, err);

	if (dest < 0 || mount_at_fd("tmpfs", dest, "tmpfs", flags & ~MS_RDONLY, "mode=755", m->destination, err) < 0)
		return -1;
	for (size_t i = 0; i < opts->cgroup->n; i++) {
		const struct husk_cgroup_hier *h = &opts->cgroup->h[i];
		const char *name = strrchr(h->mountpoint, '/') + 1;
		_cleanup_free_ char *sub = husk_xasprintf("%s/%s", m->destination, name);
		_cleanup_close_ int fd = husk_mkpath_in_root(rootfd, sub, false, err);
		if (fd < 0)
			return -1;
		if (opts->new_cgroup_ns) {
			/* in its own cgroup namespace the container sees its cgroup as the root */
			if (mount_at_fd("cgroup", fd, "cgroup", flags, h->controllers, sub, err) < 0)
				return -1;
		} else {
			_cleanup_close_ int mnt = -1;
			if (mount_at_fd(h->dir, fd, NULL, MS_BIND, NULL, sub, err) < 0)
				return -1;
			mnt = husk_open_in_root(rootfd, sub, O_PATH, err);
			if (mnt < 0 || remount_bind(mnt, flags, sub, err) < 0)
				return -1;
		}
		/* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct", as on the host */
		if (strchr(name, ',')) {
			_cleanup_free_ char *names = husk_xstrdup(name);
			_cleanup_close_ int dir = husk_open_in_root(rootfd, m->destination, O_DIRECTORY | O_RDONLY, err);
			char *save = NULL;
			if (dir < 0)
				return -1;
			for (char *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (symlinkat(name, dir, t) < 0 && errno != EEXIST)
					return husk_err_sys(err, "symlink %s/%s", m->destination, t);
		}
	}
	if (flags & MS_RDONLY) {
		_cleanup_close_ int again = husk_open_in_root(rootfd, m->destination, O_PATH, err);
		if (again < 0 || mount_at_fd(NULL, again, NULL, MS_REMOUNT | (flags & ~MS_BIND), "mode=755", m->destination, err) < 0)
			return -1;
	}
	return 0;
}

/* Copy the tree under `from` into `to` (tmpcopyup): files, directories, symlinks, with modes,
 * owners and times. fd-relative throughout; symlinks are copied, never followed. */
static int copy_tree(int from, int to, const char *where, int depth, struct husk_err *err)
{
	_cleanup_close_ int dup_fd = dup(from);
	DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;
	int rc = 0;

	if (!dir)
		return husk_err_sys(err, "tmpcopyup: read %s", where);
	dup_fd = -1; /* owned by dir now */
	if (depth > 64) {
		closedir(dir);
		return husk_err_set(err, ELOOP, "tmpcopyup: %s is nested too deep", where);
	}
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(from, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = husk_err_sys(err, "tmpcopyup: stat %s/%s", where, de->d_name);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub_from = -1, sub_to = -1;
			if (mkdirat(to, de->d_name, st.st_mode & 07777) < 0 && errno != EEXIST)
				rc = husk_err_sys(err, "tmpcopyup: mkdir %s/%s", where, de->d_name);
			else if ((sub_from = openat(from, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
				 (sub_to = openat(to, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				rc = husk_err_sys(err, "tmpcopyup: open %s/%s", where, de->d_name);
			else
				rc = copy_tree(sub_from, sub_to, where, depth + 1, err);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(from, de->d_name, target, sizeof(target) - 1);
			if (n < 0 || (target[n] = '\0', symlinkat(target, to, de->d_name)) < 0)
				rc = husk_err_sys(err, "tmpcopyup: symlink %s/%s", where, de->d_name);
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int in = openat(from, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int out = openat(to, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
			char buf[65536];
			ssize_t n;
			if (in < 0 || out < 0)
				rc = husk_err_sys(err, "tmpcopyup: copy %s/%s", where, de->d_name);
			while (rc == 0 && (n = read(in, buf, sizeof(buf))) > 0)
				if (husk_write_all(out, buf, (size_t)n) < 0)
					rc = husk_err_sys(err, "tmpcopyup: write %s/%s", where, de->d_name);
		} else {
			continue; /* device nodes, fifos, sockets: not copied */
		}
		if (rc == 0 && (fchownat(to, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
				(!S_ISLNK(st.st_mode) && fchmodat(to, de->d_name, st.st_mode & 07777, 0) < 0)))
			rc = husk_err_sys(err, "tmpcopyup: owner and mode of %s/%s", where, de->d_name);
	}
	closedir(dir);
	return rc;
}

static int remount_ro_fs(int rootfd, const char *dest, unsigned long flags, const char *data, struct husk_err *err)
{
	_cleanup_close_ int fd = husk_open_in_root(rootfd, dest, O_PATH, err);
	return fd < 0 ? -1 : mount_at_fd(NULL, fd, NULL, MS_REMOUNT | flags, data, dest, err);
}

/* procfs and sysfs are where husk and the kernel write security settings: their mount point
 * must be what it says, not a symlink to somewhere else in the root (CVE-2019-16884). */
static int no_symlinks_on_the_way(int rootfd, const char *path, struct husk_err *err)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS};
	const char *rel = path;
	int fd;

	while (*rel == '/')
		rel++;
	fd = (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == ELOOP)
		return husk_err_set(err, ELOOP, "mount on %s: it is (or passes through) a symlink in the root", path);
	return 0; /* missing: created as directories below, no symlink involved */
}

/* The files under /proc that may be mounted over: those lxcfs replaces with per-container
 * figures, and two that checkpoint/restore and FIPS-mode set-ups bind. Sorted (bsearch). */
static const char *const proc_mount_allowed[] = {
	"/proc/cpuinfo", "/proc/diskstats", "/proc/loadavg", "/proc/meminfo", "/proc/slabinfo",
	"/proc/stat", "/proc/swaps", "/proc/sys/crypto/fips_enabled", "/proc/sys/kernel/ns_last_pid",
	"/proc/uptime",
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* path with "//", "/./" and "/x/.." folded the way the kernel walks them (".." stops at "/") */
static char *clean_path(const char *path)
{
	char *out = husk_xmalloc(strlen(path) + 2);
	size_t n = 0;

	for (const char *p = path; *p;) {
		size_t len;
		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

/* procfs is where husk writes sysctls and LSM labels, and where the kernel reads security
 * settings: a mount over a part of it would take those writes (CVE-2025-52881). Refused are
 * destinations inside /proc other than the allowed files, anything but procfs on /proc itself,
 * and any destination that turns out to lie on procfs once resolved (a symlink in the root or
 * in a volume pointing into /proc). dest is the resolved target. */
static int check_proc_destination(int rootfd, const struct husk_mount *m, int dest, struct husk_err *err)
{
	_cleanup_free_ char *path = clean_path(m->destination);
	bool bind = m->flags & MS_BIND, allowed = false;
	struct statfs sfs;

	if (strcmp(path, "/proc") == 0) {
		struct statfs src;
		if (!bind && strcmp(m->type, "proc") == 0)
			return 0;
		if (bind && statfs(m->source, &src) == 0 && src.f_type == PROC_SUPER_MAGIC)
			return 0;
		return husk_err_set(err, EPERM, "mount on %s: only a procfs may be mounted on /proc", m->destination);
	}
	if (strncmp(path, "/proc/", 6) == 0) {
		const char *key = path;
		if (!bsearch(&key, proc_mount_allowed, ARRAY_SIZE(proc_mount_allowed), sizeof(char *), cmp_str))
			return husk_err_set(err, EPERM,
					    "mount on %s: inside /proc, where husk and the kernel keep security settings "
					    "(only the files lxcfs provides may be mounted over, e.g. /proc/meminfo)",
					    m->destination);
		allowed = true;
	}
	if (fstatfs(dest, &sfs) < 0)
		return husk_err_sys(err, "statfs the mount target %s", m->destination);
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return 0;
	if (allowed) {
		/* the allowed name itself, not another procfs file a symlink led to */
		struct open_how how = {.flags = O_PATH | O_CLOEXEC,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		_cleanup_close_ int direct = (int)syscall(SYS_openat2, rootfd, path + 1, &how, sizeof(how));
		struct stat a, b;
		if (direct >= 0 && fstat(direct, &a) == 0 && fstat(dest, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return 0;
	}
	if (!bind && strcmp(m->type, "proc") == 0 && strcmp(path, "/proc") == 0)
		return 0;
	return husk_err_set(err, EPERM,
			    "mount on %s: the target resolves into the container's /proc (a symlink on the way?): "
			    "refused, as a mount there could take the writes of sysctls and labels",
			    m->destination);
}

static int do_mount(int rootfd, const struct husk_mount *m, const struct husk_rootfs_opts *opts, struct husk_err *err)
{
	bool bind = m->flags & MS_BIND;
	unsigned long flags = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
	_cleanup_close_ int dest = -1, mounted = -1;
	bool as_file = false;

	if (m->tmpcopyup && (bind || strcmp(m->type, "tmpfs") != 0))
		return husk_err_set(err, EINVAL, "mount %s: tmpcopyup is for tmpfs mounts", m->destination);
	if (!bind && strcmp(m->type, "cgroup") == 0 && !opts->cgroup->v2)
		return mount_cgroup_v1(rootfd, m, opts, flags, err);
	if (bind) {
		struct stat st;
		if (stat(m->source, &st) < 0)
			return husk_err_sys(err, "bind mount source %s", m->source);
		as_file = !S_ISDIR(st.st_mode);
	}
	if (!bind && (strcmp(m->type, "proc") == 0 || strcmp(m->type, "sysfs") == 0) &&
	    no_symlinks_on_the_way(rootfd, m->destination, err) < 0)
		return -1;
	dest = husk_mkpath_in_root(rootfd, m->destination, as_file, err);
	if (dest < 0 || check_proc_destination(rootfd, m, dest, err) < 0)
		return -1;
	if (bind) {
		if (mount_at_fd(m->source, dest, NULL, MS_BIND | (m->flags & MS_REC), NULL, m->destination, err) < 0)
			return -1;
	} else {
		const char *type = strcmp(m->type, "cgroup") == 0 ? "cgroup2" : m->type;
		_cleanup_free_ char *data = husk_lsm_mount_data(m->data, opts->mount_label);
		/* tmpcopyup: what the image has at the target shows through in the new tmpfs; the
		 * directory underneath stays reachable through an fd opened before the mount */
		_cleanup_close_ int below = m->tmpcopyup ? openat(dest, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (m->tmpcopyup && below < 0)
			return husk_err_sys(err, "tmpcopyup: open %s", m->destination);
		if (mount_at_fd(m->source ? m->source : m->type, dest, type,
				m->tmpcopyup ? flags & ~(unsigned long)MS_RDONLY : flags, data, m->destination, err) < 0)
			return -1;
		if (m->tmpcopyup) {
			_cleanup_close_ int top = husk_open_in_root(rootfd, m->destination, O_RDONLY | O_DIRECTORY, err);
			if (top < 0 || copy_tree(below, top, m->destination, 0, err) < 0)
				return -1;
		}
		/* read-only after the copy */
		if (m->tmpcopyup && (flags & MS_RDONLY) && remount_ro_fs(rootfd, m->destination, flags, data, err) < 0)
			return -1;
	}
	/* dest is the directory under the new mount; look again to get the mount itself */
	mounted = husk_open_in_root(rootfd, m->destination, O_PATH, err);
	if (mounted < 0)
		return -1;
	if (!bind && strcmp(m->type, "proc") == 0) {
		struct statfs sfs;
		/* a symlink swapped in between would put procfs somewhere else: check what we got */
		if (fstatfs(mounted, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
			return husk_err_set(err, EXDEV, "mount proc on %s: the target is not procfs after mounting",
					    m->destination);
	}
	if (bind && (flags & ~MS_SILENT) && remount_bind(mounted, flags, m->destination, err) < 0)
		return -1;
	if (m->attr_set || m->attr_clr) {
		struct mount_attr attr = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};
		if (syscall(SYS_mount_setattr, mounted, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			return husk_err_sys(err, "set recursive mount options on %s", m->destination);
	}
	return 0;
}

struct default_device {
	const char *path;
	unsigned major, minor;
	mode_t mode;
};

static const struct default_device default_devices[] = {
	{"/dev/null", 1, 3, 0666}, {"/dev/zero", 1, 5, 0666}, {"/dev/full", 1, 7, 0666},
	{"/dev/random", 1, 8, 0666}, {"/dev/urandom", 1, 9, 0666}, {"/dev/tty", 5, 0, 0666},
};

static int make_device(int rootfd, const char *path, char type, unsigned major, unsigned minor, mode_t mode,
		       uid_t uid, gid_t gid, bool in_user_ns, struct husk_err *err)
{
	_cleanup_free_ char *parent = husk_xstrdup(path);
	_cleanup_close_ int pfd = -1, dir = -1, node = -1;
	const char *base = strrchr(path, '/') + 1;
	mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;

	*strrchr(parent, '/') = '\0';
	pfd = husk_mkpath_in_root(rootfd, *parent ? parent : "/", false, err);
	if (pfd < 0)
		return -1;
	dir = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return husk_err_sys(err, "open %s", parent);
	unlinkat(dir, base, 0);
	if (in_user_ns && type != 'p') {
		/* mknod needs CAP_MKNOD in the initial user namespace: bind the host's node */
		_cleanup_free_ char *host = husk_xasprintf("/dev/%s", path + 5);
		int f = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0000);
		if (f < 0)
			return husk_err_sys(err, "create %s", path);
		close(f);
		node = husk_open_in_root(dir, base, O_PATH | O_NOFOLLOW, err);
		if (node < 0 || mount_at_fd(host, node, NULL, MS_BIND, NULL, path, err) < 0)
			return -1;
		return 0;
	}
	if (mknodat(dir, base, fmt | (mode & 07777), makedev(major, minor)) < 0)
		return husk_err_sys(err, "mknod %s", path);
	/* mknod applies the umask; the config's mode is what the spec asks for */
	if (fchmodat(dir, base, mode & 07777, 0) < 0 || fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_err_sys(err, "set owner and mode of %s", path);
	return 0;
}

static bool dev_is_bind_mounted(const struct husk_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (strcmp(spec->mounts[i].destination, "/dev") == 0 && (spec->mounts[i].flags & MS_BIND))
			return true;
	return false;
}

static int setup_dev(int rootfd, const struct husk_spec *spec, const struct husk_rootfs_opts *opts,
		     struct husk_err *err)
{
	static const struct { const char *name, *target; } links[] = {
		{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"},
	};
	_cleanup_close_ int dev = -1;

	if (dev_is_bind_mounted(spec))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		const struct default_device *d = &default_devices[i];
		bool configured = false;
		for (size_t j = 0; j < spec->n_devices; j++)
			configured = configured || strcmp(spec->devices[j].path, d->path) == 0;
		if (!configured && make_device(rootfd, d->path, 'c', d->major, d->minor, d->mode, 0, 0,
						opts->in_user_ns, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct husk_device *d = &spec->devices[i];
		if (make_device(rootfd, d->path, d->type == 'u' ? 'c' : d->type, (unsigned)d->major, (unsigned)d->minor,
				d->has_mode ? d->mode : 0666, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0,
				opts->in_user_ns, err) < 0)
			return -1;
	}
	dev = husk_open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY, err);
	if (dev < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
			return husk_err_sys(err, "symlink /dev/%s", links[i].name);
	/* /dev/ptmx must be the one of the container's devpts instance */
	if (faccessat(dev, "pts/ptmx", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		unlinkat(dev, "ptmx", 0);
		if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
			return husk_err_sys(err, "symlink /dev/ptmx");
	}
	return 0;
}

/* rootfd is the root mount itself (an open_tree or fsmount fd, attached by now): the switch
 * goes through it, never through the root's path on the host, which the container's root in
 * a user namespace may not be allowed to walk. */
static int switch_root(int rootfd, bool no_pivot, struct husk_err *err)
{
	if (fchdir(rootfd) < 0)
		return husk_err_sys(err, "chdir to the root");
	if (no_pivot) {
		if (syscall(SYS_move_mount, rootfd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return husk_err_sys(err, "move the root to /");
		if (chroot(".") < 0)
			return husk_err_sys(err, "chroot to the root");
	} else {
		/* pivot_root(".", "."): the old root is stacked under the new one and unmounted
		 * from there, with no directory needed for it inside the container */
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return husk_err_sys(err, "pivot_root to the root");
		/* slave first, so the detach does not propagate to the host's mounts */
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			return husk_err_sys(err, "make the old root a slave");
		if (umount2(".", MNT_DETACH) < 0)
			return husk_err_sys(err, "unmount the old root");
	}
	if (chdir("/") < 0)
		return husk_err_sys(err, "chdir /");
	return 0;
}

/* No mount namespace: the process lives in the host's (or the caller's) mount table, which
 * husk must not change, so the root is entered with chroot and nothing is mounted; the config
 * was checked to ask for no mounts (husk_spec_parse). */
static int enter_root_without_mounts(int dirfd, struct husk_err *err)
{
	if (fchdir(dirfd) < 0)
		return husk_err_sys(err, "chdir to the root");
	if (chroot(".") < 0)
		return husk_err_sys(err, "chroot to the root");
	if (chdir("/") < 0)
		return husk_err_sys(err, "chdir /");
	return 0;
}

/* The host's /dev/null, checked to be the 1:3 character device, as a detached mount: a root
 * filesystem can plant anything at /dev/null, and masking with that would bind it over /proc
 * files (CVE-2025-31133). Detached, because after pivot_root the host's /dev is no longer in
 * this mount namespace and could not be a bind source. */
static int clone_devnull(struct husk_err *err)
{
	_cleanup_close_ int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	int tree;

	if (fd < 0)
		return husk_err_sys(err, "open the host's /dev/null");
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return husk_err_set(err, EINVAL, "the host's /dev/null is not the 1:3 character device");
	tree = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return husk_err_sys(err, "clone a mount of /dev/null");
	return tree;
}

int husk_rootfs_prepare(const struct husk_spec *spec, struct husk_rootfs_opts *opts, struct husk_err *err)
{
	_cleanup_close_ int dirfd = -1, rootfd = -1;

	/* the root's directory: as husk opened it for us (a user namespace may not walk its
	 * parents), else by its path in this mount namespace */
	if (opts->rootfs_dir_fd >= 0) {
		dirfd = opts->rootfs_dir_fd;
		opts->rootfs_dir_fd = -1;
	} else {
		dirfd = open(opts->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return husk_err_sys(err, "open root %s", opts->rootfs);
	}
	if (!opts->mount_ns)
		return enter_root_without_mounts(dirfd, err);
	opts->devnull_tree = clone_devnull(err);
	if (opts->devnull_tree < 0)
		return -1;
	/* nothing mounted in here may propagate to the host. Always rslave, whatever
	 * rootfsPropagation says: a shared "/" would make the root's bind a peer of it, which
	 * pivot_root refuses, and an unbindable one could not be bound at all. The configured
	 * propagation is set after the switch (husk_rootfs_finish). */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return husk_err_sys(err, "set propagation of /");
	/* pivot_root needs the new root to be a mount point: a recursive copy of the root's
	 * directory (open_tree keeps the locks a user namespace puts on the copied mounts), or
	 * the detached mount husk was given, attached over the directory through its fd */
	if (opts->root_mount_fd >= 0) {
		rootfd = opts->root_mount_fd;
		opts->root_mount_fd = -1;
	} else {
		rootfd = (int)syscall(SYS_open_tree, dirfd, "",
				      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
		if (rootfd < 0)
			return husk_err_sys(err, "bind mount the root %s", opts->rootfs);
	}
	if (syscall(SYS_move_mount, rootfd, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return husk_err_sys(err, "attach the root filesystem at %s", opts->rootfs);
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (do_mount(rootfd, &spec->mounts[i], opts, err) < 0)
			return -1;
	if (setup_dev(rootfd, spec, opts, err) < 0)
		return -1;
	/* the root's copy is a slave of the host's mount: make it private, so that nothing of the
	 * host's reaches it and pivot_root never sees a shared mount */
	{
		char self[FD_PATH_MAX];
		fd_path(rootfd, self);
		if (mount(NULL, self, NULL, MS_PRIVATE, NULL) < 0)
			return husk_err_sys(err, "make the root %s private", opts->rootfs);
	}
	return switch_root(rootfd, opts->no_pivot, err);
}

static int write_sysctl(int procfd, const char *key, const char *value, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xasprintf("sys/%s", key);

	for (char *p = path + 4; *p; p++)
		if (*p == '.')
			*p = '/';
	if (husk_procfs_write(procfd, path, value, strlen(value), err) < 0)
		return husk_err_wrap(err, "sysctl %s=%s", key, value);
	return 0;
}

/* Files are masked with /dev/null: the first with the detached clone, the others by binding
 * that first mask (a mount in this namespace now). *first holds it once made. */
static int mask_path(int rootfd, const char *path, int devnull_tree, int *first, struct husk_err *err)
{
	_cleanup_close_ int fd = husk_open_in_root(rootfd, path, O_PATH, NULL);
	char source[FD_PATH_MAX];
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? 0 : husk_err_sys(err, "mask %s", path);
	if (fstat(fd, &st) < 0)
		return husk_err_sys(err, "mask %s", path);
	if (S_ISDIR(st.st_mode))
		return mount_at_fd("tmpfs", fd, "tmpfs", MS_RDONLY, "size=0k", path, err);
	if (*first >= 0) {
		fd_path(*first, source);
		return mount_at_fd(source, fd, NULL, MS_BIND, NULL, path, err);
	}
	if (syscall(SYS_move_mount, devnull_tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return husk_err_sys(err, "mask %s with /dev/null", path);
	*first = husk_open_in_root(rootfd, path, O_PATH, err);
	return *first < 0 ? -1 : 0;
}

static int readonly_path(int rootfd, const char *path, struct husk_err *err)
{
	_cleanup_close_ int fd = husk_open_in_root(rootfd, path, O_PATH, NULL), mounted = -1;

	if (fd < 0)
		return errno == ENOENT ? 0 : husk_err_sys(err, "make %s read-only", path);
	char self[FD_PATH_MAX];

	fd_path(fd, self);
	if (mount_at_fd(self, fd, NULL, MS_BIND | MS_REC, NULL, path, err) < 0)
		return -1;
	/* the bind is of the path onto itself: open it again to reach the new mount */
	mounted = husk_open_in_root(rootfd, path, O_PATH, err);
	if (mounted < 0)
		return -1;
	return remount_bind(mounted, MS_RDONLY, path, err);
}

/* After the switch: the old root was made rslave recursively before it was detached, and
 * pivot_root stacked it on the new root, so that reached the container's mounts too. The
 * propagation the config asks for is set only now, the root's, then each mount's, and last of
 * all: read-only and masked paths are bind mounts of mounts in the root, which an unbindable
 * one would refuse. A shared mount made here starts a peer group of the container's own; the
 * host's mounts were never its peers, so nothing goes back to the host. */
static int apply_propagation(int rootfd, const struct husk_spec *spec, struct husk_err *err)
{
	if (spec->rootfs_propagation && mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
		return husk_err_sys(err, "set rootfsPropagation of /");
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct husk_mount *m = &spec->mounts[i];
		_cleanup_close_ int fd = -1;
		if (!m->propagation)
			continue;
		fd = husk_open_in_root(rootfd, m->destination, O_PATH, err);
		if (fd < 0 || mount_at_fd(NULL, fd, NULL, m->propagation, NULL, m->destination, err) < 0)
			return -1;
	}
	return 0;
}

int husk_rootfs_finish(const struct husk_spec *spec, const struct husk_rootfs_opts *opts, struct husk_err *err)
{
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return husk_err_sys(err, "open /");
	if (spec->n_sysctl) {
		_cleanup_close_ int procfd = husk_procfs_open_root(rootfd, "/proc", err);
		if (procfd < 0)
			return husk_err_wrap(err, "linux.sysctl needs the container's procfs at /proc");
		for (size_t i = 0; i < spec->n_sysctl; i++)
			if (write_sysctl(procfd, spec->sysctl_keys[i], spec->sysctl_values[i], err) < 0)
				return -1;
	}
	for (size_t i = 0; i < spec->n_readonly_paths; i++)
		if (readonly_path(rootfd, spec->readonly_paths[i], err) < 0)
			return -1;
	{
		_cleanup_close_ int first_mask = -1;
		for (size_t i = 0; i < spec->n_masked_paths; i++)
			if (mask_path(rootfd, spec->masked_paths[i], opts->devnull_tree, &first_mask, err) < 0)
				return -1;
	}
	/* last: an unbindable source refuses the binds of masked and read-only paths */
	return apply_propagation(rootfd, spec, err);
}

int husk_rootfs_seal(const struct husk_spec *spec, struct husk_err *err)
{
	_cleanup_close_ int root = -1;

	if (!spec->root_readonly)
		return 0;
	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0 || remount_bind(root, MS_RDONLY, "/ read-only", err) < 0)
		return husk_err_wrap(err, "root.readonly");
	return 0;
}
