/* dpk-agent reading its key-operation journal (dpk-agent/chain/rotate.c):
 * arbitrary bytes either parse into an operation and a step in range, or
 * are refused with a syntax error; never a crash or a read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "chain/rotate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int kind = -1, step = -1, r = agent_keyop_journal_check(data, size, &kind, &step);

	if (r == 0 && (kind < KEYOP_ROTATE || kind > KEYOP_REVOKE || step < KEYOP_IDLE || step > KEYOP_FAILED))
		__builtin_trap();
	if (r != 0 && r != DPK_ERR_SYNTAX && r != DPK_ERR_NOMEM)
		__builtin_trap();
	return 0;
}
