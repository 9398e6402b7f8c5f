/* The DPK users this host has met, by serial number: the file "users" in
 * the state directory, one line "SERIAL IDENTITY" each, appended when a
 * user is first admitted. It lets getpwuid and "dpk-" names (which cannot
 * be inverted) find users the host met before, also after a restart.
 * Nothing in it is trusted: an answer from it stands only if the identity's
 * record on chain carries the same serial number (nss.c). */
#ifndef DPK_AGENT_USERDB_H
#define DPK_AGENT_USERDB_H

#include <stddef.h>
#include <stdint.h>

#include "registry/identity.h"

#define AGENT_USERDB_MAX (1u << 20)       /* users remembered */
#define AGENT_USERDB_LINE_MAX 300         /* bytes in a line, its newline included */

struct agent_userdb_ent {
	uint64_t serial;
	uint8_t hash[32];
	char name[33];   /* the user name (nss_map.h) */
	char *ident;     /* the identity, canonical text */
};

struct agent_userdb {
	struct agent_userdb_ent *v; /* sorted by serial */
	size_t n, cap;
	/* by name: open addressing over serials (0 empty, UINT64_MAX deleted),
	 * at most half used, so a lookup costs the same at any size */
	uint64_t *ix;
	size_t ix_cap, ix_used;
	int fd;                     /* the file, for appending; -1: in memory only */
};

/* Load dir/users (created if missing, mode 0600). Malformed lines are
 * skipped and counted in *skipped. 0, or a DPK_ERR_* with a sentence in err. */
int agent_userdb_open(struct agent_userdb *db, const char *dir, size_t *skipped, char *err, size_t errsz);
void agent_userdb_close(struct agent_userdb *db);
const struct agent_userdb_ent *agent_userdb_by_serial(const struct agent_userdb *db, uint64_t serial);
/* By user name: the exact name only (the lowest serial if several). */
const struct agent_userdb_ent *agent_userdb_by_name(const struct agent_userdb *db, const char *name, size_t n);
/* Remember identity id under serial (replacing another identity there) and
 * append it to the file. 0, DPK_ERR_NOMEM or DPK_ERR_TOOBIG (full). */
int agent_userdb_note(struct agent_userdb *db, uint64_t serial, const struct dpk_identity *id);
/* One line without its newline: 0 and *serial, *id; -1 if malformed
 * (a decimal serial from 1, one space, a canonical identity). */
int agent_userdb_parse_line(const char *line, size_t n, uint64_t *serial, struct dpk_identity *id);

#endif
