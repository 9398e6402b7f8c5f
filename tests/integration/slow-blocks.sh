#!/bin/sh
# Registration, lookup and login with a block every second (an L2's pace)
# and every 12 s (Ethereum's), on both nodes: anvil and ganache. The flow is test_pam_login's
# test_login (three identities registered on chain, the host's agent looks
# alice up, pamtester logs her in with her device's response, replays are
# refused), run alone with DPK_TEST_BLOCK_TIME=1 and 12; the whole suite
# runs with instant blocks on anvil and (scripts/test) with 1 s blocks on ganache.
set -u
build=${DPK_TOP_BUILDDIR:-.}
prog="$build/tests/integration/test_pam_login"
[ -x "$prog" ] || { echo "slow-blocks: $prog not built (make check builds it)" >&2; exit 1; }
status=0
for bt in ${DPK_TEST_SLOW_BLOCK_TIME:-1 12}; do
	for node in anvil ganache; do
		start=$(date +%s)
		DPK_TEST_NODE=$node DPK_TEST_BLOCK_TIME=$bt DPK_TEST_ONLY=test_login "$prog"
		rc=$?
		echo "slow-blocks: $node, $bt s blocks: test_login exit $rc in $(($(date +%s) - start)) s"
		# 77: the node is missing and DPK_TEST_ALLOW_SKIP=1 (a Debian builder) said a skip will do
		if [ "$rc" -eq 77 ]; then skipped=1; elif [ "$rc" -ne 0 ]; then status=1; fi
	done
done
[ "$status" -eq 0 ] && [ "${skipped:-0}" -eq 1 ] && exit 77
exit $status
