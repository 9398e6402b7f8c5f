#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "base/hex.h"
#include "pskvec.h"

void
dpk_test_party_make(struct dpk_test_party *p, enum dpk_idkey_alg alg, const char *name)
{
	assert_int_equal(dpk_idkey_generate(alg, 2048, &p->key), 0);
	assert_int_equal(dpk_identity_parse(name, strlen(name), &p->id), 0);
	dpk_buf_init(&p->pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(p->key, &p->pub), 0);
}

void
dpk_test_party_load(struct dpk_test_party *p, const char *dir, const char *pemfile, const char *name)
{
	struct dpk_buf pem;
	char path[512], rel[128];
	int fd;

	snprintf(rel, sizeof(rel), "psk/%s", pemfile);
	dpk_buf_init(&pem, 1 << 16);
	dpk_test_read_data(rel, &pem);
	snprintf(path, sizeof(path), "%s/%s", dir, pemfile);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pem.data, pem.len), (ssize_t)pem.len);
	close(fd);
	assert_int_equal(dpk_idkey_load(path, &p->key), 0);
	assert_int_equal(dpk_identity_parse(name, strlen(name), &p->id), 0);
	dpk_buf_init(&p->pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(p->key, &p->pub), 0);
	dpk_buf_free(&pem);
}

void
dpk_test_party_free(struct dpk_test_party *p)
{
	dpk_idkey_free(p->key);
	p->key = NULL;
	dpk_buf_free(&p->pub);
}

void
dpk_test_vec_field(const struct dpk_buf *file, const char *name, char *out, size_t outsz)
{
	const char *t = (const char *)file->data, *e = t + file->len;
	size_t n = strlen(name);

	while (t < e) {
		const char *nl = memchr(t, '\n', (size_t)(e - t));
		size_t ll = nl ? (size_t)(nl - t) : (size_t)(e - t);

		if (ll > n + 2 && memcmp(t, name, n) == 0 && t[n] == ':' && t[n + 1] == ' ') {
			assert_true(ll - n - 2 < outsz);
			memcpy(out, t + n + 2, ll - n - 2);
			out[ll - n - 2] = '\0';
			return;
		}
		t += ll + 1;
	}
	fail_msg("the vector file has no field '%s'", name);
}

void
dpk_test_vec_hex(const struct dpk_buf *file, const char *name, uint8_t *out, size_t max, size_t *len)
{
	char text[16384];
	size_t got;

	dpk_test_vec_field(file, name, text, sizeof(text));
	assert_int_equal(dpk_hex_decode(text, strlen(text), out, max, &got), 0);
	if (len != NULL)
		*len = got;
	else
		assert_int_equal(got, max);
}

void
dpk_test_openssl_out(char *const argv[], int raw, uint8_t *out, size_t n)
{
	struct dpk_buf o;
	char hex[1024];
	size_t j = 0, got = 0;

	dpk_buf_init(&o, 1 << 16);
	assert_int_equal(dpk_test_run(argv, NULL, &o), 0);
	if (raw) {
		assert_int_equal(o.len, n);
		memcpy(out, o.data, n);
	} else {
		for (size_t k = 0; k < o.len && j < sizeof(hex) - 1; k++) {
			char ch = (char)o.data[k];

			if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))
				hex[j++] = ch;
		}
		assert_int_equal(dpk_hex_decode(hex, j, out, n, &got), 0);
		assert_int_equal(got, n);
	}
	dpk_buf_free(&o);
}
