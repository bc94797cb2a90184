#define _GNU_SOURCE
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/mount.h>

#include "image.h"
#include "../fdpass.h"
#include "../util.h"

int husk_snapshot_create(struct husk_store *s, const char *id, const char *manifest_digest, struct husk_err *err)
{
	static const char *const dirs[] = {"upper", "work", "rootfs"};
	_cleanup_close_ int dir = -1;
	char path[128];

	snprintf(path, sizeof(path), "containers/%s", id);
	if (mkdirat(s->dirfd, path, 0700) < 0)
		return husk_err_sys(err, "create %s/%s", s->path, path);
	dir = openat(s->dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return husk_err_sys(err, "open %s/%s", s->path, path);
	/* first, so a prune running from here on keeps the image's layers */
	_cleanup_close_ int fd = openat(dir, "image", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || husk_write_all(fd, manifest_digest, strlen(manifest_digest)) < 0)
		return husk_err_sys(err, "write %s/%s/image", s->path, path);
	/* upper's mode is that of the container's "/": 0700 would keep every other user out */
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdirat(dir, dirs[i], strcmp(dirs[i], "work") == 0 ? 0700 : 0755) < 0 ||
		    fchmodat(dir, dirs[i], strcmp(dirs[i], "work") == 0 ? 0700 : 0755, 0) < 0)
			return husk_err_sys(err, "create %s/%s/%s", s->path, path, dirs[i]);
	return 0;
}

int husk_snapshot_remove(struct husk_store *s, const char *id, struct husk_err *err)
{
	char path[128];

	snprintf(path, sizeof(path), "containers/%s", id);
	return husk_rmtree_at(s->dirfd, path, err);
}

static int fsconfig_string(int fsfd, const char *key, const char *value, struct husk_err *err)
{
	if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, key, value, 0) < 0)
		return husk_err_sys(err, "overlay option %s=%s", key, value);
	return 0;
}

/* Kernels before 6.8 take the lower directories only as one option string, which the new mount
 * API limits to 256 bytes: there mount(2) them (up to a page) in a throwaway mount namespace
 * and bring back a detached copy with open_tree. */
static int mount_legacy(const char *options, const char *target, struct husk_err *err)
{
	int sv[2], status;
	pid_t pid;

	if (strlen(options) >= 4096)
		return husk_err_set(err, E2BIG, "the overlay options take %zu bytes, more than a page: too many layers",
				    strlen(options));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_err_sys(err, "socketpair");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return husk_err_sys(err, "fork");
	}
	if (pid == 0) {
		struct husk_err cerr = {0};
		int tree;
		close(sv[0]);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0) {
			husk_err_sys(&cerr, "unshare a mount namespace");
		} else if (mount("overlay", target, "overlay", 0, options) < 0) {
			husk_err_sys(&cerr, "mount overlay on %s (is overlayfs available? modprobe overlay)", target);
		} else if ((tree = (int)syscall(SYS_open_tree, AT_FDCWD, target, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)) < 0) {
			husk_err_sys(&cerr, "open_tree %s", target);
		} else {
			if (husk_send_fd(sv[1], tree, "overlay", &cerr) == 0)
				_exit(0);
		}
		dprintf(sv[1], "%d %s", cerr.errnum, cerr.msg);
		_exit(1);
	}
	close(sv[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		int fd = husk_recv_fd(sv[0], err);
		close(sv[0]);
		return fd;
	}
	char msg[HUSK_ERR_MSG_MAX + 16] = "";
	ssize_t n = read(sv[0], msg, sizeof(msg) - 1);
	close(sv[0]);
	if (n <= 0)
		return husk_err_set(err, EIO, "mount the overlay: the helper process failed");
	msg[n] = '\0';
	const char *text = strchr(msg, ' ');
	return husk_err_set(err, atoi(msg), "%s", text ? text + 1 : msg);
}

int husk_snapshot_mount(struct husk_store *s, const char *id, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL, *manifest = NULL, *upper = NULL, *work = NULL, *target = NULL;
	_cleanup_close_ int fsfd = -1;
	struct husk_manifest m;
	char path[128];
	size_t len;
	int mnt;

	snprintf(path, sizeof(path), "containers/%s/image", id);
	if (husk_read_file_at(s->dirfd, path, &text, NULL, err) < 0)
		return husk_err_wrap(err, "container %s", id);
	text[strcspn(text, "\n")] = '\0';
	if (husk_blob_read(s, text, HUSK_MANIFEST_MAX, &manifest, &len, err) < 0 ||
	    husk_manifest_parse(manifest, len, &m, err) < 0)
		return husk_err_wrap(err, "container %s", id);
	for (size_t i = 0; i < m.n_layers; i++) {
		snprintf(path, sizeof(path), "layers/%s", husk_digest_hex(m.layers[i]));
		if (faccessat(s->dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
			husk_err_sys(err, "container %s: layer %s of its image is not in %s", id, m.layers[i], s->path);
			husk_manifest_free(&m);
			return -1;
		}
	}
	upper = husk_xasprintf("%s/containers/%s/upper", s->path, id);
	work = husk_xasprintf("%s/containers/%s/work", s->path, id);
	fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0) {
		husk_manifest_free(&m);
		return husk_err_sys(err, "open an overlay filesystem (is overlayfs available? modprobe overlay)");
	}
	/* overlay's lower directories go top first; a manifest lists its layers bottom first */
	bool legacy = false;
	for (size_t i = m.n_layers; i-- > 0;) {
		_cleanup_free_ char *lower = husk_xasprintf("%s/layers/%s", s->path, husk_digest_hex(m.layers[i]));
		if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir+", lower, 0) < 0) {
			if (errno == EINVAL && i == m.n_layers - 1) {
				legacy = true;
				break;
			}
			husk_manifest_free(&m);
			return husk_err_sys(err, "overlay lower directory %s", lower);
		}
	}
	if (legacy) {
		_cleanup_free_ char *options = husk_xasprintf("upperdir=%s,workdir=%s,lowerdir=", upper, work);
		for (size_t i = m.n_layers; i-- > 0;) {
			char *more = husk_xasprintf("%s%s%s/layers/%s", options, i == m.n_layers - 1 ? "" : ":", s->path,
						    husk_digest_hex(m.layers[i]));
			free(options);
			options = more;
		}
		husk_manifest_free(&m);
		target = husk_xasprintf("%s/containers/%s/rootfs", s->path, id);
		return mount_legacy(options, target, err);
	}
	husk_manifest_free(&m);
	if (fsconfig_string(fsfd, "upperdir", upper, err) < 0 || fsconfig_string(fsfd, "workdir", work, err) < 0)
		return -1;
	if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return husk_err_sys(err, "create the overlay for container %s", id);
	mnt = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		return husk_err_sys(err, "mount the overlay for container %s", id);
	return mnt;
}
