// SPDX-License-Identifier: MIT
// Bench-only contracts (never deployed outside tests/bench/contract-gas.sh):
// each inherits the contract under test unchanged and adds seed(), which
// inserts `count` approved identities in one transaction, exactly as the
// contract's own approval would leave them, so a lookup can be measured at
// n = 10,000 without 20,000 transactions. Identity i (0-based) is the domain
// "node<i>.example" with a 65-byte P-256-shaped key in the paper's contract;
// ours stores the x-coordinate of P-256's generator for each (see seed()).
pragma solidity 0.8.37;

import "contracts/DPK.sol";
import "tests/bench/paper/PaperDPK.sol";

library BenchNames {
    function name(uint256 i) internal pure returns (bytes memory) {
        return abi.encodePacked("node", decimal(i), ".example");
    }

    function decimal(uint256 v) internal pure returns (bytes memory s) {
        uint256 len = 1;
        for (uint256 t = v; t >= 10; t /= 10) len++;
        s = new bytes(len);
        for (uint256 k = len; k > 0; k--) {
            s[k - 1] = bytes1(uint8(48 + (v % 10)));
            v /= 10;
        }
    }

    function key(uint256 i) internal pure returns (bytes memory) {
        return abi.encodePacked(bytes1(0x04), keccak256(abi.encode(i, 1)), keccak256(abi.encode(i, 2)));
    }
}

contract DPKBench is DPK {
    bytes32 constant P256_GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296;

    function seed(uint256 start, uint256 count) external {
        for (uint256 i = start; i < start + count; i++) {
            bytes32 h = keccak256(abi.encodePacked(KIND_DOMAIN, BenchNames.name(i)));
            Record storage r = records[h];
            r.controller = msg.sender;
            r.keyInfo = ALG_P256; // y even
            r.status = Status.Active;
            r.version = 1;
            r.validFrom = uint40(block.timestamp);
            r.approver = msg.sender;
            r.serial = ++lastSerial;
            // every seeded identity gets the generator's point: a P-256 key the
            // agent's verified read decodes (a random x is off the curve half the
            // time, and the agent refuses such a record)
            r.p256X = P256_GX;
        }
    }
}

contract PaperDPKBench is PaperDPK {
    // What addClient + approveClient store, with token "tok<i>" and the key
    // as the 130-digit hex text a 0.4-era web3 client would have sent.
    function seed(uint256 start, uint256 count) external {
        for (uint256 i = start; i < start + count; i++) {
            string memory token = string(abi.encodePacked("tok", BenchNames.decimal(i)));
            clients[token] = Client(string(BenchNames.name(i)), hexText(BenchNames.key(i)), msg.sender);
            clientsIndex[clientsCount] = token;
            clientsCount++;
        }
    }

    function hexText(bytes memory b) internal pure returns (string memory) {
        bytes memory out = new bytes(2 * b.length);
        bytes16 digits = "0123456789abcdef";
        for (uint256 k = 0; k < b.length; k++) {
            out[2 * k] = digits[uint8(b[k]) >> 4];
            out[2 * k + 1] = digits[uint8(b[k]) & 15];
        }
        return string(out);
    }
}
