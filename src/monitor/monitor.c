/* husk-monitor: the relay that holds a detached container's stdio while it runs.
 *
 * The monitor process (husk, with its shared libraries) creates and starts the container, then
 * exec's this: a static, libc-only program, so that what stays resident for each running
 * container is a few hundred KiB instead of husk's relocated library pages. It relays the
 * container's output to its log (CRI format) and to attached clients, their input to the
 * container, reaps children (it is a subreaper), and when the container's init (--pid) has
 * exited and its output is drained, exec's husk again (--exe-fd) with `--status WSTATUS` and
 * the still-connected clients appended. The contract is in docs (engine-design, "husk-monitor
 * (the relay)") and docs/ARCHITECTURE.md ("husk-monitor, the relay").
 *
 * No one reads its stdout once it is detached: errors go to stderr (which husk points at a file
 * or /dev/null) and the relay keeps serving. Only a usage error or a failed exec back into husk
 * ends it, with 125. It allocates nothing: every buffer is static, and untouched .bss pages cost
 * no memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h> /* rename() only: no stdio stream is used */
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Built against musl where it is there (a few hundred KiB less of resident libc code than static
 * glibc: what an idle monitor costs is mostly its own text), so only what both libcs have, and
 * the system calls themselves for what musl 1.2.3 does not wrap. */
static int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}
#define close_range sys_close_range
static int sys_execveat(int fd, const char *path, char *const argv[], char *const envp[], int flags)
{
	return (int)syscall(SYS_execveat, fd, path, argv, envp, flags);
}
#define execveat sys_execveat

extern char **environ;

#define LINE_BUF (16 * 1024)    /* a longer line is logged as P parts of this size */
#define PAYLOAD_MAX (32 * 1024) /* client message payload, after the type byte */
#define MAX_CLIENTS 64
#define DRAIN_NS 1000000000LL /* output still read this long after the init exited */
#define REOPEN_NS 1000000000LL /* a log that could not be opened is retried this often */
#define EXIT_OWN 125

/* client hello flags */
#define WANT_STDIN 1
#define WANT_STDOUT 2
#define WANT_STDERR 4

enum { OUT_STDOUT, OUT_STDERR, N_OUT };

/* One output stream of the container. msg holds the type byte and the last chunk read: it stays
 * there until every client that wants the stream took it (owes bit), and the stream is not read
 * again before then: an attached reader slows the container down, it never loses output. */
struct out {
	int fd;
	const char *name; /* the CRI stream */
	char type;        /* the client message type */
	int want;         /* the hello flag of the stream, also the clients' owes bit */
	char msg[1 + PAYLOAD_MAX];
	size_t msg_len;
	char line[LINE_BUF]; /* the part of a line not yet logged */
	size_t line_len;
};

struct client {
	int fd;
	int flags;  /* WANT_*: what the client asked for */
	bool hello; /* it said hello: it gets output and may send input */
	int owes;   /* the streams whose current chunk it has not taken yet */
};

static struct {
	const char *id;
	pid_t pid;
	int exe_fd, lock_fd, listen_fd, pty_fd, stdin_fd;
	bool stdin_is_pty; /* `c` writes the EOF character instead of closing */
	const char *log_path, *log_error_path;
	unsigned long long log_max_size, log_max_file;
	char **husk_argv;
} opt = {
	.pid = -1, .exe_fd = -1, .lock_fd = -1, .listen_fd = -1, .pty_fd = -1, .stdin_fd = -1,
	.log_max_file = 1,
};

/* set in main: an initializer would put the buffers in .data, in the file and in memory */
static struct out outs[N_OUT];

static struct client clients[MAX_CLIENTS];
static int n_clients;

static struct {
	int fd;
	unsigned long long size; /* what this relay knows is in the file */
	bool failing;            /* the last attempt failed: reported once until one works */
	bool error_written;      /* --log-error holds the first failure */
	long long next_open;     /* monotonic ns: when to retry a failed open */
} logf = { .fd = -1 };

/* what a client sends, and the input not yet written to the container (its stdin was full):
 * while some is left, no client is read */
static char inbuf[1 + PAYLOAD_MAX + 1];
static size_t in_off, in_len;

static int wait_status;
static bool pid_exited;

/* ---- messages ---- */

struct text {
	char b[1024];
	size_t n;
};

static void add(struct text *t, const char *s)
{
	size_t l = strlen(s);
	if (l > sizeof t->b - 1 - t->n)
		l = sizeof t->b - 1 - t->n;
	memcpy(t->b + t->n, s, l);
	t->n += l;
}

static char *fmt_u(char *end, unsigned long long v) /* digits ending at end, returns the start */
{
	*end = '\0';
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

static void put_err(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to say it */
		s += w;
		n -= (size_t)w;
	}
}

/* "husk-monitor: ID: WHAT ON: errno text" (err 0: no errno part), to stderr; kept in *out */
static void report_to(struct text *out, const char *what, const char *on, int err)
{
	struct text t = { .n = 0 };
	add(&t, "husk-monitor: ");
	if (opt.id) {
		add(&t, opt.id);
		add(&t, ": ");
	}
	add(&t, what);
	if (on) {
		add(&t, " ");
		add(&t, on);
	}
	if (err) {
		const char *d = strerror(err);
		add(&t, ": ");
		add(&t, d ? d : "unknown error");
	}
	add(&t, "\n");
	put_err(t.b, t.n);
	if (out)
		*out = t;
}

static void report(const char *what, const char *on, int err)
{
	report_to(NULL, what, on, err);
}

static void close_fd(int *fd, const char *what)
{
	if (*fd < 0)
		return;
	/* Linux releases the fd even when close fails (EINTR, EIO on some filesystems): report,
	 * never retry */
	if (close(*fd) < 0)
		report("close", what, errno);
	*fd = -1;
}

static long long now_ns(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts) < 0)
		return 0; /* cannot fail with a valid clock id; 0 only makes a timestamp wrong */
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the log ---- */

/* "2026-11-29T15:04:05.123456789Z " into b (31 bytes): UTC from the days since the epoch
 * (the proleptic Gregorian calendar, March-based years so that Feb 29 comes last) */
static size_t timestamp(char *b)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		ts = (struct timespec){ 0, 0 };
	long long days = ts.tv_sec / 86400, sec = ts.tv_sec % 86400;
	long long z = days + 719468, era = z / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;
	long long day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
	long long year = yoe + era * 400 + (month <= 2);
	struct {
		long long v;
		int digits;
		char after;
	} f[] = {
		{ year, 4, '-' }, { month, 2, '-' }, { day, 2, 'T' }, { sec / 3600, 2, ':' },
		{ sec / 60 % 60, 2, ':' }, { sec % 60, 2, '.' }, { ts.tv_nsec, 9, 'Z' },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		for (int d = f[i].digits - 1; d >= 0; d--) {
			long long v = f[i].v;
			for (int k = 0; k < d; k++)
				v /= 10;
			b[n++] = (char)('0' + v % 10);
		}
		b[n++] = f[i].after;
	}
	b[n++] = ' ';
	return n;
}

/* A failure of the log: reported on stderr once until a write works again, and the first one
 * of this relay's life into --log-error (on another filesystem: the log's may be full). */
static void log_failed(const char *what, const char *on, int err)
{
	struct text t;
	if (logf.failing)
		return;
	logf.failing = true;
	report_to(&t, what, on, err);
	if (!opt.log_error_path || logf.error_written)
		return;
	logf.error_written = true;
	/* appended: each relay of the container's life (restarts) adds at most one line */
	int fd = open(opt.log_error_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		report("open", opt.log_error_path, errno);
		return;
	}
	if (write(fd, t.b, t.n) != (ssize_t)t.n)
		report("write", opt.log_error_path, errno);
	close_fd(&fd, opt.log_error_path);
}

static bool log_open(bool truncate)
{
	struct stat st;
	logf.fd = open(opt.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (truncate ? O_TRUNC : 0), 0640);
	if (logf.fd < 0) {
		logf.next_open = now_ns(CLOCK_MONOTONIC) + REOPEN_NS;
		log_failed("open", opt.log_path, errno);
		return false;
	}
	/* a restarted container's relay appends to what the last one wrote */
	if (fstat(logf.fd, &st) < 0) {
		log_failed("fstat", opt.log_path, errno);
		st.st_size = 0;
	}
	logf.size = (unsigned long long)st.st_size;
	return true;
}

/* PATH.N (N > 0) or PATH into b */
static bool log_name(char *b, size_t size, unsigned long long n)
{
	size_t l = strlen(opt.log_path);
	char d[24], *s = fmt_u(d + sizeof d - 1, n);
	if (l + 1 + strlen(s) + 1 > size)
		return false;
	memcpy(b, opt.log_path, l);
	if (n == 0)
		b[l] = '\0';
	else {
		b[l] = '.';
		strcpy(b + l + 1, s);
	}
	return true;
}

/* ctr.log.(N-2) → .(N-1) ... ctr.log → ctr.log.1, a new ctr.log; max-file 1: truncated */
static void log_rotate(void)
{
	char from[4096], to[4096];
	if (opt.log_max_file <= 1) {
		if (ftruncate(logf.fd, 0) < 0)
			log_failed("truncate", opt.log_path, errno);
		else
			logf.size = 0;
		return;
	}
	for (unsigned long long i = opt.log_max_file - 1; i >= 1; i--) {
		if (!log_name(from, sizeof from, i - 1) || !log_name(to, sizeof to, i)) {
			log_failed("rotate: path too long:", opt.log_path, 0);
			return;
		}
		if (rename(from, to) < 0 && errno != ENOENT) {
			log_failed("rename", from, errno);
			return; /* keep writing to the current file */
		}
	}
	close_fd(&logf.fd, opt.log_path);
	log_open(true);
}

/* one record: "TIMESTAMP STREAM F|P " a b "\n" */
static void log_record(const struct out *o, const char *a, size_t alen, const char *b, size_t blen, bool full)
{
	char head[64];
	size_t hn = timestamp(head);
	size_t sl = strlen(o->name);
	memcpy(head + hn, o->name, sl);
	hn += sl;
	head[hn++] = ' ';
	head[hn++] = full ? 'F' : 'P';
	head[hn++] = ' ';
	struct iovec iov[] = {
		{ head, hn }, { (void *)a, alen }, { (void *)b, blen }, { "\n", 1 },
	};
	size_t total = hn + alen + blen + 1;

	if (logf.fd < 0) {
		if (now_ns(CLOCK_MONOTONIC) < logf.next_open || !log_open(false))
			return; /* dropped: the container is never held up by its log */
	}
	if (opt.log_max_size && logf.size > 0 && logf.size + total > opt.log_max_size) {
		log_rotate();
		if (logf.fd < 0)
			return;
	}
	ssize_t w = writev(logf.fd, iov, sizeof iov / sizeof iov[0]);
	if (w == (ssize_t)total) {
		logf.size += total;
		logf.failing = false;
		return;
	}
	if (w < 0) {
		log_failed("write", opt.log_path, errno);
		return;
	}
	/* a torn record would glue onto the next one: cut it off (a short write means the
	 * filesystem is full or over quota, which the text says) */
	if (ftruncate(logf.fd, (off_t)logf.size) < 0)
		report("truncate", opt.log_path, errno);
	log_failed("write (short: filesystem full?)", opt.log_path, 0);
}

/* output into CRI records: a full line is F (its \n not written; with a pty its \r\n), a line
 * longer than LINE_BUF goes out in P parts */
static void log_output(struct out *o, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;
		size_t room = LINE_BUF - o->line_len;
		if (seg > room) {
			memcpy(o->line + o->line_len, p, room);
			log_record(o, o->line, LINE_BUF, "", 0, false);
			o->line_len = 0;
			p += room;
			n -= room;
		} else if (nl) {
			size_t keep = o->line_len, len = seg;
			if (opt.pty_fd >= 0) {
				if (len > 0 && p[len - 1] == '\r')
					len--;
				else if (len == 0 && keep > 0 && o->line[keep - 1] == '\r')
					keep--;
			}
			log_record(o, o->line, keep, p, len, true);
			o->line_len = 0;
			p += seg + 1;
			n -= seg + 1;
		} else {
			memcpy(o->line + o->line_len, p, seg);
			o->line_len += seg;
			n = 0;
		}
	}
}

static void log_flush(struct out *o)
{
	if (o->line_len > 0 && opt.log_path)
		log_record(o, o->line, o->line_len, "", 0, false);
	o->line_len = 0;
}

/* ---- clients ---- */

static void client_drop(struct client *c)
{
	close_fd(&c->fd, "client socket");
}

static bool set_nonblock(int fd, const char *what)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		report("set O_NONBLOCK on", what, errno);
		return false;
	}
	return true;
}

static void client_add(int fd, bool hello)
{
	if (n_clients == MAX_CLIENTS) {
		report("too many clients: dropped the new one", NULL, 0);
		close_fd(&fd, "client socket");
		return;
	}
	clients[n_clients++] = (struct client){ .fd = fd, .flags = hello ? 7 : 0, .hello = hello };
}

/* sends the stream's current chunk; false: the client must wait (EAGAIN) */
static bool client_send(struct client *c, struct out *o)
{
	if (send(c->fd, o->msg, o->msg_len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
		c->owes &= ~o->want;
		return true;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		c->owes |= o->want;
		return false;
	}
	if (errno != EPIPE && errno != ECONNRESET)
		report("send to client", NULL, errno);
	client_drop(c);
	return false;
}

static void stdin_close(void)
{
	if (opt.stdin_fd < 0)
		return;
	if (opt.stdin_is_pty) {
		/* the pty stays: the end of input is the line discipline's EOF character */
		struct termios t;
		char eof = 4; /* ^D, if the attributes cannot be read */
		if (tcgetattr(opt.stdin_fd, &t) == 0)
			eof = (char)t.c_cc[VEOF];
		else
			report("tcgetattr", "pty", errno);
		if (write(opt.stdin_fd, &eof, 1) < 0 && errno != EAGAIN)
			report("write EOF to", "pty", errno);
		return;
	}
	close_fd(&opt.stdin_fd, "stdin");
	in_len = 0;
}

/* what is left of the input: false while the container's stdin is full */
static bool stdin_flush(void)
{
	while (in_len > 0) {
		if (opt.stdin_fd < 0) {
			in_len = 0;
			break;
		}
		ssize_t w = write(opt.stdin_fd, inbuf + in_off, in_len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return false;
			/* EPIPE: the container closed its stdin; later input goes nowhere */
			if (errno != EPIPE)
				report("write to the container's stdin", NULL, errno);
			if (!opt.stdin_is_pty)
				close_fd(&opt.stdin_fd, "stdin");
			in_len = 0;
			break;
		}
		in_off += (size_t)w;
		in_len -= (size_t)w;
	}
	return true;
}

static void client_read(struct client *c)
{
	ssize_t n = recv(c->fd, inbuf, sizeof inbuf, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno != ECONNRESET)
			report("recv from client", NULL, errno);
		client_drop(c);
		return;
	}
	/* 0: the client hung up (the protocol has no empty message); longer than the buffer: not
	 * a client of ours */
	if (n == 0 || (size_t)n > sizeof inbuf - 1) {
		if (n > 0)
			report("client message too long: client dropped", NULL, 0);
		client_drop(c);
		return;
	}
	if (inbuf[0] == 'h' && n == 2) {
		c->flags = inbuf[1] & (WANT_STDIN | WANT_STDOUT | WANT_STDERR);
		c->hello = true;
		return;
	}
	if (!c->hello) {
		report("client spoke before its hello: client dropped", NULL, 0);
		client_drop(c);
		return;
	}
	switch (inbuf[0]) {
	case 'i':
		if (!(c->flags & WANT_STDIN) || opt.stdin_fd < 0)
			return;
		in_off = 1;
		in_len = (size_t)n - 1;
		stdin_flush();
		return;
	case 'c':
		if (c->flags & WANT_STDIN)
			stdin_close();
		return;
	case 'w':
		if (n != 5 || opt.pty_fd < 0)
			return;
		struct winsize ws = {
			.ws_row = (unsigned short)((uint8_t)inbuf[1] | (uint8_t)inbuf[2] << 8),
			.ws_col = (unsigned short)((uint8_t)inbuf[3] | (uint8_t)inbuf[4] << 8),
		};
		if (ioctl(opt.pty_fd, TIOCSWINSZ, &ws) < 0)
			report("resize", "pty", errno);
		return;
	}
	/* another type: a newer client; ignored */
}

/* ---- output ---- */

static void out_read(struct out *o)
{
	ssize_t n = read(o->fd, o->msg + 1, PAYLOAD_MAX);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF; EIO: a pty master whose slave is closed everywhere */
		if (n < 0 && errno != EIO)
			report("read the container's", o->name, errno);
		/* the pty's fd is the stdin and the resize target too: none of them may use the number
		 * once it is closed (the next accepted client would get it) */
		if (o->fd >= 0 && o->fd == opt.pty_fd) {
			if (opt.stdin_is_pty)
				opt.stdin_fd = -1;
			opt.pty_fd = -1;
		}
		close_fd(&o->fd, o->name);
		return;
	}
	if (opt.log_path)
		log_output(o, o->msg + 1, (size_t)n);
	o->msg[0] = o->type;
	o->msg_len = (size_t)n + 1;
	for (int i = 0; i < n_clients; i++)
		if (clients[i].fd >= 0 && clients[i].hello && (clients[i].flags & o->want))
			client_send(&clients[i], o);
}

static bool out_owed(const struct out *o)
{
	for (int i = 0; i < n_clients; i++)
		if (clients[i].fd >= 0 && (clients[i].owes & o->want))
			return true;
	return false;
}

/* ---- children ---- */

static void reap(void)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p == 0)
			return;
		if (p < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				report("waitpid", NULL, errno);
			return;
		}
		if (p == opt.pid) {
			wait_status = st;
			pid_exited = true;
		}
	}
}

static void signals_read(int sfd)
{
	struct signalfd_siginfo si[8];
	while (read(sfd, si, sizeof si) > 0)
		;
	if (errno != EAGAIN && errno != EINTR)
		report("read", "signalfd", errno);
	reap(); /* SIGCHLDs coalesce: one may stand for many children */
}

/* ---- the command line ---- */

enum kind { FD, STR, NUM, CLIENT };
static int pid_arg = -1;
static const struct option_row {
	const char *name;
	enum kind kind;
	void *to;
} option_table[] = {
	{ "--client-fd", CLIENT, NULL },
	{ "--exe-fd", FD, &opt.exe_fd },
	{ "--id", STR, &opt.id },
	{ "--listen-fd", FD, &opt.listen_fd },
	{ "--lock-fd", FD, &opt.lock_fd },
	{ "--log", STR, &opt.log_path },
	{ "--log-error", STR, &opt.log_error_path },
	{ "--log-max-file", NUM, &opt.log_max_file },
	{ "--log-max-size", NUM, &opt.log_max_size },
	{ "--pid", FD, &pid_arg }, /* a positive int, as an fd is */
	{ "--pty-fd", FD, &opt.pty_fd },
	{ "--stderr-fd", FD, &outs[OUT_STDERR].fd },
	{ "--stdin-fd", FD, &opt.stdin_fd },
	{ "--stdout-fd", FD, &outs[OUT_STDOUT].fd },
};

static const char usage[] =
	"usage: husk-monitor --id ID --pid PID --exe-fd N --lock-fd N --listen-fd N\n"
	"       (--stdout-fd N --stderr-fd N | --pty-fd N) [--stdin-fd N]\n"
	"       [--log PATH [--log-max-size BYTES] [--log-max-file N]] [--log-error PATH]\n"
	"       [--client-fd N]... -- HUSK_ARGV...\n";

static _Noreturn void usage_error(const char *what, const char *on)
{
	report(what, on, 0);
	put_err(usage, sizeof usage - 1);
	_exit(EXIT_OWN);
}

static bool parse_num(const char *s, unsigned long long max, unsigned long long *v)
{
	unsigned long long r = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || r > (max - (unsigned)(*s - '0')) / 10)
			return false;
		r = r * 10 + (unsigned)(*s - '0');
	}
	*v = r;
	return true;
}

static void parse_args(int argc, char **argv)
{
	int i;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
		const struct option_row *row = NULL;
		unsigned long long v;
		for (size_t k = 0; k < sizeof option_table / sizeof option_table[0]; k++)
			if (strcmp(option_table[k].name, argv[i]) == 0)
				row = &option_table[k];
		if (!row)
			usage_error("unknown option", argv[i]);
		if (i + 1 >= argc)
			usage_error("missing value after", argv[i]);
		const char *val = argv[i + 1];
		switch (row->kind) {
		case STR:
			*(const char **)row->to = val;
			break;
		case NUM:
			if (!parse_num(val, ~0ULL, &v))
				usage_error("not a number:", val);
			*(unsigned long long *)row->to = v;
			break;
		case FD:
		case CLIENT:
			if (!parse_num(val, 0x7fffffff, &v))
				usage_error("not a file descriptor or pid:", val);
			if (row->kind == FD) {
				*(int *)row->to = (int)v;
				break;
			}
			if (fcntl((int)v, F_GETFD) < 0)
				usage_error("--client-fd is not open:", val);
			client_add((int)v, true);
			break;
		}
	}
	if (i >= argc || i + 1 >= argc)
		usage_error("missing -- HUSK_ARGV", NULL);
	opt.husk_argv = argv + i + 1;
	opt.pid = pid_arg;

	if (!opt.id)
		usage_error("missing --id", NULL);
	if (opt.pid <= 0)
		usage_error("missing --pid", NULL);
	if ((opt.pty_fd >= 0) == (outs[OUT_STDOUT].fd >= 0 || outs[OUT_STDERR].fd >= 0) ||
	    (opt.pty_fd < 0 && (outs[OUT_STDOUT].fd < 0 || outs[OUT_STDERR].fd < 0)))
		usage_error("give --stdout-fd and --stderr-fd, or --pty-fd", NULL);
	if (!opt.log_path && (opt.log_max_size || opt.log_max_file != 1))
		usage_error("--log-max-size and --log-max-file need --log", NULL);
	if (opt.log_max_file == 0 || opt.log_max_file > 1000)
		usage_error("--log-max-file: from 1 to 1000", NULL);
	const struct {
		const char *name;
		int fd;
	} fds[] = {
		{ "--exe-fd", opt.exe_fd }, { "--lock-fd", opt.lock_fd }, { "--listen-fd", opt.listen_fd },
		{ "--stdout-fd", outs[OUT_STDOUT].fd }, { "--stderr-fd", outs[OUT_STDERR].fd },
		{ "--pty-fd", opt.pty_fd }, { "--stdin-fd", opt.stdin_fd },
	};
	for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++) {
		if (fds[k].fd < 0 && k < 3)
			usage_error("missing", fds[k].name);
		if (fds[k].fd >= 0 && fcntl(fds[k].fd, F_GETFD) < 0)
			usage_error("not an open file descriptor:", fds[k].name);
	}
	if (opt.pty_fd >= 0) {
		outs[OUT_STDOUT].fd = opt.pty_fd; /* a terminal has one stream: stdout */
		outs[OUT_STDERR].type = 'o';
		if (opt.stdin_fd < 0) {
			opt.stdin_fd = opt.pty_fd;
			opt.stdin_is_pty = true;
		}
	}
}

/* everything but stdio and what the command line names is closed: an inherited write end of
 * the container's pipes would keep their EOF from ever coming */
static void close_others(void)
{
	int keep[8 + MAX_CLIENTS], n = 0;
	int named[] = { opt.exe_fd, opt.lock_fd, opt.listen_fd, outs[OUT_STDOUT].fd, outs[OUT_STDERR].fd,
			opt.pty_fd, opt.stdin_fd };
	for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
		if (named[k] >= 3)
			keep[n++] = named[k];
	for (int k = 0; k < n_clients; k++)
		keep[n++] = clients[k].fd;
	for (int a = 1; a < n; a++) /* a few entries: insertion sort */
		for (int b = a; b > 0 && keep[b - 1] > keep[b]; b--) {
			int t = keep[b];
			keep[b] = keep[b - 1];
			keep[b - 1] = t;
		}
	unsigned int from = 3;
	for (int k = 0; k <= n; k++) {
		unsigned int to = k < n ? (unsigned int)keep[k] : ~0U;
		if (to > from && close_range(from, to == ~0U ? ~0U : to - 1, 0) < 0)
			report("close_range", NULL, errno);
		if (k < n && (unsigned int)keep[k] + 1 > from)
			from = (unsigned int)keep[k] + 1;
	}
}

/* ---- the end: back into husk ---- */

static _Noreturn void exec_husk(const sigset_t *old_mask, const struct sigaction *old_chld, const struct sigaction *old_pipe)
{
	static char *argv[4096];
	static char nums[MAX_CLIENTS + 1][24];
	size_t n = 0;
	for (char **a = opt.husk_argv; *a && n < sizeof argv / sizeof argv[0] - 3 - 2 * MAX_CLIENTS; a++)
		argv[n++] = *a;
	argv[n++] = "--status";
	argv[n++] = fmt_u(nums[0] + sizeof nums[0] - 1, (unsigned int)wait_status);
	for (int i = 0; i < n_clients; i++) {
		if (clients[i].fd < 0)
			continue;
		argv[n++] = "--client-fd";
		argv[n++] = fmt_u(nums[i + 1] + sizeof nums[i + 1] - 1, (unsigned int)clients[i].fd);
	}
	argv[n] = NULL;

	/* all CLOEXEC, then the lock, the listening socket and the clients not; the exe fd stays
	 * CLOEXEC unless it is a script, whose interpreter must open it by /dev/fd/N */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		report("close_range CLOEXEC", NULL, errno);
	int keep[2 + MAX_CLIENTS], nk = 0;
	keep[nk++] = opt.lock_fd;
	keep[nk++] = opt.listen_fd;
	for (int i = 0; i < n_clients; i++)
		if (clients[i].fd >= 0)
			keep[nk++] = clients[i].fd;
	for (int i = 0; i < nk; i++)
		if (fcntl(keep[i], F_SETFD, 0) < 0)
			report("clear FD_CLOEXEC", NULL, errno);

	/* husk starts with the signal state this relay was given */
	if (sigaction(SIGCHLD, old_chld, NULL) < 0 || sigaction(SIGPIPE, old_pipe, NULL) < 0 ||
	    sigprocmask(SIG_SETMASK, old_mask, NULL) < 0)
		report("restore the signal state", NULL, errno);

	execveat(opt.exe_fd, "", argv, environ, AT_EMPTY_PATH);
	if (errno == ENOENT && fcntl(opt.exe_fd, F_SETFD, 0) == 0)
		execveat(opt.exe_fd, "", argv, environ, AT_EMPTY_PATH);
	report("exec husk (--exe-fd)", argv[0], errno);
	_exit(EXIT_OWN);
}

int main(int argc, char **argv)
{
	sigset_t chld, old_mask;
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN }, old_chld, old_pipe;

	/* field by field: a struct assignment would write (and so make resident) the buffers */
	static const struct {
		const char *name;
		char type;
		int want;
	} streams[N_OUT] = { { "stdout", 'o', WANT_STDOUT }, { "stderr", 'e', WANT_STDERR } };
	for (int i = 0; i < N_OUT; i++) {
		outs[i].fd = -1;
		outs[i].name = streams[i].name;
		outs[i].type = streams[i].type;
		outs[i].want = streams[i].want;
	}
	parse_args(argc, argv);
	close_others();

	/* SIGCHLD only through the signalfd, and not ignored: an ignored SIGCHLD (inherited over
	 * exec) would let the kernel reap the init and lose its status. SIGPIPE ignored: a write
	 * into a stdin the container closed is EPIPE, not death. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigaction(SIGCHLD, &dfl, &old_chld) < 0 || sigaction(SIGPIPE, &ign, &old_pipe) < 0 ||
	    sigprocmask(SIG_BLOCK, &chld, &old_mask) < 0) {
		report("set up signals", NULL, errno);
		_exit(EXIT_OWN);
	}
	int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		report("signalfd", NULL, errno);
		_exit(EXIT_OWN);
	}
	/* husk set it before starting the container; again, so that orphans of the container are
	 * reaped here whoever exec'd the relay */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		report("PR_SET_CHILD_SUBREAPER", NULL, errno);
	siginfo_t si = { .si_pid = 0 };
	if (waitid(P_PID, (id_t)opt.pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		char d[24];
		report("--pid: not a child of this process:", fmt_u(d + sizeof d - 1, (unsigned int)opt.pid), errno);
		_exit(EXIT_OWN);
	}

	for (int i = 0; i < N_OUT; i++)
		if (outs[i].fd >= 0 && (i == OUT_STDOUT || opt.pty_fd < 0))
			set_nonblock(outs[i].fd, outs[i].name);
	if (opt.stdin_fd >= 0 && !opt.stdin_is_pty)
		set_nonblock(opt.stdin_fd, "stdin");
	set_nonblock(opt.listen_fd, "the listening socket");
	for (int i = 0; i < n_clients; i++)
		set_nonblock(clients[i].fd, "a client socket");
	/* the log is made by the first line to go in it: a container that says nothing costs no
	 * file (an inode made and removed is most of what a `run --rm true` spends on a disk) */
	reap(); /* an init that exited before the signalfd existed sent a SIGCHLD no one saw */

	long long deadline = 0;
	for (;;) {
		struct pollfd pfd[4 + N_OUT + MAX_CLIENTS];
		int what[4 + N_OUT + MAX_CLIENTS]; /* -1 signals, -2 listen, -3 stdin, -10-i out i, i client i */
		nfds_t np = 0;
		bool all_eof = true;

		if (pid_exited && deadline == 0)
			deadline = now_ns(CLOCK_MONOTONIC) + DRAIN_NS;
		for (int i = 0; i < N_OUT; i++) {
			if (outs[i].fd < 0)
				continue;
			all_eof = false;
			if (!out_owed(&outs[i])) {
				pfd[np] = (struct pollfd){ .fd = outs[i].fd, .events = POLLIN };
				what[np++] = -10 - i;
			}
		}
		bool owed = false;
		for (int i = 0; i < n_clients; i++)
			owed |= clients[i].owes != 0;
		if (pid_exited && ((all_eof && !owed) || now_ns(CLOCK_MONOTONIC) >= deadline))
			break;

		pfd[np] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		what[np++] = -1;
		pfd[np] = (struct pollfd){ .fd = opt.listen_fd, .events = POLLIN };
		what[np++] = -2;
		if (in_len > 0 && opt.stdin_fd >= 0) {
			pfd[np] = (struct pollfd){ .fd = opt.stdin_fd, .events = POLLOUT };
			what[np++] = -3;
		}
		/* while input waits for the container's stdin, clients are not read (and one that
		 * hung up would make poll return at once): only those owed output are watched */
		for (int i = 0; i < n_clients; i++) {
			short ev = (short)((in_len == 0 ? POLLIN : 0) | (clients[i].owes ? POLLOUT : 0));
			if (!ev)
				continue;
			pfd[np] = (struct pollfd){ .fd = clients[i].fd, .events = ev };
			what[np++] = i;
		}

		int timeout = -1;
		if (pid_exited) {
			long long left = deadline - now_ns(CLOCK_MONOTONIC);
			timeout = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
		}
		int r = poll(pfd, np, timeout);
		if (r < 0) {
			if (errno != EINTR)
				report("poll", NULL, errno);
			continue;
		}
		for (nfds_t k = 0; k < np; k++) {
			short re = pfd[k].revents;
			if (!re)
				continue;
			int w = what[k];
			if (w == -1) {
				signals_read(sfd);
			} else if (w == -2) {
				for (;;) {
					int c = accept4(opt.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c < 0) {
						if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
						    errno != ECONNABORTED)
							report("accept", "a client", errno);
						break;
					}
					client_add(c, false);
				}
			} else if (w == -3) {
				stdin_flush();
			} else if (w <= -10) {
				out_read(&outs[-10 - w]);
			} else {
				struct client *c = &clients[w];
				for (int i = 0; i < N_OUT && c->fd >= 0 && (re & (POLLOUT | POLLERR | POLLHUP)); i++)
					if (c->owes & outs[i].want)
						client_send(c, &outs[i]);
				/* a hang-up is read as a 0-length recv once its messages are taken */
				if (c->fd >= 0 && (re & (POLLIN | POLLHUP | POLLERR)) && in_len == 0)
					client_read(c);
			}
		}
		/* the dropped clients out of the table (pfd indexes are no longer needed) */
		int j = 0;
		for (int i = 0; i < n_clients; i++)
			if (clients[i].fd >= 0)
				clients[j++] = clients[i];
		n_clients = j;
	}

	for (int i = 0; i < N_OUT; i++)
		log_flush(&outs[i]);
	exec_husk(&old_mask, &old_chld, &old_pipe);
}
