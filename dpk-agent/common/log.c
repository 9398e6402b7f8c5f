#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static int use_syslog;

void
agent_log_to_syslog(void)
{
	openlog("dpk-agent", LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

void
agent_log(int priority, const char *fmt, ...)
{
	static const char *const names[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
	va_list ap;

	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(priority, fmt, ap);
	} else {
		fprintf(stderr, "dpk-agent: %s: ", names[priority & 7]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
