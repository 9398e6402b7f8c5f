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
/* The identity (and its hash) whose user name is name, if the policy may
 * admit it (login/admit.h decides once its record is read);
 * DPK_ERR_NOTFOUND when none. */
int agent_nss_user(struct agent *a, const char *name, size_t n, struct dpk_identity *id, uint8_t hash[32]);

#endif
