/* dpkctl rotate and dpkctl revoke end to end: a real anvil with the
 * registry, real dpk-agents whose records are controlled by their own
 * wallets (funded on anvil), dpkctl.
 *
 * Covered: a rotation puts a new key on chain and in use (PUBKEY, the chain,
 * identity.pem agree; the backup is gone once confirmed), a peer's lookup
 * returns the new key and PSK handshakes work both ways with it; a kill -9
 * after the transaction is journalled and sent but before it is mined (and
 * so before the swap): the old key is still in use and on chain, and after
 * a restart the agent sends the same transaction, completes, and uses the
 * new key; a crash before the transaction (the journal and new key file a
 * crash there leaves): the old key stays and the new one is deleted, and a
 * damaged journal stops the agent; a receipt a hostile RPC forges for the
 * rotation it swallowed switches nothing, and the same transaction goes
 * through once the endpoint is honest; an unprivileged caller gets PERM for ROTATE and REVOKE
 * and changes nothing; revoke without a terminal and without --yes refuses
 * and changes nothing, with --yes the record is revoked, the agent reports
 * "revoked" (also after a restart), makes no handshakes, refuses to rotate,
 * and a peer's lookup says revoked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "chain.h"
#include "daemon/statedir.h"
#include "dpk/client.h"
#include "eth/rpc.h"
#include "harness.h"
#include "psk_env.h"
#include "registry/registry.h"
#include "../../client/proto.h"

/* A test control of the node (anvil's name; the harness translates it for
 * ganache) that must succeed; params is a JSON array text. */
static void
anvil_call(struct env *e, const char *method, const char *params)
{
	cJSON *p = cJSON_Parse(params);

	assert_non_null(p);
	cJSON_Delete(dpk_test_node_control(e->rpc, method, p));
}

/* Start agent i and register its key with its own wallet as the record's
 * controller (the wallet funded on anvil: it pays for rotate and revoke). */
static void
start_own(struct env *e, int i, const char *name)
{
	struct dpk_statedir sd = {0};
	struct dpk_client_pubkey pk;
	struct dpk_client *c;
	char dir[192], err[256], addr[43], params[160];

	psk_start_agent(e, i, name, 0, NULL);
	snprintf(dir, sizeof(dir), "%s/state", e->ag[i].dir);
	if (dpk_statedir_open(dir, DPK_IDKEY_P256, 2048, &sd, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	dpk_wallet_address_format(sd.wallet.addr, addr);
	snprintf(params, sizeof(params), "[\"%s\", \"0x56BC75E2D63100000\"]", addr);
	anvil_call(e, "anvil_setBalance", params);
	assert_int_equal(dpk_client_open(e->ag[i].sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_pubkey(c, &pk), 0);
	dpk_client_close(c);
	dpk_test_register(e->rpc, e->contract, &e->approver, &sd.wallet, name, pk.algorithm, pk.onchain,
	    pk.onchain_len);
	dpk_client_pubkey_free(&pk);
	dpk_statedir_close(&sd);
}

/* The agent's key (PUBKEY) into out (initialised here). */
static void
agent_key(const struct agent_proc *g, struct dpk_buf *out)
{
	struct dpk_client_pubkey pk;
	struct dpk_client *c;

	assert_int_equal(dpk_client_open(g->sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_pubkey(c, &pk), 0);
	dpk_client_close(c);
	dpk_buf_init(out, 8192);
	assert_int_equal(dpk_buf_put(out, pk.onchain, pk.onchain_len), 0);
	dpk_client_pubkey_free(&pk);
}

/* The record's key on chain (status into *status) into out. */
static void
chain_key(struct env *e, const char *name, struct dpk_buf *out, int *status)
{
	struct dpk_identity id;
	struct dpk_registry_record rec;

	assert_int_equal(dpk_identity_parse(name, strlen(name), &id), 0);
	assert_int_equal(dpk_registry_get_client(e->rpc, e->contract, &id, &rec), 0);
	dpk_buf_init(out, 8192);
	if (rec.publen > 0)
		assert_int_equal(dpk_buf_put(out, rec.pubkey, rec.publen), 0);
	*status = (int)rec.status;
	dpk_registry_record_free(&rec);
}

static int
same(const struct dpk_buf *a, const struct dpk_buf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static int
exists(const struct agent_proc *g, const char *file)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/state/%s", g->dir, file);
	return access(p, F_OK) == 0;
}

/* dpkctl in a session of its own (no controlling terminal: /dev/tty cannot be opened). */
static int
dpkctl_notty(const struct agent_proc *g, struct dpk_buf *out, const char *a1, const char *a2, const char *a3,
    const char *a4)
{
	char prog[512];
	char *argv[] = {(char *)"/usr/bin/setsid", (char *)"-w", prog, (char *)"--socket", (char *)g->sock, (char *)a1,
		(char *)a2, (char *)a3, (char *)a4, NULL};

	dpk_test_built("dpkctl/dpkctl", prog, sizeof(prog));
	return dpk_test_run(argv, NULL, out);
}

/* The "state" of dpkctl CMD --status --json. */
static void
keyop_state(const struct agent_proc *g, const char *cmd, char *state, size_t sz)
{
	struct dpk_buf out;
	cJSON *j, *s;

	assert_int_equal(psk_dpkctl(g, &out, cmd, "--status", "--json", NULL, NULL, NULL), 0);
	j = cJSON_Parse((const char *)out.data);
	assert_non_null(j);
	s = cJSON_GetObjectItem(j, "state");
	assert_true(cJSON_IsString(s));
	snprintf(state, sz, "%s", s->valuestring);
	cJSON_Delete(j);
	dpk_buf_free(&out);
}

static void
wait_state(const struct agent_proc *g, const char *cmd, const char *want)
{
	char st[64] = "";

	for (int i = 0; i < 300; i++) {
		keyop_state(g, cmd, st, sizeof(st));
		if (strcmp(st, want) == 0)
			return;
		psk_sleep_ms(100);
	}
	fail_msg("%s never reached '%s' (last '%s'; see %s)", cmd, want, st, g->log);
}

/* Peer j's lookup of agent i's identity returns key (within 10 s: its poll sees the event). */
static void
wait_peer_sees(const struct env *e, int j, int i, const struct dpk_buf *key, int want_status)
{
	for (int n = 0; n < 100; n++) {
		struct dpk_client_record rec;
		struct dpk_client *c;
		int r, ok = 0;

		assert_int_equal(dpk_client_open(e->ag[j].sock, 5000, 0, &c), 0);
		r = dpk_client_lookup(c, e->ag[i].name, &rec);
		dpk_client_close(c);
		if (r == 0) {
			ok = rec.status == want_status &&
			    (key == NULL || (rec.publen == key->len && memcmp(rec.pubkey, key->data, key->len) == 0));
			dpk_client_record_free(&rec);
		}
		if (ok)
			return;
		psk_sleep_ms(100);
	}
	fail_msg("%s never saw the new state of %s", e->ag[j].name, e->ag[i].name);
}

/* Restart agent i after a kill (same configuration and state). */
static void
restart(struct env *e, int i)
{
	struct agent_proc *g = &e->ag[i];
	char agent[512];
	char *argv[] = {agent, (char *)"-c", g->conf, NULL};

	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	g->pid = dpk_test_spawn(argv, g->log);
	for (int n = 0; n < 200; n++) {
		struct dpk_client_status st;
		struct dpk_client *c;

		if (dpk_client_open(g->sock, 1000, 0, &c) == 0) {
			int r = dpk_client_status(c, &st);

			dpk_client_close(c);
			if (r == 0 && dpk_test_wait_port(g->port, 100) == 0)
				return;
		}
		psk_sleep_ms(100);
	}
	fail_msg("dpk-agent %s did not restart (see %s)", g->name, g->log);
}

static void
kill9(struct agent_proc *g)
{
	int st;

	kill(g->pid, SIGKILL);
	assert_int_equal(waitpid(g->pid, &st, 0), g->pid);
	assert_true(WIFSIGNALED(st));
	g->pid = 0;
}

static void
handshake_ok(struct env *e, int i, int j)
{
	struct dpk_client_psk psk;
	char msg[256];

	if (psk_handshake(e, i, j, &psk, msg, sizeof(msg)) != 0)
		fail_msg("handshake %s -> %s: %s", e->ag[i].name, e->ag[j].name, msg);
	dpk_client_psk_clear(&psk);
}

static void
test_rotate_and_handshake(void **state)
{
	struct env *e = *state;
	struct dpk_buf before, after, onchain, out;
	int status;

	start_own(e, 0, "a.example.org");
	psk_start_agent(e, 1, "b.example.org", 1, NULL);
	handshake_ok(e, 0, 1);
	agent_key(&e->ag[0], &before);
	assert_int_equal(psk_dpkctl(&e->ag[0], &out, "rotate", "--yes", "--json", NULL, NULL, NULL), 0);
	assert_non_null(strstr((const char *)out.data, "\"state\":\t\"rotated\""));
	dpk_buf_free(&out);
	agent_key(&e->ag[0], &after);
	chain_key(e, "a.example.org", &onchain, &status);
	assert_int_equal(status, DPK_REGISTRY_ACTIVE);
	assert_false(same(&before, &after));
	assert_true(same(&after, &onchain));
	/* identity.pem is the new key; the backup went with the confirmation */
	{
		struct dpk_statedir sd = {0};
		struct dpk_buf file;
		char dir[192], err[256];

		snprintf(dir, sizeof(dir), "%s/state", e->ag[0].dir);
		assert_int_equal(dpk_statedir_open(dir, DPK_IDKEY_P256, 2048, &sd, err, sizeof(err)), 0);
		dpk_buf_init(&file, 8192);
		assert_int_equal(dpk_idkey_public_onchain(sd.idkey, &file), 0);
		assert_true(same(&file, &after));
		dpk_buf_free(&file);
		dpk_statedir_close(&sd);
	}
	assert_false(exists(&e->ag[0], "identity.pem.before-rotation"));
	assert_false(exists(&e->ag[0], "identity.pem.new"));
	/* the peer sees the new key; handshakes both ways use it */
	wait_peer_sees(e, 1, 0, &after, 1);
	handshake_ok(e, 0, 1);
	handshake_ok(e, 1, 0);
	/* again, to RSA: --algorithm */
	assert_int_equal(psk_dpkctl(&e->ag[0], &out, "rotate", "--yes", "--algorithm", "rsa", NULL, NULL), 0);
	dpk_buf_free(&out);
	dpk_buf_free(&onchain);
	chain_key(e, "a.example.org", &onchain, &status);
	{
		struct dpk_buf rsa;

		agent_key(&e->ag[0], &rsa);
		assert_true(same(&rsa, &onchain));
		assert_true(rsa.len > 200); /* a DER RSA key, not a 33-byte P-256 one */
		dpk_buf_free(&rsa);
	}
	/* the peer drops the P-256 key at its next poll: until then it refuses a's RSA signature */
	wait_peer_sees(e, 1, 0, &onchain, 1);
	handshake_ok(e, 0, 1);
	dpk_buf_free(&before);
	dpk_buf_free(&after);
	dpk_buf_free(&onchain);
}

/* kill -9 once the transaction is sent and before it is mined: the old key
 * stays until a restart completes the rotation with the same transaction. */
static void
test_rotate_restart(void **state)
{
	struct env *e = *state;
	struct dpk_buf before, mid, onchain, after, out;
	int status;

	start_own(e, 0, "a.example.org");
	psk_start_agent(e, 1, "b.example.org", 1, NULL);
	agent_key(&e->ag[0], &before);
	anvil_call(e, "evm_setAutomine", "[false]");
	assert_int_equal(psk_dpkctl(&e->ag[0], &out, "rotate", "--yes", "--no-wait", NULL, NULL, NULL), 0);
	dpk_buf_free(&out);
	wait_state(&e->ag[0], "rotate", "waiting for the transaction");
	psk_sleep_ms(500); /* sent to the node */
	kill9(&e->ag[0]);
	assert_true(exists(&e->ag[0], "identity.pem.new"));
	assert_true(exists(&e->ag[0], "key-operation"));
	chain_key(e, "a.example.org", &onchain, &status);
	assert_true(same(&before, &onchain)); /* not mined */
	dpk_buf_free(&onchain);
	restart(e, 0);
	agent_key(&e->ag[0], &mid);
	assert_true(same(&before, &mid)); /* the old key until the chain has the new one */
	dpk_buf_free(&mid);
	anvil_call(e, "evm_setAutomine", "[true]");
	anvil_call(e, "evm_mine", "[]");
	wait_state(&e->ag[0], "rotate", "rotated");
	agent_key(&e->ag[0], &after);
	chain_key(e, "a.example.org", &onchain, &status);
	assert_false(same(&before, &after));
	assert_true(same(&after, &onchain));
	assert_false(exists(&e->ag[0], "identity.pem.new"));
	wait_peer_sees(e, 1, 0, &after, 1);
	handshake_ok(e, 0, 1);
	dpk_buf_free(&before);
	dpk_buf_free(&after);
	dpk_buf_free(&onchain);
}

/* What a crash before the transaction leaves (a journal at "preparing" and a
 * new key file no transaction names): the agent drops both, keeps its key. */
static void
test_crash_before_send(void **state)
{
	struct env *e = *state;
	struct dpk_buf before, after, unused, onchain;
	char path[256];
	int status;

	start_own(e, 0, "a.example.org");
	psk_start_agent(e, 1, "b.example.org", 1, NULL);
	agent_key(&e->ag[0], &before);
	kill9(&e->ag[0]);
	snprintf(path, sizeof(path), "%s/state/identity.pem.new", e->ag[0].dir);
	dpk_test_new_key(path, DPK_IDKEY_P256, &unused);
	snprintf(path, sizeof(path), "%s/state/key-operation", e->ag[0].dir);
	dpk_test_write_file(path, "dpk-key-operation-v1\nop: rotate\nstep: 1\ndetail: making a new ECDSA P-256 key\n",
	    0600);
	restart(e, 0);
	agent_key(&e->ag[0], &after);
	assert_true(same(&before, &after));
	assert_false(exists(&e->ag[0], "identity.pem.new"));
	assert_false(exists(&e->ag[0], "key-operation"));
	chain_key(e, "a.example.org", &onchain, &status);
	assert_true(same(&before, &onchain));
	handshake_ok(e, 0, 1);
	/* a damaged journal: the agent refuses to start rather than guess */
	kill9(&e->ag[0]);
	dpk_test_write_file(path, "dpk-key-operation-v1\nop: rotate\nstep: 2\ntx-raw: zz\n", 0600);
	{
		char agent[512];
		char *argv[] = {agent, (char *)"-c", e->ag[0].conf, NULL};

		dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
		pid_t pid = dpk_test_spawn(argv, e->ag[0].log);
		assert_int_equal(dpk_test_wait_exit(pid, 10000), 1);
		assert_true(dpk_test_count_lines(e->ag[0].log, "key-operation is damaged") >= 1);
	}
	dpk_buf_free(&before);
	dpk_buf_free(&after);
	dpk_buf_free(&unused);
	dpk_buf_free(&onchain);
}

/* An RPC endpoint that swallows the rotation and forges a successful receipt
 * (tests/harness/hostile-rpc.mjs "receipt"): nothing switches; once the
 * endpoint is honest again the same transaction goes through. */
static void
test_forged_receipt(void **state)
{
	struct env *e = *state;
	struct dpk_buf before, mid, onchain, after, out, conf;
	char script[512], env[] = "/usr/bin/env", node[] = "node", port[16], modefile[160], log[160], url[64], st[64];
	int status, p = dpk_test_free_port();

	start_own(e, 0, "a.example.org");
	agent_key(&e->ag[0], &before);
	snprintf(script, sizeof(script), "%s/../harness/hostile-rpc.mjs", getenv("DPK_TEST_DATA"));
	snprintf(port, sizeof(port), "%d", p);
	snprintf(modefile, sizeof(modefile), "%s/mode", e->dir);
	snprintf(log, sizeof(log), "%s/hostile.log", e->dir);
	dpk_test_write_file(modefile, "receipt\n", 0644);
	char *argv[] = {env, node, script, port, e->anvil.url, modefile, NULL};
	pid_t proxy = dpk_test_spawn(argv, log);
	if (dpk_test_wait_port(p, 10000) != 0)
		fail_msg("hostile-rpc.mjs did not start (see %s)", log);
	/* the agent through the proxy */
	kill9(&e->ag[0]);
	{
		char *cat[] = {(char *)"/bin/cat", e->ag[0].conf, NULL}, *at;
		char text[4096];

		dpk_test_run(cat, NULL, &conf);
		at = strstr((const char *)conf.data, e->anvil.url);
		assert_non_null(at);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", p);
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - (char *)conf.data), (const char *)conf.data, url,
		    at + strlen(e->anvil.url));
		dpk_test_write_file(e->ag[0].conf, text, 0644);
		dpk_buf_free(&conf);
	}
	restart(e, 0);
	assert_int_equal(psk_dpkctl(&e->ag[0], &out, "rotate", "--yes", "--no-wait", NULL, NULL, NULL), 0);
	dpk_buf_free(&out);
	psk_sleep_ms(4000);
	keyop_state(&e->ag[0], "rotate", st, sizeof(st));
	assert_string_equal(st, "waiting for the transaction");
	/* the detail says why it waits (between its attempts; each attempt first says it sends) */
	{
		int seen = 0;

		for (int n = 0; n < 100 && !seen; n++) {
			assert_int_equal(psk_dpkctl(&e->ag[0], &out, "rotate", "--status", NULL, NULL, NULL, NULL), 0);
			seen = strstr((const char *)out.data, "not believed") != NULL;
			dpk_buf_free(&out);
			if (!seen)
				psk_sleep_ms(100);
		}
		assert_true(seen);
	}
	agent_key(&e->ag[0], &mid);
	assert_true(same(&before, &mid));
	chain_key(e, "a.example.org", &onchain, &status);
	assert_true(same(&before, &onchain));
	assert_true(exists(&e->ag[0], "identity.pem.new"));
	dpk_buf_free(&onchain);
	dpk_buf_free(&mid);
	/* honest again: the journalled transaction is sent and the rotation ends */
	dpk_test_write_file(modefile, "honest\n", 0644);
	wait_state(&e->ag[0], "rotate", "rotated");
	agent_key(&e->ag[0], &after);
	chain_key(e, "a.example.org", &onchain, &status);
	assert_false(same(&before, &after));
	assert_true(same(&after, &onchain));
	kill(proxy, SIGTERM);
	waitpid(proxy, NULL, 0);
	dpk_buf_free(&before);
	dpk_buf_free(&after);
	dpk_buf_free(&onchain);
}

/* ROTATE and REVOKE from uid nobody: PERM, nothing journalled or sent. */
static void
test_unprivileged(void **state)
{
	struct env *e = *state;
	struct dpk_buf before, onchain;
	int st[2], status;

	start_own(e, 0, "a.example.org");
	agent_key(&e->ag[0], &before);
	assert_int_equal(chmod(e->dir, 0755), 0);
	assert_int_equal(chmod(e->ag[0].dir, 0755), 0);
	assert_int_equal(pipe(st), 0);
	pid_t pid = fork();
	if (pid == 0) {
		static const uint8_t rot[] = {1, 0}, rotq[] = {1, 0}, rev[] = {1, 0, 0, 0, 13, 'a', '.', 'e', 'x', 'a', 'm',
			'p', 'l', 'e', '.', 'o', 'r', 'g'};
		int out[3] = {-1, -1, -1};
		struct dpk_client *c;
		uint8_t rtype, reply[512];
		size_t n;

		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		if (dpk_client_open(e->ag[0].sock, 5000, 0, &c) == 0) {
			out[0] = dpk_client_call(c, DPK_MSG_ROTATE, rot, sizeof(rot), &rtype, reply, sizeof(reply), &n) ==
			    DPK_CLIENT_EAGENT ? dpk_client_agent_error(c, NULL) : 0;
			out[1] = dpk_client_call(c, DPK_MSG_REVOKE, rev, sizeof(rev), &rtype, reply, sizeof(reply), &n) ==
			    DPK_CLIENT_EAGENT ? dpk_client_agent_error(c, NULL) : 0;
			out[2] = dpk_client_call(c, DPK_MSG_ROTATE, rotq, 1, &rtype, reply, sizeof(reply), &n) ==
			    DPK_CLIENT_EAGENT ? dpk_client_agent_error(c, NULL) : 0;
			dpk_client_close(c);
		}
		_exit(write(st[1], out, sizeof(out)) == sizeof(out) ? 0 : 1);
	}
	int got[3];
	close(st[1]);
	assert_int_equal(read(st[0], got, sizeof(got)), (ssize_t)sizeof(got));
	close(st[0]);
	waitpid(pid, &status, 0);
	assert_int_equal(got[0], 23); /* PERM */
	assert_int_equal(got[1], 23);
	assert_int_equal(got[2], 10); /* a truncated request: a syntax failure before anything */
	psk_sleep_ms(500);
	assert_false(exists(&e->ag[0], "key-operation"));
	assert_false(exists(&e->ag[0], "identity.pem.new"));
	chain_key(e, "a.example.org", &onchain, &status);
	assert_int_equal(status, DPK_REGISTRY_ACTIVE);
	assert_true(same(&before, &onchain));
	dpk_buf_free(&before);
	dpk_buf_free(&onchain);
}

static void
test_revoke(void **state)
{
	struct env *e = *state;
	struct dpk_buf out, onchain;
	struct dpk_client_psk psk;
	char msg[256], st[64];
	int status;

	start_own(e, 0, "a.example.org");
	psk_start_agent(e, 1, "b.example.org", 1, NULL);
	handshake_ok(e, 0, 1);
	/* no terminal and no --yes: refused, nothing sent */
	assert_int_equal(dpkctl_notty(&e->ag[0], &out, "revoke", NULL, NULL, NULL), 1);
	dpk_buf_free(&out);
	chain_key(e, "a.example.org", &onchain, &status);
	assert_int_equal(status, DPK_REGISTRY_ACTIVE);
	dpk_buf_free(&onchain);
	keyop_state(&e->ag[0], "revoke", st, sizeof(st));
	assert_string_equal(st, "none");
	/* the same for rotate */
	assert_int_equal(dpkctl_notty(&e->ag[0], &out, "rotate", NULL, NULL, NULL), 1);
	dpk_buf_free(&out);
	/* --yes */
	assert_int_equal(dpkctl_notty(&e->ag[0], &out, "revoke", "--yes", "--json", NULL), 0);
	assert_non_null(strstr((const char *)out.data, "\"state\":\t\"revoked\""));
	dpk_buf_free(&out);
	chain_key(e, "a.example.org", &onchain, &status);
	assert_int_equal(status, DPK_REGISTRY_REVOKED);
	dpk_buf_free(&onchain);
	/* the agent stops using the key */
	assert_int_not_equal(psk_handshake(e, 0, 1, &psk, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "revoked"));
	assert_int_equal(psk_dpkctl(&e->ag[0], &out, "rotate", "--yes", NULL, NULL, NULL, NULL), 1);
	dpk_buf_free(&out);
	/* the peer's lookup says revoked; dpkctl lookup exits non-zero */
	wait_peer_sees(e, 1, 0, NULL, 2);
	assert_int_not_equal(psk_dpkctl(&e->ag[1], &out, "lookup", "a.example.org", NULL, NULL, NULL, NULL), 0);
	assert_non_null(strstr((const char *)out.data, "revoked"));
	dpk_buf_free(&out);
	assert_int_not_equal(psk_handshake(e, 1, 0, &psk, msg, sizeof(msg)), 0);
	/* and after a restart */
	kill9(&e->ag[0]);
	restart(e, 0);
	keyop_state(&e->ag[0], "revoke", st, sizeof(st));
	assert_string_equal(st, "revoked");
	assert_int_not_equal(psk_handshake(e, 0, 1, &psk, msg, sizeof(msg)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rotate_and_handshake, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_rotate_restart, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_send, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_forged_receipt, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged, psk_setup, psk_teardown),
		cmocka_unit_test_setup_teardown(test_revoke, psk_setup, psk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
