/* Passing an open file over a unix socket (SCM_RIGHTS): the pty master to a console socket,
 * the seccomp notify fd to its listener, a detached overlay mount out of a helper's mount
 * namespace. */
#define _GNU_SOURCE
#include "fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

int husk_send_fd(int sock, int fd, const char *name, struct husk_err *err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (sent < 0)
		return husk_err_sys(err, "send an fd (%.64s) over a unix socket", name);
	/* on a stream socket a large text (a seccomp listener's state) may go in parts: the fd
	 * went with the first byte, the rest follows as plain data */
	for (size_t off = (size_t)sent, len = iov.iov_len; off < len; off += (size_t)sent) {
		sent = send(sock, name + off, len - off, MSG_NOSIGNAL);
		if (sent < 0 && errno == EINTR)
			sent = 0;
		else if (sent < 0)
			return husk_err_sys(err, "send the text with an fd over a unix socket");
	}
	return 0;
}

int husk_recv_fd(int sock, struct husk_err *err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, name[128];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return husk_err_sys(err, "receive an fd over a unix socket");
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return husk_err_set(err, EPROTO, "no fd came with the message");
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}
