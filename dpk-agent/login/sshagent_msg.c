/* ssh-agent messages for the identity key (sshagent_msg.h). All input goes
 * through a dpk_cursor; a message must be consumed exactly. */
#include "login/sshagent_msg.h"

#include "base/err.h"

#include <string.h>

#define USERAUTH_MAX_USER 1024
#define USERAUTH_MAX_FIELD 16384 /* algorithm names, key blobs, host keys */
#define HOSTBOUND_METHOD "publickey-hostbound-v00@openssh.com"

int
dpk_sshagent_key_init(struct dpk_sshagent_key *k, const struct dpk_idkey *key, const char *comment)
{
	memset(k, 0, sizeof(*k));
	k->key = key;
	dpk_buf_init(&k->blob, USERAUTH_MAX_FIELD);
	if (comment != NULL) {
		if (strlen(comment) >= sizeof(k->comment))
			return DPK_ERR_TOOBIG;
		memcpy(k->comment, comment, strlen(comment) + 1);
	}
	return dpk_idkey_ssh_public_blob(key, &k->blob);
}

void
dpk_sshagent_key_free(struct dpk_sshagent_key *k)
{
	dpk_buf_free(&k->blob);
	k->key = NULL;
}

/* An RFC 4251 string of at most max bytes: *p points into the input. */
static int
get_string(struct dpk_cursor *c, size_t max, const uint8_t **p, size_t *n)
{
	uint32_t len;
	int r;

	if ((r = dpk_cursor_get_be32(c, &len)) != 0)
		return r;
	if (len > max)
		return DPK_ERR_TOOBIG;
	*n = len;
	return dpk_cursor_take(c, len, p);
}

static int
equals(const uint8_t *p, size_t n, const char *text)
{
	return n == strlen(text) && memcmp(p, text, n) == 0;
}

static int
put_u32(struct dpk_buf *b, uint32_t v)
{
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return dpk_buf_put(b, be, 4);
}

static int
put_string(struct dpk_buf *b, const void *p, size_t n)
{
	int r = put_u32(b, (uint32_t)n);

	return r != 0 ? r : dpk_buf_put(b, p, n);
}

int
dpk_sshagent_parse_userauth(const uint8_t *data, size_t len, struct dpk_sshagent_userauth *ua,
    const char **why)
{
	const uint8_t *p;
	size_t n;
	uint8_t u8;
	struct dpk_cursor c;
	int r;

	memset(ua, 0, sizeof(*ua));
	dpk_cursor_init(&c, data, len);
	*why = "it does not start with a session identifier of 20 to 64 bytes";
	if ((r = get_string(&c, 64, &p, &n)) != 0)
		return r == DPK_ERR_TOOBIG ? DPK_ERR_SYNTAX : r;
	if (n < 20)
		return DPK_ERR_SYNTAX;
	*why = "it is not an SSH_MSG_USERAUTH_REQUEST";
	if ((r = dpk_cursor_get_u8(&c, &u8)) != 0)
		return r;
	if (u8 != DPK_SSH_MSG_USERAUTH_REQUEST)
		return DPK_ERR_SYNTAX;
	*why = "its user name is empty, too long or holds a NUL";
	if ((r = get_string(&c, USERAUTH_MAX_USER, &ua->user, &ua->userlen)) != 0)
		return r == DPK_ERR_TOOBIG ? DPK_ERR_SYNTAX : r;
	if (ua->userlen == 0 || memchr(ua->user, 0, ua->userlen) != NULL)
		return DPK_ERR_SYNTAX;
	*why = "its service is not ssh-connection";
	if ((r = get_string(&c, 64, &p, &n)) != 0)
		return r == DPK_ERR_TOOBIG ? DPK_ERR_SYNTAX : r;
	if (!equals(p, n, "ssh-connection"))
		return DPK_ERR_SYNTAX;
	*why = "its method is not publickey";
	if ((r = get_string(&c, 64, &p, &n)) != 0)
		return r == DPK_ERR_TOOBIG ? DPK_ERR_SYNTAX : r;
	if (equals(p, n, HOSTBOUND_METHOD))
		ua->hostbound = 1;
	else if (!equals(p, n, "publickey"))
		return DPK_ERR_SYNTAX;
	*why = "it is not a request with a signature (boolean TRUE)";
	if ((r = dpk_cursor_get_u8(&c, &u8)) != 0)
		return r;
	if (u8 != 1)
		return DPK_ERR_SYNTAX;
	*why = "its algorithm or key is malformed";
	if ((r = get_string(&c, 64, &ua->alg, &ua->alglen)) != 0 ||
	    (r = get_string(&c, USERAUTH_MAX_FIELD, &ua->key, &ua->keylen)) != 0)
		return r == DPK_ERR_TOOBIG ? DPK_ERR_SYNTAX : r;
	if (ua->hostbound) {
		*why = "its server host key is malformed";
		if ((r = get_string(&c, USERAUTH_MAX_FIELD, &p, &n)) != 0)
			return r == DPK_ERR_TOOBIG ? DPK_ERR_SYNTAX : r;
		if (n == 0)
			return DPK_ERR_SYNTAX;
	}
	*why = "bytes follow the request";
	if ((r = dpk_cursor_done(&c)) != 0)
		return r;
	*why = NULL;
	return 0;
}

static int
answer_identities(const struct dpk_sshagent_key *k, struct dpk_cursor *c, struct dpk_buf *reply, const char **why)
{
	int r;

	if (dpk_cursor_done(c) != 0) {
		*why = "REQUEST_IDENTITIES has a body";
		return 1;
	}
	if ((r = dpk_buf_put_u8(reply, DPK_SSH_AGENT_IDENTITIES_ANSWER)) != 0 ||
	    (r = put_u32(reply, 1)) != 0 ||
	    (r = put_string(reply, k->blob.data, k->blob.len)) != 0 ||
	    (r = put_string(reply, k->comment, strlen(k->comment))) != 0)
		return r;
	return 0;
}

/* SIGN_REQUEST: string key blob, string data, u32 flags. Returns 0 (signed),
 * 1 (refused, *why says why) or a negative DPK_ERR_*. */
static int
answer_sign(const struct dpk_sshagent_key *k, struct dpk_cursor *c, struct dpk_buf *reply, const char **why)
{
	struct dpk_sshagent_userauth ua;
	const uint8_t *blob, *data;
	size_t bloblen, datalen, start = reply->len;
	const char *sigalg;
	uint32_t flags;
	int r;

	*why = "SIGN_REQUEST is malformed";
	if (get_string(c, USERAUTH_MAX_FIELD, &blob, &bloblen) != 0 ||
	    get_string(c, DPK_SSHAGENT_FRAME_MAX, &data, &datalen) != 0 ||
	    dpk_cursor_get_be32(c, &flags) != 0 || dpk_cursor_done(c) != 0)
		return 1;
	*why = "SIGN_REQUEST names a key this agent does not hold";
	if (bloblen != k->blob.len || memcmp(blob, k->blob.data, bloblen) != 0)
		return 1;
	if (dpk_idkey_alg(k->key) == DPK_IDKEY_P256) {
		sigalg = "ecdsa-sha2-nistp256";
	} else if (flags & DPK_SSH_AGENT_RSA_SHA2_512) {
		sigalg = "rsa-sha2-512";
	} else if (flags & DPK_SSH_AGENT_RSA_SHA2_256) {
		sigalg = "rsa-sha2-256";
	} else {
		*why = "SIGN_REQUEST asks for an SHA-1 ssh-rsa signature (only rsa-sha2-256/512 are made)";
		return 1;
	}
	if (dpk_sshagent_parse_userauth(data, datalen, &ua, why) != 0)
		return 1; /* *why: what did not parse */
	*why = "the user-authentication request names another key";
	if (ua.keylen != k->blob.len || memcmp(ua.key, k->blob.data, ua.keylen) != 0)
		return 1;
	*why = "the user-authentication request names another signature algorithm than the flags ask for";
	if (!equals(ua.alg, ua.alglen, sigalg))
		return 1;
	if ((r = dpk_buf_put_u8(reply, DPK_SSH_AGENT_SIGN_RESPONSE)) != 0 ||
	    (r = put_u32(reply, 0)) != 0) /* the signature blob's length, set below */
		goto fail;
	if ((r = dpk_idkey_sign_ssh(k->key, sigalg, data, datalen, reply)) != 0)
		goto fail;
	{
		uint32_t n = (uint32_t)(reply->len - start - 5);
		uint8_t *lp = reply->data + start + 1;

		lp[0] = (uint8_t)(n >> 24), lp[1] = (uint8_t)(n >> 16), lp[2] = (uint8_t)(n >> 8), lp[3] = (uint8_t)n;
	}
	*why = NULL;
	return 0;
fail:
	reply->len = start;
	*why = "signing failed";
	return r == DPK_ERR_NOMEM ? r : 1;
}

int
dpk_sshagent_answer(const struct dpk_sshagent_key *k, const uint8_t *msg, size_t len, struct dpk_buf *reply,
    const char **why)
{
	struct dpk_cursor c;
	size_t start = reply->len;
	uint8_t type;
	int r;

	*why = "empty message";
	dpk_cursor_init(&c, msg, len);
	if (dpk_cursor_get_u8(&c, &type) != 0)
		r = 1;
	else if (type == DPK_SSH_AGENTC_REQUEST_IDENTITIES)
		r = answer_identities(k, &c, reply, why);
	else if (type == DPK_SSH_AGENTC_SIGN_REQUEST)
		r = answer_sign(k, &c, reply, why);
	else
		r = 1, *why = "not served: this agent holds one key and lists or signs with it only";
	if (r == 0) {
		*why = NULL;
		return 0;
	}
	reply->len = start;
	if (r < 0)
		*why = r == DPK_ERR_TOOBIG ? "the reply does not fit" : "out of memory";
	return dpk_buf_put_u8(reply, DPK_SSH_AGENT_FAILURE);
}
