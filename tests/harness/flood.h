/* A local user flooding the agent's socket, for the tests and benchmarks of
 * fair shares: a child process that holds as many connections as it can and
 * keeps them alive the cheap way, one byte now and then. */
#ifndef DPK_TEST_FLOOD_H
#define DPK_TEST_FLOOD_H

#include <sys/types.h>

/* Fork a child that becomes uid (and gid uid), connects to sock nconn times
 * (at most 1000), and sends one byte on each connection every byte_every_ms.
 * With reconnect it connects again, without a pause, whenever a connection
 * is closed or could not be made; without, it keeps what it got. Returns
 * once the first nconn connects were tried; the child dies with the caller
 * (kill it with SIGKILL and reap it). Fails the test if it cannot fork. */
pid_t dpk_test_flood(const char *sock, uid_t uid, int nconn, int byte_every_ms, int reconnect);

#endif
