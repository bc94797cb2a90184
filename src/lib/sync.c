#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

/* What travels in front of the text; the text's length is the rest of the datagram. */
struct wire_header {
	uint32_t type;
	int32_t value;
	int32_t errnum;
};

static ssize_t send_retrying(int fd, const struct msghdr *mh)
{
	ssize_t n;

	do
		n = sendmsg(fd, mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n;
}

static int send_msg_fds(int fd, uint32_t type, int32_t value, int32_t errnum, const char *text, size_t len,
			const int *fds, size_t n_fds, struct husk_err *err)
{
	struct wire_header h = {.type = type, .value = value, .errnum = errnum};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)text, len}};
	char cbuf[CMSG_SPACE(sizeof(int) * HUSK_SYNC_MAX_FDS)] = {0};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = text ? 2 : 1};
	size_t total = sizeof(h) + len;
	ssize_t n;

	if (n_fds > HUSK_SYNC_MAX_FDS)
		return husk_err_set(err, EINVAL, "sync message %u with %zu fds", type, n_fds);
	if (n_fds) {
		struct cmsghdr *cmsg;
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
	}

	if (len > HUSK_SYNC_TEXT_MAX)
		return husk_err_set(err, 0, "a sync message of %zu bytes is over husk's limit of %u bytes", len,
				    HUSK_SYNC_TEXT_MAX);
	n = send_retrying(fd, &mh);
	if (n < 0 && errno == EMSGSIZE) {
		/* a datagram must fit the sender's buffer whole (about 200 KiB by default): grow it
		 * for this one. SO_SNDBUFFORCE passes net.core.wmem_max where husk may; the kernel
		 * doubles the value for its bookkeeping */
		int size = (int)total + 4096;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
			return husk_err_sys(err, "sync message %u of %zu bytes: grow the socket's send buffer", type, len);
		n = send_retrying(fd, &mh);
	}
	if (n < 0)
		return husk_err_sys(err, "send sync message %u (%zu bytes)", type, len);
	if ((size_t)n != total)
		return husk_err_set(err, EPROTO, "sync message %u: sent %zd of %zu bytes", type, n, total);
	return 0;
}

static int send_msg(int fd, uint32_t type, int32_t value, int32_t errnum, const char *text, size_t len,
		    struct husk_err *err)
{
	return send_msg_fds(fd, type, value, errnum, text, len, NULL, 0, err);
}

int husk_sync_send_fds(int fd, enum husk_sync_type type, const int *fds, size_t n, struct husk_err *err)
{
	return send_msg_fds(fd, type, 0, 0, NULL, 0, fds, n, err);
}

int husk_sync_send(int fd, enum husk_sync_type type, int32_t value, struct husk_err *err)
{
	return send_msg(fd, type, value, 0, NULL, 0, err);
}

int husk_sync_send_error(int fd, const struct husk_err *failure)
{
	return send_msg(fd, HUSK_SYNC_ERROR, 0, failure->errnum, failure->msg, strnlen(failure->msg, sizeof(failure->msg)),
			NULL);
}

int husk_sync_send_text(int fd, enum husk_sync_type type, const char *text, struct husk_err *err)
{
	return send_msg(fd, type, 0, 0, text, strlen(text), err);
}

static ssize_t recv_retrying(int fd, struct msghdr *mh, int flags)
{
	ssize_t n;

	do
		n = recvmsg(fd, mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	return n;
}

/* One message, and the fds that came with it (at most max_fds kept in fds, *n_fds of them;
 * any others closed). */
static int recv_msg(int fd, struct husk_sync_msg *msg, int *fds, size_t max_fds, size_t *n_fds, struct husk_err *err)
{
	struct wire_header h;
	_cleanup_free_ char *buf = NULL;
	char cbuf[CMSG_SPACE(sizeof(int) * HUSK_SYNC_MAX_FDS)];
	struct iovec iov = {&h, sizeof(h)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t size, n;

	memset(msg, 0, sizeof(*msg));
	*n_fds = 0;
	/* the datagram's full length, without taking it: MSG_TRUNC makes recv report it */
	size = recv_retrying(fd, &mh, MSG_PEEK | MSG_TRUNC);
	if (size < 0)
		return husk_err_sys(err, "receive sync message");
	if (size == 0)
		return husk_err_set(err, EPIPE, "the other side of the sync socket is gone");
	if (size > (ssize_t)(sizeof(h) + HUSK_SYNC_TEXT_MAX)) {
		/* taken off the socket all the same, so the next message is not this one again */
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		recv_retrying(fd, &mh, MSG_TRUNC);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
					int one;
					memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
					close(one);
				}
		return husk_err_set(err, 0, "a sync message of %zd bytes is over husk's limit of %u bytes", size,
				    HUSK_SYNC_TEXT_MAX);
	}
	buf = malloc((size_t)size + 1);
	if (!buf)
		return husk_err_sys(err, "receive sync message of %zd bytes", size);
	iov = (struct iovec){buf, (size_t)size};
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = recv_retrying(fd, &mh, 0);
	if (n < 0)
		return husk_err_sys(err, "receive sync message");
	if (n == 0)
		return husk_err_set(err, EPIPE, "the other side of the sync socket is gone");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int one;
			memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*n_fds < max_fds)
				fds[(*n_fds)++] = one;
			else
				close(one);
		}
	}
	if (n < (ssize_t)sizeof(h)) {
		while (*n_fds > 0)
			close(fds[--*n_fds]);
		return husk_err_set(err, EPROTO, "short sync message (%zd bytes)", n);
	}
	memcpy(&h, buf, sizeof(h));
	msg->type = h.type;
	msg->value = h.value;
	msg->errnum = h.errnum;
	if (n > (ssize_t)sizeof(h)) {
		size_t len = (size_t)n - sizeof(h);
		/* the text in place, moved to the front: one allocation for any size */
		memmove(buf, buf + sizeof(h), len);
		buf[len] = '\0';
		msg->text = steal_pointer(&buf);
	}
	return 0;
}

int husk_sync_recv(int fd, struct husk_sync_msg *msg, struct husk_err *err)
{
	size_t none;

	return recv_msg(fd, msg, NULL, 0, &none, err);
}

/* an ERROR message, or one of another type, as the error it is */
static int check_type(struct husk_sync_msg *msg, enum husk_sync_type type, struct husk_err *err)
{
	if (msg->type == HUSK_SYNC_ERROR) {
		husk_err_set(err, msg->errnum, "%s", msg->text ? msg->text : "the other side failed without a word");
		husk_sync_msg_free(msg);
		return -1;
	}
	if (msg->type != type) {
		husk_err_set(err, EPROTO, "unexpected sync message %u (wanted %d)", msg->type, (int)type);
		husk_sync_msg_free(msg);
		return -1;
	}
	return 0;
}

int husk_sync_expect_fds(int fd, enum husk_sync_type type, struct husk_sync_msg *msg, int *fds, size_t n,
			 struct husk_err *err)
{
	size_t got;

	if (recv_msg(fd, msg, fds, n, &got, err) < 0)
		return -1;
	if (check_type(msg, type, err) < 0 || got != n) {
		if (got != n)
			husk_err_set(err, EPROTO, "sync message %d came with %zu fds, not %zu", (int)type, got, n);
		while (got > 0)
			close(fds[--got]);
		husk_sync_msg_free(msg);
		return -1;
	}
	return 0;
}

int husk_sync_expect(int fd, enum husk_sync_type type, struct husk_sync_msg *msg, struct husk_err *err)
{
	if (husk_sync_recv(fd, msg, err) < 0)
		return -1;
	return check_type(msg, type, err);
}

void husk_sync_msg_free(struct husk_sync_msg *msg)
{
	free(msg->text);
	msg->text = NULL;
}
