/* What the operator CLIs (dpk-admin, dpk-pkm) share: help per command from
 * a table, failures as one JSON object under --json, and JSON-RPC endpoints
 * read from a file or the environment rather than argv (where ps shows them,
 * with the API key a provider's URL often carries). */
#ifndef DPK_DAEMON_CLI_H
#define DPK_DAEMON_CLI_H

#include <stddef.h>
#include <stdio.h>

struct dpk_cli_cmd {
	const char *name;
	const char *usage; /* after "PROG NAME" ("" for none) */
	const char *help;  /* what it does; then its options, a line each */
};

/* The command named name in cmds (ended by a NULL name), or NULL. */
const struct dpk_cli_cmd *dpk_cli_find(const struct dpk_cli_cmd *cmds, const char *name);
/* With one == NULL: "usage: PROG synopsis", every command's usage and first
 * line of help, then common; else one's usage and whole help, then common. */
void dpk_cli_help(FILE *f, const char *prog, const char *synopsis, const struct dpk_cli_cmd *cmds,
    const struct dpk_cli_cmd *one, const char *common);
/* After option parsing: the command word args[0] (nargs words in all, 0:
 * none), "help [CMD]" and the --help flag help. Prints the list or one
 * command's help (stdout for a request, stderr with exit 2 for a missing
 * command) or says the command is unknown. Returns -1 when *cmd (set to
 * args[0]) is a command to run, else the exit status. */
int dpk_cli_dispatch_help(const char *prog, const char *synopsis, const struct dpk_cli_cmd *cmds,
    const char *common, int json, int help, char *const *args, int nargs, const char **cmd);
/* {"error": msg, "exit": code} on stdout. */
void dpk_cli_json_error(const char *msg, int code);
/* A failure: "PROG: TEXT" on stderr, and with json {"error", "exit"} on
 * stdout; returns code. */
int dpk_cli_fail(const char *prog, int json, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Print j (a cJSON object) as the answer on stdout, and free it. */
struct cJSON;
void dpk_cli_print_json(struct cJSON *j);

/* JSON-RPC endpoints from text (URLs separated by white space or commas;
 * '#' starts a comment to the end of the line): pointers into text, which
 * is cut in place, into urls (at most max). 0, or -1 with why in err (no
 * URL, too many, or one that is not http:// or https://). */
int dpk_cli_rpc_parse(char *text, const char **urls, size_t max, size_t *n, char *err, size_t errsz);
/* The same from the file path (at most bufsz - 1 bytes into buf), which
 * must be a regular file that other users can neither read nor write (the
 * URL may carry an API key): chmod o-rw. */
int dpk_cli_rpc_file(const char *path, char *buf, size_t bufsz, const char **urls, size_t max, size_t *n,
    char *err, size_t errsz);

#endif
