/* pam_dpk's and dpkctl respond's requests (login.c): LOGIN_CHALLENGE,
 * LOGIN_RESPOND, LOGIN_VERIFY, LOGIN_ACCOUNT (pam_dpk(8), doc/protocol.md). */
#ifndef DPK_AGENT_LOGIN_H
#define DPK_AGENT_LOGIN_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct conn;

void agent_login_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len);

#endif
