/* Backup and restore (doc/backup.md) with real processes: anvil, dpk-pkm
 * serve and dpk-agent. A registered agent and a PKM with a used and an
 * unused token are backed up while running, wiped, restored and restarted:
 * the agent is still registered and neither its wallet nor the PKM's sends
 * a transaction again; the PKM's tokens keep their states, and the used
 * token registers nobody else. Damaged, truncated, group-readable, wrong-kind
 * backups and a restore over existing state are refused and change nothing;
 * a backup never replaces a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpk/client.h"
#include "base/hex.h"
#include "chain.h"
#include "eth/txsend.h"
#include "harness.h"
#include "registry/registry.h"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner;
	uint8_t contract[20], pkm_wallet[20];
	char dir[64], path[512];
	int pkm_port;
	pid_t pkm, agent;
};

/* e->dir/name, in e->path (one at a time) */
static const char *
at(struct env *e, const char *name)
{
	snprintf(e->path, sizeof(e->path), "%s/%s", e->dir, name);
	return e->path;
}

/* dpk-agent or dpk-pkm (with its configuration) and up to four arguments: its exit status */
static int
run4(struct env *e, int pkm, const char *a1, const char *a2, const char *a3, const char *a4, struct dpk_buf *out)
{
	char bin[512], conf[512];

	dpk_test_built(pkm ? "pkm/dpk-pkm" : "dpk-agent/dpk-agent", bin, sizeof(bin));
	snprintf(conf, sizeof(conf), "%s/%s", e->dir, pkm ? "pkm.conf" : "dpk.conf");
	char *argv[] = {bin, (char *)"-c", conf, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
	return dpk_test_run(argv, NULL, out);
}

static int
run(struct env *e, int pkm, const char *a1, const char *a2, const char *a3, struct dpk_buf *out)
{
	return run4(e, pkm, a1, a2, a3, NULL, out);
}

static void
write_agent_conf(struct env *e, const char *name, const char *state, const char *sock)
{
	char addr[43], text[1024];

	dpk_wallet_address_format(e->contract, addr);
	snprintf(text, sizeof(text), "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/%s\nsocket = %s/%s\n"
	    "ssh_agent_socket = %s/%s.ssh\nidentity = device1.example.org\ntoken_file = %s/token1\n"
	    "poll_interval = 200ms\nregistration = eip712\n",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, state, e->dir, sock, e->dir, sock, e->dir);
	dpk_test_write_file(at(e, name), text, 0644);
}

static pid_t
start(struct env *e, int pkm, const char *conf, const char *sock)
{
	char bin[512], confpath[512], log[512];
	pid_t pid;

	dpk_test_built(pkm ? "pkm/dpk-pkm" : "dpk-agent/dpk-agent", bin, sizeof(bin));
	snprintf(confpath, sizeof(confpath), "%s/%s", e->dir, conf);
	snprintf(log, sizeof(log), "%s/%s.log", e->dir, conf);
	char *argv[] = {bin, (char *)"-c", confpath, pkm ? (char *)"serve" : NULL, NULL};
	pid = dpk_test_spawn(argv, log);
	if (pkm ? dpk_test_wait_port(e->pkm_port, 20000) != 0 : dpk_test_wait_path(at(e, sock), 20000) != 0)
		fail_msg("%s did not start (see %s)", bin, log);
	return pid;
}

static void
stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		if (dpk_test_wait_exit(*pid, 10000) == -1) {
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
		}
		*pid = 0;
	}
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct dpk_buf out, data;
	struct dpk_txsend req = {0};
	struct dpk_rpc_receipt rc;
	const char *url;
	char addr[43], text[1024], *w;

	dpk_test_anvil_start(&e->anvil, NULL);
	url = e->anvil.url;
	assert_int_equal(dpk_rpc_new(&e->rpc, &url, 1, NULL), 0);
	dpk_test_wallet(DPK_TEST_DEV_KEY, &e->owner);
	assert_int_equal(dpk_registry_deploy(e->rpc, &e->owner, DPK_TEST_CHAIN_ID, 30000, NULL, NULL, e->contract), 0);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	e->pkm_port = dpk_test_free_port();
	dpk_wallet_address_format(e->contract, addr);
	snprintf(text, sizeof(text), "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/pkm-state\n"
	    "listen = 127.0.0.1:%d\n", e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->pkm_port);
	dpk_test_write_file(at(e, "pkm.conf"), text, 0644);
	write_agent_conf(e, "dpk.conf", "agent-state", "agent.sock");

	/* the PKM's wallet, funded and made an approver */
	dpk_buf_init(&out, 1 << 16);
	assert_int_equal(run(e, 1, "init", NULL, NULL, &out), 0);
	assert_int_equal(dpk_buf_cstr(&out), 0);
	assert_non_null(w = strstr((char *)out.data, "wallet: 0x"));
	assert_int_equal(dpk_wallet_address_parse_n(w + 8, 42, e->pkm_wallet), 0);
	dpk_buf_free(&out);
	req.to = e->pkm_wallet;
	dpk_u256_from_dec(&req.value, "10000000000000000000");
	assert_int_equal(dpk_txsend(e->rpc, &e->owner, DPK_TEST_CHAIN_ID, &req, 30000, NULL, NULL, &rc), 0);
	dpk_rpc_receipt_free(&rc);
	dpk_buf_init(&data, 1024);
	assert_int_equal(dpk_registry_encode_add_approver(&data, e->pkm_wallet), 0);
	dpk_test_send(e->rpc, e->contract, &e->owner, &data);
	dpk_buf_free(&data);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	stop(&e->agent);
	stop(&e->pkm);
	dpk_test_anvil_stop(&e->anvil);
	dpk_rpc_free(e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

/* Drive REGISTER on sock until done or failed: the last step. */
static int
registration(struct env *e, const char *sock, int timeout_s, struct dpk_client_registration *reg)
{
	int first = 1;

	for (int i = 0; i < timeout_s * 10; i++) {
		struct dpk_client *c;
		int r = -1;

		if (dpk_client_open(at(e, sock), 5000, 0, &c) == 0) {
			r = dpk_client_register(c, first, reg);
			dpk_client_close(c);
		}
		if (r == 0) {
			first = 0;
			if (reg->step == DPK_CLIENT_REG_DONE || reg->step == DPK_CLIENT_REG_FAILED)
				return reg->step;
		}
		dpk_test_sleep_ms(100);
	}
	return -1;
}

/* The agent's wallet, and its record's version on chain (1: registered once). */
static void
agent_facts(struct env *e, uint8_t wallet[20], uint64_t *version)
{
	struct dpk_client *c;
	struct dpk_client_status st;
	struct dpk_client_record rec;

	assert_int_equal(dpk_client_open(at(e, "agent.sock"), 5000, 0, &c), 0);
	assert_int_equal(dpk_client_status(c, &st), 0);
	memcpy(wallet, st.wallet, 20);
	assert_int_equal(dpk_client_lookup(c, "device1.example.org", &rec), 0);
	assert_int_equal(rec.status, 1);
	assert_memory_equal(rec.controller, wallet, 20);
	*version = rec.version;
	dpk_client_record_free(&rec);
	dpk_client_close(c);
}

static uint64_t
nonce(struct env *e, const uint8_t addr[20])
{
	uint64_t n;

	assert_int_equal(dpk_rpc_nonce(e->rpc, addr, DPK_RPC_LATEST, &n), 0);
	return n;
}

/* Copy file src to dst with mode, changing byte at (if >= 0) and cutting cut bytes off the end. */
static void
variant(struct env *e, const char *src, const char *dst, unsigned mode, long at_byte, size_t cut)
{
	struct dpk_buf b;
	char s[512], d[512];
	FILE *f;

	snprintf(s, sizeof(s), "%s/%s", e->dir, src);
	snprintf(d, sizeof(d), "%s/%s", e->dir, dst);
	dpk_buf_init(&b, 1 << 28);
	assert_non_null(f = fopen(s, "rb"));
	for (int ch; (ch = fgetc(f)) != EOF;)
		assert_int_equal(dpk_buf_put_u8(&b, (uint8_t)ch), 0);
	fclose(f);
	if (at_byte >= 0)
		b.data[at_byte] ^= 0x01;
	assert_non_null(f = fopen(d, "wb"));
	assert_int_equal(fwrite(b.data, 1, b.len - cut, f), b.len - cut);
	fclose(f);
	assert_int_equal(chmod(d, mode), 0);
	dpk_buf_free(&b);
}

static int
exists(struct env *e, const char *name)
{
	struct stat st;

	return stat(at(e, name), &st) == 0;
}

static void
test_restore_registers_nothing_twice(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;
	struct dpk_buf list1, list2, out;
	uint8_t wallet[20], wallet2[20];
	uint64_t version, dev_nonce, pkm_nonce;
	struct stat st;

	dpk_buf_init(&out, 1 << 16);
	assert_int_equal(run4(e, 1, "enrol", "device1.example.org", "--out", at(e, "token1"), &out), 0);
	dpk_buf_free(&out);
	e->pkm = start(e, 1, "pkm.conf", NULL);
	e->agent = start(e, 0, "dpk.conf", "agent.sock");
	if (registration(e, "agent.sock", 60, &reg) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	agent_facts(e, wallet, &version);
	assert_int_equal(version, 1);

	/* a second token, never used */
	dpk_buf_init(&out, 1 << 16);
	assert_int_equal(run4(e, 1, "enrol", "device2.example.org", "--out", at(e, "token2"), &out), 0);
	dpk_buf_free(&out);

	/* online backups: both daemons running */
	assert_int_equal(run(e, 0, "--backup", at(e, "agent.bak"), NULL, NULL), 0);
	assert_int_equal(run(e, 1, "backup", at(e, "pkm.bak"), NULL, NULL), 0);
	assert_int_equal(stat(at(e, "agent.bak"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(at(e, "pkm.bak"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* never over an existing file */
	assert_int_equal(run(e, 0, "--backup", at(e, "pkm.bak"), NULL, NULL), 1);
	assert_int_equal(run(e, 1, "backup", at(e, "agent.bak"), NULL, NULL), 1);
	assert_int_equal(stat(at(e, "agent.bak"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	dpk_buf_init(&list1, 1 << 16);
	assert_int_equal(run(e, 1, "list", NULL, NULL, &list1), 0);
	assert_int_equal(dpk_buf_cstr(&list1), 0);
	{
		const char *l1 = strstr((char *)list1.data, "device1.example.org"), *l2;

		/* "TOKEN STATE WALLET IDENTITY": the used token approved, the other issued */
		assert_non_null(l1);
		assert_non_null(l2 = strstr((char *)list1.data, "device2.example.org"));
		assert_non_null(strstr((char *)list1.data, "  approved  "));
		assert_non_null(strstr((char *)list1.data, "  issued  "));
	}
	dev_nonce = nonce(e, wallet);
	pkm_nonce = nonce(e, e->pkm_wallet);
	assert_true(dev_nonce >= 1); /* eip712: the device sent its registration */

	/* the host and the PKM are lost */
	stop(&e->agent);
	stop(&e->pkm);
	dpk_test_rmtree(at(e, "agent-state"));
	dpk_test_rmtree(at(e, "pkm-state"));

	/* damaged, truncated, readable by others, of the other kind: refused, nothing made */
	variant(e, "agent.bak", "bad-byte.bak", 0600, 200, 0);
	variant(e, "agent.bak", "bad-short.bak", 0600, -1, 10);
	variant(e, "agent.bak", "bad-mode.bak", 0640, -1, 0);
	variant(e, "pkm.bak", "pkm-byte.bak", 0600, 300, 0);
	assert_int_equal(run(e, 0, "--restore", at(e, "bad-byte.bak"), NULL, NULL), 1);
	assert_int_equal(run(e, 0, "--restore", at(e, "bad-short.bak"), NULL, NULL), 1);
	assert_int_equal(run(e, 0, "--restore", at(e, "bad-mode.bak"), NULL, NULL), 1);
	assert_int_equal(run(e, 0, "--restore", at(e, "pkm.bak"), NULL, NULL), 1);
	assert_int_equal(run(e, 1, "restore", at(e, "agent.bak"), NULL, NULL), 1);
	assert_int_equal(run(e, 1, "restore", at(e, "pkm-byte.bak"), NULL, NULL), 1);
	assert_false(exists(e, "agent-state"));
	assert_false(exists(e, "pkm-state"));

	/* restored, then restored again over itself: refused */
	assert_int_equal(run(e, 0, "--restore", at(e, "agent.bak"), NULL, NULL), 0);
	assert_int_equal(run(e, 1, "restore", at(e, "pkm.bak"), NULL, NULL), 0);
	assert_int_equal(run(e, 0, "--restore", at(e, "agent.bak"), NULL, NULL), 1);
	assert_int_equal(run(e, 1, "restore", at(e, "pkm.bak"), NULL, NULL), 1);
	assert_int_equal(stat(at(e, "agent-state/identity.pem"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* the tokens keep their states: the used one used, the other issued */
	dpk_buf_init(&list2, 1 << 16);
	assert_int_equal(run(e, 1, "list", NULL, NULL, &list2), 0);
	assert_int_equal(dpk_buf_cstr(&list2), 0);
	assert_string_equal((char *)list2.data, (char *)list1.data);

	/* restarted: registered, the same wallet, nothing sent again */
	e->pkm = start(e, 1, "pkm.conf", NULL);
	e->agent = start(e, 0, "dpk.conf", "agent.sock");
	/* while the running agent answers, a restore is refused */
	assert_int_equal(run(e, 0, "--restore", at(e, "agent.bak"), NULL, NULL), 1);
	assert_int_equal(registration(e, "agent.sock", 30, &reg), DPK_CLIENT_REG_DONE);
	agent_facts(e, wallet2, &version);
	assert_memory_equal(wallet2, wallet, 20);
	assert_int_equal(version, 1);
	dpk_test_sleep_ms(1500); /* room for anything the PKM or the agent would still send */
	assert_int_equal(nonce(e, wallet), dev_nonce);
	assert_int_equal(nonce(e, e->pkm_wallet), pkm_nonce);

	/* the used token registers nobody else: a new agent with it fails, and the PKM sends nothing */
	write_agent_conf(e, "dpk2.conf", "agent2-state", "agent2.sock");
	{
		char bin[512], conf[512], log[512];

		dpk_test_built("dpk-agent/dpk-agent", bin, sizeof(bin));
		snprintf(conf, sizeof(conf), "%s/dpk2.conf", e->dir);
		snprintf(log, sizeof(log), "%s/dpk2.log", e->dir);
		char *argv[] = {bin, (char *)"-c", conf, NULL};
		pid_t second = dpk_test_spawn(argv, log);

		if (dpk_test_wait_path(at(e, "agent2.sock"), 20000) != 0) {
			struct dpk_buf l;

			dpk_buf_init(&l, 1 << 20);
			char *cat[] = {(char *)"/bin/cat", log, NULL};
			dpk_test_run(cat, NULL, &l);
			dpk_buf_cstr(&l);
			fail_msg("the second agent did not start: %s", (char *)l.data);
		}
		assert_int_equal(registration(e, "agent2.sock", 30, &reg), DPK_CLIENT_REG_FAILED);
		printf("the second agent with the used token: %s\n", reg.detail);
		assert_non_null(strstr(reg.detail, "registered to another controller"));
		stop(&second);
	}
	assert_int_equal(nonce(e, e->pkm_wallet), pkm_nonce);
	dpk_buf_free(&list1);
	dpk_buf_free(&list2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restore_registers_nothing_twice, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
