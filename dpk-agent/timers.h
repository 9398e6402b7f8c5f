/* Everything the event loop does on time rather than on input (timers.c). */
#ifndef DPK_AGENT_TIMERS_H
#define DPK_AGENT_TIMERS_H

#include <stdint.h>

struct agent;

/* Run what is due at now: requests past their deadline, the event poll, the
 * NSS cache file, registration steps, PSK handshakes and tickets. Returns the
 * milliseconds until the next timer is due. */
int agent_timers(struct agent *a, int64_t now);

#endif
