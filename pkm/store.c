#include "store.h"

#include "base/err.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pkm_store {
	sqlite3 *db;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS tokens ("
    "  id BLOB PRIMARY KEY CHECK (length(id) = 16),"
    "  identity TEXT NOT NULL,"
    "  secret BLOB NOT NULL CHECK (length(secret) = 32),"
    "  token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),"
    "  created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  wallet BLOB CHECK (wallet IS NULL OR length(wallet) = 20),"
    "  state INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS chain_txs ("
    "  token_id BLOB NOT NULL REFERENCES tokens(id),"
    "  purpose TEXT NOT NULL,"
    "  nonce INTEGER NOT NULL,"
    "  hash BLOB NOT NULL CHECK (length(hash) = 32),"
    "  raw BLOB NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (token_id, purpose));"
    /* every version sent for a chain_txs row's nonce (the first and each
     * replacement), so whichever is mined is found after a restart */
    "CREATE TABLE IF NOT EXISTS chain_tx_sent ("
    "  token_id BLOB NOT NULL,"
    "  purpose TEXT NOT NULL,"
    "  hash BLOB PRIMARY KEY CHECK (length(hash) = 32),"
    "  raw BLOB NOT NULL,"
    "  sent_ms INTEGER NOT NULL,"
    "  FOREIGN KEY (token_id, purpose) REFERENCES chain_txs(token_id, purpose) ON DELETE CASCADE);";

int
pkm_store_open(const char *path, struct pkm_store **out, char *err, size_t errsz)
{
	struct pkm_store *s;
	char *msg = NULL;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DPK_ERR_NOMEM;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsz, "database %s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		pkm_store_close(s);
		return DPK_ERR_IO;
	}
	*out = s;
	return 0;
}

void
pkm_store_close(struct pkm_store *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	free(s);
}

static int
prep(struct pkm_store *s, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : DPK_ERR_IO;
}

/* Run a statement that returns no rows; map constraint failures. */
static int
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	return (rc & 0xff) == SQLITE_CONSTRAINT ? DPK_ERR_EXISTS : DPK_ERR_IO;
}

int
pkm_store_add_token(struct pkm_store *s, const struct pkm_token_row *t)
{
	sqlite3_stmt *st;

	if (prep(s, "INSERT INTO tokens (id, identity, secret, token_hash, created, expires, state)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_blob(st, 1, t->id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->identity, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, t->secret, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, t->token_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)t->created);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)t->expires);
	sqlite3_bind_int(st, 7, (int)t->state);
	return step_done(st);
}

static int
copy_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t n)
{
	if (sqlite3_column_type(st, col) != SQLITE_BLOB || (size_t)sqlite3_column_bytes(st, col) != n)
		return -1;
	memcpy(dst, sqlite3_column_blob(st, col), n);
	return 0;
}

static int
row_to_token(sqlite3_stmt *st, struct pkm_token_row *t)
{
	const unsigned char *id = sqlite3_column_text(st, 1);

	memset(t, 0, sizeof(*t));
	if (copy_blob(st, 0, t->id, 16) != 0 || id == NULL || strlen((const char *)id) >= sizeof(t->identity) ||
	    copy_blob(st, 2, t->secret, 32) != 0 || copy_blob(st, 3, t->token_hash, 32) != 0)
		return DPK_ERR_IO;
	memcpy(t->identity, id, strlen((const char *)id) + 1);
	t->created = (uint64_t)sqlite3_column_int64(st, 4);
	t->expires = (uint64_t)sqlite3_column_int64(st, 5);
	t->has_wallet = copy_blob(st, 6, t->wallet, 20) == 0;
	t->state = (enum pkm_token_state)sqlite3_column_int(st, 7);
	return 0;
}

#define TOKEN_COLUMNS "id, identity, secret, token_hash, created, expires, wallet, state"

int
pkm_store_get_token(struct pkm_store *s, const uint8_t id[16], struct pkm_token_row *t)
{
	sqlite3_stmt *st;
	int rc, r;

	if (prep(s, "SELECT " TOKEN_COLUMNS " FROM tokens WHERE id = ?", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? row_to_token(st, t) : rc == SQLITE_DONE ? DPK_ERR_NOTFOUND : DPK_ERR_IO;
	sqlite3_finalize(st);
	return r;
}

int
pkm_store_bind_wallet(struct pkm_store *s, const uint8_t id[16], const uint8_t wallet[20])
{
	sqlite3_stmt *st;
	int r;

	/* one statement: bind if unbound; afterwards the row must hold this wallet */
	if (prep(s, "UPDATE tokens SET wallet = ?2 WHERE id = ?1 AND wallet IS NULL", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, wallet, 20, SQLITE_STATIC);
	if ((r = step_done(st)) != 0)
		return r;
	struct pkm_token_row t;
	if ((r = pkm_store_get_token(s, id, &t)) != 0)
		return r;
	r = t.has_wallet && memcmp(t.wallet, wallet, 20) == 0 ? 0 : DPK_ERR_EXISTS;
	explicit_bzero(&t, sizeof(t));
	return r;
}

int
pkm_store_set_state(struct pkm_store *s, const uint8_t id[16], enum pkm_token_state state)
{
	sqlite3_stmt *st;

	if (prep(s, "UPDATE tokens SET state = ? WHERE id = ?", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_int(st, 1, (int)state);
	sqlite3_bind_blob(st, 2, id, 16, SQLITE_STATIC);
	return step_done(st);
}

int
pkm_store_list(struct pkm_store *s, void (*fn)(void *ctx, const struct pkm_token_row *t), void *ctx)
{
	sqlite3_stmt *st;
	struct pkm_token_row t;
	int rc;

	if (prep(s, "SELECT " TOKEN_COLUMNS " FROM tokens ORDER BY created DESC, rowid DESC", &st) != 0)
		return DPK_ERR_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row_to_token(st, &t) == 0)
			fn(ctx, &t);
	explicit_bzero(&t, sizeof(t));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : DPK_ERR_IO;
}

/* sent_ms is the database's wall clock in milliseconds */
static int
add_version(struct pkm_store *s, const uint8_t token_id[16], const char *purpose, const uint8_t hash[32],
    const uint8_t *raw, size_t len)
{
	sqlite3_stmt *st;

	if (prep(s, "INSERT OR IGNORE INTO chain_tx_sent (token_id, purpose, hash, raw, sent_ms) VALUES (?, ?, ?, ?,"
	    " CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER))", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_blob(st, 1, token_id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, raw != NULL ? (const void *)raw : "", (int)len, SQLITE_STATIC);
	return step_done(st);
}

static int
exec(struct pkm_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : DPK_ERR_IO;
}

int
pkm_store_replace_tx(struct pkm_store *s, const uint8_t token_id[16], const char *purpose, const uint8_t hash[32],
    const uint8_t *raw, size_t len)
{
	sqlite3_stmt *st;
	int r;

	if (exec(s, "BEGIN IMMEDIATE") != 0)
		return DPK_ERR_IO;
	if ((r = add_version(s, token_id, purpose, hash, raw, len)) == 0 &&
	    (r = prep(s, "UPDATE chain_txs SET hash = ?, raw = ? WHERE token_id = ? AND purpose = ? AND state = 0",
	    &st)) == 0) {
		sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, raw, (int)len, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, token_id, 16, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, purpose, -1, SQLITE_STATIC);
		if ((r = step_done(st)) == 0 && sqlite3_changes(s->db) != 1)
			r = DPK_ERR_NOTFOUND;
	} else if (r == 0) {
		r = DPK_ERR_IO;
	}
	if (r == 0 && exec(s, "COMMIT") == 0)
		return 0;
	exec(s, "ROLLBACK");
	return r != 0 ? r : DPK_ERR_IO;
}

int
pkm_store_tx_versions(struct pkm_store *s, const uint8_t token_id[16], const char *purpose,
    struct pkm_tx_version *v, size_t max, size_t *n)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (prep(s, "SELECT hash, sent_ms FROM chain_tx_sent WHERE token_id = ? AND purpose = ? ORDER BY sent_ms",
	    &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_blob(st, 1, token_id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		if (copy_blob(st, 0, v[*n].hash, 32) != 0)
			continue;
		v[*n].sent_ms = (uint64_t)sqlite3_column_int64(st, 1);
		(*n)++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : DPK_ERR_IO;
}

int
pkm_store_set_tx_mined(struct pkm_store *s, const uint8_t token_id[16], const char *purpose, const uint8_t hash[32],
    enum pkm_tx_state state)
{
	sqlite3_stmt *st;

	/* the row keeps the version that was mined */
	if (prep(s, "UPDATE chain_txs SET state = ?1, hash = ?2, raw = COALESCE((SELECT raw FROM chain_tx_sent"
	    " WHERE hash = ?2), raw) WHERE token_id = ?3 AND purpose = ?4", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_int(st, 1, (int)state);
	sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, token_id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, purpose, -1, SQLITE_STATIC);
	return step_done(st);
}

int
pkm_store_add_tx(struct pkm_store *s, const struct pkm_tx_row *tx)
{
	sqlite3_stmt *st;
	int r;

	if (prep(s, "INSERT INTO chain_txs (token_id, purpose, nonce, hash, raw, state) VALUES (?, ?, ?, ?, ?, ?)",
	    &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_blob(st, 1, tx->token_id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx->purpose, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)tx->nonce);
	sqlite3_bind_blob(st, 4, tx->hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, tx->raw.data ? (const void *)tx->raw.data : "", (int)tx->raw.len, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, (int)tx->state);
	if ((r = step_done(st)) != 0 || strcmp(tx->purpose, "eip712") == 0)
		return r;
	return add_version(s, tx->token_id, tx->purpose, tx->hash, tx->raw.data, tx->raw.len);
}

int
pkm_store_get_tx(struct pkm_store *s, const uint8_t token_id[16], const char *purpose, struct pkm_tx_row *tx)
{
	sqlite3_stmt *st;
	int rc, r = DPK_ERR_IO;

	if (prep(s, "SELECT nonce, hash, raw, state FROM chain_txs WHERE token_id = ? AND purpose = ?", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_blob(st, 1, token_id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = DPK_ERR_NOTFOUND;
	} else if (rc == SQLITE_ROW && copy_blob(st, 1, tx->hash, 32) == 0 &&
	    strlen(purpose) < sizeof(tx->purpose)) {
		memcpy(tx->token_id, token_id, 16);
		memcpy(tx->purpose, purpose, strlen(purpose) + 1);
		tx->nonce = (uint64_t)sqlite3_column_int64(st, 0);
		tx->state = (enum pkm_tx_state)sqlite3_column_int(st, 3);
		dpk_buf_reset(&tx->raw);
		r = dpk_buf_put(&tx->raw, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
	}
	sqlite3_finalize(st);
	return r;
}

int
pkm_store_set_tx_state(struct pkm_store *s, const uint8_t token_id[16], const char *purpose,
    enum pkm_tx_state state)
{
	sqlite3_stmt *st;

	if (prep(s, "UPDATE chain_txs SET state = ? WHERE token_id = ? AND purpose = ?", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_int(st, 1, (int)state);
	sqlite3_bind_blob(st, 2, token_id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, purpose, -1, SQLITE_STATIC);
	return step_done(st);
}

int
pkm_store_max_nonce(struct pkm_store *s, uint64_t *nonce)
{
	sqlite3_stmt *st;
	int rc, r;

	if (prep(s, "SELECT max(nonce) FROM chain_txs WHERE purpose != 'eip712'", &st) != 0)
		return DPK_ERR_IO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
		*nonce = (uint64_t)sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = rc == SQLITE_ROW ? DPK_ERR_NOTFOUND : DPK_ERR_IO;
	}
	sqlite3_finalize(st);
	return r;
}

int
pkm_store_delete_failed_tx(struct pkm_store *s, const uint8_t token_id[16], const char *purpose)
{
	sqlite3_stmt *st;
	int r;

	if (prep(s, "DELETE FROM chain_txs WHERE token_id = ? AND purpose = ? AND state = 2", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_blob(st, 1, token_id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
	if ((r = step_done(st)) != 0)
		return r;
	return sqlite3_changes(s->db) > 0 ? 0 : DPK_ERR_NOTFOUND;
}

int
pkm_store_list_tx(struct pkm_store *s, enum pkm_tx_state state,
    void (*fn)(void *ctx, const struct pkm_tx_row *tx), void *ctx)
{
	sqlite3_stmt *st;
	struct pkm_tx_row tx;
	int rc;

	if (prep(s, "SELECT token_id, purpose, nonce, hash, raw FROM chain_txs WHERE state = ?"
	    " ORDER BY nonce", &st) != 0)
		return DPK_ERR_IO;
	sqlite3_bind_int(st, 1, (int)state);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *purpose = sqlite3_column_text(st, 1);

		memset(&tx, 0, sizeof(tx));
		if (copy_blob(st, 0, tx.token_id, 16) != 0 || copy_blob(st, 3, tx.hash, 32) != 0 ||
		    purpose == NULL || strlen((const char *)purpose) >= sizeof(tx.purpose))
			continue;
		memcpy(tx.purpose, purpose, strlen((const char *)purpose) + 1);
		tx.nonce = (uint64_t)sqlite3_column_int64(st, 2);
		tx.state = state;
		/* a borrowed view: fn must not grow or free it */
		tx.raw.data = (uint8_t *)(uintptr_t)sqlite3_column_blob(st, 4);
		tx.raw.len = tx.raw.cap = tx.raw.max = (size_t)sqlite3_column_bytes(st, 4);
		fn(ctx, &tx);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : DPK_ERR_IO;
}

int
pkm_store_snapshot(const char *path, uint8_t **data, size_t *len, char *err, size_t errsz)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk;
	sqlite3_int64 sz = 0;
	unsigned char *img = NULL;
	int r = DPK_ERR_IO, rc;

	*data = NULL;
	*len = 0;
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(src, 5000) != SQLITE_OK) {
		snprintf(err, errsz, "database %s: %s", path, src ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	if (sqlite3_open(":memory:", &dst) != SQLITE_OK) {
		snprintf(err, errsz, "cannot open an in-memory database for the backup");
		goto out;
	}
	/* the online backup API: a consistent copy while dpk-pkm serve writes (a
	 * plain copy of a WAL database can miss what is still in pkm.db-wal) */
	if ((bk = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		snprintf(err, errsz, "database %s: cannot start the backup: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	while ((rc = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
		sqlite3_sleep(50);
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		snprintf(err, errsz, "database %s: the backup failed: %s", path, sqlite3_errstr(rc));
		goto out;
	}
	if ((img = sqlite3_serialize(dst, "main", &sz, 0)) == NULL || sz < 100) {
		snprintf(err, errsz, "database %s: cannot serialize the backup", path);
		goto out;
	}
	if ((*data = malloc((size_t)sz)) == NULL) {
		r = DPK_ERR_NOMEM;
		goto out;
	}
	memcpy(*data, img, (size_t)sz);
	/* file format bytes 18-19: 1 (rollback journal), as an image must be to
	 * be opened from memory; dpk-pkm puts the restored file back in WAL mode */
	(*data)[18] = 1;
	(*data)[19] = 1;
	*len = (size_t)sz;
	r = 0;
out:
	if (img != NULL) {
		explicit_bzero(img, (size_t)sz);
		sqlite3_free(img);
	}
	sqlite3_close(dst);
	sqlite3_close(src);
	return r;
}

int
pkm_store_check_image(const uint8_t *data, size_t len, char *err, size_t errsz)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *copy;
	int r = DPK_ERR_INVALID;

	if (len < 100 || memcmp(data, "SQLite format 3", 16) != 0 || data[18] != 1 || data[19] != 1) {
		snprintf(err, errsz, "pkm.db in the backup is not an SQLite database image");
		return DPK_ERR_INVALID;
	}
	if (sqlite3_open(":memory:", &db) != SQLITE_OK || (copy = sqlite3_malloc64(len)) == NULL) {
		sqlite3_close(db);
		return DPK_ERR_NOMEM;
	}
	memcpy(copy, data, len);
	if (sqlite3_deserialize(db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
	    SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
		snprintf(err, errsz, "pkm.db in the backup cannot be opened: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		snprintf(err, errsz, "pkm.db in the backup fails SQLite's quick_check: %s",
		    st != NULL && sqlite3_column_text(st, 0) != NULL ? (const char *)sqlite3_column_text(st, 0) :
		    sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(db, "SELECT id, state, wallet FROM tokens LIMIT 1; SELECT nonce, state FROM chain_txs LIMIT 1;",
	    NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "pkm.db in the backup has not the PKM's tables: %s", sqlite3_errmsg(db));
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}
