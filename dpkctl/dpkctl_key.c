/* dpkctl rotate / dpkctl revoke (dpkctl(8)): this host's own identity key.
 * The agent does the work (dpk-agent/chain/rotate.c) and this follows it,
 * showing what it waits for. Both change what every peer sees, so both ask
 * on the terminal first (/dev/tty; --yes for scripts) and name the identity
 * and what stops working. Root only: the agent refuses anyone else. */
#include "dpkctl.h"

#include "dpk/client.h"
#include "../client/proto.h"
#include "../client/wire.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* the agent's steps (rotate.h enum keyop_step) */
enum { STEP_DONE = 4, STEP_REVOKED = 5, STEP_FAILED = 6 };

struct keystate {
	uint8_t op, step, alg;
	char step_name[64], detail[320], identity[256];
	uint64_t elapsed_ms;
};

static int
call(struct dpk_client *c, uint8_t type, int start, uint8_t alg, const char *confirmed, struct keystate *st,
    const char *what)
{
	uint8_t req[300], reply[1024], rtype;
	struct dpk_wire_w w;
	struct dpk_wire_r rd;
	size_t n;
	int r;

	dpk_wire_w_init(&w, req, sizeof(req));
	dpk_wire_put_u8(&w, start ? 1 : 0);
	if (type == DPK_MSG_ROTATE)
		dpk_wire_put_u8(&w, alg);
	else
		dpk_wire_put_string(&w, confirmed ? confirmed : "", confirmed ? strlen(confirmed) : 0);
	if (w.err)
		return dpkctl_fail(DPKCTL_EXIT_USAGE, "%s: the identity is too long", what);
	if ((r = dpk_client_call(c, type, req, w.len, &rtype, reply, sizeof(reply), &n)) != 0)
		return dpkctl_client_exit(c, r, what);
	memset(st, 0, sizeof(*st));
	dpk_wire_r_init(&rd, reply, n);
	st->op = dpk_wire_get_u8(&rd);
	st->step = dpk_wire_get_u8(&rd);
	dpk_wire_get_text(&rd, st->step_name, sizeof(st->step_name));
	dpk_wire_get_text(&rd, st->detail, sizeof(st->detail));
	dpk_wire_get_text(&rd, st->identity, sizeof(st->identity));
	st->alg = dpk_wire_get_u8(&rd);
	st->elapsed_ms = dpk_wire_get_u64(&rd);
	if (dpk_wire_r_done(&rd) != 0)
		return dpkctl_fail(DPKCTL_EXIT_PROTOCOL, "%s: the agent's answer is malformed", what);
	return 0;
}

static const char *
alg_name(uint8_t alg)
{
	return alg == 1 ? "ecdsa-p256" : alg == 2 ? "rsa" : "none";
}

static int
print_state(const struct keystate *st)
{
	cJSON *j = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(j, "identity", st->identity);
	cJSON_AddStringToObject(j, "operation", st->op == 1 ? "rotate" : st->op == 2 ? "revoke" : "none");
	cJSON_AddStringToObject(j, "state", st->step_name);
	cJSON_AddStringToObject(j, "detail", st->detail);
	cJSON_AddStringToObject(j, "key_algorithm", alg_name(st->alg));
	cJSON_AddNumberToObject(j, "elapsed_ms", (double)st->elapsed_ms);
	s = cJSON_Print(j);
	cJSON_Delete(j);
	if (s == NULL)
		return DPKCTL_EXIT_PROTOCOL;
	puts(s);
	free(s);
	return 0;
}

/* rotate and revoke: cmd names which; c is the open connection. */
static int
key_operation(struct dpk_client *c, const struct dpkctl_opts *o, const char *cmd, int argc, char **argv)
{
	int json = o->json;
	int rotate = strcmp(cmd, "rotate") == 0, yes = 0, status_only = 0, wait = 1, tty = isatty(2), r;
	uint8_t type = rotate ? DPK_MSG_ROTATE : DPK_MSG_REVOKE, alg = 0;
	char last[sizeof(((struct keystate *)0)->detail)] = "", question[1024];
	struct keystate st;
	long limit_s = 600;

	for (int i = 0; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
			yes = 1;
		} else if (strcmp(argv[i], "--status") == 0) {
			status_only = 1;
		} else if (strcmp(argv[i], "--no-wait") == 0) {
			wait = 0;
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc &&
		    (limit_s = strtol(argv[++i], &end, 10)) > 0 && *end == '\0' && limit_s <= 86400) {
			continue;
		} else if (rotate && strcmp(argv[i], "--algorithm") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "p256") == 0 || strcmp(argv[i], "ecdsa-p256") == 0) {
				alg = 1;
			} else if (strcmp(argv[i], "rsa") == 0) {
				alg = 2;
			} else {
				return dpkctl_usage_error("rotate", "--algorithm '%s' is not p256 or rsa", argv[i]);
			}
		} else {
			return dpkctl_usage_error(cmd, "'%s' is not one of its options (or --wait's value is not 1..86400 s)",
			    argv[i]);
		}
	}
	if ((r = call(c, type, 0, 0, NULL, &st, cmd)) != 0)
		return r;
	if (status_only) {
		return json ? print_state(&st) : (printf("%s: %s%s%s\n", st.identity[0] ? st.identity : "(no identity)",
		    st.step_name, st.detail[0] ? ": " : "", st.detail), 0);
	}
	if (st.identity[0] == '\0')
		return dpkctl_fail(DPKCTL_EXIT_REFUSED, "%s: dpk.conf names no identity for this host", cmd);
	if (rotate)
		snprintf(question, sizeof(question), "Rotate the identity key of %s? A new key replaces the one on chain; "
		    "peers that cached the old key refuse it after their next poll, and PSKs made with it stay valid. "
		    "Rotate? [y/N] ", st.identity);
	else
		snprintf(question, sizeof(question), "Revoke the DPK identity %s on chain? Afterwards peers' lookups "
		    "report it revoked: PSK handshakes, tickets and logins with this host's key stop working, and only "
		    "the PKM that approved it (or the registry's owner) can approve it again. Revoke %s? [y/N] ",
		    st.identity, st.identity);
	if (yes) {
		if (!json)
			fprintf(stderr, "%s: %s (--yes)\n", rotate ? "rotating the key of" : "revoking", st.identity);
	} else if ((r = dpkctl_confirm(question)) < 0) {
		return dpkctl_fail(DPKCTL_EXIT_REFUSED, "%s: no terminal to ask on whether to %s %s: run it in a terminal, "
		    "or pass --yes", cmd, rotate ? "rotate the key of" : "revoke", st.identity);
	} else if (r == 0) {
		return dpkctl_fail(DPKCTL_EXIT_REFUSED, "%s: nothing done", cmd);
	}
	time_t give_up = time(NULL) + limit_s;
	char confirmed[sizeof(st.identity)];

	snprintf(confirmed, sizeof(confirmed), "%s", st.identity);
	for (int first = 1;; first = 0) {
		struct timespec ts = {0, 300 * 1000 * 1000};

		if ((r = call(c, type, first, alg, confirmed, &st, cmd)) != 0)
			return r;
		if (!json && (tty || strcmp(last, st.detail) != 0)) {
			fprintf(stderr, "%s[%5.1f s] %s: %s%s", tty ? "\r\033[K" : "", st.elapsed_ms / 1000.0, st.step_name,
			    st.detail, tty ? "" : "\n");
			snprintf(last, sizeof(last), "%s", st.detail);
		}
		if (!wait || st.step == STEP_DONE || st.step == STEP_REVOKED || st.step == STEP_FAILED)
			break;
		if (time(NULL) >= give_up) {
			if (tty && !json)
				fputc('\n', stderr);
			return dpkctl_fail(DPKCTL_EXIT_REFUSED, "%s: not done after %ld s (%s: %s); it goes on in the agent: "
			    "run dpkctl %s --status to follow it", cmd, limit_s, st.step_name, st.detail, cmd);
		}
		nanosleep(&ts, NULL);
	}
	if (tty && !json)
		fputc('\n', stderr);
	r = json ? print_state(&st) : 0;
	if (r == 0 && st.step == STEP_FAILED)
		r = DPKCTL_EXIT_REFUSED;
	return r;
}

int
dpkctl_rotate(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	return key_operation(c, o, "rotate", argc, argv);
}

int
dpkctl_revoke(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	return key_operation(c, o, "revoke", argc, argv);
}
