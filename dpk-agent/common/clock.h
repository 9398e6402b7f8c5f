/* The agent's one clock: monotonic milliseconds, for deadlines, TTLs and
 * timers (never wall time, which jumps). */
#ifndef DPK_AGENT_CLOCK_H
#define DPK_AGENT_CLOCK_H

#include <stdint.h>

int64_t agent_now_ms(void);

#endif
