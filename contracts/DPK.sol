// SPDX-License-Identifier: MIT
// DPK registry: one current public key per identity (domain, IPv4, IPv6, UUID),
// approved by a Public Key Manager (approver). The paper's roles (owner =
// platform, PKM = approver, addClient / approveClient / getClient,
// storePKMKey / getPKMKey) without its flaws; contracts/README.md says which
// and why.
pragma solidity 0.8.37;

contract DPK {
    // ---------------------------------------------------------------- types

    // Identity kinds. The canonical value bytes of each kind are fixed so that
    // one identity has exactly one hash (lib/identity.c implements the same).
    uint8 public constant KIND_DOMAIN = 1; // lower-case LDH labels, '.'-separated, no trailing dot
    uint8 public constant KIND_IPV4 = 2; // 4 bytes, network order
    uint8 public constant KIND_IPV6 = 3; // 16 bytes, network order
    uint8 public constant KIND_UUID = 4; // 16 bytes (RFC 9562 binary form)

    // Key algorithms (lib/idkey.h enum dpk_idkey_alg).
    uint8 public constant ALG_P256 = 1; // 65-byte uncompressed SEC1 point (0x04 || X || Y); stored as X + parity of Y
    uint8 public constant ALG_RSA = 2; // DER SubjectPublicKeyInfo; only its length is bounded here

    // P-256 (SEC 2, section 2.4.2): y^2 = x^3 - 3x + b over the field of P256_P.
    uint256 private constant P256_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF;
    uint256 private constant P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B;
    // (P256_P + 1) / 4: P256_P = 3 mod 4, so a square root of v is v^((p + 1) / 4)
    uint256 private constant P256_SQRT_EXP = 0x3FFFFFFFC0000000400000000000000000000000400000000000000000000000;
    uint8 private constant KEYINFO_Y_ODD = 0x80;
    // Bit c set for each byte c a domain label may hold ('a'..'z', '0'..'9', '-'), and for the digits.
    uint256 private constant LDH_BYTES = 0x7fffffe0000000003ff200000000000;
    uint256 private constant DIGIT_BYTES = 0x3ff000000000000;

    uint256 public constant RSA_KEY_MIN = 64;
    uint256 public constant RSA_KEY_MAX = 2048; // an RSA-8192 SPKI is about 1062 bytes
    uint256 public constant PKM_KEY_MAX = 2048;

    enum Status {
        None, // never approved: getClient reverts NotFound
        Active,
        Revoked // reported as revoked, never as unknown; may be approved again by its approver or the owner
    }

    // Four slots (contracts/README.md, "Storage layout"): the fixed fields
    // fill two exactly; a P-256 key is its x-coordinate in the third (the
    // parity of y is bit 7 of `keyInfo`), an RSA key is bytes in the fourth.
    // A record uses one of the two key slots; the other stays zero. Times are
    // uint40 (seconds up to the year 36812) so that they share slot 0 with
    // the controller; getClient returns them as uint64.
    struct Record {
        // slot 0
        address controller; // the only address that may rotate the key
        uint8 keyInfo; // bits 0..6 the algorithm; bit 7 the parity of y (P-256)
        Status status;
        uint40 validFrom; // block time the current key took effect
        uint40 validUntil; // block time of revocation; 0 while active
        // slot 1
        address approver; // who approved the record in force: only it (or the owner) may revoke or re-approve
        uint64 serial; // permanent: set once, at the first approval, from lastSerial
        uint32 version; // 1 at first approval, +1 at every rotation or re-approval
        // slot 2
        bytes32 p256X; // P-256: the x-coordinate; 0 for RSA
        // slot 3
        bytes rsaKey; // RSA: DER SubjectPublicKeyInfo; empty for P-256
    }

    // A request waiting for an approver, keyed by the address that sent it,
    // so nobody can overwrite somebody else's request.
    struct Pending {
        bytes32 identityHash;
        bytes32 tokenHash; // hash of the enrolment token; the token itself never goes on chain
        bytes32 recordHash; // what an approver must name to approve exactly this request
        uint8 algorithm;
        bytes publicKey;
    }

    // ---------------------------------------------------------------- state

    address public owner;
    uint64 public lastSerial; // the serial of the newest identity (0: none yet); shares slot 0 with owner
    address public pendingOwner;
    mapping(address => bool) public isApprover;
    mapping(address => bytes) private pkmKeys;
    mapping(bytes32 => Record) internal records; // internal: tests/bench seeds it
    mapping(address => Pending) private pendings;
    mapping(bytes32 => bool) public tokenUsed;
    mapping(address => mapping(uint256 => bool)) public nonceUsed; // per approver

    bytes32 public constant REGISTRATION_TYPEHASH = keccak256(
        "Registration(bytes32 identityHash,bytes32 keyHash,uint8 algorithm,address controller,uint64 expiry,uint256 nonce)"
    );
    // What a device (the controller) signs for registerRelayed: the same
    // fields plus the approver it asks, so no other PKM can relay it, and a
    // nonce that must equal the record's current version (0 for a new
    // identity): used once without a storage write, since every registration
    // moves the version on.
    bytes32 public constant RELAYED_REGISTRATION_TYPEHASH = keccak256(
        "RelayedRegistration(bytes32 identityHash,bytes32 keyHash,uint8 algorithm,address controller,address approver,uint64 expiry,uint256 nonce)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    // Half the secp256k1 group order: signatures with a larger s are the
    // malleated twin of a valid one and are refused (EIP-2).
    uint256 private constant SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    bytes32 private immutable cachedDomainSeparator;
    uint256 private immutable cachedChainId;

    // ---------------------------------------------------------------- events

    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event ApproverAdded(address indexed approver);
    event ApproverRemoved(address indexed approver);
    event PKMKeyStored(address indexed pkm, bytes key);
    event ClientAdded(
        bytes32 indexed identityHash,
        address indexed client,
        bytes32 recordHash,
        uint8 kind,
        bytes value,
        uint8 algorithm,
        bytes publicKey,
        bytes32 tokenHash
    );
    event ClientApproved(
        bytes32 indexed identityHash,
        address indexed controller,
        address indexed approver,
        uint8 algorithm,
        bytes publicKey,
        uint32 version
    );
    event KeyRotated(
        bytes32 indexed identityHash, address indexed controller, uint8 algorithm, bytes publicKey, uint32 version
    );
    event ClientRevoked(bytes32 indexed identityHash, address indexed by, uint32 version);

    // ---------------------------------------------------------------- errors

    error NotOwner(address caller);
    error NotPendingOwner(address caller);
    error NotApprover(address caller);
    error ZeroAddress();
    error AlreadyApprover(address approver);
    error UnknownApprover(address approver);
    error BadPKMKeyLength(uint256 length);
    error PKMKeyNotSet(address pkm);
    error NonCanonicalIdentity(uint8 kind, bytes value);
    error UnknownAlgorithm(uint8 algorithm);
    error BadKeyLength(uint8 algorithm, uint256 length);
    error NotOnCurve(bytes32 x);
    error EmptyTokenHash();
    error TokenAlreadyUsed(bytes32 tokenHash);
    error NoPendingRecord(address client);
    error RecordChanged(address client, bytes32 approved, bytes32 current);
    error IdentityTaken(bytes32 identityHash, address controller);
    error NotFound(bytes32 identityHash);
    error IdentityRevoked(bytes32 identityHash);
    error NotController(bytes32 identityHash, address caller);
    error NotControllerOrApprover(bytes32 identityHash, address caller);
    error NotRecordApprover(bytes32 identityHash, address approver, address caller);
    error SignatureExpired(uint64 expiry, uint256 blockTime);
    error InvalidSignature();
    error SignerNotApprover(address signer);
    error NonceUsed(address signer, uint256 nonce);
    error SignerNotController(address signer, address controller);
    error StaleNonce(bytes32 identityHash, uint256 nonce, uint32 version);

    // ---------------------------------------------------------------- roles

    constructor() {
        owner = msg.sender;
        cachedChainId = block.chainid;
        cachedDomainSeparator = _buildDomainSeparator();
        emit OwnershipTransferred(address(0), msg.sender);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyApprover() {
        if (!isApprover[msg.sender]) revert NotApprover(msg.sender);
        _;
    }

    /// Step one of an ownership transfer; address(0) cancels a started one.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(msg.sender, newOwner);
    }

    /// Step two: the new owner proves it controls its address.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        address previous = owner;
        owner = msg.sender;
        delete pendingOwner;
        emit OwnershipTransferred(previous, msg.sender);
    }

    function addApprover(address approver) external onlyOwner {
        if (approver == address(0)) revert ZeroAddress();
        if (isApprover[approver]) revert AlreadyApprover(approver);
        isApprover[approver] = true;
        emit ApproverAdded(approver);
    }

    /// Removes the approver and its stored key: tokens it signed stop verifying.
    function removeApprover(address approver) external onlyOwner {
        if (!isApprover[approver]) revert UnknownApprover(approver);
        delete isApprover[approver];
        delete pkmKeys[approver];
        emit ApproverRemoved(approver);
    }

    /// The approver's own identity key (it verifies the enrolment tokens it signs).
    function storePKMKey(bytes calldata key) external onlyApprover {
        if (key.length == 0 || key.length > PKM_KEY_MAX) revert BadPKMKeyLength(key.length);
        pkmKeys[msg.sender] = key;
        emit PKMKeyStored(msg.sender, key);
    }

    function getPKMKey(address pkm) external view returns (bytes memory) {
        bytes storage k = pkmKeys[pkm];
        if (k.length == 0) revert PKMKeyNotSet(pkm);
        return k;
    }

    // ---------------------------------------------------------------- interface

    /// "DPK" and a zero byte: what dpkVersion() answers first, so that a client
    /// can tell a DPK registry from any other contract at the configured address.
    bytes4 public constant DPK_INTERFACE = 0x44504b00;
    /// The interface version: raised when a function or event clients use changes.
    uint32 public constant DPK_INTERFACE_VERSION = 1;

    /// The interface tag and version; pure (no storage), so it costs a reader
    /// nothing and changes nothing of the storage layout that proofs read.
    function dpkVersion() external pure returns (bytes4 iface, uint32 version) {
        return (DPK_INTERFACE, DPK_INTERFACE_VERSION);
    }

    // ---------------------------------------------------------------- identities

    /// keccak256(abi.encodePacked(uint8 kind, bytes value)); value must be canonical.
    function identityHash(uint8 kind, bytes calldata value) public pure returns (bytes32) {
        if (!isCanonical(kind, value)) revert NonCanonicalIdentity(kind, value);
        return keccak256(abi.encodePacked(kind, value));
    }

    /// True if value is the one canonical form of an identity of this kind.
    function isCanonical(uint8 kind, bytes calldata value) public pure returns (bool) {
        if (kind == KIND_IPV4) return value.length == 4;
        if (kind == KIND_IPV6 || kind == KIND_UUID) return value.length == 16;
        if (kind == KIND_DOMAIN) return _isCanonicalDomain(value);
        return false;
    }

    // Lower-case letters, digits and '-' in labels of 1..63 bytes that neither
    // start nor end with '-', joined by single dots, 1..253 bytes, no trailing
    // dot, and a last label that is not all digits (else "1.2.3.4" would be a
    // second name for an IPv4 identity; RFC 3696 section 2 forbids such TLDs).
    // One pass over the bytes in assembly: the same rules in Solidity cost
    // about 590 gas a byte (bounds checks, byte copies), a tenth of a
    // registration for a 19-byte name; this costs about 60.
    function _isCanonicalDomain(bytes calldata v) private pure returns (bool ok) {
        uint256 n = v.length;
        if (n == 0 || n > 253) return false;
        uint256 ldh = LDH_BYTES;
        uint256 digits = DIGIT_BYTES;
        assembly {
            let labelLen := 0
            let allDigits := 1
            let prev := 0
            ok := 1
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let c := byte(0, calldataload(add(v.offset, i)))
                switch eq(c, 0x2e) // '.'
                case 1 {
                    if or(iszero(labelLen), eq(prev, 0x2d)) {
                        ok := 0
                        break
                    }
                    labelLen := 0
                    allDigits := 1
                }
                default {
                    let bit := shl(c, 1)
                    if or(iszero(and(ldh, bit)), and(eq(c, 0x2d), iszero(labelLen))) {
                        ok := 0
                        break
                    }
                    if iszero(and(digits, bit)) { allDigits := 0 }
                    labelLen := add(labelLen, 1)
                    if gt(labelLen, 63) {
                        ok := 0
                        break
                    }
                }
                prev := c
            }
            if ok { ok := and(and(gt(labelLen, 0), iszero(eq(prev, 0x2d))), iszero(allDigits)) }
        }
    }

    // A P-256 key must be a point of the curve: the record keeps only x and
    // the parity of y, so a pair (x, y) off the curve would be served back as
    // another key (or none). Costs a few hundred gas (no square root here).
    function _checkKey(uint8 algorithm, bytes memory publicKey) private pure {
        uint256 n = publicKey.length;
        if (algorithm == ALG_P256) {
            if (n != 65 || publicKey[0] != 0x04) revert BadKeyLength(algorithm, n);
            (uint256 x, uint256 y) = _p256XY(publicKey);
            if (x >= P256_P || y >= P256_P || mulmod(y, y, P256_P) != _p256Rhs(x)) revert NotOnCurve(bytes32(x));
        } else if (algorithm == ALG_RSA) {
            if (n < RSA_KEY_MIN || n > RSA_KEY_MAX) revert BadKeyLength(algorithm, n);
        } else {
            revert UnknownAlgorithm(algorithm);
        }
    }

    // ---------------------------------------------------------------- the paper's flow, fixed

    /// Hash an approver names in approveClient: it binds everything the
    /// approver checked, including who sent the request:
    /// keccak256(abi.encode(identityHash, algorithm, keccak256(publicKey), tokenHash, client)).
    function recordHash(bytes32 idHash, uint8 algorithm, bytes32 keyHash, bytes32 tokenHash, address client)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(idHash, algorithm, keyHash, tokenHash, client));
    }

    /// Step 1 (device): ask for (kind, value) to be bound to publicKey. Replaces
    /// the caller's own earlier request, never anybody else's.
    function addClient(uint8 kind, bytes calldata value, uint8 algorithm, bytes calldata publicKey, bytes32 tokenHash)
        external
    {
        bytes32 idHash = identityHash(kind, value);
        _checkKey(algorithm, publicKey);
        if (tokenHash == bytes32(0)) revert EmptyTokenHash();
        if (tokenUsed[tokenHash]) revert TokenAlreadyUsed(tokenHash);
        Record storage r = records[idHash];
        if (r.status == Status.Active && r.controller != msg.sender) revert IdentityTaken(idHash, r.controller);
        bytes32 rh = recordHash(idHash, algorithm, keccak256(publicKey), tokenHash, msg.sender);
        Pending storage p = pendings[msg.sender];
        p.identityHash = idHash;
        p.tokenHash = tokenHash;
        p.recordHash = rh;
        p.algorithm = algorithm;
        p.publicKey = publicKey;
        emit ClientAdded(idHash, msg.sender, rh, kind, value, algorithm, publicKey, tokenHash);
    }

    /// Hash of the client's pending request (what approveClient must name).
    function pendingRecordHash(address client) external view returns (bytes32) {
        bytes32 rh = pendings[client].recordHash;
        if (rh == bytes32(0)) revert NoPendingRecord(client);
        return rh;
    }

    /// The client's pending request, for the approver to check.
    function getPending(address client)
        external
        view
        returns (bytes32 idHash, uint8 algorithm, bytes memory publicKey, bytes32 tokenHash, bytes32 rh)
    {
        Pending storage p = pendings[client];
        if (p.recordHash == bytes32(0)) revert NoPendingRecord(client);
        return (p.identityHash, p.algorithm, p.publicKey, p.tokenHash, p.recordHash);
    }

    /// Step 2 (PKM): approve the request of client whose hash is expectedRecordHash.
    /// A request changed after the approver read it no longer matches. A new
    /// identity takes any approver; an existing one only its own approver or
    /// the owner (NotRecordApprover).
    function approveClient(address client, bytes32 expectedRecordHash) external {
        if (!isApprover[msg.sender] && msg.sender != owner) revert NotApprover(msg.sender);
        Pending storage p = pendings[client];
        bytes32 rh = p.recordHash;
        if (rh == bytes32(0)) revert NoPendingRecord(client);
        if (rh != expectedRecordHash) revert RecordChanged(client, expectedRecordHash, rh);
        bytes32 idHash = p.identityHash;
        bytes32 tokenHash = p.tokenHash;
        if (tokenUsed[tokenHash]) revert TokenAlreadyUsed(tokenHash);
        tokenUsed[tokenHash] = true;
        Record storage r = _claim(idHash, client, msg.sender);
        bytes memory key = p.publicKey;
        uint8 algorithm = p.algorithm;
        _storeKey(r, algorithm, key);
        _activate(r, idHash, client, algorithm, key, msg.sender);
        delete pendings[client];
    }

    /// One transaction: the device sends the key with an approver's EIP-712
    /// signature over Registration(identityHash, keccak256(publicKey), algorithm,
    /// msg.sender, expiry, nonce). signature is r || s || v (65 bytes).
    function register(
        uint8 kind,
        bytes calldata value,
        uint8 algorithm,
        bytes calldata publicKey,
        uint64 expiry,
        uint256 nonce,
        bytes calldata signature
    ) external {
        bytes32 idHash = identityHash(kind, value);
        _checkKey(algorithm, publicKey);
        if (expiry < block.timestamp) revert SignatureExpired(expiry, block.timestamp);
        bytes32 digest = registrationDigest(idHash, keccak256(publicKey), algorithm, msg.sender, expiry, nonce);
        address signer = _recover(digest, signature);
        if (!isApprover[signer] && signer != owner) revert SignerNotApprover(signer);
        if (nonceUsed[signer][nonce]) revert NonceUsed(signer, nonce);
        nonceUsed[signer][nonce] = true;
        Record storage r = _claim(idHash, msg.sender, signer);
        _storeKey(r, algorithm, publicKey);
        _activate(r, idHash, msg.sender, algorithm, publicKey, signer);
    }

    /// One transaction in one block, sent by the approver (a PKM, msg.sender):
    /// it relays the request the controller signed (EIP-712
    /// RelayedRegistration(identityHash, keccak256(publicKey), algorithm,
    /// controller, approver = msg.sender, expiry, nonce)), so the record needs
    /// both: the approver's transaction and the controller's signature. The
    /// controller's wallet needs no funds. nonce must be the record's current
    /// version (0 for a new identity), so a relayed request is used once.
    function registerRelayed(
        uint8 kind,
        bytes calldata value,
        uint8 algorithm,
        bytes calldata publicKey,
        address controller,
        uint64 expiry,
        uint256 nonce,
        bytes calldata signature
    ) external {
        if (!isApprover[msg.sender] && msg.sender != owner) revert NotApprover(msg.sender);
        bytes32 idHash = identityHash(kind, value);
        _checkKey(algorithm, publicKey);
        _checkRelayed(idHash, keccak256(publicKey), algorithm, controller, expiry, nonce, signature);
        Record storage r = _claim(idHash, controller, msg.sender);
        _storeKey(r, algorithm, publicKey);
        _activate(r, idHash, controller, algorithm, publicKey, msg.sender);
    }

    /// The controller replaces its key; no approver needed, it already proved control.
    function rotate(bytes32 idHash, uint8 algorithm, bytes calldata publicKey) external {
        Record storage r = records[idHash];
        if (r.status == Status.None) revert NotFound(idHash);
        if (r.status == Status.Revoked) revert IdentityRevoked(idHash);
        if (r.controller != msg.sender) revert NotController(idHash, msg.sender);
        _checkKey(algorithm, publicKey);
        uint32 version = r.version + 1;
        _storeKey(r, algorithm, publicKey);
        r.version = version;
        r.validFrom = uint40(block.timestamp);
        emit KeyRotated(idHash, msg.sender, algorithm, publicKey, version);
    }

    /// The controller (key compromised, device retired), the record's own
    /// approver (while it is one) or the owner ends the record. Any other
    /// approver gets NotRecordApprover: one PKM cannot touch another's identities.
    function revoke(bytes32 idHash) external {
        Record storage r = records[idHash];
        if (r.status == Status.None) revert NotFound(idHash);
        if (r.status == Status.Revoked) revert IdentityRevoked(idHash);
        if (msg.sender != r.controller && !(msg.sender == r.approver && isApprover[msg.sender]) && msg.sender != owner)
        {
            if (isApprover[msg.sender]) revert NotRecordApprover(idHash, r.approver, msg.sender);
            revert NotControllerOrApprover(idHash, msg.sender);
        }
        r.status = Status.Revoked;
        r.validUntil = uint40(block.timestamp);
        emit ClientRevoked(idHash, msg.sender, r.version);
    }

    /// O(1) lookup by identity. Reverts NotFound for an identity never approved.
    /// approver: who approved the record in force; serial: the identity's
    /// permanent number (1, 2, ... in order of first approval).
    function getClient(uint8 kind, bytes calldata value)
        external
        view
        returns (
            bytes memory publicKey,
            uint8 algorithm,
            address controller,
            Status status,
            uint32 version,
            uint64 validFrom,
            uint64 validUntil,
            address approver,
            uint64 serial
        )
    {
        return getClientByHash(identityHash(kind, value));
    }

    function getClientByHash(bytes32 idHash)
        public
        view
        returns (
            bytes memory publicKey,
            uint8 algorithm,
            address controller,
            Status status,
            uint32 version,
            uint64 validFrom,
            uint64 validUntil,
            address approver,
            uint64 serial
        )
    {
        Record storage r = records[idHash];
        if (r.status == Status.None) revert NotFound(idHash);
        (publicKey, algorithm) = _loadKey(r);
        return (
            publicKey, algorithm, r.controller, r.status, r.version, r.validFrom, r.validUntil, r.approver, r.serial
        );
    }

    // ---------------------------------------------------------------- EIP-712

    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        // Recomputed after a chain split so a signature never crosses chains.
        return block.chainid == cachedChainId ? cachedDomainSeparator : _buildDomainSeparator();
    }

    function registrationDigest(
        bytes32 idHash,
        bytes32 keyHash,
        uint8 algorithm,
        address controller,
        uint64 expiry,
        uint256 nonce
    ) public view returns (bytes32) {
        bytes32 structHash =
            keccak256(abi.encode(REGISTRATION_TYPEHASH, idHash, keyHash, algorithm, controller, expiry, nonce));
        return keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
    }

    function relayedRegistrationDigest(
        bytes32 idHash,
        bytes32 keyHash,
        uint8 algorithm,
        address controller,
        address approver,
        uint64 expiry,
        uint256 nonce
    ) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(RELAYED_REGISTRATION_TYPEHASH, idHash, keyHash, algorithm, controller, approver, expiry, nonce)
        );
        return keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("DPK"), keccak256("1"), block.chainid, address(this)));
    }

    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        if (sig.length != 65) revert InvalidSignature();
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > SECP256K1_HALF_N || (v != 27 && v != 28)) revert InvalidSignature();
        address signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature();
        return signer;
    }

    // ---------------------------------------------------------------- internals

    // `by` approves controller for idHash. A new identity: any approver, and
    // it gets the next serial. An existing one (active or revoked): only the
    // approver of the record in force or the owner, so one compromised PKM
    // cannot revoke-and-reclaim another PKM's identities; an active one stays
    // with its controller (a second claim is a rotation only when it comes
    // from that controller). `by` becomes the record's approver.
    function _claim(bytes32 idHash, address controller, address by) private returns (Record storage r) {
        r = records[idHash];
        if (r.status == Status.None) {
            if (!isApprover[by]) revert NotApprover(by);
            uint64 serial = lastSerial + 1;
            lastSerial = serial;
            r.serial = serial;
        } else {
            if (by != r.approver && by != owner) revert NotRecordApprover(idHash, r.approver, by);
            if (r.status == Status.Active && r.controller != controller) revert IdentityTaken(idHash, r.controller);
        }
        r.approver = by;
    }

    function _p256XY(bytes memory key) private pure returns (uint256 x, uint256 y) {
        assembly {
            x := mload(add(key, 33))
            y := mload(add(key, 65))
        }
    }

    // x^3 - 3x + b mod p
    function _p256Rhs(uint256 x) private pure returns (uint256) {
        uint256 x3 = mulmod(mulmod(x, x, P256_P), x, P256_P);
        return addmod(addmod(x3, P256_P - mulmod(3, x, P256_P), P256_P), P256_B, P256_P);
    }

    // Writes a checked key into the record's key slot for its algorithm and
    // clears the other one, so that storage holds exactly the key served.
    function _storeKey(Record storage r, uint8 algorithm, bytes memory publicKey) private {
        bool fresh = r.version == 0; // never approved: both key slots are still zero
        if (algorithm == ALG_P256) {
            (uint256 x, uint256 y) = _p256XY(publicKey);
            r.keyInfo = ALG_P256 | (y & 1 == 1 ? KEYINFO_Y_ODD : 0);
            r.p256X = bytes32(x);
            if (!fresh && r.rsaKey.length != 0) delete r.rsaKey;
        } else {
            r.keyInfo = algorithm;
            r.rsaKey = publicKey;
            if (!fresh && r.p256X != 0) r.p256X = 0;
        }
    }

    // The record's key as served: P-256 as the 65-byte uncompressed point
    // (y recomputed from x and its parity: a square root through the modexp
    // precompile, paid only by eth_call readers), RSA as stored.
    function _loadKey(Record storage r) private view returns (bytes memory key, uint8 algorithm) {
        uint8 info = r.keyInfo;
        algorithm = info & ~KEYINFO_Y_ODD;
        if (algorithm != ALG_P256) return (r.rsaKey, algorithm);
        uint256 x = uint256(r.p256X);
        uint256 y = _modexp(_p256Rhs(x), P256_SQRT_EXP, P256_P);
        if ((y & 1 == 1) != (info & KEYINFO_Y_ODD != 0)) y = P256_P - y;
        key = abi.encodePacked(bytes1(0x04), x, y);
    }

    function _modexp(uint256 b, uint256 e, uint256 m) private view returns (uint256 result) {
        bool ok;
        assembly {
            let p := mload(0x40)
            mstore(p, 32)
            mstore(add(p, 32), 32)
            mstore(add(p, 64), 32)
            mstore(add(p, 96), b)
            mstore(add(p, 128), e)
            mstore(add(p, 160), m)
            ok := staticcall(gas(), 0x05, p, 192, p, 32)
            result := mload(p)
        }
        require(ok);
    }

    // The controller's signature of a relayed request, for this approver
    // (msg.sender), unexpired, and for the record's current version.
    function _checkRelayed(
        bytes32 idHash,
        bytes32 keyHash,
        uint8 algorithm,
        address controller,
        uint64 expiry,
        uint256 nonce,
        bytes calldata signature
    ) private view {
        if (expiry < block.timestamp) revert SignatureExpired(expiry, block.timestamp);
        address signer = _recover(
            relayedRegistrationDigest(idHash, keyHash, algorithm, controller, msg.sender, expiry, nonce), signature
        );
        if (signer != controller) revert SignerNotController(signer, controller);
        uint32 version = records[idHash].version;
        if (nonce != version) revert StaleNonce(idHash, nonce, version);
    }

    // Called once the key is written: the record becomes active under controller.
    function _activate(
        Record storage r,
        bytes32 idHash,
        address controller,
        uint8 algorithm,
        bytes memory publicKey,
        address approver
    ) private {
        uint32 version = r.version + 1;
        r.controller = controller;
        r.status = Status.Active;
        r.version = version;
        r.validFrom = uint40(block.timestamp);
        r.validUntil = 0;
        emit ClientApproved(idHash, controller, approver, algorithm, publicKey, version);
    }
}
