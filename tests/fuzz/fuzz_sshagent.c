/* ssh-agent messages from a local client (dpk-agent/sshagent_msg.c). The
 * first byte picks the key (P-256 or RSA) and whether the rest is a whole
 * message or the data of a SIGN_REQUEST for the agent's own key (so the
 * user-authentication parser is reached). A refusal must be exactly one
 * SSH_AGENT_FAILURE byte; a signature only ever comes for data that parses
 * as a user-authentication request naming the key. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "idkey.h"
#include "sshagent_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dpk_idkey *keys[2];
static struct dpk_sshagent_key agent_keys[2];

static void
init(void)
{
	if (keys[0] != NULL)
		return;
	if (dpk_idkey_generate(DPK_IDKEY_P256, 0, &keys[0]) != 0 ||
	    dpk_idkey_generate(DPK_IDKEY_RSA, 2048, &keys[1]) != 0 ||
	    dpk_sshagent_key_init(&agent_keys[0], keys[0], "fuzz.example.org") != 0 ||
	    dpk_sshagent_key_init(&agent_keys[1], keys[1], NULL) != 0)
		__builtin_trap();
}

static void
put_u32(struct dpk_buf *b, uint32_t v)
{
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	dpk_buf_put(b, be, 4);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dpk_sshagent_key *k;
	struct dpk_sshagent_userauth ua;
	struct dpk_buf msg, reply;
	const char *why;
	int userauth_ok;

	if (size < 1)
		return 0;
	init();
	k = &agent_keys[data[0] & 1];
	dpk_buf_init(&msg, 4 * DPK_SSHAGENT_FRAME_MAX);
	dpk_buf_init(&reply, DPK_SSHAGENT_REPLY_MAX);
	if (data[0] & 2) {
		dpk_buf_put_u8(&msg, 13);
		put_u32(&msg, (uint32_t)k->blob.len);
		dpk_buf_put(&msg, k->blob.data, k->blob.len);
		put_u32(&msg, (uint32_t)(size - 1));
		dpk_buf_put(&msg, data + 1, size - 1);
		put_u32(&msg, data[0] & 4 ? DPK_SSH_AGENT_RSA_SHA2_512 : DPK_SSH_AGENT_RSA_SHA2_256);
	} else {
		dpk_buf_put(&msg, data + 1, size - 1);
	}
	if (dpk_sshagent_answer(k, msg.data, msg.len, &reply, &why) != 0 || reply.len == 0)
		__builtin_trap();
	if (reply.data[0] == DPK_SSH_AGENT_FAILURE && (reply.len != 1 || why == NULL))
		__builtin_trap();
	if (reply.data[0] == DPK_SSH_AGENT_SIGN_RESPONSE) {
		/* what was signed: the data string of the sign request */
		struct dpk_cursor c;
		const uint8_t *p;
		uint32_t n;

		dpk_cursor_init(&c, msg.data + 1, msg.len - 1);
		if (dpk_cursor_get_be32(&c, &n) != 0 || dpk_cursor_take(&c, n, &p) != 0 ||
		    dpk_cursor_get_be32(&c, &n) != 0 || dpk_cursor_take(&c, n, &p) != 0)
			__builtin_trap();
		userauth_ok = dpk_sshagent_parse_userauth(p, n, &ua, &why) == 0;
		if (!userauth_ok || ua.keylen != k->blob.len || memcmp(ua.key, k->blob.data, ua.keylen) != 0)
			__builtin_trap();
	}
	dpk_buf_free(&msg);
	dpk_buf_free(&reply);
	return 0;
}
