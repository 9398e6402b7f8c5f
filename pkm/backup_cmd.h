/* dpk-pkm backup FILE and restore FILE (doc/backup.md). */
#ifndef DPK_PKM_BACKUP_CMD_H
#define DPK_PKM_BACKUP_CMD_H

struct pkm_config;

/* The state directory and the database (SQLite's online backup API: safe
 * while dpk-pkm serve runs) into file, never over an existing file. Exit status. */
int pkm_backup_command(const struct pkm_config *cfg, const char *file, int json);
/* A backup into the state directory: refused when it fails its checks (the
 * file's owner and mode, format, checksum, the database image's
 * quick_check) or when any file it would write, or SQLite's -wal/-shm, is
 * there; nothing is changed then. Stop dpk-pkm first. Exit status. json: failures and the result as JSON
 * on stdout. */
int pkm_restore_command(const struct pkm_config *cfg, const char *file, int json);

#endif
