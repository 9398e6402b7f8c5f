/* agent_idle_trim (idle.h). */
#include "common/idle.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* below the caller's frame, this much is kept: the frames of the calls the
 * loop makes on an ordinary pass stay resident */
#define KEEP_BELOW_SP (16 * 1024)

/* The lowest address of the main thread's stack mapping, or 0 (read each
 * time: the mapping grows down when a deeper call needs it). */
static uintptr_t
stack_low(void)
{
	uintptr_t low = 0;
	char line[512];
	FILE *f;

	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "[stack]") != NULL) {
			/* "low-high perms ...": the mapping's low address is its first field */
			low = (uintptr_t)strtoull(line, NULL, 16);
			break;
		}
	}
	fclose(f);
	return low;
}

void
agent_idle_init(void)
{
	(void)mallopt(M_ARENA_MAX, 1);
}

__attribute__((noinline)) void
agent_idle_trim(void)
{
	volatile char here = 0;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), low = stack_low(), end;

	(void)malloc_trim(0);
	/* the stack grows down: [low, end) lies below every live frame */
	end = ((uintptr_t)&here - KEEP_BELOW_SP) & ~(page - 1);
	if (low != 0 && end > low && (uintptr_t)&here - low < (64u << 20)) /* the caller runs on the main stack */
		(void)madvise((void *)low, end - low, MADV_DONTNEED);
}
