/* One error enum for all shared code. Functions return 0 on success or one of
 * these negative codes; each boundary (exit codes, PAM, NSS, log lines) maps
 * them once. dpk_strerror() never returns NULL. */
#ifndef DPK_ERR_H
#define DPK_ERR_H

enum dpk_err {
	DPK_OK = 0,
	DPK_ERR_NOMEM = -1,        /* allocation failed */
	DPK_ERR_INVALID = -2,      /* argument outside what the function accepts */
	DPK_ERR_TRUNCATED = -3,    /* input ends before the structure does */
	DPK_ERR_TOOBIG = -4,       /* input or output exceeds its cap */
	DPK_ERR_NONCANONICAL = -5, /* valid-looking but not the unique canonical encoding */
	DPK_ERR_TRAILING = -6,     /* bytes left over after a complete structure */
	DPK_ERR_TYPE = -7,         /* value of the wrong type (list for string, ...) */
	DPK_ERR_DEPTH = -8,        /* nesting deeper than allowed */
	DPK_ERR_RANGE = -9,        /* number does not fit the destination */
	DPK_ERR_SYNTAX = -10,      /* text that does not parse (hex, JSON, signature) */
	DPK_ERR_CRYPTO = -11,      /* a cryptographic primitive failed */
	DPK_ERR_BADSIG = -12,      /* signature does not verify or recover */
	DPK_ERR_BADMAC = -13,      /* MAC mismatch: wrong password or corrupt file */
	DPK_ERR_IO = -14,          /* file system call failed (see errno) */
	DPK_ERR_NET = -15,         /* transport failure: connect, TLS, HTTP status */
	DPK_ERR_TIMEOUT = -16,     /* gave up waiting */
	DPK_ERR_RPC = -17,         /* JSON-RPC error object from the node */
	DPK_ERR_REVERT = -18,      /* contract call reverted (revert data available) */
	DPK_ERR_NOTFOUND = -19,    /* the thing asked for does not exist */
	DPK_ERR_UNSUPPORTED = -20, /* valid but not supported here (KDF, tx type, ...) */
	DPK_ERR_EXISTS = -21,      /* refusing to overwrite */
	DPK_ERR_CHECKSUM = -22,    /* mixed-case address whose EIP-55 checksum is wrong */
	DPK_ERR_PERM = -23,        /* the caller may not do this */
	DPK_ERR_EXPIRED = -24,     /* a challenge, ticket or key past its lifetime */
	DPK_ERR_REPLAY = -25,      /* a single-use message seen before */
	DPK_ERR_REVOKED = -26,     /* the identity's key is revoked on chain */
	DPK_ERR_STATE = -27,       /* a message that does not fit the protocol state */
	DPK_ERR_BUSY = -28,        /* a concurrency cap is reached; try again later */
	DPK_ERR_PROOF = -29,       /* a Merkle proof or block header does not match its root or hash */
	DPK_ERR_PEER = -81,        /* the peer ended a handshake with an ERROR message */
};

/* Short English text for an error code; static storage, never NULL. */
const char *dpk_strerror(int err);

#endif
