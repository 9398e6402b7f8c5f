/* Helpers shared by the tests: locate test data and the npm tools, run a
 * command and capture its output, start and stop a real anvil node. */
#ifndef DPK_TEST_HARNESS_H
#define DPK_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"

/* anvil's first default dev account (mnemonic "test test ... junk"). */
#define DPK_TEST_DEV_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define DPK_TEST_DEV_ADDR "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define DPK_TEST_CHAIN_ID 31337

/* Path of a tool from the environment (DPK_ANVIL, DPK_CAST, ...). Fails the
 * test, with a message naming the variable, if it is unset or not executable,
 * unless DPK_TEST_ALLOW_SKIP=1 (a Debian build without Foundry): then the
 * test is skipped and the program reports SKIP (77) if nothing failed. */
const char *dpk_test_tool(const char *envvar);

/* For a program whose checks stand for a root-owned agent or cache file:
 * when not root and DPK_TEST_ALLOW_SKIP=1 (a Debian builder runs as a user),
 * report SKIP (77) at once; otherwise do nothing. */
void dpk_test_skip_unless_root(void);

/* The program's exit status: failures, or 77 (automake's SKIP) when none
 * failed but a test was skipped for a missing tool. */
int dpk_test_exit_status(int failures);

/* Every test program ends with `return cmocka_run_group_tests(...)`: route
 * its result through dpk_test_exit_status so that a skip shows in the
 * summary of make check (only when cmocka.h came first, as in every test). */
#ifdef cmocka_run_group_tests
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(group_tests, group_setup, group_teardown) \
	dpk_test_exit_status(_cmocka_run_group_tests(#group_tests, group_tests, \
	    sizeof(group_tests) / sizeof((group_tests)[0]), group_setup, group_teardown))
#endif

/* Read $DPK_TEST_DATA/rel into out (NUL-terminated, cap 16 MiB). Fails the test on error. */
void dpk_test_read_data(const char *rel, struct dpk_buf *out);

/* Run argv (argv[0] a path), feeding stdin_text (may be NULL) and capturing
 * stdout into out (may be NULL; cap 4 MiB). Returns the exit status, or -1 if
 * it could not run or was killed. stderr goes to the test's stderr. */
int dpk_test_run(char *const argv[], const char *stdin_text, struct dpk_buf *out);

/* Run the words of prefix (NULL-terminated; prefix[0] a path) and then the
 * NULL-terminated arguments that follow, at most 30 in all, capturing stdout
 * into out (initialised here, NUL-terminated): the exit status, as
 * dpk_test_run. */
int dpk_test_run_words(struct dpk_buf *out, char *const *prefix, ...);

/* Strip trailing white space from a captured output. */
void dpk_test_chomp(struct dpk_buf *b);

struct dpk_test_anvil {
	pid_t pid;
	int port;
	char url[64];
};

/* Start anvil on a free loopback port (extra_args NULL-terminated, may be
 * NULL) and wait until it answers. The child dies with the test process
 * (PR_SET_PDEATHSIG), so a crashing test never leaves it running.
 * Fails the test if anvil does not come up within 30 s. */
void dpk_test_anvil_start(struct dpk_test_anvil *a, const char *const *extra_args);
/* DPK_TEST_NODE=ganache: dpk_test_anvil_start() starts ganache (DPK_GANACHE)
 * instead, as anvil would be (chain 31337, the same dev accounts; anvil's
 * --block-time N becomes --miner.blockTime N). 1 if so, 0 for anvil.
 * DPK_TEST_BLOCK_TIME=N: either node mines a block every N seconds (unless the
 * test gives --block-time itself). */
int dpk_test_node_is_ganache(void);
void dpk_test_anvil_stop(struct dpk_test_anvil *a);

/* Start argv in the background (it dies with the test process); its stdout
 * and stderr go to logpath (appended) if not NULL. Fails the test on error. */
pid_t dpk_test_spawn(char *const argv[], const char *logpath);
/* Wait up to timeout_ms for pid to exit; its exit status, or -1 if it did not
 * exit in time (it is then killed) or died of a signal. */
int dpk_test_wait_exit(pid_t pid, int timeout_ms);
/* Wait up to timeout_ms until path exists. 0 or -1. */
int dpk_test_wait_path(const char *path, int timeout_ms);
/* Path of a built program: $DPK_TOP_BUILDDIR/rel. */
void dpk_test_built(const char *rel, char *out, size_t outsz);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int dpk_test_free_port(void);
/* Wait until something listens on 127.0.0.1:port (0) or timeout_ms passes (-1). */
int dpk_test_wait_port(int port, int timeout_ms);

/* Make a fresh private temporary directory; path written to out. */
void dpk_test_tmpdir(char *out, size_t outsz);
/* Remove a directory made by dpk_test_tmpdir and everything under it. */
void dpk_test_rmtree(const char *path);
/* Monotonic milliseconds, and a sleep. */
int64_t dpk_test_now_ms(void);
void dpk_test_sleep_ms(int ms);

/* How many lines of the file at path (a log) contain needle; 0 if it cannot be read. */
size_t dpk_test_count_lines(const char *path, const char *needle);
/* Write text to path (created or truncated) and chmod it to mode. */
void dpk_test_write_file(const char *path, const char *text, unsigned mode);

#endif
