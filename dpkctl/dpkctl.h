/* dpkctl's command table and the commands that live in files of their own
 * (dpkctl(1)). */
#ifndef DPK_DPKCTL_H
#define DPK_DPKCTL_H

#include <stdio.h>

/* dpkctl's exit codes */
#define DPKCTL_EXIT_REFUSED 1
#define DPKCTL_EXIT_USAGE 2
#define DPKCTL_EXIT_UNREACHABLE 3
#define DPKCTL_EXIT_PROTOCOL 4

struct dpk_client;

/* The options every command takes, anywhere on the line (before "--"). */
struct dpkctl_opts {
	const char *socket; /* NULL: $DPK_AGENT_SOCKET, else the default */
	int timeout_ms;
	int json;           /* print one JSON object on stdout */
};

/* A command: c is the open agent connection when the table entry says
 * needs_agent, else NULL; argv holds the command's own arguments (after the
 * command name, dpkctl's options taken out). Returns the exit code. */
typedef int dpkctl_handler(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv);

struct dpkctl_command {
	const char *name;
	dpkctl_handler *run;
	int needs_agent;       /* main() opens the socket (dpkctl_open) before run */
	int timeout_ms;        /* the default --timeout (0: 5000 ms) */
	const char *usage;     /* after "dpkctl NAME " */
	const char *help;      /* what it does, its options, its exit codes (lines of text) */
	const char *options;   /* its own options, space-separated: any other "-x" before "--" is a usage
	                        * error said before connecting (NULL: the handler checks alone) */
};

/* The commands, in the order --help lists them; ends with a NULL name. */
extern const struct dpkctl_command dpkctl_commands[];
const struct dpkctl_command *dpkctl_find(const char *name);
/* "dpkctl --help" (the list) or "dpkctl CMD --help" (one command) on f. */
void dpkctl_help(FILE *f, const struct dpkctl_command *cmd);

/* Print "dpkctl: CMD: <why>", the command's usage line and where to read
 * more on stderr; returns DPKCTL_EXIT_USAGE. */
int dpkctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The command line, parsed (dpkctl_cli.c): dpkctl's own options taken out
 * wherever they are, up to "--" (which is dropped); the command's name and
 * its arguments in order. valued: the command options that take a value, so
 * that their value is not taken for the command's name. 0, or the exit code
 * after a message (-1 for "--help" or "--version" already answered). */
struct dpkctl_line {
	struct dpkctl_opts o;
	int timeout_set;
	int help;              /* --help / -h given */
	const char *cmd;       /* NULL: none */
	int argc;
	char **argv;           /* malloc()ed; the strings are the caller's */
	int argc_opts;         /* argv[0..argc_opts-1] came before "--" */
};
int dpkctl_parse_line(int argc, char **argv, const char *const *valued, struct dpkctl_line *out);
/* The first of l's arguments that looks like an option cmd does not have,
 * as a usage error (DPKCTL_EXIT_USAGE); 0 if none. */
int dpkctl_check_options(const struct dpkctl_command *cmd, const struct dpkctl_line *l);

/* Connect to the agent at socket (NULL: the default) and check, before
 * anything is sent, that the process serving it is root or the caller
 * itself (SO_PEERCRED): anything else could be a local user's impostor
 * collecting what dpkctl sends or believing what it answers. 0, or the
 * exit code after a message on stderr. */
int dpkctl_open(const char *socket, int timeout_ms, struct dpk_client **c);

/* With --json, a failure is also one JSON object on stdout, {"error": TEXT,
 * "exit": CODE}, so a script reads every answer the same way; set by main(). */
extern int dpkctl_json_errors;
void dpkctl_json_error(const char *text, int exit_code);

/* A failure: "dpkctl: TEXT" on stderr (and the JSON error); returns code. */
int dpkctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* After a failed libdpkclient call r: the message on stderr ("dpkctl: WHAT:
 * the agent's reason or the library's") and the exit code. */
int dpkctl_client_exit(struct dpk_client *c, int r, const char *what);

/* dpkctl respond [--yes] [CHALLENGE | -] (it opens the socket itself, after
 * reading the challenge; c is unused). */
dpkctl_handler dpkctl_respond;

/* Ask question on the terminal (/dev/tty, never stdin) and read one line:
 * 1 for y/yes, 0 for anything else, -1 when there is no terminal. */
int dpkctl_confirm(const char *question);

/* dpkctl join TOKEN_FILE --rpc URL [--config FILE] [--force]: writes the
 * configuration from an enrolment token, checks it with dpk-agent
 * --check-config ($DPK_AGENT, else dpk-agent from PATH), starts nothing; its exit code. */
dpkctl_handler dpkctl_join; /* c is unused: the agent does not run yet */

/* dpkctl cache flush (dpkctl_cache.c; root only). */
dpkctl_handler dpkctl_cache;

/* dpkctl rotate|revoke [--yes] [--status] [--no-wait | --wait S] (rotate
 * also [--algorithm p256|rsa]) (dpkctl_key.c; root): asks on /dev/tty unless
 * --yes, then follows the agent's work. */
dpkctl_handler dpkctl_rotate;
dpkctl_handler dpkctl_revoke;

/* dpkctl metrics (dpkctl_metrics.c): the agent's metrics (root and admin_group) on stdout. */
dpkctl_handler dpkctl_metrics;

#endif
