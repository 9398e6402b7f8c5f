/* dpk-agent --backup FILE and --restore FILE (doc/backup.md): the state
 * directory (identity key, wallet and its password, the registration
 * journal, the users met, the tickets seen) into one file, and back. */
#ifndef DPK_AGENT_BACKUP_CMD_H
#define DPK_AGENT_BACKUP_CMD_H

struct dpk_config;

/* Back up cfg's state_dir into file (never over an existing file). Safe while
 * the agent runs: it replaces each state file whole (rename) or appends to
 * it, so each file is read as one consistent version. Exit status. */
int agent_backup_command(const struct dpk_config *cfg, const char *file);
/* Restore file into cfg's state_dir: refused while an agent answers on the
 * configured socket, when the backup fails its checks, or when any of its
 * files exists in state_dir (nothing is then changed). Exit status. */
int agent_restore_command(const struct dpk_config *cfg, const char *file);

#endif
