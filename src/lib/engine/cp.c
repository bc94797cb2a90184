#define _GNU_SOURCE
#include "cp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "../image/layer.h"
#include "../inroot.h"
#include "../util.h"

/* the top entry's name in the archive between the two halves of a copy (renamed on unpacking) */
#define TOP "top"
/* directories deeper than this are refused: one fd per level is open while walking */
#define MAX_DEPTH 512

enum owner { OWNER_CALLER, OWNER_ROOT, OWNER_ARCHIVE };

/* A path on one side: in the container (rootfd >= 0: resolved inside it) or on the host. */
static int side_open(int rootfd, int dirfd, const char *path, int flags, bool follow)
{
	flags |= O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
	if (rootfd >= 0) {
		struct open_how how = {.flags = (uint64_t)flags, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		int fd;
		while (*path == '/')
			path++;
		do
			fd = (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
		while (fd < 0 && errno == EAGAIN);
		return fd;
	}
	return openat(dirfd, path, flags);
}

/* ---- the source: a tree as a tar stream ---- */

struct producer {
	struct archive *a;
	const struct husk_cp_opts *o;
	const char *where;           /* "in the container" or "" */
};

static int archive_fail(struct archive *a, const char *what, const char *name, struct husk_err *err)
{
	return husk_err_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "%s %s: %s", what, name,
			    archive_error_string(a) ? archive_error_string(a) : "libarchive failed");
}

static int copy_data(struct producer *p, int fd, off_t size, const char *name, struct husk_err *err)
{
	char buf[1 << 16];
	off_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, buf, (size_t)(size - done) < sizeof(buf) ? (size_t)(size - done) : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_err_sys(err, "read %s%s", name, p->where);
		if (n == 0) {
			/* shrunk while read: the header promised size bytes */
			memset(buf, 0, sizeof(buf));
			n = (size_t)(size - done) < sizeof(buf) ? size - done : (off_t)sizeof(buf);
		}
		if (archive_write_data(p->a, buf, (size_t)n) < 0)
			return archive_fail(p->a, "write", name, err);
		done += n;
	}
	return 0;
}

/* The object at (rootfd | dirfd, path) as aname and, for a directory, all below it. Only the
 * top may follow a symlink (-L); below, a symlink is archived as a symlink. */
static int emit(struct producer *p, int rootfd, int dirfd, const char *path, bool follow, const char *aname,
		int depth, struct husk_err *err)
{
	_cleanup_close_ int pfd = side_open(rootfd, dirfd, path, O_PATH, follow);
	_cleanup_close_ int fd = -1;
	struct archive_entry *e;
	struct stat st, st2;
	char link[PATH_MAX];
	int ret = -1;

	if (pfd < 0)
		return husk_err_sys(err, "open %s%s", path, p->where);
	if (fstat(pfd, &st) < 0)
		return husk_err_sys(err, "stat %s%s", path, p->where);
	if (S_ISSOCK(st.st_mode)) {
		struct husk_err w = {0};
		husk_err_set(&w, 0, "%s%s is a socket: not copied", path, p->where);
		if (p->o->warn)
			p->o->warn(p->o->warn_arg, &w);
		return 0;
	}
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		/* reopened for reading, then checked to be what was looked at (O_NONBLOCK: a fifo
		 * swapped in meanwhile does not hang us) */
		fd = side_open(rootfd, dirfd, path, O_RDONLY | O_NONBLOCK | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0), follow);
		if (fd < 0)
			return husk_err_sys(err, "open %s%s", path, p->where);
		if (fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev)
			return husk_err_set(err, EAGAIN, "%s%s changed while it was copied", path, p->where);
	}
	e = archive_entry_new();
	archive_entry_set_pathname(e, aname);
	archive_entry_set_filetype(e, st.st_mode & S_IFMT);
	archive_entry_set_perm(e, st.st_mode & 07777);
	archive_entry_set_uid(e, st.st_uid);
	archive_entry_set_gid(e, st.st_gid);
	archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (S_ISREG(st.st_mode))
		archive_entry_set_size(e, st.st_size);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		archive_entry_set_rdev(e, st.st_rdev);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(pfd, "", link, sizeof(link) - 1);
		if (n < 0) {
			husk_err_sys(err, "read the symlink %s%s", path, p->where);
			goto out;
		}
		link[n] = '\0';
		archive_entry_set_symlink(e, link);
	}
	if (archive_write_header(p->a, e) != ARCHIVE_OK) {
		archive_fail(p->a, "archive", path, err);
		goto out;
	}
	if (S_ISREG(st.st_mode) && copy_data(p, fd, st.st_size, path, err) < 0)
		goto out;
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int dfd = dup(fd);
		DIR *d;
		struct dirent *de;
		char **names = NULL;
		size_t n = 0, cap = 0;

		if (depth >= MAX_DEPTH) {
			husk_err_set(err, ELOOP, "%s%s: more than %d directories deep", path, p->where, MAX_DEPTH);
			goto out;
		}
		d = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!d) {
			husk_err_sys(err, "read the directory %s%s", path, p->where);
			goto out;
		}
		dfd = -1;
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 32;
				names = husk_xrealloc(names, cap * sizeof(char *));
			}
			names[n++] = husk_xstrdup(de->d_name);
		}
		closedir(d);
		ret = 0;
		for (size_t i = 0; i < n; i++) {
			if (ret == 0) {
				_cleanup_free_ char *child = husk_xasprintf("%s/%s", aname, names[i]);
				_cleanup_free_ char *shown = husk_xasprintf("%s/%s", path, names[i]);
				/* each child by its one name in this directory's fd: nothing is followed */
				ret = emit(p, -1, fd, names[i], false, child, depth + 1, err);
				if (ret < 0 && err->errnum)
					husk_err_wrap(err, "%s", shown);
			}
			free(names[i]);
		}
		free(names);
		goto out;
	}
	ret = 0;
out:
	archive_entry_free(e);
	return ret;
}

static int produce(int rootfd, const char *src, bool follow, int out_fd, const char *top, const struct husk_cp_opts *o,
		   struct husk_err *err)
{
	struct producer p = {.a = archive_write_new(), .o = o, .where = rootfd >= 0 ? " in the container" : ""};
	int ret = -1;

	archive_write_set_format_pax_restricted(p.a);
	/* a pipe or a terminal reader wants each block as it is made, not padded to 10 KiB */
	archive_write_set_bytes_in_last_block(p.a, 1);
	if (archive_write_open_fd(p.a, out_fd) != ARCHIVE_OK) {
		archive_fail(p.a, "write", "the archive", err);
		goto out;
	}
	if (emit(&p, rootfd, AT_FDCWD, src, follow, top, 0, err) < 0)
		goto out;
	if (archive_write_close(p.a) != ARCHIVE_OK) {
		archive_fail(p.a, "write", "the archive", err);
		goto out;
	}
	ret = 0;
out:
	archive_write_free(p.a);
	return ret;
}

/* ---- the destination: a tar stream unpacked ---- */

struct extractor {
	int rootfd;                  /* what entries resolve in (the container's root, or the host directory) */
	const char *base;            /* the directory they go into, in rootfd */
	const char *to;              /* NULL, or the name TOP becomes ("": its contents go into base) */
	enum owner owner;
	bool onto_host;
	const char *where;
	const struct husk_cp_opts *o;
};

/* An entry's cleaned name → its path in rootfd (rebased, renamed); "" for base itself. */
static int entry_path(const struct extractor *x, const char *raw, char *out, size_t outlen, struct husk_err *err)
{
	char name[PATH_MAX];
	const char *rest = name;

	if (husk_layer_clean_name(raw, name, sizeof(name), err) < 0)
		return -1;
	if (x->to) {
		size_t n = strlen(TOP);
		if (strncmp(name, TOP, n) != 0 || (name[n] && name[n] != '/'))
			return husk_err_set(err, EINVAL, "entry %s is not under the copied path", raw);
		rest = name + n + (name[n] == '/');
		if (*x->to)
			snprintf(out, outlen, "%s/%s%s%s", x->base, x->to, *rest ? "/" : "", rest);
		else if (*rest)
			snprintf(out, outlen, "%s/%s", x->base, rest);
		else
			out[0] = '\0';
		return 0;
	}
	if (*rest)
		snprintf(out, outlen, "%s/%s", x->base, rest);
	else
		out[0] = '\0';
	return 0;
}

/* The parent directory of path, resolved in the root (created if missing below base: a
 * stream from stdin need not list its directories). */
static int open_parent(const struct extractor *x, const char *path, char *base_out, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xstrdup(path);
	char *slash = strrchr(copy, '/');
	const char *parent = "/";
	int fd;

	if (slash) {
		*slash = '\0';
		strcpy(base_out, slash + 1);
		parent = *copy ? copy : "/";
	} else {
		strcpy(base_out, copy);
	}
	fd = side_open(x->rootfd, -1, parent, O_RDONLY | O_DIRECTORY, true);
	if (fd < 0 && errno == ENOENT) {
		_cleanup_close_ int made = husk_mkpath_in_root(x->rootfd, parent, false, err);
		if (made < 0)
			return -1;
		fd = side_open(x->rootfd, -1, parent, O_RDONLY | O_DIRECTORY, true);
	}
	if (fd < 0)
		return husk_err_sys(err, "open the directory %s%s", parent, x->where);
	return fd;
}

static int apply_meta(const struct extractor *x, struct archive_entry *e, int dir, const char *base, int fd,
		      bool is_link, const char *path, struct husk_err *err)
{
	struct timespec t[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
				{archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
	long long uid = -1, gid = -1;

	if (x->owner == OWNER_ROOT)
		uid = gid = 0;
	else if (x->owner == OWNER_ARCHIVE)
		uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	if (uid >= 0 && fchownat(dir, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_err_sys(err, "chown %s%s to %lld:%lld", path, x->where, uid, gid);
	/* after chown, which clears the set-id bits */
	if (!is_link && fd >= 0 && fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return husk_err_sys(err, "chmod %s%s", path, x->where);
	if (!is_link && fd < 0 && fchmodat(dir, base, archive_entry_perm(e) & 07777, 0) < 0)
		return husk_err_sys(err, "chmod %s%s", path, x->where);
	if (utimensat(dir, base, t, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_err_sys(err, "set the times of %s%s", path, x->where);
	return 0;
}

static int write_entry_data(struct archive *a, int fd, const char *path, const char *where, struct husk_err *err)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	int r;

	while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
		for (size_t done = 0; done < size;) {
			ssize_t n = pwrite(fd, (const char *)buf + done, size - done, offset + (off_t)done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return husk_err_sys(err, "write %s%s", path, where);
			done += (size_t)n;
		}
	}
	if (r != ARCHIVE_EOF)
		return archive_fail(a, "read the data of", path, err);
	return 0;
}

static int extract_entry(const struct extractor *x, struct archive *a, struct archive_entry *e, struct husk_err *err)
{
	char path[PATH_MAX + 256], base[NAME_MAX + 256];
	const char *raw = archive_entry_pathname(e), *hardlink = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	_cleanup_close_ int dir = -1, fd = -1;
	struct stat st;
	bool is_dir = type == AE_IFDIR && !hardlink;

	if (!raw)
		return husk_err_set(err, EINVAL, "an archive entry without a name");
	if (entry_path(x, raw, path, sizeof(path), err) < 0)
		return -1;
	if (!path[0] || strcmp(path, x->base) == 0 || (path[0] == '/' && !path[1]))
		return 0; /* the directory copied into: it is there already */
	if ((type == AE_IFCHR || type == AE_IFBLK) && x->onto_host) {
		struct husk_err w = {0};
		husk_err_set(&w, 0, "%s is a device node: not copied onto the host", raw);
		if (x->o->warn)
			x->o->warn(x->o->warn_arg, &w);
		return 0;
	}
	if (type == AE_IFSOCK)
		return 0;
	dir = open_parent(x, path, base, err);
	if (dir < 0)
		return -1;
	if (strlen(base) > NAME_MAX)
		return husk_err_set(err, ENAMETOOLONG, "%s: a name is too long", raw);
	/* what is there under that one name: never followed; replaced as docker does, but a
	 * directory and a non-directory do not replace each other */
	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (is_dir && !S_ISDIR(st.st_mode))
			return husk_err_set(err, EEXIST, "cannot overwrite non-directory %s%s with a directory", path, x->where);
		if (!is_dir && S_ISDIR(st.st_mode))
			return husk_err_set(err, EISDIR, "cannot overwrite directory %s%s with a non-directory", path, x->where);
		if (!is_dir && unlinkat(dir, base, 0) < 0)
			return husk_err_sys(err, "replace %s%s", path, x->where);
	} else if (errno != ENOENT) {
		return husk_err_sys(err, "stat %s%s", path, x->where);
	}
	if (hardlink) {
		char target[PATH_MAX + 256];
		_cleanup_close_ int src = -1;
		if (entry_path(x, hardlink, target, sizeof(target), err) < 0)
			return husk_err_wrap(err, "hard link %s", raw);
		src = side_open(x->rootfd, -1, target, O_PATH, false);
		if (src < 0)
			return husk_err_sys(err, "hard link %s: its target %s", raw, hardlink);
		if (linkat(src, "", dir, base, AT_EMPTY_PATH) < 0)
			return husk_err_sys(err, "hard link %s%s to %s", path, x->where, hardlink);
		return 0;
	}
	switch (type) {
	case AE_IFDIR:
		if (mkdirat(dir, base, 0700) < 0 && errno != EEXIST)
			return husk_err_sys(err, "create the directory %s%s", path, x->where);
		fd = openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return husk_err_sys(err, "open the directory %s%s", path, x->where);
		break;
	case AE_IFREG:
		fd = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return husk_err_sys(err, "create %s%s", path, x->where);
		if (write_entry_data(a, fd, path, x->where, err) < 0)
			return -1;
		if (ftruncate(fd, archive_entry_size(e)) < 0)
			return husk_err_sys(err, "size %s%s", path, x->where);
		break;
	case AE_IFLNK:
		if (!archive_entry_symlink(e))
			return husk_err_set(err, EINVAL, "symlink %s without a target", raw);
		/* made as it is, never followed here */
		if (symlinkat(archive_entry_symlink(e), dir, base) < 0)
			return husk_err_sys(err, "create the symlink %s%s", path, x->where);
		return apply_meta(x, e, dir, base, -1, true, path, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (mknodat(dir, base, type | 0600, type == AE_IFIFO ? 0 : archive_entry_rdev(e)) < 0)
			return husk_err_sys(err, "create the node %s%s", path, x->where);
		break;
	default:
		return husk_err_set(err, EINVAL, "entry %s: unknown file type 0%o", raw, (unsigned)type);
	}
	return apply_meta(x, e, dir, base, fd, false, path, err);
}

static int extract(const struct extractor *x, int in_fd, struct husk_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, ret = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, in_fd, 1 << 16) != ARCHIVE_OK) {
		ret = archive_fail(a, "read", "the archive", err);
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (extract_entry(x, a, e, err) < 0) {
			ret = -1;
			goto out;
		}
	}
	if (r != ARCHIVE_EOF)
		ret = archive_fail(a, "read", "the archive", err);
out:
	archive_read_free(a);
	return ret;
}

/* ---- docker's rules ---- */

/* src without trailing "/" and "/."; *contents when it ended in "/." (or is the root) */
static char *src_clean(const char *src, bool *contents, bool *slash)
{
	char *s = husk_xstrdup(src);
	size_t n = strlen(s);

	*contents = *slash = false;
	if (n >= 2 && strcmp(s + n - 2, "/.") == 0) {
		*contents = true;
		s[n -= 2] = '\0';
	} else if (strcmp(s, ".") == 0) {
		*contents = true;
	}
	while (n > 1 && s[n - 1] == '/') {
		*slash = true;
		s[--n] = '\0';
	}
	if (n == 0) {
		free(s);
		s = husk_xstrdup("/");
	}
	if (strcmp(s, "/") == 0)
		*contents = true;
	return s;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static char *dir_name(const char *p)
{
	const char *s = strrchr(p, '/');
	if (!s)
		return husk_xstrdup(".");
	if (s == p)
		return husk_xstrdup("/");
	return husk_xasprintf("%.*s", (int)(s - p), p);
}

struct plan {
	char *dir;                   /* where to unpack */
	const char *to;              /* what the top becomes there ("": its contents) */
	char *to_buf;
};

static int make_plan(bool src_dir, bool contents, bool src_slash, const char *src, const char *dest, bool dest_exists,
		     bool dest_dir, struct plan *pl, struct husk_err *err)
{
	size_t dl = strlen(dest);
	bool dest_slash = dl > 1 && dest[dl - 1] == '/';
	_cleanup_free_ char *d = husk_xstrdup(dest);

	if ((contents || src_slash) && !src_dir)
		return husk_err_set(err, ENOTDIR, "%s: not a directory", src);
	while (strlen(d) > 1 && d[strlen(d) - 1] == '/')
		d[strlen(d) - 1] = '\0';
	if (dest_exists && dest_dir) {
		pl->dir = husk_xstrdup(d);
		/* a directory goes in under its name; with SRC/. (or /) only what it holds */
		pl->to = contents ? "" : (pl->to_buf = husk_xstrdup(base_name(src)));
		return 0;
	}
	if (dest_exists && src_dir)
		return husk_err_set(err, ENOTDIR, "cannot copy a directory to a file: %s is not a directory", dest);
	if (dest_slash)
		return husk_err_set(err, dest_exists ? ENOTDIR : ENOENT, "%s: %s", dest,
				    dest_exists ? "not a directory" : "no such directory");
	/* a new name (or a file replaced): the top takes DEST's name in DEST's directory */
	pl->dir = dir_name(d);
	pl->to = pl->to_buf = husk_xstrdup(base_name(d));
	return 0;
}

static int stat_side(int rootfd, const char *path, bool follow, struct stat *st)
{
	_cleanup_close_ int fd = side_open(rootfd, AT_FDCWD, path, O_PATH, follow);
	if (fd < 0)
		return -1;
	return fstat(fd, st);
}

/* The producer in a child (it writes into a pipe while this process unpacks). */
static int copy_through_pipe(int src_root, const char *src, bool follow, const struct extractor *x, const struct husk_cp_opts *o,
			     struct husk_err *err)
{
	int data[2], errp[2];
	pid_t pid;
	int status, ret;
	char msg[HUSK_ERR_MSG_MAX + 16];
	ssize_t n;

	if (pipe2(data, O_CLOEXEC) < 0)
		return husk_err_sys(err, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(data[0]);
		close(data[1]);
		return husk_err_sys(err, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		close(data[0]), close(data[1]), close(errp[0]), close(errp[1]);
		return husk_err_sys(err, "fork");
	}
	if (pid == 0) {
		struct husk_err cerr = {0};
		signal(SIGPIPE, SIG_IGN);
		close(data[0]);
		close(errp[0]);
		if (produce(src_root, src, follow, data[1], TOP, o, &cerr) < 0) {
			int len = snprintf(msg, sizeof(msg), "%d %s", cerr.errnum, cerr.msg);
			if (write(errp[1], msg, (size_t)len) < 0)
				_exit(2);
			_exit(1);
		}
		_exit(0);
	}
	close(data[1]);
	close(errp[1]);
	ret = extract(x, data[0], err);
	close(data[0]);
	n = read(errp[0], msg, sizeof(msg) - 1);
	close(errp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n > 0) {
		msg[n] = '\0';
		int e = atoi(msg);
		const char *text = strchr(msg, ' ');
		/* the source's own failure explains the unpacking's "truncated"; EPIPE is only
		 * the unpacking having stopped first */
		if (ret == 0 || e != EPIPE) {
			husk_err_clear(err);
			return husk_err_set(err, e, "%s", text ? text + 1 : msg);
		}
	} else if (ret == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		return husk_err_set(err, EIO, "the copying process failed (wait status %d)", status);
	}
	return ret;
}

static int copy(int src_root, const char *src_in, int dest_root, const char *dest, const struct husk_cp_opts *o,
		struct husk_err *err)
{
	bool contents, src_slash, dest_exists;
	_cleanup_free_ char *src = src_clean(src_in, &contents, &src_slash);
	struct stat sst, dst;
	struct plan pl = {0};
	_cleanup_close_ int hostdir = -1;
	int ret = -1;

	if (stat_side(src_root, src, o->follow || src_slash || contents, &sst) < 0)
		return husk_err_sys(err, "%s%s", src_in, src_root >= 0 ? " in the container" : "");
	dest_exists = stat_side(dest_root, dest, true, &dst) == 0;
	if (!dest_exists && errno != ENOENT)
		return husk_err_sys(err, "%s%s", dest, dest_root >= 0 ? " in the container" : "");
	if (make_plan(S_ISDIR(sst.st_mode), contents, src_slash, src_in, dest, dest_exists,
		      dest_exists && S_ISDIR(dst.st_mode), &pl, err) < 0)
		return -1;
	struct extractor x = {.to = pl.to, .o = o};
	if (dest_root >= 0) {
		/* the directory must be there (docker's "no such directory"), as a directory */
		_cleanup_close_ int d = side_open(dest_root, -1, pl.dir, O_RDONLY | O_DIRECTORY, true);
		if (d < 0) {
			husk_err_sys(err, "%s in the container", pl.dir);
			goto out;
		}
		x.rootfd = dest_root;
		x.base = pl.dir;
		x.owner = o->archive ? OWNER_ARCHIVE : OWNER_ROOT;
		x.where = " in the container";
	} else {
		/* onto the host: what the archive names stays below that directory, as if it
		 * were "/" (the container's symlinks in it resolve there) */
		hostdir = open(pl.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (hostdir < 0) {
			husk_err_sys(err, "%s", pl.dir);
			goto out;
		}
		x.rootfd = hostdir;
		x.base = "";
		x.owner = o->archive ? OWNER_ARCHIVE : OWNER_CALLER;
		x.onto_host = true;
		x.where = "";
	}
	ret = copy_through_pipe(src_root, src, o->follow || src_slash || contents, &x, o, err);
out:
	free(pl.dir);
	free(pl.to_buf);
	return ret;
}

int husk_cp_out(int rootfd, const char *src, const char *dest, const struct husk_cp_opts *o, struct husk_err *err)
{
	return copy(rootfd, src, -1, dest, o, err);
}

int husk_cp_in(int rootfd, const char *src, const char *dest, const struct husk_cp_opts *o, struct husk_err *err)
{
	return copy(-1, src, rootfd, dest, o, err);
}

int husk_cp_out_tar(int rootfd, const char *src_in, int fd, const struct husk_cp_opts *o, struct husk_err *err)
{
	bool contents, slash;
	_cleanup_free_ char *src = src_clean(src_in, &contents, &slash);
	struct stat st;

	if (stat_side(rootfd, src, o->follow || slash || contents, &st) < 0)
		return husk_err_sys(err, "%s in the container", src_in);
	if ((contents || slash) && !S_ISDIR(st.st_mode))
		return husk_err_set(err, ENOTDIR, "%s: not a directory", src_in);
	return produce(rootfd, src, o->follow || slash || contents, fd, contents ? "." : base_name(src), o, err);
}

int husk_cp_in_tar(int rootfd, int fd, const char *dest, const struct husk_cp_opts *o, struct husk_err *err)
{
	struct stat st;
	struct extractor x = {.rootfd = rootfd, .base = dest, .owner = o->archive ? OWNER_ARCHIVE : OWNER_ROOT,
			      .where = " in the container", .o = o};

	if (stat_side(rootfd, dest, true, &st) < 0)
		return husk_err_sys(err, "%s in the container", dest);
	if (!S_ISDIR(st.st_mode))
		return husk_err_set(err, ENOTDIR, "%s in the container: a tar stream goes into a directory", dest);
	return extract(&x, fd, err);
}
