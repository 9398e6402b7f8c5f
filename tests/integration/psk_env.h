/* Shared by the PSK integration tests: anvil with the registry, and
 * dpk-agents (own socket, state and loopback port each) whose identity keys
 * are registered on chain. Every helper fails the test on error. */
#ifndef DPK_TEST_PSK_ENV_H
#define DPK_TEST_PSK_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dpk/client.h"
#include "base/buf.h"
#include "harness.h"
#include "eth/rpc.h"
#include "eth/wallet.h"

struct agent_proc {
	char name[64];       /* identity */
	char dir[128], conf[160], sock[160], log[160];
	int port;
	pid_t pid;
};

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64];
	struct agent_proc ag[3];
};

void psk_sleep_ms(int ms);
/* Start agent i with identity name, listening for peers (on 127.0.0.1 and a
 * free port, unless extra has a psk_listen line); register its key on chain
 * if do_register. extra: more dpk.conf lines (may be NULL). */
void psk_start_agent(struct env *e, int i, const char *name, int do_register, const char *extra);
/* cmocka setup/teardown: anvil, registry, a temporary directory; agents
 * stopped with SIGTERM (their logs shown with DPK_TEST_SHOW_LOGS set). */
int psk_setup(void **state);
int psk_teardown(void **state);
/* dpkctl --socket SOCK a1..a5 (NULL ends); its stdout in out; its status. */
int psk_dpkctl(const struct agent_proc *g, struct dpk_buf *out, const char *a1, const char *a2, const char *a3,
    const char *a4, const char *a5, const char *a6);
/* The value of "label: value" in dpkctl's output. */
void psk_field(const struct dpk_buf *out, const char *label, char *v, size_t vsz);
/* A handshake from agent i to agent j (with the key); msg: the agent's reason on failure. */
int psk_handshake(struct env *e, int i, int j, struct dpk_client_psk *psk, char *msg, size_t msgsz);
/* PSK_GET with the key at g, by peer or (peer NULL) by PSK identity. */
int psk_env_get(const struct agent_proc *g, const char *peer, const char *identity, struct dpk_client_psk *psk);
/* A TCP connection from the local address src to dst:port (both IPv4 or
 * both IPv6, as text); fails the test on error. */
int psk_connect_from(const char *src, const char *dst, int port);
/* A TCP connection to 127.0.0.1:port, or -1. */
int psk_connect(int port);

#endif
