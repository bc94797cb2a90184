#define _GNU_SOURCE
#include "terminal.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "rootfs.h"
#include "util.h"

int husk_terminal_connect_socket(const char *path, struct husk_err *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return husk_err_set(err, ENAMETOOLONG, "console socket path %s", path);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, "socket for console %s", path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		husk_err_sys(err, "connect to console socket %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

int husk_send_fd(int sock, int fd, const char *name, struct husk_err *err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return husk_err_sys(err, "send the terminal to the console socket");
	return 0;
}

static int setup_pty(int console_fd, const struct husk_process *p, bool bind_console, struct husk_err *err)
{
	_cleanup_close_ int master = -1, slave = -1, rootfd = -1, console = -1;
	char name[64], target[32];

	if (console_fd < 0)
		return husk_err_set(err, EINVAL, "process.terminal is true but no --console-socket was given");
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return husk_err_sys(err, "open /dev/ptmx in the container (is devpts mounted on /dev/pts?)");
	if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
		return husk_err_sys(err, "unlock the pty");
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return husk_err_sys(err, "open %s", name);
	if (p->console_width || p->console_height) {
		struct winsize ws = {.ws_row = (unsigned short)p->console_height, .ws_col = (unsigned short)p->console_width};
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			return husk_err_sys(err, "set the console size");
	}
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_err_sys(err, "open /");
	if (!bind_console)
		goto hand_over;
	/* whatever the root has at /dev/console (a symlink to a host file, say) is replaced, never
	 * followed; and the pty is bound from its fd, not from a path in the container */
	{
		_cleanup_close_ int dev = husk_open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY, err);
		char source[32];
		int f;
		if (dev < 0)
			return -1;
		if (unlinkat(dev, "console", 0) < 0 && errno != ENOENT)
			return husk_err_sys(err, "remove /dev/console");
		f = openat(dev, "console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f < 0)
			return husk_err_sys(err, "create /dev/console");
		close(f);
		console = husk_open_in_root(dev, "console", O_PATH | O_NOFOLLOW, err);
		if (console < 0)
			return -1;
		snprintf(target, sizeof(target), "/proc/self/fd/%d", console);
		snprintf(source, sizeof(source), "/proc/self/fd/%d", slave);
		if (mount(source, target, NULL, MS_BIND, NULL) < 0)
			return husk_err_sys(err, "bind %s to /dev/console", name);
	}
hand_over:
	if (husk_send_fd(console_fd, master, name, err) < 0)
		return -1;
	if (setsid() < 0)
		return husk_err_sys(err, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return husk_err_sys(err, "make %s the controlling terminal", name);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return husk_err_sys(err, "dup the terminal to fd %d", fd);
	return 0;
}

int husk_terminal_setup_console(int console_fd, const struct husk_process *p, struct husk_err *err)
{
	return setup_pty(console_fd, p, true, err);
}

int husk_terminal_setup_exec(int console_fd, const struct husk_process *p, struct husk_err *err)
{
	return setup_pty(console_fd, p, false, err);
}
