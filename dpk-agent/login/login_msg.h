/* Login challenges and responses (pam_dpk(8), doc/protocol.md "Host
 * login"): their printable forms and the bytes a response signs. Every
 * function reads untrusted text through a bounded, strict parser: one
 * spelling per message, nothing left over.
 *
 *   challenge text = "DPK-LOGIN-v1." base64url(body), no padding, <= 400 chars
 *   body           = u8 version (1) | u64 expiry (Unix seconds, big-endian)
 *                    | 16 nonce bytes | u8 n, host identity | u8 n, user
 *                    identity | u8 n, service       (identities canonical)
 *   signed bytes   = "DPK-LOGIN-v1" 0x00 | body
 *   response text  = "DPK-RESPONSE-v1." base64url(signature), <= 511 chars
 *   LOGIN_RESPOND  = string challenge text | u8 mode (0 describe, 1 sign)
 *
 * The context string first means no other DPK protocol's signature (PSK
 * handshake, tickets, SSH) can pass as a login response, and the reverse. */
#ifndef DPK_AGENT_LOGIN_MSG_H
#define DPK_AGENT_LOGIN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "registry/identity.h"

#define DPK_LOGIN_CONTEXT "DPK-LOGIN-v1"
#define DPK_LOGIN_CHALLENGE_PREFIX "DPK-LOGIN-v1."
#define DPK_LOGIN_RESPONSE_PREFIX "DPK-RESPONSE-v1."
#define DPK_LOGIN_NONCE_LEN 16
#define DPK_LOGIN_SERVICE_MAX 32
/* longest challenge text: leaves room in a 512-byte PAM prompt for the
 * instruction around it */
#define DPK_LOGIN_CHALLENGE_TEXT_MAX 400
#define DPK_LOGIN_BODY_MAX 290 /* 400 - 13 prefix chars of base64 */
/* longest response text: PAM_MAX_RESP_SIZE (512) with its NUL */
#define DPK_LOGIN_RESPONSE_TEXT_MAX 511
#define DPK_LOGIN_SIG_MAX 371 /* (511 - 16) base64 chars */

struct dpk_login_challenge {
	uint64_t expiry; /* Unix time, seconds */
	uint8_t nonce[DPK_LOGIN_NONCE_LEN];
	char host[DPK_IDENTITY_FORMAT_SIZE];
	char user[DPK_IDENTITY_FORMAT_SIZE];
	char service[DPK_LOGIN_SERVICE_MAX + 1];
};

/* 0 if s is a service name: 1..32 bytes of [A-Za-z0-9._-]. */
int dpk_login_service_ok(const char *s, size_t n);

/* The challenge's body into out (at most DPK_LOGIN_BODY_MAX bytes; *n its
 * length). DPK_ERR_TOOBIG when its identities make it too long for a
 * prompt; DPK_ERR_INVALID for a non-canonical identity or bad service. */
int dpk_login_challenge_body(const struct dpk_login_challenge *ch, uint8_t out[DPK_LOGIN_BODY_MAX], size_t *n);
/* The challenge text, NUL-terminated, into out (outsz >= 401). */
int dpk_login_challenge_encode(const struct dpk_login_challenge *ch, char *out, size_t outsz);
/* Parse challenge text (len bytes, no NUL, no white space): 0 and *ch, or
 * DPK_ERR_SYNTAX / _TOOBIG / _TRUNCATED / _TRAILING / _UNSUPPORTED
 * (another version). */
int dpk_login_challenge_decode(const char *text, size_t len, struct dpk_login_challenge *ch);
/* The bytes a response signs, appended to out. */
int dpk_login_signed_bytes(const struct dpk_login_challenge *ch, struct dpk_buf *out);

/* LOGIN_RESPOND's modes: say what the challenge asks without signing it,
 * or sign it. */
#define DPK_LOGIN_DESCRIBE 0
#define DPK_LOGIN_SIGN 1
/* Parse a LOGIN_RESPOND request body (len bytes): the challenge text (not
 * decoded: *text points into body, *textlen its length) and the mode.
 * DPK_ERR_SYNTAX when a field is missing or short, bytes are left over, or
 * the mode is neither DPK_LOGIN_DESCRIBE nor DPK_LOGIN_SIGN. */
int dpk_login_respond_parse(const uint8_t *body, size_t len, const char **text, size_t *textlen, int *mode);

/* Response text of a signature, NUL-terminated, into out (outsz >= 512).
 * DPK_ERR_TOOBIG when the signature cannot fit (RSA keys over 2048 bits). */
int dpk_login_response_encode(const uint8_t *sig, size_t siglen, char *out, size_t outsz);
/* Parse response text: the signature into sig (DPK_LOGIN_SIG_MAX bytes), *n its length. */
int dpk_login_response_decode(const char *text, size_t len, uint8_t sig[DPK_LOGIN_SIG_MAX], size_t *n);

#endif
