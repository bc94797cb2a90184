#define _GNU_SOURCE
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "record.h"
#include "../container.h"
#include "../util.h"

#ifndef HUSK_LIBEXECDIR
#define HUSK_LIBEXECDIR "/usr/local/libexec/husk"
#endif

int husk_exit_code(int wstatus)
{
	return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}

int husk_start_failure_code(const struct husk_err *err)
{
	if (!strstr(err->msg, "exec "))
		return 125;
	if (err->errnum == ENOENT)
		return 127;
	if (err->errnum == EACCES || err->errnum == ENOEXEC || err->errnum == EPERM || err->errnum == EISDIR)
		return 126;
	return 125;
}

static void send_msg(int fd, char type, const void *data, size_t len)
{
	char buf[HUSK_ATTACH_MSG_MAX];

	if (fd < 0 || len > sizeof(buf) - 1)
		return;
	buf[0] = type;
	memcpy(buf + 1, data, len);
	/* a client that went away is no reason to stop */
	while (send(fd, buf, len + 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static void send_int(int fd, char type, int32_t v)
{
	send_msg(fd, type, &v, sizeof(v));
}

int husk_monitor_started(int conn, pid_t *pid, struct husk_err *err)
{
	char buf[HUSK_ATTACH_MSG_MAX + 1];
	ssize_t n;

	for (;;) {
		n = recv(conn, buf, sizeof(buf) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_err_sys(err, "read from the container's monitor");
		if (n == 0)
			return husk_err_set(err, EPIPE, "the container's monitor ended before starting it (its messages: "
						       "the monitor.log in the engine's runtime directory)");
		if (buf[0] == HUSK_ATTACH_STARTED && n == 5) {
			int32_t p;
			memcpy(&p, buf + 1, 4);
			*pid = p;
			return 0;
		}
		if (buf[0] == HUSK_ATTACH_ERROR && n >= 5) {
			int32_t errnum;
			memcpy(&errnum, buf + 1, 4);
			buf[n] = '\0';
			husk_err_set(err, 0, "%s", buf + 5);
			err->errnum = errnum;
			return -1;
		}
		/* output before the start message cannot happen: anything else is ignored */
	}
}

/* ---- the monitor's side ---- */

/* RUN/ID, its lock taken for the monitor's life, and its listening socket. */
static int monitor_claim(const struct husk_engine *e, const char *id, int *lock_fd, int *listen_fd, int *log_fd,
			 struct husk_err *err)
{
	_cleanup_free_ char *dir = husk_engine_run_path(e, id, NULL);
	_cleanup_close_ int dirfd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0)
		return husk_err_sys(err, "open %s", dir);
	*lock_fd = openat(dirfd, "monitor.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*lock_fd < 0)
		return husk_err_sys(err, "create %s/monitor.lock", dir);
	/* a probe (husk_monitor_alive: a shared lock for microseconds) is waited out; a monitor's
	 * lock is held for its life */
	for (int tries = 0; flock(*lock_fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		if (errno != EWOULDBLOCK || tries >= 50)
			return husk_err_sys(err, "container %.12s has a monitor already (%s/monitor.lock is locked)", id,
					    dir);
		nanosleep(&(struct timespec){0, 2 * 1000000L}, NULL);
	}
	*log_fd = openat(dirfd, "monitor.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*log_fd < 0)
		return husk_err_sys(err, "create %s/monitor.log", dir);
	unlinkat(dirfd, "attach", 0);
	*listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*listen_fd < 0)
		return husk_err_sys(err, "socket");
	/* through the directory's fd: the path may be longer than sun_path holds */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach", dirfd);
	if (bind(*listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || fchmodat(dirfd, "attach", 0600, 0) < 0 ||
	    listen(*listen_fd, 64) < 0)
		return husk_err_sys(err, "listen on %s/attach", dir);
	return 0;
}

/* husk-monitor: beside this binary (a build tree, or both in one directory), else installed. */
static char *relay_path(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char *path = husk_xasprintf("%s/husk-monitor", self);
			if (access(path, X_OK) == 0)
				return path;
			free(path);
		}
	}
	return husk_xstrdup(HUSK_LIBEXECDIR "/husk-monitor");
}

static void keep_fd(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFD, 0);
}

struct relay_fds {
	int lock, listen, out, err, pty, in;
	const int *clients;
	size_t n_clients;
};

/* Become the relay. Returns only on failure. */
static int exec_relay(const struct husk_engine *e, const char *id, json_t *rec, pid_t pid, const struct relay_fds *f,
		      struct husk_err *err)
{
	_cleanup_free_ char *relay = relay_path();
	_cleanup_free_ char *log_error = husk_engine_run_path(e, id, "log-error");
	json_t *log = json_object_get(json_object_get(rec, "HostConfig"), "LogConfig");
	const char *log_path = json_string_value(json_object_get(rec, "LogPath"));
	const char *max_size = json_string_value(json_object_get(json_object_get(log, "Config"), "max-size"));
	const char *max_file = json_string_value(json_object_get(json_object_get(log, "Config"), "max-file"));
	char *argv[64 + 2 * 16];
	char nums[24][16];
	int n = 0, k = 0, exe = open("/proc/self/exe", O_PATH | O_CLOEXEC);

#define NUM(v) (snprintf(nums[k], sizeof(nums[k]), "%d", (int)(v)), nums[k++])
	if (exe < 0)
		return husk_err_sys(err, "open /proc/self/exe");
	argv[n++] = "husk-monitor";
	argv[n++] = "--id", argv[n++] = (char *)id;
	argv[n++] = "--pid", argv[n++] = NUM(pid);
	argv[n++] = "--exe-fd", argv[n++] = NUM(exe);
	argv[n++] = "--lock-fd", argv[n++] = NUM(f->lock);
	argv[n++] = "--listen-fd", argv[n++] = NUM(f->listen);
	if (f->pty >= 0) {
		argv[n++] = "--pty-fd", argv[n++] = NUM(f->pty);
	} else {
		argv[n++] = "--stdout-fd", argv[n++] = NUM(f->out);
		argv[n++] = "--stderr-fd", argv[n++] = NUM(f->err);
	}
	if (f->in >= 0)
		argv[n++] = "--stdin-fd", argv[n++] = NUM(f->in);
	if (log_path && *log_path) {
		argv[n++] = "--log", argv[n++] = (char *)log_path;
		if (max_size)
			argv[n++] = "--log-max-size", argv[n++] = (char *)max_size;
		if (max_file)
			argv[n++] = "--log-max-file", argv[n++] = (char *)max_file;
	}
	argv[n++] = "--log-error", argv[n++] = log_error;
	for (size_t i = 0; i < f->n_clients && k < 16; i++) /* room left for the two after */
		argv[n++] = "--client-fd", argv[n++] = NUM(f->clients[i]);
	argv[n++] = "--";
	argv[n++] = "husk";
	argv[n++] = "--root", argv[n++] = (char *)e->root;
	argv[n++] = "--storage", argv[n++] = (char *)e->storage;
	argv[n++] = "monitor-exited";
	argv[n++] = (char *)id;
	argv[n++] = "--lock-fd", argv[n++] = NUM(f->lock);
	argv[n++] = "--listen-fd", argv[n++] = NUM(f->listen);
	argv[n] = NULL;
#undef NUM
	int keep[] = {exe, f->lock, f->listen, f->out, f->err, f->pty, f->in};
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		keep_fd(keep[i]);
	for (size_t i = 0; i < f->n_clients; i++)
		keep_fd(f->clients[i]);
	execv(relay, argv);
	husk_err_sys(err, "exec %s", relay);
	close(exe);
	return -1;
}

static void record_set_state(json_t *rec, const char *status, pid_t pid)
{
	json_t *state = json_object_get(rec, "State");

	json_object_set_new(state, "Status", json_string(status));
	json_object_set_new(state, "Running", json_boolean(strcmp(status, "running") == 0));
	json_object_set_new(state, "Restarting", json_boolean(strcmp(status, "restarting") == 0));
	json_object_set_new(state, "Paused", json_false());
	json_object_set_new(state, "Pid", json_integer(pid));
}

/* one network's entry in NetworkSettings.Networks, kept (its IPAMConfig: --ip) and updated */
/* docker's IPv6 fields: empty strings and 0 on a network without IPv6 */
static void record_ipv6(json_t *o, const struct husk_network *n, const struct in6_addr *addr6)
{
	char a[INET6_ADDRSTRLEN] = "", gw[INET6_ADDRSTRLEN] = "";

	if (n && n->ipv6) {
		husk_ipv6_format(addr6, a);
		husk_ipv6_format(&n->gateway6, gw);
	}
	json_object_set_new(o, "GlobalIPv6Address", json_string(a));
	json_object_set_new(o, "GlobalIPv6PrefixLen", json_integer(n && n->ipv6 ? (int)n->subnet6.prefix : 0));
	json_object_set_new(o, "IPv6Gateway", json_string(gw));
}

static void record_one_network(json_t *nets, const struct husk_network *n, uint32_t addr,
			       const struct in6_addr *addr6, const char *ifname)
{
	json_t *entry = json_object_get(nets, n->name);
	char a[16], gw[16];

	if (!json_is_object(entry)) {
		entry = json_object();
		json_object_set_new(nets, n->name, entry);
	}
	husk_ipv4_format(addr, a);
	husk_ipv4_format(n->gateway, gw);
	json_object_set_new(entry, "IPAddress", json_string(a));
	json_object_set_new(entry, "Gateway", json_string(gw));
	json_object_set_new(entry, "IPPrefixLen", json_integer((int)n->subnet.prefix));
	json_object_set_new(entry, "Interface", json_string(ifname));
	record_ipv6(entry, n, addr6);
}

static void record_network(json_t *rec, const struct husk_engine_run *r)
{
	json_t *ns = json_object_get(rec, "NetworkSettings");
	json_t *nets = json_object_get(ns, "Networks");
	char addr[16] = "", gw[16] = "";

	if (!json_is_object(nets)) {
		nets = json_object();
		json_object_set_new(ns, "Networks", nets);
	}
	if (r->mode == HUSK_NET_BRIDGE) {
		husk_ipv4_format(r->addr, addr);
		husk_ipv4_format(r->net.gateway, gw);
		record_one_network(nets, &r->net, r->addr, &r->addr6, "eth0");
		for (size_t i = 0; i < r->n_extra; i++)
			if (r->extra[i].attached)
				record_one_network(nets, &r->extra[i].net, r->extra[i].addr, &r->extra[i].addr6,
						   r->extra[i].ifname);
		/* (the entries are updated, not replaced: --network-alias's Aliases, given at run,
		 * stay across starts) */
	}
	json_object_set_new(ns, "IPAddress", json_string(addr));
	json_object_set_new(ns, "Gateway", json_string(gw));
	record_ipv6(ns, r->mode == HUSK_NET_BRIDGE ? &r->net : NULL, &r->addr6);
	/* the host ports as chosen: random ones (-p 80, -P) are known only now */
	json_object_set_new(ns, "Ports", husk_engine_port_bindings(r->ports, r->n_ports));
}

/* Read-modify-write of the record under the container's lock. */
typedef void (*edit_fn)(json_t *rec, void *arg);
static int record_edit(const struct husk_engine *e, const char *id, edit_fn fn, void *arg, json_t **out,
		       struct husk_err *err)
{
	_cleanup_close_ int lock = husk_record_lock(e, id, err);
	json_t *rec = NULL;
	int rc;

	if (lock < 0 || husk_record_load(e, id, &rec, err) < 0)
		return -1;
	fn(rec, arg);
	rc = husk_record_save(e, id, rec, err);
	if (out)
		*out = rec;
	else
		json_decref(rec);
	return rc;
}

struct started {
	const struct husk_engine_run *r;
	pid_t pid;
};

static void edit_started(json_t *rec, void *arg)
{
	struct started *s = arg;
	_cleanup_free_ char *now = husk_time_format(husk_realtime_ns());

	record_set_state(rec, "running", s->pid);
	json_object_set_new(json_object_get(rec, "State"), "StartedAt", json_string(now));
	json_object_set_new(json_object_get(rec, "State"), "Error", json_string(""));
	json_object_set_new(json_object_get(rec, "State"), "OOMKilled", json_false());
	record_network(rec, s->r);
}

struct start_failed {
	const char *error;
	int code;
};

static void edit_start_failed(json_t *rec, void *arg)
{
	struct start_failed *f = arg;
	json_t *state = json_object_get(rec, "State");
	_cleanup_free_ char *now = husk_time_format(husk_realtime_ns());

	/* as docker: the container stays "created", with why it did not start */
	const char *started = json_string_value(json_object_get(state, "StartedAt"));
	record_set_state(rec, started && strcmp(started, "0001-01-01T00:00:00Z") != 0 ? "exited" : "created", 0);
	json_object_set_new(state, "ExitCode", json_integer(f->code));
	json_object_set_new(state, "Error", json_string(f->error));
	json_object_set_new(state, "FinishedAt", json_string(now));
}

/* The monitor's own stdio: nothing in, its messages to RUN/ID/monitor.log. */
static void monitor_stdio(int log_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (log_fd >= 0)
		dup2(log_fd, STDERR_FILENO);
}

/* In the monitor: start the container r describes (checked, its root mounted), tell conn, and
 * become the relay. Returns (-1) only when the container could not be started. */
static int monitor_start(const struct husk_engine *e, struct husk_engine_run *r, int conn, int lock_fd, int listen_fd,
			 int log_fd, struct husk_err *err)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
	struct relay_fds f = {.lock = lock_fd, .listen = listen_fd, .out = -1, .err = -1, .pty = -1, .in = -1};
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), rc;
	struct started s = {r, 0};

	if (null < 0)
		return husk_err_sys(err, "open /dev/null");
	/* the container's stdio: pipes the relay holds (the pty is made by create) */
	if (!r->ro.tty) {
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || (r->interactive && pipe2(in, O_CLOEXEC) < 0)) {
			husk_err_sys(err, "pipe");
			goto fail;
		}
		dup2(r->interactive ? in[0] : null, STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(errp[1], STDERR_FILENO);
	}
	rc = husk_engine_run_start(e, r, err);
	monitor_stdio(log_fd);
	if (rc < 0)
		goto fail;
	if (rc == 1) {
		/* a poststart hook failed: a warning, as the spec says; kept in the monitor's log */
		dprintf(STDERR_FILENO, "husk: warning: %s\n", err->msg);
		husk_err_clear(err);
	}
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	close(null);
	/* the init is ours now: the sync socket is not needed past start */
	if (r->c.sync_fd >= 0)
		close(r->c.sync_fd);
	r->c.sync_fd = -1;
	s.pid = r->c.pid;
	if (record_edit(e, r->id, edit_started, &s, NULL, err) < 0)
		dprintf(STDERR_FILENO, "husk: record the start of %s: %s\n", r->id, err->msg);
	husk_err_clear(err);
	send_int(conn, HUSK_ATTACH_STARTED, r->c.pid);
	f.out = out[0];
	f.err = errp[0];
	f.in = in[1];
	f.pty = r->c.terminal_fd;
	f.clients = conn >= 0 ? &conn : NULL;
	f.n_clients = conn >= 0 ? 1 : 0;
	exec_relay(e, r->id, r->rec, r->c.pid, &f, err);
	/* no relay: nobody would reap the container or drain its output */
	husk_container_kill(e->root, r->id, SIGKILL, true, NULL);
	dprintf(STDERR_FILENO, "husk: %s\n", err->msg);
	_exit(125);
fail:
	monitor_stdio(log_fd);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	close(null);
	return -1;
}

/* The monitor after a failed start: the record says why; the client hears it. */
static void start_failed(const struct husk_engine *e, const char *id, int conn, bool autoremove,
			 const struct husk_err *why)
{
	struct husk_err err = {0};
	char text[HUSK_ERR_MSG_MAX + 64];
	struct start_failed f = {husk_err_format(why, text, sizeof(text)), husk_start_failure_code(why)};
	char msg[HUSK_ERR_MSG_MAX + 8];
	int32_t errnum = why->errnum;
	size_t len = strlen(why->msg);

	if (!id) {
		/* nothing of the container's was touched */
	} else if (autoremove) {
		_cleanup_close_ int lock = husk_record_lock(e, id, &err);
		husk_engine_remove(e, id, &err);
	} else if (record_edit(e, id, edit_start_failed, &f, NULL, &err) < 0) {
		dprintf(STDERR_FILENO, "husk: %s\n", err.msg);
	}
	memcpy(msg, &errnum, 4);
	memcpy(msg + 4, why->msg, len);
	send_msg(conn, HUSK_ATTACH_ERROR, msg, len + 4);
}

/* Everything the caller had open (a test harness's pipes among them) but keep[]. */
static void close_fds_except(int *keep, size_t n)
{
	unsigned from = 3;

	/* sorted, so that the gaps between them are ranges */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0u, 0);
}

/* The monitor's process: detached from the caller (a session of its own; reparented to init when
 * the caller exits), a subreaper for whatever the container leaves. Returns in the caller with
 * the connection. */
static int fork_monitor(int *conn, int keep_fd, struct husk_err *err)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_err_sys(err, "socketpair");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return husk_err_sys(err, "fork");
	}
	if (pid > 0) {
		close(sv[1]);
		*conn = sv[0];
		return 1;
	}
	close(sv[0]);
	int keep[] = {sv[1], keep_fd};
	close_fds_except(keep, keep_fd >= 0 ? 2 : 1);
	/* one fork, not two: the caller exits soon (husk run -d at once, the foreground one with
	 * the container), and the monitor is then reparented to init or the nearest subreaper; a
	 * second fork costs every start a copy of husk's page tables */
	if (setsid() < 0)
		_exit(1);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	prctl(PR_SET_NAME, "husk-monitor", 0, 0, 0);
	/* the caller's signals, blocked for its own waiting, are not the monitor's */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* an ignored SIGCHLD (kept across exec from the caller) would let the kernel reap the init */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	*conn = sv[1];
	return 0;
}

int husk_monitor_spawn_run(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err)
{
	int conn = -1, lock_fd = -1, listen_fd = -1, log_fd = -1;

	if (fork_monitor(&conn, r->rootfd, err) != 0)
		return conn;
	/* the monitor, with r as the client prepared it */
	if (monitor_claim(e, r->id, &lock_fd, &listen_fd, &log_fd, err) < 0) {
		/* a fresh id nobody else monitors: recorded (or removed with --rm) as any failed start */
		start_failed(e, r->id, conn, r->autoremove, err);
		_exit(125);
	}
	monitor_start(e, r, conn, lock_fd, listen_fd, log_fd, err);
	start_failed(e, r->id, conn, r->autoremove, err);
	_exit(125);
}

int husk_monitor_spawn(const struct husk_engine *e, const char *id, struct husk_err *err)
{
	int conn = -1, lock_fd = -1, listen_fd = -1, log_fd = -1;
	struct husk_engine_run r;
	bool autoremove = false;

	if (fork_monitor(&conn, -1, err) != 0)
		return conn;
	memset(&r, 0, sizeof(r));
	/* under the container's lock, which husk rm holds while it checks for a monitor and
	 * removes: the monitor is claimed for a container that is still there, or not at all */
	int record_lock = husk_record_lock(e, id, err);
	json_t *still = NULL;
	if (record_lock < 0 || husk_record_load(e, id, &still, err) < 0 ||
	    monitor_claim(e, id, &lock_fd, &listen_fd, &log_fd, err) < 0) {
		/* removed meanwhile, or another monitor has it (two starts at once): nothing to record */
		start_failed(e, NULL, conn, false, err);
		_exit(125);
	}
	json_decref(still);
	close(record_lock);
	if (husk_engine_run_load(e, id, &r, err) == 0) {
		autoremove = json_is_true(json_object_get(json_object_get(r.rec, "HostConfig"), "AutoRemove"));
		monitor_start(e, &r, conn, lock_fd, listen_fd, log_fd, err);
	}
	start_failed(e, id, conn, autoremove, err);
	_exit(125);
}

/* ---- after the container's init exited ---- */

struct exited {
	int wstatus;
	bool oom;
	const char *log_error;
	bool restart;
	uint64_t ran_ns;
	uint64_t delay_ms;           /* the back-off before the restart */
};

/* docker's policies: no, on-failure[:N] (a non-zero exit, at most N times), always, and
 * unless-stopped (as always, but not at boot after husk stop); never after husk stop. */
static bool wants_restart(json_t *rec, int code)
{
	json_t *policy = json_object_get(json_object_get(rec, "HostConfig"), "RestartPolicy");
	const char *name = json_string_value(json_object_get(policy, "Name"));
	json_int_t max = json_integer_value(json_object_get(policy, "MaximumRetryCount"));
	json_int_t count = json_integer_value(json_object_get(rec, "RestartCount"));

	if (!name || json_is_true(json_object_get(rec, "ManualStop")))
		return false;
	if (strcmp(name, "always") == 0 || strcmp(name, "unless-stopped") == 0)
		return true;
	if (strcmp(name, "on-failure") == 0)
		return code != 0 && (max <= 0 || count < max);
	return false;
}

static uint64_t parse_time(const char *text)
{
	uint64_t ns = 0;

	if (!text || husk_time_parse(text, 0, &ns) < 0)
		return 0;
	return ns;
}

/* docker's back-off: 100 ms, doubled for each restart that follows a run shorter than 10 s,
 * at most a minute. */
static uint64_t restart_delay_ms(json_t *rec, uint64_t ran_ns)
{
	json_int_t fast = json_integer_value(json_object_get(rec, "RestartBackoff"));
	uint64_t ms;

	fast = ran_ns >= 10ULL * 1000000000ULL ? 0 : fast + 1;
	json_object_set_new(rec, "RestartBackoff", json_integer(fast));
	ms = 100ULL << (fast > 10 ? 10 : fast);
	return ms > 60000 ? 60000 : ms;
}

static void edit_exited(json_t *rec, void *arg)
{
	struct exited *x = arg;
	json_t *state = json_object_get(rec, "State");
	_cleanup_free_ char *now = husk_time_format(husk_realtime_ns());
	int code = husk_exit_code(x->wstatus);

	x->restart = wants_restart(rec, code);
	record_set_state(rec, x->restart ? "restarting" : "exited", 0);
	json_object_set_new(state, "ExitCode", json_integer(code));
	json_object_set_new(state, "FinishedAt", json_string(now));
	json_object_set_new(state, "OOMKilled", json_boolean(x->oom));
	json_object_set_new(state, "Error", json_string(x->log_error ? x->log_error : ""));
	if (x->restart) {
		json_object_set_new(rec, "RestartCount",
				    json_integer(json_integer_value(json_object_get(rec, "RestartCount")) + 1));
		x->delay_ms = restart_delay_ms(rec, x->ran_ns);
	}
}

static void unlink_runtime(const struct husk_engine *e, const char *id)
{
	_cleanup_free_ char *dir = husk_engine_run_path(e, id, NULL);
	struct husk_err ignored = {0};

	/* the lock file last: whoever opens it from here on finds no monitor */
	husk_rmtree_at(AT_FDCWD, dir, &ignored);
}

int husk_monitor_exited(const struct husk_engine *e, const char *id, int wstatus, const int *clients,
			size_t n_clients, int listen_fd, int lock_fd)
{
	_cleanup_free_ char *log_error_path = husk_engine_run_path(e, id, "log-error");
	_cleanup_free_ char *log_error = NULL;
	_cleanup_close_ int log_fd = -1;
	struct husk_err err = {0};
	struct exited x = {.wstatus = wstatus};
	json_t *rec = NULL;
	int code = husk_exit_code(wstatus);

	signal(SIGPIPE, SIG_IGN);
	{
		_cleanup_free_ char *path = husk_engine_run_path(e, id, "monitor.log");
		log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		monitor_stdio(log_fd);
	}
	if (husk_read_file_at(AT_FDCWD, log_error_path, &log_error, NULL, NULL) == 0) {
		x.log_error = log_error;
		unlink(log_error_path);
	}
	if (husk_record_load(e, id, &rec, &err) == 0) {
		bool autoremove = json_is_true(json_object_get(json_object_get(rec, "HostConfig"), "AutoRemove"));
		x.ran_ns = husk_realtime_ns() - parse_time(json_string_value(json_object_get(json_object_get(rec, "State"),
											   "StartedAt")));
		/* --rm (which no restart policy goes with): nothing to record, it goes at once */
		if (husk_engine_release(e, id, rec, autoremove ? NULL : &x.oom, &err) < 0)
			dprintf(STDERR_FILENO, "husk: release %s: %s\n", id, err.msg);
		husk_err_clear(&err);
		json_decref(rec);
		rec = NULL;
		if (autoremove) {
			_cleanup_close_ int lock = husk_record_lock(e, id, &err);
			if (lock >= 0 && husk_engine_remove(e, id, &err) < 0)
				dprintf(STDERR_FILENO, "husk: remove %s: %s\n", id, err.msg);
			for (size_t i = 0; i < n_clients; i++)
				send_int(clients[i], HUSK_ATTACH_EXIT, code);
			unlink_runtime(e, id);
			return 0;
		}
	}
	if (record_edit(e, id, edit_exited, &x, &rec, &err) < 0) {
		/* no record (removed under us, or unreadable): what the runtime holds still goes */
		struct husk_err ignored = {0};
		husk_container_delete(e->root, id, true, &ignored);
		for (size_t i = 0; i < n_clients; i++)
			send_int(clients[i], HUSK_ATTACH_EXIT, code);
		unlink_runtime(e, id);
		return 0;
	}
	/* attached clients hear the end once everything is cleaned up (docker run --rm returns
	 * after the removal); with a restart to come they are let go now */
	for (size_t i = 0; i < n_clients; i++) {
		send_int(clients[i], HUSK_ATTACH_EXIT, code);
		close(clients[i]);
	}
	while (x.restart) {
		struct husk_engine_run r;
		bool stopped = false;

		json_decref(rec);
		rec = NULL;
		/* the back-off, in slices: husk stop (ManualStop in the record) ends it at once */
		for (uint64_t slept = 0; slept < x.delay_ms && !stopped; slept += 100) {
			struct timespec ts = {0, 100 * 1000000L};
			struct husk_err ignored = {0};
			json_t *now = NULL;
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			if (husk_record_load(e, id, &now, &ignored) < 0 || json_is_true(json_object_get(now, "ManualStop")))
				stopped = true;
			json_decref(now);
		}
		memset(&r, 0, sizeof(r));
		int loaded = stopped ? -1 : husk_engine_run_load(e, id, &r, &err);
		if (loaded < 0 && !stopped && r.rec) {
			/* the record is there but the run could not be rebuilt (its network removed, the
			 * snapshot not mountable): recorded exited, with why */
			start_failed(e, id, -1, false, &err);
			husk_engine_run_free(&r);
			break;
		}
		if (loaded < 0 || json_is_true(json_object_get(r.rec, "ManualStop"))) {
			/* husk stop during the back-off (or the container removed): no restart */
			_cleanup_close_ int lock = husk_record_lock(e, id, &err);
			json_t *now = NULL;
			if (lock >= 0 && husk_record_load(e, id, &now, &err) == 0) {
				record_set_state(now, "exited", 0);
				husk_record_save(e, id, now, &err);
				json_decref(now);
			}
			husk_engine_run_free(&r);
			break;
		}
		monitor_start(e, &r, -1, lock_fd, listen_fd, log_fd, &err);
		/* could not start it again: recorded (exited, with the reason) */
		start_failed(e, id, -1, false, &err);
		husk_engine_run_free(&r);
		break;
	}
	json_decref(rec);
	close(listen_fd);
	unlink_runtime(e, id);
	close(lock_fd);
	return 0;
}
