/* The NSS cache file read by threads while the agent's writer changes it,
 * run under valgrind's helgrind (this program starts itself under
 * `valgrind --tool=helgrind --error-exitcode=97`), so that a data race in
 * the reader (nss_dpk/cachefile.c, nss_dpk/fastpath.c) or the writer
 * (dpk-agent/login/nss_cache*.c), not only a wrong answer, fails the test.
 * Both are compiled here with NSS_DPK_HELGRIND (cachefile.h says what that
 * tells helgrind).
 *
 * 1. In place, one mapping: reader threads look users up by name and by
 *    uid (nss_dpk_cache_user_by_*) in the bytes a writer thread changes with
 *    the agent's in-place writer (add, replace, remove); when the file is
 *    full the writer builds a bigger one and swaps the pointer readers use.
 *    Reader and writer touch the same addresses, so helgrind sees every
 *    access of the protocol.
 * 2. The agent and the module: reader threads call the module's fast path
 *    (nss_dpk_fast_passwd: stat, map, validate, look up, reference counts)
 *    while the agent's cache (agent_nss_cache_note/forget/tick) adds users,
 *    replaces and forgets them, and builds bigger files that it renames into
 *    place.
 * Every answer must be the right user (name, uid, gid, gecos and home of
 * one version written for that user), or not found, or unavailable; never
 * another user or a mix of two versions. An ASan build (CI's sanitizer
 * run) cannot run under valgrind: it runs the same threads natively.
 * Exit 77 (skip) only when valgrind is missing and DPK_TEST_ALLOW_SKIP=1. */
#include <errno.h>
#include <stdarg.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "agent.h"
#include "base/buf.h"
#include "base/err.h"
#include "common/clock.h"
#include "cachefile.h"
#include "fastpath.h"
#include "login/nss_cache.h"

#ifdef NSS_DPK_HELGRIND_ON
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0 /* no valgrind headers: as if valgrind were missing */
#define NO_VALGRIND 1
#endif

#if defined(__SANITIZE_ADDRESS__)
#define NATIVE_ONLY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NATIVE_ONLY 1
#endif
#endif

#define READERS 3
#define USERS_A 48
#define USERS_B 200
#define BASE_UID 2001000000u
/* a reader stops here even if the writer has not finished (never hangs) */
#define MAX_READS 2000000L

static int failed;

static void
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	__atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
}

/* user k's version v: every field says k, gecos and home say v */
static void
fields(uint32_t k, uint32_t v, char *name, char *gecos, char *home)
{
	snprintf(name, 64, "u%u.example.org", k);
	snprintf(gecos, 64, "DPK u%u.example.org v%u", k, v);
	snprintf(home, 64, "/home/u%u.example.org/v%u", k, v);
}

/* Is this answer one version of user k? (name, uid, gid, gecos, home) */
static int
right(uint32_t k, const char *name, uint32_t uid, uint32_t gid, const char *gecos, const char *home)
{
	char n[64], g[64], h[64];
	unsigned v;

	const char *at = strrchr(gecos, 'v');
	char *end;

	fields(k, 0, n, g, h);
	if (strcmp(name, n) != 0 || uid != BASE_UID + k || gid != uid || at == NULL)
		return 0;
	v = (unsigned)strtoul(at + 1, &end, 10);
	fields(k, v, n, g, h);
	return strcmp(gecos, g) == 0 && strcmp(home, h) == 0;
}

struct tally {
	long right, missing, unavail;
};

/* Wait for the readers; each must have found a user. */
static void
join_readers(const char *part, pthread_t *th, const struct tally *t)
{
	long right_n = 0;

	for (int i = 0; i < READERS; i++) {
		pthread_join(th[i], NULL);
		right_n += t[i].right;
		printf("# %s: reader %d: %ld right, %ld not found, %ld unavailable\n", part, i, t[i].right, t[i].missing,
		    t[i].unavail);
	}
	if (right_n == 0)
		fail("%s: no reader found a user", part);
}

/* ---- 1. in place, one mapping ---- */

static uint8_t *volatile file_a; /* the file readers use; swapped whole when full */
static size_t file_a_size;
static int writer_done;
static uint8_t *old_files[64];
static size_t n_old;

static void
publish(uint8_t *p, size_t size)
{
	/* the pointer is this test's swap, as the rename is the agent's */
	NSS_DPK_HG_RACY((void *)&file_a, sizeof(file_a));
	NSS_DPK_HG_RACY(&file_a_size, sizeof(file_a_size));
	NSS_DPK_HG_STORE(&file_a);
	__atomic_store_n(&file_a_size, size, __ATOMIC_RELAXED);
	__atomic_store_n(&file_a, p, __ATOMIC_RELEASE);
}

static uint8_t *
new_file(uint32_t room, uint64_t heap, uint32_t seed, size_t *size)
{
	uint32_t slots;
	uint64_t n;
	uint8_t *p;

	if (agent_nss_cache_layout(room, heap, &slots, &n) != 0 || (p = aligned_alloc(8, (size_t)n)) == NULL)
		return NULL;
	memset(p, 0, (size_t)n);
	agent_nss_cache_init(p, (size_t)n, slots, seed, seed);
	*size = (size_t)n;
	return p;
}

static void *
reader_a(void *arg)
{
	struct tally *t = arg;
	struct nss_dpk_cache_user *u = malloc(sizeof(*u));
	unsigned seed = (unsigned)(uintptr_t)arg;

	if (u == NULL)
		return NULL;
	for (long n = 0; (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE) || n < 2000) && n < MAX_READS; n++) {
		uint8_t *p = __atomic_load_n(&file_a, __ATOMIC_ACQUIRE);
		size_t size = __atomic_load_n(&file_a_size, __ATOMIC_RELAXED);
		struct nss_dpk_cache c;
		uint32_t k = (uint32_t)rand_r(&seed) % USERS_A;
		char name[64], g[64], h[64];
		int r;

		NSS_DPK_HG_LOADED(&file_a);
		if (nss_dpk_cache_open(&c, p, size) != 0) {
			fail("in place: the header of the current file was refused");
			break;
		}
		fields(k, 0, name, g, h);
		r = n & 1 ? nss_dpk_cache_user_by_uid(&c, BASE_UID + k, u) :
			    nss_dpk_cache_user_by_name(&c, name, strlen(name), u);
		if (r < 0) {
			t->unavail++;
		} else if (r > 0) {
			t->missing++;
		} else if (right(k, u->name.p, u->uid, u->gid, u->gecos.p, u->dir.p)) {
			t->right++;
		} else {
			fail("in place: asked for %s, got %s uid %u gecos \"%s\" home %s", name, u->name.p, u->uid,
			    u->gecos.p, u->dir.p);
			break;
		}
	}
	free(u);
	return NULL;
}

/* the writer's view of user k: its version, and whether it is in the file */
struct wuser {
	uint32_t v;
	int in;
};

static int
put_a(uint8_t *p, size_t size, uint32_t k, uint32_t v)
{
	char name[64], gecos[64], home[64];
	struct nss_cache_user_in in;

	fields(k, v, name, gecos, home);
	in = (struct nss_cache_user_in){.name = name, .gecos = gecos, .dir = home, .shell = "/bin/sh", .uid = BASE_UID + k,
	    .gid = BASE_UID + k};
	return agent_nss_cache_put_user(p, size, &in);
}

static int
part_in_place(long ops)
{
	static struct wuser w[USERS_A];
	pthread_t th[READERS];
	struct tally t[READERS];
	size_t size;
	uint8_t *p = new_file(USERS_A, 16384, 1, &size);
	long swaps = 0;
	unsigned seed = 7;

	if (p == NULL)
		return -1;
	for (uint32_t k = 0; k < USERS_A; k++)
		if (put_a(p, size, k, 0) == 0)
			w[k].in = 1;
	publish(p, size);
	memset(t, 0, sizeof(t));
	for (int i = 0; i < READERS; i++)
		pthread_create(&th[i], NULL, reader_a, &t[i]);
	for (long n = 0; n < ops && !__atomic_load_n(&failed, __ATOMIC_SEQ_CST); n++) {
		uint32_t k = (uint32_t)rand_r(&seed) % USERS_A;
		char name[64], g[64], h[64];
		int r;

		if (rand_r(&seed) % 4 == 0 && w[k].in) {
			fields(k, 0, name, g, h);
			r = agent_nss_cache_del_user(p, size, name);
			w[k].in = 0;
		} else {
			r = put_a(p, size, k, ++w[k].v);
			w[k].in = r == 0;
		}
		if (r == DPK_ERR_TOOBIG) {
			/* full: a new file with the users in it, swapped in whole
			 * (the old one is kept: a reader may still be in it) */
			size_t nsize;
			uint8_t *q = new_file(USERS_A, 16384, (uint32_t)swaps + 2, &nsize);

			if (q == NULL || n_old == sizeof(old_files) / sizeof(old_files[0])) {
				free(q);
				break;
			}
			for (uint32_t j = 0; j < USERS_A; j++)
				if (w[j].in && put_a(q, nsize, j, w[j].v) != 0)
					w[j].in = 0;
			w[k].in = put_a(q, nsize, k, w[k].v) == 0;
			old_files[n_old++] = p;
			p = q;
			size = nsize;
			publish(p, size);
			swaps++;
		}
	}
	__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
	join_readers("in place", th, t);
	printf("# in place: %ld changes, %ld files swapped in\n", ops, swaps);
	if (swaps < 2)
		fail("in place: the writer swapped files %ld times (wanted at least 2)", swaps);
	for (size_t i = 0; i < n_old; i++)
		free(old_files[i]);
	free(p);
	return 0;
}

/* ---- 2. the agent's cache and the module's fast path ---- */

static int agent_done;

static void *
reader_b(void *arg)
{
	struct tally *t = arg;
	unsigned seed = (unsigned)(uintptr_t)arg;
	static __thread char buf[4096];

	for (long n = 0; (!__atomic_load_n(&agent_done, __ATOMIC_ACQUIRE) || n < 500) && n < MAX_READS; n++) {
		uint32_t k = (uint32_t)rand_r(&seed) % USERS_B;
		struct passwd pw;
		enum nss_status st = NSS_STATUS_NOTFOUND;
		char name[64], g[64], h[64];
		int err = 0, answered;

		fields(k, 0, name, g, h);
		answered = nss_dpk_fast_passwd(n & 1 ? NULL : name, BASE_UID + k, &pw, buf, sizeof(buf), &st, &err);
		if (!answered) {
			t->missing++;
		} else if (st == NSS_STATUS_UNAVAIL) {
			t->unavail++;
		} else if (st == NSS_STATUS_SUCCESS &&
		    right(k, pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_gecos, pw.pw_dir)) {
			t->right++;
		} else {
			fail("agent: asked for %s, got status %d: %s uid %u gecos \"%s\"", name, (int)st,
			    st == NSS_STATUS_SUCCESS ? pw.pw_name : "-", st == NSS_STATUS_SUCCESS ? pw.pw_uid : 0,
			    st == NSS_STATUS_SUCCESS ? pw.pw_gecos : "-");
			break;
		}
	}
	return NULL;
}

static struct agent ag;

static void
note_b(uint32_t k, uint32_t v)
{
	uint8_t hash[32] = {0};
	char name[64], gecos[64], home[64];

	memcpy(hash, &k, sizeof(k));
	hash[31] = 0x5a;
	fields(k, v, name, gecos, home);
	agent_nss_cache_note(&ag, hash, name, BASE_UID + k, BASE_UID + k, gecos, home, agent_now_ms() + 3600 * 1000);
}

static int
part_agent(const char *dir, long ops)
{
	pthread_t th[READERS];
	struct tally t[READERS];
	char path[4096], shell[] = "/bin/sh";
	uint32_t v[USERS_B] = {0};
	long builds = 0;
	unsigned seed = 11;
	struct stat st;
	ino_t ino = 0;

	snprintf(path, sizeof(path), "%s/nss.cache", dir);
	ag.cfg.nss_cache_file = path;
	ag.cfg.nss_shell = shell;
	setenv("DPK_NSS_CACHE", path, 1);
	/* the first users and the first file, before any reader */
	for (uint32_t k = 0; k < 4; k++)
		note_b(k, 0);
	(void)agent_nss_cache_tick(&ag, agent_now_ms());
	if (stat(path, &st) != 0) {
		fail("agent: the cache file %s was not written: %s", path, strerror(errno));
		return -1;
	}
	memset(t, 0, sizeof(t));
	for (int i = 0; i < READERS; i++)
		pthread_create(&th[i], NULL, reader_b, &t[i]);
	for (long n = 0; n < ops && !__atomic_load_n(&failed, __ATOMIC_SEQ_CST); n++) {
		/* the users grow (the file fills and is built anew), change and go */
		uint32_t grown = 4 + (uint32_t)(n * (USERS_B - 4) / ops);
		uint32_t k = (uint32_t)rand_r(&seed) % grown;
		struct timespec pause = {0, 200 * 1000};

		if (rand_r(&seed) % 5 == 0) {
			uint8_t hash[32] = {0};

			memcpy(hash, &k, sizeof(k));
			hash[31] = 0x5a;
			agent_nss_cache_forget(&ag, hash);
		} else {
			note_b(k, ++v[k]);
		}
		(void)agent_nss_cache_tick(&ag, agent_now_ms());
		if (stat(path, &st) == 0 && st.st_ino != ino) {
			ino = st.st_ino;
			builds++;
		}
		nanosleep(&pause, NULL);
	}
	__atomic_store_n(&agent_done, 1, __ATOMIC_RELEASE);
	join_readers("agent", th, t);
	printf("# agent: %ld changes, %ld files built and renamed into place\n", ops, builds);
	if (builds < 2)
		fail("agent: %ld files built (wanted at least 2: the file never filled)", builds);
	agent_nss_cache_close(&ag);
	if (stat(path, &st) == 0)
		fail("agent: the cache file outlived agent_nss_cache_close");
	return 0;
}

int
main(int argc, char **argv)
{
	const char *allow = getenv("DPK_TEST_ALLOW_SKIP");
	char dir[] = "/tmp/dpk-cache-race.XXXXXX";
	int native = argc > 1 && strcmp(argv[1], "--native") == 0;

	(void)argc;
#ifdef NATIVE_ONLY
	native = 1;
	printf("# an ASan build: the threads run natively (helgrind runs them in the plain build)\n");
#endif
	if (!native && !RUNNING_ON_VALGRIND) {
		char vg[] = "valgrind", tool[] = "--tool=helgrind", code[] = "--error-exitcode=97", quiet[] = "-q";
		/* fair: valgrind runs one thread at a time, and on a loaded machine
		 * its default lock let the readers starve the writer for minutes */
		char fair[] = "--fair-sched=yes", supp[] = "--suppressions=" HELGRIND_SUPP;
		char *args[] = {vg, tool, code, quiet, fair, supp, argv[0], NULL};

#ifndef NO_VALGRIND
		execvp("valgrind", args);
#else
		(void)args;
		errno = ENOENT;
#endif
		if (allow != NULL && strcmp(allow, "1") == 0) {
			printf("SKIP: valgrind not found (%s)\n", strerror(errno));
			return 77;
		}
		printf("FAIL: cannot run valgrind: %s (Debian package valgrind; scripts/setup installs it)\n",
		    strerror(errno));
		return 1;
	}
	if (geteuid() != 0) {
		/* the module trusts only root's file */
		if (allow != NULL && strcmp(allow, "1") == 0) {
			printf("SKIP: not root (nss_dpk maps only a cache file root owns)\n");
			return 77;
		}
		printf("FAIL: run as root (nss_dpk maps only a cache file root owns)\n");
		return 1;
	}
	/* this test's own stop flags carry no data: raced on by design */
	NSS_DPK_HG_RACY(&writer_done, sizeof(writer_done));
	NSS_DPK_HG_RACY(&agent_done, sizeof(agent_done));
	NSS_DPK_HG_RACY(&failed, sizeof(failed));
	if (mkdtemp(dir) == NULL) {
		printf("FAIL: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (part_in_place(RUNNING_ON_VALGRIND ? 3000 : 100000) != 0)
		fail("in place: out of memory");
	if (part_agent(dir, RUNNING_ON_VALGRIND ? 1500 : 5000) != 0)
		fail("agent: could not start");
	rmdir(dir);
	if (failed)
		return 1;
	printf("ok: every answer was the right user, not found or unavailable%s\n",
	    RUNNING_ON_VALGRIND ? " (a race helgrind saw makes the exit status 97)" : "");
	return 0;
}
