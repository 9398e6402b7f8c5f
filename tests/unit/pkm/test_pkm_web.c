/* The operator interface's parsers of untrusted bytes: HTML form bodies
 * (pkm/web_form.c) and DNS TXT record data (pkm/dcv.c), with truncated,
 * oversized, trailing and embedded-NUL inputs; the value a DCV challenge
 * must answer; and the interface's configuration keys (pkm/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "config.h"
#include "dcv.h"
#include "web_form.h"

static const char *
field(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void
test_form(void **state)
{
	cJSON *o;
	char big[300];

	(void)state;
	o = pkm_web_form_parse("csrf=ab%20cd&token=0f+1&empty=&flag", strlen("csrf=ab%20cd&token=0f+1&empty=&flag"));
	assert_non_null(o);
	assert_string_equal(field(o, "csrf"), "ab cd");
	assert_string_equal(field(o, "token"), "0f 1");
	assert_string_equal(field(o, "empty"), "");
	assert_string_equal(field(o, "flag"), "");
	assert_int_equal(cJSON_GetArraySize(o), 4);
	cJSON_Delete(o);
	/* empty pieces are no fields; '=' in a value is the value's */
	o = pkm_web_form_parse("&&a=b=c&=x&", 11);
	assert_non_null(o);
	assert_string_equal(field(o, "a"), "b=c");
	assert_int_equal(cJSON_GetArraySize(o), 1);
	cJSON_Delete(o);
	o = pkm_web_form_parse("", 0);
	assert_non_null(o);
	assert_int_equal(cJSON_GetArraySize(o), 0);
	cJSON_Delete(o);
	/* length, not NUL, ends the body: the rest is not read */
	o = pkm_web_form_parse("a=1&b=2", 3);
	assert_non_null(o);
	assert_string_equal(field(o, "a"), "1");
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "b"));
	cJSON_Delete(o);
	/* truncated and malformed escapes */
	assert_null(pkm_web_form_parse("a=%4", 4));
	assert_null(pkm_web_form_parse("a=%", 3));
	assert_null(pkm_web_form_parse("a=%zz", 5));
	assert_null(pkm_web_form_parse("a=%4", 3 + 1));
	/* NUL, escaped or raw */
	assert_null(pkm_web_form_parse("a=%00", 5));
	assert_null(pkm_web_form_parse("a=x\0y", 5));
	/* a field given twice: which one would the action see? */
	assert_null(pkm_web_form_parse("csrf=a&csrf=b", 13));
	/* an oversized name */
	memset(big, 'k', sizeof(big));
	big[200] = '=';
	assert_null(pkm_web_form_parse(big, 201));
	big[PKM_WEB_FORM_KEY_MAX] = '=';
	o = pkm_web_form_parse(big, PKM_WEB_FORM_KEY_MAX + 1);
	assert_non_null(o);
	cJSON_Delete(o);
}

static void
test_txt(void **state)
{
	char out[16];
	size_t n;

	(void)state;
	assert_int_equal(pkm_dcv_txt_join((const uint8_t *)"\x03" "abc", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "abc", 3);
	/* several strings are joined */
	assert_int_equal(pkm_dcv_txt_join((const uint8_t *)"\x02" "ab\x01" "c\x00", 6, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "abc", 3);
	/* truncated: a string longer than what is left, or nothing */
	assert_int_equal(pkm_dcv_txt_join((const uint8_t *)"\x05" "abc", 4, out, sizeof(out), &n), DPK_ERR_TRUNCATED);
	assert_int_equal(pkm_dcv_txt_join((const uint8_t *)"", 0, out, sizeof(out), &n), DPK_ERR_TRUNCATED);
	/* trailing: a length byte with nothing after it */
	assert_int_equal(pkm_dcv_txt_join((const uint8_t *)"\x01" "a\x01", 3, out, sizeof(out), &n), DPK_ERR_TRUNCATED);
	/* oversized for the caller's buffer */
	assert_int_equal(pkm_dcv_txt_join((const uint8_t *)"\x10" "0123456789abcdef\x01" "x", 19, out, sizeof(out), &n),
	    DPK_ERR_TOOBIG);
	/* embedded NUL */
	assert_int_equal(pkm_dcv_txt_join((const uint8_t *)"\x03" "a\0c", 4, out, sizeof(out), &n), DPK_ERR_SYNTAX);
}

/* The value binds the identity, the token and the PKM. */
static void
test_dcv_value(void **state)
{
	uint8_t w1[20] = {1}, w2[20] = {2};
	char a[65], b[65], c[65], d[65];

	(void)state;
	assert_int_equal(pkm_dcv_value("gw1.example.org", "00ff", w1, a), 0);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(pkm_dcv_value("gw2.example.org", "00ff", w1, b), 0);
	assert_int_equal(pkm_dcv_value("gw1.example.org", "00fe", w1, c), 0);
	assert_int_equal(pkm_dcv_value("gw1.example.org", "00ff", w2, d), 0);
	assert_string_not_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	/* fields are separated: "a" + "bc" is not "ab" + "c" */
	assert_int_equal(pkm_dcv_value("a.b", "cd", w1, b), 0);
	assert_int_equal(pkm_dcv_value("a.bc", "d", w1, c), 0);
	assert_string_not_equal(b, c);
}

static int
parse(const char *text, struct pkm_config *c, char *err, size_t errsz)
{
	pkm_config_defaults(c);
	return pkm_config_parse(c, "pkm.conf", text, strlen(text), err, errsz);
}

static void
test_config(void **state)
{
	struct pkm_config c;
	char err[512];

	(void)state;
	assert_int_equal(parse("web_listen = 127.0.0.1:8080\nweb_identity = PKM.Example.org\noperator = alice.example.org\n"
	    "operator = 10.0.0.1\nweb_session_lifetime = 5m\nweb_rate_limit = 3\ndcv_deadline = 10s\n", &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.web_listen, "127.0.0.1:8080");
	assert_string_equal(c.web_identity, "pkm.example.org"); /* canonical */
	assert_int_equal(c.n_operators, 2);
	assert_string_equal(c.operators[1], "10.0.0.1");
	assert_int_equal(c.web_session_ms, 300000);
	assert_int_equal(c.web_rate_limit, 3);
	assert_int_equal(c.dcv_deadline_ms, 10000);
	pkm_config_free(&c);
	assert_int_equal(parse("web_listen = [::1]:8080\n", &c, err, sizeof(err)), 0);
	pkm_config_free(&c);
	/* plain HTTP on a network address: refused (a TLS proxy goes in front) */
	assert_int_not_equal(parse("web_listen = 0.0.0.0:8080\n", &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "loopback"));
	pkm_config_free(&c);
	assert_int_not_equal(parse("web_listen = [::]:8080\n", &c, err, sizeof(err)), 0);
	pkm_config_free(&c);
	assert_int_not_equal(parse("web_listen = localhost:8080\n", &c, err, sizeof(err)), 0);
	pkm_config_free(&c);
	assert_int_not_equal(parse("operator = not an identity\n", &c, err, sizeof(err)), 0);
	pkm_config_free(&c);
	assert_int_not_equal(parse("web_session_lifetime = 2d\n", &c, err, sizeof(err)), 0);
	pkm_config_free(&c);
	assert_int_not_equal(parse("web_rate_limit = 0\n", &c, err, sizeof(err)), 0);
	pkm_config_free(&c);
	assert_int_equal(parse("web_client_header = X-Real-IP\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.web_client_header, "X-Real-IP");
	pkm_config_free(&c);
	assert_int_not_equal(parse("web_client_header = X-Real IP: 1\n", &c, err, sizeof(err)), 0);
	pkm_config_free(&c);
	/* defaults */
	pkm_config_defaults(&c);
	assert_null(c.web_listen);
	assert_int_equal(c.web_session_ms, 15 * 60 * 1000);
	assert_int_equal(c.web_rate_limit, 10);
	pkm_config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_dcv_value),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
