/* dpk-agent reading an arbitrary PSK or ticket request from its local
 * socket (dpk-agent/peers/psk.c): the first byte picks the type (PSK_HANDSHAKE,
 * PSK_GET, TICKET_ISSUE, TICKET_REDEEM), the rest is the body. The agent
 * has no identity here, so a well-formed request ends before any network
 * or chain work; every reply must fit its frame. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dpk-agent/agent.h"
#include "common/log.h"
#include "common/conn.h"
#include "peers/peer.h"
#include "peers/psk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void
agent_log(int priority, const char *fmt, ...)
{
	(void)priority;
	(void)fmt;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agent *a;
	static struct conn *c;
	char err[256];

	if (a == NULL) {
		a = calloc(1, sizeof(*a));
		c = calloc(1, sizeof(*c));
		dpk_config_defaults(&a->cfg);
		cache_init(&a->cache, 16);
		if (agent_peer_start(a, err, sizeof(err)) != 0)
			abort();
		c->privileged = 1;
	}
	if (size < 1 || size > AGENT_FRAME_MAX)
		return 0;
	agent_conn_out_release(c);
	agent_psk_request(a, c, (uint8_t)(0x10 + data[0] % 4), data + 1, size - 1);
	if (c->outlen < 5 || c->outlen > 4 + AGENT_FRAME_MAX || c->waiting)
		abort();
	return 0;
}
