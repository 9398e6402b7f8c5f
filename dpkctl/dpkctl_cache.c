/* dpkctl cache flush (dpkctl(1)): the agent drops what it has cached of the
 * chain, so the next lookups read it again. Root only (the agent checks). */
#include "dpkctl.h"

#include "dpk/client.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
dpkctl_cache(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	uint32_t dropped = 0;
	int r;

	if (argc != 1 || strcmp(argv[0], "flush") != 0)
		return dpkctl_usage_error("cache", "the only cache command is 'flush'%s%s%s", argc > 0 ? ", not '" : "",
		    argc > 0 ? argv[0] : "", argc > 0 ? "'" : "");
	if ((r = dpk_client_cache_flush(c, &dropped)) != 0)
		return dpkctl_client_exit(c, r, "cache flush");
	if (o->json) {
		cJSON *j = cJSON_CreateObject();
		char *s;

		cJSON_AddNumberToObject(j, "dropped", dropped);
		if ((s = cJSON_Print(j)) != NULL)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(j);
	} else {
		printf("dropped %u cached record%s; the next lookups read the chain\n", dropped, dropped == 1 ? "" : "s");
	}
	return 0;
}
