/* C bindings of the DPK registry contract (contracts/DPK.sol). All ABI work
 * goes through lib/abi: the signatures below are the only place that knows
 * the contract's interface, and tests/unit/registry/test_registry_codec.c checks them
 * against the ABI compiled from DPK.sol and against cast. */
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

#include "eth/abi.h"
#include "../../contracts/dpk_contract.h"
#include "base/err.h"
#include "eth/keccak.h"
#include "eth/txsend.h"

/* Return data of the views are small (a key of at most 2048 bytes plus a few
 * words); anything much larger is not the contract answering. */
#define CALL_MAX (64u * 1024)
#define RESULT_FLAGS (DPK_ABI_STRICT | DPK_ABI_NO_TRAILING)

/* The custom errors of DPK.sol, in declaration order: one list, from which
 * both the signatures (for the decoder) and the names are made. */
#define REGISTRY_ERRORS(X)                                                                                   \
	X(NotOwner, "address")                                                                               \
	X(NotPendingOwner, "address")                                                                        \
	X(NotApprover, "address")                                                                            \
	X(ZeroAddress, "")                                                                                   \
	X(AlreadyApprover, "address")                                                                        \
	X(UnknownApprover, "address")                                                                        \
	X(BadPKMKeyLength, "uint256")                                                                        \
	X(PKMKeyNotSet, "address")                                                                           \
	X(NonCanonicalIdentity, "uint8,bytes")                                                               \
	X(UnknownAlgorithm, "uint8")                                                                         \
	X(BadKeyLength, "uint8,uint256")                                                                     \
	X(NotOnCurve, "bytes32")                                                                             \
	X(EmptyTokenHash, "")                                                                                \
	X(TokenAlreadyUsed, "bytes32")                                                                       \
	X(NoPendingRecord, "address")                                                                        \
	X(RecordChanged, "address,bytes32,bytes32")                                                          \
	X(IdentityTaken, "bytes32,address")                                                                  \
	X(NotFound, "bytes32")                                                                               \
	X(IdentityRevoked, "bytes32")                                                                        \
	X(NotController, "bytes32,address")                                                                  \
	X(NotControllerOrApprover, "bytes32,address")                                                        \
	X(NotRecordApprover, "bytes32,address,address")                                                      \
	X(SignatureExpired, "uint64,uint256")                                                                \
	X(InvalidSignature, "")                                                                              \
	X(SignerNotApprover, "address")                                                                      \
	X(NonceUsed, "address,uint256")                                                                      \
	X(SignerNotController, "address,address")                                                            \
	X(StaleNonce, "bytes32,uint256,uint32")

#define ERROR_SIG(name, args) #name "(" args ")",
#define ERROR_NAME(name, args) #name,
static const char *const error_sigs[] = {REGISTRY_ERRORS(ERROR_SIG)};
static const char *const error_names[] = {REGISTRY_ERRORS(ERROR_NAME)};
#define NERRORS (sizeof(error_sigs) / sizeof(error_sigs[0]))

static const struct {
	enum dpk_registry_event_kind kind;
	const char *sig;
} events[] = {
	{DPK_REGISTRY_EV_CLIENT_ADDED,
	    "ClientAdded(bytes32 indexed,address indexed,bytes32,uint8,bytes,uint8,bytes,bytes32)"},
	{DPK_REGISTRY_EV_CLIENT_APPROVED,
	    "ClientApproved(bytes32 indexed,address indexed,address indexed,uint8,bytes,uint32)"},
	{DPK_REGISTRY_EV_KEY_ROTATED, "KeyRotated(bytes32 indexed,address indexed,uint8,bytes,uint32)"},
	{DPK_REGISTRY_EV_CLIENT_REVOKED, "ClientRevoked(bytes32 indexed,address indexed,uint32)"},
	{DPK_REGISTRY_EV_APPROVER_ADDED, "ApproverAdded(address indexed)"},
	{DPK_REGISTRY_EV_APPROVER_REMOVED, "ApproverRemoved(address indexed)"},
	{DPK_REGISTRY_EV_PKM_KEY_STORED, "PKMKeyStored(address indexed,bytes)"},
	{DPK_REGISTRY_EV_OWNERSHIP_TRANSFER_STARTED, "OwnershipTransferStarted(address indexed,address indexed)"},
	{DPK_REGISTRY_EV_OWNERSHIP_TRANSFERRED, "OwnershipTransferred(address indexed,address indexed)"},
};
#define NEVENTS (sizeof(events) / sizeof(events[0]))

#define RECORD_TYPE "(bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)"
#define PENDING_TYPE "(bytes32,uint8,bytes,bytes32,bytes32)"

static const uint8_t empty[1];

/* The contract refuses non-canonical identities; refusing them here saves a
 * round trip and keeps id->len (a uint8) within value[]. */
static int
check_identity(const struct dpk_identity *id)
{
	if (id == NULL)
		return DPK_ERR_INVALID;
	if (id->len > DPK_IDENTITY_VALUE_MAX)
		return DPK_ERR_NONCANONICAL;
	return dpk_identity_from_bytes(id->kind, id->value, id->len, NULL);
}

static struct dpk_abi_value
bytes_arg(const uint8_t *p, size_t n)
{
	return dpk_abi_bytes(p != NULL ? p : empty, n);
}

/* Append abi.encode of items as the tuple type text. */
static int
encode_tuple(const char *type, const struct dpk_abi_value *items, size_t n, struct dpk_buf *out)
{
	struct dpk_abi_type *t = NULL;
	struct dpk_abi_value v = dpk_abi_tuple(items, n);
	int r;

	if ((r = dpk_abi_type_parse(type, strlen(type), &t)) != 0)
		return r;
	r = dpk_abi_encode(t, &v, out);
	dpk_abi_type_free(t);
	return r;
}

/* Decode data as type strictly and insist it is the one canonical encoding:
 * lib/abi accepts any in-bounds offsets (overlapping, out of order), which
 * the contract never produces; re-encoding shows them up. */
static int
decode_exact(const char *type, const uint8_t *data, size_t len, struct dpk_abi_value **out)
{
	struct dpk_abi_type *t = NULL;
	struct dpk_buf b;
	int r;

	*out = NULL;
	dpk_buf_init(&b, len);
	if ((r = dpk_abi_type_parse(type, strlen(type), &t)) != 0)
		goto out;
	if ((r = dpk_abi_decode(t, data != NULL ? data : empty, len, RESULT_FLAGS, out)) != 0)
		goto out;
	r = dpk_abi_encode(t, *out, &b);
	if (r == DPK_ERR_TOOBIG || (r == 0 && (b.len != len || (len > 0 && memcmp(b.data, data, len) != 0))))
		r = DPK_ERR_NONCANONICAL;
out:
	if (r != 0) {
		dpk_abi_value_free(*out);
		*out = NULL;
	}
	dpk_abi_type_free(t);
	dpk_buf_free(&b);
	return r;
}

/* keccak256(abi.encode(items)) */
static int
hash_tuple(const char *type, const struct dpk_abi_value *items, size_t n, uint8_t out[32])
{
	struct dpk_buf b;
	int r;

	dpk_buf_init(&b, 32 * 16);
	if ((r = encode_tuple(type, items, n, &b)) == 0)
		dpk_keccak256(b.data, b.len, out);
	dpk_buf_free(&b);
	return r;
}

static int
str_hash(const char *s, uint8_t out[32])
{
	dpk_keccak256(s, strlen(s), out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* calldata */

int
dpk_registry_encode_add_client(struct dpk_buf *out, const struct dpk_identity *id, uint8_t alg,
    const uint8_t *pub, size_t publen, const uint8_t token_hash[32])
{
	struct dpk_abi_value a[5];
	int r;

	if (out == NULL || token_hash == NULL || (pub == NULL && publen > 0))
		return DPK_ERR_INVALID;
	if ((r = check_identity(id)) != 0)
		return r;
	a[0] = dpk_abi_uint64(id->kind);
	a[1] = bytes_arg(id->value, id->len);
	a[2] = dpk_abi_uint64(alg);
	a[3] = bytes_arg(pub, publen);
	a[4] = dpk_abi_fixed_bytes(token_hash, 32);
	return dpk_abi_encode_call("addClient(uint8,bytes,uint8,bytes,bytes32)", a, 5, out);
}

int
dpk_registry_encode_approve_client(struct dpk_buf *out, const uint8_t client[20], const uint8_t record_hash[32])
{
	struct dpk_abi_value a[2];

	if (out == NULL || client == NULL || record_hash == NULL)
		return DPK_ERR_INVALID;
	a[0] = dpk_abi_address(client);
	a[1] = dpk_abi_fixed_bytes(record_hash, 32);
	return dpk_abi_encode_call("approveClient(address,bytes32)", a, 2, out);
}

/* register (controller NULL: the sender is the controller) or registerRelayed */
static int
encode_registration(struct dpk_buf *out, const struct dpk_identity *id, uint8_t alg, const uint8_t *pub,
    size_t publen, const uint8_t *controller, uint64_t expiry, const struct dpk_u256 *nonce, const uint8_t sig[65])
{
	struct dpk_abi_value a[8];
	size_t n = 0;
	int r;

	if (out == NULL || nonce == NULL || sig == NULL || (pub == NULL && publen > 0))
		return DPK_ERR_INVALID;
	if ((r = check_identity(id)) != 0)
		return r;
	a[n++] = dpk_abi_uint64(id->kind);
	a[n++] = bytes_arg(id->value, id->len);
	a[n++] = dpk_abi_uint64(alg);
	a[n++] = bytes_arg(pub, publen);
	if (controller != NULL)
		a[n++] = dpk_abi_address(controller);
	a[n++] = dpk_abi_uint64(expiry);
	a[n++] = dpk_abi_uint256(nonce);
	a[n++] = dpk_abi_bytes(sig, 65);
	return dpk_abi_encode_call(controller == NULL ? "register(uint8,bytes,uint8,bytes,uint64,uint256,bytes)" :
	    "registerRelayed(uint8,bytes,uint8,bytes,address,uint64,uint256,bytes)", a, n, out);
}

int
dpk_registry_encode_register(struct dpk_buf *out, const struct dpk_identity *id, uint8_t alg,
    const uint8_t *pub, size_t publen, uint64_t expiry, const struct dpk_u256 *nonce, const uint8_t sig[65])
{
	return encode_registration(out, id, alg, pub, publen, NULL, expiry, nonce, sig);
}

int
dpk_registry_encode_register_relayed(struct dpk_buf *out, const struct dpk_identity *id, uint8_t alg,
    const uint8_t *pub, size_t publen, const uint8_t controller[20], uint64_t expiry, const struct dpk_u256 *nonce,
    const uint8_t sig[65])
{
	if (controller == NULL)
		return DPK_ERR_INVALID;
	return encode_registration(out, id, alg, pub, publen, controller, expiry, nonce, sig);
}

int
dpk_registry_encode_rotate(struct dpk_buf *out, const uint8_t id_hash[32], uint8_t alg, const uint8_t *pub,
    size_t publen)
{
	struct dpk_abi_value a[3];

	if (out == NULL || id_hash == NULL || (pub == NULL && publen > 0))
		return DPK_ERR_INVALID;
	a[0] = dpk_abi_fixed_bytes(id_hash, 32);
	a[1] = dpk_abi_uint64(alg);
	a[2] = bytes_arg(pub, publen);
	return dpk_abi_encode_call("rotate(bytes32,uint8,bytes)", a, 3, out);
}

int
dpk_registry_encode_revoke(struct dpk_buf *out, const uint8_t id_hash[32])
{
	struct dpk_abi_value a;

	if (out == NULL || id_hash == NULL)
		return DPK_ERR_INVALID;
	a = dpk_abi_fixed_bytes(id_hash, 32);
	return dpk_abi_encode_call("revoke(bytes32)", &a, 1, out);
}

static int
encode_address_call(struct dpk_buf *out, const char *sig, const uint8_t addr[20])
{
	struct dpk_abi_value a;

	if (out == NULL || addr == NULL)
		return DPK_ERR_INVALID;
	a = dpk_abi_address(addr);
	return dpk_abi_encode_call(sig, &a, 1, out);
}

int
dpk_registry_encode_add_approver(struct dpk_buf *out, const uint8_t approver[20])
{
	return encode_address_call(out, "addApprover(address)", approver);
}

int
dpk_registry_encode_remove_approver(struct dpk_buf *out, const uint8_t approver[20])
{
	return encode_address_call(out, "removeApprover(address)", approver);
}

int
dpk_registry_encode_transfer_ownership(struct dpk_buf *out, const uint8_t new_owner[20])
{
	return encode_address_call(out, "transferOwnership(address)", new_owner);
}

int
dpk_registry_encode_accept_ownership(struct dpk_buf *out)
{
	if (out == NULL)
		return DPK_ERR_INVALID;
	return dpk_abi_encode_call("acceptOwnership()", NULL, 0, out);
}

int
dpk_registry_encode_store_pkm_key(struct dpk_buf *out, const uint8_t *key, size_t keylen)
{
	struct dpk_abi_value a;

	if (out == NULL || (key == NULL && keylen > 0))
		return DPK_ERR_INVALID;
	a = bytes_arg(key, keylen);
	return dpk_abi_encode_call("storePKMKey(bytes)", &a, 1, out);
}

/* ------------------------------------------------------------------ */
/* hashes that must agree with the contract */

int
dpk_registry_record_hash(const uint8_t id_hash[32], uint8_t alg, const uint8_t *pub, size_t publen,
    const uint8_t token_hash[32], const uint8_t client[20], uint8_t out[32])
{
	struct dpk_abi_value a[5];
	uint8_t key_hash[32];
	int r;

	if (out == NULL)
		return DPK_ERR_INVALID;
	memset(out, 0, 32);
	if (id_hash == NULL || token_hash == NULL || client == NULL || (pub == NULL && publen > 0))
		return DPK_ERR_INVALID;
	dpk_keccak256(pub != NULL ? pub : empty, publen, key_hash);
	a[0] = dpk_abi_fixed_bytes(id_hash, 32);
	a[1] = dpk_abi_uint64(alg);
	a[2] = dpk_abi_fixed_bytes(key_hash, 32);
	a[3] = dpk_abi_fixed_bytes(token_hash, 32);
	a[4] = dpk_abi_address(client);
	if ((r = hash_tuple("(bytes32,uint8,bytes32,bytes32,address)", a, 5, out)) != 0)
		memset(out, 0, 32);
	return r;
}

int
dpk_registry_domain_separator(uint64_t chain_id, const uint8_t contract[20], uint8_t out[32])
{
	struct dpk_abi_value a[5];
	uint8_t type_hash[32], name_hash[32], version_hash[32];
	int r;

	if (out == NULL)
		return DPK_ERR_INVALID;
	memset(out, 0, 32);
	if (contract == NULL)
		return DPK_ERR_INVALID;
	str_hash("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)", type_hash);
	str_hash("DPK", name_hash);
	str_hash("1", version_hash);
	a[0] = dpk_abi_fixed_bytes(type_hash, 32);
	a[1] = dpk_abi_fixed_bytes(name_hash, 32);
	a[2] = dpk_abi_fixed_bytes(version_hash, 32);
	a[3] = dpk_abi_uint64(chain_id);
	a[4] = dpk_abi_address(contract);
	if ((r = hash_tuple("(bytes32,bytes32,bytes32,uint256,address)", a, 5, out)) != 0)
		memset(out, 0, 32);
	return r;
}

/* EIP-712: keccak256("\x19\x01" || domainSeparator || hashStruct) */
static void
eip712_digest(const uint8_t domain[32], const uint8_t struct_hash[32], uint8_t digest[32])
{
	struct dpk_keccak k;

	dpk_keccak_init(&k);
	dpk_keccak_update(&k, "\x19\x01", 2);
	dpk_keccak_update(&k, domain, 32);
	dpk_keccak_update(&k, struct_hash, 32);
	dpk_keccak_final(&k, digest);
}

/* r || s || v with v = 27 + recid, as ecrecover takes it */
static int
sign_digest(const struct dpk_wallet *w, const uint8_t digest[32], uint8_t sig[65])
{
	int r;

	if ((r = dpk_wallet_sign(w, digest, sig)) != 0)
		goto out;
	/* ecrecover takes v in {27, 28} only (recid 2 and 3 cannot be expressed) */
	if (sig[64] > 1) {
		r = DPK_ERR_CRYPTO;
		goto out;
	}
	sig[64] = (uint8_t)(sig[64] + 27);
out:
	if (r != 0)
		memset(sig, 0, 65);
	return r;
}

/* The digest of a Registration (approver NULL) or a RelayedRegistration:
 * the same fields, the relayed one with the approver after the controller. */
static int
registration_digest(uint64_t chain_id, const uint8_t contract[20], const uint8_t id_hash[32], const uint8_t *pub,
    size_t publen, uint8_t alg, const uint8_t controller[20], const uint8_t *approver, uint64_t expiry,
    const struct dpk_u256 *nonce, uint8_t digest[32])
{
	struct dpk_abi_value a[8];
	uint8_t type_hash[32], key_hash[32], domain[32], struct_hash[32];
	size_t n = 0;
	int r;

	if (digest == NULL)
		return DPK_ERR_INVALID;
	memset(digest, 0, 32);
	if (id_hash == NULL || controller == NULL || nonce == NULL || (pub == NULL && publen > 0))
		return DPK_ERR_INVALID;
	if ((r = dpk_registry_domain_separator(chain_id, contract, domain)) != 0)
		return r;
	if (approver == NULL)
		str_hash("Registration(bytes32 identityHash,bytes32 keyHash,uint8 algorithm,address controller,"
			 "uint64 expiry,uint256 nonce)",
		    type_hash);
	else
		str_hash("RelayedRegistration(bytes32 identityHash,bytes32 keyHash,uint8 algorithm,address controller,"
			 "address approver,uint64 expiry,uint256 nonce)",
		    type_hash);
	dpk_keccak256(pub != NULL ? pub : empty, publen, key_hash);
	a[n++] = dpk_abi_fixed_bytes(type_hash, 32);
	a[n++] = dpk_abi_fixed_bytes(id_hash, 32);
	a[n++] = dpk_abi_fixed_bytes(key_hash, 32);
	a[n++] = dpk_abi_uint64(alg);
	a[n++] = dpk_abi_address(controller);
	if (approver != NULL)
		a[n++] = dpk_abi_address(approver);
	a[n++] = dpk_abi_uint64(expiry);
	a[n++] = dpk_abi_uint256(nonce);
	if ((r = hash_tuple(approver == NULL ? "(bytes32,bytes32,bytes32,uint8,address,uint64,uint256)" :
	    "(bytes32,bytes32,bytes32,uint8,address,address,uint64,uint256)", a, n, struct_hash)) != 0)
		return r;
	eip712_digest(domain, struct_hash, digest);
	return 0;
}

int
dpk_registry_registration_digest(uint64_t chain_id, const uint8_t contract[20], const uint8_t id_hash[32],
    const uint8_t *pub, size_t publen, uint8_t alg, const uint8_t controller[20], uint64_t expiry,
    const struct dpk_u256 *nonce, uint8_t digest[32])
{
	return registration_digest(chain_id, contract, id_hash, pub, publen, alg, controller, NULL, expiry, nonce, digest);
}

int
dpk_registry_relayed_digest(uint64_t chain_id, const uint8_t contract[20], const uint8_t id_hash[32],
    const uint8_t *pub, size_t publen, uint8_t alg, const uint8_t controller[20], const uint8_t approver[20],
    uint64_t expiry, const struct dpk_u256 *nonce, uint8_t digest[32])
{
	if (approver == NULL) {
		if (digest != NULL)
			memset(digest, 0, 32);
		return DPK_ERR_INVALID;
	}
	return registration_digest(chain_id, contract, id_hash, pub, publen, alg, controller, approver, expiry, nonce,
	    digest);
}

int
dpk_registry_sign_registration(const struct dpk_wallet *approver, uint64_t chain_id, const uint8_t contract[20],
    const uint8_t id_hash[32], const uint8_t *pub, size_t publen, uint8_t alg, const uint8_t controller[20],
    uint64_t expiry, const struct dpk_u256 *nonce, uint8_t sig[65])
{
	uint8_t digest[32];
	int r;

	if (sig == NULL)
		return DPK_ERR_INVALID;
	memset(sig, 0, 65);
	if (approver == NULL)
		return DPK_ERR_INVALID;
	if ((r = dpk_registry_registration_digest(chain_id, contract, id_hash, pub, publen, alg, controller, expiry,
		 nonce, digest)) != 0)
		return r;
	return sign_digest(approver, digest, sig);
}

int
dpk_registry_sign_relayed(const struct dpk_wallet *controller, uint64_t chain_id, const uint8_t contract[20],
    const uint8_t id_hash[32], const uint8_t *pub, size_t publen, uint8_t alg, const uint8_t approver[20],
    uint64_t expiry, const struct dpk_u256 *nonce, uint8_t sig[65])
{
	uint8_t digest[32];
	int r = controller == NULL ? DPK_ERR_INVALID :
	    dpk_registry_relayed_digest(chain_id, contract, id_hash, pub, publen, alg, controller->addr, approver,
	    expiry, nonce, digest);

	if (sig == NULL)
		return DPK_ERR_INVALID;
	if (r != 0) {
		memset(sig, 0, 65);
		return r;
	}
	return sign_digest(controller, digest, sig);
}

/* ------------------------------------------------------------------ */
/* results */

void
dpk_registry_record_free(struct dpk_registry_record *rec)
{
	if (rec == NULL)
		return;
	free(rec->pubkey);
	memset(rec, 0, sizeof(*rec));
}

void
dpk_registry_pending_free(struct dpk_registry_pending *p)
{
	if (p == NULL)
		return;
	free(p->pubkey);
	memset(p, 0, sizeof(*p));
}

/* A copy of a decoded key, bounded by what the contract can store. */
static int
copy_key(const struct dpk_abi_value *v, uint8_t **out, size_t *outlen)
{
	uint8_t *p;

	if (v->u.bytes.len > DPK_REGISTRY_KEY_MAX)
		return DPK_ERR_TOOBIG;
	if ((p = malloc(v->u.bytes.len > 0 ? v->u.bytes.len : 1)) == NULL)
		return DPK_ERR_NOMEM;
	if (v->u.bytes.len > 0)
		memcpy(p, v->u.bytes.p, v->u.bytes.len);
	*out = p;
	*outlen = v->u.bytes.len;
	return 0;
}

/* The decoder has already checked each value against its type, so the
 * getters below cannot fail on range; the status is the only extra rule. */
static uint64_t
item_u64(const struct dpk_abi_value *t, size_t i)
{
	uint64_t x = 0;

	(void)dpk_abi_value_u64(dpk_abi_value_at(t, i), &x);
	return x;
}

int
dpk_registry_decode_record(const uint8_t *data, size_t len, struct dpk_registry_record *rec)
{
	struct dpk_abi_value *v = NULL;
	uint64_t status;
	int r;

	if (rec == NULL)
		return DPK_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	if (data == NULL && len > 0)
		return DPK_ERR_INVALID;
	if ((r = decode_exact(RECORD_TYPE, data, len, &v)) != 0)
		goto out;
	status = item_u64(v, 3);
	if (status != DPK_REGISTRY_ACTIVE && status != DPK_REGISTRY_REVOKED) {
		/* Status.None is never returned: getClient reverts NotFound */
		r = DPK_ERR_RANGE;
		goto out;
	}
	if (item_u64(v, 8) == 0) {
		/* every record has a serial from its first approval on */
		r = DPK_ERR_RANGE;
		goto out;
	}
	if ((r = copy_key(dpk_abi_value_at(v, 0), &rec->pubkey, &rec->publen)) != 0)
		goto out;
	rec->alg = (uint8_t)item_u64(v, 1);
	memcpy(rec->controller, dpk_abi_value_at(v, 2)->u.addr, 20);
	rec->status = (enum dpk_registry_status)status;
	rec->version = (uint32_t)item_u64(v, 4);
	rec->valid_from = item_u64(v, 5);
	rec->valid_until = item_u64(v, 6);
	memcpy(rec->approver, dpk_abi_value_at(v, 7)->u.addr, 20);
	rec->serial = item_u64(v, 8);
out:
	dpk_abi_value_free(v);
	if (r != 0)
		dpk_registry_record_free(rec);
	return r;
}

int
dpk_registry_decode_pending(const uint8_t *data, size_t len, struct dpk_registry_pending *p)
{
	struct dpk_abi_value *v = NULL;
	static const uint8_t zero[32];
	int r;

	if (p == NULL)
		return DPK_ERR_INVALID;
	memset(p, 0, sizeof(*p));
	if (data == NULL && len > 0)
		return DPK_ERR_INVALID;
	if ((r = decode_exact(PENDING_TYPE, data, len, &v)) != 0)
		goto out;
	/* a zero record hash means "no request": the contract reverts instead */
	if (memcmp(dpk_abi_value_at(v, 4)->u.bytes.p, zero, 32) == 0) {
		r = DPK_ERR_RANGE;
		goto out;
	}
	if ((r = copy_key(dpk_abi_value_at(v, 2), &p->pubkey, &p->publen)) != 0)
		goto out;
	memcpy(p->id_hash, dpk_abi_value_at(v, 0)->u.bytes.p, 32);
	p->alg = (uint8_t)item_u64(v, 1);
	memcpy(p->token_hash, dpk_abi_value_at(v, 3)->u.bytes.p, 32);
	memcpy(p->record_hash, dpk_abi_value_at(v, 4)->u.bytes.p, 32);
out:
	dpk_abi_value_free(v);
	if (r != 0)
		dpk_registry_pending_free(p);
	return r;
}

/* ------------------------------------------------------------------ */
/* custom errors */

size_t
dpk_registry_error_count(void)
{
	return NERRORS;
}

const char *
dpk_registry_error_signature(size_t i)
{
	return i < NERRORS ? error_sigs[i] : NULL;
}

int
dpk_registry_revert_text(const uint8_t *data, size_t len, char *out, size_t outsz)
{
	return dpk_abi_decode_revert(data, len, error_sigs, NERRORS, out, outsz);
}

const char *
dpk_registry_error_name(const uint8_t *data, size_t len)
{
	uint8_t sel[4];

	if (data == NULL || len < 4)
		return NULL;
	for (size_t i = 0; i < NERRORS; i++) {
		if (dpk_abi_selector(error_sigs[i], sel) == 0 && memcmp(sel, data, 4) == 0)
			return error_names[i];
	}
	return NULL;
}

int
dpk_registry_last_revert(const struct dpk_rpc *rpc, char *out, size_t outsz)
{
	const uint8_t *data;
	size_t len = 0;

	if (rpc == NULL) {
		if (out != NULL && outsz > 0)
			out[0] = '\0';
		return DPK_ERR_INVALID;
	}
	data = dpk_rpc_revert_data(rpc, &len);
	return dpk_registry_revert_text(data, len, out, outsz);
}

/* ------------------------------------------------------------------ */
/* events */

void
dpk_registry_event_topic(enum dpk_registry_event_kind kind, uint8_t out[32])
{
	memset(out, 0, 32);
	for (size_t i = 0; i < NEVENTS; i++) {
		if (events[i].kind == kind) {
			if (dpk_abi_event_topic(events[i].sig, out) != 0)
				memset(out, 0, 32);
			return;
		}
	}
}

static const uint8_t *
item_bytes(const struct dpk_abi_value *t, size_t i)
{
	return dpk_abi_value_at(t, i)->u.bytes.p;
}

static const uint8_t *
item_addr(const struct dpk_abi_value *t, size_t i)
{
	return dpk_abi_value_at(t, i)->u.addr;
}

int
dpk_registry_decode_event(const struct dpk_rpc_log *log, struct dpk_registry_event *ev)
{
	struct dpk_abi_value *v = NULL;
	uint8_t topic[32];
	size_t k;
	int r;

	if (ev == NULL)
		return DPK_ERR_INVALID;
	memset(ev, 0, sizeof(*ev));
	if (log == NULL || log->ntopics > 4 || (log->data == NULL && log->data_len > 0))
		return DPK_ERR_INVALID;
	if (log->ntopics == 0)
		return DPK_ERR_NOTFOUND; /* anonymous: none of ours */
	for (k = 0; k < NEVENTS; k++) {
		if (dpk_abi_event_topic(events[k].sig, topic) == 0 && memcmp(topic, log->topics[0], 32) == 0)
			break;
	}
	if (k == NEVENTS)
		return DPK_ERR_NOTFOUND;
	if ((r = dpk_abi_decode_event(events[k].sig, (const uint8_t(*)[32])log->topics, log->ntopics,
		 log->data != NULL ? log->data : empty, log->data_len, RESULT_FLAGS, &v)) != 0)
		goto out;
	ev->kind = events[k].kind;
	switch (ev->kind) {
	case DPK_REGISTRY_EV_CLIENT_ADDED:
		/* (idHash, client, recordHash, kind, value, algorithm, publicKey, tokenHash) */
		memcpy(ev->id_hash, item_bytes(v, 0), 32);
		memcpy(ev->addr, item_addr(v, 1), 20);
		memcpy(ev->record_hash, item_bytes(v, 2), 32);
		ev->alg = (uint8_t)item_u64(v, 5);
		memcpy(ev->token_hash, item_bytes(v, 7), 32);
		break;
	case DPK_REGISTRY_EV_CLIENT_APPROVED:
		/* (idHash, controller, approver, algorithm, publicKey, version) */
		memcpy(ev->id_hash, item_bytes(v, 0), 32);
		memcpy(ev->addr, item_addr(v, 1), 20);
		memcpy(ev->addr2, item_addr(v, 2), 20);
		ev->alg = (uint8_t)item_u64(v, 3);
		ev->version = (uint32_t)item_u64(v, 5);
		break;
	case DPK_REGISTRY_EV_KEY_ROTATED:
		/* (idHash, controller, algorithm, publicKey, version) */
		memcpy(ev->id_hash, item_bytes(v, 0), 32);
		memcpy(ev->addr, item_addr(v, 1), 20);
		ev->alg = (uint8_t)item_u64(v, 2);
		ev->version = (uint32_t)item_u64(v, 4);
		break;
	case DPK_REGISTRY_EV_CLIENT_REVOKED:
		/* (idHash, by, version) */
		memcpy(ev->id_hash, item_bytes(v, 0), 32);
		memcpy(ev->addr2, item_addr(v, 1), 20);
		ev->version = (uint32_t)item_u64(v, 2);
		break;
	case DPK_REGISTRY_EV_APPROVER_ADDED:
	case DPK_REGISTRY_EV_APPROVER_REMOVED:
	case DPK_REGISTRY_EV_PKM_KEY_STORED:
		memcpy(ev->addr, item_addr(v, 0), 20);
		break;
	case DPK_REGISTRY_EV_OWNERSHIP_TRANSFER_STARTED:
	case DPK_REGISTRY_EV_OWNERSHIP_TRANSFERRED:
		memcpy(ev->addr, item_addr(v, 0), 20);
		memcpy(ev->addr2, item_addr(v, 1), 20);
		break;
	}
	ev->block_number = log->has_block ? log->block_number : 0;
out:
	dpk_abi_value_free(v);
	if (r != 0)
		memset(ev, 0, sizeof(*ev));
	return r;
}

int
dpk_registry_decode_contract_event(const uint8_t contract[20], const struct dpk_rpc_log *log,
    struct dpk_registry_event *ev)
{
	if (ev == NULL)
		return DPK_ERR_INVALID;
	memset(ev, 0, sizeof(*ev));
	if (contract == NULL || log == NULL)
		return DPK_ERR_INVALID;
	if (memcmp(log->address, contract, 20) != 0)
		return DPK_ERR_NOTFOUND;
	return dpk_registry_decode_event(log, ev);
}

/* ------------------------------------------------------------------ */
/* reads over JSON-RPC */

static int
view_call(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_buf *calldata, struct dpk_buf *ret)
{
	struct dpk_rpc_callmsg msg = {0};

	msg.to = contract;
	msg.data = calldata->data;
	msg.data_len = calldata->len;
	return dpk_rpc_call(rpc, &msg, DPK_RPC_SETTLED, ret); /* at the depth the caller set */
}

/* After DPK_ERR_REVERT: is the revert the contract's error called name? */
static int
reverted_with(const struct dpk_rpc *rpc, const char *name)
{
	const uint8_t *data;
	size_t len = 0;
	const char *got;

	data = dpk_rpc_revert_data(rpc, &len);
	got = dpk_registry_error_name(data, len);
	return got != NULL && strcmp(got, name) == 0;
}


/* view_call, with a revert carrying the custom error notfound (NULL: none)
 * turned into DPK_ERR_NOTFOUND. */
static int
view_call_notfound(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_buf *cd, struct dpk_buf *ret,
    const char *notfound)
{
	int r = view_call(rpc, contract, cd, ret);

	if (r == DPK_ERR_REVERT && notfound != NULL && reverted_with(rpc, notfound))
		r = DPK_ERR_NOTFOUND;
	return r;
}
int
dpk_registry_get_client_by_hash(struct dpk_rpc *rpc, const uint8_t contract[20], const uint8_t id_hash[32],
    struct dpk_registry_record *rec)
{
	struct dpk_buf cd, ret;
	struct dpk_abi_value a;
	int r;

	if (rec == NULL)
		return DPK_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	if (rpc == NULL || contract == NULL || id_hash == NULL)
		return DPK_ERR_INVALID;
	dpk_buf_init(&cd, 4 + 32);
	dpk_buf_init(&ret, CALL_MAX);
	a = dpk_abi_fixed_bytes(id_hash, 32);
	if ((r = dpk_abi_encode_call("getClientByHash(bytes32)", &a, 1, &cd)) != 0)
		goto out;
	if ((r = view_call_notfound(rpc, contract, &cd, &ret, "NotFound")) != 0)
		goto out;
	r = dpk_registry_decode_record(ret.data, ret.len, rec);
out:
	dpk_buf_free(&cd);
	dpk_buf_free(&ret);
	return r;
}

int
dpk_registry_get_client(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_identity *id,
    struct dpk_registry_record *rec)
{
	struct dpk_buf cd, ret;
	struct dpk_abi_value a[2];
	int r;

	if (rec == NULL)
		return DPK_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	if (rpc == NULL || contract == NULL)
		return DPK_ERR_INVALID;
	if ((r = check_identity(id)) != 0)
		return r;
	dpk_buf_init(&cd, 1024);
	dpk_buf_init(&ret, CALL_MAX);
	a[0] = dpk_abi_uint64(id->kind);
	a[1] = bytes_arg(id->value, id->len);
	if ((r = dpk_abi_encode_call("getClient(uint8,bytes)", a, 2, &cd)) != 0)
		goto out;
	if ((r = view_call_notfound(rpc, contract, &cd, &ret, "NotFound")) != 0)
		goto out;
	r = dpk_registry_decode_record(ret.data, ret.len, rec);
out:
	dpk_buf_free(&cd);
	dpk_buf_free(&ret);
	return r;
}

/* A view taking one address (or none, addr NULL): encode, call, decode the
 * result as rtype; a revert with the error notfound is DPK_ERR_NOTFOUND. */
static int
address_view(struct dpk_rpc *rpc, const uint8_t contract[20], const char *sig, const uint8_t addr[20],
    const char *rtype, const char *notfound, struct dpk_abi_value **v)
{
	struct dpk_buf cd, ret;
	struct dpk_abi_value a;
	int r;

	*v = NULL;
	if (rpc == NULL || contract == NULL)
		return DPK_ERR_INVALID;
	dpk_buf_init(&cd, 4 + 32);
	dpk_buf_init(&ret, CALL_MAX);
	if (addr != NULL) {
		a = dpk_abi_address(addr);
		r = dpk_abi_encode_call(sig, &a, 1, &cd);
	} else {
		r = dpk_abi_encode_call(sig, NULL, 0, &cd);
	}
	if (r != 0)
		goto out;
	if ((r = view_call_notfound(rpc, contract, &cd, &ret, notfound)) != 0)
		goto out;
	r = decode_exact(rtype, ret.data, ret.len, v);
out:
	dpk_buf_free(&cd);
	dpk_buf_free(&ret);
	return r;
}

int
dpk_registry_get_pending(struct dpk_rpc *rpc, const uint8_t contract[20], const uint8_t client[20],
    struct dpk_registry_pending *p)
{
	struct dpk_buf cd, ret;
	int r;

	if (p == NULL)
		return DPK_ERR_INVALID;
	memset(p, 0, sizeof(*p));
	if (rpc == NULL || contract == NULL || client == NULL)
		return DPK_ERR_INVALID;
	dpk_buf_init(&cd, 4 + 32);
	dpk_buf_init(&ret, CALL_MAX);
	if ((r = encode_address_call(&cd, "getPending(address)", client)) != 0)
		goto out;
	if ((r = view_call_notfound(rpc, contract, &cd, &ret, "NoPendingRecord")) != 0)
		goto out;
	r = dpk_registry_decode_pending(ret.data, ret.len, p);
out:
	dpk_buf_free(&cd);
	dpk_buf_free(&ret);
	return r;
}

int
dpk_registry_get_pkm_key(struct dpk_rpc *rpc, const uint8_t contract[20], const uint8_t pkm[20],
    struct dpk_buf *out)
{
	struct dpk_abi_value *v = NULL;
	const struct dpk_abi_value *key;
	int r;

	if (out == NULL || pkm == NULL)
		return DPK_ERR_INVALID;
	if ((r = address_view(rpc, contract, "getPKMKey(address)", pkm, "(bytes)", "PKMKeyNotSet", &v)) != 0)
		goto out;
	key = dpk_abi_value_at(v, 0);
	if (key->u.bytes.len == 0) {
		r = DPK_ERR_NOTFOUND; /* the contract reverts instead; same meaning */
		goto out;
	}
	if (key->u.bytes.len > DPK_REGISTRY_KEY_MAX) {
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	r = dpk_buf_put(out, key->u.bytes.p, key->u.bytes.len);
out:
	dpk_abi_value_free(v);
	return r;
}

int
dpk_registry_is_approver(struct dpk_rpc *rpc, const uint8_t contract[20], const uint8_t addr[20], int *yes)
{
	struct dpk_abi_value *v = NULL;
	int r;

	if (yes == NULL || addr == NULL)
		return DPK_ERR_INVALID;
	if ((r = address_view(rpc, contract, "isApprover(address)", addr, "(bool)", NULL, &v)) == 0)
		*yes = dpk_abi_value_at(v, 0)->u.boolean != 0;
	dpk_abi_value_free(v);
	return r;
}

int
dpk_registry_owner(struct dpk_rpc *rpc, const uint8_t contract[20], uint8_t owner[20])
{
	struct dpk_abi_value *v = NULL;
	int r;

	if (owner == NULL)
		return DPK_ERR_INVALID;
	if ((r = address_view(rpc, contract, "owner()", NULL, "(address)", NULL, &v)) == 0)
		memcpy(owner, dpk_abi_value_at(v, 0)->u.addr, 20);
	dpk_abi_value_free(v);
	return r;
}

/* ------------------------------------------------------------------ */

int
dpk_registry_deploy(struct dpk_rpc *rpc, const struct dpk_wallet *w, uint64_t chain_id, uint64_t timeout_ms,
    dpk_rpc_progress_fn progress, void *ctx, uint8_t contract[20])
{
	uint64_t block;

	return dpk_registry_deploy_at(rpc, w, chain_id, timeout_ms, progress, ctx, contract, &block);
}

int
dpk_registry_deploy_at(struct dpk_rpc *rpc, const struct dpk_wallet *w, uint64_t chain_id, uint64_t timeout_ms,
    dpk_rpc_progress_fn progress, void *ctx, uint8_t contract[20], uint64_t *block)
{
	struct dpk_txsend req;
	struct dpk_rpc_receipt rc;
	int r;

	if (rpc == NULL || w == NULL || contract == NULL || block == NULL)
		return DPK_ERR_INVALID;
	memset(&req, 0, sizeof(req));
	memset(&rc, 0, sizeof(rc));
	req.to = NULL;
	req.data = dpk_contract_bytecode;
	req.data_len = dpk_contract_bytecode_len;
	if ((r = dpk_txsend(rpc, w, chain_id, &req, timeout_ms, progress, ctx, &rc)) != 0)
		return r;
	if (rc.status != 1)
		r = DPK_ERR_REVERT; /* mined, but the creation failed */
	else if (!rc.has_contract_address)
		r = DPK_ERR_TYPE; /* a node that does not report the address */
	else
		memcpy(contract, rc.contract_address, 20);
	*block = rc.block_number;
	dpk_rpc_receipt_free(&rc);
	return r;
}
