#include "base/err.h"

const char *
dpk_strerror(int err)
{
	switch (err) {
	case DPK_OK: return "success";
	case DPK_ERR_NOMEM: return "out of memory";
	case DPK_ERR_INVALID: return "invalid argument";
	case DPK_ERR_TRUNCATED: return "input is truncated";
	case DPK_ERR_TOOBIG: return "input or output exceeds its size limit";
	case DPK_ERR_NONCANONICAL: return "non-canonical encoding";
	case DPK_ERR_TRAILING: return "trailing bytes after the encoded value";
	case DPK_ERR_TYPE: return "value has the wrong type";
	case DPK_ERR_DEPTH: return "nesting too deep";
	case DPK_ERR_RANGE: return "number out of range";
	case DPK_ERR_SYNTAX: return "syntax error";
	case DPK_ERR_CRYPTO: return "cryptographic operation failed";
	case DPK_ERR_BADSIG: return "bad signature";
	case DPK_ERR_BADMAC: return "MAC mismatch (wrong password or corrupted data)";
	case DPK_ERR_IO: return "I/O error";
	case DPK_ERR_NET: return "network error";
	case DPK_ERR_TIMEOUT: return "timed out";
	case DPK_ERR_RPC: return "JSON-RPC error";
	case DPK_ERR_REVERT: return "execution reverted";
	case DPK_ERR_NOTFOUND: return "not found";
	case DPK_ERR_UNSUPPORTED: return "not supported";
	case DPK_ERR_EXISTS: return "already exists";
	case DPK_ERR_CHECKSUM: return "address checksum (EIP-55) does not match";
	case DPK_ERR_PERM: return "permission denied";
	case DPK_ERR_EXPIRED: return "expired";
	case DPK_ERR_REPLAY: return "replayed (already used)";
	case DPK_ERR_REVOKED: return "key revoked on chain";
	case DPK_ERR_STATE: return "message out of order for the protocol state";
	case DPK_ERR_BUSY: return "too many at once; try again later";
	case DPK_ERR_PROOF: return "proof does not verify against the block it names";
	case DPK_ERR_PEER: return "the peer refused the handshake";
	}
	return "unknown error";
}
