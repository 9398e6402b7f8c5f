/* State directory backups (backup.h; doc/backup.md). */
#include "daemon/backup.h"

#include "base/buf.h"
#include "base/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "DPKBACK\n"
#define MAGIC_LEN 8
#define DIGEST_LEN 32

static int
kind_ok(const char *k, size_t n)
{
	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '-'))
			return 0;
	return 1;
}

static int
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
dpk_backup_init(struct dpk_backup *b, const char *kind)
{
	memset(b, 0, sizeof(*b));
	if (!kind_ok(kind, strlen(kind)))
		return DPK_ERR_INVALID;
	memcpy(b->kind, kind, strlen(kind) + 1);
	b->created = (uint64_t)time(NULL);
	return 0;
}

void
dpk_backup_free(struct dpk_backup *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->files[i].data != NULL) {
			explicit_bzero(b->files[i].data, b->files[i].len);
			free(b->files[i].data);
		}
	}
	b->n = 0;
}

static size_t
total_size(const struct dpk_backup *b)
{
	size_t t = MAGIC_LEN + 4 + 1 + strlen(b->kind) + 8 + 4 + DIGEST_LEN;

	for (size_t i = 0; i < b->n; i++)
		t += 1 + strlen(b->files[i].name) + 4 + 8 + b->files[i].len;
	return t;
}

int
dpk_backup_add(struct dpk_backup *b, const char *name, uint32_t mode, const void *data, size_t len)
{
	struct dpk_backup_file *f;

	if (!name_ok(name, strlen(name)) || b->n >= DPK_BACKUP_MAX_FILES)
		return DPK_ERR_INVALID;
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->files[i].name, name) == 0)
			return DPK_ERR_INVALID;
	if (len > DPK_BACKUP_MAX_BYTES || total_size(b) + 1 + strlen(name) + 12 + len > DPK_BACKUP_MAX_BYTES)
		return DPK_ERR_TOOBIG;
	f = &b->files[b->n];
	if ((f->data = malloc(len ? len : 1)) == NULL)
		return DPK_ERR_NOMEM;
	memcpy(f->data, data, len);
	f->len = len;
	f->mode = mode & 0777;
	memcpy(f->name, name, strlen(name) + 1);
	b->n++;
	return 0;
}

/* Read one regular file (opened without following links) into *data. */
static int
read_file(int dirfd, const char *dir, const char *name, uint8_t **data, size_t *len, uint32_t *mode, size_t max,
    char *err, size_t errsz)
{
	struct stat st;
	size_t got = 0;
	uint8_t *p;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		snprintf(err, errsz, "cannot open %s/%s: %s%s", dir, name, strerror(errno),
		    errno == ELOOP ? " (a symbolic link: state files are never links)" : "");
		return DPK_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s/%s is not a regular file: nothing else belongs in a state directory", dir, name);
		close(fd);
		return DPK_ERR_INVALID;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(err, errsz, "%s/%s is %lld bytes: more than a backup holds (%zu)", dir, name,
		    (long long)st.st_size, max);
		close(fd);
		return DPK_ERR_TOOBIG;
	}
	if ((p = malloc((size_t)st.st_size ? (size_t)st.st_size : 1)) == NULL) {
		close(fd);
		return DPK_ERR_NOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		snprintf(err, errsz, "cannot read %s/%s whole (it changed while being read?)", dir, name);
		explicit_bzero(p, got);
		free(p);
		return DPK_ERR_IO;
	}
	*data = p;
	*len = got;
	*mode = (uint32_t)(st.st_mode & 0777);
	return 0;
}

int
dpk_backup_add_dir(struct dpk_backup *b, const char *dir, int (*skip)(const char *name), char *err, size_t errsz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (d == NULL) {
		snprintf(err, errsz, "cannot open the state directory %s: %s", dir, strerror(errno));
		return DPK_ERR_IO;
	}
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
		uint8_t *data = NULL;
		size_t len = 0;
		uint32_t mode = 0;

		if (de->d_name[0] == '.' || (skip != NULL && skip(de->d_name)))
			continue;
		if (!name_ok(de->d_name, strlen(de->d_name))) {
			snprintf(err, errsz, "%s/%s: a file name a backup cannot hold (A-Z a-z 0-9 . _ -, at most 64)", dir,
			    de->d_name);
			r = DPK_ERR_INVALID;
			break;
		}
		if ((r = read_file(dirfd(d), dir, de->d_name, &data, &len, &mode, DPK_BACKUP_MAX_BYTES, err, errsz)) != 0)
			break;
		r = dpk_backup_add(b, de->d_name, mode, data, len);
		explicit_bzero(data, len);
		free(data);
		if (r != 0)
			snprintf(err, errsz, "cannot add %s/%s to the backup: %s", dir, de->d_name,
			    r == DPK_ERR_TOOBIG ? "the backup would exceed its size cap" :
			    r == DPK_ERR_INVALID ? "more files than a backup holds" : dpk_strerror(r));
	}
	if (r == 0 && errno != 0) {
		snprintf(err, errsz, "cannot list %s: %s", dir, strerror(errno));
		r = DPK_ERR_IO;
	}
	closedir(d);
	return r;
}

static int
put_be(struct dpk_buf *o, uint64_t v, int n)
{
	uint8_t x[8];

	for (int i = 0; i < n; i++)
		x[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return dpk_buf_put(o, x, (size_t)n);
}

int
dpk_backup_encode(const struct dpk_backup *b, struct dpk_buf *out)
{
	uint8_t md[DIGEST_LEN];
	int r = 0;

	if (total_size(b) > DPK_BACKUP_MAX_BYTES)
		return DPK_ERR_TOOBIG;
	r |= dpk_buf_put(out, MAGIC, MAGIC_LEN);
	r |= put_be(out, DPK_BACKUP_VERSION, 4);
	r |= put_be(out, strlen(b->kind), 1);
	r |= dpk_buf_put(out, b->kind, strlen(b->kind));
	r |= put_be(out, b->created, 8);
	r |= put_be(out, b->n, 4);
	for (size_t i = 0; i < b->n; i++) {
		r |= put_be(out, strlen(b->files[i].name), 1);
		r |= dpk_buf_put(out, b->files[i].name, strlen(b->files[i].name));
		r |= put_be(out, b->files[i].mode, 4);
		r |= put_be(out, b->files[i].len, 8);
		r |= dpk_buf_put(out, b->files[i].data, b->files[i].len);
	}
	if (r != 0)
		return DPK_ERR_NOMEM;
	if (EVP_Digest(out->data, out->len, md, NULL, EVP_sha256(), NULL) != 1)
		return DPK_ERR_CRYPTO;
	return dpk_buf_put(out, md, DIGEST_LEN) == 0 ? 0 : DPK_ERR_NOMEM;
}

struct rd {
	const uint8_t *p;
	size_t len, off;
};

static int
take(struct rd *r, size_t n, const uint8_t **out)
{
	if (n > r->len - r->off)
		return -1;
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

static int
get_be(struct rd *r, int n, uint64_t *v)
{
	const uint8_t *p;

	if (take(r, (size_t)n, &p) != 0)
		return -1;
	*v = 0;
	for (int i = 0; i < n; i++)
		*v = *v << 8 | p[i];
	return 0;
}

int
dpk_backup_parse(const uint8_t *p, size_t len, struct dpk_backup *b, char *err, size_t errsz)
{
	struct rd rd = {.p = p, .len = len, .off = 0};
	uint8_t md[DIGEST_LEN];
	const uint8_t *s;
	uint64_t v, n, count;

	memset(b, 0, sizeof(*b));
	if (len < MAGIC_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0) {
		snprintf(err, errsz, "not a DPK backup (it does not begin with the backup magic)");
		return DPK_ERR_SYNTAX;
	}
	if (len > DPK_BACKUP_MAX_BYTES) {
		snprintf(err, errsz, "%zu bytes: larger than any backup (%u)", len, DPK_BACKUP_MAX_BYTES);
		return DPK_ERR_TOOBIG;
	}
	rd.off = MAGIC_LEN;
	if (get_be(&rd, 4, &v) != 0) {
		snprintf(err, errsz, "the backup is truncated (it ends in its header)");
		return DPK_ERR_TRUNCATED;
	}
	if (v != DPK_BACKUP_VERSION) {
		snprintf(err, errsz, "backup format version %llu: this program reads version %d only",
		    (unsigned long long)v, DPK_BACKUP_VERSION);
		return DPK_ERR_UNSUPPORTED;
	}
	if (len < rd.off + DIGEST_LEN) {
		snprintf(err, errsz, "the backup is truncated (no checksum)");
		return DPK_ERR_TRUNCATED;
	}
	if (EVP_Digest(p, len - DIGEST_LEN, md, NULL, EVP_sha256(), NULL) != 1)
		return DPK_ERR_CRYPTO;
	if (CRYPTO_memcmp(md, p + len - DIGEST_LEN, DIGEST_LEN) != 0) {
		snprintf(err, errsz, "the backup is damaged or truncated: its SHA-256 checksum does not match");
		return DPK_ERR_BADMAC;
	}
	rd.len = len - DIGEST_LEN;
	if (get_be(&rd, 1, &n) != 0 || take(&rd, (size_t)n, &s) != 0 || !kind_ok((const char *)s, (size_t)n)) {
		snprintf(err, errsz, "the backup's kind is missing or malformed");
		return DPK_ERR_INVALID;
	}
	memcpy(b->kind, s, (size_t)n);
	b->kind[n] = '\0';
	if (get_be(&rd, 8, &b->created) != 0 || get_be(&rd, 4, &count) != 0) {
		snprintf(err, errsz, "the backup is truncated (it ends in its header)");
		return DPK_ERR_TRUNCATED;
	}
	if (count > DPK_BACKUP_MAX_FILES) {
		snprintf(err, errsz, "the backup lists %llu files (at most %d)", (unsigned long long)count,
		    DPK_BACKUP_MAX_FILES);
		return DPK_ERR_INVALID;
	}
	for (uint64_t i = 0; i < count; i++) {
		char name[65];
		uint64_t mode, size;
		const uint8_t *data;
		int r;

		if (get_be(&rd, 1, &n) != 0 || take(&rd, (size_t)n, &s) != 0) {
			snprintf(err, errsz, "the backup is truncated (in the name of file %llu)", (unsigned long long)i + 1);
			return DPK_ERR_TRUNCATED;
		}
		if (!name_ok((const char *)s, (size_t)n) || memchr(s, '\0', (size_t)n) != NULL) {
			snprintf(err, errsz, "file %llu of the backup has a name no state file has", (unsigned long long)i + 1);
			return DPK_ERR_INVALID;
		}
		memcpy(name, s, (size_t)n);
		name[n] = '\0';
		if (get_be(&rd, 4, &mode) != 0 || get_be(&rd, 8, &size) != 0) {
			snprintf(err, errsz, "the backup is truncated (in the header of %s)", name);
			return DPK_ERR_TRUNCATED;
		}
		if (mode > 0777) {
			snprintf(err, errsz, "%s in the backup has mode %llo (permission bits only, at most 0777)", name,
			    (unsigned long long)mode);
			return DPK_ERR_INVALID;
		}
		if (size > rd.len - rd.off || take(&rd, (size_t)size, &data) != 0) {
			snprintf(err, errsz, "the backup is truncated (in the contents of %s)", name);
			return DPK_ERR_TRUNCATED;
		}
		if ((r = dpk_backup_add(b, name, (uint32_t)mode, data, (size_t)size)) != 0) {
			snprintf(err, errsz, "%s is in the backup twice", name);
			return r == DPK_ERR_NOMEM ? r : DPK_ERR_INVALID;
		}
	}
	if (rd.off != rd.len) {
		snprintf(err, errsz, "%zu bytes after the last file of the backup", rd.len - rd.off);
		return DPK_ERR_TRAILING;
	}
	return 0;
}

/* Write all of p to fd, set its mode, sync it: 0 or DPK_ERR_IO (errno says why). */
static int
write_synced(int fd, const uint8_t *p, size_t len, mode_t mode)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return DPK_ERR_IO;
		off += (size_t)n;
	}
	return fchmod(fd, mode) == 0 && fsync(fd) == 0 ? 0 : DPK_ERR_IO;
}

int
dpk_backup_save(const struct dpk_backup *b, const char *path, char *err, size_t errsz)
{
	struct dpk_buf out;
	int fd, r;

	dpk_buf_init(&out, DPK_BACKUP_MAX_BYTES);
	if ((r = dpk_backup_encode(b, &out)) != 0) {
		snprintf(err, errsz, "cannot encode the backup: %s", dpk_strerror(r));
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		r = errno == EEXIST ? DPK_ERR_EXISTS : DPK_ERR_IO;
		snprintf(err, errsz, "cannot create %s: %s%s", path, strerror(errno),
		    errno == EEXIST ? " (a backup never replaces a file: choose another name)" : "");
		goto out;
	}
	r = write_synced(fd, out.data, out.len, 0600);
	if (r != 0)
		snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
	if (close(fd) != 0 && r == 0) {
		r = DPK_ERR_IO;
		snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
	}
	if (r != 0)
		unlink(path);
out:
	if (out.data != NULL)
		explicit_bzero(out.data, out.len);
	dpk_buf_free(&out);
	return r;
}

int
dpk_backup_load(const char *path, const char *kind, struct dpk_backup *b, char *err, size_t errsz)
{
	char dir[PATH_MAX], *slash;
	const char *base = path;
	uint8_t *data = NULL;
	size_t len = 0;
	uint32_t mode;
	struct stat st;
	int dfd, r;

	memset(b, 0, sizeof(*b));
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		base = path + (strrchr(path, '/') - path) + 1;
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "cannot open %s: %s", dir, strerror(errno));
		return DPK_ERR_IO;
	}
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
		close(dfd);
		return DPK_ERR_IO;
	}
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 077) != 0) {
		snprintf(err, errsz, "refusing %s: a backup must be a regular file owned by root or you with mode 0600 "
		    "(it is %s, owner uid %lu, mode %04o): someone else could have changed it", path,
		    S_ISREG(st.st_mode) ? "a file" : S_ISLNK(st.st_mode) ? "a symbolic link" : "not a file",
		    (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(dfd);
		return DPK_ERR_PERM;
	}
	r = read_file(dfd, dir, base, &data, &len, &mode, DPK_BACKUP_MAX_BYTES, err, errsz);
	close(dfd);
	if (r != 0)
		return r;
	if ((r = dpk_backup_parse(data, len, b, err, errsz)) != 0) {
		char why[400];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errsz, "refusing %s: %s", path, why);
	} else if (strcmp(b->kind, kind) != 0) {
		snprintf(err, errsz, "refusing %s: it is a backup of %s, not of %s", path, b->kind, kind);
		r = DPK_ERR_INVALID;
	}
	explicit_bzero(data, len);
	free(data);
	return r;
}

/* Remove dir/.NAME.restore and (if done) dir/NAME of the first n files. */
static void
undo(int dfd, const struct dpk_backup *b, size_t n, size_t renamed)
{
	for (size_t i = 0; i < n; i++) {
		char tmp[80];

		snprintf(tmp, sizeof(tmp), ".%s.restore", b->files[i].name);
		unlinkat(dfd, tmp, 0);
		if (i < renamed)
			unlinkat(dfd, b->files[i].name, 0);
	}
}

int
dpk_backup_restore(const struct dpk_backup *b, const char *dir, char *err, size_t errsz)
{
	struct stat st;
	size_t written = 0, renamed = 0;
	int dfd, r = 0;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot create %s: %s", dir, strerror(errno));
		return DPK_ERR_IO;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "cannot open %s: %s", dir, strerror(errno));
		return DPK_ERR_IO;
	}
	if (fstat(dfd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, errsz, "%s must be a directory of yours with mode 0700 (it has owner uid %lu, mode %04o)",
		    dir, (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(dfd);
		return DPK_ERR_PERM;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (fstatat(dfd, b->files[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
			snprintf(err, errsz, "%s/%s exists: a restore never replaces a file; move the state away first "
			    "(nothing was restored)", dir, b->files[i].name);
			close(dfd);
			return DPK_ERR_EXISTS;
		}
	}
	for (; r == 0 && written < b->n; written++) {
		const struct dpk_backup_file *f = &b->files[written];
		char tmp[80];
		int fd;

		snprintf(tmp, sizeof(tmp), ".%s.restore", f->name);
		unlinkat(dfd, tmp, 0); /* left by a restore that was killed */
		if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
			snprintf(err, errsz, "cannot create %s/%s: %s", dir, tmp, strerror(errno));
			r = DPK_ERR_IO;
			break;
		}
		r = write_synced(fd, f->data, f->len, f->mode & 0700);
		if (close(fd) != 0 && r == 0)
			r = DPK_ERR_IO;
		if (r != 0)
			snprintf(err, errsz, "cannot write %s/%s: %s", dir, tmp, strerror(errno));
	}
	for (; r == 0 && renamed < b->n; renamed++) {
		char tmp[80];

		snprintf(tmp, sizeof(tmp), ".%s.restore", b->files[renamed].name);
		/* link, not rename: never replaces a file that appeared meanwhile */
		if (linkat(dfd, tmp, dfd, b->files[renamed].name, 0) != 0) {
			snprintf(err, errsz, "cannot put %s/%s in place: %s", dir, b->files[renamed].name, strerror(errno));
			r = errno == EEXIST ? DPK_ERR_EXISTS : DPK_ERR_IO;
			break;
		}
	}
	/* the temporary names always; on failure the files put in place too */
	undo(dfd, b, b->n, r != 0 ? renamed : 0);
	if (r == 0 && fsync(dfd) != 0) {
		snprintf(err, errsz, "cannot sync %s: %s", dir, strerror(errno));
		r = DPK_ERR_IO;
	}
	close(dfd);
	return r;
}
