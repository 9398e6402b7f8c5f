/* Lookup latency through dpk-agent's socket: N lookups of one identity
 * (warm: from the cache) or of N distinct unregistered identities (cold: each
 * read from the chain), printing p50 / p99 / max in microseconds.
 * usage: lookup-bench SOCKET warm|cold N [IDENTITY] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dpk/client.h"

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct dpk_client *c;
	double *us;
	long n;

	if (argc < 4 || (n = strtol(argv[3], NULL, 10)) <= 0 || n > 10000000) {
		fprintf(stderr, "usage: lookup-bench SOCKET warm|cold N [IDENTITY]\n");
		return 2;
	}
	int cold = strcmp(argv[2], "cold") == 0;
	const char *ident = argc > 4 ? argv[4] : "bench.example.org";
	if ((us = calloc((size_t)n, sizeof(*us))) == NULL || dpk_client_open(argv[1], 10000, 0, &c) != 0) {
		fprintf(stderr, "lookup-bench: cannot reach the agent at %s\n", argv[1]);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		struct dpk_client_record rec;
		struct timespec a, b;
		char name[64];

		if (cold)
			snprintf(name, sizeof(name), "cold-%ld-%ld.bench.example.org", (long)time(NULL), i);
		clock_gettime(CLOCK_MONOTONIC, &a);
		int r = dpk_client_lookup(c, cold ? name : ident, &rec);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (r != 0) {
			fprintf(stderr, "lookup-bench: lookup failed: %s\n", dpk_client_strerror(r));
			return 1;
		}
		dpk_client_record_free(&rec);
		us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(us, (size_t)n, sizeof(*us), cmp);
	printf("%-5s lookups: n=%ld  p50=%.1f us  p99=%.1f us  max=%.1f us\n", argv[2], n, us[n / 2],
	    us[(size_t)((double)n * 0.99)], us[n - 1]);
	dpk_client_close(c);
	free(us);
	return 0;
}
