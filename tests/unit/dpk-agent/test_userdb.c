/* The users file (login/userdb.h): its line parser on good, truncated,
 * oversized and malformed lines, and a file that survives a reopen and
 * skips damage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "login/userdb.h"
#include "registry/identity.h"

static void
test_parse_line(void **state)
{
	static const char *const bad[] = {
		"", " ", "1", "1 ", "0 alice.example.org", "01 alice.example.org", "1  alice.example.org",
		"1 Alice.example.org", "1 alice.example.org.", "x alice.example.org", "1 alice.example.org ",
		"12345678901234567890 alice.example.org", "1 2001:DB8::1", "1 2001:db8:0::1", "-1 a.b",
		"1 a\tb", "1 not an identity",
	};
	struct dpk_identity id;
	uint64_t serial;
	char big[400];

	(void)state;
	assert_int_equal(agent_userdb_parse_line("7 alice.example.org", 19, &serial, &id), 0);
	assert_int_equal(serial, 7);
	assert_int_equal(agent_userdb_parse_line("1234567890123456789 2001:db8::1", 31, &serial, &id), 0);
	assert_int_equal(serial, 1234567890123456789ull);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (agent_userdb_parse_line(bad[i], strlen(bad[i]), &serial, &id) != -1)
			fail_msg("accepted '%s'", bad[i]);
	memset(big, 'a', sizeof(big));
	big[0] = '1';
	big[1] = ' ';
	assert_int_equal(agent_userdb_parse_line(big, sizeof(big), &serial, &id), -1);
	assert_int_equal(agent_userdb_parse_line("7 alice.example.org", 2, &serial, &id), -1); /* cut after the serial */
	/* a line cut inside the identity may still be one: the file reader skips a last line without its newline */
}

static void
test_file(void **state)
{
	char dir[] = "/tmp/dpk-userdb-XXXXXX", path[64], err[256], big[1000];
	struct agent_userdb db;
	struct dpk_identity a, b;
	size_t skipped;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(dpk_identity_parse("alice.example.org", 17, &a), 0);
	assert_int_equal(dpk_identity_parse("10.0.0.1", 8, &b), 0);
	assert_int_equal(agent_userdb_open(&db, dir, &skipped, err, sizeof(err)), 0);
	assert_int_equal(skipped, 0);
	assert_int_equal(agent_userdb_note(&db, 9, &a), 0);
	assert_int_equal(agent_userdb_note(&db, 3, &b), 0);
	assert_int_equal(agent_userdb_note(&db, 9, &a), 0); /* again: not appended twice */
	agent_userdb_close(&db);
	snprintf(path, sizeof(path), "%s/users", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, (off_t)strlen("9 alice.example.org\n3 10.0.0.1\n"));

	/* damage: a bad line, a line far too long, a cut last line */
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	assert_non_null(f = fopen(path, "a"));
	fputs("bogus line\n", f);
	fputs(big, f);
	fputs("4 bob.exam", f);
	fclose(f);
	assert_int_equal(agent_userdb_open(&db, dir, &skipped, err, sizeof(err)), 0);
	assert_int_equal(skipped, 3);
	assert_int_equal(db.n, 2);
	assert_non_null(agent_userdb_by_serial(&db, 9));
	assert_string_equal(agent_userdb_by_serial(&db, 9)->ident, "alice.example.org");
	assert_string_equal(agent_userdb_by_serial(&db, 9)->name, "alice.example.org");
	assert_string_equal(agent_userdb_by_serial(&db, 3)->ident, "10.0.0.1");
	assert_null(agent_userdb_by_serial(&db, 4));
	assert_non_null(agent_userdb_by_name(&db, agent_userdb_by_serial(&db, 3)->name, 16));
	assert_null(agent_userdb_by_name(&db, "alice.example.or", 16));
	assert_int_equal(db.v[0].serial, 3); /* sorted */
	agent_userdb_close(&db);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
