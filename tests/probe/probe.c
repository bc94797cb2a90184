/* husk-probe: run inside a container by the tests to report what busybox cannot show. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_SESSION_KEYRING -3

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "session-keyring") == 0) {
		long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
		if (id < 0) {
			perror("keyctl");
			return 1;
		}
		printf("%ld\n", id);
		return 0;
	}
	fprintf(stderr, "usage: husk-probe session-keyring\n");
	return 2;
}
