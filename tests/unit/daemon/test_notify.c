/* lib/daemon/notify.c: what systemd receives on $NOTIFY_SOCKET (a datagram
 * socket of the test's own), and that nothing is sent without it or in a
 * build without libsystemd. */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/notify.h"
#include "harness.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char sock_path[108];
static int sock_fd = -1;

/* The next datagram within timeout_ms, or "" if none came. */
static const char *
received(int timeout_ms)
{
	static char msg[512];
	struct pollfd p = {.fd = sock_fd, .events = POLLIN};
	ssize_t n;

	msg[0] = '\0';
	if (poll(&p, 1, timeout_ms) == 1 && (n = recv(sock_fd, msg, sizeof(msg) - 1, 0)) >= 0)
		msg[n] = '\0';
	return msg;
}

static int
setup(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *tmp = getenv("TMPDIR");

	snprintf(sock_path, sizeof(sock_path), "%s/dpk-notify-%ld.sock", tmp ? tmp : "/tmp", (long)getpid());
	unlink(sock_path);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(sock_fd >= 0);
	assert_int_equal(bind(sock_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return 0;
}

static int
teardown(void **state)
{
	close(sock_fd);
	unlink(sock_path);
	return 0;
}

static void
outside_systemd_nothing_is_sent(void **state)
{
	unsetenv("NOTIFY_SOCKET");
	dpk_notify_ready("serving");
	dpk_notify_stopping();
	assert_string_equal(received(50), "");
}

static void
ready_reload_and_stop_reach_systemd(void **state)
{
	setenv("NOTIFY_SOCKET", sock_path, 1);
	dpk_notify_ready("serving");
	assert_string_equal(received(1000), "READY=1\nSTATUS=serving");
	dpk_notify_reloading();
	assert_true(strncmp(received(1000), "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	dpk_notify_reloaded("new configuration refused: running with the previous one");
	assert_string_equal(received(1000), "READY=1\nSTATUS=new configuration refused: running with the previous one");
	dpk_notify_stopping();
	assert_string_equal(received(1000), "STOPPING=1");
	unsetenv("NOTIFY_SOCKET");
}

/* The watchdog is pinged at half its interval, not on every call. */
static void
watchdog_pings_at_half_the_interval(void **state)
{
	char pid[32];
	int due;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("NOTIFY_SOCKET", sock_path, 1);
	setenv("WATCHDOG_USEC", "400000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	due = dpk_notify_watchdog();
	assert_string_equal(received(1000), "WATCHDOG=1");
	assert_true(due > 150 && due <= 200);
	assert_true(dpk_notify_watchdog() > 0);
	assert_string_equal(received(50), ""); /* not yet due */
	usleep(250 * 1000);
	assert_true(dpk_notify_watchdog() > 150);
	assert_string_equal(received(1000), "WATCHDOG=1");
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(outside_systemd_nothing_is_sent),
		cmocka_unit_test(ready_reload_and_stop_reach_systemd),
		cmocka_unit_test(watchdog_pings_at_half_the_interval),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
