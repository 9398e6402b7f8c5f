/* A TCP proxy in front of the chain's JSON-RPC endpoint that the test can
 * make hang: while hung, it still accepts connections and reads requests
 * but passes nothing on (the way a node stuck in a long call looks to
 * curl); when let go, what it held is passed on and it relays again. It
 * runs in a child process that dies with the test. */
#ifndef DPK_TEST_RPCPROXY_H
#define DPK_TEST_RPCPROXY_H

#include <sys/types.h>

struct dpk_test_rpcproxy {
	pid_t pid;
	int port;
	char url[64];        /* http://127.0.0.1:port: give it to the agent as rpc_url */
	char hang_flag[192]; /* while this file exists, the proxy hangs */
};

/* Start a proxy to upstream_port on 127.0.0.1, its flag file in dir; not hung. */
void dpk_test_rpcproxy_start(struct dpk_test_rpcproxy *p, const char *dir, int upstream_port);
/* Hang (1) or relay (0); takes effect within 50 ms. */
void dpk_test_rpcproxy_hang(struct dpk_test_rpcproxy *p, int hang);
void dpk_test_rpcproxy_stop(struct dpk_test_rpcproxy *p);

#endif
