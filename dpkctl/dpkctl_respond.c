/* dpkctl respond (dpkctl(1)): answer a pam_dpk login challenge with this
 * device's identity key. What is being asked goes to stderr so the user
 * sees it before pasting the response; the response alone goes to stdout. */
#include "dpkctl.h"

#include "dpk/client.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The challenge from stdin: one line, surrounding white space dropped. */
static int
read_challenge(char *out, size_t outsz)
{
	size_t n;
	char *s;

	if (fgets(out, (int)outsz, stdin) == NULL)
		return -1;
	n = strlen(out);
	if (n == outsz - 1 && out[n - 1] != '\n')
		return -1; /* longer than any challenge */
	while (n > 0 && strchr(" \t\r\n", out[n - 1]) != NULL)
		out[--n] = '\0';
	s = out + strspn(out, " \t");
	memmove(out, s, strlen(s) + 1);
	return out[0] != '\0' ? 0 : -1;
}

int
dpkctl_respond(const char *socket, int timeout_ms, int argc, char **argv)
{
	struct dpk_client_login_response resp;
	struct dpk_client *c;
	char line[DPK_CLIENT_LOGIN_TEXT_MAX + 2];
	const char *challenge;
	const char *msg = "";
	time_t now = time(NULL);
	int r;

	if (argc > 1) {
		fprintf(stderr, "dpkctl: respond takes one challenge (or reads it from stdin)\n");
		return DPKCTL_EXIT_USAGE;
	}
	if (argc == 1 && strcmp(argv[0], "-") != 0) {
		challenge = argv[0];
	} else if (read_challenge(line, sizeof(line)) == 0) {
		challenge = line;
	} else {
		fprintf(stderr, "dpkctl: respond: no challenge on stdin (paste the text that starts with DPK-LOGIN-v1.)\n");
		return DPKCTL_EXIT_USAGE;
	}
	if (strlen(challenge) > DPK_CLIENT_LOGIN_TEXT_MAX) {
		fprintf(stderr, "dpkctl: respond: the challenge is too long to be a DPK login challenge\n");
		return DPKCTL_EXIT_USAGE;
	}
	if ((r = dpkctl_open(socket, timeout_ms, &c)) != 0)
		return r;
	r = dpk_client_login_respond(c, challenge, &resp);
	if (r == DPK_CLIENT_EAGENT) {
		dpk_client_agent_error(c, &msg);
		fprintf(stderr, "dpkctl: respond: %s\n", msg);
		r = DPKCTL_EXIT_REFUSED;
	} else if (r != 0) {
		fprintf(stderr, "dpkctl: respond: %s\n", dpk_client_strerror(r));
		r = r == DPK_CLIENT_EPROTO ? DPKCTL_EXIT_PROTOCOL : DPKCTL_EXIT_UNREACHABLE;
	} else {
		fprintf(stderr, "Login to %s as %s (service %s); the challenge expires in %lld s.\n", resp.host, resp.user,
		    resp.service, (long long)((time_t)resp.expiry - now));
		fprintf(stderr, "Answer with this response only if you are logging in there now:\n");
		printf("%s\n", resp.response);
		r = fflush(stdout) == 0 ? 0 : DPKCTL_EXIT_REFUSED;
	}
	explicit_bzero(&resp, sizeof(resp));
	dpk_client_close(c);
	return r;
}
