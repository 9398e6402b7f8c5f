/* METRICS (doc/protocol.md, doc/metrics.md): the agent's counters and gauges
 * in the Prometheus text format, for root and admin_group only. */
#ifndef DPK_AGENT_METRICS_REQUEST_H
#define DPK_AGENT_METRICS_REQUEST_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct conn;

/* Answer a METRICS request (body: empty); the reply's body is the text. */
void agent_metrics_request_answer(struct agent *a, struct conn *c, const uint8_t *body, size_t len);

#endif
