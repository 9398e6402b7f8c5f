/* The ssh-agent protocol (draft-ietf-sshm-ssh-agent, OpenSSH PROTOCOL.agent)
 * for the agent's one identity key, without sockets: dpk-agent's ssh-agent
 * socket (sshagent.c), its unit tests and its fuzzer run this same code.
 *
 * Served: REQUEST_IDENTITIES (the identity key, its comment the host's DPK
 * identity) and SIGN_REQUEST for that key, only over data that parses as an
 * SSH user-authentication request (RFC 4252 7, or OpenSSH's
 * publickey-hostbound-v00) naming that key. Every DPK protocol signature
 * starts with a "DPK-..." context string, which never parses as one, so the
 * socket cannot be used to sign for them. Everything else (adding, removing,
 * locking, smartcards, extensions) gets SSH_AGENT_FAILURE. */
#ifndef DPK_SSHAGENT_MSG_H
#define DPK_SSHAGENT_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "crypto/idkey.h"

/* Frame: u32 length | u8 type | body; length 1 ..= this. */
#define DPK_SSHAGENT_FRAME_MAX (256 * 1024)
/* A reply never exceeds this (an RSA-8192 signature is about 1 KiB). */
#define DPK_SSHAGENT_REPLY_MAX 16384

enum dpk_sshagent_msg {
	DPK_SSH_AGENT_FAILURE = 5,
	DPK_SSH_AGENT_SUCCESS = 6,
	DPK_SSH_AGENTC_REQUEST_IDENTITIES = 11,
	DPK_SSH_AGENT_IDENTITIES_ANSWER = 12,
	DPK_SSH_AGENTC_SIGN_REQUEST = 13,
	DPK_SSH_AGENT_SIGN_RESPONSE = 14,
};

/* SIGN_REQUEST flags (RSA keys only) */
#define DPK_SSH_AGENT_RSA_SHA2_256 0x02
#define DPK_SSH_AGENT_RSA_SHA2_512 0x04

/* SSH_MSG_USERAUTH_REQUEST (RFC 4252) */
#define DPK_SSH_MSG_USERAUTH_REQUEST 50

struct dpk_sshagent_key {
	const struct dpk_idkey *key; /* borrowed; read-only */
	struct dpk_buf blob;         /* its SSH public key blob */
	char comment[254];           /* the DPK identity, or "" */
};

/* Fill k for key (borrowed: it must outlive k) and comment (NULL: none).
 * 0, or a negative DPK_ERR_*; free k with dpk_sshagent_key_free() either way. */
int dpk_sshagent_key_init(struct dpk_sshagent_key *k, const struct dpk_idkey *key, const char *comment);
void dpk_sshagent_key_free(struct dpk_sshagent_key *k);

/* The fields of a user-authentication request that the agent checks. */
struct dpk_sshagent_userauth {
	const uint8_t *user;   /* into the data; not NUL-terminated */
	size_t userlen;
	const uint8_t *alg;    /* public key algorithm named, e.g. "rsa-sha2-256" */
	size_t alglen;
	const uint8_t *key;    /* the public key blob named */
	size_t keylen;
	int hostbound;         /* publickey-hostbound-v00@openssh.com */
};

/* Parse data (untrusted, len bytes) as the to-be-signed part of an SSH
 * public-key user-authentication request: string session id (20..64 bytes),
 * byte 50, string user (1..1024 bytes, no NUL), string "ssh-connection",
 * string "publickey" (or "publickey-hostbound-v00@openssh.com", then a host
 * key string follows the key), boolean TRUE, string algorithm, string key
 * blob; nothing after. 0, or DPK_ERR_TRUNCATED / DPK_ERR_TRAILING /
 * DPK_ERR_SYNTAX with *why saying what did not fit. */
int dpk_sshagent_parse_userauth(const uint8_t *data, size_t len, struct dpk_sshagent_userauth *ua,
    const char **why);

/* Answer one message (type and body: a frame without its length, len bytes,
 * untrusted) by appending one reply message (type and body) to reply, whose
 * maximum must be at least DPK_SSHAGENT_REPLY_MAX. Anything not served, or
 * not well formed, is answered SSH_AGENT_FAILURE, with *why (static text)
 * saying why for the log; *why is NULL for a request served. Returns 0, or
 * DPK_ERR_NOMEM when not even the failure could be written. */
int dpk_sshagent_answer(const struct dpk_sshagent_key *k, const uint8_t *msg, size_t len, struct dpk_buf *reply,
    const char **why);

#endif
