/* nss_dpk's fast path (fastpath.h).
 *
 * One mapping of the cache file is current at a time. Each call stat()s the
 * path: the agent changes the file in place (which readers see through the
 * shared mapping) or replaces it by rename, so a new inode or size means a
 * new file, which is opened, checked (owner, mode, size) and its header
 * validated (cachefile.c: O(1), whatever the file holds) outside the lock,
 * and then becomes current. A lookup checks the records it touches. A call holds a reference on the mapping it reads, so a mapping
 * replaced meanwhile is unmapped by whichever call releases it last. The
 * lock guards only the pointer swap and the reference counts: the hit path
 * takes it twice, briefly, and never allocates. Fork: the lock is taken
 * around fork() (pthread_atfork), so a child never inherits it held. */
#include "fastpath.h"
#include "cachefile.h"
#include "pack.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum map_state {
	MAP_OK,
	MAP_BAD,   /* corrupt or untrusted: UNAVAIL until replaced */
	MAP_OTHER, /* another format version: ignored, the socket answers */
};

struct mapping {
	enum map_state state;
	dev_t dev;
	ino_t ino;
	off_t size;
	uint8_t *p; /* the mapping (NULL if the file could not be mapped) */
	struct nss_dpk_cache c;
	unsigned refs;
	int current;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct mapping *cur;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
lock(void)
{
	pthread_mutex_lock(&mu);
}

static void
unlock(void)
{
	pthread_mutex_unlock(&mu);
}

static void
register_atfork(void)
{
	(void)pthread_atfork(lock, unlock, unlock);
}

static void
mapping_free(struct mapping *m)
{
	if (m->p != NULL)
		munmap(m->p, (size_t)m->size);
	free(m);
}

/* Called with the lock held. */
static void
release_locked(struct mapping *m)
{
	if (--m->refs == 0 && !m->current)
		mapping_free(m);
}

static void
release(struct mapping *m)
{
	lock();
	release_locked(m);
	unlock();
}

static int
same_file(const struct mapping *m, const struct stat *st)
{
	/* not the mtime: the agent writes in place */
	return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size;
}

static void
set_identity(struct mapping *m, const struct stat *st)
{
	m->dev = st->st_dev;
	m->ino = st->st_ino;
	m->size = st->st_size;
}

/* Open, check and validate the file at path, which stat() said is *st. */
static struct mapping *
load(const char *path, const struct stat *st)
{
	struct mapping *m = calloc(1, sizeof(*m));
	struct stat fst;
	void *p;
	int fd, r;

	if (m == NULL)
		return NULL;
	m->state = MAP_BAD;
	set_identity(m, st);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return m;
	if (fstat(fd, &fst) != 0) {
		close(fd);
		return m;
	}
	set_identity(m, &fst);
	/* root's alone: anything else could have been written by anybody */
	if (!S_ISREG(fst.st_mode) || fst.st_uid != 0 || (fst.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    fst.st_size < NSS_DPK_CACHE_HEADER_SIZE || (uint64_t)fst.st_size > NSS_DPK_CACHE_MAX_SIZE) {
		close(fd);
		return m;
	}
	p = mmap(NULL, (size_t)fst.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return m;
	m->p = p;
	r = nss_dpk_cache_open(&m->c, m->p, (size_t)fst.st_size);
	if (r == 0)
		m->state = MAP_OK;
	else if (r > 0)
		m->state = MAP_OTHER;
	/* a refused file stays mapped too, until it is replaced: that keeps its
	 * inode number from going to the next file, which could then look like
	 * the same file (same size) */
	return m;
}

/* A program that dlclose()s the module (glibc never does) gets the
 * mapping back; one still in use by another thread is left alone. */
__attribute__((destructor)) static void
unmap_at_unload(void)
{
	lock();
	if (cur != NULL && cur->refs == 0) {
		mapping_free(cur);
		cur = NULL;
	}
	unlock();
}

/* The current mapping with a reference held, or NULL when there is no
 * file (or no memory to map it: then the socket answers). */
static struct mapping *
acquire(void)
{
	const char *path = secure_getenv("DPK_NSS_CACHE");
	struct mapping *m, *old;
	struct stat st;

	pthread_once(&once, register_atfork);
	if (path == NULL)
		path = NSS_DPK_CACHE_PATH;
	if (stat(path, &st) != 0) {
		lock();
		if (cur != NULL) { /* gone: the agent stopped or turned it off */
			old = cur;
			cur = NULL;
			old->current = 0;
			if (old->refs == 0)
				mapping_free(old);
		}
		unlock();
		return NULL;
	}
	lock();
	if (cur != NULL && same_file(cur, &st)) {
		m = cur;
		m->refs++;
		unlock();
		return m;
	}
	unlock();
	if ((m = load(path, &st)) == NULL)
		return NULL;
	lock();
	if (cur != NULL && cur->dev == m->dev && cur->ino == m->ino && cur->size == m->size) {
		/* another thread mapped the same file first */
		mapping_free(m);
		m = cur;
	} else {
		old = cur;
		cur = m;
		m->current = 1;
		if (old != NULL) {
			old->current = 0;
			if (old->refs == 0)
				mapping_free(old);
		}
	}
	m->refs++;
	unlock();
	return m;
}

static int
expired(uint64_t expiry_ms)
{
	struct timespec ts;
	uint64_t now;

	if (expiry_ms == 0)
		return 0;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 1;
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return now >= expiry_ms;
}

/* 0 and *mp to read; 1 when answered (UNAVAIL: a corrupt file); -1 when
 * there is no usable file (ask the socket). */
static int
begin(struct mapping **mp, enum nss_status *st, int *err)
{
	struct mapping *m = acquire();
	enum map_state state;

	*mp = NULL;
	if (m == NULL)
		return -1;
	if (m->state == MAP_OK) {
		*mp = m;
		return 0;
	}
	state = m->state;
	release(m);
	if (state == MAP_OTHER)
		return -1;
	*st = NSS_STATUS_UNAVAIL;
	*err = EPROTO;
	return 1;
}

/* A damaged record on the way: this lookup is UNAVAIL (answered). */
static int
damaged(enum nss_status *st, int *err)
{
	*st = NSS_STATUS_UNAVAIL;
	*err = EPROTO;
	return 1;
}

int
nss_dpk_fast_passwd(const char *name, uint32_t uid, struct passwd *pw, char *buf, size_t buflen,
    enum nss_status *st, int *err)
{
	struct nss_dpk_cache_user u;
	struct mapping *m;
	int found, r = begin(&m, st, err);

	if (r != 0)
		return r > 0;
	r = name != NULL ? nss_dpk_cache_user_by_name(&m->c, name, strlen(name), &u) :
	    nss_dpk_cache_user_by_uid(&m->c, uid, &u);
	found = r == 0;
	if (r < 0)
		found = damaged(st, err);
	else if (found && !expired(u.expiry_ms))
		*st = nss_dpk_put_passwd(u.name.p, u.name.n, u.uid, u.gid, u.gecos.p, u.gecos.n, u.dir.p, u.dir.n,
		    u.shell.p, u.shell.n, pw, buf, buflen, err);
	else
		found = 0;
	release(m);
	return found;
}

int
nss_dpk_fast_group(const char *name, uint32_t gid, struct group *gr, char *buf, size_t buflen,
    enum nss_status *st, int *err)
{
	struct nss_dpk_cache_group g;
	struct mapping *m;
	int found, r = begin(&m, st, err);

	if (r != 0)
		return r > 0;
	r = name != NULL ? nss_dpk_cache_group_by_name(&m->c, name, strlen(name), &g) :
	    nss_dpk_cache_group_by_gid(&m->c, gid, &g);
	found = r == 0;
	if (r < 0)
		found = damaged(st, err);
	else if (found && !expired(g.expiry_ms))
		*st = nss_dpk_put_group(g.name.p, g.name.n, g.gid, gr, buf, buflen, err);
	else
		found = 0;
	release(m);
	return found;
}

int
nss_dpk_fast_initgroups(const char *user, uint32_t *gid, enum nss_status *st, int *err)
{
	struct nss_dpk_cache_user u;
	struct mapping *m;
	int found, r = begin(&m, st, err);

	if (r != 0)
		return r > 0;
	r = nss_dpk_cache_user_by_name(&m->c, user, strlen(user), &u);
	found = r == 0 && !expired(u.expiry_ms);
	if (r < 0) {
		found = damaged(st, err);
	} else if (found) {
		*gid = u.gid;
		*st = NSS_STATUS_SUCCESS;
	}
	release(m);
	return found;
}
