#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

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
