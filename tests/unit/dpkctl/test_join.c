/* dpkctl join: the configuration an administrator gets from an enrolment
 * token, checked by the real dpk-agent --check-config; the token copied
 * beside it (0600); an existing configuration kept unless --force; a bad
 * token or URL writes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"
#include "crypto/idkey.h"
#include "enrol/token.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t contract[20] = {0x5f, 0xbd, 0xb2, 0x31, 0x56, 0x78, 0xaf, 0xec, 0xb3, 0x67,
	0xf0, 0x32, 0xd9, 0x3f, 0x64, 0x2f, 0x64, 0x18, 0x0a, 0xa3};
static const uint8_t pkm[20] = {0x70, 0x99, 0x79, 0x70, 0xc5, 0x18, 0x12, 0xdc, 0x3a, 0x01,
	0x0c, 0x7d, 0x01, 0xb5, 0x0e, 0x0d, 0x17, 0xdc, 0x79, 0xc8};

static char dir[4096], dpkctl[4096], token_path[4200], conf_path[4200], copied_path[4200];

static void
read_file(const char *path, struct dpk_buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	dpk_buf_init(out, 1 << 16);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(dpk_buf_put(out, chunk, n), 0);
	fclose(f);
	assert_int_equal(dpk_buf_cstr(out), 0);
}

static int
setup(void **state)
{
	char agent[4096];
	struct dpk_token t;
	struct dpk_idkey *key;
	struct dpk_buf text;

	dpk_test_tmpdir(dir, sizeof(dir));
	dpk_test_built("dpkctl/dpkctl", dpkctl, sizeof(dpkctl));
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	setenv("DPK_AGENT", agent, 1);
	snprintf(token_path, sizeof(token_path), "%s/token-from-pkm", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/dpk.conf", dir);
	snprintf(copied_path, sizeof(copied_path), "%s/token", dir);

	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &key), 0);
	assert_int_equal(dpk_token_new(&t, "device1.example.org", 31337, contract, pkm, "pkm.example.org:7443",
	    2000000000), 0);
	assert_int_equal(dpk_token_sign(&t, key), 0);
	dpk_buf_init(&text, 8192);
	assert_int_equal(dpk_token_format(&t, &text), 0);
	dpk_test_write_file(token_path, (const char *)text.data, 0600);
	dpk_buf_free(&text);
	dpk_token_clear(&t);
	dpk_idkey_free(key);
	return 0;
}

static int
teardown(void **state)
{
	dpk_test_rmtree(dir);
	return 0;
}

static int
join(const char *rpc, const char *extra, struct dpk_buf *out)
{
	char *argv[] = {dpkctl, (char *)"join", token_path, (char *)"--rpc", (char *)rpc, (char *)"--config", conf_path,
		(char *)extra, NULL};

	return dpk_test_run(argv, NULL, out);
}

static void
writes_the_configuration_from_the_token(void **state)
{
	struct dpk_buf out, conf;
	struct stat st;

	unlink(conf_path);
	unlink(copied_path);
	dpk_buf_init(&out, 1 << 16);
	assert_int_equal(join("http://127.0.0.1:8545", NULL, &out), 0);
	assert_non_null(strstr((const char *)out.data, "dpkctl register"));
	dpk_buf_free(&out);

	read_file(conf_path, &conf);
	assert_non_null(strstr((const char *)conf.data, "\nrpc_url = http://127.0.0.1:8545\n"));
	assert_non_null(strstr((const char *)conf.data, "\nchain_id = 31337\n"));
	assert_non_null(strstr((const char *)conf.data, "\ncontract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"));
	assert_non_null(strstr((const char *)conf.data, "\nidentity = device1.example.org\n"));
	assert_non_null(strstr((const char *)conf.data, "\npkm_address = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n"));
	assert_non_null(strstr((const char *)conf.data, "\npkm_endpoint = pkm.example.org:7443\n"));
	assert_non_null(strstr((const char *)conf.data, "\ntoken_file = "));
	dpk_buf_free(&conf);
	assert_int_equal(stat(conf_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644); /* pam_dpk reads it as the user */
	assert_int_equal(stat(copied_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600); /* the enrolment secret */
}

/* --json, anywhere on the line: one object saying what was written, and
 * for a refusal {"error", "exit"}. */
static void
answers_in_json(void **state)
{
	struct dpk_buf out;
	cJSON *j;

	unlink(conf_path);
	unlink(copied_path);
	dpk_buf_init(&out, 1 << 16);
	assert_int_equal(join("http://127.0.0.1:8545", "--json", &out), 0);
	assert_int_equal(dpk_buf_cstr(&out), 0);
	assert_non_null(j = cJSON_Parse((const char *)out.data));
	assert_string_equal(cJSON_GetObjectItem(j, "identity")->valuestring, "device1.example.org");
	assert_string_equal(cJSON_GetObjectItem(j, "config")->valuestring, conf_path);
	/* nothing listens on 8545: the file is good, the chain check is not */
	assert_string_equal(cJSON_GetObjectItem(j, "check_config")->valuestring, "chain check failed");
	assert_int_equal(cJSON_GetObjectItem(j, "chain_id")->valueint, 31337);
	cJSON_Delete(j);
	dpk_buf_free(&out);
	/* the configuration exists now: refused, as JSON */
	dpk_buf_init(&out, 1 << 16);
	assert_int_equal(join("http://127.0.0.1:8545", "--json", &out), 1);
	assert_int_equal(dpk_buf_cstr(&out), 0);
	assert_non_null(j = cJSON_Parse((const char *)out.data));
	assert_non_null(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "exists"));
	assert_int_equal(cJSON_GetObjectItem(j, "exit")->valueint, 1);
	cJSON_Delete(j);
	dpk_buf_free(&out);
}

static void
keeps_an_existing_configuration_unless_forced(void **state)
{
	struct dpk_buf conf;

	dpk_test_write_file(conf_path, "# mine\n", 0644);
	assert_int_equal(join("http://127.0.0.1:8545", NULL, NULL), 1);
	read_file(conf_path, &conf);
	assert_string_equal((const char *)conf.data, "# mine\n");
	dpk_buf_free(&conf);
	assert_int_equal(join("http://127.0.0.1:8545", "--force", NULL), 0);
	read_file(conf_path, &conf);
	assert_non_null(strstr((const char *)conf.data, "identity = device1.example.org"));
	dpk_buf_free(&conf);
}

static void
refuses_a_bad_token_or_url_and_writes_nothing(void **state)
{
	unlink(conf_path);
	assert_int_equal(join("ftp://example.org", NULL, NULL), 2);
	assert_int_equal(join("http://a b", NULL, NULL), 2);
	assert_int_not_equal(access(conf_path, F_OK), 0);
	dpk_test_write_file(token_path, "dpk-token-v1\nid: zz\n", 0600);
	assert_int_equal(join("http://127.0.0.1:8545", NULL, NULL), 1);
	assert_int_not_equal(access(conf_path, F_OK), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writes_the_configuration_from_the_token),
		cmocka_unit_test(answers_in_json),
		cmocka_unit_test(keeps_an_existing_configuration_unless_forced),
		cmocka_unit_test(refuses_a_bad_token_or_url_and_writes_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
