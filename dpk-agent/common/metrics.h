/* The agent's counters for an operator's graphs (doc/metrics.md), written
 * out in the Prometheus text exposition format (version 0.0.4) by the
 * METRICS request.
 *
 * Every increment is one add on a static counter: no lock, no allocation,
 * nothing on the warm request path but the add itself. The event loop's
 * counters (requests, cache, connections, handshakes) are plain adds: only
 * its thread touches them, and it answers METRICS. The chain job's, added by
 * the worker threads, are relaxed atomic adds. Gauges (connections, reads in
 * flight, endpoints, the verified block) are not kept here: whoever answers
 * METRICS reads them from the agent's state and writes them with
 * agent_metrics_gauge(). */
#ifndef DPK_AGENT_METRICS_H
#define DPK_AGENT_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum agent_metrics_read {
	AGENT_METRICS_READ_LOOKUP = 0, /* one identity's record (eth_call, or a proof with verify_reads) */
	AGENT_METRICS_READ_POLL,       /* the event poll (eth_blockNumber, eth_getLogs) */
	AGENT_METRICS_READ_REGISTER,   /* one step of the registration */
	AGENT_METRICS_READ_KINDS
};

enum agent_metrics_hs {
	AGENT_METRICS_HS_OK = 0, /* both sides hold the PSK */
	AGENT_METRICS_HS_FAILED, /* the handshake began and did not end with a PSK */
	AGENT_METRICS_HS_REFUSED, /* not begun: a cap (psk_max_handshakes, psk_max_per_source, psk_max_outbound) */
	AGENT_METRICS_HS_OUTCOMES
};

/* Monotonic microseconds, for timing a chain job. */
int64_t agent_metrics_now_us(void);
/* The event loop's thread only: */
/* A reply to a request of type (the request's type byte); failed: the reply is FAILURE. */
void agent_metrics_request(uint8_t type, int failed);
/* A request that needed an identity's record found it in the lookup cache
 * (hit), or had to wait for a chain read (miss). */
void agent_metrics_cache(int hit);
/* A PSK handshake this agent started (initiator) or answered ended with outcome. */
void agent_metrics_handshake(int initiator, enum agent_metrics_hs outcome);
/* A connection to the socket was refused (a per-uid or total cap). */
void agent_metrics_conn_refused(void);
/* Any thread (the chain workers): */
/* A chain job of kind took usec microseconds; failed: it ended in an error. */
void agent_metrics_chain_read(enum agent_metrics_read kind, int failed, int64_t usec);
/* The event poll saw the chain's head at block (any endpoint's eth_blockNumber). */
void agent_metrics_head(uint64_t block);

/* The text being written: at most cap bytes in p; overflow once it did not fit. */
struct agent_metrics_out {
	char *p;
	size_t len, cap;
	int overflow;
};

/* Append the counters above (with # HELP and # TYPE lines). */
void agent_metrics_write_counters(struct agent_metrics_out *o);
/* Append one gauge family's # HELP and # TYPE lines. */
void agent_metrics_gauge_head(struct agent_metrics_out *o, const char *name, const char *help);
/* Append one sample: name{labels} value (labels NULL or "" for none; label
 * values must already be escaped, see agent_metrics_escape). */
void agent_metrics_sample(struct agent_metrics_out *o, const char *name, const char *labels, double value);
/* A label value escaped as the format wants (\\, \" and \n) into out
 * (truncated to outsz - 1 bytes, never mid-escape). */
void agent_metrics_escape(const char *in, char *out, size_t outsz);

#endif
