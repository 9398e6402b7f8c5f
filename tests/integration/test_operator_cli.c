/* The built dpk-admin and dpk-pkm against a real anvil: every command
 * answers --json with one JSON object (its answer, or {"error", "exit"});
 * options anywhere on the line; --help per command (and "help CMD", the
 * same text; dpkctl's too); dpk-admin's endpoints from --rpc-file (refused when other
 * users may read it) or DPK_RPC_URL, and none without them; its key file
 * refused when others may read it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "chain.h"
#include "crypto/idkey.h"
#include "registry/registry.h"
#include "harness.h"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char contract_hex[43];
	char dir[64], admin[512], pkm[512];
	char rpc_file[128], owner_key[128], approver_key[128], pkm_conf[128];
};

static void
key_file(const char *path, const struct dpk_wallet *w, unsigned mode)
{
	char hex[67];

	assert_int_equal(dpk_hex_encode(w->priv, 32, 0, hex, sizeof(hex)), 0);
	dpk_test_write_file(path, hex, mode);
	explicit_bzero(hex, sizeof(hex));
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char text[256];
	FILE *f;

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_wallet_address_format(e->contract, e->contract_hex);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	dpk_test_built("admin/dpk-admin", e->admin, sizeof(e->admin));
	dpk_test_built("pkm/dpk-pkm", e->pkm, sizeof(e->pkm));
	snprintf(e->rpc_file, sizeof(e->rpc_file), "%s/rpc", e->dir);
	snprintf(text, sizeof(text), "# the node, and its API key if it had one\n%s\n", e->anvil.url);
	dpk_test_write_file(e->rpc_file, text, 0600);
	snprintf(e->owner_key, sizeof(e->owner_key), "%s/owner.key", e->dir);
	key_file(e->owner_key, &e->owner, 0600);
	snprintf(e->approver_key, sizeof(e->approver_key), "%s/approver.key", e->dir);
	key_file(e->approver_key, &e->approver, 0600);
	snprintf(e->pkm_conf, sizeof(e->pkm_conf), "%s/pkm.conf", e->dir);
	assert_non_null(f = fopen(e->pkm_conf, "w"));
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/pkm-state\nlisten = 127.0.0.1:%d\n",
	    e->anvil.url, DPK_TEST_CHAIN_ID, e->contract_hex, e->dir, dpk_test_free_port());
	fclose(f);
	unsetenv("DPK_RPC_URL");
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	unsetenv("DPK_RPC_URL");
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

/* Run prog with the NULL-terminated arguments; stdout into out; the exit status. */
#define run(prog, out, ...) dpk_test_run_words(out, (char *const[]){(char *)(prog), NULL}, __VA_ARGS__)

/* out as one JSON object; the test fails if it is not, or lacks key. */
static cJSON *
json_with(const struct dpk_buf *out, const char *key)
{
	cJSON *j = cJSON_Parse((const char *)out->data);

	if (j == NULL || !cJSON_IsObject(j))
		fail_msg("not one JSON object: '%s'", (const char *)out->data);
	if (cJSON_GetObjectItemCaseSensitive(j, key) == NULL)
		fail_msg("no \"%s\" in %s", key, (const char *)out->data);
	return j;
}

static const char *
str(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	if (!cJSON_IsString(v))
		fail_msg("\"%s\" is no string", key);
	return v->valuestring;
}

/* For every command of prog's --help: "prog CMD --help" and "prog help CMD"
 * print the same text, which starts with its usage line; exit 0. */
static void
help_per_command(const char *prog, const char *name)
{
	struct dpk_buf list, a, b;
	const char *line;
	size_t commands = 0;

	assert_int_equal(run(prog, &list, "--help", NULL), 0);
	for (line = (const char *)list.data; line != NULL && *line != '\0'; line = strchr(line, '\n'), line += line != NULL) {
		char cmd[64], usage[80];
		size_t len = strspn(line + 2, "abcdefghijklmnopqrstuvwxyz-");

		/* a command's line: two spaces and its name ("  lookup IDENTITY") */
		if (strncmp(line, "  ", 2) != 0 || len == 0 || len >= sizeof(cmd) || line[2] == '-')
			continue;
		memcpy(cmd, line + 2, len);
		cmd[len] = '\0';
		assert_int_equal(run(prog, &a, cmd, "--help", NULL), 0);
		assert_int_equal(run(prog, &b, "help", cmd, NULL), 0);
		assert_string_equal((const char *)a.data, (const char *)b.data);
		snprintf(usage, sizeof(usage), "usage: %s %s", name, cmd);
		if (strncmp((const char *)a.data, usage, strlen(usage)) != 0)
			fail_msg("%s %s --help: '%s'", name, cmd, (const char *)a.data);
		dpk_buf_free(&a);
		dpk_buf_free(&b);
		commands++;
	}
	assert_true(commands >= 6);
	dpk_buf_free(&list);
	assert_int_equal(run(prog, &a, "help", "no-such-command", NULL), 2);
	dpk_buf_free(&a);
}

static void
test_help(void **state)
{
	struct env *e = *state;

	char dpkctl[512];

	dpk_test_built("dpkctl/dpkctl", dpkctl, sizeof(dpkctl));
	help_per_command(e->admin, "dpk-admin");
	help_per_command(e->pkm, "dpk-pkm");
	help_per_command(dpkctl, "dpkctl");
}

/* Where dpk-admin's endpoints come from. */
static void
test_admin_endpoints(void **state)
{
	struct env *e = *state;
	struct dpk_buf out;
	char bad[128];
	cJSON *j;

	/* none given: a usage error naming the file and environment forms */
	assert_int_equal(run(e->admin, &out, "chain-id", NULL), 2);
	dpk_buf_free(&out);
	/* the file, with options after the command */
	assert_int_equal(run(e->admin, &out, "chain-id", "--json", "--rpc-file", e->rpc_file, NULL), 0);
	j = json_with(&out, "chain_id");
	assert_int_equal(cJSON_GetObjectItem(j, "chain_id")->valueint, DPK_TEST_CHAIN_ID);
	cJSON_Delete(j);
	dpk_buf_free(&out);
	/* a file other users may read is refused (its URL may carry an API key) */
	snprintf(bad, sizeof(bad), "%s/rpc-readable", e->dir);
	dpk_test_write_file(bad, e->anvil.url, 0644);
	assert_int_equal(run(e->admin, &out, "--json", "--rpc-file", bad, "chain-id", NULL), 2);
	j = json_with(&out, "error");
	assert_non_null(strstr(str(j, "error"), "chmod o-rw"));
	cJSON_Delete(j);
	dpk_buf_free(&out);
	/* a file with no URL, or another scheme */
	snprintf(bad, sizeof(bad), "%s/rpc-empty", e->dir);
	dpk_test_write_file(bad, "# nothing\n\n", 0600);
	assert_int_equal(run(e->admin, &out, "--rpc-file", bad, "chain-id", NULL), 2);
	dpk_buf_free(&out);
	/* the environment */
	setenv("DPK_RPC_URL", e->anvil.url, 1);
	assert_int_equal(run(e->admin, &out, "chain-id", NULL), 0);
	assert_int_equal(strtol((const char *)out.data, NULL, 10), DPK_TEST_CHAIN_ID);
	dpk_buf_free(&out);
	setenv("DPK_RPC_URL", "ftp://127.0.0.1/", 1);
	assert_int_equal(run(e->admin, &out, "chain-id", "--json", NULL), 2);
	j = json_with(&out, "error");
	assert_non_null(strstr(str(j, "error"), "DPK_RPC_URL"));
	cJSON_Delete(j);
	dpk_buf_free(&out);
	unsetenv("DPK_RPC_URL");
}

/* Every dpk-admin and dpk-pkm command with --json, on a real chain: the PKM
 * made, funded, named approver, its key published, a token issued, listed
 * and withdrawn; lookups, a refused revocation, ownership handed over. */
static void
test_json_every_command(void **state)
{
	struct env *e = *state;
	struct dpk_buf out;
	char pkm_wallet[43], approver[43], token[33];
	const cJSON *rows;
	cJSON *j;

	setenv("DPK_RPC_URL", e->anvil.url, 1);
	dpk_wallet_address_format(e->approver.addr, approver);

	assert_int_equal(run(e->pkm, &out, "init", "--json", "-c", e->pkm_conf, NULL), 0);
	j = json_with(&out, "wallet");
	snprintf(pkm_wallet, sizeof(pkm_wallet), "%s", str(j, "wallet"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "created_wallet")));
	assert_non_null(strstr(str(j, "public_key_pem"), "BEGIN PUBLIC KEY"));
	cJSON_Delete(j);
	dpk_buf_free(&out);

	assert_int_equal(run(e->admin, &out, "--json", "fund", pkm_wallet, "1000000000000000000", "--private-key-file",
	    e->owner_key, NULL), 0);
	cJSON_Delete(json_with(&out, "block"));
	dpk_buf_free(&out);
	assert_int_equal(run(e->admin, &out, "add-approver", pkm_wallet, "--contract", e->contract_hex, "--json",
	    "--private-key-file", e->owner_key, NULL), 0);
	j = json_with(&out, "block");
	assert_string_equal(str(j, "command"), "add-approver");
	cJSON_Delete(j);
	dpk_buf_free(&out);

	assert_int_equal(run(e->pkm, &out, "-c", e->pkm_conf, "publish-key", "--json", NULL), 0);
	j = json_with(&out, "transaction");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "mined")));
	cJSON_Delete(j);
	dpk_buf_free(&out);

	char tokfile[128];
	snprintf(tokfile, sizeof(tokfile), "%s/device.token", e->dir);
	assert_int_equal(run(e->pkm, &out, "enrol", "--out", tokfile, "device.example.org", "--json", "--valid", "1h",
	    "-c", e->pkm_conf, NULL), 0);
	j = json_with(&out, "token");
	snprintf(token, sizeof(token), "%s", str(j, "token"));
	assert_string_equal(str(j, "identity"), "device.example.org");
	assert_string_equal(str(j, "file"), tokfile);
	assert_int_equal(access(tokfile, R_OK), 0);
	cJSON_Delete(j);
	dpk_buf_free(&out);
	/* enrol's options belong to enrol alone */
	assert_int_equal(run(e->pkm, &out, "-c", e->pkm_conf, "list", "--valid", "1h", NULL), 2);
	dpk_buf_free(&out);

	assert_int_equal(run(e->pkm, &out, "--json", "list", "-c", e->pkm_conf, NULL), 0);
	j = json_with(&out, "tokens");
	rows = cJSON_GetObjectItem(j, "tokens");
	assert_int_equal(cJSON_GetArraySize(rows), 1);
	assert_string_equal(str(cJSON_GetArrayItem(rows, 0), "token"), token);
	assert_string_equal(str(cJSON_GetArrayItem(rows, 0), "state"), "issued");
	cJSON_Delete(j);
	dpk_buf_free(&out);
	assert_int_equal(run(e->pkm, &out, "--json", "revoke-token", token, "-c", e->pkm_conf, NULL), 0);
	cJSON_Delete(json_with(&out, "state"));
	dpk_buf_free(&out);
	assert_int_equal(run(e->pkm, &out, "--json", "list", "-c", e->pkm_conf, NULL), 0);
	j = json_with(&out, "tokens");
	assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tokens"), 0), "state"), "revoked");
	cJSON_Delete(j);
	dpk_buf_free(&out);
	/* a failure of dpk-pkm, as JSON */
	assert_int_equal(run(e->pkm, &out, "--json", "revoke-token", "zz", "-c", e->pkm_conf, NULL), 2);
	cJSON_Delete(json_with(&out, "error"));
	dpk_buf_free(&out);

	/* dpk-admin's lookups and a revocation it cannot make */
	assert_int_equal(run(e->admin, &out, "lookup", "device.example.org", "--json", "--contract", e->contract_hex,
	    NULL), 1);
	j = json_with(&out, "status");
	assert_string_equal(str(j, "status"), "not registered");
	cJSON_Delete(j);
	dpk_buf_free(&out);
	{
		char keypath[128];
		struct dpk_buf pub;

		snprintf(keypath, sizeof(keypath), "%s/host.key", e->dir);
		dpk_test_new_key(keypath, DPK_IDKEY_P256, &pub);
		dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, "host.example.org", DPK_REGISTRY_ALG_P256,
		    pub.data, pub.len);
		dpk_buf_free(&pub);
	}
	assert_int_equal(run(e->admin, &out, "--contract", e->contract_hex, "--json", "lookup", "host.example.org",
	    NULL), 0);
	j = json_with(&out, "serial");
	assert_string_equal(str(j, "status"), "active");
	assert_string_equal(str(j, "approver"), approver);
	cJSON_Delete(j);
	dpk_buf_free(&out);
	assert_int_equal(run(e->admin, &out, "--json", "revoke", "nothere.example.org", "--contract", e->contract_hex,
	    "--private-key-file", e->owner_key, NULL), 1);
	cJSON_Delete(json_with(&out, "error"));
	dpk_buf_free(&out);
	assert_int_equal(run(e->admin, &out, "--json", "revoke", "host.example.org", "--contract", e->contract_hex,
	    "--private-key-file", e->owner_key, NULL), 0);
	j = json_with(&out, "status");
	assert_string_equal(str(j, "status"), "revoked");
	cJSON_Delete(j);
	dpk_buf_free(&out);

	/* approvers and ownership */
	assert_int_equal(run(e->admin, &out, "--json", "remove-approver", pkm_wallet, "--contract", e->contract_hex,
	    "--private-key-file", e->owner_key, NULL), 0);
	cJSON_Delete(json_with(&out, "block"));
	dpk_buf_free(&out);
	assert_int_equal(run(e->admin, &out, "--json", "transfer-ownership", approver, "--contract", e->contract_hex,
	    "--private-key-file", e->owner_key, NULL), 0);
	cJSON_Delete(json_with(&out, "block"));
	dpk_buf_free(&out);
	assert_int_equal(run(e->admin, &out, "--json", "accept-ownership", "--contract", e->contract_hex,
	    "--private-key-file", e->approver_key, NULL), 0);
	cJSON_Delete(json_with(&out, "block"));
	dpk_buf_free(&out);
	/* the old owner's key no longer administers it */
	assert_int_equal(run(e->admin, &out, "--json", "add-approver", pkm_wallet, "--contract", e->contract_hex,
	    "--private-key-file", e->owner_key, NULL), 1);
	cJSON_Delete(json_with(&out, "error"));
	dpk_buf_free(&out);
	/* deploy */
	assert_int_equal(run(e->admin, &out, "deploy", "--json", "--private-key-file", e->owner_key, NULL), 0);
	j = json_with(&out, "contract");
	assert_int_equal(strlen(str(j, "contract")), 42);
	cJSON_Delete(j);
	dpk_buf_free(&out);
	/* a key file others may read is refused, and nothing is sent */
	key_file(e->owner_key, &e->owner, 0644);
	assert_int_equal(chmod(e->owner_key, 0644), 0);
	assert_int_equal(run(e->admin, &out, "deploy", "--json", "--private-key-file", e->owner_key, NULL), 1);
	j = json_with(&out, "error");
	assert_non_null(strstr(str(j, "error"), "chmod 600"));
	cJSON_Delete(j);
	dpk_buf_free(&out);
	unsetenv("DPK_RPC_URL");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_endpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_every_command, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
