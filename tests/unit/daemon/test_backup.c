/* lib/daemon/backup.c: the backup file format (round trip; every truncation,
 * every flipped byte, oversized counts and lengths, bad names, trailing
 * bytes, another version refused with a clear message), and the file
 * checks of save, load and restore (0600 and O_EXCL; owner and mode; a
 * restore never replaces a file and leaves nothing behind when refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "daemon/backup.h"
#include "harness.h"

static void
sample(struct dpk_backup *b)
{
	static const uint8_t bin[] = {0, 1, 2, 0xff, 0, '\n'};

	assert_int_equal(dpk_backup_init(b, "dpk-agent"), 0);
	assert_int_equal(dpk_backup_add(b, "identity.pem", 0600, "-----BEGIN PRIVATE KEY-----\n", 28), 0);
	assert_int_equal(dpk_backup_add(b, "tickets.seen", 0600, bin, sizeof(bin)), 0);
	assert_int_equal(dpk_backup_add(b, "empty", 0644, "", 0), 0);
}

static void
encode(struct dpk_buf *out)
{
	struct dpk_backup b;

	sample(&b);
	dpk_buf_init(out, DPK_BACKUP_MAX_BYTES);
	assert_int_equal(dpk_backup_encode(&b, out), 0);
	dpk_backup_free(&b);
}

/* Replace the last 32 bytes with the SHA-256 of the rest (a forged, well-summed file). */
static void
resum(uint8_t *p, size_t len)
{
	assert_int_equal(EVP_Digest(p, len - 32, p + len - 32, NULL, EVP_sha256(), NULL), 1);
}

static int
parse(const uint8_t *p, size_t len, char *err)
{
	struct dpk_backup b;
	int r = dpk_backup_parse(p, len, &b, err, 256);

	dpk_backup_free(&b);
	return r;
}

static void
test_round_trip(void **state)
{
	struct dpk_buf enc;
	struct dpk_backup b;
	char err[256];

	(void)state;
	encode(&enc);
	assert_int_equal(dpk_backup_parse(enc.data, enc.len, &b, err, sizeof(err)), 0);
	assert_string_equal(b.kind, "dpk-agent");
	assert_int_equal(b.n, 3);
	assert_string_equal(b.files[0].name, "identity.pem");
	assert_int_equal(b.files[0].mode, 0600);
	assert_memory_equal(b.files[0].data, "-----BEGIN PRIVATE KEY-----\n", 28);
	assert_int_equal(b.files[1].len, 6);
	assert_int_equal(b.files[1].data[3], 0xff);
	assert_int_equal(b.files[2].len, 0);
	assert_int_equal(b.files[2].mode, 0644);
	dpk_backup_free(&b);
	dpk_buf_free(&enc);
}

static void
test_every_truncation_and_flip(void **state)
{
	struct dpk_buf enc;
	char err[256];

	(void)state;
	encode(&enc);
	for (size_t n = 0; n < enc.len; n++) {
		int r = parse(enc.data, n, err);

		assert_true(r != 0);
		assert_true(err[0] != '\0');
	}
	for (size_t i = 0; i < enc.len; i++) {
		enc.data[i] ^= 0x20;
		assert_true(parse(enc.data, enc.len, err) != 0);
		enc.data[i] ^= 0x20;
	}
	assert_int_equal(parse(enc.data, enc.len, err), 0);
	dpk_buf_free(&enc);
}

static void
test_messages(void **state)
{
	struct dpk_buf enc;
	uint8_t *p;
	char err[256];

	(void)state;
	encode(&enc);
	p = enc.data;
	assert_int_equal(parse((const uint8_t *)"hello world", 11, err), DPK_ERR_SYNTAX);
	assert_non_null(strstr(err, "not a DPK backup"));
	assert_int_equal(parse(p, enc.len - 1, err), DPK_ERR_BADMAC);
	assert_non_null(strstr(err, "damaged or truncated"));
	p[11] = 2; /* format version 2 */
	assert_int_equal(parse(p, enc.len, err), DPK_ERR_UNSUPPORTED);
	assert_non_null(strstr(err, "version 2"));
	p[11] = 1;
	/* forged with a good checksum: each field's own check must hold */
	{
		/* file count 65 (header: 8 magic, 4 version, 1+9 kind, 8 created) */
		size_t cnt = 8 + 4 + 1 + 9 + 8;

		p[cnt + 3] = 65;
		resum(p, enc.len);
		assert_int_equal(parse(p, enc.len, err), DPK_ERR_INVALID);
		assert_non_null(strstr(err, "65 files"));
		p[cnt + 3] = 2; /* two files: the third's bytes are left over */
		resum(p, enc.len);
		assert_int_equal(parse(p, enc.len, err), DPK_ERR_TRAILING);
		p[cnt + 3] = 4; /* four: the fourth is missing */
		resum(p, enc.len);
		assert_int_equal(parse(p, enc.len, err), DPK_ERR_TRUNCATED);
		p[cnt + 3] = 3;
		/* the first name: ".dentity.pem" (hidden), then "identity/pem" */
		p[cnt + 4 + 1] = '.';
		resum(p, enc.len);
		assert_int_equal(parse(p, enc.len, err), DPK_ERR_INVALID);
		assert_non_null(strstr(err, "name"));
		p[cnt + 4 + 1] = 'i';
		p[cnt + 4 + 1 + 8] = '/';
		resum(p, enc.len);
		assert_int_equal(parse(p, enc.len, err), DPK_ERR_INVALID);
		p[cnt + 4 + 1 + 8] = '.';
		/* mode 01000 (not a permission bit) */
		p[cnt + 4 + 1 + 12 + 2] = 0x02;
		resum(p, enc.len);
		assert_int_equal(parse(p, enc.len, err), DPK_ERR_INVALID);
		assert_non_null(strstr(err, "mode"));
		p[cnt + 4 + 1 + 12 + 2] = 0x01;
		/* a size past the end, and a size of 2^63 */
		p[cnt + 4 + 1 + 12 + 4 + 6] = 0x10;
		resum(p, enc.len);
		assert_int_equal(parse(p, enc.len, err), DPK_ERR_TRUNCATED);
		p[cnt + 4 + 1 + 12 + 4 + 6] = 0;
		p[cnt + 4 + 1 + 12 + 4] = 0x80;
		resum(p, enc.len);
		assert_int_equal(parse(p, enc.len, err), DPK_ERR_TRUNCATED);
		p[cnt + 4 + 1 + 12 + 4] = 0;
		resum(p, enc.len);
		assert_int_equal(parse(p, enc.len, err), 0);
	}
	dpk_buf_free(&enc);
}

static void
test_add_checks(void **state)
{
	struct dpk_backup b;

	(void)state;
	assert_int_equal(dpk_backup_init(&b, "Not a kind"), DPK_ERR_INVALID);
	assert_int_equal(dpk_backup_init(&b, "dpk-pkm"), 0);
	assert_int_equal(dpk_backup_add(&b, "a", 0600, "x", 1), 0);
	assert_int_equal(dpk_backup_add(&b, "a", 0600, "x", 1), DPK_ERR_INVALID); /* twice */
	assert_int_equal(dpk_backup_add(&b, "../etc", 0600, "x", 1), DPK_ERR_INVALID);
	assert_int_equal(dpk_backup_add(&b, "", 0600, "x", 1), DPK_ERR_INVALID);
	assert_int_equal(dpk_backup_add(&b, "big", 0600, "x", (size_t)DPK_BACKUP_MAX_BYTES + 1), DPK_ERR_TOOBIG);
	for (int i = 1; i < DPK_BACKUP_MAX_FILES; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(dpk_backup_add(&b, name, 0600, "", 0), 0);
	}
	assert_int_equal(dpk_backup_add(&b, "one-more", 0600, "", 0), DPK_ERR_INVALID);
	dpk_backup_free(&b);
}

static void
test_files(void **state)
{
	char dir[64], path[512], state_dir[128], err[512];
	struct dpk_backup b, got;
	struct stat st;

	(void)state;
	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	assert_int_equal(mkdir(state_dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/identity.pem", state_dir);
	dpk_test_write_file(path, "key", 0600);
	snprintf(path, sizeof(path), "%s/.users.tmp-1234", state_dir); /* a temporary file: not taken */
	dpk_test_write_file(path, "tmp", 0600);
	assert_int_equal(dpk_backup_init(&b, "dpk-agent"), 0);
	assert_int_equal(dpk_backup_add_dir(&b, state_dir, NULL, err, sizeof(err)), 0);
	assert_int_equal(b.n, 1);

	/* saved 0600, never over a file */
	snprintf(path, sizeof(path), "%s/b", dir);
	assert_int_equal(dpk_backup_save(&b, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(dpk_backup_save(&b, path, err, sizeof(err)), DPK_ERR_EXISTS);
	assert_non_null(strstr(err, "never replaces"));

	/* loaded only if of the kind asked and not readable by others */
	assert_int_equal(dpk_backup_load(path, "dpk-pkm", &got, err, sizeof(err)), DPK_ERR_INVALID);
	dpk_backup_free(&got);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(dpk_backup_load(path, "dpk-agent", &got, err, sizeof(err)), DPK_ERR_PERM);
	assert_non_null(strstr(err, "mode 0640"));
	dpk_backup_free(&got);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(dpk_backup_load(path, "dpk-agent", &got, err, sizeof(err)), 0);

	/* restore over the state refused, nothing left behind; into a new directory, done */
	assert_int_equal(dpk_backup_restore(&got, state_dir, err, sizeof(err)), DPK_ERR_EXISTS);
	{
		DIR *d = opendir(state_dir);
		struct dirent *de;
		int n = 0;

		while ((de = readdir(d)) != NULL)
			n += de->d_name[0] != '.' || strstr(de->d_name, ".restore") != NULL;
		closedir(d);
		assert_int_equal(n, 1);
	}
	snprintf(path, sizeof(path), "%s/new", dir);
	assert_int_equal(dpk_backup_restore(&got, path, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/new/identity.pem", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/new/.identity.pem.restore", dir);
	assert_int_not_equal(stat(path, &st), 0);
	/* a directory others may enter is not a state directory */
	snprintf(path, sizeof(path), "%s/open", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(dpk_backup_restore(&got, path, err, sizeof(err)), DPK_ERR_PERM);
	dpk_backup_free(&got);
	dpk_backup_free(&b);
	dpk_test_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_truncation_and_flip),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_add_checks),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
