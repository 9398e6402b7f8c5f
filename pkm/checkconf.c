/* dpk-pkm check-config [--offline]: the configuration file, then (unless
 * --offline) each rpc_url on its own: the chain id and the registry at
 * contract. Opens no state: it creates no key or wallet and works before
 * `dpk-pkm init`. Exit 0 good, 1 the file is refused, 3 a chain check failed,
 * 2 usage. */
#include "pkm.h"

#include <stdio.h>
#include <string.h>

#include "daemon/chaincheck.h"

int
pkm_check_config(struct pkm *p, int argc, char **argv)
{
	static const uint8_t zero[20];
	char err[512];
	int offline = argc == 1 && strcmp(argv[0], "--offline") == 0, r;

	if (argc > 1 || (argc == 1 && !offline)) {
		fprintf(stderr, "dpk-pkm: usage: dpk-pkm [-c FILE] check-config [--offline]\n");
		return 2;
	}
	err[0] = '\0';
	if (pkm_config_load(&p->cfg, p->config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "dpk-pkm: %s\n", err);
		pkm_config_free(&p->cfg);
		return 1;
	}
	r = 0;
	if (!offline && memcmp(p->cfg.contract, zero, 20) == 0) {
		fprintf(stderr, "dpk-pkm: %s has no contract address: the registry is not checked\n", p->config_path);
		r = 3;
	} else if (!offline) {
		r = dpk_chaincheck_endpoints(p->cfg.rpc_url, p->cfg.n_rpc, p->cfg.rpc_timeout_ms, p->cfg.chain_id,
		    p->cfg.contract, "dpk-pkm", stdout);
		r = r == 0 ? 0 : 3;
	}
	if (r == 0)
		printf("%s: OK\n", p->config_path);
	else
		fprintf(stderr, "%s: the file is good, but an endpoint or the registry is not (above)\n", p->config_path);
	pkm_config_free(&p->cfg);
	return r;
}
