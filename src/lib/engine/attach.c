#define _GNU_SOURCE
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "monitor.h"
#include "record.h"
#include "../util.h"

int husk_attach_connect(const struct husk_engine *e, const char *id, unsigned want, struct husk_err *err)
{
	_cleanup_free_ char *dir = husk_engine_run_path(e, id, NULL);
	_cleanup_close_ int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char hello[2] = {HUSK_ATTACH_HELLO, (char)want};
	int fd;

	if (dirfd < 0)
		return husk_err_sys(err, "container %.12s has no monitor (%s)", id, dir);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach", dirfd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, hello, 2, MSG_NOSIGNAL) < 0) {
		husk_err_sys(err, "attach to container %.12s (%s/attach)", id, dir);
		close(fd);
		return -1;
	}
	return fd;
}

/* "ctrl-p,ctrl-q" (docker's default), "ctrl-a,d", "ctrl-@": the byte sequence. */
int husk_detach_keys_parse(const char *text, char *keys, size_t *n, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xstrdup(text);
	char *save = NULL;

	*n = 0;
	for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		if (*n >= HUSK_DETACH_KEYS_MAX)
			return husk_err_set(err, EINVAL, "--detach-keys %s: at most %d keys", text, HUSK_DETACH_KEYS_MAX);
		if (strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6) {
			char c = k[5];
			if (c >= 'a' && c <= 'z')
				keys[(*n)++] = (char)(c - 'a' + 1);
			else if (c == '@' || c == '[' || c == '\\' || c == ']' || c == '^' || c == '_')
				keys[(*n)++] = (char)(c == '@' ? 0 : c - '@');
			else
				return husk_err_set(err, EINVAL, "--detach-keys %s: unknown key \"%s\"", text, k);
		} else if (strlen(k) == 1) {
			keys[(*n)++] = k[0];
		} else {
			return husk_err_set(err, EINVAL,
					    "--detach-keys %s: \"%s\" is neither a letter nor ctrl-<letter> (e.g. ctrl-p,ctrl-q)",
					    text, k);
		}
	}
	if (*n == 0)
		return husk_err_set(err, EINVAL, "--detach-keys \"%s\": no keys", text);
	return 0;
}

static void send_size(int conn, int tty_fd)
{
	struct winsize ws;
	char msg[5] = {HUSK_ATTACH_RESIZE};

	if (ioctl(tty_fd, TIOCGWINSZ, &ws) < 0)
		return;
	msg[1] = (char)(ws.ws_row & 0xff);
	msg[2] = (char)(ws.ws_row >> 8);
	msg[3] = (char)(ws.ws_col & 0xff);
	msg[4] = (char)(ws.ws_col >> 8);
	send(conn, msg, sizeof(msg), MSG_NOSIGNAL);
}

/* Send what is pending without waiting: 1 sent (or dropped: the monitor is gone), 0 not yet. */
static int pending_send(int conn, char *pend, size_t *len)
{
	if (send(conn, pend, *len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	*len = 0;
	return 1;
}

int husk_attach_relay(int conn, const struct husk_attach_opts *o, struct husk_err *err)
{
	char buf[HUSK_ATTACH_MSG_MAX + 1];
	/* one message of input at most is held here: while it waits, stdin is not read, but the
	 * connection always is (a client that stopped reading output while blocked sending input
	 * would hold the container's stdout and so its stdin: neither side would move) */
	char pend[HUSK_ATTACH_MSG_MAX];
	size_t pend_len = 0;
	struct termios saved, raw;
	bool raw_mode = false, stdin_open = o->stdin, out_dead = false, err_dead = false;
	size_t matched = 0;
	sigset_t mask;
	_cleanup_close_ int sfd = -1;
	int rc = HUSK_ATTACH_LOST;

	if (o->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		raw_mode = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
		send_size(conn, STDIN_FILENO);
	}
	if (o->forward)
		mask = *o->forward;
	else
		sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	for (;;) {
		struct pollfd p[3] = {
			{conn, (short)(POLLIN | (pend_len ? POLLOUT : 0)), 0},
			{stdin_open && !pend_len ? STDIN_FILENO : -1, POLLIN, 0},
			{sfd, POLLIN, 0},
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			husk_err_sys(err, "poll");
			break;
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH) {
					if (o->tty)
						send_size(conn, STDIN_FILENO);
				} else if (o->forward_fn) {
					o->forward_fn((int)si.ssi_signo, o->forward_arg);
				}
			}
		}
		if (pend_len && (p[0].revents & (POLLOUT | POLLERR | POLLHUP)))
			pending_send(conn, pend, &pend_len);
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(STDIN_FILENO, pend + 1, sizeof(pend) - 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* the caller's stdin ended: so does the container's (docker's -i) */
				pend[0] = HUSK_ATTACH_CLOSE;
				pend_len = 1;
				stdin_open = false;
			} else {
				/* the detach keys, typed in sequence, are not passed on */
				for (ssize_t i = 0; o->n_detach_keys && i < n; i++) {
					if (pend[1 + i] == o->detach_keys[matched]) {
						if (++matched == o->n_detach_keys) {
							rc = HUSK_ATTACH_DETACHED;
							goto out;
						}
					} else {
						matched = pend[1 + i] == o->detach_keys[0] ? 1 : 0;
					}
				}
				pend[0] = HUSK_ATTACH_STDIN;
				pend_len = (size_t)n + 1;
			}
			pending_send(conn, pend, &pend_len);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(conn, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				break;
			if (buf[0] == HUSK_ATTACH_STDOUT || buf[0] == HUSK_ATTACH_STDERR) {
				bool *dead = buf[0] == HUSK_ATTACH_STDOUT ? &out_dead : &err_dead;
				int fd = buf[0] == HUSK_ATTACH_STDOUT ? o->out_fd : o->err_fd;
				/* a reader of ours that went away: the rest of that stream is dropped */
				if (fd >= 0 && !*dead && husk_write_all(fd, buf + 1, (size_t)n - 1) < 0)
					*dead = true;
			} else if (buf[0] == HUSK_ATTACH_EXIT && n == 5) {
				int32_t code;
				memcpy(&code, buf + 1, 4);
				rc = code;
				break;
			}
		}
	}
out:
	if (raw_mode)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return rc;
}
