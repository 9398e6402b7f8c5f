/* nss_dpk under concurrency: 16 threads resolving DPK users at once through
 * glibc (getpwnam_r, getpwuid_r, getgrnam_r) with the real module and a
 * real dpk-agent on a real anvil, every answer checked against nss_dpk(8);
 * then the same program once under valgrind's helgrind, which must report
 * no error. The module claims to be thread-safe by holding no state; this
 * is where a shared buffer, a static or a racy errno would show.
 *
 * The test process sets up the chain and the agent, then runs itself with
 * "--worker" in a private mount namespace (unshare -m) where a test
 * nsswitch.conf ("passwd: files dpk") is bind-mounted over
 * /etc/nsswitch.conf, with LD_LIBRARY_PATH pointing glibc at the built
 * module (read by the dynamic loader at start-up, hence a new process).
 * The worker recomputes the expected names and ids from the documented
 * rules; its threads record mismatches and the main thread reports them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "chain.h"
#include "harness.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "crypto/idkey.h"
#include "eth/keccak.h"
#include "registry/registry.h"
#include "eth/txsend.h"

#define APPROVER_KEY DPK_TEST_APPROVER_KEY
#define DEVICE_KEY DPK_TEST_DEVICE_KEY
#define UID_MIN 2001000000u
#define UID_MAX 2099999999u
#define MAX_THREADS 64

/* The agent's policy: three of these are users, the rest are not. */
static const char *const listed[] = {"alice.example.org", "10.9.8.7", "unregistered.example.org"};

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], conf[128], sock[128], log[128], nssconf[128], cache[128];
	pid_t agent;
	uint8_t pub[65];
};

/* One-transaction registration of text for the device wallet. */
static void
register_identity(struct env *e, const char *text)
{
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, text, DPK_REGISTRY_ALG_P256, e->pub, 65);
}

/* ---- the documented rules (nss_dpk(8)), shared by both halves ---- */

static int
id_hash(const char *text, uint8_t h[32])
{
	struct dpk_identity id;

	if (dpk_identity_parse(text, strlen(text), &id) != 0 || dpk_identity_hash(&id, h) != 0)
		return -1;
	return 0;
}

/* nss_uid_min + the serial number: the registry numbers identities 1, 2,
 * ... in the order of their first approval, and setup() registers alice,
 * 10.9.8.7, bob in that order on a new registry. */
static uint32_t
serial_uid(uint64_t serial)
{
	return UID_MIN + (uint32_t)serial;
}

static void
hash_name(const char *text, char out[17])
{
	uint8_t h[32];

	if (id_hash(text, h) != 0 || dpk_hex_encode(h, 6, 0, out + 4, 13) != 0)
		abort();
	memcpy(out, "dpk-", 4);
}

/* ---- the worker: runs in the namespace, possibly under helgrind ---- */

struct user {
	char name[64], gecos[96], home[96];
	uint32_t uid;
};

struct shared {
	struct user users[3];
	const char *miss_names[4];
	uint32_t miss_ids[3];
	long iterations;
	atomic_long calls, failures;
	pthread_mutex_t mu;
	char first_failure[512];
};

struct worker {
	struct shared *s;
	int index;
	pthread_t th;
};

static void
failed(struct shared *s, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&s->failures, 1);
	pthread_mutex_lock(&s->mu);
	if (s->first_failure[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(s->first_failure, sizeof(s->first_failure), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&s->mu);
}

static void
check_pw(struct shared *s, const char *call, const struct user *u, int r, const struct passwd *pw)
{
	atomic_fetch_add(&s->calls, 1);
	if (r != 0 || pw == NULL) {
		failed(s, "%s(%s): returned %d (%s), result %p", call, u->name, r, strerror(r), (const void *)pw);
		return;
	}
	if (strcmp(pw->pw_name, u->name) != 0 || pw->pw_uid != u->uid || pw->pw_gid != u->uid ||
	    strcmp(pw->pw_passwd, "*") != 0 || strcmp(pw->pw_gecos, u->gecos) != 0 || strcmp(pw->pw_dir, u->home) != 0 ||
	    strcmp(pw->pw_shell, "/bin/bash") != 0)
		failed(s, "%s(%s): got %s:%s:%u:%u:%s:%s:%s, want uid %u", call, u->name, pw->pw_name, pw->pw_passwd,
		    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, pw->pw_gecos, pw->pw_dir, pw->pw_shell, u->uid);
}

static void
check_miss(struct shared *s, const char *call, const char *key, int r, const void *result)
{
	atomic_fetch_add(&s->calls, 1);
	/* a miss is 0 with no result; an error code here would be the module
	 * failing to answer (UNAVAIL), which must not happen with the agent up */
	if (r != 0 || result != NULL)
		failed(s, "%s(%s): want not found, got %d (%s), result %p", call, key, r, strerror(r), result);
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct shared *s = w->s;
	char buf[2048], key[16];
	struct passwd pw, *pwp;
	struct group gr, *grp;
	int r;

	for (long i = 0; i < s->iterations; i++) {
		/* each thread walks the cases from its own offset, so at any
		 * moment different threads ask different questions */
		size_t c = (size_t)(w->index + i) % 5;

		if (c < 3) {
			const struct user *u = &s->users[c];

			r = getpwnam_r(u->name, &pw, buf, sizeof(buf), &pwp);
			check_pw(s, "getpwnam_r", u, r, pwp);
			r = getpwuid_r(u->uid, &pw, buf, sizeof(buf), &pwp);
			check_pw(s, "getpwuid_r", u, r, pwp);
			r = getgrnam_r(u->name, &gr, buf, sizeof(buf), &grp);
			atomic_fetch_add(&s->calls, 1);
			if (r != 0 || grp == NULL)
				failed(s, "getgrnam_r(%s): returned %d (%s), result %p", u->name, r, strerror(r),
				    (void *)grp);
			else if (strcmp(gr.gr_name, u->name) != 0 || gr.gr_gid != u->uid || gr.gr_mem == NULL ||
			    gr.gr_mem[0] != NULL)
				failed(s, "getgrnam_r(%s): got %s gid %u, want gid %u and no members", u->name, gr.gr_name,
				    (unsigned)gr.gr_gid, u->uid);
		} else {
			size_t m = (size_t)(w->index + i / 5) % 4;
			uint32_t id = s->miss_ids[(size_t)(w->index + i) % 3];

			r = getpwnam_r(s->miss_names[m], &pw, buf, sizeof(buf), &pwp);
			check_miss(s, "getpwnam_r", s->miss_names[m], r, pwp);
			snprintf(key, sizeof(key), "%u", id);
			r = getpwuid_r(id, &pw, buf, sizeof(buf), &pwp);
			check_miss(s, "getpwuid_r", key, r, pwp);
			r = getgrnam_r(s->miss_names[m], &gr, buf, sizeof(buf), &grp);
			check_miss(s, "getgrnam_r", s->miss_names[m], r, grp);
		}
	}
	return NULL;
}

static void
user_set(struct user *u, const char *identity, const char *name, uint32_t uid)
{
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->gecos, sizeof(u->gecos), "DPK %s", identity);
	snprintf(u->home, sizeof(u->home), "/home/%s", name);
	u->uid = uid;
}

/* --worker THREADS ITERATIONS: 0 if every answer was right */
static int
worker_main(int argc, char **argv)
{
	static struct shared s;
	static struct worker w[MAX_THREADS];
	char hname[17], buf[2048];
	struct passwd pw, *pwp;
	long threads;
	int r;

	if (argc != 4 || (threads = strtol(argv[2], NULL, 10)) < 1 || threads > MAX_THREADS ||
	    (s.iterations = strtol(argv[3], NULL, 10)) < 1) {
		fprintf(stderr, "usage: test_nss_threads --worker THREADS ITERATIONS\n");
		return 2;
	}
	pthread_mutex_init(&s.mu, NULL);
	hash_name("10.9.8.7", hname);
	user_set(&s.users[0], "alice.example.org", "alice.example.org", serial_uid(1));
	user_set(&s.users[1], "10.9.8.7", hname, serial_uid(2));
	user_set(&s.users[2], "bob.corp.example", "bob.corp.example", serial_uid(3));
	/* registered but outside the policy; listed but not registered; under
	 * the suffix but not registered; not a user name at all */
	s.miss_names[0] = "outside.example.net";
	s.miss_names[1] = "unregistered.example.org";
	s.miss_names[2] = "carol.corp.example";
	s.miss_names[3] = "Alice.Example.ORG";
	s.miss_ids[0] = serial_uid(99); /* no such serial */
	s.miss_ids[1] = UID_MAX;
	s.miss_ids[2] = UID_MIN;         /* serial 0: never a uid */

	/* A suffix-admitted user is found by uid only once the agent has seen
	 * it by name (nss_dpk(8)): ask once before the threads start. This also
	 * has glibc load its modules here rather than inside the race. */
	r = getpwnam_r("bob.corp.example", &pw, buf, sizeof(buf), &pwp);
	if (r != 0 || pwp == NULL) {
		fprintf(stderr, "worker: bob.corp.example not found before the threads (%d)\n", r);
		return 1;
	}
	for (long i = 0; i < threads; i++) {
		w[i].s = &s;
		w[i].index = (int)i;
		if (pthread_create(&w[i].th, NULL, worker_run, &w[i]) != 0) {
			fprintf(stderr, "worker: pthread_create failed\n");
			return 1;
		}
	}
	for (long i = 0; i < threads; i++)
		pthread_join(w[i].th, NULL);
	printf("worker: %ld threads, %ld calls, %ld wrong\n", threads, atomic_load(&s.calls), atomic_load(&s.failures));
	if (atomic_load(&s.failures) != 0)
		fprintf(stderr, "worker: first wrong answer: %s\n", s.first_failure);
	pthread_mutex_destroy(&s.mu);
	fflush(stdout);
	/* Skip the exit handlers: libp11-kit (linked in through curl and
	 * OpenSSL for the test half, never loaded by the module) destroys a
	 * static mutex at exit that helgrind calls invalid. The module's one
	 * destructor only unmaps its cache file, which exit does anyway. */
	_exit(atomic_load(&s.failures) != 0 ? 1 : 0);
}

/* ---- the test: chain, agent, then the worker twice ---- */

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *url;
	struct dpk_idkey *k;
	struct dpk_buf pub;
	char agent[512], addr[43];
	FILE *f;

	dpk_test_anvil_start(&e->anvil, NULL);
	url = e->anvil.url;
	assert_int_equal(dpk_rpc_new(&e->rpc, &url, 1, NULL), 0);
	dpk_test_wallet(DPK_TEST_DEV_KEY, &e->owner);
	dpk_test_wallet(APPROVER_KEY, &e->approver);
	dpk_test_wallet(DEVICE_KEY, &e->device);
	dpk_test_deploy(e->rpc, &e->owner, &e->approver, e->contract);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
	memcpy(e->pub, pub.data, 65);
	dpk_buf_free(&pub);
	dpk_idkey_free(k);
	register_identity(e, "alice.example.org");
	register_identity(e, "10.9.8.7");
	register_identity(e, "bob.corp.example");
	register_identity(e, "outside.example.net");

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/dpk.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/agent.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/agent.log", e->dir);
	snprintf(e->nssconf, sizeof(e->nssconf), "%s/nsswitch.conf", e->dir);
	snprintf(e->cache, sizeof(e->cache), "%s/nss.cache", e->dir);
	f = fopen(e->nssconf, "w");
	fprintf(f, "passwd: files dpk\ngroup: files dpk\nshadow: files\nhosts: files\n");
	fclose(f);
	dpk_wallet_address_format(e->contract, addr);
	f = fopen(e->conf, "w");
	/* long cache lifetimes: the hits are served from the cache and the
	 * misses from the negative cache, so the threads race in the module
	 * and the socket, not on the chain's speed */
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/state\nsocket = %s\n"
	    "cache_ttl = 1h\nnegative_cache_ttl = 1h\nrequest_timeout = 1500ms\n"
	    "nss_allow = %s\nnss_allow = %s\nnss_allow = %s\nnss_allow_suffix = .corp.example\n"
	    "nss_cache_file = %s\n",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->sock, listed[0], listed[1], listed[2], e->cache);
	fclose(f);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", e->conf, NULL};
	e->agent = dpk_test_spawn(argv, e->log);
	if (dpk_test_wait_path(e->sock, 20000) != 0)
		fail_msg("dpk-agent did not start (see %s)", e->log);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e->agent > 0) {
		kill(e->agent, SIGKILL);
		waitpid(e->agent, NULL, 0);
	}
	dpk_test_anvil_stop(&e->anvil);
	dpk_rpc_free(e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run this program as a worker in a private mount namespace with the test
 * nsswitch.conf; under helgrind when asked; with the agent's cache file
 * (the memory-mapped path) or without (a path where there is none: the
 * socket answers everything). Its exit status; its output in out. */
static int
run_worker(struct env *e, int helgrind, int with_file, const char *threads, const char *iterations,
    struct dpk_buf *out)
{
	static const char script[] =
	    "mount --bind \"$1\" /etc/nsswitch.conf || exit 99\n"
	    "shift\n"
	    "exec env LD_LIBRARY_PATH=\"$DPK_TOP_BUILDDIR/nss_dpk/.libs\" DPK_AGENT_SOCKET=\"$DPK_SOCK\" "
	    "DPK_NSS_CACHE=\"$DPK_CACHE\" \"$@\"\n";
	char self[4096], nofile[160];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int r;

	assert_true(n > 0);
	self[n] = '\0';
	snprintf(nofile, sizeof(nofile), "%s/no-cache-file", e->dir);
	setenv("DPK_SOCK", e->sock, 1);
	setenv("DPK_CACHE", with_file ? e->cache : nofile, 1);
	if (helgrind) {
		char *argv[] = {(char *)"/usr/bin/unshare", (char *)"-m", (char *)"/bin/sh", (char *)"-c",
		    (char *)script, (char *)"sh", e->nssconf, (char *)"valgrind", (char *)"--tool=helgrind",
		    (char *)"--error-exitcode=77", (char *)"-q", self, (char *)"--worker", (char *)threads,
		    (char *)iterations, NULL};
		r = dpk_test_run(argv, NULL, out);
	} else {
		char *argv[] = {(char *)"/usr/bin/unshare", (char *)"-m", (char *)"/bin/sh", (char *)"-c",
		    (char *)script, (char *)"sh", e->nssconf, self, (char *)"--worker", (char *)threads,
		    (char *)iterations, NULL};
		r = dpk_test_run(argv, NULL, out);
	}
	assert_int_not_equal(r, 99);
	return r;
}

/* The worker: 16 threads x 200 rounds x 3 calls, every answer checked;
 * then under helgrind, where any race, lock-order or API-misuse report
 * fails (exit status 77). */
static void
threads_run(struct env *e, int with_file)
{
	const char *path = with_file ? "mmap cache file" : "socket";
	struct dpk_buf out;
	int64_t t0 = now_ms();
	int r;

	r = run_worker(e, 0, with_file, "16", "200", &out);
	dpk_test_chomp(&out);
	print_message("%s: %.*s (%lld ms)\n", path, (int)out.len, out.data ? (const char *)out.data : "",
	    (long long)(now_ms() - t0));
	assert_int_equal(r, 0);
	assert_non_null(memmem(out.data, out.len, "9600 calls, 0 wrong", 19));
	dpk_buf_free(&out);

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* valgrind cannot run a sanitizer-instrumented program; the plain
	 * build runs the helgrind half */
	print_message("helgrind: not in a sanitizer build\n");
	return;
#endif
	t0 = now_ms();
	r = run_worker(e, 1, with_file, "16", "200", &out);
	dpk_test_chomp(&out);
	print_message("helgrind, %s: %.*s (%lld ms)\n", path, (int)out.len, out.data ? (const char *)out.data : "",
	    (long long)(now_ms() - t0));
	if (r == 77)
		fail_msg("helgrind reported errors (its report is on this test's stderr)");
	assert_int_equal(r, 0);
	assert_non_null(memmem(out.data, out.len, "9600 calls, 0 wrong", 19));
	dpk_buf_free(&out);
}

static void
test_threads(void **state)
{
	struct env *e = *state;

	threads_run(e, 0);
	/* the socket run put every user into the file: the threads now share
	 * one mapping (misses still go to the socket) */
	threads_run(e, 1);
	/* and a file replaced while the threads read it: the first run with
	 * the file again, its users forgotten (a SIGHUP reloads the
	 * configuration, which empties the file and fills it again while the
	 * threads ask) */
	kill(e->agent, SIGHUP);
	threads_run(e, 1);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	if (argc > 1 && strcmp(argv[1], "--worker") == 0)
		return worker_main(argc, argv);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
