/* dpkctl's command line: its own options anywhere on the line, help per
 * command from the command table (dpkctl.h), one form of usage error. */
#include "autoconfig.h"

#include "dpkctl.h"

#include "daemon/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int dpkctl_json_errors;

void
dpkctl_json_error(const char *text, int exit_code)
{
	if (dpkctl_json_errors)
		dpk_cli_json_error(text, exit_code);
}

int
dpkctl_fail(int code, const char *fmt, ...)
{
	char why[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fprintf(stderr, "dpkctl: %s\n", why);
	dpkctl_json_error(why, code);
	return code;
}

const struct dpkctl_command *
dpkctl_find(const char *name)
{
	for (const struct dpkctl_command *c = dpkctl_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void
dpkctl_help(FILE *f, const struct dpkctl_command *cmd)
{
	if (cmd != NULL) {
		fprintf(f, "usage: dpkctl %s%s%s\n%s", cmd->name, *cmd->usage ? " " : "", cmd->usage, cmd->help);
		fprintf(f, "options of every command: --json, --socket PATH, --timeout MS, --help; \"--\" ends the options\n");
		return;
	}
	fprintf(f, "usage: dpkctl [--socket PATH] [--timeout MS] [--json] COMMAND [ARGS]\n"
	    "       dpkctl COMMAND --help | dpkctl help COMMAND\n"
	    "Options may come anywhere on the line; \"--\" ends them.\ncommands:\n");
	for (const struct dpkctl_command *c = dpkctl_commands; c->name != NULL; c++) {
		const char *nl = strchr(c->help, '\n');

		int len = nl != NULL ? (int)(nl - c->help) : (int)strlen(c->help);

		fprintf(f, "  %s%s%s\n      %.*s\n", c->name, *c->usage ? " " : "", c->usage, len, c->help);
	}
	fprintf(f, "exit codes: 0 done, 1 refused, 2 usage, 3 agent not reachable, 4 malformed answer\n");
}

int
dpkctl_usage_error(const char *cmd, const char *fmt, ...)
{
	const struct dpkctl_command *c = cmd != NULL ? dpkctl_find(cmd) : NULL;
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fprintf(stderr, "dpkctl: %s%s%s", cmd != NULL ? cmd : "", cmd != NULL ? ": " : "", why);
	dpkctl_json_error(why, DPKCTL_EXIT_USAGE);
	if (c != NULL)
		fprintf(stderr, "\nusage: dpkctl %s%s%s\n(dpkctl %s --help says more)\n", c->name, *c->usage ? " " : "",
		    c->usage, c->name);
	else
		fprintf(stderr, "\n(dpkctl --help lists the commands)\n");
	return DPKCTL_EXIT_USAGE;
}

static int
is_valued(const char *arg, const char *const *valued)
{
	for (size_t i = 0; valued != NULL && valued[i] != NULL; i++)
		if (strcmp(arg, valued[i]) == 0)
			return 1;
	return 0;
}

/* The value of option name ("--socket") in argv[*i]: "--socket=V", or
 * "--socket V" / "-s V" (the next argument). NULL when argv[*i] is not it;
 * *missing when it is but has no value. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name, const char *shortname, int *missing)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (strcmp(argv[*i], name) != 0 && strcmp(argv[*i], shortname) != 0)
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

int
dpkctl_parse_line(int argc, char **argv, const char *const *valued, struct dpkctl_line *out)
{
	int dashdash = 0;

	memset(out, 0, sizeof(*out));
	out->o.timeout_ms = 5000;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) /* first, so that what fails below is JSON too */
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			dpkctl_json_errors = 1;
	if ((out->argv = calloc((size_t)argc + 1, sizeof(char *))) == NULL) {
		return dpkctl_fail(DPKCTL_EXIT_REFUSED, "out of memory");
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int missing = 0;

		if (dashdash || a[0] != '-' || strcmp(a, "-") == 0) {
			if (out->cmd == NULL)
				out->cmd = a;
			else
				out->argv[out->argc++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			out->argc_opts = out->argc;
		} else if ((v = opt_value(argc, argv, &i, "--socket", "-s", &missing)) != NULL) {
			out->o.socket = v;
		} else if (!missing && (v = opt_value(argc, argv, &i, "--timeout", "-t", &missing)) != NULL) {
			char *end;
			long t = strtol(v, &end, 10);

			if (*v == '\0' || *end != '\0' || t <= 0 || t > 600000) {
				return dpkctl_fail(DPKCTL_EXIT_USAGE, "--timeout: '%s' is not a number of milliseconds (1..600000)", v);
			}
			out->o.timeout_ms = (int)t;
			out->timeout_set = 1;
		} else if (missing) {
			return dpkctl_fail(DPKCTL_EXIT_USAGE, "%s needs a value", a);
		} else if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0) {
			out->o.json = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			out->help = 1;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("dpkctl %s\n", PACKAGE_VERSION);
			return -1;
		} else {
			/* the command's own option, and its value when it takes one */
			out->argv[out->argc++] = argv[i];
			if (is_valued(a, valued) && i + 1 < argc)
				out->argv[out->argc++] = argv[++i];
		}
	}
	if (!dashdash)
		out->argc_opts = out->argc;
	return 0;
}

int
dpkctl_check_options(const struct dpkctl_command *cmd, const struct dpkctl_line *l)
{
	if (cmd->options == NULL)
		return 0;
	for (int i = 0; i < l->argc_opts; i++) {
		const char *a = l->argv[i], *p = cmd->options;
		size_t n = strlen(a);
		int known = 0;

		if (a[0] != '-' || a[1] == '\0')
			continue;
		while (!known && (p = strstr(p, a)) != NULL) {
			known = (p == cmd->options || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0');
			p += n;
		}
		if (!known)
			return dpkctl_usage_error(cmd->name, "unknown option '%s'", a);
	}
	return 0;
}
