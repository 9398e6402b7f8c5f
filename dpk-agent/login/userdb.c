/* The users this host has met (userdb.h). */
#include "login/userdb.h"

#include "base/err.h"
#include "common/nss_map.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
agent_userdb_parse_line(const char *line, size_t n, uint64_t *serial, struct dpk_identity *id)
{
	char text[DPK_IDENTITY_FORMAT_SIZE];
	uint64_t v = 0;
	size_t i = 0;

	if (n == 0 || line[0] < '1' || line[0] > '9')
		return -1;
	for (; i < n && line[i] >= '0' && line[i] <= '9'; i++) {
		if (i == 19)
			return -1; /* at most 19 digits: no overflow */
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (i == n || line[i] != ' ' || i + 1 == n)
		return -1;
	i++;
	if (dpk_identity_parse(line + i, n - i, id) != 0 || dpk_identity_format(id, text, sizeof(text)) != 0 ||
	    strlen(text) != n - i || memcmp(text, line + i, n - i) != 0)
		return -1; /* canonical text only: one spelling each */
	*serial = v;
	return 0;
}

static size_t
find_slot(const struct agent_userdb *db, uint64_t serial)
{
	size_t lo = 0, hi = db->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (db->v[mid].serial < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct agent_userdb_ent *
agent_userdb_by_serial(const struct agent_userdb *db, uint64_t serial)
{
	size_t i = find_slot(db, serial);

	return i < db->n && db->v[i].serial == serial ? &db->v[i] : NULL;
}

#define IX_DELETED UINT64_MAX

static size_t
name_home(const struct agent_userdb *db, const char *name, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)name[i];
		h *= 0x100000001b3ull;
	}
	return (size_t)(h ^ h >> 29) & (db->ix_cap - 1);
}

const struct agent_userdb_ent *
agent_userdb_by_name(const struct agent_userdb *db, const char *name, size_t n)
{
	const struct agent_userdb_ent *best = NULL;

	if (n >= sizeof(db->v[0].name) || db->ix_cap == 0)
		return NULL;
	for (size_t i = name_home(db, name, n);; i = (i + 1) & (db->ix_cap - 1)) {
		const struct agent_userdb_ent *e;

		if (db->ix[i] == 0)
			return best;
		if (db->ix[i] == IX_DELETED || (e = agent_userdb_by_serial(db, db->ix[i])) == NULL)
			continue;
		if (strlen(e->name) == n && memcmp(e->name, name, n) == 0 && (best == NULL || e->serial < best->serial))
			best = e;
	}
}

/* The index slot holding serial under name, or where it would go. */
static size_t
ix_slot(const struct agent_userdb *db, const char *name, uint64_t serial)
{
	size_t i = name_home(db, name, strlen(name)), to = SIZE_MAX;

	for (;; i = (i + 1) & (db->ix_cap - 1)) {
		if (db->ix[i] == serial)
			return i;
		if (db->ix[i] == 0)
			return to != SIZE_MAX ? to : i;
		if (db->ix[i] == IX_DELETED && to == SIZE_MAX)
			to = i;
	}
}

static int
ix_add(struct agent_userdb *db, const char *name, uint64_t serial)
{
	size_t i;

	if (2 * (db->ix_used + 1) > db->ix_cap) {
		size_t cap = db->ix_cap ? 2 * db->ix_cap : 128;
		uint64_t *ix;

		while (2 * (db->n + 1) > cap)
			cap *= 2;
		if ((ix = calloc(cap, sizeof(*ix))) == NULL)
			return DPK_ERR_NOMEM;
		free(db->ix);
		db->ix = ix;
		db->ix_cap = cap;
		db->ix_used = 0;
		for (size_t k = 0; k < db->n; k++)
			if (db->v[k].serial != serial) {
				db->ix[ix_slot(db, db->v[k].name, db->v[k].serial)] = db->v[k].serial;
				db->ix_used++;
			}
	}
	i = ix_slot(db, name, serial);
	if (db->ix[i] == 0)
		db->ix_used++;
	db->ix[i] = serial;
	return 0;
}

static void
ix_remove(struct agent_userdb *db, const char *name, uint64_t serial)
{
	size_t i;

	if (db->ix_cap == 0)
		return;
	i = ix_slot(db, name, serial);
	if (db->ix[i] == serial)
		db->ix[i] = IX_DELETED;
}

/* In memory only: 0, DPK_ERR_NOMEM, DPK_ERR_TOOBIG; *changed if anything did. */
static int
put(struct agent_userdb *db, uint64_t serial, const struct dpk_identity *id, int *changed)
{
	struct agent_userdb_ent e;
	char text[DPK_IDENTITY_FORMAT_SIZE];
	size_t i = find_slot(db, serial);

	*changed = 0;
	memset(&e, 0, sizeof(e));
	e.serial = serial;
	if (dpk_identity_hash(id, e.hash) != 0 || dpk_identity_format(id, text, sizeof(text)) != 0)
		return DPK_ERR_INVALID;
	if (i < db->n && db->v[i].serial == serial && memcmp(db->v[i].hash, e.hash, 32) == 0)
		return 0;
	agent_nss_map_name(id, e.hash, e.name);
	if ((e.ident = strdup(text)) == NULL)
		return DPK_ERR_NOMEM;
	if (i < db->n && db->v[i].serial == serial) {
		ix_remove(db, db->v[i].name, serial);
		free(db->v[i].ident);
		db->v[i] = e;
		*changed = 1;
		return ix_add(db, e.name, serial);
	}
	if (db->n == AGENT_USERDB_MAX) {
		free(e.ident);
		return DPK_ERR_TOOBIG;
	}
	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 64;
		struct agent_userdb_ent *v = realloc(db->v, cap * sizeof(*v));

		if (v == NULL) {
			free(e.ident);
			return DPK_ERR_NOMEM;
		}
		db->v = v;
		db->cap = cap;
	}
	memmove(&db->v[i + 1], &db->v[i], (db->n - i) * sizeof(db->v[0]));
	db->v[i] = e;
	db->n++;
	*changed = 1;
	return ix_add(db, e.name, serial);
}

int
agent_userdb_open(struct agent_userdb *db, const char *dir, size_t *skipped, char *err, size_t errsz)
{
	char path[4200], line[AGENT_USERDB_LINE_MAX + 2];
	FILE *f;
	int fd;

	memset(db, 0, sizeof(*db));
	db->fd = -1;
	*skipped = 0;
	snprintf(path, sizeof(path), "%s/users", dir);
	if ((fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return DPK_ERR_IO;
	}
	if ((f = fdopen(dup(fd), "r")) == NULL) {
		snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
		close(fd);
		return DPK_ERR_IO;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		struct dpk_identity id;
		uint64_t serial;
		int changed, r;

		if (n == 0 || line[n - 1] != '\n') {
			/* a line too long (or cut short at the end): skip to its end */
			int ch;

			while (n == sizeof(line) - 1 && (ch = fgetc(f)) != EOF && ch != '\n')
				;
			(*skipped)++;
			continue;
		}
		if (agent_userdb_parse_line(line, n - 1, &serial, &id) != 0) {
			(*skipped)++;
			continue;
		}
		if ((r = put(db, serial, &id, &changed)) == DPK_ERR_NOMEM) {
			fclose(f);
			close(fd);
			agent_userdb_close(db);
			snprintf(err, errsz, "out of memory reading %s", path);
			return r;
		}
	}
	fclose(f);
	db->fd = fd;
	return 0;
}

void
agent_userdb_close(struct agent_userdb *db)
{
	for (size_t i = 0; i < db->n; i++)
		free(db->v[i].ident);
	free(db->v);
	free(db->ix);
	if (db->fd >= 0)
		close(db->fd);
	memset(db, 0, sizeof(*db));
	db->fd = -1;
}

int
agent_userdb_note(struct agent_userdb *db, uint64_t serial, const struct dpk_identity *id)
{
	const struct agent_userdb_ent *e;
	char line[AGENT_USERDB_LINE_MAX + 1];
	int changed, r, n;

	if ((r = put(db, serial, id, &changed)) != 0 || !changed || db->fd < 0)
		return r;
	e = agent_userdb_by_serial(db, serial);
	n = snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)serial, e->ident);
	/* one write of a whole line with O_APPEND: a crash leaves at most a cut
	 * last line, which the next load skips */
	if (n > 0 && (size_t)n < sizeof(line) && write(db->fd, line, (size_t)n) != n)
		return DPK_ERR_IO;
	return 0;
}
