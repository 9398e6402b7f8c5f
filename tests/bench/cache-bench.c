/* The NSS cache file at scale, for tests/bench/scale-bench.sh: files of N
 * users written with the agent's own writer (dpk-agent/login/nss_cachebuild.c)
 * instead of N identities registered on chain, the first lookup in a new
 * process, and the agent's cost of adding a user.
 *   cache-bench build PATH N        write PATH holding users u0 .. u(N-1).example.org
 *                                   (uid 100000 + i, private groups), mode 0644
 *   cache-bench first SO PATH NAME  in this new process: dlopen SO (not timed), then
 *                                   time its first _nss_dpk_getpwnam_r(NAME); prints us
 *   cache-bench add PATH N          on PATH as built for N: time adding a user and its
 *                                   group in place (p50 and max of 200, in us), then a
 *                                   whole new file of N users (ms), as the agent does
 *                                   when the file is full */
#include "login/nss_cache.h"

#include "cachefile.h"
#include "base/err.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct users {
	struct nss_cache_user_in *u;
	struct nss_cache_group_in *g;
	char (*names)[32];
};

static int
users_make(struct users *s, size_t n, size_t first)
{
	s->u = calloc(n + 1, sizeof(*s->u));
	s->g = calloc(n + 1, sizeof(*s->g));
	s->names = calloc(n + 1, sizeof(*s->names));
	if (s->u == NULL || s->g == NULL || s->names == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = 100000 + (uint32_t)(first + i);

		snprintf(s->names[i], sizeof(s->names[i]), "u%zu.example.org", first + i);
		s->u[i] = (struct nss_cache_user_in){s->names[i], "DPK user", "/home/dpk", "/bin/bash", id, id, 0, 0, NULL};
		s->g[i] = (struct nss_cache_group_in){s->names[i], id, 0};
	}
	return 0;
}

/* A file of n users with the agent's room rules (build_file in nss_cache.c). */
static int
write_file(const char *path, size_t n, double *ms)
{
	struct users s;
	uint64_t heap = 0, size;
	uint32_t slots;
	uint8_t *p;
	double t0;
	int fd, r;

	if (users_make(&s, n, 0) != 0)
		return -1;
	t0 = now_us();
	for (size_t i = 0; i < n; i++)
		heap += agent_nss_cache_user_bytes(&s.u[i]) + agent_nss_cache_group_bytes(&s.g[i]);
	if (agent_nss_cache_layout(n + n / 2 + 64, heap + heap / 2 + 4096 + 128, &slots, &size) != 0)
		return -1;
	unlink(path);
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 || fchmod(fd, 0644) != 0 ||
	    ftruncate(fd, (off_t)size) != 0)
		return -1;
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	agent_nss_cache_init(p, (size_t)size, slots, 0x5eed, 1);
	r = agent_nss_cache_fill(p, (size_t)size, s.u, n, s.g, n);
	*ms = (now_us() - t0) / 1e3;
	munmap(p, (size_t)size);
	free(s.u);
	free(s.g);
	free(s.names);
	return r;
}

static int
first(const char *so, const char *path, const char *name)
{
	enum nss_status (*pwnam)(const char *, struct passwd *, char *, size_t, int *);
	struct passwd pw;
	char buf[1024];
	void *h;
	int err = 0;
	double t0, t1;
	enum nss_status st;

	setenv("DPK_NSS_CACHE", path, 1);
	setenv("DPK_AGENT_SOCKET", "/nonexistent/dpk-agent.sock", 1);
	if ((h = dlopen(so, RTLD_NOW | RTLD_LOCAL)) == NULL || (*(void **)&pwnam = dlsym(h, "_nss_dpk_getpwnam_r")) == NULL) {
		fprintf(stderr, "cache-bench: %s\n", dlerror());
		return 1;
	}
	t0 = now_us();
	st = pwnam(name, &pw, buf, sizeof(buf), &err);
	t1 = now_us();
	if (st != NSS_STATUS_SUCCESS) {
		fprintf(stderr, "cache-bench: %s not found in %s (status %d)\n", name, path, st);
		return 1;
	}
	printf("%.1f\n", t1 - t0);
	return 0;
}

static int
add(const char *path, size_t n)
{
	enum { K = 200 };
	double us[K], ms;
	struct users s;
	struct stat st;
	uint8_t *p;
	int fd;

	if (users_make(&s, K, n) != 0 || (fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0)
		return 1;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < K; i++) {
		double t0 = now_us();

		if (agent_nss_cache_put_user(p, (size_t)st.st_size, &s.u[i]) != 0 ||
		    agent_nss_cache_put_group(p, (size_t)st.st_size, &s.g[i]) != 0) {
			fprintf(stderr, "cache-bench: the file is full after %zu additions\n", i);
			return 1;
		}
		us[i] = now_us() - t0;
	}
	munmap(p, (size_t)st.st_size);
	qsort(us, K, sizeof(us[0]), cmp);
	if (write_file(path, n, &ms) != 0)
		return 1;
	printf("%.1f %.1f %.0f\n", us[K / 2], us[K - 1], ms);
	return 0;
}

int
main(int argc, char **argv)
{
	double ms;

	if (argc == 4 && strcmp(argv[1], "build") == 0) {
		if (write_file(argv[2], strtoul(argv[3], NULL, 10), &ms) != 0) {
			fprintf(stderr, "cache-bench: cannot write %s\n", argv[2]);
			return 1;
		}
		printf("%.0f\n", ms);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "first") == 0)
		return first(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "add") == 0)
		return add(argv[2], strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: cache-bench build PATH N | first SO PATH NAME | add PATH N\n");
	return 2;
}
