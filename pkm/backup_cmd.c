/* dpk-pkm backup FILE / restore FILE (doc/backup.md): the PKM's state
 * directory (identity key, wallet and its password) and its database, taken
 * with SQLite's online backup API, in one file (lib/daemon/backup.h). */
#include "autoconfig.h"
#include "backup_cmd.h"

#include "base/err.h"
#include "config.h"
#include "daemon/backup.h"
#include "daemon/cli.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KIND "dpk-pkm"
#define DB "pkm.db"

/* The database and SQLite's files beside it are taken through the backup
 * API, never copied. */
static int
skip_db(const char *name)
{
	return strcmp(name, DB) == 0 || strcmp(name, DB "-wal") == 0 || strcmp(name, DB "-shm") == 0 ||
	    strcmp(name, DB "-journal") == 0;
}

int
pkm_backup_command(const struct pkm_config *cfg, const char *file, int json)
{
	struct dpk_backup b;
	char err[600], db[PATH_MAX];
	uint8_t *img = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	if (dpk_backup_init(&b, KIND) != 0)
		return 1;
	snprintf(db, sizeof(db), "%s/" DB, cfg->state_dir);
	if (stat(db, &st) != 0) {
		return dpk_cli_fail("dpk-pkm", json, 1, "backup: %s: %s (has dpk-pkm init run with this configuration?)", db,
		    strerror(errno));
	}
	if ((r = dpk_backup_add_dir(&b, cfg->state_dir, skip_db, err, sizeof(err))) != 0 ||
	    (r = pkm_store_snapshot(db, &img, &len, err, sizeof(err))) != 0 ||
	    (r = dpk_backup_add(&b, DB, 0600, img, len)) != 0 ||
	    (r = dpk_backup_save(&b, file, err, sizeof(err))) != 0) {
		if (r == DPK_ERR_TOOBIG)
			snprintf(err, sizeof(err), "the database is larger than a backup holds");
		r = dpk_cli_fail("dpk-pkm", json, 1, "backup: %s", err);
	} else if (json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "file", file);
		cJSON_AddStringToObject(j, "state_dir", cfg->state_dir);
		cJSON_AddNumberToObject(j, "files", (double)b.n);
		cJSON_AddNumberToObject(j, "database_bytes", (double)len);
		dpk_cli_print_json(j);
	} else {
		printf("backed up %zu files of %s (%s with SQLite's online backup, %zu bytes) to %s\n", b.n,
		    cfg->state_dir, DB, len, file);
		printf("the file holds the PKM's wallet and identity keys and every token's secret: keep it as safe as %s\n",
		    cfg->state_dir);
	}
	if (img != NULL) {
		explicit_bzero(img, len);
		free(img);
	}
	dpk_backup_free(&b);
	return r;
}

int
pkm_restore_command(const struct pkm_config *cfg, const char *file, int json)
{
	static const char *const sqlite_files[] = {DB "-wal", DB "-shm", DB "-journal"};
	struct dpk_backup b;
	char err[600];
	const struct dpk_backup_file *db = NULL;
	int r = 1;

	if (dpk_backup_load(file, KIND, &b, err, sizeof(err)) != 0) {
		dpk_cli_fail("dpk-pkm", json, 1, "restore: %s; nothing was restored", err);
		goto out;
	}
	for (size_t i = 0; i < b.n; i++)
		if (strcmp(b.files[i].name, DB) == 0)
			db = &b.files[i];
	if (db == NULL) {
		dpk_cli_fail("dpk-pkm", json, 1, "restore: refusing %s: it holds no %s; nothing was restored", file, DB);
		goto out;
	}
	if (pkm_store_check_image(db->data, db->len, err, sizeof(err)) != 0) {
		dpk_cli_fail("dpk-pkm", json, 1, "restore: refusing %s: %s; nothing was restored", file, err);
		goto out;
	}
	/* a write-ahead log left beside would be applied to the restored database */
	for (size_t i = 0; i < sizeof(sqlite_files) / sizeof(sqlite_files[0]); i++) {
		char path[PATH_MAX];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, sqlite_files[i]);
		if (lstat(path, &st) == 0) {
			dpk_cli_fail("dpk-pkm", json, 1, "restore: %s exists: stop dpk-pkm and move the state directory away "
			    "first; nothing was restored", path);
			goto out;
		}
	}
	if (dpk_backup_restore(&b, cfg->state_dir, err, sizeof(err)) != 0) {
		dpk_cli_fail("dpk-pkm", json, 1, "restore: %s", err);
		goto out;
	}
	if (json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "state_dir", cfg->state_dir);
		cJSON_AddNumberToObject(j, "files", (double)b.n);
		dpk_cli_print_json(j);
	} else {
		printf("restored %zu files into %s; start dpk-pkm (never two PKMs with one wallet: their nonces would "
		    "clash)\n", b.n, cfg->state_dir);
	}
	r = 0;
out:
	dpk_backup_free(&b);
	return r;
}
