/* The operator's actions on tokens, shared by the command line (main.c) and
 * the web interface (web_api.c) so that both accept and refuse the same
 * things with the same sentences. */
#ifndef DPK_PKM_ACTIONS_H
#define DPK_PKM_ACTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pkm.h"
#include "registry/identity.h"

/* What an enrolment made: the token's id, the identity in canonical form
 * and its kind, and when the token expires. */
struct pkm_enrolled {
	char token_hex[33];
	char identity[DPK_IDENTITY_FORMAT_SIZE];
	uint8_t kind;
	uint64_t expires;
};

/* Issue a token for the identity text (any kind), valid valid_ms, record it,
 * and append its file text to token_text (secret: the caller wipes it).
 * Returns 0; PKM_REFUSED (msg says why: not an identity, no contract) or
 * PKM_FAILED (msg says what failed). msg is a sentence without a prefix. */
#define PKM_REFUSED 2
#define PKM_FAILED 1
int pkm_enrol_issue(struct pkm *p, const char *idtext, uint32_t valid_ms, struct dpk_buf *token_text,
    struct pkm_enrolled *out, char *msg, size_t msgsz);

/* A new random (version 4) UUID in canonical text, into out[37]. */
int pkm_uuid_new(char out[37]);

/* Withdraw the unused token idhex. 0; PKM_REFUSED (not a token id, no such
 * token, used already) or PKM_FAILED, with msg. */
int pkm_revoke_token(struct pkm *p, const char *idhex, char *msg, size_t msgsz);

#endif
