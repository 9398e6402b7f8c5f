/* The socket flooder (flood.h). */
#include "flood.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"

#define FLOOD_MAX 1000

static int
flood_connect(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
flood_child(const char *sock, int nconn, int byte_every_ms, int reconnect, int ready)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fds[FLOOD_MAX];
	int64_t next_byte = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	for (int i = 0; i < nconn; i++) {
		/* a full backlog (EAGAIN): give the agent a moment to take (or refuse) the others */
		for (int tries = 0; (fds[i] = flood_connect(&sa)) < 0 && errno == EAGAIN && tries < 50; tries++)
			dpk_test_sleep_ms(2);
	}
	(void)!write(ready, "x", 1);
	close(ready);
	for (;;) {
		int64_t now = dpk_test_now_ms();
		int byte = now >= next_byte;

		for (int i = 0; i < nconn; i++) {
			char b;

			if (fds[i] >= 0 && recv(fds[i], &b, 1, MSG_DONTWAIT) == 0) {
				close(fds[i]); /* closed by the agent */
				fds[i] = -1;
			}
			if (fds[i] >= 0 && byte && send(fds[i], "", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
				close(fds[i]);
				fds[i] = -1;
			}
			if (fds[i] < 0 && reconnect)
				fds[i] = flood_connect(&sa);
		}
		if (byte)
			next_byte = now + byte_every_ms;
		dpk_test_sleep_ms(reconnect ? 20 : 200);
	}
}

pid_t
dpk_test_flood(const char *sock, uid_t uid, int nconn, int byte_every_ms, int reconnect)
{
	int ready[2];
	char c;
	pid_t pid = -1;

	if (nconn > FLOOD_MAX)
		nconn = FLOOD_MAX;
	if (pipe(ready) != 0 || (pid = fork()) < 0)
		fail_msg("flood: cannot fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		if (setgid(uid) != 0 || setuid(uid) != 0)
			_exit(3);
		flood_child(sock, nconn, byte_every_ms, reconnect, ready[1]);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		fail_msg("flood: the child could not become uid %ld", (long)uid);
	close(ready[0]);
	return pid;
}
