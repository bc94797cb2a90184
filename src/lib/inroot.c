#define _GNU_SOURCE
#include "inroot.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "util.h"

int husk_open_in_root(int rootfd, const char *path, int flags, struct husk_err *err)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	if (fd < 0)
		return husk_err_sys(err, "open /%s in the container root", path);
	return fd;
}

#define MAX_SYMLINK_HOPS 40

static int mkpath_in_root(int rootfd, const char *path, bool as_file, int hops, struct husk_err *err)
{
	_cleanup_free_ char *copy = NULL, *parent_path = NULL;
	_cleanup_close_ int parent = -1, dir = -1;
	char *slash, *base, link[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	fd = husk_open_in_root(rootfd, path, O_PATH, NULL);
	if (fd >= 0 || errno != ENOENT) {
		if (fd < 0)
			return husk_err_sys(err, "open %s in the container root", path);
		return fd;
	}
	if (hops > MAX_SYMLINK_HOPS)
		return husk_err_set(err, ELOOP, "create %s in the container root", path);
	copy = husk_xstrdup(path);
	/* strip trailing slashes, then split off the last component */
	for (size_t l = strlen(copy); l > 1 && copy[l - 1] == '/'; l--)
		copy[l - 1] = '\0';
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		parent_path = husk_xstrdup(*copy ? copy : "/");
	} else {
		base = copy;
		parent_path = husk_xstrdup("/");
	}
	if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0 || *base == '\0')
		return husk_err_set(err, EINVAL, "cannot create %s in the container root", path);
	parent = mkpath_in_root(rootfd, parent_path, false, hops, err);
	if (parent < 0)
		return -1;
	dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return husk_err_sys(err, "open %s in the container root", parent_path);
	/* parent is resolved inside the root and base is one component: creating it cannot
	 * escape, and O_EXCL / mkdirat do not follow a symlink already named base */
	if (as_file) {
		int f = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f >= 0)
			close(f);
		else if (errno != EEXIST)
			return husk_err_sys(err, "create %s in the container root", path);
	} else if (mkdirat(dir, base, 0755) < 0 && errno != EEXIST) {
		return husk_err_sys(err, "mkdir %s in the container root", path);
	}
	/* base exists but did not resolve: a dangling symlink. Make what it names, read as a
	 * path inside the root (absolute links start at the container's /, not the host's) */
	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		_cleanup_free_ char *target = NULL;
		n = readlinkat(dir, base, link, sizeof(link) - 1);
		if (n < 0)
			return husk_err_sys(err, "read the symlink %s in the container root", path);
		link[n] = '\0';
		target = link[0] == '/' ? husk_xstrdup(link) : husk_xasprintf("%s/%s", parent_path, link);
		return mkpath_in_root(rootfd, target, as_file, hops + 1, err);
	}
	return husk_open_in_root(dir, base, O_PATH | O_NOFOLLOW, err);
}

int husk_mkpath_in_root(int rootfd, const char *path, bool as_file, struct husk_err *err)
{
	return mkpath_in_root(rootfd, path, as_file, 0, err);
}
