#include "peers/ticket_seen.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
reserve(struct ticket_seen *t)
{
	if (t->e == NULL && (t->e = calloc(TICKET_SEEN_MAX, sizeof(*t->e))) == NULL)
		return DPK_ERR_NOMEM;
	return 0;
}

int
ticket_seen_has(struct ticket_seen *t, const uint8_t id[32], uint64_t now)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].expiry >= now && memcmp(t->e[i].id, id, 32) == 0)
			return 1;
	return 0;
}

int
ticket_seen_add(struct ticket_seen *t, const uint8_t id[32], uint64_t expiry, uint64_t now)
{
	if (reserve(t) != 0)
		return DPK_ERR_NOMEM;
	for (size_t i = 0; i < t->n;)
		if (t->e[i].expiry < now)
			t->e[i] = t->e[--t->n];
		else
			i++;
	if (t->n == TICKET_SEEN_MAX)
		return DPK_ERR_BUSY;
	memcpy(t->e[t->n].id, id, 32);
	t->e[t->n].expiry = expiry;
	t->n++;
	return 0;
}

void
ticket_seen_remove(struct ticket_seen *t, const uint8_t id[32])
{
	for (size_t i = 0; i < t->n;)
		if (memcmp(t->e[i].id, id, 32) == 0)
			t->e[i] = t->e[--t->n];
		else
			i++;
}

void
ticket_seen_clear(struct ticket_seen *t)
{
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

int
ticket_seen_encode(const struct ticket_seen *t, uint64_t now, struct dpk_buf *out)
{
	uint8_t *p;
	uint32_t n = 0;
	size_t count_at;
	int r;

	if ((r = dpk_buf_put(out, TICKET_SEEN_MAGIC, 8)) != 0)
		return r;
	count_at = out->len; /* by offset: the buffer may move as it grows */
	if ((r = dpk_buf_reserve(out, 4, &p)) != 0)
		return r;
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].expiry < now)
			continue;
		if ((r = dpk_buf_reserve(out, TICKET_SEEN_RECORD, &p)) != 0)
			return r;
		memcpy(p, t->e[i].id, 32);
		put_be(p + 32, t->e[i].expiry, 8);
		n++;
	}
	put_be(out->data + count_at, n, 4);
	return 0;
}

int
ticket_seen_parse(struct ticket_seen *t, const uint8_t *p, size_t n, uint64_t now)
{
	struct dpk_cursor c;
	const uint8_t *magic, *id;
	uint32_t count;
	uint64_t expiry;
	int r;

	if (t->n != 0)
		return DPK_ERR_INVALID;
	dpk_cursor_init(&c, p, n);
	if ((r = dpk_cursor_take(&c, 8, &magic)) != 0 || (r = dpk_cursor_get_be32(&c, &count)) != 0)
		return r;
	if (memcmp(magic, TICKET_SEEN_MAGIC, 8) != 0)
		return DPK_ERR_SYNTAX;
	if (count > TICKET_SEEN_MAX)
		return DPK_ERR_TOOBIG;
	/* the length first: a count the bytes do not hold is refused before anything is kept */
	if (c.len / TICKET_SEEN_RECORD < count)
		return DPK_ERR_TRUNCATED;
	if (c.len != (size_t)count * TICKET_SEEN_RECORD)
		return DPK_ERR_TOOBIG;
	if (count > 0 && (r = reserve(t)) != 0)
		return r;
	for (uint32_t i = 0; i < count; i++) {
		if ((r = dpk_cursor_take(&c, 32, &id)) != 0 || (r = dpk_cursor_get_be64(&c, &expiry)) != 0) {
			t->n = 0;
			return r;
		}
		if (expiry < now)
			continue;
		memcpy(t->e[t->n].id, id, 32);
		t->e[t->n].expiry = expiry;
		t->n++;
	}
	if ((r = dpk_cursor_done(&c)) != 0)
		t->n = 0;
	return r;
}

int
ticket_seen_load(struct ticket_seen *t, const char *dir, uint64_t now, char *err, size_t errsz)
{
	char path[4096];
	struct stat st;
	uint8_t *data = NULL;
	size_t got = 0;
	int fd, r = DPK_ERR_IO;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, TICKET_SEEN_FILE) >= sizeof(path)) {
		snprintf(err, errsz, "state directory path %s is too long", dir);
		return DPK_ERR_TOOBIG;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
		if (errno == ENOENT)
			return 0; /* no ticket redeemed yet */
		snprintf(err, errsz, "cannot open the ticket replay cache %s: %s (it must be a regular file, not a link)",
		    path, strerror(errno));
		return DPK_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "the ticket replay cache %s is not a regular file; move it away", path);
		goto out;
	}
	/* anyone who could write it could make the agent forget a redeemed ticket */
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, errsz, "the ticket replay cache %s must be owned by uid %ld with mode 0600 "
		    "(it is owned by uid %ld, mode %04o): fix its owner and mode (chown, chmod 600)",
		    path, (long)geteuid(), (long)st.st_uid, (unsigned)(st.st_mode & 07777));
		r = DPK_ERR_PERM;
		goto out;
	}
	if ((size_t)st.st_size > TICKET_SEEN_FILE_MAX) {
		snprintf(err, errsz, "the ticket replay cache %s is %lld bytes, over the %zu a full cache takes",
		    path, (long long)st.st_size, TICKET_SEEN_FILE_MAX);
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		r = DPK_ERR_NOMEM;
		snprintf(err, errsz, "out of memory reading %s", path);
		goto out;
	}
	/* one byte more than fstat said, to see a file that grew meanwhile */
	for (;;) {
		ssize_t k = read(fd, data + got, (size_t)st.st_size + 1 - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (k == 0 || (got += (size_t)k) == (size_t)st.st_size + 1)
			break;
	}
	if (got != (size_t)st.st_size) {
		snprintf(err, errsz, "%s changed while it was read", path);
		goto out;
	}
	if ((r = ticket_seen_parse(t, data, got, now)) != 0)
		snprintf(err, errsz, "the ticket replay cache %s is damaged (%s): the agent would forget which tickets "
		    "were redeemed; move it away only when every ticket issued for this host has expired (at most a day)",
		    path, dpk_strerror(r));
out:
	free(data);
	close(fd);
	return r;
}

int
ticket_seen_save(const struct ticket_seen *t, const char *dir, uint64_t now, char *err, size_t errsz)
{
	char path[4096], tmp[4096 + 8];
	struct dpk_buf b;
	size_t off = 0;
	int fd, dfd, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, TICKET_SEEN_FILE) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errsz, "state directory path %s is too long", dir);
		return DPK_ERR_TOOBIG;
	}
	dpk_buf_init(&b, TICKET_SEEN_FILE_MAX);
	if ((r = ticket_seen_encode(t, now, &b)) != 0) {
		snprintf(err, errsz, "cannot encode the ticket replay cache: %s", dpk_strerror(r));
		dpk_buf_free(&b);
		return r;
	}
	unlink(tmp); /* left by a crash mid-write */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errsz, "cannot create %s: %s", tmp, strerror(errno));
		dpk_buf_free(&b);
		return DPK_ERR_IO;
	}
	while (off < b.len) {
		ssize_t k = write(fd, b.data + off, b.len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	r = off == b.len && fsync(fd) == 0 ? 0 : DPK_ERR_IO;
	if (close(fd) != 0)
		r = DPK_ERR_IO;
	if (r == 0 && rename(tmp, path) != 0)
		r = DPK_ERR_IO;
	if (r != 0) {
		snprintf(err, errsz, "cannot write the ticket replay cache %s: %s", path, strerror(errno));
		unlink(tmp);
	} else if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd); /* the rename itself survives a power cut */
		close(dfd);
	}
	dpk_buf_free(&b);
	return r;
}
