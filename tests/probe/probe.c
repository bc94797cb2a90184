/* husk-probe: run inside a container by the tests to report what busybox cannot show. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_SESSION_KEYRING -3

/* Listen on path, take one terminal master fd over SCM_RIGHTS (as conmon and containerd's
 * shim do), report the name that came with it and the window size, then copy what the
 * container writes to stdout until it hangs up. */
static int console_receiver(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char name[256] = "", cbuf[CMSG_SPACE(sizeof(int))], buf[4096];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cmsg;
	struct winsize ws;
	int lfd, cfd, master;
	ssize_t n;

	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1) < 0) {
		perror("console socket");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0 || recvmsg(cfd, &msg, 0) < 0) {
		perror("receive");
		return 1;
	}
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "no fd received\n");
		return 1;
	}
	memcpy(&master, CMSG_DATA(cmsg), sizeof(int));
	if (ioctl(master, TIOCGWINSZ, &ws) == 0)
		printf("received %s size %ux%u\n", name, ws.ws_col, ws.ws_row);
	fflush(stdout);
	while ((n = read(master, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "console-receiver") == 0)
		return console_receiver(argv[2]);
	if (argc == 2 && strcmp(argv[1], "session-keyring") == 0) {
		long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
		if (id < 0) {
			perror("keyctl");
			return 1;
		}
		printf("%ld\n", id);
		return 0;
	}
	fprintf(stderr, "usage: husk-probe session-keyring | console-receiver SOCKET\n");
	return 2;
}
