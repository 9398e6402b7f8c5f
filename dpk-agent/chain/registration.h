/* This host's registration as the agent drives it (registration.c). */
#ifndef DPK_AGENT_REGISTRATION_H
#define DPK_AGENT_REGISTRATION_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct conn;

/* REGISTER (privileged): start, or report where it is. */
void agent_register_request(struct agent *a, struct conn *c, const uint8_t *body, size_t len);
/* The registration worker finished a step (its eventfd is readable). */
void agent_register_done(struct agent *a);
/* Submit the next step when it is due. Returns when to look again
 * (monotonic ms; INT64_MAX: when a step finishes). */
int64_t agent_register_timers(struct agent *a, int64_t now);

#endif
