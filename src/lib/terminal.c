#define _GNU_SOURCE
#include "terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "fdpass.h"
#include "inroot.h"
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

int husk_terminal_pair(int *to_init, int *receiver, struct husk_err *err)
{
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return husk_err_sys(err, "socketpair for the terminal");
	*receiver = pair[0];
	*to_init = pair[1];
	return 0;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

int husk_terminal_relay(int master, pid_t pid, const sigset_t *set, int *status, struct husk_err *err)
{
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	bool in_open = true, out_open = true, exited = false;
	sigset_t with_winch = *set;
	_cleanup_close_ int sfd = -1;
	char buf[8192];

	sigaddset(&with_winch, SIGWINCH);
	sigprocmask(SIG_BLOCK, &with_winch, NULL);
	sfd = signalfd(-1, &with_winch, SFD_CLOEXEC);
	if (sfd < 0)
		return husk_err_sys(err, "signalfd");
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		copy_winsize(STDIN_FILENO, master);
	}
	/* until the process is gone and its last output is read */
	while (!exited || out_open) {
		struct pollfd p[3] = {{.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
				      {.fd = out_open ? master : -1, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		if (poll(p, 3, exited ? 100 : -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (exited && !(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			break; /* nothing more came within 100 ms of the exit */
		if (p[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0)
				in_open = false; /* no more input: the container still runs */
			else
				husk_write_all(master, buf, (size_t)n);
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n <= 0)
				out_open = false; /* EIO: the last holder of the slave side is gone */
			else
				husk_write_all(STDOUT_FILENO, buf, (size_t)n);
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGWINCH)
				copy_winsize(STDIN_FILENO, master);
			else if (si.ssi_signo == SIGCHLD) {
				if (waitpid(pid, status, WNOHANG) == pid)
					exited = true;
			} else
				kill(pid, (int)si.ssi_signo);
		}
	}
	if (!exited)
		waitpid(pid, status, 0);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return 0;
}
