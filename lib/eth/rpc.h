/* Ethereum JSON-RPC 2.0 client over HTTP(S) (libcurl + cJSON).
 *
 * One struct dpk_rpc holds one curl handle (connections are reused) and a
 * list of endpoints. A transport failure, a timeout, HTTP 5xx or HTTP 429 on
 * one endpoint moves on to the next; so does a bad answer (a body over the
 * cap, unparsable, the wrong id or shape), which also puts that endpoint in
 * back-off: it is asked only after all the others, until backoff_ms have
 * passed. A JSON-RPC error or a revert is an answer and does not fail over.
 * A caller that finds an answer wrong at a higher level (a proof that does
 * not verify, another chain) benches the endpoint with dpk_rpc_mark_bad().
 * The endpoint that last answered is tried first next time. Every response passes through dpk_rpc_parse_response(): bounded,
 * no NUL bytes, no trailing bytes, matching "jsonrpc" and "id".
 *
 * After any failure dpk_rpc_last_error() holds one line naming the endpoint
 * (scheme, host and port only: paths and queries often carry API keys), the
 * method and what went wrong; text from the node is escaped so that it
 * cannot carry terminal control sequences.
 *
 * A struct dpk_rpc is not thread-safe: use one per thread. Programs should
 * call curl_global_init() once before starting threads. */
#ifndef DPK_RPC_H
#define DPK_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "eth/u256.h"

struct dpk_rpc;

struct dpk_rpc_opts {
	long connect_timeout_ms; /* per endpoint; 0: 2000 */
	long timeout_ms;         /* whole request per endpoint; 0: 10000 */
	size_t max_response;     /* cap on a response body; 0: 4 MiB */
	uint64_t backoff_ms;     /* how long a bad endpoint is asked last; 0: 30000 */
};

/* Block parameters: a block number, or one of these tags. */
#define DPK_RPC_LATEST UINT64_MAX
#define DPK_RPC_PENDING (UINT64_MAX - 1)
#define DPK_RPC_EARLIEST (UINT64_MAX - 2)
/* The block reads are made at: the depth set with dpk_rpc_set_depth()
 * (latest until one is set). Accepted by dpk_rpc_call(), dpk_rpc_nonce() and
 * dpk_rpc_balance(). */
#define DPK_RPC_SETTLED (UINT64_MAX - 3)

/* How deep a block must be before what it holds counts: confirmations
 * blocks below the head, or the node's "safe" or "finalized" block. */
enum dpk_rpc_depth_kind {
	DPK_RPC_DEPTH_BLOCKS = 0,
	DPK_RPC_DEPTH_SAFE = 1,
	DPK_RPC_DEPTH_FINALIZED = 2,
};
struct dpk_rpc_depth {
	enum dpk_rpc_depth_kind kind;
	uint32_t confirmations; /* DPK_RPC_DEPTH_BLOCKS: 0 is the latest block */
};
/* Reads at DPK_RPC_SETTLED and dpk_rpc_wait_receipt() follow d from now on. */
void dpk_rpc_set_depth(struct dpk_rpc *rpc, const struct dpk_rpc_depth *d);
/* The number of the settled block: latest minus confirmations, or the
 * node's safe/finalized block. DPK_ERR_STATE (with a sentence in
 * dpk_rpc_last_error) when the chain is shorter than confirmations or the
 * node has no such block. */
int dpk_rpc_settled_block(struct dpk_rpc *rpc, uint64_t *number);

/* Create a client for nurls (1..16) endpoint URLs (http:// or https://),
 * copied. opts may be NULL for the defaults. *out is freed with dpk_rpc_free().
 * DPK_ERR_INVALID on a bad URL or count, DPK_ERR_NOMEM. */
int dpk_rpc_new(struct dpk_rpc **out, const char *const *urls, size_t nurls,
    const struct dpk_rpc_opts *opts);
void dpk_rpc_free(struct dpk_rpc *rpc);

/* The sentence describing the last failure ("" if the last call succeeded);
 * valid until the next call on rpc. */
const char *dpk_rpc_last_error(const struct dpk_rpc *rpc);
/* A caller's own refusal of what a method would do, in dpk_rpc_last_error()'s
 * form ("endpoint: method: refused here: why"), for checks the node should
 * have made and did not. */
void dpk_rpc_refuse(struct dpk_rpc *rpc, const char *method, const char *why);
/* After DPK_ERR_RPC or DPK_ERR_REVERT: the node's error code and message
 * (escaped, possibly truncated). */
long long dpk_rpc_error_code(const struct dpk_rpc *rpc);
const char *dpk_rpc_error_message(const struct dpk_rpc *rpc);
/* After DPK_ERR_REVERT: the raw revert data (error.data), for lib/abi to
 * decode. *len is 0 when the node sent none. Valid until the next call. */
const uint8_t *dpk_rpc_revert_data(const struct dpk_rpc *rpc, size_t *len);
/* Display form (scheme://host:port) of the endpoint that answered last. */
const char *dpk_rpc_endpoint(const struct dpk_rpc *rpc);
/* The endpoint that answered last gave an answer the caller proved wrong:
 * bench it (back-off) and ask the next one first. */
void dpk_rpc_mark_bad(struct dpk_rpc *rpc);
/* Endpoints, for status reports: display form, milliseconds of back-off
 * left (0: in service) and bad answers so far. DPK_ERR_INVALID for i out of
 * range; NULL outputs are skipped. */
size_t dpk_rpc_endpoint_count(const struct dpk_rpc *rpc);
/* Never ask endpoint i (disabled 1: e.g. it is on another chain) or ask it
 * again (0). With every endpoint disabled a call fails with DPK_ERR_STATE.
 * 0, or DPK_ERR_INVALID for i out of range. */
int dpk_rpc_endpoint_disable(struct dpk_rpc *rpc, size_t i, int disabled);
int dpk_rpc_endpoint_state(const struct dpk_rpc *rpc, size_t i, const char **display,
    uint64_t *benched_ms, unsigned *bad_count);

/* Each call below returns 0 or a negative dpk_err: DPK_ERR_NET (transport,
 * HTTP status), DPK_ERR_TIMEOUT, DPK_ERR_TOOBIG (response over the cap),
 * DPK_ERR_SYNTAX / DPK_ERR_TRUNCATED / DPK_ERR_TRAILING / DPK_ERR_TYPE /
 * DPK_ERR_RANGE (malformed response), DPK_ERR_RPC, DPK_ERR_REVERT. Outputs
 * are written only on success. */

int dpk_rpc_chain_id(struct dpk_rpc *rpc, uint64_t *chain_id);
int dpk_rpc_block_number(struct dpk_rpc *rpc, uint64_t *number);
/* eth_getTransactionCount at block (DPK_RPC_PENDING for the next nonce to use). */
int dpk_rpc_nonce(struct dpk_rpc *rpc, const uint8_t addr[20], uint64_t block, uint64_t *nonce);
int dpk_rpc_balance(struct dpk_rpc *rpc, const uint8_t addr[20], uint64_t block,
    struct dpk_u256 *wei);

/* A message for eth_call / eth_estimateGas. NULL members are left out. */
struct dpk_rpc_callmsg {
	const uint8_t *from;          /* [20] or NULL */
	const uint8_t *to;            /* [20] or NULL (contract creation) */
	const struct dpk_u256 *value; /* or NULL */
	const uint8_t *data;          /* not owned */
	size_t data_len;
};

int dpk_rpc_estimate_gas(struct dpk_rpc *rpc, const struct dpk_rpc_callmsg *msg, uint64_t *gas);
/* eth_call at block; the returned bytes are appended to out (its max applies:
 * DPK_ERR_TOOBIG). A revert gives DPK_ERR_REVERT with dpk_rpc_revert_data(). */
int dpk_rpc_call(struct dpk_rpc *rpc, const struct dpk_rpc_callmsg *msg, uint64_t block,
    struct dpk_buf *out);

struct dpk_rpc_fees {
	struct dpk_u256 base_fee;     /* baseFeePerGas of the latest block */
	struct dpk_u256 priority_fee; /* suggested tip */
	struct dpk_u256 max_fee;      /* 2 * base_fee + priority_fee */
};

/* EIP-1559 fee suggestion. The tip comes from eth_maxPriorityFeePerGas; if
 * the node does not know that method (a JSON-RPC error), from eth_gasPrice
 * minus the base fee, and 1 gwei if that is not positive.
 * DPK_ERR_UNSUPPORTED if the latest block has no base fee (pre-London chain). */
int dpk_rpc_fee_data(struct dpk_rpc *rpc, struct dpk_rpc_fees *out);

/* eth_sendRawTransaction; the node's transaction hash is written to txhash. */
int dpk_rpc_send_raw(struct dpk_rpc *rpc, const uint8_t *raw, size_t len, uint8_t txhash[32]);

struct dpk_rpc_log {
	uint8_t address[20];
	uint8_t topics[4][32];
	size_t ntopics;
	uint8_t *data; /* owned (NULL when data_len is 0) */
	size_t data_len;
	int has_block;  /* 0 for a pending log */
	uint64_t block_number;
	uint8_t tx_hash[32];
	uint64_t log_index;
	int removed; /* dropped by a reorg */
};

/* Free an array of logs returned by this module (NULL is fine). */
void dpk_rpc_logs_free(struct dpk_rpc_log *logs, size_t n);

struct dpk_rpc_receipt {
	int status; /* 1 success, 0 reverted, -1 not reported (pre-Byzantium) */
	uint8_t tx_hash[32];
	uint8_t block_hash[32];
	uint64_t block_number;
	uint64_t gas_used;
	struct dpk_u256 effective_gas_price; /* zero if the node did not report it */
	int has_contract_address;
	uint8_t contract_address[20];
	struct dpk_rpc_log *logs; /* owned: dpk_rpc_receipt_free() */
	size_t nlogs;
};

void dpk_rpc_receipt_free(struct dpk_rpc_receipt *r);

/* eth_getTransactionReceipt. DPK_ERR_NOTFOUND while the transaction is not
 * mined (or unknown); *out is then untouched. On success the caller frees
 * *out with dpk_rpc_receipt_free(). */
int dpk_rpc_receipt(struct dpk_rpc *rpc, const uint8_t txhash[32], struct dpk_rpc_receipt *out);

/* Called on each poll of dpk_rpc_wait_receipt(): blocks mined since the wait
 * began and milliseconds elapsed. */
typedef void (*dpk_rpc_progress_fn)(void *ctx, uint64_t blocks_seen, uint64_t elapsed_ms);

/* Poll for the receipt every poll_ms (0: 500) until timeout_ms. Transport
 * failures and timeouts while polling are retried until the deadline; other
 * errors end the wait. With a depth set (dpk_rpc_set_depth), the receipt
 * counts only once its block is settled; a receipt that a reorg drops is
 * waited for again. DPK_ERR_TIMEOUT if not mined (or not deep enough) in
 * time. progress may be NULL. The caller frees *out with dpk_rpc_receipt_free(). */
int dpk_rpc_wait_receipt(struct dpk_rpc *rpc, const uint8_t txhash[32], uint64_t timeout_ms,
    uint64_t poll_ms, dpk_rpc_progress_fn progress, void *ctx, struct dpk_rpc_receipt *out);

struct dpk_rpc_filter {
	const uint8_t *address; /* [20] or NULL for any contract */
	uint64_t from_block, to_block;
	const uint8_t *topics[4]; /* [32] each; NULL matches anything */
	size_t ntopics;           /* 0..4 */
};

/* eth_getLogs. On success *logs (caller frees with dpk_rpc_logs_free()) and *n. */
int dpk_rpc_get_logs(struct dpk_rpc *rpc, const struct dpk_rpc_filter *f,
    struct dpk_rpc_log **logs, size_t *n);

/* Any other method. params (a JSON array, or NULL for []) is borrowed. On
 * success *result is the "result" value, detached: the caller cJSON_Delete()s it. */
int dpk_rpc_request(struct dpk_rpc *rpc, const char *method, cJSON *params, cJSON **result);

/* What the node said, for dpk_rpc_parse_response(). */
struct dpk_rpc_error {
	long long code;
	char message[256]; /* escaped, NUL-terminated, possibly truncated */
	struct dpk_buf data; /* error.data bytes when it is hex; caller inits and frees */
};

/* Parse one JSON-RPC 2.0 response body of len bytes (untrusted; need not be
 * NUL-terminated) sent in answer to request id want_id.
 * On 0, *root is the parsed document (caller cJSON_Delete()s it) and *result
 * points into it. On DPK_ERR_RPC / DPK_ERR_REVERT err is filled (error.data,
 * when it is 0x-hex that fits err->data's max, is decoded into err->data,
 * which is otherwise left empty) and *root is NULL. Other errors: DPK_ERR_SYNTAX (not JSON, NUL byte, \u0000 escape),
 * DPK_ERR_TRUNCATED (ends inside the document), DPK_ERR_TRAILING (bytes after
 * it), DPK_ERR_DEPTH (nested deeper than 64), DPK_ERR_TYPE (not an object,
 * "jsonrpc" not "2.0", wrong or missing id, neither or both of result and
 * error, malformed error object). */
int dpk_rpc_parse_response(const uint8_t *body, size_t len, uint64_t want_id,
    cJSON **root, const cJSON **result, struct dpk_rpc_error *err);

/* Decode a "result" already parsed by dpk_rpc_parse_response() as a receipt
 * or as a list of logs (the decoders behind dpk_rpc_receipt() and
 * dpk_rpc_get_logs()). Same outputs and ownership as those. */
int dpk_rpc_receipt_from_json(const cJSON *res, struct dpk_rpc_receipt *out);
int dpk_rpc_logs_from_json(const cJSON *res, struct dpk_rpc_log **logs, size_t *n);

/* Copy untrusted text into out (outsz > 0), NUL-terminated, with every byte
 * outside printable ASCII and every backslash written as \xNN / \\, truncated
 * with "..." if it does not fit. */
void dpk_rpc_escape(const char *in, size_t inlen, char *out, size_t outsz);

#endif
