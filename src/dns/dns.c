/* husk-dns: the name responder of one user-defined network (docs/ARCHITECTURE.md, "Names on a
 * network").
 *
 * Started by the first container that joins the network (husk_dns_ensure, src/lib/net/dns.c),
 * with fd 3 holding the network's responder lock (an flock: one responder per network) and fd 4
 * a pipe on which it says "ok" once it listens, or why it cannot. It listens on the network's
 * gateway address, port 53, UDP, and nowhere else, so that only the network's side can ask it.
 *
 * It answers A queries for the names of the containers holding a lease on the network (their
 * name, their --network-alias names, their short id) from the network's lease file joined with
 * the containers' records, read again whenever the lease file changes (one stat per query): a
 * container that starts, stops or comes back on a new address is seen at once. Every other name
 * is forwarded, as is, to the resolvers of the host's /etc/resolv.conf, loopback ones included:
 * this process lives in husk's network namespace, where they answer (unlike in a container's).
 * It never recurses itself.
 *
 * Bounded work: one datagram read and answered per turn of the loop; at most MAX_FORWARDS
 * forwarded queries wait for an upstream answer at once (each on its own socket, connected to the
 * upstream: a random source port, and nothing but the upstream can answer it), each for
 * FORWARD_TIMEOUT_MS; more are answered SERVFAIL at once. A flood costs CPU, not memory, and
 * never keeps local names from being answered.
 *
 * The wire format is libldns's (Debian's libldns3): parsing a query and building an answer are
 * where hand-written DNS code goes wrong (name compression, counts, lengths). It is linked here,
 * not in husk: this is its own small program, so that husk's start-up does not load it, and an
 * idle responder is a small process of its own (no husk in its memory).
 *
 * It exits by itself when the network has no lease left (the lease file watched with inotify,
 * and read every few seconds in case an event was missed). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_FD 3
#define READY_FD 4
#define MAX_FORWARDS 64
#define FORWARD_TIMEOUT_MS 2000
#define MAX_UPSTREAMS 3
#define MAX_NAMES 8192
#define CHECK_MS 2000
#define REFRESH_NS 1000000000LL

struct name {
	char *name;                  /* lower case, no trailing dot */
	uint32_t addr;               /* network byte order */
};

struct forward {
	int fd;                      /* -1: free */
	long long deadline_ms;
	struct sockaddr_in client;
	uint8_t query[512];
	size_t len;
	unsigned upstream;           /* index of the upstream being asked */
};

static struct {
	const char *storage, *network;
	char *leases_path;
	struct in_addr gateway;
	uint32_t subnet, mask;       /* host byte order */
	struct sockaddr_storage upstreams[MAX_UPSTREAMS];
	socklen_t upstream_len[MAX_UPSTREAMS];
	unsigned n_upstreams;
	struct name *names;
	size_t n_names;
	struct stat leases_st;       /* what the table was built from */
	long long built_ns;
	struct forward fwd[MAX_FORWARDS];
} g;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	char when[32];
	time_t t = time(NULL);
	va_list ap;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(stderr, "%s husk-dns %s: ", when, g.network);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the table of names ---- */

static void names_clear(void)
{
	for (size_t i = 0; i < g.n_names; i++)
		free(g.names[i].name);
	free(g.names);
	g.names = NULL;
	g.n_names = 0;
}

static void name_add(const char *name, uint32_t addr)
{
	if (!name || !*name || g.n_names >= MAX_NAMES)
		return;
	g.names = realloc(g.names, (g.n_names + 1) * sizeof(*g.names));
	if (!g.names)
		abort();
	char *lower = strdup(name);
	if (!lower)
		abort();
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	g.names[g.n_names++] = (struct name){lower, addr};
}

/* A container id is 64 hex digits: nothing else is joined into a path */
static bool id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n != 64)
		return false;
	return strspn(id, "0123456789abcdef") == n;
}

static void add_container(const char *address, const char *id)
{
	struct in_addr a;
	char path[4096], shortid[13];
	json_t *rec, *aliases, *alias;
	const char *name;
	size_t i;

	/* the lease file also could hold other keys one day: addresses only */
	if (inet_pton(AF_INET, address, &a) != 1 || !id_valid(id))
		return;
	snprintf(shortid, sizeof(shortid), "%.12s", id);
	name_add(shortid, a.s_addr);
	snprintf(path, sizeof(path), "%s/containers/%s/container.json", g.storage, id);
	rec = json_load_file(path, 0, NULL);
	if (!rec)
		return;
	name = json_string_value(json_object_get(rec, "Name"));
	if (name)
		name_add(name[0] == '/' ? name + 1 : name, a.s_addr);
	aliases = json_object_get(json_object_get(json_object_get(json_object_get(rec, "NetworkSettings"), "Networks"),
						  g.network),
				  "Aliases");
	json_array_foreach(aliases, i, alias)
		name_add(json_string_value(alias), a.s_addr);
	json_decref(rec);
}

/* The leases, read again when the file changed (a rename: another inode) or a second went by
 * (a record renamed); 1 when there is at least one lease, 0 none, -1 unreadable. */
static int names_refresh(bool force)
{
	struct stat st;
	json_t *root, *leases, *value;
	const char *key;

	if (stat(g.leases_path, &st) < 0) {
		if (errno != ENOENT)
			return -1;
		names_clear();
		memset(&g.leases_st, 0, sizeof(g.leases_st));
		return 0;
	}
	if (!force && st.st_ino == g.leases_st.st_ino && st.st_mtim.tv_sec == g.leases_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == g.leases_st.st_mtim.tv_nsec && st.st_size == g.leases_st.st_size &&
	    now_ns() - g.built_ns < REFRESH_NS)
		return g.n_names > 0;
	root = json_load_file(g.leases_path, 0, NULL);
	if (!root)
		return -1;
	names_clear();
	leases = json_object_get(root, "leases");
	json_object_foreach(leases, key, value)
		if (json_is_string(value))
			add_container(key, json_string_value(value));
	g.leases_st = st;
	g.built_ns = now_ns();
	int any = json_object_size(leases) > 0;
	json_decref(root);
	return any;
}

static const struct name *name_find(const char *qname)
{
	for (size_t i = 0; i < g.n_names; i++)
		if (strcasecmp(g.names[i].name, qname) == 0)
			return &g.names[i];
	return NULL;
}

/* ---- upstream resolvers ---- */

static void read_upstreams(void)
{
	char line[512];
	FILE *f = fopen("/etc/resolv.conf", "re");

	g.n_upstreams = 0;
	if (!f) {
		logmsg("open /etc/resolv.conf: %s: names outside the network get SERVFAIL", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) && g.n_upstreams < MAX_UPSTREAMS) {
		char addr[128];
		struct sockaddr_in *in4 = (struct sockaddr_in *)&g.upstreams[g.n_upstreams];
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&g.upstreams[g.n_upstreams];

		if (sscanf(line, " nameserver %127s", addr) != 1)
			continue;
		memset(&g.upstreams[g.n_upstreams], 0, sizeof(g.upstreams[0]));
		if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
			/* ourselves: a loop */
			if (in4->sin_addr.s_addr == g.gateway.s_addr)
				continue;
			in4->sin_family = AF_INET;
			in4->sin_port = htons(53);
			g.upstream_len[g.n_upstreams++] = sizeof(*in4);
		} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(53);
			g.upstream_len[g.n_upstreams++] = sizeof(*in6);
		}
	}
	fclose(f);
	if (!g.n_upstreams)
		logmsg("no nameserver in /etc/resolv.conf: names outside the network get SERVFAIL");
}

/* ---- answers ---- */

static void send_to(int fd, const struct sockaddr_in *to, const void *buf, size_t len)
{
	/* a full socket buffer drops the answer, as the network would: the client asks again */
	if (sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to)) < 0 && errno != EAGAIN)
		logmsg("send to %s: %s", inet_ntoa(to->sin_addr), strerror(errno));
}

/* An answer carrying only a code (SERVFAIL, FORMERR) to a query whose header is all we trust. */
static void send_code(int fd, const struct sockaddr_in *to, const uint8_t *query, size_t len, ldns_pkt_rcode rcode)
{
	uint8_t buf[12];

	if (len < sizeof(buf))
		return;
	memcpy(buf, query, sizeof(buf));
	buf[2] = (uint8_t)(0x80 | (query[2] & 0x79));   /* QR, opcode and RD kept */
	buf[3] = (uint8_t)(0x80 | (rcode & 0x0f));     /* RA */
	memset(buf + 4, 0, 8);                          /* no sections */
	send_to(fd, to, buf, sizeof(buf));
}

/* The answer for a name of the network: its address for A, no data for any other type (so a
 * client asking AAAA first does not wait for a timeout). */
static void send_local(int fd, const struct sockaddr_in *to, ldns_pkt *q, ldns_rr *question, const struct name *n)
{
	ldns_pkt *a = ldns_pkt_new();
	uint8_t *wire = NULL;
	size_t len = 0;

	if (!a)
		return;
	ldns_pkt_set_id(a, ldns_pkt_id(q));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_aa(a, true);
	ldns_pkt_set_rd(a, ldns_pkt_rd(q));
	ldns_pkt_set_ra(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_QUERY);
	ldns_pkt_set_rcode(a, LDNS_RCODE_NOERROR);
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
	if (ldns_rr_get_type(question) == LDNS_RR_TYPE_A) {
		ldns_rr *rr = ldns_rr_new();
		ldns_rr_set_owner(rr, ldns_rdf_clone(ldns_rr_owner(question)));
		ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
		ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
		/* no caching: a restarted container has another address */
		ldns_rr_set_ttl(rr, 0);
		ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &n->addr));
		ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
	}
	if (ldns_pkt2wire(&wire, a, &len) == LDNS_STATUS_OK)
		send_to(fd, to, wire, len);
	free(wire);
	ldns_pkt_free(a);
}

static long long now_ms(void) { return now_ns() / 1000000; }

/* Send the query of slot f to its upstream, on a fresh socket; -1 when none will take it. */
static int forward_send(struct forward *f)
{
	for (; f->upstream < g.n_upstreams; f->upstream++) {
		const struct sockaddr *up = (const struct sockaddr *)&g.upstreams[f->upstream];
		int fd = socket(up->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, up, g.upstream_len[f->upstream]) < 0 || send(fd, f->query, f->len, 0) < 0) {
			close(fd);
			continue;
		}
		if (f->fd >= 0)
			close(f->fd);
		f->fd = fd;
		f->deadline_ms = now_ms() + FORWARD_TIMEOUT_MS;
		return 0;
	}
	return -1;
}

static void forward_free(struct forward *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static void forward(int fd, const struct sockaddr_in *from, const uint8_t *query, size_t len)
{
	struct forward *f = NULL;

	if (len > sizeof(f->query))
		return send_code(fd, from, query, len, LDNS_RCODE_SERVFAIL);
	for (size_t i = 0; i < MAX_FORWARDS && !f; i++)
		if (g.fwd[i].fd < 0)
			f = &g.fwd[i];
	/* all slots waiting: refuse now rather than queue (bounded memory and work) */
	if (!f)
		return send_code(fd, from, query, len, LDNS_RCODE_SERVFAIL);
	f->client = *from;
	memcpy(f->query, query, len);
	f->len = len;
	f->upstream = 0;
	if (forward_send(f) < 0) {
		forward_free(f);
		send_code(fd, from, query, len, LDNS_RCODE_SERVFAIL);
	}
}

/* An upstream's answer: relayed as is if it answers the query (same id). */
static void forward_answer(int fd, struct forward *f)
{
	uint8_t buf[65536];
	ssize_t n = recv(f->fd, buf, sizeof(buf), 0);

	if (n < 0) {
		/* ICMP unreachable: try the next one */
		if (errno == EAGAIN)
			return;
		f->upstream++;
		if (forward_send(f) < 0) {
			send_code(fd, &f->client, f->query, f->len, LDNS_RCODE_SERVFAIL);
			forward_free(f);
		}
		return;
	}
	if (n < 12 || memcmp(buf, f->query, 2) != 0)
		return;
	/* over 512 bytes: the client did not say it takes more (no EDNS here); cut with TC set */
	if (n > 512) {
		n = 12;
		buf[2] |= 0x02;
		memset(buf + 4, 0, 8);
	}
	send_to(fd, &f->client, buf, (size_t)n);
	forward_free(f);
}

static void forward_expire(int fd)
{
	long long now = now_ms();

	for (size_t i = 0; i < MAX_FORWARDS; i++) {
		struct forward *f = &g.fwd[i];
		if (f->fd < 0 || f->deadline_ms > now)
			continue;
		f->upstream++;
		if (forward_send(f) < 0) {
			send_code(fd, &f->client, f->query, f->len, LDNS_RCODE_SERVFAIL);
			forward_free(f);
		}
	}
}

static void handle_query(int fd)
{
	uint8_t buf[4096];
	struct sockaddr_in from;
	socklen_t fromlen = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
	ldns_pkt *q = NULL;
	ldns_rr *question;
	char *owner;
	const struct name *hit = NULL;

	if (n < 0)
		return;
	/* the network's side only: the gateway is bound, but the host could send to it too */
	if (from.sin_family != AF_INET || (ntohl(from.sin_addr.s_addr) & g.mask) != g.subnet)
		return;
	if (n < 12 || (buf[2] & 0x80))
		return;   /* not a query: an answer looping back is never answered */
	if (ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK)
		return send_code(fd, &from, buf, (size_t)n, LDNS_RCODE_FORMERR);
	if (ldns_pkt_get_opcode(q) != LDNS_PACKET_QUERY || ldns_pkt_qdcount(q) != 1) {
		send_code(fd, &from, buf, (size_t)n, LDNS_RCODE_NOTIMPL);
		ldns_pkt_free(q);
		return;
	}
	question = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	owner = ldns_rdf2str(ldns_rr_owner(question));
	if (owner) {
		size_t len = strlen(owner);
		if (len > 1 && owner[len - 1] == '.')
			owner[len - 1] = '\0';
		/* single-label names of the network: a dot is a name of the world */
		if (!strchr(owner, '.') && ldns_rr_get_class(question) == LDNS_RR_CLASS_IN && names_refresh(false) >= 0)
			hit = name_find(owner);
	}
	if (hit)
		send_local(fd, &from, q, question, hit);
	else
		forward(fd, &from, buf, (size_t)n);
	free(owner);
	ldns_pkt_free(q);
}

/* ---- life ---- */

/* No lease left: give the lock up, then look again. A container joining at that moment wrote
 * its lease before trying the lock: if it found the lock held, it is seen here and the lock is
 * taken back; if it got the lock, it started a new responder and this one goes. */
static bool should_exit(void)
{
	int any = names_refresh(true);

	if (any != 0)
		return false;
	if (flock(LOCK_FD, LOCK_UN) < 0)
		return false;
	any = names_refresh(true);
	if (any == 0)
		return true;
	if (flock(LOCK_FD, LOCK_EX | LOCK_NB) < 0) {
		logmsg("another responder took over");
		return true;
	}
	return false;
}

static int parse_cidr(const char *text, uint32_t *net, uint32_t *mask)
{
	char addr[32];
	unsigned prefix;
	struct in_addr a;

	if (sscanf(text, "%31[0-9.]/%u", addr, &prefix) != 2 || prefix > 32 || inet_pton(AF_INET, addr, &a) != 1)
		return -1;
	*mask = prefix ? ~0U << (32 - prefix) : 0;
	*net = ntohl(a.s_addr) & *mask;
	return 0;
}

static void ready(const char *msg)
{
	if (write(READY_FD, msg, strlen(msg)) < 0) {
		/* the starter gave up waiting: nothing to tell */
	}
	close(READY_FD);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"storage", required_argument, NULL, 's'}, {"network", required_argument, NULL, 'n'},
		{"gateway", required_argument, NULL, 'g'}, {"subnet", required_argument, NULL, 'S'},
		{"pid-file", required_argument, NULL, 'p'}, {0},
	};
	const char *gateway = NULL, *subnet = NULL, *pid_file = NULL;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	char msg[512], *dir;
	int c, fd, in, one = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': g.storage = optarg; break;
		case 'n': g.network = optarg; break;
		case 'g': gateway = optarg; break;
		case 'S': subnet = optarg; break;
		case 'p': pid_file = optarg; break;
		default: return 2;
		}
	}
	if (!g.storage || !g.network || !gateway || !subnet || inet_pton(AF_INET, gateway, &g.gateway) != 1 ||
	    parse_cidr(subnet, &g.subnet, &g.mask) < 0) {
		fprintf(stderr, "usage: husk-dns --storage DIR --network NAME --gateway ADDR --subnet CIDR [--pid-file PATH] "
				"(fd 3: the responder lock, fd 4: the ready pipe)\n");
		ready("husk-dns: bad arguments\n");
		return 2;
	}
	if (flock(LOCK_FD, LOCK_EX | LOCK_NB) < 0) {
		snprintf(msg, sizeof(msg), "husk-dns: the responder lock (fd 3): %s\n", strerror(errno));
		ready(msg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < MAX_FORWARDS; i++)
		g.fwd[i].fd = -1;
	if (asprintf(&g.leases_path, "%s/networks/%s.leases", g.storage, g.network) < 0 ||
	    asprintf(&dir, "%s/networks", g.storage) < 0)
		abort();
	sa.sin_addr = g.gateway;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* SO_REUSEPORT: a responder that is just giving up (should_exit) may still hold the port
	 * while its successor binds */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(msg, sizeof(msg), "husk-dns: listen on %s:53/udp: %s\n", gateway, strerror(errno));
		logmsg("%s", msg + 10);
		ready(msg);
		return 1;
	}
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE) < 0) {
		logmsg("inotify on %s: %s: leases read every %d ms", dir, strerror(errno), CHECK_MS);
		if (in >= 0)
			close(in);
		in = -1;
	}
	/* RUN/dns/NETWORK.pid: /proc/locks names the process that took the lock (the starter) */
	if (pid_file) {
		char pid_text[16];
		int len = snprintf(pid_text, sizeof(pid_text), "%d\n", (int)getpid());
		int pf = open(pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (pf < 0 || write(pf, pid_text, (size_t)len) != len)
			logmsg("write %s: %s", pid_file, strerror(errno));
		if (pf >= 0)
			close(pf);
	}
	read_upstreams();
	names_refresh(true);
	logmsg("listening on %s:53/udp, %u upstream resolver(s)", gateway, g.n_upstreams);
	ready("ok\n");

	long long next_check = now_ms() + CHECK_MS;
	for (;;) {
		struct pollfd p[2 + MAX_FORWARDS];
		struct forward *owner[2 + MAX_FORWARDS];
		nfds_t np = 0;
		long long now = now_ms(), wait = next_check - now;

		p[np] = (struct pollfd){.fd = fd, .events = POLLIN};
		owner[np++] = NULL;
		p[np] = (struct pollfd){.fd = in, .events = POLLIN};
		owner[np++] = NULL;
		for (size_t i = 0; i < MAX_FORWARDS; i++) {
			if (g.fwd[i].fd < 0)
				continue;
			if (g.fwd[i].deadline_ms - now < wait)
				wait = g.fwd[i].deadline_ms - now;
			p[np] = (struct pollfd){.fd = g.fwd[i].fd, .events = POLLIN};
			owner[np++] = &g.fwd[i];
		}
		if (wait < 0)
			wait = 0;
		if (poll(p, np, (int)wait) < 0 && errno != EINTR) {
			logmsg("poll: %s", strerror(errno));
			return 1;
		}
		for (nfds_t i = 2; i < np; i++)
			if (p[i].revents && owner[i]->fd == p[i].fd)
				forward_answer(fd, owner[i]);
		/* one query per turn: upstream answers and the lease file get their turn in a flood */
		if (p[0].revents & POLLIN)
			handle_query(fd);
		forward_expire(fd);
		bool check = now_ms() >= next_check;
		if (in >= 0 && (p[1].revents & POLLIN)) {
			char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			while (read(in, ev, sizeof(ev)) > 0)
				check = true;
		}
		if (check) {
			next_check = now_ms() + CHECK_MS;
			if (should_exit()) {
				logmsg("no container left on the network: exiting");
				if (pid_file)
					unlink(pid_file);
				return 0;
			}
		}
	}
}
