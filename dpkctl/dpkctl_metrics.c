/* dpkctl metrics: the agent's METRICS reply (Prometheus text, doc/metrics.md)
 * on stdout, for a node_exporter textfile collector or a scrape wrapper;
 * with --json, the same text as {"format", "metrics"}. */
#include "autoconfig.h"

#include "dpkctl.h"
#include "dpk/client.h"
#include "proto.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX 65536

/* text[n] as one JSON object on stdout: 0, or the exit code. */
static int
print_json(const char *text, size_t n)
{
	cJSON *j = cJSON_CreateObject();
	char *copy = malloc(n + 1), *s = NULL;

	if (j != NULL && copy != NULL) {
		memcpy(copy, text, n);
		copy[n] = '\0';
		cJSON_AddStringToObject(j, "format", "prometheus-text-0.0.4");
		cJSON_AddStringToObject(j, "metrics", copy);
		s = cJSON_Print(j);
	}
	cJSON_Delete(j);
	free(copy);
	if (s == NULL)
		return dpkctl_fail(DPKCTL_EXIT_REFUSED, "metrics: out of memory");
	puts(s);
	free(s);
	return 0;
}

int
dpkctl_metrics(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	uint8_t rtype;
	size_t n = 0;
	char *text;
	int r;

	if (argc != 0)
		return dpkctl_usage_error("metrics", "takes no arguments, not '%s'", argv[0]);
	if ((text = malloc(METRICS_MAX)) == NULL)
		return dpkctl_fail(DPKCTL_EXIT_REFUSED, "metrics: out of memory");
	if ((r = dpk_client_call(c, DPK_MSG_METRICS, NULL, 0, &rtype, text, METRICS_MAX, &n)) != 0) {
		free(text);
		return dpkctl_client_exit(c, r, "metrics");
	}
	if (rtype != DPK_MSG_REPLY(DPK_MSG_METRICS) || memchr(text, '\0', n) != NULL ||
	    (n > 0 && text[n - 1] != '\n')) {
		free(text);
		return dpkctl_fail(DPKCTL_EXIT_PROTOCOL, "metrics: the agent's answer is not metrics text");
	}
	if (o->json)
		r = print_json(text, n);
	else if (fwrite(text, 1, n, stdout) != n || fflush(stdout) != 0)
		r = dpkctl_fail(DPKCTL_EXIT_REFUSED, "metrics: cannot write to stdout");
	free(text);
	return r;
}
