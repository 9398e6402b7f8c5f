/* libnss_dpk.so.2: glibc NSS entry points for DPK users (nss_dpk(8)).
 *
 * The module decides nothing. It answers from the cache file the agent
 * writes when the entry is there and fresh (fastpath.c), else it asks
 * dpk-agent (doc/protocol.md, GETPWNAM and friends) over a fresh connection
 * per call and packs the answer into the caller's buffer. A fresh
 * connection keeps the socket path reentrant, thread-safe and fork-safe
 * without any state; the file's one shared mapping is reference-counted
 * under a lock taken around fork().
 *
 * Why no connection kept across calls: the agent gives a uid other than
 * root at most max_connections_per_uid (32) connections and closes idle
 * ones only after client_idle_timeout (30 s). A kept connection lives as
 * long as its process, so 32 long-lived processes of one user that each
 * resolved one name (a parallel build, "xargs -P 64 ls -l") would leave
 * that user's next processes refused, UNAVAIL, for up to 30 s. What a kept
 * connection would save (an accept and a close on the agent's side) does
 * not reach the lookups that matter: warm ones are answered from the cache
 * file in the process; and the agent's own CPU per warm GETPWNAM with a
 * connection per call is about 20 us (tests/bench/scale-bench.sh). Status mapping, kept distinct so that
 * "[UNAVAIL=return]" in nsswitch.conf means what it says:
 *   found                       SUCCESS
 *   no such DPK user            NOTFOUND, ENOENT
 *   buffer too small            TRYAGAIN, ERANGE (and only then)
 *   agent missing or refused    UNAVAIL, ENOENT
 *   agent slow                  UNAVAIL, ETIMEDOUT
 *   agent cannot tell (chain    UNAVAIL, EAGAIN
 *   down, nothing cached)
 *   corrupt or hostile reply    UNAVAIL, EPROTO
 *   corrupt or untrusted cache  UNAVAIL, EPROTO
 *   file
 * errno is left as it was on success. */
#include "dpk/client.h"
#include "fastpath.h"
#include "pack.h"
#include "proto.h"
#include "wire.h"

#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* a login never waits longer than this on DPK (connect, then the request) */
#define NSS_DPK_TIMEOUT_MS 1000

#define EXPORT __attribute__((visibility("default")))

enum nss_status _nss_dpk_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen, int *errnop) EXPORT;
enum nss_status _nss_dpk_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen, int *errnop) EXPORT;
enum nss_status _nss_dpk_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen, int *errnop) EXPORT;
enum nss_status _nss_dpk_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop) EXPORT;
enum nss_status _nss_dpk_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
    gid_t **groupsp, long int limit, int *errnop) EXPORT;
enum nss_status _nss_dpk_setpwent(int stayopen) EXPORT;
enum nss_status _nss_dpk_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop) EXPORT;
enum nss_status _nss_dpk_endpwent(void) EXPORT;
enum nss_status _nss_dpk_setgrent(int stayopen) EXPORT;
enum nss_status _nss_dpk_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop) EXPORT;
enum nss_status _nss_dpk_endgrent(void) EXPORT;

/* Names no DPK user can have, and root, are answered NOTFOUND without a
 * connection. */
static int
plausible_name(const char *name)
{
	return name != NULL && nss_dpk_plausible((const uint8_t *)name, strnlen(name, NSS_DPK_NAME_MAX + 1));
}


/* the agent itself (and anything it starts) never resolves through us */
static int
bypassed(void)
{
	return secure_getenv("DPK_NSS_BYPASS") != NULL;
}

/* Ask the agent. SUCCESS with the reply body in reply (a NOTFOUND answer is
 * returned as NOTFOUND), or UNAVAIL with *err set. */
static enum nss_status
ask(uint8_t type, const void *req, size_t reqlen, uint8_t *reply, size_t cap, size_t *n, int *err)
{
	struct dpk_client *c = NULL;
	enum nss_status st = NSS_STATUS_UNAVAIL;
	uint8_t rtype;
	int r;

	*err = ENOENT;
	if (bypassed())
		return NSS_STATUS_UNAVAIL;
	/* a test may point us at its own agent; otherwise only root's socket counts */
	r = dpk_client_open(NULL, NSS_DPK_TIMEOUT_MS, secure_getenv("DPK_AGENT_SOCKET") == NULL, &c);
	if (r != 0)
		goto out;
	r = dpk_client_call(c, type, req, reqlen, &rtype, reply, cap, n);
	if (r == DPK_CLIENT_ETIMEOUT)
		*err = ETIMEDOUT;
	else if (r == DPK_CLIENT_EAGENT)
		*err = EAGAIN;
	else if (r == DPK_CLIENT_EPROTO || r == DPK_CLIENT_ETOOBIG)
		*err = EPROTO;
	else if (r != 0)
		*err = ENOENT;
	else if (*n < 1 || reply[0] > 1)
		*err = EPROTO;
	else if (reply[0] == 0 && *n != 1)
		*err = EPROTO; /* "not found" has no body */
	else if (reply[0] == 0)
		st = NSS_STATUS_NOTFOUND;
	else
		st = NSS_STATUS_SUCCESS;
out:
	dpk_client_close(c);
	return st;
}

static enum nss_status
ask_name(uint8_t type, const char *name, uint8_t *reply, size_t cap, size_t *n, int *err)
{
	uint8_t req[4 + NSS_DPK_NAME_MAX];
	struct dpk_wire_w w;

	dpk_wire_w_init(&w, req, sizeof(req));
	dpk_wire_put_string(&w, name, strlen(name));
	return ask(type, req, w.len, reply, cap, n, err);
}

static enum nss_status
ask_id(uint8_t type, uint32_t id, uint8_t *reply, size_t cap, size_t *n, int *err)
{
	uint8_t req[4];
	struct dpk_wire_w w;

	dpk_wire_w_init(&w, req, sizeof(req));
	dpk_wire_put_u32(&w, id);
	return ask(type, req, w.len, reply, cap, n, err);
}

struct reply {
	uint8_t body[DPK_CLIENT_MAX_FRAME];
	size_t n;
};

static enum nss_status
finish(enum nss_status st, int err, int saved_errno, int *errnop)
{
	/* errnop is usually &errno: restore first, then report */
	errno = saved_errno;
	if (st != NSS_STATUS_SUCCESS)
		*errnop = err;
	return st;
}

static enum nss_status
passwd_by(uint8_t type, const char *name, uint32_t uid, struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	int saved_errno = errno, err = ENOENT;
	enum nss_status st;
	struct reply *rp;

	if (type == DPK_MSG_GETPWNAM ? !plausible_name(name) : nss_dpk_reserved_id(uid))
		return finish(NSS_STATUS_NOTFOUND, ENOENT, saved_errno, errnop);
	if (bypassed())
		return finish(NSS_STATUS_UNAVAIL, ENOENT, saved_errno, errnop);
	if (nss_dpk_fast_passwd(type == DPK_MSG_GETPWNAM ? name : NULL, uid, pw, buf, buflen, &st, &err))
		return finish(st, err, saved_errno, errnop);
	if ((rp = malloc(sizeof(*rp))) == NULL)
		return finish(NSS_STATUS_TRYAGAIN, EAGAIN, saved_errno, errnop);
	st = type == DPK_MSG_GETPWNAM ? ask_name(type, name, rp->body, sizeof(rp->body), &rp->n, &err) :
	    ask_id(type, uid, rp->body, sizeof(rp->body), &rp->n, &err);
	if (st == NSS_STATUS_SUCCESS)
		st = nss_dpk_pack_passwd(rp->body + 1, rp->n - 1, type == DPK_MSG_GETPWUID, uid, pw, buf, buflen, &err);
	free(rp);
	return finish(st, err, saved_errno, errnop);
}

static enum nss_status
group_by(uint8_t type, const char *name, uint32_t gid, struct group *gr, char *buf, size_t buflen, int *errnop)
{
	int saved_errno = errno, err = ENOENT;
	enum nss_status st;
	struct reply *rp;

	if (type == DPK_MSG_GETGRNAM ? !plausible_name(name) : nss_dpk_reserved_id(gid))
		return finish(NSS_STATUS_NOTFOUND, ENOENT, saved_errno, errnop);
	if (bypassed())
		return finish(NSS_STATUS_UNAVAIL, ENOENT, saved_errno, errnop);
	if (nss_dpk_fast_group(type == DPK_MSG_GETGRNAM ? name : NULL, gid, gr, buf, buflen, &st, &err))
		return finish(st, err, saved_errno, errnop);
	if ((rp = malloc(sizeof(*rp))) == NULL)
		return finish(NSS_STATUS_TRYAGAIN, EAGAIN, saved_errno, errnop);
	st = type == DPK_MSG_GETGRNAM ? ask_name(type, name, rp->body, sizeof(rp->body), &rp->n, &err) :
	    ask_id(type, gid, rp->body, sizeof(rp->body), &rp->n, &err);
	if (st == NSS_STATUS_SUCCESS)
		st = nss_dpk_pack_group(rp->body + 1, rp->n - 1, type == DPK_MSG_GETGRGID, gid, gr, buf, buflen, &err);
	free(rp);
	return finish(st, err, saved_errno, errnop);
}

enum nss_status
_nss_dpk_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	return passwd_by(DPK_MSG_GETPWNAM, name, 0, pw, buf, buflen, errnop);
}

enum nss_status
_nss_dpk_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	return passwd_by(DPK_MSG_GETPWUID, NULL, uid, pw, buf, buflen, errnop);
}

enum nss_status
_nss_dpk_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen, int *errnop)
{
	return group_by(DPK_MSG_GETGRNAM, name, 0, gr, buf, buflen, errnop);
}

enum nss_status
_nss_dpk_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop)
{
	return group_by(DPK_MSG_GETGRGID, NULL, gid, gr, buf, buflen, errnop);
}

/* Add the user's groups other than group to (*groupsp)[*start..], growing
 * the array up to limit (<= 0: no limit), as glibc's initgroups expects. */
enum nss_status
_nss_dpk_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size, gid_t **groupsp,
    long int limit, int *errnop)
{
	int saved_errno = errno, err = ENOENT;
	enum nss_status st;
	struct reply *rp;
	uint32_t gids[NSS_DPK_MAX_GROUPS];
	int count;

	if (!plausible_name(user))
		return finish(NSS_STATUS_NOTFOUND, ENOENT, saved_errno, errnop);
	if (bypassed())
		return finish(NSS_STATUS_UNAVAIL, ENOENT, saved_errno, errnop);
	if (nss_dpk_fast_initgroups(user, &gids[0], &st, &err)) {
		if (st != NSS_STATUS_SUCCESS)
			return finish(st, err, saved_errno, errnop);
		count = 1;
		rp = NULL;
	} else {
		if ((rp = malloc(sizeof(*rp))) == NULL)
			return finish(NSS_STATUS_TRYAGAIN, EAGAIN, saved_errno, errnop);
		st = ask_name(DPK_MSG_INITGROUPS, user, rp->body, sizeof(rp->body), &rp->n, &err);
		if (st != NSS_STATUS_SUCCESS)
			goto out;
		/* check the whole reply before touching the caller's array */
		if ((count = nss_dpk_unpack_groups(rp->body + 1, rp->n - 1, gids)) < 0) {
			st = NSS_STATUS_UNAVAIL;
			err = EPROTO;
			goto out;
		}
	}
	for (int i = 0; i < count; i++) {
		uint32_t g = gids[i];
		long int k;

		if (g == group)
			continue;
		for (k = 0; k < *start && (*groupsp)[k] != g; k++)
			;
		if (k < *start)
			continue;
		if (*start == *size) {
			long int nsize;
			gid_t *ng;

			if (limit > 0 && *size >= limit)
				break; /* full: the caller asked for no more */
			nsize = *size > 0 ? 2 * *size : 8;
			if (limit > 0 && nsize > limit)
				nsize = limit;
			if ((ng = realloc(*groupsp, (size_t)nsize * sizeof(gid_t))) == NULL) {
				st = NSS_STATUS_TRYAGAIN;
				err = ENOMEM;
				goto out;
			}
			*groupsp = ng;
			*size = nsize;
		}
		(*groupsp)[(*start)++] = g;
	}
out:
	free(rp);
	return finish(st, err, saved_errno, errnop);
}

/* Enumeration (nss_enumerate in dpk.conf; off by default, when the agent
 * answers "no more" at once): entry i of the agent's list per call. The
 * position is the only state, an atomic counter, so there is no lock to
 * inherit held across fork(); glibc serializes set/get/end*ent itself.
 * The position moves on only after an entry was packed: after ERANGE the
 * caller retries the same entry with a larger buffer. */
static unsigned pw_pos, gr_pos;

static enum nss_status
entry_at(uint8_t type, unsigned *pos, struct passwd *pw, struct group *gr, char *buf, size_t buflen, int *errnop)
{
	int saved_errno = errno, err = ENOENT;
	unsigned i = __atomic_load_n(pos, __ATOMIC_ACQUIRE);
	enum nss_status st;
	struct reply *rp;

	if (bypassed())
		return finish(NSS_STATUS_UNAVAIL, ENOENT, saved_errno, errnop);
	if ((rp = malloc(sizeof(*rp))) == NULL)
		return finish(NSS_STATUS_TRYAGAIN, EAGAIN, saved_errno, errnop);
	st = ask_id(type, i, rp->body, sizeof(rp->body), &rp->n, &err);
	if (st == NSS_STATUS_SUCCESS && type == DPK_MSG_PWENT)
		st = nss_dpk_pack_passwd(rp->body + 1, rp->n - 1, 0, 0, pw, buf, buflen, &err);
	else if (st == NSS_STATUS_SUCCESS)
		st = nss_dpk_pack_group(rp->body + 1, rp->n - 1, 0, 0, gr, buf, buflen, &err);
	if (st == NSS_STATUS_SUCCESS)
		__atomic_compare_exchange_n(pos, &i, i + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	free(rp);
	return finish(st, err, saved_errno, errnop);
}

enum nss_status
_nss_dpk_setpwent(int stayopen)
{
	(void)stayopen;
	__atomic_store_n(&pw_pos, 0, __ATOMIC_RELEASE);
	return NSS_STATUS_SUCCESS;
}

enum nss_status
_nss_dpk_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	return entry_at(DPK_MSG_PWENT, &pw_pos, pw, NULL, buf, buflen, errnop);
}

enum nss_status
_nss_dpk_endpwent(void)
{
	__atomic_store_n(&pw_pos, 0, __ATOMIC_RELEASE);
	return NSS_STATUS_SUCCESS;
}

enum nss_status
_nss_dpk_setgrent(int stayopen)
{
	(void)stayopen;
	__atomic_store_n(&gr_pos, 0, __ATOMIC_RELEASE);
	return NSS_STATUS_SUCCESS;
}

enum nss_status
_nss_dpk_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop)
{
	return entry_at(DPK_MSG_GRENT, &gr_pos, NULL, gr, buf, buflen, errnop);
}

enum nss_status
_nss_dpk_endgrent(void)
{
	__atomic_store_n(&gr_pos, 0, __ATOMIC_RELEASE);
	return NSS_STATUS_SUCCESS;
}
