/* sd_notify wrappers (notify.h), libc only: the notification protocol is
 * one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or
 * "@" for the abstract namespace), as sd_notify(3) documents it for
 * programs that do not link libsystemd. Linking libsystemd for this pulled
 * libgcrypt, liblz4, liblzma and libcap into every daemon: about 100 kB of
 * their relocated data in each, for a dozen lines of code. */
#include "daemon/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Send msg to $NOTIFY_SOCKET; nothing when it is unset or unusable. */
static void
notify_send(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n;
	socklen_t len;
	int fd, saved = errno;

	if (path == NULL || (path[0] != '/' && path[0] != '@') || (n = strlen(path)) < 2 || n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	/* an abstract name has no terminating NUL in its length */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&sa, len);
	close(fd);
	errno = saved;
}

static void
notify_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
notify_fmt(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	notify_send(msg);
}

/* $WATCHDOG_USEC when it is meant for this process ($WATCHDOG_PID, if
 * set, is ours): 1 and *usec, else 0. */
static int
watchdog_usec(uint64_t *usec)
{
	const char *s = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return 0;
	if (pid != NULL) {
		long p = strtol(pid, &end, 10);

		if (*end != '\0' || p != (long)getpid())
			return 0;
	}
	*usec = v;
	return 1;
}

static void
send_status(const char *state, const char *status)
{
	if (status != NULL)
		notify_fmt("%s\nSTATUS=%s", state, status);
	else
		notify_send(state);
}

void
dpk_notify_ready(const char *status)
{
	send_status("READY=1", status);
}

void
dpk_notify_reloading(void)
{
	struct timespec ts;

	/* systemd >= 253 wants the time of the request with RELOADING=1 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_fmt("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u);
}

void
dpk_notify_reloaded(const char *status)
{
	send_status("READY=1", status);
}

void
dpk_notify_stopping(void)
{
	notify_send("STOPPING=1");
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
dpk_notify_watchdog(void)
{
	static int64_t interval_ms = -2, last_ms;
	uint64_t usec;
	int64_t now = mono_ms(), due;

	if (interval_ms == -2) {
		/* read once: the interval does not change while we run */
		interval_ms = watchdog_usec(&usec) > 0 ? (int64_t)(usec / 2000u) : -1;
		if (interval_ms == 0)
			interval_ms = 1;
		last_ms = now - interval_ms;
	}
	if (interval_ms < 0)
		return -1;
	if (now - last_ms >= interval_ms) {
		notify_send("WATCHDOG=1");
		last_ms = now;
	}
	due = last_ms + interval_ms - now;
	return due > 0 ? (int)due : 0;
}
