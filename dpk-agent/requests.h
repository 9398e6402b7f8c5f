/* The agent's requests, by type (requests.c). */
#ifndef DPK_AGENT_REQUESTS_H
#define DPK_AGENT_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct conn;

/* Answer the request in c->in (type + body of len bytes) by writing one
 * reply frame into c->out, or leave c waiting for whoever answers it. */
void agent_handle_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len);

#endif
