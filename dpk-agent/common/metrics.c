/* The agent's counters (common/metrics.h; each metric in doc/metrics.md). */
#include "common/metrics.h"

#include "proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The chain worker threads' counters: relaxed atomic adds. */
#define ADD(x, n) ((void)__atomic_fetch_add(&(x), (uint64_t)(n), __ATOMIC_RELAXED))
#define GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* chain job durations: upper bounds in microseconds (le="0.005" ... "10", then +Inf) */
static const int64_t bucket_us[] = {5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

/* The event loop's counters: only its thread adds to them and reads them
 * (METRICS is answered there too), so a plain add, without a bus lock. */
static uint64_t requests[128][2];   /* [type & 0x7f][failed] */
static uint64_t cache_hits, cache_misses;
static uint64_t conn_refused;
static uint64_t head_block;
static uint64_t handshakes[2][AGENT_METRICS_HS_OUTCOMES];
static struct {
	uint64_t bucket[NBUCKETS + 1]; /* not cumulative here; the last is above every bound */
	uint64_t sum_us, count, failed;
} reads[AGENT_METRICS_READ_KINDS];

static const char *const read_kind[AGENT_METRICS_READ_KINDS] = {"lookup", "poll", "register"};
static const char *const hs_outcome[AGENT_METRICS_HS_OUTCOMES] = {"ok", "failed", "refused"};

/* The request types doc/protocol.md defines, by the name the metrics use. */
static const struct {
	uint8_t type;
	const char *name;
} request_types[] = {
	{DPK_MSG_HELLO, "hello"}, {DPK_MSG_STATUS, "status"}, {DPK_MSG_LOOKUP, "lookup"},
	{DPK_MSG_PUBKEY, "pubkey"}, {DPK_MSG_REGISTER, "register"}, {DPK_MSG_GETPWNAM, "getpwnam"},
	{DPK_MSG_GETPWUID, "getpwuid"}, {DPK_MSG_GETGRNAM, "getgrnam"}, {DPK_MSG_GETGRGID, "getgrgid"},
	{DPK_MSG_INITGROUPS, "initgroups"}, {DPK_MSG_PWENT, "pwent"}, {DPK_MSG_GRENT, "grent"},
	{DPK_MSG_LOGIN_CHALLENGE, "login_challenge"}, {DPK_MSG_LOGIN_RESPOND, "login_respond"},
	{DPK_MSG_LOGIN_VERIFY, "login_verify"}, {DPK_MSG_LOGIN_ACCOUNT, "login_account"},
	{DPK_MSG_USER_CHECK, "user_check"}, {DPK_MSG_PSK_HANDSHAKE, "psk_handshake"},
	{DPK_MSG_PSK_GET, "psk_get"}, {DPK_MSG_TICKET_ISSUE, "ticket_issue"},
	{DPK_MSG_TICKET_REDEEM, "ticket_redeem"}, {DPK_MSG_METRICS, "metrics"},
};

int64_t
agent_metrics_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
agent_metrics_request(uint8_t type, int failed)
{
	requests[type & 0x7f][failed ? 1 : 0]++;
}

void
agent_metrics_cache(int hit)
{
	if (hit)
		cache_hits++;
	else
		cache_misses++;
}

void
agent_metrics_chain_read(enum agent_metrics_read kind, int failed, int64_t usec)
{
	size_t b = 0;

	if ((unsigned)kind >= AGENT_METRICS_READ_KINDS)
		return;
	if (usec < 0)
		usec = 0;
	while (b < NBUCKETS && usec > bucket_us[b])
		b++;
	ADD(reads[kind].bucket[b], 1);
	ADD(reads[kind].sum_us, usec);
	ADD(reads[kind].count, 1);
	if (failed)
		ADD(reads[kind].failed, 1);
}

void
agent_metrics_handshake(int initiator, enum agent_metrics_hs outcome)
{
	if ((unsigned)outcome < AGENT_METRICS_HS_OUTCOMES)
		handshakes[initiator ? 1 : 0][outcome]++;
}

void
agent_metrics_conn_refused(void)
{
	conn_refused++;
}

void
agent_metrics_head(uint64_t block)
{
	__atomic_store_n(&head_block, block, __ATOMIC_RELAXED);
}

static void
put(struct agent_metrics_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct agent_metrics_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->overflow = 1;
		return;
	}
	o->len += (size_t)n;
}

static void
head(struct agent_metrics_out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
agent_metrics_gauge_head(struct agent_metrics_out *o, const char *name, const char *help)
{
	head(o, name, "gauge", help);
}

void
agent_metrics_sample(struct agent_metrics_out *o, const char *name, const char *labels, double value)
{
	if (labels != NULL && *labels != '\0')
		put(o, "%s{%s} %.17g\n", name, labels, value);
	else
		put(o, "%s %.17g\n", name, value);
}

void
agent_metrics_escape(const char *in, char *out, size_t outsz)
{
	size_t n = 0;

	if (outsz == 0)
		return;
	for (; *in != '\0'; in++) {
		const char *rep = *in == '\\' ? "\\\\" : *in == '"' ? "\\\"" : *in == '\n' ? "\\n" : NULL;
		size_t k = rep != NULL ? 2 : 1;

		if (n + k >= outsz)
			break;
		if (rep != NULL)
			memcpy(out + n, rep, 2);
		else
			out[n] = *in;
		n += k;
	}
	out[n] = '\0';
}

void
agent_metrics_write_counters(struct agent_metrics_out *o)
{
	uint64_t other[2] = {0, 0};

	head(o, "dpk_agent_requests_total", "counter",
	    "Requests answered on the agent's socket, by request type and outcome (ok, or failed: a FAILURE reply).");
	for (size_t i = 0; i < sizeof(request_types) / sizeof(request_types[0]); i++) {
		const char *n = request_types[i].name;
		uint8_t t = request_types[i].type;

		put(o, "dpk_agent_requests_total{type=\"%s\",outcome=\"ok\"} %llu\n", n,
		    (unsigned long long)requests[t][0]);
		put(o, "dpk_agent_requests_total{type=\"%s\",outcome=\"failed\"} %llu\n", n,
		    (unsigned long long)requests[t][1]);
	}
	for (size_t t = 0; t < 128; t++) {
		int known = 0;

		for (size_t i = 0; i < sizeof(request_types) / sizeof(request_types[0]); i++)
			known |= request_types[i].type == t;
		if (!known) {
			other[0] += requests[t][0];
			other[1] += requests[t][1];
		}
	}
	put(o, "dpk_agent_requests_total{type=\"unknown\",outcome=\"ok\"} %llu\n", (unsigned long long)other[0]);
	put(o, "dpk_agent_requests_total{type=\"unknown\",outcome=\"failed\"} %llu\n", (unsigned long long)other[1]);

	head(o, "dpk_agent_connections_refused_total", "counter",
	    "Connections to the agent's socket refused at accept (max_connections_per_uid, root_connections, the table full).");
	put(o, "dpk_agent_connections_refused_total %llu\n", (unsigned long long)conn_refused);

	head(o, "dpk_agent_cache_requests_total", "counter",
	    "Requests that needed an identity's record: answered from the lookup cache (hit) or after a chain read (miss).");
	put(o, "dpk_agent_cache_requests_total{result=\"hit\"} %llu\n", (unsigned long long)cache_hits);
	put(o, "dpk_agent_cache_requests_total{result=\"miss\"} %llu\n", (unsigned long long)cache_misses);

	head(o, "dpk_agent_chain_job_duration_seconds", "histogram",
	    "Time the chain worker took for one job (lookup: one record read; poll: the event poll; register: one registration step).");
	for (size_t k = 0; k < AGENT_METRICS_READ_KINDS; k++) {
		uint64_t cum = 0;

		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += GET(reads[k].bucket[b]);
			put(o, "dpk_agent_chain_job_duration_seconds_bucket{job=\"%s\",le=\"%g\"} %llu\n", read_kind[k],
			    (double)bucket_us[b] / 1e6, (unsigned long long)cum);
		}
		cum += GET(reads[k].bucket[NBUCKETS]);
		put(o, "dpk_agent_chain_job_duration_seconds_bucket{job=\"%s\",le=\"+Inf\"} %llu\n", read_kind[k],
		    (unsigned long long)cum);
		put(o, "dpk_agent_chain_job_duration_seconds_sum{job=\"%s\"} %.6f\n", read_kind[k],
		    (double)GET(reads[k].sum_us) / 1e6);
		put(o, "dpk_agent_chain_job_duration_seconds_count{job=\"%s\"} %llu\n", read_kind[k],
		    (unsigned long long)GET(reads[k].count));
	}
	head(o, "dpk_agent_chain_job_failures_total", "counter",
	    "Chain jobs that ended in an error (no endpoint answered, a bad answer, a proof that does not verify).");
	for (size_t k = 0; k < AGENT_METRICS_READ_KINDS; k++)
		put(o, "dpk_agent_chain_job_failures_total{job=\"%s\"} %llu\n", read_kind[k],
		    (unsigned long long)GET(reads[k].failed));

	head(o, "dpk_agent_chain_head_block", "gauge",
	    "The chain's head block as the last event poll read it (0: not polled yet).");
	put(o, "dpk_agent_chain_head_block %llu\n", (unsigned long long)GET(head_block));

	head(o, "dpk_agent_psk_handshakes_total", "counter",
	    "PSK handshakes by role (initiator: started here) and outcome (ok, failed, refused by a cap).");
	for (int r = 0; r < 2; r++)
		for (int x = 0; x < AGENT_METRICS_HS_OUTCOMES; x++)
			put(o, "dpk_agent_psk_handshakes_total{role=\"%s\",outcome=\"%s\"} %llu\n",
			    r ? "initiator" : "responder", hs_outcome[x], (unsigned long long)handshakes[r][x]);
}
