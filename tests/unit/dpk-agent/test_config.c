/* dpk.conf parsing: every key, and every kind of bad line with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/config.h"
#include "base/err.h"
#include "harness.h"

static int
parse(const char *text, struct dpk_config *c, char *err, size_t errsz)
{
	dpk_config_defaults(c);
	err[0] = '\0';
	return dpk_config_parse(c, "dpk.conf", text, strlen(text), err, errsz);
}

static void
test_full(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "rpc_url = http://127.0.0.1:8545\n"
	    "rpc_url=https://node.example.net/rpc   \n"
	    "\n"
	    "   chain_id\t=\t31337\r\n"
	    "contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"
	    "identity = device1.example.org\n"
	    "key_algorithm = rsa3072\n"
	    "pkm_address = 0x70997970c51812dc3a010c7d01b50e0d17dc79c8\n"
	    "pkm_endpoint = pkm.example.org:7443\n"
	    "token_file = /etc/dpk/token\n"
	    "state_dir = /var/lib/dpk\n"
	    "socket = /run/dpk/agent.sock\n"
	    "admin_group = dpk\n"
	    "cache_ttl = 5m\n"
	    "negative_cache_ttl = 500ms\n"
	    "poll_interval = 2s\n"
	    "rpc_timeout = 3\n"
	    "request_timeout = 1500ms"; /* no final newline */
	struct dpk_config c;
	char err[256];

	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_rpc, 2);
	assert_string_equal(c.rpc_url[1], "https://node.example.net/rpc");
	assert_true(c.chain_id == 31337);
	assert_int_equal(c.contract[0], 0x5f);
	assert_int_equal(c.contract[19], 0xa3);
	assert_string_equal(c.identity, "device1.example.org");
	assert_int_equal(c.key_algorithm, DPK_KEYALG_RSA);
	assert_int_equal(c.rsa_bits, 3072);
	assert_true(c.has_pkm_address);
	assert_string_equal(c.pkm_endpoint, "pkm.example.org:7443");
	assert_string_equal(c.socket_path, "/run/dpk/agent.sock");
	assert_string_equal(c.admin_group, "dpk");
	assert_int_equal(c.cache_ttl_ms, 300000);
	assert_int_equal(c.negative_cache_ttl_ms, 500);
	assert_int_equal(c.poll_interval_ms, 2000);
	assert_int_equal(c.rpc_timeout_ms, 3000);
	assert_int_equal(c.request_timeout_ms, 1500);
	dpk_config_free(&c);
}

static void
test_errors(void **state)
{
	static const struct { const char *text; const char *msg; } cases[] = {
		{"rpc_ur = http://x\n", "dpk.conf:1: unknown key 'rpc_ur'"},
		{"# c\nchain_id = 0x7a69\n", "dpk.conf:2: chain_id: '0x7a69' is not a chain id (a positive decimal number)"},
		{"chain_id = 99999999999999999999999\n", "dpk.conf:1: chain_id: '99999999999999999999999' is not a chain id (a positive decimal number)"},
		{"chain_id = 1\nchain_id = 2\n", "dpk.conf:2: chain_id: given twice (first on line 1)"},
		{"contract = 0x5fbdb2315678afecb367f032d93f642f64180aa\n", "dpk.conf:1: contract: '0x5fbdb2315678afecb367f032d93f642f64180aa' is not an address (0x and 40 hex digits)"},
		{"contract = 0x5FbDB2315678afecb367f032d93F642f64180aA3\n", "dpk.conf:1: contract: '0x5FbDB2315678afecb367f032d93F642f64180aA3' has a wrong EIP-55 checksum (mixed case)"},
		{"rpc_url = ftp://x\n", "dpk.conf:1: rpc_url: 'ftp://x' must start with http:// or https://"},
		{"cache_ttl = 5 minutes\n", "dpk.conf:1: cache_ttl: '5 minutes' is not a duration (e.g. 30, 30s, 500ms, 5m; at most 24h)"},
		{"cache_ttl = 25h\n", "dpk.conf:1: cache_ttl: '25h' is not a duration (e.g. 30, 30s, 500ms, 5m; at most 24h)"},
		{"poll_interval = 1ms\n", "dpk.conf:1: poll_interval: '1ms' is too short (at least 10ms)"},
		{"state_dir = var/lib/dpk\n", "dpk.conf:1: state_dir: 'var/lib/dpk' must be an absolute path"},
		{"key_algorithm = dsa\n", "dpk.conf:1: key_algorithm: 'dsa' is not one of p256, rsa2048, rsa3072, rsa4096"},
		{"pkm_endpoint = host\n", "dpk.conf:1: pkm_endpoint: 'host' is not host:port"},
		{"pkm_endpoint = host:70000\n", "dpk.conf:1: pkm_endpoint: 'host:70000' is not host:port"},
		{"admin_group = a b\n", "dpk.conf:1: admin_group: 'a b' is not a group name"},
		{"identity =\n", "dpk.conf:1: identity: empty value"},
		{"just words\n", "dpk.conf:1: expected 'key = value'"},
		{"identity = a\x1b[31mb\n", "dpk.conf:1: identity: value contains a control character"},
		{"ssh_agent_socket = run/ssh.sock\n", "dpk.conf:1: ssh_agent_socket: 'run/ssh.sock' must be an absolute path, or none"},
		{"nss_cache_file = run/nss.cache\n", "dpk.conf:1: nss_cache_file: 'run/nss.cache' must be an absolute path"},
		{"nss_allow_pkm = 0x12\n", "dpk.conf:1: nss_allow_pkm: '0x12' is not an address (0x and 40 hex digits)"},
		{"nss_enumerate = true\n", "dpk.conf:1: nss_enumerate: 'true' is not 'yes' or 'no'"},
	};
	struct dpk_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse(cases[i].text, &c, err, sizeof(err));

		if (r == 0 || strcmp(err, cases[i].msg) != 0)
			fail_msg("case %zu: got %d '%s', want '%s'", i, r, err, cases[i].msg);
		dpk_config_free(&c);
	}
}

static void
test_limits(void **state)
{
	static char big[70000], longline[1100];
	struct dpk_config c;
	char err[256];

	memset(big, '#', sizeof(big) - 1);
	assert_int_equal(parse(big, &c, err, sizeof(err)), DPK_ERR_TOOBIG);
	assert_non_null(strstr(err, "larger than"));
	dpk_config_free(&c);

	memset(longline, 'x', sizeof(longline) - 1);
	assert_int_equal(parse(longline, &c, err, sizeof(err)), DPK_ERR_SYNTAX);
	assert_string_equal(err, "dpk.conf:1: line longer than 1024 bytes");
	dpk_config_free(&c);

	dpk_config_defaults(&c);
	assert_int_equal(dpk_config_parse(&c, "dpk.conf", "chain_id = 1\0x", 14, err, sizeof(err)), DPK_ERR_SYNTAX);
	assert_non_null(strstr(err, "NUL"));
	dpk_config_free(&c);

	/* nine endpoints */
	char many[1024] = "";
	for (int i = 0; i < 9; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "rpc_url = http://h%d\n", i);
	assert_int_equal(parse(many, &c, err, sizeof(err)), DPK_ERR_SYNTAX);
	assert_string_equal(err, "dpk.conf:9: rpc_url: 'http://h8' too many endpoints (at most 8)");
	dpk_config_free(&c);
}

/* nss_cache_file, nss_allow_pkm (repeatable, at most 16), nss_enumerate */
static void
test_nss_keys(void **state)
{
	static const uint8_t a1[20] = {0x70, 0x99, 0x79, 0x70, 0xc5, 0x18, 0x12, 0xdc, 0x3a, 0x01, 0x0c, 0x7d, 0x01, 0xb5,
	    0x0e, 0x0d, 0x17, 0xdc, 0x79, 0xc8};
	struct dpk_config c;
	char err[256], many[2048] = "";

	(void)state;
	assert_int_equal(parse("nss_cache_file = /run/dpk/nss.cache\nnss_enumerate = yes\n"
	    "nss_allow_pkm = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n"
	    "nss_allow_pkm = 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.nss_cache_file, "/run/dpk/nss.cache");
	assert_int_equal(c.nss_enumerate, 1);
	assert_int_equal(c.n_nss_allow_pkm, 2);
	assert_memory_equal(c.nss_allow_pkm[0], a1, 20);
	dpk_config_free(&c);
	/* the defaults: no file, no listing, no PKM */
	assert_int_equal(parse("chain_id = 1\n", &c, err, sizeof(err)), 0);
	assert_null(c.nss_cache_file);
	assert_int_equal(c.nss_enumerate, 0);
	assert_int_equal(c.n_nss_allow_pkm, 0);
	dpk_config_free(&c);
	for (int i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "nss_allow_pkm = 0x%040x\n", i + 1);
	assert_int_equal(parse(many, &c, err, sizeof(err)), DPK_ERR_SYNTAX);
	assert_non_null(strstr(err, "dpk.conf:17: nss_allow_pkm:"));
	assert_non_null(strstr(err, "one approver too many (at most 16 nss_allow_pkm lines)"));
	dpk_config_free(&c);
}

static void
test_load(void **state)
{
	char dir[128], path[256], err[256];
	struct dpk_config c;
	FILE *f;

	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/dpk.conf", dir);
	dpk_config_defaults(&c);
	assert_int_equal(dpk_config_load(&c, path, err, sizeof(err)), DPK_ERR_IO);
	assert_non_null(strstr(err, "cannot open"));
	dpk_config_free(&c);

	f = fopen(path, "w");
	fputs("rpc_url = http://127.0.0.1:8545\nchain_id = 31337\n", f);
	fclose(f);
	dpk_config_defaults(&c);
	assert_int_equal(dpk_config_load(&c, path, err, sizeof(err)), DPK_ERR_INVALID);
	assert_non_null(strstr(err, "missing required key contract"));
	dpk_config_free(&c);

	f = fopen(path, "a");
	fputs("contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n", f);
	fclose(f);
	dpk_config_defaults(&c);
	assert_int_equal(dpk_config_load(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.key_algorithm, DPK_KEYALG_P256); /* the default */
	dpk_config_free(&c);
	dpk_test_rmtree(dir);
}

/* ssh_agent_socket: unset (beside socket), a path, or none */
static void
test_ssh_agent_socket(void **state)
{
	struct dpk_config c;
	char err[256];

	assert_int_equal(parse("socket = /run/x/agent.sock\n", &c, err, sizeof(err)), 0);
	assert_null(c.ssh_agent_socket);
	dpk_config_free(&c);
	assert_int_equal(parse("ssh_agent_socket = /run/dpk/ssh.sock\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.ssh_agent_socket, "/run/dpk/ssh.sock");
	dpk_config_free(&c);
	assert_int_equal(parse("ssh_agent_socket = none\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.ssh_agent_socket, "none");
	dpk_config_free(&c);
}

/* c's fair-share values, in dpk.conf(5)'s order; c is freed. */
static void
expect_fair(struct dpk_config *c, const uint32_t want[6])
{
	const uint32_t got[6] = {c->max_connections_per_uid, c->root_connections, c->client_idle_timeout_ms,
	    c->client_io_timeout_ms, c->max_chain_reads, c->max_chain_reads_per_uid};

	for (size_t i = 0; i < 6; i++)
		assert_int_equal(got[i], want[i]);
	dpk_config_free(c);
}

/* The fair-share keys: defaults, values, and out-of-range ones refused with the key's range. */
static void
test_fair_keys(void **state)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{"max_connections_per_uid = 0\n", "is not a number from 1 to 256"},
		{"max_connections_per_uid = 257\n", "is not a number from 1 to 256"},
		{"root_connections = 129\n", "is not a number from 0 to 128"},
		{"max_chain_reads = 0\n", "is not a number from 1 to 1024"},
		{"max_chain_reads_per_uid = 1025\n", "is not a number from 1 to 1024"},
		{"client_io_timeout = 50ms\n", "is too short (at least 100ms)"},
		{"client_idle_timeout = soon\n", "is not a duration"},
	};
	struct dpk_config c;
	char err[256];
	const uint32_t defaults[6] = {32, 32, 30000, 10000, 256, 16}, set[6] = {8, 0, 5000, 500, 1024, 4};

	(void)state;
	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	expect_fair(&c, defaults);
	assert_int_equal(parse("max_connections_per_uid = 8\nroot_connections = 0\nclient_idle_timeout = 5s\n"
	    "client_io_timeout = 500ms\nmax_chain_reads = 1024\nmax_chain_reads_per_uid = 4\n", &c, err, sizeof(err)), 0);
	expect_fair(&c, set);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(parse(bad[i].line, &c, err, sizeof(err)), 0);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: got '%s'", bad[i].line, err);
		dpk_config_free(&c);
	}
}

#define HASH64 "5a91808f434d7f9c00112233445566778899aabbccddeeff0011223344556677"
#define HASH64_SHORT "5a91808f434d7f9c00112233445566778899aabbccddeeff00112233445566"
#define HASH64_BAD "5a91808f434d7f9c00112233445566778899aabbccddeeff001122334455667g"
struct refusal {
	const char *line, *why;
};

/* Each line is refused with a message containing its why. */
static void
expect_refusals(const struct refusal *bad, size_t n)
{
	struct dpk_config c;
	char err[256];

	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(parse(bad[i].line, &c, err, sizeof(err)), 0);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: got '%s'", bad[i].line, err);
		dpk_config_free(&c);
	}
}

/* verified reads: verify_reads, rpc_quorum (checked against the rpc_url at
 * load), confirmations = N | safe | finalized, checkpoint = NUMBER:0xHASH,
 * max_proof_age; the event poll's deploy_block and log_range */
static void
test_trust_keys(void **state)
{
	static const struct refusal bad[] = {
		{"verify_reads = true\n", "verify_reads: 'true' is not 'yes' or 'no'"},
		{"rpc_quorum = 0\n", "rpc_quorum: '0' is not a number of endpoints"},
		{"rpc_quorum = 17\n", "rpc_quorum: '17' is not a number of endpoints"},
		{"confirmations = latest\n", "confirmations: 'latest' is not 'finalized', 'safe' or a number of blocks"},
		{"confirmations = 10001\n", "confirmations: '10001' is not 'finalized', 'safe' or a number of blocks"},
		{"checkpoint = 12\n", "checkpoint: '12' is not NUMBER:0xBLOCKHASH"},
		{"checkpoint = :0x" HASH64 "\n", "is not NUMBER:0xBLOCKHASH"},
		{"checkpoint = 12:" HASH64 "\n", "is not NUMBER:0xBLOCKHASH"},        /* no 0x */
		{"checkpoint = 12:0x" HASH64 "00\n", "is not NUMBER:0xBLOCKHASH"},    /* 33 bytes */
		{"checkpoint = 12:0x" HASH64_SHORT "\n", "is not NUMBER:0xBLOCKHASH"}, /* 31 bytes */
		{"checkpoint = x2:0x" HASH64 "\n", "is not NUMBER:0xBLOCKHASH"},
		{"checkpoint = 12:0x" HASH64_BAD "\n", "is not NUMBER:0xBLOCKHASH"},   /* not hex */
		{"max_proof_age = soon\n", "max_proof_age: 'soon' is not a duration"},
		{"deploy_block = 0x10\n", "deploy_block: '0x10' is not a block number"},
		{"deploy_block = -1\n", "deploy_block: '-1' is not a block number"},
		{"log_range = 0\n", "log_range: '0' is not a number of blocks from 1 to 1000000"},
		{"log_range = 1000001\n", "log_range: '1000001' is not a number of blocks from 1 to 1000000"},
	};
	char dir[128], path[256], err[256];
	struct dpk_config c;
	FILE *f;

	(void)state;
	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verify_reads, 1); /* the default: proven */
	assert_int_equal(c.rpc_quorum, 0);   /* a majority */
	assert_int_equal(c.confirmations, 0);
	assert_int_equal(c.anchor_finalized, 0);
	assert_int_equal(c.deploy_block, 0); /* unless configured: from block 0 */
	assert_int_equal(c.log_range, 10000);
	dpk_config_free(&c);
	assert_int_equal(parse("deploy_block = 1234567\nlog_range = 500\nconfirmations = safe\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.deploy_block, 1234567);
	assert_int_equal(c.log_range, 500);
	assert_int_equal(c.anchor_finalized, 2);
	dpk_config_free(&c);
	assert_int_equal(parse("verify_reads = no\nrpc_quorum = 2\nconfirmations = 12\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verify_reads, 0);
	assert_int_equal(c.rpc_quorum, 2);
	assert_int_equal(c.confirmations, 12);
	dpk_config_free(&c);
	assert_int_equal(parse("confirmations = finalized\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.anchor_finalized, 1);
	assert_int_equal(c.has_checkpoint, 0);
	assert_int_equal(c.max_proof_age_ms, 0); /* off by default */
	dpk_config_free(&c);
	assert_int_equal(parse("checkpoint = 19000000:0x" HASH64 "\nmax_proof_age = 5m\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.has_checkpoint, 1);
	assert_int_equal(c.checkpoint_number, 19000000);
	assert_int_equal(c.checkpoint_hash[0], 0x5a);
	assert_int_equal(c.checkpoint_hash[31], 0x77);
	assert_int_equal(c.max_proof_age_ms, 300000);
	dpk_config_free(&c);
	expect_refusals(bad, sizeof(bad) / sizeof(bad[0]));
	/* more endpoints must agree than are named: refused at load */
	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/dpk.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("rpc_url = http://127.0.0.1:8545\nrpc_url = http://127.0.0.1:8546\nchain_id = 31337\n"
	    "contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\nrpc_quorum = 3\n", f);
	fclose(f);
	dpk_config_defaults(&c);
	assert_int_equal(dpk_config_load(&c, path, err, sizeof(err)), DPK_ERR_INVALID);
	assert_non_null(strstr(err, "rpc_quorum: 3 endpoints must agree but only 2 rpc_url are given"));
	dpk_config_free(&c);
	dpk_test_rmtree(dir);
}

/* fees: max_fee_per_gas, max_priority_fee_per_gas (units), replace_after */
static void
test_fee_keys(void **state)
{
	static const struct refusal bad[] = {
		{"max_fee_per_gas = 30 Gwei\n", "max_fee_per_gas: '30 Gwei' has an unknown unit"},
		{"max_fee_per_gas = lots\n", "max_fee_per_gas: 'lots' is not a fee"},
		{"max_fee_per_gas = 11 ether\n", "max_fee_per_gas: '11 ether' is too large (at most 10 ether per gas)"},
		{"max_priority_fee_per_gas = 0.1 wei\n", "max_priority_fee_per_gas: '0.1 wei' is not a whole number of wei"},
		{"replace_after = 10ms\n", "replace_after: '10ms' is not a duration from 1s to 24h"},
	};
	char err[256];
	struct dpk_config c;

	(void)state;
	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_true(c.max_fee_per_gas == 0 && c.max_priority_fee_per_gas == 0); /* no caps */
	assert_int_equal(c.replace_after_ms, 120000);
	dpk_config_free(&c);
	assert_int_equal(parse("max_fee_per_gas = 50 gwei\nmax_priority_fee_per_gas = 1.5\nreplace_after = 30s\n", &c,
	    err, sizeof(err)), 0);
	assert_true(c.max_fee_per_gas == 50000000000ULL);
	assert_true(c.max_priority_fee_per_gas == 1500000000ULL);
	assert_int_equal(c.replace_after_ms, 30000);
	dpk_config_free(&c);
	expect_refusals(bad, sizeof(bad) / sizeof(bad[0]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_nss_keys),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_ssh_agent_socket),
		cmocka_unit_test(test_fair_keys),
		cmocka_unit_test(test_trust_keys),
		cmocka_unit_test(test_fee_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
