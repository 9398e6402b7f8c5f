/* dpkctl metrics: the agent's METRICS reply (Prometheus text, doc/metrics.md)
 * on stdout, for a node_exporter textfile collector or a scrape wrapper. */
#include "autoconfig.h"

#include "dpkctl.h"
#include "dpk/client.h"
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX 65536

int
dpkctl_metrics(struct dpk_client *c, int argc, char **argv)
{
	uint8_t rtype;
	size_t n = 0;
	char *text;
	int r;

	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "dpkctl: usage: dpkctl metrics (it takes no arguments)\n");
		return DPKCTL_EXIT_USAGE;
	}
	if ((text = malloc(METRICS_MAX)) == NULL) {
		fprintf(stderr, "dpkctl: out of memory\n");
		return DPKCTL_EXIT_REFUSED;
	}
	r = dpk_client_call(c, DPK_MSG_METRICS, NULL, 0, &rtype, text, METRICS_MAX, &n);
	if (r == DPK_CLIENT_EAGENT) {
		const char *msg = "";

		dpk_client_agent_error(c, &msg);
		fprintf(stderr, "dpkctl: metrics: %s\n", msg);
		free(text);
		return DPKCTL_EXIT_REFUSED;
	}
	if (r != 0) {
		fprintf(stderr, "dpkctl: metrics: %s\n", dpk_client_strerror(r));
		free(text);
		return DPKCTL_EXIT_UNREACHABLE;
	}
	if (rtype != DPK_MSG_REPLY(DPK_MSG_METRICS) || memchr(text, '\0', n) != NULL ||
	    (n > 0 && text[n - 1] != '\n')) {
		fprintf(stderr, "dpkctl: metrics: the agent's answer is not metrics text\n");
		free(text);
		return DPKCTL_EXIT_PROTOCOL;
	}
	r = fwrite(text, 1, n, stdout) == n && fflush(stdout) == 0 ? 0 : DPKCTL_EXIT_REFUSED;
	if (r != 0)
		fprintf(stderr, "dpkctl: metrics: cannot write to stdout\n");
	free(text);
	return r;
}
