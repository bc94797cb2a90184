/* husk-dns: the name responder of one user-defined network (docs/ARCHITECTURE.md, "Names on a
 * network").
 *
 * Started by the first container that joins the network (husk_dns_ensure, src/lib/net/dns.c),
 * with fd 3 holding the network's responder lock (an flock: one responder per network) and fd 4
 * a pipe on which it says "ok" once it listens, or why it cannot. It listens on the network's
 * gateway address, port 53, UDP and TCP, and nowhere else, so that only the network's side can
 * ask it.
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
 * TCP (RFC 7766), for answers too big for a datagram: at most MAX_TCP connections at once (more
 * are closed as soon as accepted), each given TCP_TIMEOUT_MS to send a whole query or take a
 * whole answer, queries of at most MAX_TCP_QUERY bytes; a forwarded one goes to the upstream over
 * TCP too, from the connection's own slot. Every socket is non-blocking and served from the one
 * poll loop: a slow or stuck client holds a slot, never the loop, so UDP is answered meanwhile.
 *
 * EDNS0 (RFC 6891): a client's UDP payload size is honoured up to UDP_PAYLOAD_CAP (and told to
 * the upstream so), an answer is cut (TC) only when bigger than what the client takes, and local
 * answers to a query with an OPT record carry one.
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
#define MAX_TCP 16
#define TCP_TIMEOUT_MS 2000
/* a query is one question and an OPT record: far less; a bigger one is not a query of ours */
#define MAX_TCP_QUERY 4096
/* the DNS flag day 2020 value: an answer that size crosses any path without IP fragments */
#define UDP_PAYLOAD_CAP 1232
#define MAX_UDP_QUERY UDP_PAYLOAD_CAP

struct name {
	char *name;                  /* lower case, no trailing dot */
	int family;                  /* AF_INET (an A record) or AF_INET6 (AAAA) */
	unsigned char addr[16];      /* network byte order: 4 or 16 bytes */
};

struct forward {
	int fd;                      /* -1: free */
	long long deadline_ms;
	struct sockaddr_in client;
	size_t limit;                /* the biggest answer the client takes */
	uint8_t query[MAX_UDP_QUERY];
	size_t len;
	unsigned upstream;           /* index of the upstream being asked */
};

enum conn_state { C_FREE, C_READ, C_UPSTREAM, C_WRITE };

/* A TCP client: reading a query, waiting for the upstream (over TCP) or writing the answer; one
 * query at a time, several in turn on one connection. */
struct conn {
	enum conn_state state;
	int fd;
	long long deadline_ms;       /* of the current step: read, upstream, write */
	uint8_t in[2 + MAX_TCP_QUERY];   /* the query with its length prefix */
	size_t in_len;
	int up_fd;                   /* C_UPSTREAM: the upstream's connection */
	unsigned upstream;
	size_t up_sent;              /* of in[], to the upstream */
	uint8_t up_hdr[2];           /* the upstream answer's length */
	size_t up_hdr_len;
	uint8_t *out;                /* the answer with its length prefix */
	size_t out_len, out_off;
};

/* Where an answer goes: a UDP client, or a TCP connection. */
struct peer {
	int udp;
	struct sockaddr_in addr;
	struct conn *conn;           /* NULL: UDP */
	size_t limit;                /* UDP: the biggest answer the client takes */
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
	struct conn conns[MAX_TCP];
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

static void name_add(const char *name, int family, const void *addr)
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
	g.names[g.n_names] = (struct name){lower, family, {0}};
	memcpy(g.names[g.n_names++].addr, addr, family == AF_INET6 ? 16 : 4);
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
	unsigned char a[16];
	char path[4096], shortid[13];
	json_t *rec, *aliases, *alias;
	const char *name;
	size_t i;
	int family = AF_INET;

	/* the lease file also could hold other keys one day: addresses only (an IPv6 network's
	 * containers have one of each family: A and AAAA answers) */
	if (inet_pton(AF_INET, address, a) != 1) {
		family = AF_INET6;
		if (inet_pton(AF_INET6, address, a) != 1)
			return;
	}
	if (!id_valid(id))
		return;
	snprintf(shortid, sizeof(shortid), "%.12s", id);
	name_add(shortid, family, a);
	snprintf(path, sizeof(path), "%s/containers/%s/container.json", g.storage, id);
	rec = json_load_file(path, 0, NULL);
	if (!rec)
		return;
	name = json_string_value(json_object_get(rec, "Name"));
	if (name)
		name_add(name[0] == '/' ? name + 1 : name, family, a);
	aliases = json_object_get(json_object_get(json_object_get(json_object_get(rec, "NetworkSettings"), "Networks"),
						  g.network),
				  "Aliases");
	json_array_foreach(aliases, i, alias)
		name_add(json_string_value(alias), family, a);
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

static long long now_ms(void) { return now_ns() / 1000000; }

static void send_to(int fd, const struct sockaddr_in *to, const void *buf, size_t len)
{
	/* a full socket buffer drops the answer, as the network would: the client asks again */
	if (sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to)) < 0 && errno != EAGAIN)
		logmsg("send to %s: %s", inet_ntoa(to->sin_addr), strerror(errno));
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->up_fd >= 0)
		close(c->up_fd);
	free(c->out);
	*c = (struct conn){.state = C_FREE, .fd = -1, .up_fd = -1};
}

/* Next query on the same connection (RFC 7766 6.2.1): a fresh read timeout. */
static void conn_next(struct conn *c)
{
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->in_len = 0;
	c->state = C_READ;
	c->deadline_ms = now_ms() + TCP_TIMEOUT_MS;
}

static void conn_write(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			return;   /* polled for POLLOUT, until the deadline */
		if (n <= 0)
			return conn_close(c);
		c->out_off += (size_t)n;
	}
	conn_next(c);
}

/* Queue an answer (the caller's bytes) on connection c, length-prefixed, and start writing. */
static void conn_answer(struct conn *c, const uint8_t *buf, size_t len)
{
	if (len > 65535)
		return conn_close(c);
	free(c->out);
	c->out = malloc(2 + len);
	if (!c->out)
		return conn_close(c);
	c->out[0] = (uint8_t)(len >> 8);
	c->out[1] = (uint8_t)len;
	memcpy(c->out + 2, buf, len);
	c->out_len = 2 + len;
	c->out_off = 0;
	c->state = C_WRITE;
	c->deadline_ms = now_ms() + TCP_TIMEOUT_MS;
	conn_write(c);
}

static void reply(const struct peer *p, const uint8_t *buf, size_t len)
{
	if (p->conn)
		conn_answer(p->conn, buf, len);
	else
		send_to(p->udp, &p->addr, buf, len);
}

/* An answer carrying only a code (SERVFAIL, FORMERR) to a query whose header is all we trust. */
static void send_code(const struct peer *p, const uint8_t *query, size_t len, ldns_pkt_rcode rcode)
{
	uint8_t buf[12];

	if (len < sizeof(buf))
		return;
	memcpy(buf, query, sizeof(buf));
	buf[2] = (uint8_t)(0x80 | (query[2] & 0x79));   /* QR, opcode and RD kept */
	buf[3] = (uint8_t)(0x80 | (rcode & 0x0f));     /* RA */
	memset(buf + 4, 0, 8);                          /* no sections */
	reply(p, buf, sizeof(buf));
}

/* The answer's skeleton for query q: its id, question and flags, and an OPT record when q had
 * one (RFC 6891 7: a responder that knows EDNS says so, with its own payload size). */
static ldns_pkt *answer_new(ldns_pkt *q, ldns_rr *question)
{
	ldns_pkt *a = ldns_pkt_new();

	if (!a)
		return NULL;
	ldns_pkt_set_id(a, ldns_pkt_id(q));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_rd(a, ldns_pkt_rd(q));
	ldns_pkt_set_ra(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_QUERY);
	ldns_pkt_set_rcode(a, LDNS_RCODE_NOERROR);
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
	if (ldns_pkt_edns(q)) {
		ldns_pkt_set_edns_udp_size(a, UDP_PAYLOAD_CAP);
		/* RFC 3225 3: the DO bit is copied */
		ldns_pkt_set_edns_do(a, ldns_pkt_edns_do(q));
	}
	return a;
}

static void answer_send(const struct peer *p, ldns_pkt *a)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_pkt2wire(&wire, a, &len) == LDNS_STATUS_OK)
		reply(p, wire, len);
	free(wire);
	ldns_pkt_free(a);
}

/* The answer for a name of the network: its address for A, no data for any other type (so a
 * client asking AAAA first does not wait for a timeout). Always a few dozen bytes: no limit
 * to check. */
static void send_local(const struct peer *p, ldns_pkt *q, ldns_rr *question, const struct name *n)
{
	ldns_pkt *a = answer_new(q, question);

	if (!a)
		return;
	ldns_pkt_set_aa(a, true);
	/* every container that has the name (an alias several share, as docker allows: each of
	 * their addresses, once), A or AAAA as asked; n is the first in the table */
	ldns_rr_type type = ldns_rr_get_type(question);
	int family = type == LDNS_RR_TYPE_A ? AF_INET : type == LDNS_RR_TYPE_AAAA ? AF_INET6 : 0;
	size_t len = family == AF_INET6 ? 16 : 4;
	for (size_t i = (size_t)(n - g.names); family && i < g.n_names; i++) {
		bool seen = false;
		if (g.names[i].family != family || strcasecmp(g.names[i].name, n->name) != 0)
			continue;
		for (size_t j = (size_t)(n - g.names); j < i && !seen; j++)
			seen = g.names[j].family == family && strcasecmp(g.names[j].name, n->name) == 0 &&
			       memcmp(g.names[j].addr, g.names[i].addr, len) == 0;
		if (seen)
			continue;
		ldns_rr *rr = ldns_rr_new();
		ldns_rr_set_owner(rr, ldns_rdf_clone(ldns_rr_owner(question)));
		ldns_rr_set_type(rr, type);
		ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
		/* no caching: a restarted container has another address */
		ldns_rr_set_ttl(rr, 0);
		ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(family == AF_INET6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, len,
							  g.names[i].addr));
		ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
	}
	answer_send(p, a);
}

/* An answer too big for the client's datagram, cut as RFC 1035 4.2.1 and RFC 6891 7 say: the
 * header with TC set, the question, the OPT record (the client learns our size), no records.
 * Header alone when the upstream's bytes do not parse. */
static void send_truncated(const struct peer *p, uint8_t *buf, size_t n)
{
	ldns_pkt *a = NULL;

	if (ldns_wire2pkt(&a, buf, n) != LDNS_STATUS_OK) {
		buf[2] |= 0x02;
		memset(buf + 4, 0, 8);
		return reply(p, buf, 12);
	}
	ldns_rr_list_deep_free(ldns_pkt_answer(a));
	ldns_pkt_set_answer(a, ldns_rr_list_new());
	ldns_pkt_set_ancount(a, 0);
	ldns_rr_list_deep_free(ldns_pkt_authority(a));
	ldns_pkt_set_authority(a, ldns_rr_list_new());
	ldns_pkt_set_nscount(a, 0);
	ldns_rr_list_deep_free(ldns_pkt_additional(a));
	ldns_pkt_set_additional(a, ldns_rr_list_new());
	ldns_pkt_set_arcount(a, 0);
	ldns_pkt_set_tc(a, true);
	answer_send(p, a);
}

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

static void forward_fail(int fd, struct forward *f)
{
	struct peer p = {.udp = fd, .addr = f->client};

	send_code(&p, f->query, f->len, LDNS_RCODE_SERVFAIL);
	forward_free(f);
}

/* A UDP query for the upstream: as the client sent it, unless its EDNS payload size is over our
 * cap, which the upstream is told instead (so that it cuts, not we). */
static void forward_udp(const struct peer *p, ldns_pkt *q, const uint8_t *query, size_t len)
{
	struct forward *f = NULL;
	uint8_t *wire = NULL;

	if (ldns_pkt_edns(q) && ldns_pkt_edns_udp_size(q) > UDP_PAYLOAD_CAP) {
		size_t wire_len = 0;
		ldns_pkt_set_edns_udp_size(q, UDP_PAYLOAD_CAP);
		if (ldns_pkt2wire(&wire, q, &wire_len) != LDNS_STATUS_OK) {
			free(wire);
			return send_code(p, query, len, LDNS_RCODE_SERVFAIL);
		}
		query = wire;
		len = wire_len;
	}
	if (len > sizeof(f->query))
		goto fail;
	for (size_t i = 0; i < MAX_FORWARDS && !f; i++)
		if (g.fwd[i].fd < 0)
			f = &g.fwd[i];
	/* all slots waiting: refuse now rather than queue (bounded memory and work) */
	if (!f)
		goto fail;
	f->client = p->addr;
	f->limit = p->limit;
	memcpy(f->query, query, len);
	f->len = len;
	f->upstream = 0;
	if (forward_send(f) < 0) {
		forward_free(f);
		goto fail;
	}
	free(wire);
	return;
fail:
	send_code(p, query, len, LDNS_RCODE_SERVFAIL);
	free(wire);
}

/* An upstream's answer: relayed as is if it answers the query (same id), cut if bigger than
 * the client takes. */
static void forward_answer(int fd, struct forward *f)
{
	uint8_t buf[65536];
	ssize_t n = recv(f->fd, buf, sizeof(buf), 0);
	struct peer p = {.udp = fd, .addr = f->client};

	if (n < 0) {
		/* ICMP unreachable: try the next one */
		if (errno == EAGAIN)
			return;
		f->upstream++;
		if (forward_send(f) < 0)
			forward_fail(fd, f);
		return;
	}
	if (n < 12 || memcmp(buf, f->query, 2) != 0)
		return;
	if ((size_t)n > f->limit)
		send_truncated(&p, buf, (size_t)n);
	else
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
		if (forward_send(f) < 0)
			forward_fail(fd, f);
	}
}

/* ---- forwarding over TCP, for a TCP client ---- */

/* Connect to connection c's next upstream (c->upstream on); SERVFAIL when none is left. */
static void upstream_tcp_start(struct conn *c)
{
	if (c->up_fd >= 0)
		close(c->up_fd);
	c->up_fd = -1;
	for (; c->upstream < g.n_upstreams; c->upstream++) {
		const struct sockaddr *up = (const struct sockaddr *)&g.upstreams[c->upstream];
		int fd = socket(up->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, up, g.upstream_len[c->upstream]) < 0 && errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		c->up_fd = fd;
		c->up_sent = c->up_hdr_len = 0;
		c->state = C_UPSTREAM;
		c->deadline_ms = now_ms() + FORWARD_TIMEOUT_MS;
		return;
	}
	struct peer p = {.udp = -1, .conn = c};
	send_code(&p, c->in + 2, c->in_len - 2, LDNS_RCODE_SERVFAIL);
}

static void upstream_tcp_next(struct conn *c)
{
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->upstream++;
	upstream_tcp_start(c);
}

/* The upstream connection is ready (revents): send the query, then read the answer. */
static void upstream_tcp_io(struct conn *c, short revents)
{
	ssize_t n;

	if (c->up_sent < c->in_len) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(c->up_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
			return upstream_tcp_next(c);
		n = send(c->up_fd, c->in + c->up_sent, c->in_len - c->up_sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			return upstream_tcp_next(c);
		c->up_sent += (size_t)n;
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (c->up_hdr_len < 2) {
		n = recv(c->up_fd, c->up_hdr + c->up_hdr_len, 2 - c->up_hdr_len, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			return upstream_tcp_next(c);
		c->up_hdr_len += (size_t)n;
		if (c->up_hdr_len < 2)
			return;
		size_t len = (size_t)c->up_hdr[0] << 8 | c->up_hdr[1];
		if (len < 12)
			return upstream_tcp_next(c);
		/* bounded: at most MAX_TCP such buffers, 64 KiB each */
		c->out = malloc(2 + len);
		if (!c->out)
			return upstream_tcp_next(c);
		memcpy(c->out, c->up_hdr, 2);
		c->out_len = 2 + len;
		c->out_off = 2;
	}
	n = recv(c->up_fd, c->out + c->out_off, c->out_len - c->out_off, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0)
		return upstream_tcp_next(c);
	c->out_off += (size_t)n;
	if (c->out_off < c->out_len)
		return;
	if (memcmp(c->out + 2, c->in + 2, 2) != 0)
		return upstream_tcp_next(c);
	/* the whole answer: over TCP no cut, relayed as is */
	close(c->up_fd);
	c->up_fd = -1;
	c->out_off = 0;
	c->state = C_WRITE;
	c->deadline_ms = now_ms() + TCP_TIMEOUT_MS;
	conn_write(c);
}

/* ---- queries ---- */

/* Query buf (n bytes) from peer p: answered from the names of the network, or forwarded. */
static void answer_query(const struct peer *p, uint8_t *buf, size_t n)
{
	ldns_pkt *q = NULL;
	ldns_rr *question;
	char *owner;
	const struct name *hit = NULL;

	if (n < 12 || (buf[2] & 0x80))
		return;   /* not a query: an answer looping back is never answered */
	if (ldns_wire2pkt(&q, buf, n) != LDNS_STATUS_OK)
		return send_code(p, buf, n, LDNS_RCODE_FORMERR);
	if (ldns_pkt_get_opcode(q) != LDNS_PACKET_QUERY || ldns_pkt_qdcount(q) != 1) {
		send_code(p, buf, n, LDNS_RCODE_NOTIMPL);
		ldns_pkt_free(q);
		return;
	}
	question = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	if (ldns_pkt_edns(q) && ldns_pkt_edns_version(q) > 0) {
		/* RFC 6891 6.1.3: only version 0 exists; BADVERS (16) is extended rcode 1, rcode 0 */
		ldns_pkt *a = answer_new(q, question);
		if (a) {
			ldns_pkt_set_edns_extended_rcode(a, 1);
			answer_send(p, a);
		}
		ldns_pkt_free(q);
		return;
	}
	struct peer to = *p;
	if (!to.conn) {
		/* RFC 6891 6.2.5: below 512 is taken as 512 */
		uint16_t size = ldns_pkt_edns(q) ? ldns_pkt_edns_udp_size(q) : 512;
		to.limit = size < 512 ? 512 : size > UDP_PAYLOAD_CAP ? UDP_PAYLOAD_CAP : size;
	}
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
		send_local(&to, q, question, hit);
	else if (to.conn) {
		to.conn->upstream = 0;
		upstream_tcp_start(to.conn);
	} else
		forward_udp(&to, q, buf, n);
	free(owner);
	ldns_pkt_free(q);
}

static bool from_network(const struct sockaddr_in *from)
{
	return from->sin_family == AF_INET && (ntohl(from->sin_addr.s_addr) & g.mask) == g.subnet;
}

static void handle_query(int fd)
{
	uint8_t buf[4096];
	struct peer p = {.udp = fd};
	socklen_t fromlen = sizeof(p.addr);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&p.addr, &fromlen);

	if (n < 0)
		return;
	/* the network's side only: the gateway is bound, but the host could send to it too */
	if (!from_network(&p.addr))
		return;
	answer_query(&p, buf, (size_t)n);
}

/* ---- TCP clients ---- */

/* New connections: a free slot each, else closed at once (the bound on TCP work). A few per
 * turn, so that a connection flood leaves the loop to the rest. */
static void tcp_accept(int lfd)
{
	for (int i = 0; i < MAX_TCP; i++) {
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		struct conn *c = NULL;
		int fd = accept4(lfd, (struct sockaddr *)&from, &fromlen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		for (size_t j = 0; j < MAX_TCP && !c; j++)
			if (g.conns[j].state == C_FREE)
				c = &g.conns[j];
		if (!c || fromlen != sizeof(from) || !from_network(&from)) {
			close(fd);
			continue;
		}
		*c = (struct conn){.fd = fd, .up_fd = -1};
		conn_next(c);
	}
}

static void conn_read(struct conn *c)
{
	for (;;) {
		size_t want = c->in_len < 2 ? 2 - c->in_len
					    : 2 + ((size_t)c->in[0] << 8 | c->in[1]) - c->in_len;
		if (!want)
			break;
		ssize_t n = recv(c->fd, c->in + c->in_len, want, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			return conn_close(c);
		c->in_len += (size_t)n;
		if (c->in_len == 2) {
			size_t len = (size_t)c->in[0] << 8 | c->in[1];
			if (len < 12 || len > MAX_TCP_QUERY)
				return conn_close(c);
		}
	}
	struct peer p = {.udp = -1, .conn = c};
	answer_query(&p, c->in + 2, c->in_len - 2);
	/* nothing to say (not a query): the connection is not one of a DNS client */
	if (c->state == C_READ && c->in_len)
		conn_close(c);
}

static void conn_expire(void)
{
	long long now = now_ms();

	for (size_t i = 0; i < MAX_TCP; i++) {
		struct conn *c = &g.conns[i];
		if (c->state == C_FREE || c->deadline_ms > now)
			continue;
		if (c->state == C_UPSTREAM)
			upstream_tcp_next(c);
		else
			conn_close(c);
	}
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
	int c, fd, tcp, in, one = 1;

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
	for (size_t i = 0; i < MAX_TCP; i++)
		g.conns[i] = (struct conn){.state = C_FREE, .fd = -1, .up_fd = -1};
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
	/* SO_REUSEADDR as well: connections of a previous responder in TIME_WAIT hold the port */
	tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tcp < 0 || setsockopt(tcp, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(tcp, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(tcp, MAX_TCP) < 0) {
		snprintf(msg, sizeof(msg), "husk-dns: listen on %s:53/tcp: %s\n", gateway, strerror(errno));
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
	logmsg("listening on %s:53 (udp, tcp), %u upstream resolver(s)", gateway, g.n_upstreams);
	ready("ok\n");

	long long next_check = now_ms() + CHECK_MS;
	for (;;) {
		enum { FIXED = 3 };
		struct pollfd p[FIXED + MAX_FORWARDS + MAX_TCP];
		struct forward *owner[FIXED + MAX_FORWARDS + MAX_TCP];
		struct conn *conn_of[FIXED + MAX_FORWARDS + MAX_TCP];
		nfds_t np = 0;
		long long now = now_ms(), wait = next_check - now;

		p[np] = (struct pollfd){.fd = fd, .events = POLLIN};
		owner[np] = NULL;
		conn_of[np++] = NULL;
		p[np] = (struct pollfd){.fd = in, .events = POLLIN};
		owner[np] = NULL;
		conn_of[np++] = NULL;
		p[np] = (struct pollfd){.fd = tcp, .events = POLLIN};
		owner[np] = NULL;
		conn_of[np++] = NULL;
		for (size_t i = 0; i < MAX_FORWARDS; i++) {
			if (g.fwd[i].fd < 0)
				continue;
			if (g.fwd[i].deadline_ms - now < wait)
				wait = g.fwd[i].deadline_ms - now;
			p[np] = (struct pollfd){.fd = g.fwd[i].fd, .events = POLLIN};
			conn_of[np] = NULL;
			owner[np++] = &g.fwd[i];
		}
		/* one fd each: the client while reading or writing, the upstream while it is asked */
		for (size_t i = 0; i < MAX_TCP; i++) {
			struct conn *c = &g.conns[i];
			if (c->state == C_FREE)
				continue;
			if (c->deadline_ms - now < wait)
				wait = c->deadline_ms - now;
			if (c->state == C_READ)
				p[np] = (struct pollfd){.fd = c->fd, .events = POLLIN};
			else if (c->state == C_WRITE)
				p[np] = (struct pollfd){.fd = c->fd, .events = POLLOUT};
			else
				p[np] = (struct pollfd){.fd = c->up_fd, .events = c->up_sent < c->in_len ? POLLOUT : POLLIN};
			owner[np] = NULL;
			conn_of[np++] = c;
		}
		if (wait < 0)
			wait = 0;
		if (poll(p, np, (int)wait) < 0 && errno != EINTR) {
			logmsg("poll: %s", strerror(errno));
			return 1;
		}
		for (nfds_t i = FIXED; i < np; i++) {
			struct conn *c = conn_of[i];
			if (!p[i].revents)
				continue;
			if (owner[i] && owner[i]->fd == p[i].fd)
				forward_answer(fd, owner[i]);
			else if (c && c->state == C_READ && c->fd == p[i].fd)
				conn_read(c);
			else if (c && c->state == C_WRITE && c->fd == p[i].fd)
				conn_write(c);
			else if (c && c->state == C_UPSTREAM && c->up_fd == p[i].fd)
				upstream_tcp_io(c, p[i].revents);
		}
		/* one query per turn: upstream answers and the lease file get their turn in a flood */
		if (p[0].revents & POLLIN)
			handle_query(fd);
		if (p[2].revents & POLLIN)
			tcp_accept(tcp);
		forward_expire(fd);
		conn_expire();
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
