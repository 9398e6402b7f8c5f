/* The local PSK and ticket requests (psk.c): PSK_HANDSHAKE, PSK_GET,
 * TICKET_ISSUE, TICKET_REDEEM (doc/protocol.md). */
#ifndef DPK_AGENT_PSK_H
#define DPK_AGENT_PSK_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct conn;

void agent_psk_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len);
/* Ticket requests waiting for keys: answer those whose keys came or whose
 * deadline passed. */
void agent_psk_timers(struct agent *a, int64_t now);

#endif
