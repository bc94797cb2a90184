#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int send_msg(int fd, const struct husk_sync_msg *msg)
{
	ssize_t n;

	do
		n = send(fd, msg, sizeof(*msg), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*msg) ? 0 : -1;
}

int husk_sync_send(int fd, enum husk_sync_type type, int32_t value, struct husk_err *err)
{
	struct husk_sync_msg msg = {.type = type, .value = value};

	if (send_msg(fd, &msg) < 0)
		return husk_err_sys(err, "send sync message %d", (int)type);
	return 0;
}

int husk_sync_send_error(int fd, const struct husk_err *failure)
{
	struct husk_sync_msg msg = {.type = HUSK_SYNC_ERROR, .errnum = failure->errnum};

	memcpy(msg.text, failure->msg, sizeof(msg.text));
	msg.text[sizeof(msg.text) - 1] = '\0';
	return send_msg(fd, &msg);
}

int husk_sync_send_text(int fd, enum husk_sync_type type, const char *text, struct husk_err *err)
{
	struct husk_sync_msg msg = {.type = type};

	if (strlen(text) >= sizeof(msg.text))
		return husk_err_set(err, E2BIG, "sync message of %zu bytes", strlen(text));
	strcpy(msg.text, text);
	if (send_msg(fd, &msg) < 0)
		return husk_err_sys(err, "send sync message %d", (int)type);
	return 0;
}

int husk_sync_recv(int fd, struct husk_sync_msg *msg, struct husk_err *err)
{
	ssize_t n;

	do
		n = recv(fd, msg, sizeof(*msg), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return husk_err_sys(err, "receive sync message");
	if (n == 0)
		return husk_err_set(err, EPIPE, "the other side of the sync socket is gone");
	if (n != (ssize_t)sizeof(*msg))
		return husk_err_set(err, EPROTO, "short sync message (%zd bytes)", n);
	msg->text[sizeof(msg->text) - 1] = '\0';
	return 0;
}

int husk_sync_expect(int fd, enum husk_sync_type type, struct husk_sync_msg *msg, struct husk_err *err)
{
	if (husk_sync_recv(fd, msg, err) < 0)
		return -1;
	if (msg->type == HUSK_SYNC_ERROR)
		return husk_err_set(err, msg->errnum, "%s", msg->text);
	if (msg->type != type)
		return husk_err_set(err, EPROTO, "unexpected sync message %u (wanted %d)", msg->type, (int)type);
	return 0;
}

int husk_sync_send_fds(int fd, enum husk_sync_type type, const int *fds, size_t n, struct husk_err *err)
{
	struct husk_sync_msg msg = {.type = type};
	char cbuf[CMSG_SPACE(sizeof(int) * HUSK_SYNC_MAX_FDS)] = {0};
	struct iovec iov = {.iov_base = &msg, .iov_len = sizeof(msg)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
	ssize_t sent;

	if (n == 0 || n > HUSK_SYNC_MAX_FDS)
		return husk_err_set(err, EINVAL, "sync message %d with %zu fds", (int)type, n);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n);
	do
		sent = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	if (sent != (ssize_t)sizeof(msg))
		return husk_err_sys(err, "send sync message %d", (int)type);
	return 0;
}

int husk_sync_expect_fds(int fd, enum husk_sync_type type, struct husk_sync_msg *msg, int *fds, size_t n,
			 struct husk_err *err)
{
	char cbuf[CMSG_SPACE(sizeof(int) * HUSK_SYNC_MAX_FDS)];
	struct iovec iov = {.iov_base = msg, .iov_len = sizeof(*msg)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	size_t got = 0;
	ssize_t r;

	do
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return husk_err_sys(err, "receive sync message");
	if (r == 0)
		return husk_err_set(err, EPIPE, "the other side of the sync socket is gone");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int one;
			memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < n)
				fds[got++] = one;
			else
				close(one);
		}
	}
	if (r != (ssize_t)sizeof(*msg)) {
		while (got > 0)
			close(fds[--got]);
		return husk_err_set(err, EPROTO, "short sync message (%zd bytes)", r);
	}
	msg->text[sizeof(msg->text) - 1] = '\0';
	if (msg->type == HUSK_SYNC_ERROR || msg->type != type || got != n) {
		while (got > 0)
			close(fds[--got]);
		if (msg->type == HUSK_SYNC_ERROR)
			return husk_err_set(err, msg->errnum, "%s", msg->text);
		if (msg->type != type)
			return husk_err_set(err, EPROTO, "unexpected sync message %u (wanted %d)", msg->type, (int)type);
		return husk_err_set(err, EPROTO, "sync message %d came with %zu fds, not %zu", (int)type, got, n);
	}
	return 0;
}
