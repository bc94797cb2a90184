/* Passing an open file over a unix socket (SCM_RIGHTS). */
#ifndef HUSK_FDPASS_H
#define HUSK_FDPASS_H

#include "error.h"

/* Send fd with name as the message's data (all of it, also on a stream socket). */
int husk_send_fd(int sock, int fd, const char *name, struct husk_err *err);
/* Receive one fd sent with SCM_RIGHTS; the data is dropped. */
int husk_recv_fd(int sock, struct husk_err *err);

#endif
