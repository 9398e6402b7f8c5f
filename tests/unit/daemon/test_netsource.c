/* The source of a connection for per-source caps (lib/daemon/netsource.c):
 * an IPv4 address is one source; an IPv6 address counts by its /64; an
 * IPv4-mapped IPv6 address is its IPv4 source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "daemon/netsource.h"

static void
src(const char *text, struct dpk_netsource *out)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(7443);
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(7443);
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	dpk_netsource_of((struct sockaddr *)&ss, out);
}

static int
same(const char *a, const char *b)
{
	struct dpk_netsource x, y;

	src(a, &x);
	src(b, &y);
	return dpk_netsource_equal(&x, &y);
}

static void
test_ipv4(void **state)
{
	(void)state;
	assert_true(same("192.0.2.7", "192.0.2.7"));
	assert_false(same("192.0.2.7", "192.0.2.8"));
	assert_false(same("10.0.0.1", "11.0.0.1"));
	/* a dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d: the same source */
	assert_true(same("192.0.2.7", "::ffff:192.0.2.7"));
	assert_false(same("::ffff:192.0.2.7", "::ffff:192.0.2.8"));
}

static void
test_ipv6_by_64(void **state)
{
	(void)state;
	assert_true(same("2001:db8:1:2::1", "2001:db8:1:2::2"));
	assert_true(same("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	assert_false(same("2001:db8:1:2::1", "2001:db8:1:3::1"));
	assert_false(same("2001:db8:1:2::1", "2001:db9:1:2::1"));
	assert_true(same("::1", "::2"));
	/* ::ffff:0:1 is ::ffff:0.0.0.1, mapped; an IPv6 address that merely
	 * ends like an IPv4 one is not an IPv4 source */
	assert_true(same("::ffff:0:1", "0.0.0.1"));
	assert_false(same("::a00:1", "10.0.0.1"));
	assert_false(same("::fffe:a00:1", "10.0.0.1"));
}

static void
test_format(void **state)
{
	struct dpk_netsource s;
	char text[64];

	(void)state;
	src("192.0.2.7", &s);
	dpk_netsource_format(&s, text, sizeof(text));
	assert_string_equal(text, "192.0.2.7");
	src("::ffff:192.0.2.9", &s);
	dpk_netsource_format(&s, text, sizeof(text));
	assert_string_equal(text, "192.0.2.9");
	src("2001:db8:1:2:3:4:5:6", &s);
	dpk_netsource_format(&s, text, sizeof(text));
	assert_string_equal(text, "2001:db8:1:2::/64");
	/* another family: one source for all, never a crash */
	struct sockaddr sa = {.sa_family = AF_UNIX};
	struct dpk_netsource t;
	dpk_netsource_of(&sa, &s);
	dpk_netsource_of(&sa, &t);
	assert_true(dpk_netsource_equal(&s, &t));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6_by_64),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
