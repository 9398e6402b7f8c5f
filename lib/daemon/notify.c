/* sd_notify wrappers (notify.h). Built without libsystemd, they do nothing,
 * so a host without systemd runs the same daemons. */
#include "autoconfig.h"
#include "daemon/notify.h"

#ifdef HAVE_LIBSYSTEMD
#include <stdint.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static void
send_status(const char *state, const char *status)
{
	if (status != NULL)
		sd_notifyf(0, "%s\nSTATUS=%s", state, status);
	else
		sd_notify(0, state);
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
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
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
	sd_notify(0, "STOPPING=1");
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
		interval_ms = sd_watchdog_enabled(0, &usec) > 0 ? (int64_t)(usec / 2000u) : -1;
		if (interval_ms == 0)
			interval_ms = 1;
		last_ms = now - interval_ms;
	}
	if (interval_ms < 0)
		return -1;
	if (now - last_ms >= interval_ms) {
		sd_notify(0, "WATCHDOG=1");
		last_ms = now;
	}
	due = last_ms + interval_ms - now;
	return due > 0 ? (int)due : 0;
}

#else /* !HAVE_LIBSYSTEMD */

void dpk_notify_ready(const char *status) { (void)status; }
void dpk_notify_reloading(void) {}
void dpk_notify_reloaded(const char *status) { (void)status; }
void dpk_notify_stopping(void) {}
int dpk_notify_watchdog(void) { return -1; }

#endif
