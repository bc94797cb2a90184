/* Messages between husk and the container's init over a SOCK_SEQPACKET pair: one message a
 * datagram, so an error from the child side arrives whole, with its errno. A message is a
 * fixed header and, for some types, a text of any length up to HUSK_SYNC_TEXT_MAX: the
 * receiver learns the datagram's size before reading it (MSG_PEEK | MSG_TRUNC). */
#ifndef HUSK_SYNC_H
#define HUSK_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The largest text a message may carry. The state JSON (with config.json's annotations) is the
 * largest thing sent; a megabyte is far past any real one, and each side refuses more with a
 * clear error rather than allocate what a broken peer claims. */
#define HUSK_SYNC_TEXT_MAX (1u << 20)

enum husk_sync_type {
	HUSK_SYNC_MAPPED = 1, /* husk -> init: uid/gid maps written, go on */
	HUSK_SYNC_PID,        /* spawner -> husk: the init's pid (value) */
	HUSK_SYNC_READY,      /* init -> husk: set up, waiting for start */
	HUSK_SYNC_ERROR,      /* init -> husk: failed; errnum and text say why */
	HUSK_SYNC_START,      /* husk -> init: exec now (husk oci run) */
	HUSK_SYNC_STATE,      /* husk -> init: the state for the seccomp listener or hooks (text) */
	HUSK_SYNC_HOOKS,      /* init -> husk: namespaces made, run prestart/createRuntime now */
};

struct husk_sync_msg {
	uint32_t type;
	int32_t value;
	int32_t errnum;
	char *text;           /* malloc'ed and NUL-terminated; NULL when the message has none */
};

int husk_sync_send(int fd, enum husk_sync_type type, int32_t value, struct husk_err *err);
int husk_sync_send_error(int fd, const struct husk_err *failure);
/* A message with text, of at most HUSK_SYNC_TEXT_MAX bytes. */
int husk_sync_send_text(int fd, enum husk_sync_type type, const char *text, struct husk_err *err);
/* A message with n (at most HUSK_SYNC_MAX_FDS) file descriptors attached (SCM_RIGHTS). */
#define HUSK_SYNC_MAX_FDS 4
int husk_sync_send_fds(int fd, enum husk_sync_type type, const int *fds, size_t n, struct husk_err *err);
/* Receive a message of the given type carrying exactly n fds (O_CLOEXEC), into fds. */
int husk_sync_expect_fds(int fd, enum husk_sync_type type, struct husk_sync_msg *msg, int *fds, size_t n,
			 struct husk_err *err);
/* Receive one message; EOF (the peer died or closed) is an error with errnum EPIPE. On success
 * msg->text is the caller's to free (husk_sync_msg_free). */
int husk_sync_recv(int fd, struct husk_sync_msg *msg, struct husk_err *err);
/* Receive a message of the given type; an ERROR message becomes *err. Only a message returned
 * with success keeps its text. */
int husk_sync_expect(int fd, enum husk_sync_type type, struct husk_sync_msg *msg, struct husk_err *err);
void husk_sync_msg_free(struct husk_sync_msg *msg);

#define _cleanup_sync_msg_ __attribute__((cleanup(husk_sync_msg_free)))

#endif
