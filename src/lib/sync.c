#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

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

static int send_msg(int fd, uint32_t type, int32_t value, int32_t errnum, const char *text, size_t len,
		    struct husk_err *err)
{
	struct wire_header h = {.type = type, .value = value, .errnum = errnum};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)text, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = text ? 2 : 1};
	size_t total = sizeof(h) + len;
	ssize_t n;

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

static ssize_t recv_retrying(int fd, void *buf, size_t len, int flags)
{
	ssize_t n;

	do
		n = recv(fd, buf, len, flags);
	while (n < 0 && errno == EINTR);
	return n;
}

int husk_sync_recv(int fd, struct husk_sync_msg *msg, struct husk_err *err)
{
	struct wire_header h;
	_cleanup_free_ char *buf = NULL;
	ssize_t size, n;

	memset(msg, 0, sizeof(*msg));
	/* the datagram's full length, without taking it: MSG_TRUNC makes recv report it */
	size = recv_retrying(fd, &h, sizeof(h), MSG_PEEK | MSG_TRUNC);
	if (size < 0)
		return husk_err_sys(err, "receive sync message");
	if (size == 0)
		return husk_err_set(err, EPIPE, "the other side of the sync socket is gone");
	if (size > (ssize_t)(sizeof(h) + HUSK_SYNC_TEXT_MAX)) {
		/* taken off the socket all the same, so the next message is not this one again */
		recv_retrying(fd, &h, sizeof(h), MSG_TRUNC);
		return husk_err_set(err, 0, "a sync message of %zd bytes is over husk's limit of %u bytes", size,
				    HUSK_SYNC_TEXT_MAX);
	}
	buf = malloc((size_t)size + 1);
	if (!buf)
		return husk_err_sys(err, "receive sync message of %zd bytes", size);
	n = recv_retrying(fd, buf, (size_t)size, 0);
	if (n < 0)
		return husk_err_sys(err, "receive sync message");
	if (n == 0)
		return husk_err_set(err, EPIPE, "the other side of the sync socket is gone");
	if (n < (ssize_t)sizeof(h))
		return husk_err_set(err, EPROTO, "short sync message (%zd bytes)", n);
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

int husk_sync_expect(int fd, enum husk_sync_type type, struct husk_sync_msg *msg, struct husk_err *err)
{
	if (husk_sync_recv(fd, msg, err) < 0)
		return -1;
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

void husk_sync_msg_free(struct husk_sync_msg *msg)
{
	free(msg->text);
	msg->text = NULL;
}
