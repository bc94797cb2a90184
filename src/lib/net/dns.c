/* Starting a network's name responder on demand (dns.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util.h"
#include "dns.h"

#ifndef HUSK_LIBEXECDIR
#define HUSK_LIBEXECDIR "/usr/local/libexec/husk"
#endif

/* how long a starting responder may take to listen (it is a small program: a few ms) */
#define READY_TIMEOUT_MS 5000

/* husk-dns: beside this binary (a build tree, or both in one directory), else installed. */
static char *responder_path(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char *path = husk_xasprintf("%s/husk-dns", self);
			if (access(path, X_OK) == 0)
				return path;
			free(path);
		}
	}
	return husk_xstrdup(HUSK_LIBEXECDIR "/husk-dns");
}

/* In the child: its own session (no signal from the container's monitor or a terminal
 * reaches it), fd 3 the lock, fd 4 the ready pipe, stderr the log, nothing else open, signals
 * as a fresh process has them. Forks again so that the caller is not its parent: the
 * monitor exec's a relay that would never reap it. */
static void __attribute__((noreturn)) start_child(const char *exe, char *const argv[], int lock, int ready, int log)
{
	sigset_t none;

	if (setsid() < 0)
		_exit(126);
	pid_t pid = fork();
	if (pid != 0)
		_exit(pid < 0 ? 126 : 0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* above the target numbers first, so that no dup2 overwrites a source */
	lock = fcntl(lock, F_DUPFD_CLOEXEC, 10);
	ready = fcntl(ready, F_DUPFD_CLOEXEC, 10);
	log = fcntl(log, F_DUPFD_CLOEXEC, 10);
	if (null < 0 || lock < 0 || ready < 0 || log < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(log, 2) < 0 || dup2(lock, 3) < 0 || dup2(ready, 4) < 0)
		_exit(126);
	close_range(5, ~0U, 0);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(exe, argv);
	dprintf(4, "exec %s: %s\n", exe, strerror(errno));
	_exit(127);
}

int husk_dns_ensure(const char *run, const char *storage, const struct husk_network *n, struct husk_err *err)
{
	_cleanup_free_ char *dir = husk_xasprintf("%s/dns", run), *lock_path = NULL, *log_path = NULL, *pid_path = NULL,
			    *exe = responder_path();
	_cleanup_close_ int lock = -1, log = -1, rd = -1, wr = -1;
	char gateway[16], subnet_addr[16], subnet[24], msg[512] = "";
	int status, pipefd[2];
	ssize_t len = 0;
	pid_t pid;

	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	lock_path = husk_xasprintf("%s/%s.lock", dir, n->name);
	log_path = husk_xasprintf("%s/%s.log", dir, n->name);
	pid_path = husk_xasprintf("%s/%s.pid", dir, n->name);
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0)
		return husk_err_sys(err, "open %s", lock_path);
	/* held: the network's responder lives */
	if (flock(lock, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 0 : husk_err_sys(err, "lock %s", lock_path);
	log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log < 0)
		return husk_err_sys(err, "open %s", log_path);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return husk_err_sys(err, "pipe");
	rd = pipefd[0];
	wr = pipefd[1];
	husk_ipv4_format(n->gateway, gateway);
	husk_ipv4_format(n->subnet.network, subnet_addr);
	snprintf(subnet, sizeof(subnet), "%s/%u", subnet_addr, n->subnet.prefix);
	char *argv[] = {"husk-dns", "--storage", (char *)storage, "--network", (char *)n->name,
			"--gateway", gateway, "--subnet", subnet, "--pid-file", pid_path, NULL};
	pid = fork();
	if (pid < 0)
		return husk_err_sys(err, "fork (the name responder of network %s)", n->name);
	if (pid == 0)
		start_child(exe, argv, lock, wr, log);
	close(steal_fd(&wr));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* "ok", a reason, or nothing (it died before saying) */
	struct pollfd p = {.fd = rd, .events = POLLIN};
	int ready = poll(&p, 1, READY_TIMEOUT_MS);
	if (ready > 0)
		len = read(rd, msg, sizeof(msg) - 1);
	if (len > 0 && strncmp(msg, "ok\n", 3) == 0)
		return 0;
	if (len > 0) {
		msg[len] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		return husk_err_set(err, 0, "the name responder of network %s: %s (log: %s)", n->name, msg, log_path);
	}
	return husk_err_set(err, 0, "the name responder of network %s %s (log: %s)", n->name,
			    ready == 0 ? "did not say it listens in time" : "exited before it listened", log_path);
}

char *husk_dns_resolv_conf(const char *host_text, uint32_t server)
{
	size_t cap = strlen(host_text) + 64, len;
	char *out = husk_xmalloc(cap), addr[16];
	const char *line = host_text;

	husk_ipv4_format(server, addr);
	len = (size_t)snprintf(out, cap, "nameserver %s\n", addr);
	while (*line) {
		const char *end = strchrnul(line, '\n');
		char word[16] = "";
		size_t n = (size_t)(end - line) + (*end == '\n');
		if (sscanf(line, " %15s", word) != 1 || strcmp(word, "nameserver") != 0) {
			memcpy(out + len, line, n);
			len += n;
		}
		line += n;
	}
	out[len] = '\0';
	return out;
}
