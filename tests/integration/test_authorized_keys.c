/* dpk-authorized-keys end to end: a real anvil with the registry, a real
 * dpk-agent whose nss policy admits some registered identities, and the
 * built program run as sshd runs it (a user name, the socket on the command
 * line, nothing in the environment).
 *
 * Covered: a domain user, a "dpk-" user of an IPv4 and of an IPv6 identity
 * (the GECOS spelling of IPv6) and an RSA identity each print exactly the
 * line `dpkctl lookup --openssh` prints; root, a local user, an identity
 * outside the policy and an unregistered one print nothing with status 0; a
 * revoked identity prints nothing within the poll interval; a stopped and a
 * hung agent give status 1 within the 2 s limit; a stale answer (chain down
 * past the cache TTL) gives 1 unless offline_login_max_age allows it; a hostile agent's malformed replies
 * (truncated, trailing garbage, embedded NUL, oversized, wrong type, uid 0)
 * give 1 and print nothing; wrong usage gives 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
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
#include "registry/registry.h"
#include "eth/txsend.h"

#define APPROVER_KEY DPK_TEST_APPROVER_KEY
#define DEVICE_KEY DPK_TEST_DEVICE_KEY

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], conf[128], sock[128], log[128];
	pid_t agent;
	struct dpk_buf p256, rsa; /* on-chain public keys */
};

static void
register_identity(struct env *e, const char *text, uint8_t alg, const struct dpk_buf *pub)
{
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, text, alg, pub->data, pub->len);
}

static void
revoke_identity(struct env *e, const char *text)
{
	dpk_test_revoke(e->rpc, e->contract, &e->approver, text);
}

/* "dpk-" and 12 hex digits of the identity hash (nss_dpk(8)) */
static void
hash_name(const char *text, char out[17])
{
	struct dpk_identity id;
	uint8_t h[32];

	assert_int_equal(dpk_identity_parse(text, strlen(text), &id), 0);
	assert_int_equal(dpk_identity_hash(&id, h), 0);
	memcpy(out, "dpk-", 4);
	assert_int_equal(dpk_hex_encode(h, 6, 0, out + 4, 13), 0);
}

static void
start_agent_ttl(struct env *e, const char *cache_ttl, const char *extra)
{
	char agent[512], addr[43];
	FILE *f = fopen(e->conf, "w");

	dpk_wallet_address_format(e->contract, addr);
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/state\nsocket = %s\n"
	    "cache_ttl = %s\nnegative_cache_ttl = 60s\npoll_interval = 200ms\nrpc_timeout = 500ms\n"
	    "request_timeout = 1500ms\n"
	    "nss_allow = alice.example.org\nnss_allow = 10.9.8.7\nnss_allow = 2001:db8::7\n"
	    "nss_allow = rsa.example.org\nnss_allow = gone.example.org\nnss_allow = unregistered.example.org\n%s",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->sock, cache_ttl, extra);
	fclose(f);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", e->conf, NULL};
	unlink(e->sock); /* a killed agent's socket: wait for the new one */
	e->agent = dpk_test_spawn(argv, e->log);
	if (dpk_test_wait_path(e->sock, 20000) != 0)
		fail_msg("dpk-agent did not start (see %s)", e->log);
}

static void
start_agent(struct env *e)
{
	start_agent_ttl(e, "60s", "");
}

static void
stop_agent(struct env *e)
{
	if (e->agent > 0) {
		kill(e->agent, SIGKILL);
		waitpid(e->agent, NULL, 0);
		e->agent = 0;
	}
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Run dpk-authorized-keys as sshd would: an empty environment, the socket
 * on the command line. Its exit status; stdout (not chomped) in line. */
static int
authorized_keys_opt(struct env *e, const char *opt, const char *user, char *line, size_t linesz)
{
	char prog[512];
	struct dpk_buf out;
	int r;

	dpk_test_built("ssh/dpk-authorized-keys", prog, sizeof(prog));
	char *argv[] = {(char *)"/usr/bin/env", (char *)"-i", prog, (char *)"-s", e->sock, (char *)user, NULL, NULL};
	if (opt != NULL) {
		argv[5] = (char *)opt;
		argv[6] = (char *)user;
	}
	r = dpk_test_run(argv, NULL, &out);
	snprintf(line, linesz, "%.*s", (int)out.len, out.data != NULL ? (const char *)out.data : "");
	dpk_buf_free(&out);
	return r;
}

static int
authorized_keys(struct env *e, const char *user, char *line, size_t linesz)
{
	return authorized_keys_opt(e, NULL, user, line, linesz);
}

/* What `dpkctl lookup IDENTITY --openssh` prints (with its newline). */
static void
dpkctl_openssh(struct env *e, const char *identity, char *line, size_t linesz)
{
	char prog[512];
	struct dpk_buf out;

	dpk_test_built("dpkctl/dpkctl", prog, sizeof(prog));
	char *argv[] = {prog, (char *)"-s", e->sock, (char *)"lookup", (char *)identity, (char *)"--openssh", NULL};
	assert_int_equal(dpk_test_run(argv, NULL, &out), 0);
	snprintf(line, linesz, "%.*s", (int)out.len, out.data != NULL ? (const char *)out.data : "");
	dpk_buf_free(&out);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *url;
	struct dpk_idkey *k;

	dpk_test_anvil_start(&e->anvil, NULL);
	url = e->anvil.url;
	assert_int_equal(dpk_rpc_new(&e->rpc, &url, 1, NULL), 0);
	dpk_test_wallet(DPK_TEST_DEV_KEY, &e->owner);
	dpk_test_wallet(APPROVER_KEY, &e->approver);
	dpk_test_wallet(DEVICE_KEY, &e->device);
	dpk_test_deploy(e->rpc, &e->owner, &e->approver, e->contract);

	dpk_buf_init(&e->p256, 4096);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	assert_int_equal(dpk_idkey_public_onchain(k, &e->p256), 0);
	dpk_idkey_free(k);
	dpk_buf_init(&e->rsa, 4096);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_RSA, 2048, &k), 0);
	assert_int_equal(dpk_idkey_public_onchain(k, &e->rsa), 0);
	dpk_idkey_free(k);

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/dpk.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/agent.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/agent.log", e->dir);

	register_identity(e, "alice.example.org", DPK_REGISTRY_ALG_P256, &e->p256);
	register_identity(e, "10.9.8.7", DPK_REGISTRY_ALG_P256, &e->p256);
	register_identity(e, "2001:db8::7", DPK_REGISTRY_ALG_P256, &e->p256);
	register_identity(e, "rsa.example.org", DPK_REGISTRY_ALG_RSA, &e->rsa);
	register_identity(e, "gone.example.org", DPK_REGISTRY_ALG_P256, &e->p256);
	register_identity(e, "outside.example.net", DPK_REGISTRY_ALG_P256, &e->p256);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	stop_agent(e);
	kill(e->anvil.pid, SIGCONT);
	dpk_test_anvil_stop(&e->anvil);
	dpk_rpc_free(e->rpc);
	dpk_buf_free(&e->p256);
	dpk_buf_free(&e->rsa);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
test_prints_the_lookup_key(void **state)
{
	struct env *e = *state;
	static const char *const ids[] = {"alice.example.org", "10.9.8.7", "2001:db8::7", "rsa.example.org"};
	char user[64], got[16384], want[16384];

	start_agent(e);
	for (size_t i = 0; i < 4; i++) {
		/* a domain identity is its own user name; the others are "dpk-" names */
		if (i == 0 || i == 3)
			snprintf(user, sizeof(user), "%s", ids[i]);
		else
			hash_name(ids[i], user);
		dpkctl_openssh(e, ids[i], want, sizeof(want));
		assert_int_equal(authorized_keys(e, user, got, sizeof(got)), 0);
		assert_string_equal(got, want);
		/* exactly one line of the documented key type */
		assert_true(strlen(got) > 0 && strchr(got, '\n') == got + strlen(got) - 1);
		assert_true(strncmp(got, i == 3 ? "ssh-rsa AAAA" : "ecdsa-sha2-nistp256 AAAA", i == 3 ? 12 : 24) == 0);
	}
}

static void
test_not_dpk_users_print_nothing(void **state)
{
	struct env *e = *state;
	static const char *const users[] = {"root", "nobody", "daemon", "outside.example.net",
	    "unregistered.example.org", "carol.example.org", "Alice.Example.ORG", "dpk-000000000000"};
	char got[16384];

	start_agent(e);
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		assert_int_equal(authorized_keys(e, users[i], got, sizeof(got)), 0);
		assert_string_equal(got, "");
	}
}

static void
test_revoked_prints_nothing(void **state)
{
	struct env *e = *state;
	char got[16384];
	int64_t t0;
	int rc = 0;

	start_agent(e);
	assert_int_equal(authorized_keys(e, "gone.example.org", got, sizeof(got)), 0);
	assert_true(strncmp(got, "ecdsa-sha2-nistp256 ", 20) == 0);
	revoke_identity(e, "gone.example.org");
	/* cache_ttl is 60 s, poll_interval 200 ms: the poll must drop it */
	t0 = now_ms();
	while (now_ms() - t0 < 5000 && (rc = authorized_keys(e, "gone.example.org", got, sizeof(got))) == 0 && got[0] != '\0')
		sleep_ms(100);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "");
	/* the others stay */
	assert_int_equal(authorized_keys(e, "alice.example.org", got, sizeof(got)), 0);
	assert_true(strncmp(got, "ecdsa-sha2-nistp256 ", 20) == 0);
}

static void
test_agent_down_fails_fast(void **state)
{
	struct env *e = *state;
	char got[16384];
	int64_t t0;

	start_agent(e);
	assert_int_equal(authorized_keys(e, "alice.example.org", got, sizeof(got)), 0);

	/* hung: accepts nothing, answers nothing; the watchdog ends it */
	kill(e->agent, SIGSTOP);
	t0 = now_ms();
	assert_int_equal(authorized_keys(e, "alice.example.org", got, sizeof(got)), 1);
	assert_string_equal(got, "");
	assert_true(now_ms() - t0 < 2500);
	kill(e->agent, SIGCONT);

	/* gone */
	stop_agent(e);
	t0 = now_ms();
	assert_int_equal(authorized_keys(e, "alice.example.org", got, sizeof(got)), 1);
	assert_string_equal(got, "");
	assert_true(now_ms() - t0 < 2500);
	/* root never needs the agent */
	assert_int_equal(authorized_keys(e, "root", got, sizeof(got)), 0);
}

/* The chain stops answering after the cache TTL: the agent's record is
 * stale, and the key is printed only within offline_login_max_age (the
 * same decision as pam_dpk's). */
static void
test_stale_only_within_offline_age(void **state)
{
	struct env *e = *state;
	char got[16384], want[16384];

	start_agent_ttl(e, "1s", "");
	dpkctl_openssh(e, "alice.example.org", want, sizeof(want));
	assert_int_equal(authorized_keys(e, "alice.example.org", got, sizeof(got)), 0);
	assert_string_equal(got, want);
	kill(e->anvil.pid, SIGSTOP);
	sleep_ms(1500);
	assert_int_equal(authorized_keys(e, "alice.example.org", got, sizeof(got)), 1);
	assert_string_equal(got, "");
	kill(e->anvil.pid, SIGCONT);
	stop_agent(e);

	start_agent_ttl(e, "1s", "offline_login_max_age = 1m\n");
	assert_int_equal(authorized_keys(e, "alice.example.org", got, sizeof(got)), 0);
	kill(e->anvil.pid, SIGSTOP);
	sleep_ms(1500);
	assert_int_equal(authorized_keys(e, "alice.example.org", got, sizeof(got)), 0);
	assert_string_equal(got, want);
	kill(e->anvil.pid, SIGCONT);
}

/* A fake agent that answers every request on every connection with one
 * canned frame (u32 length | u8 type | body), for hostile replies. */
static pid_t
fake_agent(const char *path, const uint8_t *frame, size_t framelen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	assert_true(lfd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;) {
			int fd = accept(lfd, NULL, NULL);
			uint8_t req[4096];

			if (fd < 0)
				_exit(0);
			while (read(fd, req, sizeof(req)) > 0)
				if (write(fd, frame, framelen) != (ssize_t)framelen)
					break;
			close(fd);
		}
	}
	close(lfd);
	return pid;
}

static void
put_str(struct dpk_buf *b, const char *s, size_t n)
{
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

	assert_int_equal(dpk_buf_put(b, len, 4), 0);
	assert_int_equal(dpk_buf_put(b, s, n), 0);
}

/* A GETPWNAM reply frame: found, name, uid, gid, gecos, home, shell, then
 * extra bytes. trunc > 0 cuts that many bytes off the body's end. */
static void
passwd_frame(struct dpk_buf *f, uint8_t type, uint8_t found, const char *name, size_t namelen, uint32_t uid,
    const char *gecos, const char *extra, size_t extralen, size_t trunc)
{
	uint8_t u[4] = {(uint8_t)(uid >> 24), (uint8_t)(uid >> 16), (uint8_t)(uid >> 8), (uint8_t)uid};
	struct dpk_buf body;
	size_t n;

	dpk_buf_init(&body, 1 << 20);
	assert_int_equal(dpk_buf_put(&body, &found, 1), 0);
	if (name != NULL) {
		put_str(&body, name, namelen);
		assert_int_equal(dpk_buf_put(&body, u, 4), 0);
		assert_int_equal(dpk_buf_put(&body, u, 4), 0);
		put_str(&body, gecos, strlen(gecos));
		put_str(&body, "/home/x", 7);
		put_str(&body, "/bin/sh", 7);
	}
	if (extralen > 0)
		assert_int_equal(dpk_buf_put(&body, extra, extralen), 0);
	n = body.len - trunc + 1;
	dpk_buf_init(f, 1 << 20);
	uint8_t hdr[5] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type};
	assert_int_equal(dpk_buf_put(f, hdr, 5), 0);
	assert_int_equal(dpk_buf_put(f, body.data, body.len - trunc), 0);
	dpk_buf_free(&body);
}

/* Malformed or impossible replies: status 1, nothing printed, no crash;
 * a well-formed "not found" (checked first, so the fake is known to work)
 * is status 0. */
static void
test_hostile_agent(void **state)
{
	struct env e;
	char got[16384], gecos_long[5000];
	struct dpk_buf f;
	static const uint8_t huge[] = {0, 0x10, 0, 1, 0x86, 0};
	static const uint8_t wrong_type[] = {0, 0, 0, 2, 0x83, 0};
	static const uint8_t empty[] = {0, 0, 0, 1, 0x86};
	struct {
		const char *what;
		uint8_t type, found;
		const char *name;
		size_t namelen;
		uint32_t uid;
		const char *gecos, *extra;
		size_t extralen, trunc;
		int want;
	} cases[] = {
		{"not found", 0x86, 0, NULL, 0, 0, NULL, NULL, 0, 0, 0},
		{"not found, trailing garbage", 0x86, 0, NULL, 0, 0, NULL, "x", 1, 0, 1},
		{"found 2", 0x86, 2, NULL, 0, 0, NULL, NULL, 0, 0, 1},
		{"truncated", 0x86, 1, "alice.example.org", 17, 200000, "DPK alice.example.org", NULL, 0, 3, 1},
		{"trailing garbage", 0x86, 1, "alice.example.org", 17, 200000, "DPK alice.example.org", "zz", 2, 0, 1},
		{"embedded NUL", 0x86, 1, "alice\0example.org", 17, 200000, "DPK alice.example.org", NULL, 0, 0, 1},
		{"uid 0", 0x86, 1, "alice.example.org", 17, 0, "DPK alice.example.org", NULL, 0, 0, 1},
		{"no identity in GECOS", 0x86, 1, "alice.example.org", 17, 200000, "Alice", NULL, 0, 0, 1},
		{"oversized GECOS", 0x86, 1, "alice.example.org", 17, 200000, gecos_long, NULL, 0, 0, 1},
		/* the re-ask matches, then LOOKUP gets a GETPWNAM reply */
		{"wrong reply to LOOKUP", 0x86, 1, "alice.example.org", 17, 200000, "DPK alice.example.org", NULL, 0, 0, 1},
	};

	(void)state;
	memset(&e, 0, sizeof(e));
	memcpy(gecos_long, "DPK ", 4);
	memset(gecos_long + 4, 'a', sizeof(gecos_long) - 5);
	gecos_long[sizeof(gecos_long) - 1] = '\0';
	dpk_test_tmpdir(e.dir, sizeof(e.dir));
	snprintf(e.sock, sizeof(e.sock), "%s/fake.sock", e.dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t pid;
		int rc;

		passwd_frame(&f, cases[i].type, cases[i].found, cases[i].name, cases[i].namelen, cases[i].uid,
		    cases[i].gecos, cases[i].extra, cases[i].extralen, cases[i].trunc);
		pid = fake_agent(e.sock, f.data, f.len);
		rc = authorized_keys(&e, "alice.example.org", got, sizeof(got));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		dpk_buf_free(&f);
		if (rc != cases[i].want || got[0] != '\0')
			fail_msg("%s: status %d (want %d), output '%s'", cases[i].what, rc, cases[i].want, got);
	}
	const uint8_t *raw[] = {huge, wrong_type, empty};
	size_t rawlen[] = {sizeof(huge), sizeof(wrong_type), sizeof(empty)};
	for (size_t i = 0; i < 3; i++) {
		pid_t pid = fake_agent(e.sock, raw[i], rawlen[i]);
		int rc = authorized_keys(&e, "alice.example.org", got, sizeof(got));

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (rc != 1 || got[0] != '\0')
			fail_msg("raw frame %zu: status %d, output '%s'", i, rc, got);
	}
	dpk_test_rmtree(e.dir);
}

static void
test_usage(void **state)
{
	char prog[512];

	(void)state;
	dpk_test_built("ssh/dpk-authorized-keys", prog, sizeof(prog));
	char *none[] = {prog, NULL};
	char *two[] = {prog, (char *)"a", (char *)"b", NULL};
	char *bad[] = {prog, (char *)"-x", (char *)"a", NULL};
	assert_int_equal(dpk_test_run(none, NULL, NULL), 2);
	assert_int_equal(dpk_test_run(two, NULL, NULL), 2);
	assert_int_equal(dpk_test_run(bad, NULL, NULL), 2);
	/* --help: the usage on stdout, status 0 */
	char *help[] = {prog, (char *)"--help", NULL};
	struct dpk_buf out;
	assert_int_equal(dpk_test_run(help, NULL, &out), 0);
	assert_non_null(strstr((const char *)out.data, "usage: dpk-authorized-keys"));
	dpk_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prints_the_lookup_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_dpk_users_print_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_prints_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_down_fails_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_only_within_offline_age, setup, teardown),
		cmocka_unit_test(test_hostile_agent),
		cmocka_unit_test(test_usage),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
