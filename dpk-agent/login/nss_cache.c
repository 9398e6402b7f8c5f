/* nss_dpk's cache file, the writer's side (nss_cache.h). */
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
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* at most this often: a burst of first lookups is one rewrite, not many */
#define NSS_CACHE_WRITE_INTERVAL_MS 50

/* ---- the agent's list of users and the file ---- */

struct nss_cache_entry {
	uint8_t hash[32];
	char name[33];
	uint32_t uid, gid;
	char *gecos, *home;
	int64_t fresh_until_ms; /* monotonic */
};

struct agent_nss_cache {
	struct nss_cache_entry *e;
	size_t n, cap;
	int dirty;
	int64_t last_write_ms;
	uint64_t generation;
	char *written_path; /* the file this agent wrote last, removed at exit */
	int warned;
};

static struct agent_nss_cache *
state(struct agent *a)
{
	if (a->nss_cache == NULL && (a->nss_cache = calloc(1, sizeof(*a->nss_cache))) != NULL)
		a->nss_cache->dirty = 1; /* the first write replaces a file left by an earlier run */
	return a->nss_cache;
}

static void
entry_clear(struct nss_cache_entry *e)
{
	free(e->gecos);
	free(e->home);
	memset(e, 0, sizeof(*e));
}

static void
remove_at(struct agent_nss_cache *s, size_t i)
{
	entry_clear(&s->e[i]);
	s->e[i] = s->e[--s->n];
	s->dirty = 1;
}

void
agent_nss_cache_note(struct agent *a, const uint8_t hash[32], const char *name, uint32_t uid, uint32_t gid,
    const char *gecos, const char *home, int64_t fresh_until_ms)
{
	struct agent_nss_cache *s;
	struct nss_cache_entry *e = NULL;
	char *g, *h;

	/* a stale answer (the chain unreachable) is not written: readers would
	 * find it expired anyway */
	if (a->cfg.nss_cache_file == NULL || fresh_until_ms <= agent_now_ms() || (s = state(a)) == NULL)
		return;
	for (size_t i = 0; i < s->n && e == NULL; i++)
		if (memcmp(s->e[i].hash, hash, 32) == 0)
			e = &s->e[i];
	if (e != NULL && e->fresh_until_ms == fresh_until_ms && e->uid == uid && e->gid == gid &&
	    strcmp(e->name, name) == 0 && strcmp(e->gecos, gecos) == 0 && strcmp(e->home, home) == 0)
		return; /* nothing new: no rewrite */
	if ((g = strdup(gecos)) == NULL || (h = strdup(home)) == NULL) {
		free(g);
		return;
	}
	if (e == NULL) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 64;
			struct nss_cache_entry *ne;

			if (cap > NSS_DPK_CACHE_MAX_ENTRIES) { /* full: the one that expires first goes */
				size_t k = 0;

				for (size_t i = 1; i < s->n; i++)
					if (s->e[i].fresh_until_ms < s->e[k].fresh_until_ms)
						k = i;
				remove_at(s, k);
			} else if ((ne = realloc(s->e, cap * sizeof(*ne))) == NULL) {
				free(g);
				free(h);
				return;
			} else {
				s->e = ne;
				s->cap = cap;
			}
		}
		e = &s->e[s->n++];
		memset(e, 0, sizeof(*e));
	} else {
		entry_clear(e);
	}
	memcpy(e->hash, hash, 32);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->uid = uid;
	e->gid = gid;
	e->gecos = g;
	e->home = h;
	e->fresh_until_ms = fresh_until_ms;
	s->dirty = 1;
}

void
agent_nss_cache_forget(struct agent *a, const uint8_t hash[32])
{
	struct agent_nss_cache *s = a->nss_cache;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->e[i].hash, hash, 32) == 0) {
			remove_at(s, i);
			return;
		}
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
	s->dirty = 1;
}

static int64_t
realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write bytes to path by a temporary file in the same directory, fsync and
 * rename: a reader sees the old file or the new one, never a part. */
static int
write_atomic(const char *path, const uint8_t *p, size_t n)
{
	char tmp[4200];
	size_t off = 0;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -1;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return -1;
	if (fchmod(fd, 0644) != 0)
		goto fail;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* The file's entries: the fresh users, their private groups (or the shared
 * group, which depends on dpk.conf alone and does not expire). */
static int
write_file(struct agent *a, struct agent_nss_cache *s, int64_t now)
{
	struct nss_cache_user_in *u = calloc(s->n + 1, sizeof(*u));
	struct nss_cache_group_in *g = calloc(s->n + 1, sizeof(*g));
	int64_t rt = realtime_ms();
	size_t nu = 0, ng = 0;
	struct dpk_buf out;
	int r = DPK_ERR_NOMEM;

	dpk_buf_init(&out, NSS_DPK_CACHE_MAX_SIZE);
	if (u == NULL || g == NULL)
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		struct nss_cache_entry *e = &s->e[i];
		uint64_t expiry;

		if (e->fresh_until_ms <= now)
			continue;
		expiry = (uint64_t)(rt + (e->fresh_until_ms - now));
		u[nu++] = (struct nss_cache_user_in){e->name, e->gecos, e->home, a->cfg.nss_shell, e->uid, e->gid, expiry};
		if (!a->cfg.has_nss_gid)
			g[ng++] = (struct nss_cache_group_in){e->name, e->uid, expiry};
	}
	if (a->cfg.has_nss_gid)
		g[ng++] = (struct nss_cache_group_in){a->cfg.nss_group, a->cfg.nss_gid, 0};
	if ((r = agent_nss_cache_build(u, nu, g, ng, ++s->generation, &out)) != 0)
		goto out;
	r = write_atomic(a->cfg.nss_cache_file, out.data, out.len) == 0 ? 0 : DPK_ERR_IO;
out:
	if (r != 0 && !s->warned) {
		agent_log(LOG_WARNING, "cannot write the NSS cache file %s: %s (nss_dpk asks over the socket meanwhile)",
		    a->cfg.nss_cache_file, r == DPK_ERR_IO ? strerror(errno) : dpk_strerror(r));
		s->warned = 1;
	} else if (r == 0) {
		s->warned = 0;
	}
	dpk_buf_free(&out);
	free(u);
	free(g);
	return r;
}

int64_t
agent_nss_cache_tick(struct agent *a, int64_t now)
{
	struct agent_nss_cache *s;
	int64_t next_expiry = INT64_MAX;

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
		s->dirty = 1;
	}
	if (a->cfg.nss_cache_file == NULL)
		return -1;
	/* an entry past its expiry goes at the next write (readers check the
	 * expiry themselves; this only keeps the file small) */
	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i].fresh_until_ms <= now) {
			remove_at(s, i--);
			continue;
		}
		if (s->e[i].fresh_until_ms < next_expiry)
			next_expiry = s->e[i].fresh_until_ms;
	}
	if (!s->dirty)
		return next_expiry == INT64_MAX ? -1 : next_expiry - now;
	if (now - s->last_write_ms < NSS_CACHE_WRITE_INTERVAL_MS)
		return s->last_write_ms + NSS_CACHE_WRITE_INTERVAL_MS - now;
	s->last_write_ms = now;
	if (write_file(a, s, now) != 0)
		return 1000; /* try again in a second */
	s->dirty = 0;
	if (s->written_path == NULL)
		s->written_path = strdup(a->cfg.nss_cache_file);
	return next_expiry == INT64_MAX ? -1 : next_expiry - now;
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
	agent_nss_cache_clear(a);
	free(s->e);
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
