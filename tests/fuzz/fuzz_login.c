/* Login challenge and response texts (dpk-agent/login/login_msg.c: what the agent
 * and dpkctl respond parse from users and the network), the agent's parser
 * of a LOGIN_RESPOND request body, and libdpkclient's parsers of the LOGIN_*
 * replies that pam_dpk and dpkctl respond read from the socket. The first
 * byte picks the parser. A challenge that parses must encode back to the
 * same text (one spelling per challenge). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dpk/client.h"
#include "login/login_msg.h"

int dpkclient_internal_adopt_fd(int fd, int timeout_ms, struct dpk_client **out);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
reply(uint8_t which, const uint8_t *data, size_t size)
{
	struct dpk_client_login_challenge ch;
	struct dpk_client_login_response resp;
	struct dpk_client *c;
	char ident[254];
	uint8_t status;
	int sv[2], bufsz = 1 << 20;

	if (size > 70000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	shutdown(sv[1], SHUT_WR);
	if (dpkclient_internal_adopt_fd(sv[0], 50, &c) == 0) {
		struct dpk_client_user_check u;

		/* USER_CHECK's reply under the high bit, so the other selectors keep their seeds */
		switch (which & 0x80 ? 5 : which % 5) {
		case 5:
			if (dpk_client_user_check(c, "alice.example.org", &u) == 0 &&
			    (u.n > DPK_CLIENT_USER_CHECK_STEPS || u.result > 5 || u.login > 1))
				abort();
			break;
		case 0:
			if (dpk_client_login_challenge(c, "alice.example.org", "sshd", &ch) == 0 &&
			    (ch.challenge[0] == '\0' || strlen(ch.challenge) > DPK_CLIENT_LOGIN_TEXT_MAX))
				abort();
			break;
		case 1: dpk_client_login_respond(c, "DPK-LOGIN-v1.AA", &resp); break;
		case 2:
			/* a proven block only after a reply that parsed whole */
			if (dpk_client_login_verify(c, "DPK-LOGIN-v1.AA", "DPK-RESPONSE-v1.AA", ident, sizeof(ident)) != 0 &&
			    dpk_client_login_proof(c, NULL, NULL))
				abort();
			break;
		case 3:
			if (dpk_client_login_describe(c, "DPK-LOGIN-v1.AA", &resp) == 0 &&
			    (resp.response[0] != '\0' || resp.host[0] == '\0'))
				abort();
			break;
		default: {
			int r = dpk_client_login_account(c, "alice.example.org", &status, ident, sizeof(ident));

			if ((r == 0 && status > 2) || (r != 0 && dpk_client_login_proof(c, NULL, NULL)))
				abort();
			break;
		}
		}

		dpk_client_close(c); /* closes sv[0] */
	}
	close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_login_challenge ch;
	char again[DPK_LOGIN_CHALLENGE_TEXT_MAX + 1];
	uint8_t sig[DPK_LOGIN_SIG_MAX];
	size_t n;

	if (size == 0)
		return 0;
	switch (data[0]) {
	case 0:
		if (dpk_login_challenge_decode((const char *)data + 1, size - 1, &ch) == 0) {
			if (dpk_login_challenge_encode(&ch, again, sizeof(again)) != 0 || strlen(again) != size - 1 ||
			    memcmp(again, data + 1, size - 1) != 0)
				abort();
		}
		break;
	case 1:
		if (dpk_login_response_decode((const char *)data + 1, size - 1, sig, &n) == 0 &&
		    (n == 0 || n > DPK_LOGIN_SIG_MAX))
			abort();
		break;
	case 2: {
		const char *text;
		size_t tl;
		int mode;

		if (dpk_login_respond_parse(data + 1, size - 1, &text, &tl, &mode) == 0) {
			if ((mode != DPK_LOGIN_DESCRIBE && mode != DPK_LOGIN_SIGN) || text < (const char *)data + 1 ||
			    text + tl > (const char *)data + size)
				abort();
			if (dpk_login_challenge_decode(text, tl, &ch) == 0 &&
			    (dpk_login_challenge_encode(&ch, again, sizeof(again)) != 0 || strlen(again) != tl))
				abort();
		}
		break;
	}
	default:
		reply(data[0], data + 1, size - 1);
		break;
	}
	return 0;
}
