// SPDX-License-Identifier: UNLICENSED
// The contract of the paper's appendix A (Kfoury and Khoury, "Distributed
// Public Key Infrastructure and PSK Exchange Based on Blockchain Technology"),
// ported from Solidity ^0.4.2 to 0.8 with the fewest changes that compile:
//   - constructor keyword instead of function DPK(); `constant` -> `view`;
//     explicit `public` and `memory`; sha3(x) -> keccak256(bytes(x));
//     the missing `return true;` in addClient added (0.4 returned false);
//   - the loop counter is `unchecked`, keeping 0.4's wrapping arithmetic, so
//     getClient behaves as the paper's did: on a miss `i >= 0` stays true,
//     i wraps from 0 to 2^256-1 and the loop runs until gas runs out.
// Kept ONLY to compare gas with contracts/DPK.sol (tests/bench/contract-gas.sh);
// never deploy it: it has every flaw contracts/README.md lists.
pragma solidity 0.8.37;

contract PaperDPK {
    uint clientsCount = 0;
    mapping(string => Client) pending;
    mapping(string => Client) clients;
    mapping(uint => string) clientsIndex;
    string pkmKey;
    address public owner;

    constructor() {
        owner = msg.sender;
    }

    struct Client {
        string identity;
        string publicKey;
        address clientAddress;
    }

    function addClient(string memory _identity, string memory _publicKey, string memory _token)
        public
        returns (bool success)
    {
        pending[_token] = Client(_identity, _publicKey, msg.sender);
        return true;
    }

    function approveClient(string memory _token) public returns (bool success) {
        if (msg.sender == owner) {
            clients[_token] =
                Client(pending[_token].identity, pending[_token].publicKey, pending[_token].clientAddress);
            clientsIndex[clientsCount] = _token;
            clientsCount++;
            return true;
        }
    }

    function getClient(string memory _identity) public view returns (string memory publicKey) {
        for (uint i = clientsCount; i >= 0; ) {
            if (keccak256(bytes(clients[clientsIndex[i]].identity)) == keccak256(bytes(_identity))) {
                return clients[clientsIndex[i]].publicKey;
            }
            unchecked {
                i--;
            }
        }
    }

    function storePKMKey(string memory puk) public returns (bool success) {
        if (msg.sender == owner) {
            pkmKey = puk;
            return true;
        }
    }

    function getPKMKey() public view returns (string memory) {
        return pkmKey;
    }
}
