/* daemon/cli.h: the JSON-RPC endpoint lists of dpk-admin's --rpc-file and
 * DPK_RPC_URL (separators, comments, bad schemes, too many, none; a file
 * other users may read, an oversized one, one with a NUL byte), and the
 * help table lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/cli.h"
#include "harness.h"

static void
test_parse(void **state)
{
	char text[256], err[200];
	const char *urls[4];
	size_t n;

	snprintf(text, sizeof(text), "# primary\nhttps://a.example/v2/KEY  # with a key\n\nhttp://127.0.0.1:8545,"
	    "http://[::1]:8545\n");
	assert_int_equal(dpk_cli_rpc_parse(text, urls, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(urls[0], "https://a.example/v2/KEY");
	assert_string_equal(urls[1], "http://127.0.0.1:8545");
	assert_string_equal(urls[2], "http://[::1]:8545");

	snprintf(text, sizeof(text), "http://a http://b http://c http://d http://e");
	assert_int_equal(dpk_cli_rpc_parse(text, urls, 4, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 4"));
	snprintf(text, sizeof(text), "http://a ftp://b");
	assert_int_equal(dpk_cli_rpc_parse(text, urls, 4, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'ftp://b' is not an http:// or https:// URL"));
	snprintf(text, sizeof(text), "  # only a comment http://a\n , \n");
	assert_int_equal(dpk_cli_rpc_parse(text, urls, 4, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no endpoint"));
	text[0] = '\0';
	assert_int_equal(dpk_cli_rpc_parse(text, urls, 4, &n, err, sizeof(err)), -1);
	/* a long bad word is named, cut */
	memset(text, 'x', 200);
	text[200] = '\0';
	assert_int_equal(dpk_cli_rpc_parse(text, urls, 4, &n, err, sizeof(err)), -1);
	assert_true(strlen(err) < 120);
}

static void
test_file(void **state)
{
	char dir[64], path[128], buf[64], err[300], big[200];
	const char *urls[4];
	size_t n;
	FILE *f;

	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rpc", dir);
	dpk_test_write_file(path, "http://127.0.0.1:8545\n", 0600);
	assert_int_equal(dpk_cli_rpc_file(path, buf, sizeof(buf), urls, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(urls[0], "http://127.0.0.1:8545");
	/* group-readable is fine; readable or writable by others is not */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(dpk_cli_rpc_file(path, buf, sizeof(buf), urls, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(dpk_cli_rpc_file(path, buf, sizeof(buf), urls, 4, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod o-rw"));
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(dpk_cli_rpc_file(path, buf, sizeof(buf), urls, 4, &n, err, sizeof(err)), -1);
	/* larger than the buffer */
	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	dpk_test_write_file(path, big, 0600);
	assert_int_equal(dpk_cli_rpc_file(path, buf, sizeof(buf), urls, 4, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too large"));
	/* a NUL byte */
	assert_non_null(f = fopen(path, "w"));
	fwrite("http://a\0http://b", 1, 17, f);
	fclose(f);
	assert_int_equal(dpk_cli_rpc_file(path, buf, sizeof(buf), urls, 4, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	/* missing, and a directory */
	assert_int_equal(dpk_cli_rpc_file("/nonexistent/rpc", buf, sizeof(buf), urls, 4, &n, err, sizeof(err)), -1);
	assert_int_equal(dpk_cli_rpc_file(dir, buf, sizeof(buf), urls, 4, &n, err, sizeof(err)), -1);
	dpk_test_rmtree(dir);
}

static void
test_find(void **state)
{
	static const struct dpk_cli_cmd cmds[] = {{"list", "", "x\n"}, {"enrol", "ID", "y\n"}, {NULL, NULL, NULL}};

	assert_ptr_equal(dpk_cli_find(cmds, "enrol"), &cmds[1]);
	assert_null(dpk_cli_find(cmds, "enro"));
	assert_null(dpk_cli_find(cmds, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
