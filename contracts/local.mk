# contracts/: the DPK registry (DPK.sol) and its generated, checked-in artifact
# (DPK.abi.json, DPK.bin, dpk_contract.c/.h), built into libdpkcore.
lib_libdpkcore_a_SOURCES += contracts/dpk_contract.c contracts/dpk_contract.h
AM_CPPFLAGS += -I$(srcdir)/contracts

DPK_NODE = node
CONTRACT_ARTIFACT = DPK.abi.json DPK.bin dpk_contract.c dpk_contract.h
EXTRA_DIST += contracts/DPK.sol contracts/compile.js contracts/README.md \
	contracts/DPK.abi.json contracts/DPK.bin

# Regenerate the artifact in the source tree when DPK.sol (or the generator)
# is newer and the pinned compiler is here; without it the checked-in
# artifact is used as it is (check-contract-artifact catches a stale one).
BUILT_SOURCES = $(srcdir)/contracts/dpk_contract.c
$(srcdir)/contracts/dpk_contract.c: $(srcdir)/contracts/DPK.sol $(srcdir)/contracts/compile.js
	@if test -n "$(SOLCJS)" && command -v $(DPK_NODE) >/dev/null 2>&1; then \
	  echo "  SOLC     contracts/DPK.sol"; \
	  $(DPK_NODE) $(srcdir)/contracts/compile.js --solcjs "$(SOLCJS)" --out $(srcdir)/contracts >/dev/null; \
	else \
	  echo "contracts: DPK.sol is newer than its artifact but solcjs or node is missing;" \
	    "building the checked-in artifact (run scripts/setup, then make)" >&2; \
	fi

# CI: recompile into a temporary directory and compare byte for byte.
check-contract-artifact:
	@test -n "$(SOLCJS)" || { echo "check-contract-artifact: solcjs not found; run scripts/setup or configure SOLCJS=..." >&2; exit 1; }
	@tmp=$$(mktemp -d) || exit 1; stale=; \
	if ! $(DPK_NODE) $(srcdir)/contracts/compile.js --solcjs "$(SOLCJS)" --out "$$tmp" >/dev/null; then \
	  rm -rf "$$tmp"; echo "check-contract-artifact: contracts/DPK.sol does not compile" >&2; exit 1; fi; \
	for f in $(CONTRACT_ARTIFACT); do \
	  if ! cmp -s "$$tmp/$$f" "$(srcdir)/contracts/$$f"; then \
	    echo "check-contract-artifact: contracts/$$f is stale (does not match contracts/DPK.sol)" >&2; stale=1; \
	  fi; \
	done; rm -rf "$$tmp"; \
	if test -n "$$stale"; then \
	  echo "check-contract-artifact: run 'node contracts/compile.js' and commit the result" >&2; exit 1; fi; \
	echo "check-contract-artifact: contracts/ artifact matches DPK.sol"
.PHONY: check-contract-artifact

# Tests of the contract, kept beside it: the smoke test on a real anvil and
# the CLI it uses to check that lib/registry/identity.c and the contract agree.
check_PROGRAMS += tests/harness/dpk-identity-hash
tests_harness_dpk_identity_hash_SOURCES = tests/harness/dpk-identity-hash.c
tests_harness_dpk_identity_hash_CPPFLAGS = $(TEST_CPPFLAGS)
tests_harness_dpk_identity_hash_LDADD = $(DPKCORE_LIBS)
TESTS += tests/integration/contract-smoke.sh
dist_check_SCRIPTS += tests/integration/contract-smoke.sh
EXTRA_DIST += tests/bench tests/integration/contract-common.sh
