/* One function per request type (doc/protocol.md). Each reads its body with
 * the wire reader, which must consume it exactly, and writes one reply. */
#include "autoconfig.h"
#include "requests.h"

#include "agent.h"
#include "base/err.h"
#include "chain/chain.h"
#include "chain/lookup.h"
#include "chain/ops.h"
#include "chain/registration.h"
#include "chain/rotate.h"
#include "common/conn.h"
#include "login/login.h"
#include "login/nss.h"
#include "metrics_request.h"
#include "peers/psk.h"
#include "proto.h"
#include "wire.h"

#include <string.h>

#define AGENT_PROTOCOL_VERSION 1

static void
handle_hello(struct agent *a, struct conn *c, struct dpk_wire_r *rd)
{
	struct dpk_wire_w w;
	uint32_t version = dpk_wire_get_u32(rd);

	if (dpk_wire_r_done(rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed HELLO request");
		return;
	}
	if (version < 1) {
		agent_reply_failure(c, DPK_ERR_UNSUPPORTED, "protocol version %u is not supported (this agent speaks %d)",
		    version, AGENT_PROTOCOL_VERSION);
		return;
	}
	agent_reply_begin(c, &w);
	dpk_wire_put_u32(&w, AGENT_PROTOCOL_VERSION);
	dpk_wire_put_string(&w, PACKAGE_VERSION, strlen(PACKAGE_VERSION));
	agent_reply_end(c, DPK_MSG_HELLO, &w);
}

/* STATUS: u64 chain id, string contract (20), string wallet (20), string
 * identity (may be empty), u8 key algorithm, u8 caller privileged; then the
 * chain reads: u8 verify_reads, u8 has anchor, u64 anchor block number,
 * string anchor block hash (32 or empty), u8 endpoints, and per endpoint
 * string display (scheme://host:port), u8 state, u32 bad answers, u64 chain
 * id (0: not asked yet), u64 head block (0: not asked yet); then u64 the
 * anchor block's timestamp (0 without one); then the
 * operations block (chain/ops.c), one string. */
static void
handle_status(struct agent *a, struct conn *c, struct dpk_wire_r *rd)
{
	const char *id = a->cfg.identity ? a->cfg.identity : "";
	struct dpk_wire_w w;

	if (dpk_wire_r_done(rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed STATUS request (it has no body)");
		return;
	}
	agent_reply_begin(c, &w);
	dpk_wire_put_u64(&w, a->cfg.chain_id);
	dpk_wire_put_string(&w, a->cfg.contract, 20);
	dpk_wire_put_string(&w, a->wallet.addr, 20);
	dpk_wire_put_string(&w, id, strlen(id));
	dpk_wire_put_u8(&w, (uint8_t)dpk_idkey_alg(a->idkey));
	dpk_wire_put_u8(&w, (uint8_t)c->privileged);
	{
		struct chain_report rep;

		chain_get_report(&a->chain, &rep);
		dpk_wire_put_u8(&w, (uint8_t)rep.verify_reads);
		dpk_wire_put_u8(&w, (uint8_t)rep.have_anchor);
		dpk_wire_put_u64(&w, rep.have_anchor ? rep.anchor_number : 0);
		dpk_wire_put_string(&w, rep.have_anchor ? rep.anchor_hash : NULL, rep.have_anchor ? 32 : 0);
		dpk_wire_put_u8(&w, (uint8_t)rep.nep);
		for (size_t i = 0; i < rep.nep; i++) {
			dpk_wire_put_string(&w, rep.ep[i].display, strlen(rep.ep[i].display));
			dpk_wire_put_u8(&w, (uint8_t)rep.ep[i].state);
			dpk_wire_put_u32(&w, rep.ep[i].bad_answers);
			dpk_wire_put_u64(&w, rep.ep[i].chain_id);
			dpk_wire_put_u64(&w, rep.ep[i].head);
		}
		dpk_wire_put_u64(&w, rep.have_anchor ? rep.anchor_time : 0);
	}
	/* then the operations block (chain/ops.c): one string */
	agent_ops_status_put(a, c, &w);
	agent_reply_end(c, DPK_MSG_STATUS, &w);
}

/* PUBKEY: u8 algorithm, string on-chain form, string PEM, string OpenSSH line. */
static void
handle_pubkey(struct agent *a, struct conn *c, struct dpk_wire_r *rd)
{
	struct dpk_buf pub, pem, ssh;
	struct dpk_wire_w w;
	int r;

	if (dpk_wire_r_done(rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed PUBKEY request (it has no body)");
		return;
	}
	dpk_buf_init(&pub, 8192);
	dpk_buf_init(&pem, 16384);
	dpk_buf_init(&ssh, 16384);
	if ((r = dpk_idkey_public_onchain(a->idkey, &pub)) != 0 ||
	    (r = dpk_idkey_public_pem(a->idkey, &pem)) != 0 ||
	    (r = dpk_idkey_onchain_to_openssh(dpk_idkey_alg(a->idkey), pub.data, pub.len,
	    a->cfg.identity, &ssh)) != 0) {
		agent_reply_failure(c, r, "cannot export the identity key: %s", dpk_strerror(r));
	} else {
		agent_reply_begin(c, &w);
		dpk_wire_put_u8(&w, (uint8_t)dpk_idkey_alg(a->idkey));
		dpk_wire_put_string(&w, pub.data, pub.len);
		dpk_wire_put_string(&w, pem.data, pem.len);
		dpk_wire_put_string(&w, ssh.data, ssh.len);
		agent_reply_end(c, DPK_MSG_PUBKEY, &w);
	}
	dpk_buf_free(&pub);
	dpk_buf_free(&pem);
	dpk_buf_free(&ssh);
}

void
agent_handle_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len)
{
	struct dpk_wire_r rd;

	dpk_wire_r_init(&rd, body, len);
	if (agent_keyop_revoked(a) && (type == DPK_MSG_LOGIN_RESPOND || type == DPK_MSG_PSK_HANDSHAKE ||
	    type == DPK_MSG_TICKET_ISSUE || type == DPK_MSG_TICKET_REDEEM)) {
		agent_reply_failure(c, DPK_ERR_REVOKED, "this host's identity is revoked on chain (dpkctl revoke): "
		    "its key no longer signs, makes handshakes or tickets");
		return;
	}
	switch (type) {
	case DPK_MSG_HELLO: handle_hello(a, c, &rd); return;
	case DPK_MSG_STATUS: handle_status(a, c, &rd); return;
	case DPK_MSG_PUBKEY: handle_pubkey(a, c, &rd); return;
	case DPK_MSG_LOOKUP: agent_lookup_request(a, c, body, len); return;
	case DPK_MSG_REGISTER: agent_register_request(a, c, body, len); return;
	case DPK_MSG_ROTATE:
	case DPK_MSG_REVOKE: agent_keyop_request(a, c, type, body, len); return;
	case DPK_MSG_GETPWNAM:
	case DPK_MSG_GETPWUID:
	case DPK_MSG_GETGRNAM:
	case DPK_MSG_GETGRGID:
	case DPK_MSG_INITGROUPS:
	case DPK_MSG_PWENT:
	case DPK_MSG_GRENT: agent_nss_request(a, c, type, body, len); return;
	case DPK_MSG_LOGIN_CHALLENGE:
	case DPK_MSG_LOGIN_RESPOND:
	case DPK_MSG_LOGIN_VERIFY:
	case DPK_MSG_LOGIN_ACCOUNT: agent_login_request(a, c, type, body, len); return;
	case DPK_MSG_USER_CHECK: agent_login_request(a, c, type, body, len); return;
	case DPK_MSG_PSK_HANDSHAKE:
	case DPK_MSG_PSK_GET:
	case DPK_MSG_TICKET_ISSUE:
	case DPK_MSG_TICKET_REDEEM: agent_psk_request(a, c, type, body, len); return;
	case DPK_MSG_CACHE_FLUSH: agent_cache_flush_request(a, c, body, len); return;
	case DPK_MSG_METRICS: agent_metrics_request_answer(a, c, body, len); return;
	default:
		agent_reply_failure(c, DPK_ERR_UNSUPPORTED, "unknown request type 0x%02x", type);
	}
}
