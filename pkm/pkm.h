/* dpk-pkm's shared state. */
#ifndef DPK_PKM_H
#define DPK_PKM_H

#include "config.h"
#include "daemon/statedir.h"
#include "store.h"

struct pkm {
	const char *config_path;
	struct pkm_config cfg;
	struct dpk_statedir sd;   /* the PKM's identity key and wallet */
	struct pkm_store *store;
};

/* Open the state directory and the database (pkm.db in it). */
int pkm_open(struct pkm *p, char *err, size_t errsz);
void pkm_close(struct pkm *p);
/* dpk-pkm check-config [--offline] (checkconf.c): its exit status; json: the
 * answer or the failure as one JSON object on stdout. */
int pkm_check_config(struct pkm *p, int offline, int json);

#endif
