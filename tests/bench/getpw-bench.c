/* getpwnam() latency through whatever /etc/nsswitch.conf says, as a program
 * resolving a user sees it: every NAME looked up N times in turn after W
 * unmeasured warm-up calls of the warm-up name (which also lets glibc load
 * its modules outside the measurement). Prints p50 / p99 / max in
 * microseconds and how the calls ended (found with uid, not found, or the
 * errno glibc left), so a figure never hides a wrong answer.
 * usage: getpw-bench [-n N] [-w W] [-W WARMNAME] [-l LABEL] NAME... */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static long
count_arg(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	return v;
}

int
main(int argc, char **argv)
{
	long n = 1000, warm = 10, found = 0, missing = 0, failed = 0;
	const char *label = "getpwnam", *warmname = NULL;
	int last_errno = 0, opt;
	long uid = -1;
	double *us;
	size_t total, k = 0;

	while ((opt = getopt(argc, argv, "n:w:W:l:")) != -1) {
		if (opt == 'n' && (n = count_arg(optarg, 10000000)) > 0)
			continue;
		if (opt == 'w' && (warm = count_arg(optarg, 1000000)) >= 0)
			continue;
		if (opt == 'W') {
			warmname = optarg;
			continue;
		}
		if (opt == 'l') {
			label = optarg;
			continue;
		}
		fprintf(stderr, "usage: getpw-bench [-n N] [-w W] [-W WARMNAME] [-l LABEL] NAME...\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: getpw-bench [-n N] [-w W] [-W WARMNAME] [-l LABEL] NAME...\n");
		return 2;
	}
	total = (size_t)n * (size_t)(argc - optind);
	if ((us = calloc(total, sizeof(*us))) == NULL) {
		fprintf(stderr, "getpw-bench: out of memory\n");
		return 1;
	}
	for (long i = 0; i < warm; i++)
		(void)getpwnam(warmname != NULL ? warmname : argv[optind]);
	for (long i = 0; i < n; i++) {
		for (int a = optind; a < argc; a++) {
			struct timespec t0, t1;
			struct passwd *pw;

			errno = 0;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			pw = getpwnam(argv[a]);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			/* glibc leaves errno 0 (or ENOENT) for a plain miss, and
			 * the failing source's errno when one could not answer */
			if (pw != NULL) {
				found++;
				uid = (long)pw->pw_uid;
			} else if (errno == 0 || errno == ENOENT) {
				missing++;
			} else {
				failed++;
				last_errno = errno;
			}
			us[k++] = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
		}
	}
	qsort(us, total, sizeof(*us), cmp);
	size_t p99 = (size_t)((double)total * 0.99);
	if (p99 >= total)
		p99 = total - 1;
	printf("%-36s n=%-6zu p50=%9.1f us  p99=%9.1f us  max=%9.1f us  ", label, total, us[total / 2], us[p99],
	    us[total - 1]);
	if (found > 0)
		printf("found=%ld (uid %ld) ", found, uid);
	if (missing > 0)
		printf("notfound=%ld ", missing);
	if (failed > 0)
		printf("error=%ld (%s)", failed, strerror(last_errno));
	printf("\n");
	free(us);
	return 0;
}
