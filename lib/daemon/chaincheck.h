/* The chain checks of --check-config and of start-up, for every program that
 * reads a registry through rpc_url: each endpoint on its own, so that one
 * wrong endpoint among several is named (the failover client would hide it). */
#ifndef DPK_DAEMON_CHAINCHECK_H
#define DPK_DAEMON_CHAINCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* dpk_registry_check() (registry/check.h) on each of the n urls, each through
 * its own client with timeout_ms. One line per endpoint to out, prefixed with
 * prog: "PROG: rpc_url https://host:port: chain 5, DPK registry 0x... (interface 1)"
 * or "PROG: rpc_url https://host:port: <what is wrong>" (scheme, host and port
 * only: paths and queries often carry API keys). Returns how many endpoints
 * failed (0: all good), or a negative DPK_ERR_* if a client could not be made. */
int dpk_chaincheck_endpoints(char *const *urls, size_t n, uint32_t timeout_ms, uint64_t chain_id,
    const uint8_t contract[20], const char *prog, FILE *out);

#endif
