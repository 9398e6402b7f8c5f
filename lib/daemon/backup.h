/* Backups of a daemon's state directory (dpk-agent --backup / --restore,
 * dpk-pkm backup / restore; doc/backup.md).
 *
 * A backup holds private keys (the identity key, the wallet and its
 * password): it is written 0600 with O_EXCL (never over an existing file),
 * read only if it is a regular file owned by root or the caller with no
 * group or other permission bits, and checked whole (magic, format version,
 * kind, every length, SHA-256 over all of it) before anything is restored.
 * A restore never overwrites: it refuses when any file it would write
 * exists, and it writes each file beside its place, then renames them all
 * (removing what it wrote if one fails), so a failed restore changes nothing.
 *
 * The file (format version 1; integers big-endian):
 *   8 bytes  "DPKBACK\n"
 *   u32      format version (1)
 *   u8 n, n bytes   kind ("dpk-agent", "dpk-pkm"), 1..32 bytes of [a-z-]
 *   u64      created (Unix seconds)
 *   u32      file count (0..DPK_BACKUP_MAX_FILES)
 *   per file: u8 n, n bytes name (1..64 of [A-Za-z0-9._-], not starting with '.'),
 *             u32 mode (permission bits only, <= 0777), u64 size, size bytes
 *   32 bytes SHA-256 of everything before it */
#ifndef DPK_BACKUP_H
#define DPK_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#define DPK_BACKUP_VERSION 1
#define DPK_BACKUP_MAX_FILES 64
#define DPK_BACKUP_MAX_BYTES (256u << 20) /* the whole file */

struct dpk_backup_file {
	char name[65];
	uint32_t mode;
	uint8_t *data; /* owned; wiped when freed */
	size_t len;
};

struct dpk_backup {
	char kind[33];
	uint64_t created;
	struct dpk_backup_file files[DPK_BACKUP_MAX_FILES];
	size_t n;
};

/* An empty backup of kind (copied; 1..32 bytes of [a-z-]). 0 or DPK_ERR_INVALID. */
int dpk_backup_init(struct dpk_backup *b, const char *kind);
/* Wipe and free every file's data. */
void dpk_backup_free(struct dpk_backup *b);
/* Add a file: name as above, mode's permission bits, a copy of len bytes.
 * 0, DPK_ERR_INVALID (bad name, a name twice), DPK_ERR_TOOBIG or DPK_ERR_NOMEM. */
int dpk_backup_add(struct dpk_backup *b, const char *name, uint32_t mode, const void *data, size_t len);
/* Add every regular file of dir whose name does not start with '.' (temporary
 * files) and for which skip (may be NULL) returns 0. Files are opened with
 * O_NOFOLLOW; a symbolic link or anything else that is not a regular file is
 * an error, not skipped. 0, or an error code with a sentence in err. */
int dpk_backup_add_dir(struct dpk_backup *b, const char *dir, int (*skip)(const char *name), char *err,
    size_t errsz);

/* The encoded file, into out. 0, DPK_ERR_TOOBIG or DPK_ERR_NOMEM. */
struct dpk_buf;
int dpk_backup_encode(const struct dpk_backup *b, struct dpk_buf *out);
/* Parse and check len bytes (the whole file) into b (which the caller frees
 * with dpk_backup_free, also on error). 0, or DPK_ERR_SYNTAX (not a backup),
 * DPK_ERR_UNSUPPORTED (another format version), DPK_ERR_TRUNCATED,
 * DPK_ERR_BADMAC (the checksum does not match: damaged), DPK_ERR_INVALID (a
 * bad field), DPK_ERR_TRAILING, DPK_ERR_TOOBIG; with a sentence in err. */
int dpk_backup_parse(const uint8_t *p, size_t len, struct dpk_backup *b, char *err, size_t errsz);

/* Write b to path: created 0600 with O_EXCL|O_NOFOLLOW, synced; removed
 * again on failure. DPK_ERR_EXISTS if path exists. */
int dpk_backup_save(const struct dpk_backup *b, const char *path, char *err, size_t errsz);
/* Read path (the checks above: regular file, owner root or the caller, no
 * group/other bits, at most DPK_BACKUP_MAX_BYTES) and parse it; its kind must
 * be kind. b is freed by the caller. */
int dpk_backup_load(const char *path, const char *kind, struct dpk_backup *b, char *err, size_t errsz);
/* Write every file of b into dir (created 0700 if missing; else it must be
 * a directory owned by the caller with no group/other bits). Refuses
 * (DPK_ERR_EXISTS) when any of the files exists; on any failure removes
 * what it wrote. */
int dpk_backup_restore(const struct dpk_backup *b, const char *dir, char *err, size_t errsz);

#endif
