#define _GNU_SOURCE
#include "layer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "../util.h"

#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_MARKER ".wh..wh..opq"

int husk_layer_clean_name(const char *name, char *out, size_t outlen, struct husk_err *err)
{
	size_t n = 0;
	const char *p = name;

	if (strlen(name) >= PATH_MAX)
		return husk_err_set(err, ENAMETOOLONG, "entry name longer than %d bytes", PATH_MAX);
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return husk_err_set(err, EPERM, "entry \"%s\": a \"..\" component would leave the layer", name);
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > outlen)
				return husk_err_set(err, ENAMETOOLONG, "entry \"%s\": name too long", name);
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = *end ? end + 1 : end;
	}
	out[n] = '\0';
	return 0;
}

int husk_layer_whiteout(const char *base, const char **target, struct husk_err *err)
{
	if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) != 0)
		return 0;
	if (strcmp(base, OPAQUE_MARKER) == 0)
		return 2;
	*target = base + strlen(WHITEOUT_PREFIX);
	if (**target == '\0' || strcmp(*target, ".") == 0 || strcmp(*target, "..") == 0 ||
	    strncmp(*target, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
		return husk_err_set(err, EINVAL, "malformed whiteout \"%s\"", base);
	return 1;
}

static int open_in_layer(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

struct unpacker {
	int rootfd;
	const struct husk_unpack_limits *limits;
	uint64_t entries, bytes;
	char parent_path[PATH_MAX];  /* the directory last resolved, kept open as parent_fd */
	int parent_fd;
};

static void forget_parent(struct unpacker *u)
{
	if (u->parent_fd >= 0)
		close(u->parent_fd);
	u->parent_fd = -1;
	u->parent_path[0] = '\1';
}

/* The directory path (cleaned, relative to the layer) as an fd, creating what is missing. Each
 * prefix is resolved from the layer's root, so a symlink on the way resolves inside the layer;
 * a missing directory is created in its (resolved) parent under its single-component name. */
static int parent_dir(struct unpacker *u, const char *path, struct husk_err *err)
{
	char prefix[PATH_MAX];
	int dir = -1;
	const char *p = path;

	if (strcmp(path, u->parent_path) == 0 && u->parent_fd >= 0)
		return u->parent_fd;
	forget_parent(u);
	dir = open_in_layer(u->rootfd, "", O_RDONLY | O_DIRECTORY);
	if (dir < 0)
		return husk_err_sys(err, "open the layer's root");
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t plen = (size_t)(end - path);
		char name[NAME_MAX + 1];
		int next;

		if ((size_t)(end - p) > NAME_MAX) {
			close(dir);
			return husk_err_set(err, ENAMETOOLONG, "directory %s: a component is too long", path);
		}
		memcpy(prefix, path, plen);
		prefix[plen] = '\0';
		next = open_in_layer(u->rootfd, prefix, O_RDONLY | O_DIRECTORY);
		if (next < 0 && errno == ENOENT) {
			memcpy(name, p, (size_t)(end - p));
			name[end - p] = '\0';
			if (mkdirat(dir, name, 0755) < 0) {
				int e = errno;
				close(dir);
				return husk_err_set(err, e, "create directory %s in the layer%s", prefix,
						    e == EEXIST ? " (a symlink that leads nowhere in the layer is in the way)" : "");
			}
			next = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			int e = errno;
			close(dir);
			return husk_err_set(err, e, "open directory %s in the layer", prefix);
		}
		close(dir);
		dir = next;
		p = *end ? end + 1 : end;
	}
	snprintf(u->parent_path, sizeof(u->parent_path), "%s", path);
	u->parent_fd = dir;
	return dir;
}

/* tar semantics: a later entry replaces an earlier one of the same name, except that a
 * directory over a directory merges. */
static int make_room(int dir, const char *base, bool is_dir, const char *name, bool *exists_dir,
		     struct husk_err *err)
{
	struct stat st;

	*exists_dir = false;
	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : husk_err_sys(err, "stat %s in the layer", name);
	if (is_dir && S_ISDIR(st.st_mode)) {
		*exists_dir = true;
		return 0;
	}
	/* parent_fd is dir itself, the parent of what goes, so it stays valid */
	if (husk_rmtree_at(dir, base, err) < 0)
		return husk_err_wrap(err, "replace %s in the layer", name);
	return 0;
}

static bool xattr_allowed(const char *name)
{
	/* trusted.overlay.* from an archive would forge whiteouts and redirects in the snapshot */
	return strcmp(name, "security.capability") == 0 || strncmp(name, "user.", 5) == 0;
}

static int apply_xattrs(struct archive_entry *e, int fd, const char *name, struct husk_err *err)
{
	const char *xname;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
		if (!xattr_allowed(xname))
			continue;
		if (fsetxattr(fd, xname, value, size, 0) < 0)
			return husk_err_sys(err, "set xattr %s on %s in the layer", xname, name);
	}
	return 0;
}

/* Owner, mode, times of base in dir; fd (or -1) is the object itself, for xattrs. Called only
 * on what this unpack just created, so base is known not to be a symlink unless is_link. */
static int apply_metadata(struct archive_entry *e, int dir, const char *base, int fd, bool is_link, const char *name,
			  struct husk_err *err)
{
	struct timespec times[2] = {
		{.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)},
		{.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)},
	};
	mode_t mode = archive_entry_perm(e) & 07777;

	if (fchownat(dir, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return husk_err_sys(err, "chown %s in the layer to %lld:%lld", name, (long long)archive_entry_uid(e),
				    (long long)archive_entry_gid(e));
	/* after chown, which clears set-user-ID bits */
	if (!is_link && (fd >= 0 ? fchmod(fd, mode) : fchmodat(dir, base, mode, 0)) < 0)
		return husk_err_sys(err, "chmod %s in the layer", name);
	if (fd >= 0 && apply_xattrs(e, fd, name, err) < 0)
		return -1;
	if (utimensat(dir, base, times, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_err_sys(err, "set the times of %s in the layer", name);
	return 0;
}

static int write_data(struct unpacker *u, struct archive *a, struct archive_entry *e, int fd, const char *name,
		      struct husk_err *err)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	int r;

	if (archive_entry_size(e) < 0 || (uint64_t)archive_entry_size(e) > u->limits->max_bytes - u->bytes)
		return husk_err_set(err, EFBIG, "entry %s: %lld bytes is more than the layer may hold", name,
				    (long long)archive_entry_size(e));
	while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
		if (offset < 0 || (uint64_t)offset + size > (uint64_t)archive_entry_size(e))
			return husk_err_set(err, EFBIG, "entry %s: data beyond its declared size", name);
		for (size_t done = 0; done < size;) {
			ssize_t n = pwrite(fd, (const char *)buf + done, size - done, offset + (off_t)done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return husk_err_sys(err, "write %s in the layer", name);
			done += (size_t)n;
		}
	}
	if (r != ARCHIVE_EOF)
		return husk_err_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "read the data of %s: %s", name,
				    archive_error_string(a) ? archive_error_string(a) : "truncated archive");
	u->bytes += (uint64_t)archive_entry_size(e);
	/* sparse files end in a hole the writes above did not reach */
	if (ftruncate(fd, archive_entry_size(e)) < 0)
		return husk_err_sys(err, "size %s in the layer", name);
	return 0;
}

static int unpack_entry(struct unpacker *u, struct archive *a, struct archive_entry *e, struct husk_err *err)
{
	char name[PATH_MAX], parent[PATH_MAX];
	const char *raw = archive_entry_pathname(e), *hardlink = archive_entry_hardlink(e), *base, *target = NULL;
	mode_t type = archive_entry_filetype(e);
	_cleanup_close_ int fd = -1;
	bool exists_dir;
	int dir, kind;
	char *slash;

	if (!raw)
		return husk_err_set(err, EINVAL, "an entry without a name (or not in this locale's encoding)");
	if (husk_layer_clean_name(raw, name, sizeof(name), err) < 0)
		return -1;
	if (!*name) {
		/* the root itself: metadata only */
		if (type != AE_IFDIR || hardlink)
			return husk_err_set(err, EINVAL, "entry \"%s\" would replace the layer's root", raw);
		return apply_metadata(e, u->rootfd, ".", u->rootfd, false, "/", err);
	}
	slash = strrchr(name, '/');
	if (slash) {
		memcpy(parent, name, (size_t)(slash - name));
		parent[slash - name] = '\0';
		base = slash + 1;
	} else {
		parent[0] = '\0';
		base = name;
	}
	if (strlen(base) > NAME_MAX)
		return husk_err_set(err, ENAMETOOLONG, "entry %s: a component is too long", name);
	kind = husk_layer_whiteout(base, &target, err);
	if (kind < 0)
		return husk_err_wrap(err, "entry %s", name);
	dir = parent_dir(u, parent, err);
	if (dir < 0)
		return husk_err_wrap(err, "entry %s", name);
	if (kind == 2) {
		if (fsetxattr(dir, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return husk_err_sys(err, "mark %s opaque", *parent ? parent : "/");
		return 0;
	}
	if (kind == 1) {
		if (make_room(dir, target, false, name, &exists_dir, err) < 0)
			return -1;
		if (mknodat(dir, target, S_IFCHR | 0600, makedev(0, 0)) < 0)
			return husk_err_sys(err, "create the whiteout for %s", name);
		return 0;
	}
	if (make_room(dir, base, type == AE_IFDIR && !hardlink, name, &exists_dir, err) < 0)
		return -1;

	if (hardlink) {
		char link_name[PATH_MAX];
		_cleanup_close_ int src = -1;
		if (husk_layer_clean_name(hardlink, link_name, sizeof(link_name), err) < 0)
			return husk_err_wrap(err, "hard link %s", name);
		/* the last component is not followed: a link to a symlink links the symlink */
		src = open_in_layer(u->rootfd, link_name, O_PATH | O_NOFOLLOW);
		if (src < 0)
			return husk_err_sys(err, "hard link %s: its target %s is not in the layer", name, hardlink);
		if (linkat(src, "", dir, base, AT_EMPTY_PATH) < 0)
			return husk_err_sys(err, "hard link %s to %s", name, hardlink);
		return 0;
	}
	switch (type) {
	case AE_IFDIR:
		if (!exists_dir && mkdirat(dir, base, 0700) < 0)
			return husk_err_sys(err, "create directory %s", name);
		fd = openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return husk_err_sys(err, "open directory %s", name);
		break;
	case AE_IFREG:
		fd = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return husk_err_sys(err, "create %s", name);
		if (write_data(u, a, e, fd, name, err) < 0)
			return -1;
		break;
	case AE_IFLNK:
		if (!archive_entry_symlink(e))
			return husk_err_set(err, EINVAL, "symlink %s without a target", name);
		/* stored as it is: never followed here, resolved inside the root by whoever reads it */
		if (symlinkat(archive_entry_symlink(e), dir, base) < 0)
			return husk_err_sys(err, "create symlink %s", name);
		return apply_metadata(e, dir, base, -1, true, name, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (mknodat(dir, base, type | 0600, type == AE_IFIFO ? 0 : archive_entry_rdev(e)) < 0)
			return husk_err_sys(err, "create device %s", name);
		break;
	case AE_IFSOCK:
		return 0;
	default:
		return husk_err_set(err, EINVAL, "entry %s: unknown file type 0%o", name, (unsigned)type);
	}
	return apply_metadata(e, dir, base, fd, false, name, err);
}

int husk_layer_unpack(int archive_fd, int rootfd, const struct husk_unpack_limits *limits, struct husk_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct unpacker u = {.rootfd = rootfd, .limits = limits, .parent_fd = -1};
	int r, ret = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, archive_fd, 1 << 16) != ARCHIVE_OK) {
		ret = husk_err_set(err, archive_errno(a) > 0 ? archive_errno(a) : EINVAL, "read the layer: %s",
				   archive_error_string(a));
		goto out;
	}
	u.parent_path[0] = '\1';
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (++u.entries > limits->max_entries) {
			ret = husk_err_set(err, EFBIG, "more than %llu entries in the layer",
					   (unsigned long long)limits->max_entries);
			goto out;
		}
		if (unpack_entry(&u, a, e, err) < 0) {
			ret = -1;
			goto out;
		}
	}
	if (r != ARCHIVE_EOF)
		ret = husk_err_set(err, archive_errno(a) > 0 ? archive_errno(a) : EINVAL, "read the layer: %s",
				   archive_error_string(a) ? archive_error_string(a) : "not a tar archive");
out:
	forget_parent(&u);
	archive_read_free(a);
	return ret;
}
