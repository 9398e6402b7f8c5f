/* Rotation and revocation of this host's identity (rotate.h says how a crash
 * at any point is survived). Reachable by root only, through the agent's
 * socket (ROTATE, REVOKE); what the thread reads from the chain is checked
 * against the transaction it sent: a receipt without the registry's event
 * for this identity, or a record that does not hold the new key, switches
 * nothing. */
#include "chain/rotate.h"

#include "agent.h"
#include "base/err.h"
#include "base/hex.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/log.h"
#include "eth/tx.h"
#include "eth/txsend.h"
#include "proto.h"
#include "registry/identity.h"
#include "registry/registry.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define KEYOP_MAGIC "dpk-key-operation-v1"
#define KEYOP_JOURNAL_MAX (64 * 1024)
#define KEYOP_WAIT_MS 3000
#define KEYOP_PUB_MAX 8192

struct agent_keyop {
	pthread_mutex_t mu; /* guards what the event loop reads: kind..detail, swap_*, new_key */
	pthread_t thread;
	int have_thread;
	volatile int stop;
	char dir[PATH_MAX - 64];
	char journal[PATH_MAX];
	enum keyop_kind kind;
	enum keyop_step step;
	char detail[300];
	int64_t started_ms;
	/* fixed when the operation starts (the thread never reads a->cfg: SIGHUP replaces it) */
	char *urls[DPK_CONFIG_MAX_RPC];
	size_t n_urls;
	uint32_t rpc_timeout_ms, confirmations;
	uint64_t chain_id;
	uint8_t contract[20];
	uint8_t id_hash[32];
	const struct dpk_wallet *wallet;
	struct dpk_buf old_pub;    /* the key in use when the operation started */
	/* rotation */
	uint8_t new_alg;
	unsigned rsa_bits;
	struct dpk_buf new_pub;
	struct dpk_idkey *new_key;  /* handed to the event loop at the swap */
	int swap_wanted, swapped;
	uint64_t mined_block;
	/* the journalled transaction */
	int has_tx;
	uint64_t tx_nonce;
	uint8_t tx_hash[32];
	struct dpk_buf tx_raw;
	/* keys replaced while the agent runs: a handshake under way may still use one */
	struct dpk_idkey **retired;
	size_t n_retired;
};

static const char *const step_names[] = {
	"none", "preparing", "waiting for the transaction", "confirming", "rotated", "revoked", "failed",
};

const char *
agent_keyop_step_name(enum keyop_step s)
{
	return s <= KEYOP_FAILED ? step_names[s] : "unknown";
}

static void
vsay(struct agent_keyop *k, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&k->mu);
	vsnprintf(k->detail, sizeof(k->detail), fmt, ap);
	pthread_mutex_unlock(&k->mu);
}

static void say(struct agent_keyop *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct agent_keyop *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(k, fmt, ap);
	va_end(ap);
}

static void
path_of(const struct agent_keyop *k, const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", k->dir, name);
}

static int
sync_dir(const struct agent_keyop *k)
{
	int fd = open(k->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return DPK_ERR_IO;
	r = fsync(fd) == 0 ? 0 : DPK_ERR_IO;
	close(fd);
	return r;
}

/* --- the journal: "name: value" lines after the magic line --- */

static void
put_hex(FILE *f, const char *name, const uint8_t *p, size_t n)
{
	char *hex = malloc(2 * n + 1);

	if (hex == NULL)
		return;
	dpk_hex_encode(p, n, 0, hex, 2 * n + 1);
	fprintf(f, "%s: %s\n", name, hex);
	free(hex);
}

/* Write the journal with step (atomically: tmp, fsync, rename, fsync dir). */
static int
journal_save(struct agent_keyop *k, enum keyop_step step)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int fd, ok;

	pthread_mutex_lock(&k->mu);
	k->step = step;
	pthread_mutex_unlock(&k->mu);
	snprintf(tmp, sizeof(tmp), "%s.tmp", k->journal);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return DPK_ERR_IO;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return DPK_ERR_IO;
	}
	fprintf(f, "%s\nop: %s\nstep: %d\n", KEYOP_MAGIC, k->kind == KEYOP_REVOKE ? "revoke" : "rotate", (int)step);
	if (k->kind == KEYOP_ROTATE && k->new_pub.len > 0) {
		fprintf(f, "new-alg: %u\n", k->new_alg);
		put_hex(f, "new-pub", k->new_pub.data, k->new_pub.len);
	}
	if (k->has_tx) {
		fprintf(f, "tx-nonce: %llu\nmined-block: %llu\n", (unsigned long long)k->tx_nonce,
		    (unsigned long long)k->mined_block);
		put_hex(f, "tx-hash", k->tx_hash, 32);
		put_hex(f, "tx-raw", k->tx_raw.data, k->tx_raw.len);
	}
	pthread_mutex_lock(&k->mu);
	fprintf(f, "detail: %s\n", k->detail);
	pthread_mutex_unlock(&k->mu);
	ok = fflush(f) == 0 && fsync(fd) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, k->journal) != 0) {
		unlink(tmp);
		return DPK_ERR_IO;
	}
	return sync_dir(k);
}

static int
get_hex_buf(const char *v, struct dpk_buf *b, size_t max)
{
	size_t n = strlen(v), got;
	uint8_t *dst;

	if (n == 0 || n % 2 != 0 || n / 2 > max)
		return DPK_ERR_SYNTAX;
	dpk_buf_reset(b);
	if (dpk_buf_reserve(b, n / 2, &dst) != 0 || dpk_hex_decode(v, n, dst, n / 2, &got) != 0 || got != n / 2)
		return DPK_ERR_SYNTAX;
	return 0;
}

static int
get_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long u;

	if (*v < '0' || *v > '9')
		return DPK_ERR_SYNTAX;
	errno = 0;
	u = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || u > max)
		return DPK_ERR_SYNTAX;
	*out = u;
	return 0;
}

/* One journal line; DPK_ERR_SYNTAX for anything unknown or malformed. */
static int
journal_line(struct agent_keyop *k, const char *name, const char *v)
{
	uint64_t u;

	if (strcmp(name, "op") == 0) {
		if (strcmp(v, "rotate") != 0 && strcmp(v, "revoke") != 0)
			return DPK_ERR_SYNTAX;
		k->kind = strcmp(v, "rotate") == 0 ? KEYOP_ROTATE : KEYOP_REVOKE;
	} else if (strcmp(name, "step") == 0) {
		if (get_u64(v, KEYOP_FAILED, &u) != 0)
			return DPK_ERR_SYNTAX;
		k->step = (enum keyop_step)u;
	} else if (strcmp(name, "new-alg") == 0) {
		if (get_u64(v, DPK_IDKEY_RSA, &u) != 0 || u == 0)
			return DPK_ERR_SYNTAX;
		k->new_alg = (uint8_t)u;
	} else if (strcmp(name, "new-pub") == 0) {
		return get_hex_buf(v, &k->new_pub, KEYOP_PUB_MAX);
	} else if (strcmp(name, "tx-nonce") == 0) {
		return get_u64(v, UINT64_MAX, &k->tx_nonce);
	} else if (strcmp(name, "mined-block") == 0) {
		return get_u64(v, UINT64_MAX, &k->mined_block);
	} else if (strcmp(name, "tx-hash") == 0) {
		return dpk_hex_decode_exact(v, k->tx_hash, 32) == 0 ? 0 : DPK_ERR_SYNTAX;
	} else if (strcmp(name, "tx-raw") == 0) {
		if (get_hex_buf(v, &k->tx_raw, DPK_TX_MAX_RAW) != 0)
			return DPK_ERR_SYNTAX;
		k->has_tx = 1;
	} else if (strcmp(name, "detail") == 0) {
		snprintf(k->detail, sizeof(k->detail), "%s", v);
	} else {
		return DPK_ERR_SYNTAX;
	}
	return 0;
}

/* Parse a journal's bytes (at most KEYOP_JOURNAL_MAX, each line ended by a
 * newline, no NUL) into k. DPK_ERR_SYNTAX for anything else. */
static int
journal_parse(struct agent_keyop *k, const uint8_t *data, size_t len)
{
	char *text, *line, *nl;
	int r = DPK_ERR_SYNTAX;

	if (len == 0 || len >= KEYOP_JOURNAL_MAX || data[len - 1] != '\n' || memchr(data, '\0', len) != NULL)
		return DPK_ERR_SYNTAX;
	if ((text = malloc(len + 1)) == NULL)
		return DPK_ERR_NOMEM;
	memcpy(text, data, len);
	text[len] = '\0';
	nl = strchr(text, '\n');
	*nl = '\0';
	if (strcmp(text, KEYOP_MAGIC) != 0)
		goto out;
	for (line = nl + 1; *line != '\0'; line = nl + 1) {
		char *colon;

		nl = strchr(line, '\n');
		*nl = '\0';
		if ((colon = strstr(line, ": ")) == NULL)
			goto out;
		*colon = '\0';
		if (journal_line(k, line, colon + 2) != 0)
			goto out;
	}
	/* an operation; a rotation that got as far as a transaction names its new key */
	r = k->kind != KEYOP_NONE && (k->kind != KEYOP_ROTATE || !k->has_tx || k->new_pub.len > 0) ? 0 : DPK_ERR_SYNTAX;
out:
	free(text);
	return r;
}

static int
journal_load(struct agent_keyop *k)
{
	uint8_t *data;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	if ((fd = open(k->journal, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? DPK_ERR_NOTFOUND : DPK_ERR_IO;
	if ((data = malloc(KEYOP_JOURNAL_MAX)) == NULL) {
		close(fd);
		return DPK_ERR_NOMEM;
	}
	while (len < KEYOP_JOURNAL_MAX && (n = read(fd, data + len, KEYOP_JOURNAL_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	r = journal_parse(k, data, len);
	free(data);
	return r;
}

static struct agent_keyop *
keyop_new(void)
{
	struct agent_keyop *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	pthread_mutex_init(&k->mu, NULL);
	dpk_buf_init(&k->old_pub, KEYOP_PUB_MAX);
	dpk_buf_init(&k->new_pub, KEYOP_PUB_MAX);
	dpk_buf_init(&k->tx_raw, DPK_TX_MAX_RAW);
	return k;
}

static void
keyop_free(struct agent_keyop *k)
{
	for (size_t i = 0; i < k->n_urls; i++)
		free(k->urls[i]);
	for (size_t i = 0; i < k->n_retired; i++)
		dpk_idkey_free(k->retired[i]);
	free(k->retired);
	dpk_idkey_free(k->new_key);
	dpk_buf_free(&k->old_pub);
	dpk_buf_free(&k->new_pub);
	dpk_buf_free(&k->tx_raw);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

int
agent_keyop_journal_check(const uint8_t *data, size_t len, int *kind, int *step)
{
	struct agent_keyop *k = keyop_new();
	int r;

	if (k == NULL)
		return DPK_ERR_NOMEM;
	r = journal_parse(k, data, len);
	if (r == 0) {
		*kind = (int)k->kind;
		*step = (int)k->step;
	}
	keyop_free(k);
	return r;
}

/* --- the chain side, on the operation's thread --- */

static void
fail(struct agent_keyop *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stop the operation. A new key that may be on chain is kept under a name
 * that says so; one no transaction ever named is deleted. */
static void
fail(struct agent_keyop *k, const char *fmt, ...)
{
	char newp[PATH_MAX], keep[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsay(k, fmt, ap);
	va_end(ap);
	path_of(k, "identity.pem.new", newp, sizeof(newp));
	if (k->has_tx) {
		path_of(k, "identity.pem.rotation-failed", keep, sizeof(keep));
		if (access(newp, F_OK) == 0 && rename(newp, keep) == 0)
			agent_log(LOG_WARNING, "the unused new identity key is kept as %s", keep);
	} else {
		unlink(newp);
	}
	k->has_tx = 0;
	if (journal_save(k, KEYOP_FAILED) != 0)
		agent_log(LOG_ERR, "cannot write %s: %s", k->journal, strerror(errno));
	agent_log(LOG_ERR, "%s of this host's identity failed: %s", k->kind == KEYOP_REVOKE ? "revocation" : "rotation",
	    k->detail);
}

static int
read_record(struct agent_keyop *k, struct dpk_rpc *rpc, struct dpk_registry_record *rec)
{
	int r = dpk_registry_get_client_by_hash(rpc, k->contract, k->id_hash, rec);

	if (r == DPK_ERR_NOTFOUND)
		fail(k, "this host's identity is not registered on chain: nothing to %s",
		    k->kind == KEYOP_REVOKE ? "revoke" : "rotate");
	else if (r != 0)
		say(k, "cannot read this host's record: %s; will retry", dpk_rpc_last_error(rpc));
	return r;
}

/* Check the record, make and save the new key, sign and journal the
 * transaction. 0 once it is journalled (step SENT). */
static int
prepare(struct agent_keyop *k, struct dpk_rpc *rpc)
{
	struct dpk_registry_record rec;
	struct dpk_buf calldata;
	char newp[PATH_MAX], addr[43];
	int r;

	while ((r = read_record(k, rpc, &rec)) != 0) {
		if (r == DPK_ERR_NOTFOUND || k->stop)
			return r;
		sleep(1);
	}
	dpk_wallet_address_format(k->wallet->addr, addr);
	if (rec.status != DPK_REGISTRY_ACTIVE) {
		r = DPK_ERR_REVOKED;
		fail(k, "this host's identity is already revoked on chain");
	} else if (memcmp(rec.controller, k->wallet->addr, 20) != 0) {
		r = DPK_ERR_PERM;
		fail(k, "this host's wallet %s does not control its record (the registry only lets the controller %s)",
		    addr, k->kind == KEYOP_REVOKE ? "revoke it; the PKM that approved it can" : "rotate its key");
	} else if (k->kind == KEYOP_ROTATE &&
	    (rec.publen != k->old_pub.len || memcmp(rec.pubkey, k->old_pub.data, rec.publen) != 0)) {
		/* a revocation goes ahead whatever key the record holds: its wallet controls it */
		r = DPK_ERR_STATE;
		fail(k, "the chain holds another key than the one this agent uses (version %u): register again first",
		    rec.version);
	}
	dpk_registry_record_free(&rec);
	if (r != 0)
		return r;
	dpk_buf_init(&calldata, 16384);
	if (k->kind == KEYOP_ROTATE) {
		journal_save(k, KEYOP_PREPARING); /* a crash from here on, before the transaction: the new key is dropped */
		path_of(k, "identity.pem.new", newp, sizeof(newp));
		unlink(newp);
		say(k, "making a new %s key", k->new_alg == DPK_IDKEY_RSA ? "RSA" : "ECDSA P-256");
		dpk_buf_reset(&k->new_pub);
		if ((r = dpk_idkey_generate((enum dpk_idkey_alg)k->new_alg, k->rsa_bits, &k->new_key)) != 0 ||
		    (r = dpk_idkey_save(k->new_key, newp)) != 0 || (r = sync_dir(k)) != 0 ||
		    (r = dpk_idkey_public_onchain(k->new_key, &k->new_pub)) != 0) {
			fail(k, "cannot make the new key %s: %s", newp, dpk_strerror(r));
			goto out;
		}
		r = dpk_registry_encode_rotate(&calldata, k->id_hash, k->new_alg, k->new_pub.data, k->new_pub.len);
	} else {
		r = dpk_registry_encode_revoke(&calldata, k->id_hash);
	}
	if (r != 0) {
		fail(k, "cannot encode the transaction: %s", dpk_strerror(r));
		goto out;
	}
	struct dpk_txsend req = {.to = k->contract, .data = calldata.data, .data_len = calldata.len};
	const char *what = k->kind == KEYOP_ROTATE ? "rotate()" : "revoke()";

	dpk_buf_reset(&k->tx_raw);
	r = dpk_txsend_prepare(rpc, k->wallet, k->chain_id, &req, &k->tx_raw, k->tx_hash, &k->tx_nonce);
	if (r == DPK_ERR_REVERT) {
		char reason[256];

		dpk_registry_last_revert(rpc, reason, sizeof(reason));
		fail(k, "the registry would refuse %s: %s", what, reason);
	} else if (r != 0) {
		fail(k, "cannot prepare %s from this host's wallet %s (it pays the gas: fund it if the node says so): %s",
		    what, addr, dpk_rpc_last_error(rpc));
	} else {
		k->has_tx = 1;
		say(k, "sending %s", what);
		if ((r = journal_save(k, KEYOP_SENT)) != 0) { /* journalled before it is ever sent */
			k->has_tx = 0;
			fail(k, "cannot write %s: %s; nothing was sent", k->journal, strerror(errno));
		}
	}
out:
	dpk_buf_free(&calldata);
	return r;
}

/* The receipt shows the registry's event for this identity (and, for a
 * rotation, for the new key's algorithm from our wallet)? */
static int
receipt_shows(const struct agent_keyop *k, const struct dpk_rpc_receipt *rc)
{
	for (size_t i = 0; i < rc->nlogs; i++) {
		struct dpk_registry_event ev;

		if (memcmp(rc->logs[i].address, k->contract, 20) != 0 || dpk_registry_decode_event(&rc->logs[i], &ev) != 0 ||
		    memcmp(ev.id_hash, k->id_hash, 32) != 0)
			continue;
		if (k->kind == KEYOP_ROTATE && ev.kind == DPK_REGISTRY_EV_KEY_ROTATED && ev.alg == k->new_alg &&
		    memcmp(ev.addr, k->wallet->addr, 20) == 0)
			return 1;
		if (k->kind == KEYOP_REVOKE && ev.kind == DPK_REGISTRY_EV_CLIENT_REVOKED)
			return 1;
	}
	return 0;
}

/* The record as the operation wants it: the new key, or revoked. */
static int
record_shows(const struct agent_keyop *k, const struct dpk_registry_record *rec)
{
	if (k->kind == KEYOP_REVOKE)
		return rec->status == DPK_REGISTRY_REVOKED;
	return rec->status == DPK_REGISTRY_ACTIVE && rec->alg == k->new_alg && rec->publen == k->new_pub.len &&
	    memcmp(rec->pubkey, k->new_pub.data, rec->publen) == 0;
}

/* Send (again) and wait for the receipt, then check it and the record.
 * 1 when both show the operation, 0 to try again, <0 when it failed. */
static int
wait_mined(struct agent_keyop *k, struct dpk_rpc *rpc)
{
	struct dpk_registry_record rec;
	struct dpk_rpc_receipt rc;
	char hex[67];
	int r, ok;

	dpk_hex_encode(k->tx_hash, 32, 1, hex, sizeof(hex));
	say(k, "waiting for transaction %.18s... (nonce %llu) to be mined", hex, (unsigned long long)k->tx_nonce);
	r = dpk_txsend_submit(rpc, k->tx_raw.data, k->tx_raw.len, k->tx_hash, KEYOP_WAIT_MS, NULL, NULL, &rc);
	if (r == DPK_ERR_TIMEOUT || r == DPK_ERR_NET)
		return 0;
	if (r != 0) {
		/* refused, and not known to the node: it was never mined (a nonce used by another transaction) */
		fail(k, "the node refused transaction %.18s...: %s", hex, dpk_rpc_last_error(rpc));
		return DPK_ERR_RPC;
	}
	if (rc.status != 1) {
		fail(k, "transaction %.18s... reverted in block %llu; the old key stays in use", hex,
		    (unsigned long long)rc.block_number);
		dpk_rpc_receipt_free(&rc);
		return DPK_ERR_REVERT;
	}
	ok = receipt_shows(k, &rc);
	k->mined_block = rc.block_number;
	dpk_rpc_receipt_free(&rc);
	if (!ok) {
		say(k, "the receipt of %.18s... shows no %s event for this identity: not believed; asking again", hex,
		    k->kind == KEYOP_ROTATE ? "KeyRotated" : "ClientRevoked");
		return 0;
	}
	if (read_record(k, rpc, &rec) != 0)
		return k->step == KEYOP_FAILED ? DPK_ERR_NOTFOUND : 0;
	ok = record_shows(k, &rec);
	dpk_registry_record_free(&rec);
	if (!ok) {
		say(k, "transaction %.18s... is mined but the record does not show it yet; asking again", hex);
		return 0;
	}
	return 1;
}

/* Put the new key in place on disk (the old one kept as a backup), then
 * have the event loop use it. */
static int
swap_files(struct agent_keyop *k)
{
	char cur[PATH_MAX], newp[PATH_MAX], bak[PATH_MAX];

	path_of(k, "identity.pem", cur, sizeof(cur));
	path_of(k, "identity.pem.new", newp, sizeof(newp));
	path_of(k, "identity.pem.before-rotation", bak, sizeof(bak));
	if (access(newp, F_OK) == 0) {
		unlink(bak);
		if (link(cur, bak) != 0 || rename(newp, cur) != 0 || sync_dir(k) != 0) {
			say(k, "cannot put the new key in place (%s -> %s): %s; will retry", newp, cur, strerror(errno));
			return DPK_ERR_IO;
		}
	}
	return 0;
}

static void
wait_swapped(struct agent_keyop *k)
{
	pthread_mutex_lock(&k->mu);
	k->swap_wanted = 1;
	pthread_mutex_unlock(&k->mu);
	for (;;) {
		int done;

		pthread_mutex_lock(&k->mu);
		done = k->swapped;
		pthread_mutex_unlock(&k->mu);
		if (done || k->stop)
			return;
		usleep(50 * 1000);
	}
}

/* CONFIRMING: the rotation is final once its block has confirmations
 * blocks on top (and the record still holds the new key); then the backup
 * of the old key goes. */
static int
confirm(struct agent_keyop *k, struct dpk_rpc *rpc)
{
	struct dpk_registry_record rec;
	uint64_t head, need = k->confirmations > 1 ? k->confirmations - 1 : 0;
	char bak[PATH_MAX];
	int ok;

	if (dpk_rpc_block_number(rpc, &head) != 0) {
		say(k, "cannot read the head block: %s; will retry", dpk_rpc_last_error(rpc));
		return 0;
	}
	if (head < k->mined_block + need) {
		say(k, "mined in block %llu; waiting for %u confirmation(s), head is %llu",
		    (unsigned long long)k->mined_block, k->confirmations, (unsigned long long)head);
		return 0;
	}
	if (read_record(k, rpc, &rec) != 0)
		return 0;
	ok = record_shows(k, &rec);
	dpk_registry_record_free(&rec);
	if (!ok) { /* a reorganisation dropped it: the same transaction goes again */
		say(k, "the rotation is no longer on chain (a reorganisation?); sending it again");
		(void)wait_mined(k, rpc);
		return 0;
	}
	path_of(k, "identity.pem.before-rotation", bak, sizeof(bak));
	unlink(bak);
	k->has_tx = 0;
	say(k, "the new key is on chain with %u confirmation(s) and in use", k->confirmations ? k->confirmations : 1);
	journal_save(k, KEYOP_DONE);
	agent_log(LOG_NOTICE, "rotation of this host's identity key confirmed");
	return 1;
}

static void *
keyop_thread(void *arg)
{
	struct agent_keyop *k = arg;
	struct dpk_rpc_opts opts = {.timeout_ms = k->rpc_timeout_ms};
	struct dpk_rpc *rpc = NULL;

	if (dpk_rpc_new(&rpc, (const char *const *)k->urls, k->n_urls, &opts) != 0) {
		fail(k, "cannot set up the RPC client");
		return NULL;
	}
	while (!k->stop) {
		enum keyop_step step;
		int r;

		pthread_mutex_lock(&k->mu);
		step = k->step;
		pthread_mutex_unlock(&k->mu);
		if (step == KEYOP_PREPARING) {
			if (prepare(k, rpc) != 0)
				break;
		} else if (step == KEYOP_SENT) {
			if ((r = wait_mined(k, rpc)) < 0)
				break;
			if (r == 0) {
				sleep(1);
				continue;
			}
			if (k->kind == KEYOP_REVOKE) {
				k->has_tx = 0;
				say(k, "revoked on chain in block %llu: this host's key signs nothing any more",
				    (unsigned long long)k->mined_block);
				journal_save(k, KEYOP_REVOKED);
				agent_log(LOG_NOTICE, "this host's identity is revoked");
				break;
			}
			if (swap_files(k) != 0) {
				sleep(1);
				continue;
			}
			say(k, "mined in block %llu; switching to the new key", (unsigned long long)k->mined_block);
			journal_save(k, KEYOP_CONFIRMING);
			wait_swapped(k);
		} else if (step == KEYOP_CONFIRMING) {
			wait_swapped(k);
			if (k->stop || confirm(k, rpc) == 1)
				break;
			sleep(1);
		} else {
			break;
		}
	}
	dpk_rpc_free(rpc);
	return NULL;
}

/* --- the agent's side --- */

static void
join_thread(struct agent_keyop *k)
{
	if (k->have_thread) {
		pthread_join(k->thread, NULL);
		k->have_thread = 0;
	}
}

/* swapped: the new key is in use already (a resumed rotation) */
static int
start_thread(struct agent_keyop *k, int swapped)
{
	join_thread(k);
	k->stop = 0;
	k->swap_wanted = 0;
	k->swapped = swapped;
	k->started_ms = agent_now_ms();
	if (pthread_create(&k->thread, NULL, keyop_thread, k) != 0)
		return DPK_ERR_NOMEM;
	k->have_thread = 1;
	return 0;
}

/* What the thread needs from the configuration and the key in use, copied. */
static int
take_config(struct agent *a, struct agent_keyop *k)
{
	struct dpk_identity id;

	for (size_t i = 0; i < k->n_urls; i++)
		free(k->urls[i]);
	k->n_urls = 0;
	for (size_t i = 0; i < a->cfg.n_rpc; i++)
		if ((k->urls[k->n_urls++] = strdup(a->cfg.rpc_url[i])) == NULL)
			return DPK_ERR_NOMEM;
	k->rpc_timeout_ms = a->cfg.rpc_timeout_ms;
	k->confirmations = a->cfg.confirmations;
	k->chain_id = a->cfg.chain_id;
	k->rsa_bits = a->cfg.rsa_bits;
	memcpy(k->contract, a->cfg.contract, 20);
	k->wallet = &a->wallet;
	if (a->cfg.identity == NULL || dpk_identity_parse(a->cfg.identity, strlen(a->cfg.identity), &id) != 0 ||
	    dpk_identity_hash(&id, k->id_hash) != 0)
		return DPK_ERR_INVALID;
	dpk_buf_reset(&k->old_pub);
	return dpk_idkey_public_onchain(a->idkey, &k->old_pub);
}

int
agent_keyop_init(struct agent *a, char *err, size_t errsz)
{
	struct agent_keyop *k = keyop_new();
	char newp[PATH_MAX], cur[PATH_MAX];
	int r;

	if (k == NULL)
		return DPK_ERR_NOMEM;
	snprintf(k->dir, sizeof(k->dir), "%s", a->cfg.state_dir);
	path_of(k, "key-operation", k->journal, sizeof(k->journal));
	path_of(k, "identity.pem.new", newp, sizeof(newp));
	path_of(k, "identity.pem", cur, sizeof(cur));
	a->keyop = k;
	r = journal_load(k);
	if (r == DPK_ERR_NOTFOUND) {
		unlink(newp); /* never named by a transaction */
		return 0;
	}
	if (r != 0) {
		snprintf(err, errsz, "%s is damaged: the agent will not guess whether a rotation or revocation was sent; "
		    "look at it (and at identity.pem.new) and move it away", k->journal);
		return r;
	}
	if (k->step == KEYOP_PREPARING || (k->step == KEYOP_FAILED && !k->has_tx)) {
		/* nothing was sent: the key in use stays */
		if (k->step == KEYOP_PREPARING) {
			unlink(newp);
			k->kind = KEYOP_NONE;
			k->step = KEYOP_IDLE;
			unlink(k->journal);
			agent_log(LOG_WARNING, "a key rotation stopped before its transaction was sent: the old key stays in use");
		}
		return 0;
	}
	if (k->step != KEYOP_SENT && k->step != KEYOP_CONFIRMING)
		return 0; /* done, failed or revoked: reported as it is */
	if ((r = take_config(a, k)) != 0) {
		snprintf(err, errsz, "cannot resume the %s in %s: %s", k->kind == KEYOP_REVOKE ? "revocation" : "rotation",
		    k->journal, dpk_strerror(r));
		return r;
	}
	if (k->kind == KEYOP_ROTATE) {
		/* the new key: not yet in place, or already (a crash after the rename) */
		if ((r = dpk_idkey_load(newp, &k->new_key)) == DPK_ERR_NOTFOUND) {
			if (k->old_pub.len == k->new_pub.len && memcmp(k->old_pub.data, k->new_pub.data, k->new_pub.len) == 0)
				k->swapped = 1, r = 0; /* identity.pem is the new key */
		}
		if (r != 0) {
			snprintf(err, errsz, "%s says a rotation was sent, but neither %s nor %s holds its new key: move "
			    "the journal away only once you know which key the chain has", k->journal, newp, cur);
			return DPK_ERR_STATE;
		}
		if (k->step == KEYOP_CONFIRMING && k->new_key != NULL) {
			snprintf(err, errsz, "%s says the new key is in place, but %s still exists", k->journal, newp);
			return DPK_ERR_STATE;
		}
	}
	agent_log(LOG_NOTICE, "resuming the %s of this host's identity (%s)",
	    k->kind == KEYOP_REVOKE ? "revocation" : "rotation", agent_keyop_step_name(k->step));
	return start_thread(k, k->swapped || k->step == KEYOP_CONFIRMING);
}

void
agent_keyop_stop(struct agent *a)
{
	struct agent_keyop *k = a->keyop;

	if (k == NULL)
		return;
	k->stop = 1;
	if (k->have_thread)
		pthread_join(k->thread, NULL);
	keyop_free(k);
	a->keyop = NULL;
}

int
agent_keyop_revoked(const struct agent *a)
{
	struct agent_keyop *k = a->keyop;
	int revoked;

	if (k == NULL)
		return 0;
	pthread_mutex_lock(&k->mu);
	revoked = k->step == KEYOP_REVOKED;
	pthread_mutex_unlock(&k->mu);
	return revoked;
}

int64_t
agent_keyop_timers(struct agent *a, int64_t now)
{
	struct agent_keyop *k = a->keyop;
	struct dpk_idkey *old = NULL, **grown;
	int64_t next = INT64_MAX;

	if (k == NULL)
		return INT64_MAX;
	pthread_mutex_lock(&k->mu);
	if (k->swap_wanted && !k->swapped && k->new_key != NULL &&
	    (grown = realloc(k->retired, (k->n_retired + 1) * sizeof(*grown))) != NULL) {
		k->retired = grown;
		old = a->idkey;
		a->idkey = k->new_key;
		k->new_key = NULL;
		k->retired[k->n_retired++] = old; /* freed at exit: a handshake under way may hold it */
		k->swapped = 1;
	}
	if (k->step == KEYOP_PREPARING || k->step == KEYOP_SENT || k->step == KEYOP_CONFIRMING)
		next = now + 100;
	pthread_mutex_unlock(&k->mu);
	if (old != NULL) {
		/* our own record changed: what was derived from it goes */
		cache_drop(&a->cache, k->id_hash);
		if (a->on_record_changed != NULL)
			a->on_record_changed(a, k->id_hash);
		agent_log(LOG_NOTICE, "this host now uses its new identity key");
	}
	return next;
}

/* ROTATE: u8 start, u8 algorithm (0 the same as now, 1 ECDSA P-256, 2 RSA).
 * REVOKE: u8 start, string identity (the one the operator confirmed: it
 * must be this host's). Both reply: u8 operation, u8 step, string step
 * name, string detail, string identity, u8 algorithm in use, u64 elapsed ms. */
void
agent_keyop_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len)
{
	struct agent_keyop *k = a->keyop;
	const char *what = type == DPK_MSG_ROTATE ? "ROTATE" : "REVOKE", *idtext = a->cfg.identity;
	struct dpk_wire_r rd;
	struct dpk_wire_w w;
	uint8_t start, alg = 0;
	char detail[sizeof(k->detail)];
	enum keyop_step step;
	enum keyop_kind kind;

	const uint8_t *confirmed = NULL;
	size_t n = 0;

	dpk_wire_r_init(&rd, body, len);
	start = dpk_wire_get_u8(&rd);
	if (type == DPK_MSG_ROTATE)
		alg = dpk_wire_get_u8(&rd);
	else
		confirmed = dpk_wire_get_string(&rd, &n);
	if (dpk_wire_r_done(&rd) != 0 || start > 1 || alg > DPK_IDKEY_RSA) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed %s request (expected u8 start 0/1, then %s)", what,
		    type == DPK_MSG_ROTATE ? "u8 algorithm 0/1/2" : "the identity as a string");
		return;
	}
	if (c->uid != 0) {
		agent_reply_failure(c, DPK_ERR_PERM, "%s of this host's identity is for root only (you are uid %ld)",
		    type == DPK_MSG_ROTATE ? "rotation" : "revocation", (long)c->uid);
		return;
	}
	/* the operator confirmed an identity: it must be the one revoked */
	if (type == DPK_MSG_REVOKE && start == 1 &&
	    (idtext == NULL || n != strlen(idtext) || (n > 0 && memcmp(confirmed, idtext, n) != 0))) {
		agent_reply_failure(c, DPK_ERR_INVALID, "REVOKE names '%.*s', but this host's identity is '%s': "
		    "nothing revoked", (int)(n > 255 ? 255 : n), n ? (const char *)confirmed : "", idtext ? idtext : "(none)");
		return;
	}
	if (k == NULL) {
		agent_reply_failure(c, DPK_ERR_STATE, "key operations are not set up in this agent");
		return;
	}
	pthread_mutex_lock(&k->mu);
	step = k->step;
	kind = k->kind;
	pthread_mutex_unlock(&k->mu);
	if (start) {
		enum keyop_kind want = type == DPK_MSG_ROTATE ? KEYOP_ROTATE : KEYOP_REVOKE;
		int busy = step == KEYOP_PREPARING || step == KEYOP_SENT || step == KEYOP_CONFIRMING;

		if (busy && kind != want) {
			agent_reply_failure(c, DPK_ERR_BUSY, "a %s is under way (%s): wait for it to finish",
			    kind == KEYOP_ROTATE ? "rotation" : "revocation", agent_keyop_step_name(step));
			return;
		}
		if (step == KEYOP_REVOKED && want == KEYOP_ROTATE) {
			agent_reply_failure(c, DPK_ERR_REVOKED, "this host's identity is revoked: there is no key to rotate");
			return;
		}
		if (!busy && step != KEYOP_REVOKED) {
			if (idtext == NULL) {
				agent_reply_failure(c, DPK_ERR_INVALID, "dpk.conf names no 'identity' for this host");
				return;
			}
			join_thread(k); /* a finished operation's */
			if (take_config(a, k) != 0) {
				agent_reply_failure(c, DPK_ERR_INVALID, "cannot start: the identity '%s' or the key in use is "
				    "unusable", idtext);
				return;
			}
			k->kind = want;
			k->step = KEYOP_PREPARING;
			k->has_tx = 0;
			k->mined_block = 0;
			k->new_alg = alg != 0 ? alg : (uint8_t)dpk_idkey_alg(a->idkey);
			dpk_idkey_free(k->new_key);
			k->new_key = NULL;
			snprintf(k->detail, sizeof(k->detail), "starting");
			dpk_buf_reset(&k->new_pub);
			if (start_thread(k, 0) != 0) {
				k->step = KEYOP_FAILED;
				agent_reply_failure(c, DPK_ERR_NOMEM, "cannot start the %s", what);
				return;
			}
			agent_log(LOG_NOTICE, "%s of this host's identity %s asked by root", type == DPK_MSG_ROTATE ?
			    "rotation" : "revocation", idtext);
		}
	}
	pthread_mutex_lock(&k->mu);
	step = k->step;
	kind = k->kind;
	memcpy(detail, k->detail, sizeof(detail));
	pthread_mutex_unlock(&k->mu);
	int64_t elapsed = k->started_ms ? agent_now_ms() - k->started_ms : 0;

	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, (uint8_t)kind);
	dpk_wire_put_u8(&w, (uint8_t)step);
	dpk_wire_put_string(&w, agent_keyop_step_name(step), strlen(agent_keyop_step_name(step)));
	dpk_wire_put_string(&w, detail, strlen(detail));
	dpk_wire_put_string(&w, idtext ? idtext : "", idtext ? strlen(idtext) : 0);
	dpk_wire_put_u8(&w, (uint8_t)dpk_idkey_alg(a->idkey));
	dpk_wire_put_u64(&w, elapsed < 0 ? 0 : (uint64_t)elapsed);
	agent_reply_end(c, type, &w);
}
