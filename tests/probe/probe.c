/* husk-probe: run inside a container by the tests to report what busybox cannot show. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <linux/seccomp.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SEARCH 10
#define KEY_SPEC_SESSION_KEYRING -3

/* Listen on path, take one terminal master fd over SCM_RIGHTS (as conmon and containerd's
 * shim do), report the name that came with it and the window size, then copy what the
 * container writes to stdout until it hangs up. */
static int console_receiver(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char name[256] = "", cbuf[CMSG_SPACE(sizeof(int))], buf[4096];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cmsg;
	struct winsize ws;
	int lfd, cfd, master;
	ssize_t n;

	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1) < 0) {
		perror("console socket");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0 || recvmsg(cfd, &msg, 0) < 0) {
		perror("receive");
		return 1;
	}
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "no fd received\n");
		return 1;
	}
	memcpy(&master, CMSG_DATA(cmsg), sizeof(int));
	if (ioctl(master, TIOCGWINSZ, &ws) == 0)
		printf("received %s size %ux%u\n", name, ws.ws_col, ws.ws_row);
	fflush(stdout);
	while ((n = read(master, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	return 0;
}

/* The syscalls the tests call by name, with up to three integer arguments. */
static const struct { const char *name; long nr; } calls[] = {
	{"bpf", SYS_bpf}, {"clone3", SYS_clone3}, {"getpgid", SYS_getpgid}, {"keyctl", SYS_keyctl},
	{"mkdir", SYS_mkdir}, {"mount", SYS_mount}, {"personality", SYS_personality}, {"socket", SYS_socket},
	{"unshare", SYS_unshare}, {"userfaultfd", SYS_userfaultfd}, {"add_key", SYS_add_key},
	{"perf_event_open", SYS_perf_event_open}, {"io_uring_setup", SYS_io_uring_setup},
	{"open_by_handle_at", SYS_open_by_handle_at}, {"kexec_load", SYS_kexec_load},
	{"init_module", SYS_init_module}, {"swapon", SYS_swapon}, {"setns", SYS_setns},
	{"pivot_root", SYS_pivot_root}, {"umount2", SYS_umount2}, {"ptrace", SYS_ptrace},
};

/* Print "NAME=0" or "NAME=ERRNONAME" for syscall NAME(args): what a filter let through. */
static int call(int argc, char **argv)
{
	long a[3] = {0, 0, 0}, rc;

	for (int i = 0; i < 3 && i + 1 < argc; i++)
		a[i] = strtol(argv[i + 1], NULL, 0);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (strcmp(calls[i].name, argv[0]) != 0)
			continue;
		errno = 0;
		rc = syscall(calls[i].nr, a[0], a[1], a[2], 0, 0, 0);
		if (rc < 0)
			printf("%s=%s\n", argv[0], strerrorname_np(errno));
		else
			printf("%s=ok\n", argv[0]);
		return 0;
	}
	fprintf(stderr, "husk-probe: no syscall %s in the table\n", argv[0]);
	return 2;
}

/* A seccomp notify agent: take the fd and the state from the listener socket, print the state,
 * then answer each notification with errno 95 (EOPNOTSUPP) until the container is gone. */
static int seccomp_listener(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char state[8192] = "", cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = state, .iov_len = sizeof(state) - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct seccomp_notif_sizes sizes;
	int lfd, cfd, nfd;

	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1) < 0)
		return perror("listener"), 1;
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0 || recvmsg(cfd, &msg, 0) <= 0 || !CMSG_FIRSTHDR(&msg))
		return perror("receive"), 1;
	memcpy(&nfd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	printf("state %s\n", state);
	fflush(stdout);
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return perror("sizes"), 1;
	for (;;) {
		struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
		struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
		struct pollfd pfd = {.fd = nfd, .events = POLLIN};
		if (poll(&pfd, 1, 10000) <= 0 || (pfd.revents & POLLHUP))
			return 0;
		if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
			return 0;
		printf("notified nr=%d\n", req->data.nr);
		fflush(stdout);
		resp->id = req->id;
		resp->error = -95;
		ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, resp);
		free(req);
		free(resp);
	}
}

/* Take and touch N MiB, one at a time, reporting progress: an OOM test's victim. */
static int hog(long mib)
{
	for (long i = 0; i < mib; i++) {
		char *p = malloc(1 << 20);
		if (!p)
			return perror("malloc"), 1;
		memset(p, 1, 1 << 20);
		if (i % 16 == 0)
			dprintf(1, "%ld MiB\n", i);
	}
	dprintf(1, "survived %ld MiB\n", mib);
	return 0;
}

/* Fork N children that sleep a second; report how many started and how many fork()s failed
 * with EAGAIN (a pids limit), then reap them. */
static int forks(long n)
{
	long ok = 0, eagain = 0;

	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			sleep(1);
			_exit(0);
		}
		if (pid > 0)
			ok++;
		else if (errno == EAGAIN)
			eagain++;
	}
	while (wait(NULL) > 0)
		;
	printf("started=%ld eagain=%ld\n", ok, eagain);
	return 0;
}

/* The session keyring, seen from here:
 *   keyring id            its serial number
 *   keyring add DESC      add a "user" key DESC to it, print the key's serial
 *   keyring search DESC   "found SERIAL" or "ENOKEY": is DESC in it (or a keyring it links)?
 *   keyring session CMD   join a new anonymous session keyring and exec CMD: the tests run husk
 *                         under a session keyring of their own, so that "the caller's" is a
 *                         real keyring they can search afterwards */
static int keyring(int argc, char **argv)
{
	long id;

	if (argc == 1 && strcmp(argv[0], "id") == 0)
		id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	else if (argc == 2 && strcmp(argv[0], "add") == 0)
		id = syscall(SYS_add_key, "user", argv[1], "husk", 4, KEY_SPEC_SESSION_KEYRING);
	else if (argc == 2 && strcmp(argv[0], "search") == 0) {
		id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", argv[1], 0);
		if (id < 0 && errno == ENOKEY) {
			printf("ENOKEY\n");
			return 0;
		}
		if (id >= 0) {
			printf("found %ld\n", id);
			return 0;
		}
	} else if (argc >= 2 && strcmp(argv[0], "session") == 0) {
		if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0)
			return perror("keyctl(JOIN_SESSION_KEYRING)"), 1;
		execvp(argv[1], argv + 1);
		return perror(argv[1]), 127;
	} else {
		fprintf(stderr, "usage: husk-probe keyring id | add DESC | search DESC | session CMD [ARGS]\n");
		return 2;
	}
	if (id < 0)
		return perror(argv[0]), 1;
	printf("%ld\n", id);
	return 0;
}

/* Write a line to out, once: a line already written (by its FNV-1a hash) is not written again,
 * so a watcher that sees the same fd on every scan logs it once. */
static void log_once(int out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_once(int out, const char *fmt, ...)
{
	static uint64_t seen[1 << 16];
	char line[PATH_MAX + 256];
	uint64_t h = 1469598103934665603ull;
	va_list ap;
	size_t slot;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	for (int i = 0; i < n; i++)
		h = (h ^ (unsigned char)line[i]) * 1099511628211ull;
	h |= 1;
	for (slot = h % (1 << 16); seen[slot]; slot = (slot + 1) % (1 << 16))
		if (seen[slot] == h)
			return;
	seen[slot] = h;
	(void)!write(out, line, (size_t)n);
}

/* Try to reach the host file TARGET through a magic link of another process: LINK/../../..TARGET.
 * ".." stops at the walker's own root, so from a link into the container nothing outside is
 * reached, while a link to a directory of the host climbs to the host's root. */
static void try_reach(int out, const char *link, const char *target)
{
	char path[PATH_MAX], buf[256];
	int n = snprintf(path, sizeof(path), "%s", link), fd;
	ssize_t len;

	for (int i = 0; i < 40 && n < (int)sizeof(path) - 4; i++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "/..");
	snprintf(path + n, sizeof(path) - (size_t)n, "%s", target);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	log_once(out, "REACHED %s: %s\n", link, buf);
}

/* fd-race LOG TARGET: until killed, watch every process of this pid namespace but itself, as
 * fast as it can, and for each of its fds, its cwd and its root, log where the link points
 * (each distinct "pid fd -> target" once) and try to reach the host's TARGET through it. A
 * container process with CAP_SYS_PTRACE can do this to anything husk puts in its pid namespace
 * before the exec (non-dumpable only keeps out those without it). */
static int fd_race(const char *log, const char *target)
{
	int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	pid_t self = getpid();

	if (out < 0)
		return perror(log), 1;
	log_once(out, "watching\n");
	for (;;) {
		DIR *proc = opendir("/proc");
		struct dirent *de;

		if (!proc)
			return perror("/proc"), 1;
		while ((de = readdir(proc))) {
			char dir[64], link[PATH_MAX], where[PATH_MAX];
			long pid = strtol(de->d_name, NULL, 10);
			DIR *fds;
			ssize_t n;

			if (pid <= 0 || pid == self)
				continue;
			for (int i = 0; i < 2; i++) {
				snprintf(link, sizeof(link), "/proc/%ld/%s", pid, i ? "root" : "cwd");
				n = readlink(link, where, sizeof(where) - 1);
				if (n > 0) {
					where[n] = '\0';
					log_once(out, "%ld %s -> %s\n", pid, i ? "root" : "cwd", where);
				}
				try_reach(out, link, target);
			}
			snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
			fds = opendir(dir);
			if (!fds)
				continue;
			for (struct dirent *fd; (fd = readdir(fds));) {
				if (fd->d_name[0] == '.')
					continue;
				snprintf(link, sizeof(link), "%s/%s", dir, fd->d_name);
				n = readlink(link, where, sizeof(where) - 1);
				if (n > 0) {
					where[n] = '\0';
					log_once(out, "%ld fd %s -> %s\n", pid, fd->d_name, where);
				}
				try_reach(out, link, target);
			}
			closedir(fds);
		}
		closedir(proc);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "keyring") == 0)
		return keyring(argc - 2, argv + 2);
	if (argc == 4 && strcmp(argv[1], "fd-race") == 0)
		return fd_race(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "forks") == 0)
		return forks(strtol(argv[2], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "hog") == 0)
		return hog(strtol(argv[2], NULL, 10));
	if (argc >= 3 && strcmp(argv[1], "call") == 0)
		return call(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "seccomp-listener") == 0)
		return seccomp_listener(argv[2]);
	if (argc == 3 && strcmp(argv[1], "console-receiver") == 0)
		return console_receiver(argv[2]);
	if (argc == 2 && strcmp(argv[1], "session-keyring") == 0) {
		long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
		if (id < 0) {
			perror("keyctl");
			return 1;
		}
		printf("%ld\n", id);
		return 0;
	}
	fprintf(stderr, "usage: husk-probe session-keyring | keyring ... | fd-race LOG TARGET | console-receiver SOCKET | call SYSCALL [ARGS] | seccomp-listener SOCKET\n");
	return 2;
}
