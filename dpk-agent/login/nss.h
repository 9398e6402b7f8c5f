/* nss_dpk's requests (nss.c): GETPWNAM, GETPWUID, GETGRNAM, GETGRGID,
 * INITGROUPS, PWENT, GRENT, answered by the policy in dpk.conf and the
 * chain (nss_dpk(8)). */
#ifndef DPK_AGENT_NSS_H
#define DPK_AGENT_NSS_H

#include <stddef.h>
#include <stdint.h>

#include "registry/identity.h"

struct agent;
struct conn;

void agent_nss_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len);
/* The identity (canonical text into ident, hash into hash) of a user name
 * the NSS policy admits; DPK_ERR_NOTFOUND when it admits none. */
int agent_nss_user_identity(struct agent *a, const char *name, size_t n, char ident[DPK_IDENTITY_FORMAT_SIZE],
    uint8_t hash[32]);

#endif
