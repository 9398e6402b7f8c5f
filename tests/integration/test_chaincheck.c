/* The chain checks on a real anvil: dpk-agent --check-config, dpk-pkm
 * check-config and dpk-admin name an unreachable rpc_url, a node of another
 * chain, an address without code and a contract that is not a DPK registry,
 * each with the address and the chain; a running agent's lookup says the
 * same instead of "input is truncated". Who reaches these: root or the
 * operator who runs the commands (they read configuration files and ask the
 * configured node); the agent's lookup is open to any local user, who learns
 * only what the configuration already says (chain id, contract address). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "base/err.h"
#include "base/hex.h"
#include "chain.h"
#include "eth/txsend.h"
#include "harness.h"

#include <unistd.h>

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20], other[20];
	char contract_hex[43], other_hex[43], eoa_hex[43];
	char dir[256], conf[300];
};

/* Init code that deploys a contract answering any call with 64 zero bytes:
 * it decodes as dpkVersion()'s (bytes4, uint32), with the wrong tag. */
static const uint8_t not_dpk[] = {
	0x60, 0x05, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x05, 0x60, 0x00, 0xf3, /* CODECOPY 5 bytes; RETURN them */
	0x60, 0x40, 0x60, 0x00, 0xf3,                                           /* RETURN 64 zero bytes */
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct dpk_txsend req = {.data = not_dpk, .data_len = sizeof(not_dpk)};
	struct dpk_rpc_receipt rc = {0};

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	assert_int_equal(dpk_txsend(e->rpc, &e->owner, 31337, &req, 30000, NULL, NULL, &rc), 0);
	assert_int_equal(rc.status, 1);
	assert_true(rc.has_contract_address);
	memcpy(e->other, rc.contract_address, 20);
	dpk_rpc_receipt_free(&rc);
	dpk_wallet_address_format(e->contract, e->contract_hex);
	dpk_wallet_address_format(e->other, e->other_hex);
	dpk_wallet_address_format(e->device.addr, e->eoa_hex);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/test.conf", e->dir);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

/* Run prog with args (NULL-terminated, at most 8), stdout and stderr into out
 * (NUL-terminated); its exit status. */
static int
run(struct dpk_buf *out, const char *prog, ...)
{
	char path[512];
	char *argv[16];
	size_t n = 0;
	va_list ap;
	int st;

	dpk_test_built(prog, path, sizeof(path));
	argv[n++] = (char *)"/bin/sh";
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)"exec \"$0\" \"$@\" 2>&1";
	argv[n++] = path;
	va_start(ap, prog);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 15;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	dpk_buf_init(out, 1 << 20);
	st = dpk_test_run(argv, NULL, out);
	assert_int_equal(dpk_buf_cstr(out), 0);
	return st;
}

static void
expect(int got_status, int want_status, const struct dpk_buf *out, const char *want_text)
{
	if (got_status != want_status || strstr((const char *)out->data, want_text) == NULL)
		fail_msg("exit %d (want %d), output (want \"%s\"):\n%s", got_status, want_status, want_text,
		    (const char *)out->data);
}

static void
write_conf(struct env *e, const char *url, unsigned chain_id, const char *contract)
{
	char text[1024];

	/* keys both files know; the agent's identity is optional */
	snprintf(text, sizeof(text), "rpc_url = %s\nchain_id = %u\ncontract = %s\nstate_dir = %s/state\n", url,
	    chain_id, contract, e->dir);
	dpk_test_write_file(e->conf, text, 0644);
}

/* The four cases, for a program that takes the configuration file conf. */
static void
check_cases(struct env *e, const char *prog, const char *const *args, size_t nargs, const char *name)
{
	char unreachable[64], want[256];
	struct dpk_buf out;
	int st;
#define RUN() run(&out, prog, args[0], nargs > 1 ? args[1] : NULL, nargs > 2 ? args[2] : NULL, \
	    nargs > 3 ? args[3] : NULL, NULL)

	write_conf(e, e->anvil.url, 31337, e->contract_hex);
	st = RUN();
	snprintf(want, sizeof(want), "%s: rpc_url http://127.0.0.1:%d: chain 31337, DPK registry %s (interface 1)",
	    name, e->anvil.port, e->contract_hex);
	expect(st, 0, &out, want);
	dpk_buf_free(&out);

	snprintf(unreachable, sizeof(unreachable), "http://127.0.0.1:%d", dpk_test_free_port());
	write_conf(e, unreachable, 31337, e->contract_hex);
	st = RUN();
	expect(st, 3, &out, "cannot ask the node for its chain id");
	dpk_buf_free(&out);

	write_conf(e, e->anvil.url, 5, e->contract_hex);
	st = RUN();
	snprintf(want, sizeof(want), "http://127.0.0.1:%d is on chain 31337, not chain_id 5", e->anvil.port);
	expect(st, 3, &out, want);
	dpk_buf_free(&out);

	write_conf(e, e->anvil.url, 31337, e->eoa_hex);
	st = RUN();
	snprintf(want, sizeof(want), "contract %s: no code on chain 31337 (is `contract` the registry's address "
	    "on this chain?)", e->eoa_hex);
	expect(st, 3, &out, want);
	dpk_buf_free(&out);

	write_conf(e, e->anvil.url, 31337, e->other_hex);
	st = RUN();
	snprintf(want, sizeof(want), "contract %s on chain 31337 is not a DPK registry", e->other_hex);
	expect(st, 3, &out, want);
	dpk_buf_free(&out);
#undef RUN
}

static void
test_agent_check_config(void **state)
{
	struct env *e = *state;
	const char *args[] = {"-c", e->conf, "--check-config"};
	char unreachable[64];
	struct dpk_buf out;

	check_cases(e, "dpk-agent/dpk-agent", args, 3, "dpk-agent");
	/* --offline: the file alone, as systemctl reload checks it during an outage */
	snprintf(unreachable, sizeof(unreachable), "http://127.0.0.1:%d", dpk_test_free_port());
	write_conf(e, unreachable, 31337, e->contract_hex);
	expect(run(&out, "dpk-agent/dpk-agent", "-c", e->conf, "--check-config", "--offline", NULL), 0, &out, ": OK");
	dpk_buf_free(&out);
	/* a broken file is still 1, before any network */
	dpk_test_write_file(e->conf, "rpc_url = nope\n", 0644);
	expect(run(&out, "dpk-agent/dpk-agent", "-c", e->conf, "--check-config", NULL), 1, &out, "rpc_url");
	dpk_buf_free(&out);
}

static void
test_pkm_check_config(void **state)
{
	struct env *e = *state;
	const char *args[] = {"-c", e->conf, "check-config"};
	struct dpk_buf out;
	char path[400];

	check_cases(e, "pkm/dpk-pkm", args, 3, "dpk-pkm");
	/* it opened no state: no key or wallet was made */
	snprintf(path, sizeof(path), "%s/state", e->dir);
	assert_int_not_equal(access(path, F_OK), 0);
	expect(run(&out, "pkm/dpk-pkm", "-c", e->conf, "check-config", "--bogus", NULL), 2, &out, "usage");
	dpk_buf_free(&out);
}

static void
test_admin(void **state)
{
	struct env *e = *state;
	char want[256];
	struct dpk_buf out;

	expect(run(&out, "admin/dpk-admin", "--rpc", e->anvil.url, "--contract", e->contract_hex, "check", NULL), 0,
	    &out, "chain 31337, DPK registry (interface 1)");
	dpk_buf_free(&out);
	/* the old answer to a wrong address was "lookup: input is truncated" */
	snprintf(want, sizeof(want), "dpk-admin: contract %s: no code on chain 31337", e->eoa_hex);
	expect(run(&out, "admin/dpk-admin", "--rpc", e->anvil.url, "--contract", e->eoa_hex, "lookup",
	    "x.example.org", NULL), 1, &out, want);
	assert_null(strstr((const char *)out.data, "truncated"));
	dpk_buf_free(&out);
	snprintf(want, sizeof(want), "dpk-admin: contract %s on chain 31337 is not a DPK registry", e->other_hex);
	expect(run(&out, "admin/dpk-admin", "--rpc", e->anvil.url, "--contract", e->other_hex, "lookup",
	    "x.example.org", NULL), 1, &out, want);
	dpk_buf_free(&out);
	expect(run(&out, "admin/dpk-admin", "--rpc", e->anvil.url, "--chain-id", "5", "chain-id", NULL), 1, &out,
	    "is on chain 31337, not --chain-id 5");
	dpk_buf_free(&out);
	expect(run(&out, "admin/dpk-admin", "--rpc", e->anvil.url, "--chain-id", "31337", "chain-id", NULL), 0, &out,
	    "31337");
	dpk_buf_free(&out);
}

/* A running agent configured with an address without code: its log says so at
 * start, and a lookup (LOOKUP is open to any local user; the sentence holds
 * nothing the configuration does not) gets the same sentence, with verified
 * reads on (the default) and off. */
static void
test_agent_running(void **state)
{
	struct env *e = *state;
	static const char *const extras[] = {"", "verify_reads = no\n"};
	uint8_t eoa[20];

	memcpy(eoa, e->device.addr, 20);
	for (size_t k = 0; k < 2; k++) {
		struct dpk_test_agent a;
		char want[256], sock[300];
		struct dpk_buf out;
		int st;

		dpk_test_agent_start(&a, e->dir, k == 0 ? "verified" : "plain", e->anvil.url, eoa, extras[k]);
		snprintf(sock, sizeof(sock), "%s", a.sock);
		snprintf(want, sizeof(want), "contract %s: no code on chain 31337", e->eoa_hex);
		st = run(&out, "dpkctl/dpkctl", "-s", sock, "lookup", "x.example.org", NULL);
		if (st == 0 || strstr((const char *)out.data, want) == NULL ||
		    strstr((const char *)out.data, "truncated") != NULL)
			fail_msg("%s: dpkctl lookup exit %d: %s", a.name, st, (const char *)out.data);
		dpk_buf_free(&out);
		for (int i = 0; i < 50 && dpk_test_count_lines(a.log, want) == 0; i++)
			dpk_test_sleep_ms(100);
		assert_true(dpk_test_count_lines(a.log, want) > 0);
		dpk_test_agent_stop(&a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_check_config),
		cmocka_unit_test(test_pkm_check_config),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_agent_running),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
