/* nss_dpk end to end: a real anvil with the registry, a real dpk-agent whose
 * policy admits some registered identities, and the stock getent and id
 * resolving through libnss_dpk.so.2. Each command runs in a private mount
 * namespace (unshare -m) where a test nsswitch.conf is bind-mounted over
 * /etc/nsswitch.conf; the machine's /etc never changes. glibc finds the
 * built module through LD_LIBRARY_PATH (getent and id are not setuid).
 *
 * Covered: names, uids and groups by the documented rules (recomputed here
 * from nss_dpk(8), not taken from the agent's code), identities outside the
 * policy or not registered (not found), a suffix-admitted identity, a
 * revoked identity disappearing within the poll interval, a shared primary
 * group, the agent stopped (DPK users fail fast, local users still resolve),
 * and the chain stopped (UNAVAIL, not NOTFOUND, through the module itself). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "base/err.h"
#include "chain.h"
#include "harness.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "crypto/idkey.h"
#include "eth/keccak.h"
#include "proto.h"
#include "registry/registry.h"
#include "eth/txsend.h"

#define APPROVER_KEY DPK_TEST_APPROVER_KEY
#define DEVICE_KEY DPK_TEST_DEVICE_KEY
#define UID_MIN 2001000000u
#define UID_MAX 2099999999u

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

static void
revoke_identity(struct env *e, const char *text)
{
	dpk_test_revoke(e->rpc, e->contract, &e->approver, text);
}

static void
id_hash(const char *text, uint8_t h[32])
{
	struct dpk_identity id;

	assert_int_equal(dpk_identity_parse(text, strlen(text), &id), 0);
	assert_int_equal(dpk_identity_hash(&id, h), 0);
}

static struct env *the_env; /* for chain_uid */

/* The documented uid rule of nss_dpk(8): nss_uid_min + the identity's
 * serial number, read from the registry here. */
static uint32_t
chain_uid(const char *text)
{
	return dpk_test_serial_uid(the_env->rpc, the_env->contract, UID_MIN, text);
}

static void
expected_hash_name(const char *text, char out[17])
{
	uint8_t h[32];

	id_hash(text, h);
	memcpy(out, "dpk-", 4);
	assert_int_equal(dpk_hex_encode(h, 6, 0, out + 4, 13), 0);
}

static void
write_conf(struct env *e, const char *ttl, const char *poll, const char *extra)
{
	char addr[43];
	FILE *f = fopen(e->conf, "w");

	dpk_wallet_address_format(e->contract, addr);
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/state\nsocket = %s\n"
	    "cache_ttl = %s\nnegative_cache_ttl = 60s\npoll_interval = %s\nrpc_timeout = 500ms\n"
	    "request_timeout = 1500ms\n"
	    "nss_allow = alice.example.org\nnss_allow = 10.9.8.7\nnss_allow = gone.example.org\n"
	    "nss_allow = unregistered.example.org\nnss_allow_suffix = .corp.example\n%s",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->sock, ttl, poll, extra);
	fclose(f);
}

static void
start_agent_ttl(struct env *e, const char *ttl, const char *poll, const char *extra)
{
	char agent[512];

	write_conf(e, ttl, poll, extra);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", e->conf, NULL};
	e->agent = dpk_test_spawn(argv, e->log);
	if (dpk_test_wait_path(e->sock, 20000) != 0)
		fail_msg("dpk-agent did not start (see %s)", e->log);
}

static void
start_agent(struct env *e, const char *extra)
{
	start_agent_ttl(e, "60s", "200ms", extra);
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

/* Run a command with the test nsswitch.conf in a private mount namespace;
 * its exit status, stdout in out (chomped). A sanitizer build of the module
 * needs its runtime loaded first into the uninstrumented getent. */
static int
run_nss(struct env *e, struct dpk_buf *out, const char *cmd, const char *arg1, const char *arg2)
{
	static const char script[] =
	    "so=\"$DPK_TOP_BUILDDIR/nss_dpk/.libs/libnss_dpk.so.2\"\n"
	    "pre=$(ldd \"$so\" | awk '/lib(a|ub)san/ {print $3}' | tr '\\n' ' ')\n"
	    "mount --bind \"$1\" /etc/nsswitch.conf || exit 99\n"
	    "shift\n"
	    "exec env LD_LIBRARY_PATH=\"$DPK_TOP_BUILDDIR/nss_dpk/.libs\" LD_PRELOAD=\"$pre\" "
	    "ASAN_OPTIONS=detect_leaks=0 DPK_AGENT_SOCKET=\"$DPK_SOCK\" DPK_NSS_CACHE=\"$DPK_CACHE\" \"$@\"\n";
	char *argv[] = {(char *)"/usr/bin/unshare", (char *)"-m", (char *)"/bin/sh", (char *)"-c", (char *)script,
	    (char *)"sh", e->nssconf, (char *)cmd, (char *)arg1, (char *)arg2, NULL};
	int r;

	setenv("DPK_SOCK", e->sock, 1);
	setenv("DPK_CACHE", e->cache, 1);
	r = dpk_test_run(argv, NULL, out);
	dpk_test_chomp(out);
	assert_int_not_equal(r, 99);
	return r;
}

static int
getent(struct env *e, const char *db, const char *key, char *line, size_t linesz)
{
	struct dpk_buf out;
	int r = run_nss(e, &out, "/usr/bin/getent", db, key);

	snprintf(line, linesz, "%.*s", (int)out.len, out.data ? (const char *)out.data : "");
	dpk_buf_free(&out);
	return r;
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *url;
	struct dpk_idkey *k;
	struct dpk_buf pub;
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

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/dpk.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/agent.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/agent.log", e->dir);
	snprintf(e->nssconf, sizeof(e->nssconf), "%s/nsswitch.conf", e->dir);
	/* written only where a test turns nss_cache_file on */
	snprintf(e->cache, sizeof(e->cache), "%s/nss.cache", e->dir);
	f = fopen(e->nssconf, "w");
	fprintf(f, "passwd: files dpk\ngroup: files dpk\nshadow: files\nhosts: files\n");
	fclose(f);

	register_identity(e, "alice.example.org");
	register_identity(e, "10.9.8.7");
	register_identity(e, "gone.example.org");
	register_identity(e, "bob.corp.example");
	register_identity(e, "outside.example.net");
	*state = e;
	the_env = e;
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
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_getent_and_id(void **state)
{
	struct env *e = *state;
	char line[1024], want[1024], key[32], hname[17];
	uint32_t alice = chain_uid("alice.example.org"), ip = chain_uid("10.9.8.7");
	struct dpk_buf out;

	start_agent(e, "");

	/* by name and by uid: the same line, the documented name and uid */
	snprintf(want, sizeof(want), "alice.example.org:*:%u:%u:DPK alice.example.org:/home/alice.example.org:/bin/bash",
	    alice, alice);
	assert_int_equal(getent(e, "passwd", "alice.example.org", line, sizeof(line)), 0);
	assert_string_equal(line, want);
	snprintf(key, sizeof(key), "%u", alice);
	assert_int_equal(getent(e, "passwd", key, line, sizeof(line)), 0);
	assert_string_equal(line, want);

	/* an IPv4 identity: "dpk-" + 12 hex digits of its hash; found by that
	 * name and by its uid, never by the identity's text (no alias names) */
	expected_hash_name("10.9.8.7", hname);
	snprintf(want, sizeof(want), "%s:*:%u:%u:DPK 10.9.8.7:/home/%s:/bin/bash", hname, ip, ip, hname);
	assert_int_equal(getent(e, "passwd", hname, line, sizeof(line)), 0);
	assert_string_equal(line, want);
	assert_int_equal(getent(e, "passwd", "10.9.8.7", line, sizeof(line)), 2);
	snprintf(key, sizeof(key), "%u", ip);
	assert_int_equal(getent(e, "passwd", key, line, sizeof(line)), 0);
	assert_string_equal(line, want);

	/* each user's private group */
	snprintf(want, sizeof(want), "alice.example.org:*:%u:", alice);
	assert_int_equal(getent(e, "group", "alice.example.org", line, sizeof(line)), 0);
	assert_string_equal(line, want);
	snprintf(key, sizeof(key), "%u", alice);
	assert_int_equal(getent(e, "group", key, line, sizeof(line)), 0);
	assert_string_equal(line, want);

	/* id: passwd, then initgroups and the group names */
	assert_int_equal(run_nss(e, &out, "/usr/bin/id", "alice.example.org", NULL), 0);
	snprintf(want, sizeof(want), "uid=%u(alice.example.org) gid=%u(alice.example.org) groups=%u(alice.example.org)",
	    alice, alice, alice);
	assert_string_equal((const char *)out.data, want);
	dpk_buf_free(&out);

	/* admitted by nss_allow_suffix: found by name, then by uid */
	uint32_t bob = chain_uid("bob.corp.example");
	assert_int_equal(getent(e, "passwd", "bob.corp.example", line, sizeof(line)), 0);
	snprintf(want, sizeof(want), "bob.corp.example:*:%u:%u:DPK bob.corp.example:/home/bob.corp.example:/bin/bash",
	    bob, bob);
	assert_string_equal(line, want);
	snprintf(key, sizeof(key), "%u", bob);
	assert_int_equal(getent(e, "passwd", key, line, sizeof(line)), 0);
	assert_string_equal(line, want);

	/* registered but outside the policy; in the policy but not registered;
	 * not an identity in any spelling the agent accepts: not found (2) */
	assert_int_equal(getent(e, "passwd", "outside.example.net", line, sizeof(line)), 2);
	assert_int_equal(getent(e, "passwd", "unregistered.example.org", line, sizeof(line)), 2);
	assert_int_equal(getent(e, "passwd", "carol.corp.example", line, sizeof(line)), 2);
	assert_int_equal(getent(e, "passwd", "Alice.Example.ORG", line, sizeof(line)), 2);
	snprintf(key, sizeof(key), "%u", UID_MIN + 999999u /* no such serial */);
	assert_int_equal(getent(e, "passwd", key, line, sizeof(line)), 2);
	assert_int_equal(getent(e, "passwd", "2099999999", line, sizeof(line)), 2);

	/* local users still come from files */
	assert_int_equal(getent(e, "passwd", "root", line, sizeof(line)), 0);
	assert_true(strncmp(line, "root:x:0:0:", 11) == 0);
}

static void
test_revoked_disappears(void **state)
{
	struct env *e = *state;
	char line[1024];
	int64_t t0;
	int rc = 0;

	start_agent(e, "");
	assert_int_equal(getent(e, "passwd", "gone.example.org", line, sizeof(line)), 0);
	revoke_identity(e, "gone.example.org");
	/* the cache TTL is 60 s; the poll interval 200 ms */
	t0 = now_ms();
	while (now_ms() - t0 < 5000 && (rc = getent(e, "passwd", "gone.example.org", line, sizeof(line))) == 0)
		sleep_ms(100);
	assert_int_equal(rc, 2);
	/* the others stay */
	assert_int_equal(getent(e, "passwd", "alice.example.org", line, sizeof(line)), 0);
}

static void
test_shared_group(void **state)
{
	struct env *e = *state;
	char line[1024], want[1024];
	uint32_t alice = chain_uid("alice.example.org");
	struct dpk_buf out;

	start_agent(e, "nss_gid = 5000\nnss_group = dpkusers\nnss_home = /srv/dpk/%u\nnss_shell = /bin/sh\n");
	snprintf(want, sizeof(want), "alice.example.org:*:%u:5000:DPK alice.example.org:/srv/dpk/alice.example.org:/bin/sh",
	    alice);
	assert_int_equal(getent(e, "passwd", "alice.example.org", line, sizeof(line)), 0);
	assert_string_equal(line, want);
	assert_int_equal(getent(e, "group", "dpkusers", line, sizeof(line)), 0);
	assert_string_equal(line, "dpkusers:*:5000:");
	assert_int_equal(getent(e, "group", "5000", line, sizeof(line)), 0);
	assert_string_equal(line, "dpkusers:*:5000:");
	assert_int_equal(getent(e, "group", "alice.example.org", line, sizeof(line)), 2);
	assert_int_equal(run_nss(e, &out, "/usr/bin/id", "alice.example.org", NULL), 0);
	snprintf(want, sizeof(want), "uid=%u(alice.example.org) gid=5000(dpkusers) groups=5000(dpkusers)", alice);
	assert_string_equal((const char *)out.data, want);
	dpk_buf_free(&out);
}

/* No agent: DPK users are not found, at once; local users still are. */
static void
test_agent_down(void **state)
{
	struct env *e = *state;
	char line[1024];
	int64_t t0;

	start_agent(e, "");
	assert_int_equal(getent(e, "passwd", "alice.example.org", line, sizeof(line)), 0);
	stop_agent(e);
	t0 = now_ms();
	assert_int_equal(getent(e, "passwd", "alice.example.org", line, sizeof(line)), 2);
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(getent(e, "passwd", "root", line, sizeof(line)), 0);
}

/* The chain stops answering: a name never read is UNAVAIL (the agent cannot
 * tell), not NOTFOUND; one read before is served from the cache. Asked
 * through the module itself, since getent shows both as exit status 2. */
static void
test_chain_down_is_unavail(void **state)
{
	typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
	struct env *e = *state;
	char so[4096], buf[1024];
	struct passwd pw;
	pwnam_fn pwnam;
	void *h;
	int err = 0;
	int64_t t0;

	start_agent(e, "");
	dpk_test_built("nss_dpk/.libs/libnss_dpk.so.2", so, sizeof(so));
	assert_non_null(h = dlopen(so, RTLD_NOW | RTLD_LOCAL));
	*(void **)&pwnam = dlsym(h, "_nss_dpk_getpwnam_r");
	setenv("DPK_AGENT_SOCKET", e->sock, 1);
	assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);

	kill(e->anvil.pid, SIGSTOP);
	usleep(100000); /* stopped before the agent asks it (a loaded machine may take a moment) */
	t0 = now_ms();
	assert_int_equal(pwnam("bob.corp.example", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_true(now_ms() - t0 < 1500); /* bounded by the module's timeout */
	assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	kill(e->anvil.pid, SIGCONT);
	unsetenv("DPK_AGENT_SOCKET");
	dlclose(h);
}

/* The agent's side of the protocol, asked directly: malformed bodies are
 * FAILURE (syntax), root and other spellings are "not found" without a
 * chain read, and an IPv6 identity is found by its "dpk-" name only. */
static void
test_agent_protocol(void **state)
{
	struct env *e = *state;
	struct dpk_client *c;
	uint8_t reply[4096], rtype;
	size_t n;
	char hname[17];
	static const uint8_t short_uid[] = {0, 3, 0x0d};
	static const uint8_t root[] = {0, 0, 0, 4, 'r', 'o', 'o', 't'};
	static const uint8_t v6[] = {0, 0, 0, 11, '2', '0', '0', '1', ':', 'd', 'b', '8', ':', ':', '7'};
	static const uint8_t v6long[] = {0, 0, 0, 15, '2', '0', '0', '1', ':', 'd', 'b', '8', ':', '0', ':', '0', ':', ':', '7'};

	register_identity(e, "2001:db8::7");
	start_agent(e, "nss_allow = 2001:db8::7\n");
	assert_int_equal(dpk_client_open(e->sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_call(c, DPK_MSG_GETPWUID, short_uid, sizeof(short_uid), &rtype, reply, sizeof(reply), &n),
	    DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, NULL), 10);
	assert_int_equal(dpk_client_call(c, DPK_MSG_GETPWNAM, root, sizeof(root), &rtype, reply, sizeof(reply), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(reply[0], 0);
	/* an IPv6 identity's text is not a user name (no alias names: a
	 * user has one name); its "dpk-" name finds it */
	assert_int_equal(dpk_client_call(c, DPK_MSG_GETPWNAM, v6, sizeof(v6), &rtype, reply, sizeof(reply), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(reply[0], 0);
	expected_hash_name("2001:db8::7", hname);
	{
		uint8_t req[20] = {0, 0, 0, 16};

		memcpy(req + 4, hname, 16);
		assert_int_equal(dpk_client_call(c, DPK_MSG_GETPWNAM, req, sizeof(req), &rtype, reply, sizeof(reply), &n), 0);
	}
	assert_int_equal(reply[0], 1);
	assert_memory_equal(reply + 5, hname, 16);
	/* the gecos field carries the address with '-' for ':' */
	assert_non_null(memmem(reply, n, "DPK 2001-db8--7", 15));
	/* another spelling of the same address is not a user name */
	assert_int_equal(dpk_client_call(c, DPK_MSG_GETPWNAM, v6long, sizeof(v6long), &rtype, reply, sizeof(reply), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(reply[0], 0);
	dpk_client_close(c);
}

static void
set_nsswitch(struct env *e, const char *text)
{
	FILE *f = fopen(e->nssconf, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The file holds name (the agent writes it after answering). */
static int
cache_has(struct env *e, const char *name)
{
	FILE *f = fopen(e->cache, "rb");
	char buf[65536];
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return memmem(buf, n, name, strlen(name)) != NULL;
}

static void
wait_cache_has(struct env *e, const char *name, int want)
{
	int64_t t0 = now_ms();

	while (cache_has(e, name) != want) {
		if (now_ms() - t0 > 5000)
			fail_msg("the cache file %s %s %s after 5 s", e->cache, want ? "does not hold" : "still holds", name);
		sleep_ms(20);
	}
}

/* The memory-mapped cache file through the real module, getent and id:
 * answers while the agent cannot (stopped), a corrupt file is UNAVAIL (not
 * NOTFOUND, and not silently passed over to the agent), a removed file
 * leaves the socket, an expired entry is asked again and the answer is
 * fresh (a revocation the file could not know), and the agent removes the
 * file when it stops. */
static void
test_cache_file(void **state)
{
	typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
	struct env *e = *state;
	char line[1024], want[1024], key[32], so[4096], buf[1024];
	uint32_t alice = chain_uid("alice.example.org");
	struct dpk_buf out;
	struct passwd pw;
	pwnam_fn pwnam;
	void *h;
	int err = 0;
	int64_t t0;
	FILE *f;

	/* events are not polled (1 h): only the expiry can make the file's
	 * answers go */
	snprintf(line, sizeof(line), "nss_cache_file = %s\n", e->cache);
	start_agent_ttl(e, "3s", "1h", line);
	/* the agent starts with an empty file */
	wait_cache_has(e, "DPKNSSC", 1);
	snprintf(want, sizeof(want), "alice.example.org:*:%u:%u:DPK alice.example.org:/home/alice.example.org:/bin/bash",
	    alice, alice);
	assert_int_equal(getent(e, "passwd", "alice.example.org", line, sizeof(line)), 0);
	assert_string_equal(line, want);
	wait_cache_has(e, "alice.example.org", 1);
	{
		struct stat st;

		/* readable by every program that resolves users, written by root alone */
		assert_int_equal(stat(e->cache, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0644);
		assert_int_equal(st.st_uid, 0);
	}
	{
		struct stat before, after;

		/* a new user goes into the same file, in place: no rewrite */
		assert_int_equal(stat(e->cache, &before), 0);
		assert_int_equal(getent(e, "passwd", "bob.corp.example", line, sizeof(line)), 0);
		wait_cache_has(e, "bob.corp.example", 1);
		assert_int_equal(stat(e->cache, &after), 0);
		assert_true(before.st_ino == after.st_ino && before.st_dev == after.st_dev);
	}

	/* the agent frozen: answers come from the file, at once */
	kill(e->agent, SIGSTOP);
	t0 = now_ms();
	assert_int_equal(getent(e, "passwd", "alice.example.org", line, sizeof(line)), 0);
	assert_string_equal(line, want);
	snprintf(key, sizeof(key), "%u", alice);
	assert_int_equal(getent(e, "passwd", key, line, sizeof(line)), 0);
	assert_string_equal(line, want);
	snprintf(want, sizeof(want), "alice.example.org:*:%u:", alice);
	assert_int_equal(getent(e, "group", "alice.example.org", line, sizeof(line)), 0);
	assert_string_equal(line, want);
	assert_int_equal(getent(e, "group", key, line, sizeof(line)), 0);
	assert_int_equal(run_nss(e, &out, "/usr/bin/id", "alice.example.org", NULL), 0);
	snprintf(want, sizeof(want), "uid=%u(alice.example.org) gid=%u(alice.example.org) groups=%u(alice.example.org)",
	    alice, alice, alice);
	assert_string_equal((const char *)out.data, want);
	dpk_buf_free(&out);
	/* five commands, none waited for the agent's 1 s timeout */
	assert_true(now_ms() - t0 < 4000);

	/* corrupt: UNAVAIL from the module (getent shows it as 2, like any miss) */
	dpk_test_built("nss_dpk/.libs/libnss_dpk.so.2", so, sizeof(so));
	assert_non_null(h = dlopen(so, RTLD_NOW | RTLD_LOCAL));
	*(void **)&pwnam = dlsym(h, "_nss_dpk_getpwnam_r");
	setenv("DPK_AGENT_SOCKET", e->sock, 1);
	setenv("DPK_NSS_CACHE", e->cache, 1);
	assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	{
		char tmp[160];

		snprintf(tmp, sizeof(tmp), "%s.bad", e->cache);
		assert_non_null(f = fopen(tmp, "wb"));
		fputs("DPKNSSC\n this is not a cache file", f);
		fclose(f);
		chmod(tmp, 0644);
		assert_int_equal(rename(tmp, e->cache), 0);
	}
	t0 = now_ms();
	assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(err, EPROTO);
	assert_true(now_ms() - t0 < 500); /* the frozen agent was not asked */
	assert_int_equal(getent(e, "passwd", "alice.example.org", line, sizeof(line)), 2);
	assert_int_equal(getent(e, "passwd", "root", line, sizeof(line)), 0);
	/* what glibc makes of it: UNAVAIL, not NOTFOUND, for any plausible
	 * name (a local one here, asked of dpk first) */
	set_nsswitch(e, "passwd: dpk [UNAVAIL=return] files\n");
	assert_int_equal(getent(e, "passwd", "daemon", line, sizeof(line)), 2);
	set_nsswitch(e, "passwd: dpk [NOTFOUND=return] files\n");
	assert_int_equal(getent(e, "passwd", "daemon", line, sizeof(line)), 0);
	set_nsswitch(e, "passwd: files dpk\ngroup: files dpk\n");

	/* the agent again: the corrupt file stays refused until the agent
	 * rewrites it; removed, the socket answers */
	kill(e->agent, SIGCONT);
	assert_int_equal(unlink(e->cache), 0);
	assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(getent(e, "passwd", "gone.example.org", line, sizeof(line)), 0);
	wait_cache_has(e, "gone.example.org", 1);

	/* revoked on chain; no event read (poll_interval 1 h): the file keeps
	 * it until its expiry (cache_ttl 3 s), then the agent is asked again
	 * and the answer is fresh */
	revoke_identity(e, "gone.example.org");
	t0 = now_ms();
	int rc = 0;
	while (now_ms() - t0 < 8000 && (rc = getent(e, "passwd", "gone.example.org", line, sizeof(line))) == 0)
		sleep_ms(200);
	assert_int_equal(rc, 2);
	assert_true(now_ms() - t0 >= 1000); /* served from the file first */
	wait_cache_has(e, "gone.example.org", 0);

	/* turned off by a reload: the file goes; on again: it comes back */
	write_conf(e, "3s", "1h", "");
	kill(e->agent, SIGHUP);
	wait_cache_has(e, "DPKNSSC", 0);
	snprintf(line, sizeof(line), "nss_cache_file = %s\n", e->cache);
	write_conf(e, "3s", "1h", line);
	kill(e->agent, SIGHUP);
	wait_cache_has(e, "DPKNSSC", 1);

	/* a clean stop removes the file: nobody is vouched for by a stopped agent */
	kill(e->agent, SIGTERM);
	assert_true(dpk_test_wait_exit(e->agent, 5000) == 0);
	e->agent = 0;
	assert_int_equal(access(e->cache, F_OK), -1);
	unsetenv("DPK_AGENT_SOCKET");
	unsetenv("DPK_NSS_CACHE");
	dlclose(h);
}

/* nss_allow_pkm: two approvers (PKMs) on one registry, an identity
 * approved by each; only the one the configured PKM approved is a user. The
 * agent reads the approver from the record itself (getClientByHash), never
 * from the chain's logs. A key rotation by its controller keeps the approver;
 * a revocation ends it; a re-approval by someone else (here the owner) makes
 * the record name that one instead. */
static void
test_allow_pkm(void **state)
{
	struct env *e = *state;
	struct dpk_wallet pkm2;
	struct dpk_buf data;
	struct dpk_idkey *k;
	char line[1024], want[1024], extra[256], addr[43], key[32];
	uint8_t h[32];
	uint32_t p1;
	int64_t t0;
	int rc = 0;

	/* anvil's dev account 3 becomes the second approver */
	dpk_test_wallet("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6", &pkm2);
	dpk_buf_init(&data, 4096);
	assert_int_equal(dpk_registry_encode_add_approver(&data, pkm2.addr), 0);
	dpk_test_send(e->rpc, e->contract, &e->owner, &data);
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, "p1.example.net", DPK_REGISTRY_ALG_P256, e->pub, 65);
	dpk_test_register(e->rpc, e->contract, &pkm2, &e->device, "p2.example.net", DPK_REGISTRY_ALG_P256, e->pub, 65);
	p1 = chain_uid("p1.example.net");

	dpk_wallet_address_format(e->approver.addr, addr);
	snprintf(extra, sizeof(extra), "nss_allow_pkm = %s\n", addr);
	start_agent(e, extra);
	snprintf(want, sizeof(want), "p1.example.net:*:%u:%u:DPK p1.example.net:/home/p1.example.net:/bin/bash", p1, p1);
	assert_int_equal(getent(e, "passwd", "p1.example.net", line, sizeof(line)), 0);
	assert_string_equal(line, want);
	snprintf(key, sizeof(key), "%u", p1);
	assert_int_equal(getent(e, "passwd", key, line, sizeof(line)), 0);
	assert_string_equal(line, want);
	/* approved by the other PKM; not registered at all */
	assert_int_equal(getent(e, "passwd", "p2.example.net", line, sizeof(line)), 2);
	assert_int_equal(getent(e, "passwd", "p3.example.net", line, sizeof(line)), 2);
	/* the listed and suffix rules still hold beside it */
	assert_int_equal(getent(e, "passwd", "alice.example.org", line, sizeof(line)), 0);

	/* the controller rotates its key: the record's version moves on, its
	 * approver stays (the cache entry is dropped by the event and read again) */
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	{
		struct dpk_buf pub;

		dpk_buf_init(&pub, 4096);
		assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
		id_hash("p1.example.net", h);
		assert_int_equal(dpk_registry_encode_rotate(&data, h, DPK_REGISTRY_ALG_P256, pub.data, pub.len), 0);
		dpk_test_send(e->rpc, e->contract, &e->device, &data);
		dpk_buf_free(&pub);
	}
	dpk_idkey_free(k);
	sleep_ms(1000); /* several polls (200 ms): the entry was read again */
	assert_int_equal(getent(e, "passwd", "p1.example.net", line, sizeof(line)), 0);
	assert_string_equal(line, want);

	/* revoked: no longer a user */
	revoke_identity(e, "p1.example.net");
	t0 = now_ms();
	while (now_ms() - t0 < 5000 && (rc = getent(e, "passwd", "p1.example.net", line, sizeof(line))) == 0)
		sleep_ms(100);
	assert_int_equal(rc, 2);
	assert_int_equal(getent(e, "passwd", key, line, sizeof(line)), 2);

	/* the owner re-approves it (the one besides its approver who may): active
	 * again, but the record now names the owner, which is not listed */
	dpk_test_register(e->rpc, e->contract, &e->owner, &e->device, "p1.example.net", DPK_REGISTRY_ALG_P256, e->pub, 65);
	sleep_ms(1000); /* several polls: the event dropped the entry */
	assert_int_equal(getent(e, "passwd", "p1.example.net", line, sizeof(line)), 2);
	assert_int_equal(getent(e, "passwd", "p2.example.net", line, sizeof(line)), 2);
	/* an agent that lists the owner admits it (and still not p2) */
	stop_agent(e);
	unlink(e->sock);
	dpk_wallet_address_format(e->owner.addr, addr);
	snprintf(extra, sizeof(extra), "nss_allow_pkm = %s\n", addr);
	start_agent(e, extra);
	for (int i = 0; i < 5 && (rc = getent(e, "passwd", "p1.example.net", line, sizeof(line))) != 0; i++)
		sleep_ms(300);
	assert_int_equal(rc, 0);
	assert_string_equal(line, want);
	assert_int_equal(getent(e, "passwd", "p2.example.net", line, sizeof(line)), 2);
	dpk_buf_free(&data);
	dpk_wallet_clear(&pkm2);
}

/* Enumeration: `getent passwd` with no key lists the DPK users only with
 * nss_enumerate = yes: the listed identities that resolve, and those
 * admitted by a suffix once seen; never one outside the policy, not
 * registered, or revoked. */
static void
test_enumerate(void **state)
{
	struct env *e = *state;
	struct dpk_buf out;
	char want[1024], hname[17];
	uint32_t alice = chain_uid("alice.example.org"), ip = chain_uid("10.9.8.7");
	const char *text;

	/* off (the default): local users only */
	start_agent(e, "");
	assert_int_equal(run_nss(e, &out, "/usr/bin/getent", "passwd", NULL), 0);
	assert_non_null(strstr((const char *)out.data, "root:x:0:0:"));
	assert_null(strstr((const char *)out.data, "DPK "));
	dpk_buf_free(&out);
	assert_int_equal(run_nss(e, &out, "/usr/bin/getent", "group", NULL), 0);
	assert_null(strstr((const char *)out.data, "alice.example.org"));
	dpk_buf_free(&out);
	stop_agent(e);

	start_agent(e, "nss_enumerate = yes\n");
	/* a suffix user is listed once seen (the agent's first chain read can
	 * outlast the module's deadline in a sanitizer build: asked again) */
	for (int i = 0; i < 5 && run_nss(e, &out, "/usr/bin/getent", "passwd", "bob.corp.example") != 0; i++) {
		dpk_buf_free(&out);
		sleep_ms(300);
	}
	dpk_buf_free(&out);
	assert_int_equal(run_nss(e, &out, "/usr/bin/getent", "passwd", "bob.corp.example"), 0);
	dpk_buf_free(&out);
	/* the first listing reads the listed identities from the chain, waiting
	 * at most 750 ms: on a loaded machine a read can miss that, and the
	 * next listing has it */
	for (int i = 0;; i++) {
		assert_int_equal(run_nss(e, &out, "/usr/bin/getent", "passwd", NULL), 0);
		text = (const char *)out.data;
		if (i == 4 || (strstr(text, "\ngone.example.org:*:") != NULL && strstr(text, "\nalice.example.org:*:") != NULL))
			break;
		dpk_buf_free(&out);
		sleep_ms(300);
	}
	assert_non_null(strstr(text, "root:x:0:0:"));
	snprintf(want, sizeof(want), "\nalice.example.org:*:%u:%u:DPK alice.example.org:/home/alice.example.org:/bin/bash\n",
	    alice, alice);
	if (strstr(text, want) == NULL)
		fail_msg("alice.example.org not listed:\n%s", text);
	expected_hash_name("10.9.8.7", hname);
	snprintf(want, sizeof(want), "\n%s:*:%u:%u:DPK 10.9.8.7:", hname, ip, ip);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "\ngone.example.org:*:"));
	assert_non_null(strstr(text, "\nbob.corp.example:*:"));
	assert_null(strstr(text, "unregistered.example.org"));
	assert_null(strstr(text, "outside.example.net"));
	assert_null(strstr(text, "carol.corp.example"));
	/* each once: the agent resumes a listing where its last answer was */
	assert_null(strstr(strstr(text, "\nalice.example.org:*:") + 1, "\nalice.example.org:*:"));
	assert_null(strstr(strstr(text, "\nbob.corp.example:*:") + 1, "\nbob.corp.example:*:"));
	dpk_buf_free(&out);
	assert_int_equal(run_nss(e, &out, "/usr/bin/getent", "group", NULL), 0);
	snprintf(want, sizeof(want), "\nalice.example.org:*:%u:\n", alice);
	assert_non_null(strstr((const char *)out.data, want));
	dpk_buf_free(&out);

	/* revoked: gone from the listing within the poll interval */
	revoke_identity(e, "gone.example.org");
	int64_t t0 = now_ms();
	int listed = 1;
	while (listed && now_ms() - t0 < 5000) {
		assert_int_equal(run_nss(e, &out, "/usr/bin/getent", "passwd", NULL), 0);
		listed = strstr((const char *)out.data, "\ngone.example.org:") != NULL;
		dpk_buf_free(&out);
		if (listed)
			sleep_ms(100);
	}
	assert_false(listed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_getent_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_disappears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_down_is_unavail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_pkm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enumerate, setup, teardown),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
