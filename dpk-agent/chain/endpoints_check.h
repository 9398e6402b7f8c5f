/* --check-config's look at the configured endpoints (endpoints_check.c). */
#ifndef DPK_AGENT_ENDPOINTS_CHECK_H
#define DPK_AGENT_ENDPOINTS_CHECK_H

#include <stdio.h>

#include "common/config.h"

/* Print each rpc_url's chain id and head (and whether it has the
 * checkpoint block) to out, one line per fact. 0, or -1 when an endpoint
 * contradicts the configuration (another chain, another checkpoint hash);
 * an unreachable endpoint is reported but not an error (it may be back). */
int agent_check_endpoints(const struct dpk_config *c, FILE *out);

#endif
