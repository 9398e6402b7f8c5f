/* dpk-pkm check-config [--offline]: the configuration file, then (unless
 * --offline) each rpc_url on its own: the chain id and the registry at
 * contract. Opens no state: it creates no key or wallet and works before
 * `dpk-pkm init`. Exit 0 good, 1 the file is refused, 3 a chain check failed. */
#include "pkm.h"

#include <stdio.h>
#include <string.h>

#include "daemon/chaincheck.h"
#include "daemon/cli.h"

#include <cjson/cJSON.h>

int
pkm_check_config(struct pkm *p, int offline, int json)
{
	static const uint8_t zero[20];
	char err[512];
	int r = 0;

	err[0] = '\0';
	if (pkm_config_load(&p->cfg, p->config_path, err, sizeof(err)) != 0) {
		pkm_config_free(&p->cfg);
		return dpk_cli_fail("dpk-pkm", json, 1, "%s", err);
	}
	if (!offline && memcmp(p->cfg.contract, zero, 20) == 0) {
		r = dpk_cli_fail("dpk-pkm", json, 3, "%s has no contract address: the registry is not checked",
		    p->config_path);
	} else if (!offline) {
		/* one line per endpoint: on stdout, or beside the JSON answer on stderr */
		r = dpk_chaincheck_endpoints(p->cfg.rpc_url, p->cfg.n_rpc, p->cfg.rpc_timeout_ms, p->cfg.chain_id,
		    p->cfg.contract, "dpk-pkm", json ? stderr : stdout);
		if (r != 0)
			r = dpk_cli_fail("dpk-pkm", json, 3, "%s: the file is good, but an endpoint or the registry is not "
			    "(above)", p->config_path);
	}
	if (r == 0 && json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "config", p->config_path);
		cJSON_AddBoolToObject(j, "chain_checked", !offline);
		cJSON_AddStringToObject(j, "result", "ok");
		dpk_cli_print_json(j);
	} else if (r == 0) {
		printf("%s: OK\n", p->config_path);
	}
	pkm_config_free(&p->cfg);
	return r;
}
