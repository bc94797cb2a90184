#define _GNU_SOURCE
#include "nsexec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "util.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

const struct husk_nskind husk_nskinds[HUSK_NS_COUNT] = {
	{'U', "user", "user", CLONE_NEWUSER},
	{'C', "cgroup", "cgroup", CLONE_NEWCGROUP},
	{'i', "ipc", "ipc", CLONE_NEWIPC},
	{'u', "uts", "uts", CLONE_NEWUTS},
	{'n', "net", "net", CLONE_NEWNET},
	{'T', "time", "time", CLONE_NEWTIME},
	{'m', "mount", "mnt", CLONE_NEWNS},
	{'p', "pid", "pid", CLONE_NEWPID},
};

const struct husk_nskind *husk_nskind_by_letter(char letter)
{
	for (size_t i = 0; i < HUSK_NS_COUNT; i++)
		if (husk_nskinds[i].letter == letter)
			return &husk_nskinds[i];
	return NULL;
}

/* the mount id of path's mount, from name_to_handle_at (statx's STATX_MNT_ID is newer than
 * some of the kernels husk runs on) */
static int mount_id_of(const char *path, int *id, struct husk_err *err)
{
	struct {
		struct file_handle h;
		unsigned char buf[MAX_HANDLE_SZ];
	} fh = {.h.handle_bytes = MAX_HANDLE_SZ};

	/* the kernel fills the mount id even when the handle does not fit */
	if (name_to_handle_at(AT_FDCWD, path, &fh.h, id, 0) < 0 && errno != EOVERFLOW)
		return husk_err_sys(err, "find the mount of %s", path);
	return 0;
}

int husk_nsexec_on_shared_mount(const char *path, bool *shared, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xasprintf("%s", path);
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int id = -1;

	*shared = false;
	if (access(path, F_OK) < 0) {
		char *slash = strrchr(copy, '/');
		if (slash == copy)
			slash[1] = 0;
		else if (slash)
			*slash = 0;
		else
			strcpy(copy, ".");
	}
	if (mount_id_of(copy, &id, err) < 0)
		return -1;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return husk_err_sys(err, "open /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		int mid;
		char *dash;
		if (sscanf(line, "%d", &mid) != 1 || mid != id)
			continue;
		/* the optional fields sit between the 6th field and " - " */
		dash = strstr(line, " - ");
		if (dash)
			*dash = 0;
		*shared = strstr(line, " shared:") != NULL;
		return 0;
	}
	return husk_err_set(err, ENOENT, "the mount of %s (id %d) is not in /proc/self/mountinfo", copy, id);
}

int husk_nsexec_persist(pid_t pid, const struct husk_nskind *k, const char *file, struct husk_err *err)
{
	char src[64];
	const char *name = k->proc;
	int fd;

	if (k->flag == CLONE_NEWNS) {
		bool shared;
		if (husk_nsexec_on_shared_mount(file, &shared, err) < 0)
			return -1;
		if (shared)
			return husk_err_set(err, EINVAL,
					    "keep the mount namespace on %s: it is on a shared mount, and the bind "
					    "would propagate into the namespace itself (mount --make-private the "
					    "mount holding it, or choose a file elsewhere)",
					    file);
	}
	if (k->flag == CLONE_NEWPID)
		name = "pid_for_children";
	else if (k->flag == CLONE_NEWTIME)
		name = "time_for_children";
	snprintf(src, sizeof(src), "/proc/%d/ns/%s", (int)pid, name);
	fd = open(file, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return husk_err_sys(err, "create %s to keep the %s namespace on", file, k->option);
	close(fd);
	if (mount(src, file, NULL, MS_BIND, NULL) < 0)
		return husk_err_sys(err, "bind %s on %s", src, file);
	return 0;
}

int husk_nsexec_open(pid_t pid, const struct husk_nskind *k, const char *file, int *fd, struct husk_err *err)
{
	char path[64];
	int type;

	if (!file) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, k->proc);
		file = path;
	}
	*fd = open(file, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return husk_err_sys(err, "open the %s namespace %s", k->option, file);
	type = ioctl(*fd, NS_GET_NSTYPE);
	if (type < 0) {
		husk_err_sys(err, "%s is not a namespace", file);
		close(*fd);
		*fd = -1;
		return -1;
	}
	if ((unsigned long)type != k->flag) {
		const char *is = "another";
		for (size_t i = 0; i < HUSK_NS_COUNT; i++)
			if (husk_nskinds[i].flag == (unsigned long)type)
				is = husk_nskinds[i].option;
		close(*fd);
		*fd = -1;
		return husk_err_set(err, EINVAL, "%s is a %s namespace, not a %s namespace", file, is, k->option);
	}
	return 0;
}

int husk_nsexec_is_own(int fd, const struct husk_nskind *k, bool *own, struct husk_err *err)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", k->proc);
	if (fstat(fd, &a) < 0)
		return husk_err_sys(err, "stat a %s namespace", k->option);
	if (stat(path, &b) < 0)
		return husk_err_sys(err, "stat %s", path);
	*own = a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	return 0;
}

int husk_nsexec_map_self(long uid_inside, uid_t uid_outside, long gid_inside, gid_t gid_outside,
			 const char *setgroups, struct husk_err *err)
{
	char text[64];

	if (setgroups && husk_write_file_at(AT_FDCWD, "/proc/self/setgroups", setgroups, strlen(setgroups), err) < 0)
		return husk_err_wrap(err, "setgroups %s", setgroups);
	if (uid_inside >= 0) {
		snprintf(text, sizeof(text), "%ld %u 1\n", uid_inside, (unsigned)uid_outside);
		if (husk_write_file_at(AT_FDCWD, "/proc/self/uid_map", text, strlen(text), err) < 0)
			return husk_err_wrap(err, "map uid %ld to %u", uid_inside, (unsigned)uid_outside);
	}
	if (gid_inside >= 0) {
		snprintf(text, sizeof(text), "%ld %u 1\n", gid_inside, (unsigned)gid_outside);
		if (husk_write_file_at(AT_FDCWD, "/proc/self/gid_map", text, strlen(text), err) < 0)
			return husk_err_wrap(err, "map gid %ld to %u", gid_inside, (unsigned)gid_outside);
	}
	return 0;
}
