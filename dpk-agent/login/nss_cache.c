/* nss_dpk's cache file, the writer's side (nss_cache.h).
 *
 * The agent keeps the users it vouches for in an array with an index by
 * identity hash, so that noting an answer costs the same at ten users as at
 * a million. A change goes into the mapped file in place
 * (nss_cachebuild.c); the file is built anew, by a temporary file and a
 * rename, only at start, after a clear, when it is full (it then gets room
 * for half as many again, so the cost of a build is spread over as many
 * changes as it holds entries) or when someone else replaced or removed it.
 * Expired entries are dropped at most once a second and only when one is
 * due. */
#include "login/nss_cache.h"

#include "agent.h"
#include "common/clock.h"
#include "common/log.h"

#include "cachefile.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* at most this often: a burst of changes that overflow the file is one build */
#define NSS_CACHE_WRITE_INTERVAL_MS 50
/* expired entries go at most this often */
#define NSS_CACHE_SWEEP_INTERVAL_MS 1000

struct nss_cache_entry {
	uint8_t hash[32];
	char name[65];
	uint32_t uid, gid;
	char *gecos, *home;
	int64_t fresh_until_ms; /* monotonic */
	int proven;             /* the record was proven at this block */
	uint64_t block_number;
	uint8_t block_hash[32];
};

struct agent_nss_cache {
	struct nss_cache_entry *e;
	size_t n, cap;
	/* open addressing by the hash's first 8 bytes: entry number + 1, 0
	 * empty, IX_DELETED; never more than half used */
	uint32_t *ix;
	size_t ix_cap, ix_used;
	int dirty; /* the file must be built anew */
	int64_t last_write_ms, last_sweep_ms, next_expiry_ms;
	int64_t checked_ms; /* when the path was last seen to be map's file */
	uint64_t generation;
	char *written_path; /* the file this agent wrote last, removed at exit */
	uint8_t *map;       /* that file, mapped for writing */
	size_t map_size;
	dev_t dev;
	ino_t ino;
	int warned;
};

#define IX_DELETED UINT32_MAX

static struct agent_nss_cache *
state(struct agent *a)
{
	if (a->nss_cache == NULL && (a->nss_cache = calloc(1, sizeof(*a->nss_cache))) != NULL) {
		a->nss_cache->dirty = 1; /* the first write replaces a file left by an earlier run */
		a->nss_cache->next_expiry_ms = INT64_MAX;
	}
	return a->nss_cache;
}

/* ---- the index ---- */

static size_t
ix_home(const struct agent_nss_cache *s, const uint8_t hash[32])
{
	uint64_t h;

	memcpy(&h, hash, sizeof(h)); /* a keccak hash: uniform already */
	return (size_t)(h & (s->ix_cap - 1));
}

/* the index slot of hash, or of where it would go */
static size_t
ix_slot(const struct agent_nss_cache *s, const uint8_t hash[32], int *found)
{
	size_t i = ix_home(s, hash), to = SIZE_MAX;

	*found = 0;
	for (;; i = (i + 1) & (s->ix_cap - 1)) {
		uint32_t v = s->ix[i];

		if (v == 0)
			return to != SIZE_MAX ? to : i;
		if (v == IX_DELETED) {
			if (to == SIZE_MAX)
				to = i;
			continue;
		}
		if (memcmp(s->e[v - 1].hash, hash, 32) == 0) {
			*found = 1;
			return i;
		}
	}
}

static int
ix_rebuild(struct agent_nss_cache *s, size_t cap)
{
	uint32_t *ix = calloc(cap, sizeof(*ix));
	int found;

	if (ix == NULL)
		return -1;
	free(s->ix);
	s->ix = ix;
	s->ix_cap = cap;
	s->ix_used = s->n;
	for (size_t k = 0; k < s->n; k++)
		s->ix[ix_slot(s, s->e[k].hash, &found)] = (uint32_t)k + 1;
	return 0;
}

static struct nss_cache_entry *
find(struct agent_nss_cache *s, const uint8_t hash[32])
{
	int found;
	size_t i;

	if (s->ix_cap == 0)
		return NULL;
	i = ix_slot(s, hash, &found);
	return found ? &s->e[s->ix[i] - 1] : NULL;
}

static void
entry_clear(struct nss_cache_entry *e)
{
	free(e->gecos);
	free(e->home);
	memset(e, 0, sizeof(*e));
}

static int64_t
realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the file, in place ---- */

static void
unmap(struct agent_nss_cache *s)
{
	if (s->map != NULL)
		munmap(s->map, s->map_size);
	s->map = NULL;
	s->map_size = 0;
}

/* The mapped file, if it is still the one at the path (not removed or
 * replaced by someone else) and no build is pending; else NULL and a build
 * is due. */
static uint8_t *
writable(struct agent *a, struct agent_nss_cache *s)
{
	int64_t now = agent_now_ms();
	struct stat st;

	if (s->dirty || s->map == NULL)
		return NULL;
	if (now == s->checked_ms) /* once a millisecond is enough (a sweep removes many) */
		return s->map;
	if (stat(a->cfg.nss_cache_file, &st) != 0 || st.st_dev != s->dev || st.st_ino != s->ino) {
		s->dirty = 1;
		return NULL;
	}
	s->checked_ms = now;
	return s->map;
}

static void
entry_in(struct agent *a, const struct nss_cache_entry *e, int64_t now, int64_t rt, struct nss_cache_user_in *u,
    struct nss_cache_group_in *g)
{
	uint64_t expiry = (uint64_t)(rt + (e->fresh_until_ms - now));

	*u = (struct nss_cache_user_in){e->name, e->gecos, e->home, a->cfg.nss_shell, e->uid, e->gid, expiry,
	    e->proven ? e->block_number : 0, e->proven ? e->block_hash : NULL};
	*g = (struct nss_cache_group_in){e->name, e->uid, expiry};
}

static void
file_put(struct agent *a, struct agent_nss_cache *s, const struct nss_cache_entry *e)
{
	struct nss_cache_user_in u;
	struct nss_cache_group_in g;
	uint8_t *p = writable(a, s);
	int r;

	if (p == NULL)
		return;
	entry_in(a, e, agent_now_ms(), realtime_ms(), &u, &g);
	r = agent_nss_cache_put_user(p, s->map_size, &u);
	if (r == 0 && !a->cfg.has_nss_gid)
		r = agent_nss_cache_put_group(p, s->map_size, &g);
	if (r == DPK_ERR_TOOBIG)
		s->dirty = 1; /* full: a bigger file at the next tick */
}

static void
file_del(struct agent *a, struct agent_nss_cache *s, const struct nss_cache_entry *e)
{
	uint8_t *p = writable(a, s);

	if (p == NULL)
		return;
	(void)agent_nss_cache_del_user(p, s->map_size, e->name);
	if (!a->cfg.has_nss_gid)
		(void)agent_nss_cache_del_group(p, s->map_size, e->name);
}

/* Entry i goes: from the index, the file and the array (the last one takes
 * its place). */
static void
remove_at(struct agent *a, struct agent_nss_cache *s, size_t i)
{
	int found;
	size_t k = ix_slot(s, s->e[i].hash, &found);

	file_del(a, s, &s->e[i]);
	s->ix[k] = IX_DELETED;
	entry_clear(&s->e[i]);
	if (i != --s->n) {
		s->e[i] = s->e[s->n];
		s->ix[ix_slot(s, s->e[i].hash, &found)] = (uint32_t)i + 1;
	}
}

void
agent_nss_cache_note(struct agent *a, const uint8_t hash[32], const char *name, uint32_t uid, uint32_t gid,
    const char *gecos, const char *home, int64_t fresh_until_ms)
{
	struct agent_nss_cache *s;
	struct nss_cache_entry *e;
	const struct cache_entry *ce = cache_get(&a->cache, hash);
	int proven = ce != NULL && ce->proven;
	char *g, *h;
	int found;

	/* a stale answer (the chain unreachable) is not written: readers would
	 * find it expired anyway */
	if (a->cfg.nss_cache_file == NULL || fresh_until_ms <= agent_now_ms() || (s = state(a)) == NULL)
		return;
	e = find(s, hash);
	if (e != NULL && e->fresh_until_ms == fresh_until_ms && e->uid == uid && e->gid == gid &&
	    strcmp(e->name, name) == 0 && strcmp(e->gecos, gecos) == 0 && strcmp(e->home, home) == 0 &&
	    e->proven == proven && (!proven || e->block_number == ce->block_number))
		return; /* nothing new: no write */
	if (strlen(name) >= sizeof(e->name))
		return; /* no DPK name is that long; the socket answers */
	if ((g = strdup(gecos)) == NULL || (h = strdup(home)) == NULL) {
		free(g);
		return;
	}
	if (e == NULL) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 64;
			struct nss_cache_entry *ne = realloc(s->e, cap * sizeof(*ne));

			if (ne == NULL)
				goto nomem;
			s->e = ne;
			s->cap = cap;
		}
		if (2 * (s->ix_used + 1) > s->ix_cap && ix_rebuild(s, s->ix_cap ? 2 * s->ix_cap : 128) != 0)
			goto nomem;
		e = &s->e[s->n];
		memset(e, 0, sizeof(*e));
		memcpy(e->hash, hash, 32);
		{
			size_t k = ix_slot(s, hash, &found);

			if (s->ix[k] == 0)
				s->ix_used++;
			s->ix[k] = (uint32_t)++s->n;
		}
	} else {
		if (strcmp(e->name, name) != 0)
			file_del(a, s, e); /* renamed: the old name goes */
		free(e->gecos);
		free(e->home);
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->uid = uid;
	e->gid = gid;
	e->gecos = g;
	e->home = h;
	e->fresh_until_ms = fresh_until_ms;
	e->proven = proven;
	if (proven) {
		e->block_number = ce->block_number;
		memcpy(e->block_hash, ce->block_hash, 32);
	}
	if (fresh_until_ms < s->next_expiry_ms)
		s->next_expiry_ms = fresh_until_ms;
	file_put(a, s, e);
	return;
nomem:
	free(g);
	free(h);
}

void
agent_nss_cache_forget(struct agent *a, const uint8_t hash[32])
{
	struct agent_nss_cache *s = a->nss_cache;
	struct nss_cache_entry *e;

	if (s == NULL || (e = find(s, hash)) == NULL)
		return;
	remove_at(a, s, (size_t)(e - s->e));
}

void
agent_nss_cache_clear(struct agent *a)
{
	struct agent_nss_cache *s = a->nss_cache;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		entry_clear(&s->e[i]);
	s->n = 0;
	if (s->ix != NULL)
		memset(s->ix, 0, s->ix_cap * sizeof(*s->ix));
	s->ix_used = 0;
	s->next_expiry_ms = INT64_MAX;
	s->dirty = 1;
}

/* ---- the file, built anew ---- */

/* Build the file for s's entries into a temporary file beside path, map
 * it, and rename it into place: a reader sees the old file or the new one,
 * never a part. The mapping becomes s->map. */
static int
build_file(struct agent *a, struct agent_nss_cache *s, int64_t now)
{
	const char *path = a->cfg.nss_cache_file;
	int64_t rt = realtime_ms();
	uint64_t heap = 0, size = 0;
	size_t live = 0, room;
	uint32_t slots = 0, seed;
	char tmp[4200];
	uint8_t *p = MAP_FAILED;
	struct stat st;
	int fd = -1, r = DPK_ERR_IO;

	for (size_t i = 0; i < s->n; i++) {
		struct nss_cache_user_in u;
		struct nss_cache_group_in g;

		entry_in(a, &s->e[i], now, rt, &u, &g);
		heap += agent_nss_cache_user_bytes(&u) + agent_nss_cache_group_bytes(&g);
		live++;
	}
	room = live + live / 2 + 64;
	heap += heap / 2 + 4096 + 128;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return DPK_ERR_TOOBIG;
	for (int attempt = 0;; attempt++) {
		if ((r = agent_nss_cache_layout(room, heap, &slots, &size)) != 0)
			goto out;
		r = DPK_ERR_IO;
		if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
			goto out;
		if (fchmod(fd, 0644) != 0 || ftruncate(fd, (off_t)size) != 0 ||
		    (p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
			goto out;
		if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			seed = (uint32_t)rt ^ (uint32_t)getpid();
		agent_nss_cache_init(p, (size_t)size, slots, seed, ++s->generation);
		if (a->cfg.has_nss_gid) {
			struct nss_cache_group_in shared = {a->cfg.nss_group, a->cfg.nss_gid, 0};

			(void)agent_nss_cache_put_group(p, (size_t)size, &shared);
		}
		r = 0;
		for (size_t i = 0; i < s->n && r != DPK_ERR_TOOBIG; i++) {
			struct nss_cache_user_in u;
			struct nss_cache_group_in g;

			entry_in(a, &s->e[i], now, rt, &u, &g);
			r = agent_nss_cache_put_user(p, (size_t)size, &u);
			if (r != DPK_ERR_TOOBIG && !a->cfg.has_nss_gid)
				r = agent_nss_cache_put_group(p, (size_t)size, &g);
		}
		if (r != DPK_ERR_TOOBIG)
			break;
		/* keys that crowd one place (another seed), or too little room */
		munmap(p, (size_t)size);
		p = MAP_FAILED;
		close(fd);
		fd = -1;
		unlink(tmp);
		snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
		if (attempt >= 3)
			goto out;
		room *= 2;
		heap *= 2;
	}
	r = DPK_ERR_IO;
	if (fstat(fd, &st) != 0 || rename(tmp, path) != 0)
		goto out;
	unmap(s);
	s->map = p;
	s->map_size = (size_t)size;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->checked_ms = -1;
	p = MAP_FAILED;
	r = 0;
out:
	if (p != MAP_FAILED)
		munmap(p, (size_t)size);
	if (fd >= 0) {
		close(fd);
		if (r != 0)
			unlink(tmp);
	}
	if (r != 0 && !s->warned) {
		agent_log(LOG_WARNING, "cannot write the NSS cache file %s: %s (nss_dpk asks over the socket meanwhile)",
		    path, r == DPK_ERR_IO ? strerror(errno) : dpk_strerror(r));
		s->warned = 1;
	} else if (r == 0) {
		s->warned = 0;
	}
	return r;
}

/* Drop the expired entries; the next expiry. */
static void
sweep(struct agent *a, struct agent_nss_cache *s, int64_t now)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i].fresh_until_ms <= now) {
			remove_at(a, s, i--);
			continue;
		}
		if (s->e[i].fresh_until_ms < next)
			next = s->e[i].fresh_until_ms;
	}
	s->next_expiry_ms = next;
	s->last_sweep_ms = now;
}

static int64_t
min64(int64_t x, int64_t y)
{
	return x < y ? x : y;
}

int64_t
agent_nss_cache_tick(struct agent *a, int64_t now)
{
	struct agent_nss_cache *s;
	int64_t next = INT64_MAX;

	if (a->nss_cache == NULL && a->cfg.nss_cache_file == NULL)
		return -1;
	if ((s = state(a)) == NULL)
		return -1;
	/* turned off or moved by a reload: the old file must not linger */
	if (s->written_path != NULL &&
	    (a->cfg.nss_cache_file == NULL || strcmp(s->written_path, a->cfg.nss_cache_file) != 0)) {
		unlink(s->written_path);
		free(s->written_path);
		s->written_path = NULL;
		unmap(s);
		s->dirty = 1;
	}
	if (a->cfg.nss_cache_file == NULL)
		return -1;
	/* an entry past its expiry goes (readers check the expiry themselves;
	 * this only keeps the file small), in batches */
	if (s->next_expiry_ms <= now) {
		if (now - s->last_sweep_ms >= NSS_CACHE_SWEEP_INTERVAL_MS)
			sweep(a, s, now);
		else
			next = s->last_sweep_ms + NSS_CACHE_SWEEP_INTERVAL_MS;
	}
	if (s->next_expiry_ms != INT64_MAX && s->next_expiry_ms > now)
		next = min64(next, s->next_expiry_ms);
	if (s->dirty) {
		if (now - s->last_write_ms < NSS_CACHE_WRITE_INTERVAL_MS) {
			next = min64(next, s->last_write_ms + NSS_CACHE_WRITE_INTERVAL_MS);
		} else {
			s->last_write_ms = now;
			if (build_file(a, s, now) != 0) {
				next = min64(next, now + 1000); /* try again in a second */
			} else {
				s->dirty = 0;
				if (s->written_path == NULL)
					s->written_path = strdup(a->cfg.nss_cache_file);
			}
		}
	}
	return next == INT64_MAX ? -1 : (next > now ? next - now : 0);
}

void
agent_nss_cache_close(struct agent *a)
{
	struct agent_nss_cache *s = a->nss_cache;

	if (s == NULL)
		return;
	/* users must not outlive the agent that vouched for them */
	if (s->written_path != NULL)
		unlink(s->written_path);
	free(s->written_path);
	unmap(s);
	agent_nss_cache_clear(a);
	free(s->e);
	free(s->ix);
	free(s);
	a->nss_cache = NULL;
}

void
agent_nss_cache_changed(struct agent *a, const uint8_t *hash)
{
	if (hash != NULL)
		agent_nss_cache_forget(a, hash);
	else
		agent_nss_cache_clear(a);
}
