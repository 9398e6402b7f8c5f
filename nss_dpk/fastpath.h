/* nss_dpk's fast path: answers from the cache file that dpk-agent writes
 * (cachefile.h), mapped read-only and shared by all threads of the process.
 * Each function returns 1 when it answered (*st and, unless SUCCESS, *err
 * set) and 0 when the caller must ask the agent over the socket: no file, an
 * entry not in it, or an entry past its expiry. A file that is corrupt or
 * not trustworthy (not a regular file, not root's, writable by others)
 * answers UNAVAIL with EPROTO until it is replaced. */
#ifndef NSS_DPK_FASTPATH_H
#define NSS_DPK_FASTPATH_H

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdint.h>

/* name NULL: by uid. */
int nss_dpk_fast_passwd(const char *name, uint32_t uid, struct passwd *pw, char *buf, size_t buflen,
    enum nss_status *st, int *err);
int nss_dpk_fast_group(const char *name, uint32_t gid, struct group *gr, char *buf, size_t buflen,
    enum nss_status *st, int *err);
/* A user's groups: its primary group, into *gid. */
int nss_dpk_fast_initgroups(const char *user, uint32_t *gid, enum nss_status *st, int *err);

#endif
