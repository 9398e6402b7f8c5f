/* dpk-agent/common/metrics.c: the counters move, the text is valid
 * Prometheus text (the strict checker of tests/harness/promtext.c), label
 * values are escaped; and the checker itself refuses what Prometheus would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/metrics.h"
#include "harness.h"
#include "promtext.h"
#include "proto.h"

static char buf[65536];

static const char *
render(void)
{
	struct agent_metrics_out o = {.p = buf, .len = 0, .cap = sizeof(buf), .overflow = 0};
	char why[256];

	agent_metrics_write_counters(&o);
	agent_metrics_gauge_head(&o, "dpk_test_endpoint_up", "A gauge with an awkward label value.");
	{
		char esc[128], labels[160];

		agent_metrics_escape("http://a\"b\\c\nd", esc, sizeof(esc));
		snprintf(labels, sizeof(labels), "endpoint=\"%s\"", esc);
		agent_metrics_sample(&o, "dpk_test_endpoint_up", labels, 1);
	}
	assert_false(o.overflow);
	if (dpk_test_promtext_check(buf, o.len, why, sizeof(why)) != 0)
		fail_msg("not valid Prometheus text: %s\n%s", why, buf);
	return buf;
}

static void
test_counters_move(void **state)
{
	const char *t;

	(void)state;
	t = render();
	assert_true(dpk_test_promtext_value(t, "dpk_agent_requests_total{type=\"getpwnam\",outcome=\"ok\"}") == 0);
	agent_metrics_request(DPK_MSG_GETPWNAM, 0);
	agent_metrics_request(DPK_MSG_GETPWNAM, 0);
	agent_metrics_request(DPK_MSG_GETPWNAM, 1);
	agent_metrics_request(0x7e, 1); /* no such type: counted as unknown */
	agent_metrics_cache(1);
	agent_metrics_cache(0);
	agent_metrics_cache(1);
	agent_metrics_chain_read(AGENT_METRICS_READ_LOOKUP, 0, 3000);    /* <= 5 ms */
	agent_metrics_chain_read(AGENT_METRICS_READ_LOOKUP, 1, 300000);  /* <= 0.5 s */
	agent_metrics_chain_read(AGENT_METRICS_READ_LOOKUP, 0, 60000000); /* above every bound */
	agent_metrics_handshake(1, AGENT_METRICS_HS_OK);
	agent_metrics_handshake(0, AGENT_METRICS_HS_REFUSED);
	agent_metrics_conn_refused();
	agent_metrics_head(1234);
	t = render();
	assert_true(dpk_test_promtext_value(t, "dpk_agent_requests_total{type=\"getpwnam\",outcome=\"ok\"}") == 2);
	assert_true(dpk_test_promtext_value(t, "dpk_agent_requests_total{type=\"getpwnam\",outcome=\"failed\"}") == 1);
	assert_true(dpk_test_promtext_value(t, "dpk_agent_requests_total{type=\"unknown\",outcome=\"failed\"}") == 1);
	assert_true(dpk_test_promtext_value(t, "dpk_agent_cache_requests_total{result=\"hit\"}") == 2);
	assert_true(dpk_test_promtext_value(t, "dpk_agent_cache_requests_total{result=\"miss\"}") == 1);
	assert_true(dpk_test_promtext_value(t,
	    "dpk_agent_chain_job_duration_seconds_bucket{job=\"lookup\",le=\"0.005\"}") == 1);
	assert_true(dpk_test_promtext_value(t,
	    "dpk_agent_chain_job_duration_seconds_bucket{job=\"lookup\",le=\"0.5\"}") == 2);
	assert_true(dpk_test_promtext_value(t,
	    "dpk_agent_chain_job_duration_seconds_bucket{job=\"lookup\",le=\"+Inf\"}") == 3);
	assert_true(dpk_test_promtext_value(t, "dpk_agent_chain_job_duration_seconds_count{job=\"lookup\"}") == 3);
	assert_true(dpk_test_promtext_value(t, "dpk_agent_chain_job_duration_seconds_sum{job=\"lookup\"}") == 60.303);
	assert_true(dpk_test_promtext_value(t, "dpk_agent_chain_job_failures_total{job=\"lookup\"}") == 1);
	assert_true(dpk_test_promtext_value(t,
	    "dpk_agent_psk_handshakes_total{role=\"initiator\",outcome=\"ok\"}") == 1);
	assert_true(dpk_test_promtext_value(t,
	    "dpk_agent_psk_handshakes_total{role=\"responder\",outcome=\"refused\"}") == 1);
	assert_true(dpk_test_promtext_value(t, "dpk_agent_connections_refused_total") == 1);
	assert_true(dpk_test_promtext_value(t, "dpk_agent_chain_head_block") == 1234);
	assert_non_null(strstr(t, "dpk_test_endpoint_up{endpoint=\"http://a\\\"b\\\\c\\nd\"} 1\n"));
}

static void
test_overflow_said(void **state)
{
	char small[100];
	struct agent_metrics_out o = {.p = small, .len = 0, .cap = sizeof(small), .overflow = 0};

	(void)state;
	agent_metrics_write_counters(&o);
	assert_true(o.overflow);
	assert_true(o.len < sizeof(small));
}

static void
test_escape_truncates_whole(void **state)
{
	char out[4];

	(void)state;
	agent_metrics_escape("a\"b", out, sizeof(out)); /* "a\"" is 3 bytes: fits; b does not */
	assert_string_equal(out, "a\\\"");
	agent_metrics_escape("ab\"", out, sizeof(out)); /* the escape would not fit whole: left out */
	assert_string_equal(out, "ab");
}

/* The checker is worth trusting only if it fails on what Prometheus refuses. */
static void
test_checker_refuses(void **state)
{
	static const char *const badtexts[] = {
		"# HELP a_total x\n# TYPE a_total counter\na_total 1",               /* no final newline */
		"a_total 1\n",                                                       /* no TYPE */
		"# HELP a x\n# TYPE a counter\na 1\n",                               /* counter without _total */
		"# HELP a x\n# TYPE a gauge\na{b=\"c} 1\n",                          /* unterminated value */
		"# HELP a x\n# TYPE a gauge\na{b=c} 1\n",                            /* unquoted value */
		"# HELP a x\n# TYPE a gauge\na{b=\"\\t\"} 1\n",                      /* bad escape */
		"# HELP a x\n# TYPE a gauge\na{1b=\"c\"} 1\n",                       /* bad label name */
		"# HELP a x\n# TYPE a gauge\na one\n",                               /* not a number */
		"# HELP a x\n# TYPE a gauge\na 1\na 2\n",                            /* series twice */
		"# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n",                 /* TYPE twice */
		"# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE a gauge\n",     /* TYPE after samples */
		"# HELP a x\n# TYPE a flavour\na 1\n",                               /* no such type */
		"# HELP 9a x\n# TYPE 9a gauge\n9a 1\n",                              /* bad name */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n",
		"# HELP a x\n# TYPE a gauge\na 1 123 4\n",                           /* extra fields */
		"# HELP a x\n# TYPE a gauge\n",                                      /* TYPE, no sample */
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(badtexts) / sizeof(badtexts[0]); i++) {
		if (dpk_test_promtext_check(badtexts[i], strlen(badtexts[i]), why, sizeof(why)) == 0)
			fail_msg("the checker accepted bad text #%zu:\n%s", i, badtexts[i]);
	}
	{
		static const char good[] = "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
		    "h_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\n# plain comment\n\n";

		if (dpk_test_promtext_check(good, strlen(good), why, sizeof(why)) != 0)
			fail_msg("the checker refused good text: %s", why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_move),
		cmocka_unit_test(test_overflow_said),
		cmocka_unit_test(test_escape_truncates_whole),
		cmocka_unit_test(test_checker_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
