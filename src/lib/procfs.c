#define _GNU_SOURCE
#include "procfs.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/openat2.h>

#include "util.h"

/* The inode number procfs gives its root directory (PROC_ROOT_INO in fs/proc/internal.h). */
#define PROCFS_ROOT_INO 1

static int openat2_retry(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = resolve};
	int fd;

	/* openat2 answers EAGAIN when a rename raced the lookup: try again */
	do
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

static int check_on_procfs(int fd, const char *what, struct husk_err *err)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return husk_err_sys(err, "statfs %s", what);
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return husk_err_set(err, EXDEV, "%s is not on procfs (something is mounted over it)", what);
	return 0;
}

int husk_procfs_open_root(int dirfd, const char *path, struct husk_err *err)
{
	const char *rel = path;
	_cleanup_close_ int fd = -1;
	struct stat st;

	/* from AT_FDCWD an absolute path starts at the process's root, as it should; under a
	 * directory fd the path is taken as inside it */
	if (dirfd != AT_FDCWD)
		while (*rel == '/')
			rel++;
	fd = openat2_retry(dirfd, *rel ? rel : ".", O_PATH | O_DIRECTORY,
			   (dirfd != AT_FDCWD ? RESOLVE_IN_ROOT : 0) | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0) {
		if (errno == ELOOP)
			return husk_err_set(err, ELOOP, "open %s: it is (or passes through) a symlink", path);
		return husk_err_sys(err, "open %s", path);
	}
	if (check_on_procfs(fd, path, err) < 0)
		return -1;
	/* a procfs sub-directory bound onto /proc would pass the statfs check */
	if (fstat(fd, &st) < 0)
		return husk_err_sys(err, "stat %s", path);
	if (st.st_ino != PROCFS_ROOT_INO)
		return husk_err_set(err, EXDEV, "%s is not the root of a procfs mount", path);
	return steal_fd(&fd);
}

int husk_procfs_open(int procfd, const char *rel, int flags, struct husk_err *err)
{
	static const char *const self_links[] = {"thread-self", "self"};
	_cleanup_free_ char *resolved = NULL;
	_cleanup_close_ int fd = -1;
	const char *path = rel;

	/* self and thread-self are the only symlinks husk needs: read them here (they name the
	 * caller as this procfs instance's pid namespace numbers it), then refuse any other */
	for (size_t i = 0; i < ARRAY_SIZE(self_links); i++) {
		size_t n = strlen(self_links[i]);
		char target[64];
		ssize_t len;
		if (strncmp(rel, self_links[i], n) != 0 || (rel[n] != '/' && rel[n] != '\0'))
			continue;
		len = readlinkat(procfd, self_links[i], target, sizeof(target) - 1);
		if (len < 0)
			return husk_err_sys(err, "readlink /proc/%s", self_links[i]);
		target[len] = '\0';
		resolved = husk_xasprintf("%s%s", target, rel + n);
		path = resolved;
		break;
	}
	fd = openat2_retry(procfd, path, (uint64_t)(flags | O_NOCTTY),
			   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
	if (fd < 0) {
		if (errno == EXDEV)
			return husk_err_set(err, EXDEV, "open /proc/%s: something is mounted on the way", rel);
		if (errno == ELOOP)
			return husk_err_set(err, ELOOP, "open /proc/%s: it passes through a symlink", rel);
		return husk_err_sys(err, "open /proc/%s", rel);
	}
	/* the file itself, as opened: what the write will reach */
	{
		char what[PATH_MAX];
		snprintf(what, sizeof(what), "/proc/%s", rel);
		if (check_on_procfs(fd, what, err) < 0)
			return -1;
	}
	return steal_fd(&fd);
}

int husk_procfs_write(int procfd, const char *rel, const char *buf, size_t len, struct husk_err *err)
{
	_cleanup_close_ int fd = husk_procfs_open(procfd, rel, O_WRONLY, err);

	if (fd < 0)
		return -1;
	if (husk_write_all(fd, buf, len) < 0)
		return husk_err_sys(err, "write /proc/%s", rel);
	return 0;
}

int husk_procfs_write_self(const char *rel, const char *buf, size_t len, struct husk_err *err)
{
	_cleanup_close_ int procfd = husk_procfs_open_root(AT_FDCWD, "/proc", err);

	if (procfd < 0)
		return -1;
	return husk_procfs_write(procfd, rel, buf, len, err);
}
