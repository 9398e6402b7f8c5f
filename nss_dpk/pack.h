/* nss_dpk's checks of names and of the agent's answers, and the packing of
 * an answer into the caller's buffer by the glibc NSS rules. Kept apart
 * from the socket code so that the unit tests and the fuzzer reach them;
 * the module's version script keeps them out of its exports. */
#ifndef NSS_DPK_PACK_H
#define NSS_DPK_PACK_H

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>

#define NSS_DPK_NAME_MAX 253
#define NSS_DPK_MAX_MEMBERS 4096
#define NSS_DPK_MAX_GROUPS 1024

/* 1 if the n bytes at p could name a DPK user (a user name or an
 * identity's text: 1..253 of letters, digits, '.', '-', '_', ':', not
 * starting with '-', not "root"); else 0. */
int nss_dpk_plausible(const uint8_t *p, size_t n);
/* 1 for the ids the system keeps for itself (0, 65534, 2^32-1). */
int nss_dpk_reserved_id(uint32_t id);

/* Unpack a passwd answer body (after its "found" byte: name, uid, gid,
 * gecos, home, shell) into *pw, every string inside buf. With want_uid the
 * uid must be uid. Returns SUCCESS; TRYAGAIN with *err ERANGE if buflen is
 * too small (pw untouched); UNAVAIL with *err EPROTO for any malformed or
 * impossible answer (root ids, ':' or newlines in fields, relative paths,
 * bytes left over). */
enum nss_status nss_dpk_pack_passwd(const uint8_t *body, size_t n, int want_uid, uint32_t uid, struct passwd *pw,
    char *buf, size_t buflen, int *err);

/* The same for a group answer body (name, gid, member count, members): the
 * member array (aligned) and every string inside buf. */
enum nss_status nss_dpk_pack_group(const uint8_t *body, size_t n, int want_gid, uint32_t gid, struct group *gr,
    char *buf, size_t buflen, int *err);

/* Pack fields already checked (from the cache file, cachefile.h) into *pw
 * or *gr (a group with no listed members) and buf. SUCCESS, or TRYAGAIN
 * with *err ERANGE if buflen is too small (pw, gr untouched). */
enum nss_status nss_dpk_put_passwd(const char *name, size_t name_n, uint32_t uid, uint32_t gid, const char *gecos,
    size_t gecos_n, const char *dir, size_t dir_n, const char *shell, size_t shell_n, struct passwd *pw, char *buf,
    size_t buflen, int *err);
enum nss_status nss_dpk_put_group(const char *name, size_t name_n, uint32_t gid, struct group *gr, char *buf,
    size_t buflen, int *err);

/* Check an INITGROUPS answer body (count, gids) and copy the gids into
 * gids[NSS_DPK_MAX_GROUPS]. Returns the count, or -1 if malformed. */
int nss_dpk_unpack_groups(const uint8_t *body, size_t n, uint32_t gids[NSS_DPK_MAX_GROUPS]);

#endif
