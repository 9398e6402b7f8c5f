/* ssh-agent messages from a local client (dpk-agent/login/sshagent_msg.c). The
 * first byte picks the key (P-256 or RSA) and whether the rest is a whole
 * message or the data of a SIGN_REQUEST for the agent's own key (so the
 * user-authentication parser is reached). A refusal must be exactly one
 * SSH_AGENT_FAILURE byte; a signature only ever comes for data that parses
 * as a user-authentication request naming the key. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "crypto/idkey.h"
#include "login/sshagent_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed test keys (made for this fuzzer, used nowhere else), so that the
 * seed corpus can hold requests that name the agent's own key blobs and the
 * signing path is reached. */
static const char p256_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg53YCFIFawXO9UtAY\n"
	"fcg36/ZmYOIVrkcBnzsoLp3atmyhRANCAAR1OBbJvJZmM9ysc7ZAFygywPaajq9o\n"
	"ViP/hoHXwa48uAorJgARlH7cX0iaSpaAdfnYqYHG/v6BmGP/A52fpyJH\n"
	"-----END PRIVATE KEY-----\n";
static const char rsa_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDiZEYl4JnYCiPQ\n"
	"iQ7RV1NFZGYa2tGqQ7k2bE1hrt+TqXXD+Qvqi3LhMNQNeycV0403CE/9kghldP/U\n"
	"LFOL1+oiYwhhVaYY+MBEyQmYXk974z7M3DuDuANvrdsHTNZDtAJ8UfFlAKLlsijI\n"
	"3xFV7M8AClQV0+8VXyAy0HlinnhSBCPORkPWjTHoiIYs67iNpnl0DvXlZ8u13U/A\n"
	"MVZtdITPMAUN0FKGAbN0bTXm+bhNzG5v4KwsCJBwEJQmGTtkMWjuz582mIuK6zGy\n"
	"S4AfFv+XdS4Yp4TJceaEAMF56qmsnLvcd4f/pCDB/IncFd1pklRiDTNmMaI9E+4g\n"
	"4C92CsmdAgMBAAECggEACA8jxCNrtpodzkWixmcCatz5GYminxoMFNjkJE8SXHJS\n"
	"4+gQuYe/Ti7rzZMNwCQoycW8+zzgmaQBm278hmToS9MUsEpZQFhSl+BEPC1XTQS4\n"
	"7pgEclrxnF8nBeqBUiWtVPmhy0OriNu/we7W8iUc9VZoyeIih7M8NTLgr1cO13SH\n"
	"IPSIxFWN2athNYgI03pIglTaXUAVo7UWQI4GXN7et7I4IL8lzcmOkHTwFa3JKaSL\n"
	"R2c/vhtNtk9K1Wq7qFikf0AFA7BJOVz2+3PycsZGQs4Rqq+9ZmDweAX79RA25Lgb\n"
	"1+HazEjkwn611SRBpL/Pcknr1WjWPN3pv8Pv8ZbOIQKBgQD1yEYVopXc3vCLl9sz\n"
	"6ujM6MkqsPL3Qj0J5TSso8Wn7sxXKo0dtPWUjkj+0J+gpNqEdoI8VzgGQ5+d11sC\n"
	"DhDQZCA9FoUVEgq10ofz2BWYBdCEzvRgNKznM6w52GQIEeZSZDNWNBCtqd4X7Zhi\n"
	"n8Aw2ojbscC/MYyf9dQ/HErZNQKBgQDrzaLwxMZDPJfFz9phy4xoHWSpSXmri5PE\n"
	"ogG4SJ11/1cUYRexXgLBTD613hMdUaHR1tsS9fKvhjMrHp6A+zzsYyAoHDPXuz4n\n"
	"xmyK/bx9gZYgCuO+aNcel0aYokZxqN4SkIzC18ozMFFS5O8S35t4x1bmpY3I2iIt\n"
	"LLocu8QjyQKBgEx34QY+LW4olqJ3vqVqgr+t9Vio8Q7otuDrRPYphgd3jm/YN0t0\n"
	"z6tGkYNmGSP75lisHlzzreSVCYYsSI5dHfIYFMesx/8EO/zR4aaGJkHEHVoUoYeF\n"
	"G/5a30yn/IdeOlCMCETbsgy1+vlq3Kxik4MfmtDvfs59dgkWjNCN1uO5AoGBAKxq\n"
	"wCmsuAuR0qghQ10eqJu4YlImF4EHnhS5IOjOr9QH0HRmShy20OzmAzSYHQHjHp+A\n"
	"qs9CZyFQzzlIOj21duah1HF/raigkOIkhFldDuX2Sv9C9yPTJPiJRGV2wmt5Pmf0\n"
	"qfgOMRscyVoDa4wxVE0L9M7RXsruNO8zNSKtaM2BAoGBAPHcxvN/vSLU1qJVm1vR\n"
	"xEDTAgC2d3MzRDGR3neYRS2GA+54cttjCUP0PnC5zT3IpIzWYpVzbYXfRNjGuagx\n"
	"LiEoZmxWAgdg9HtXg4lEV8EHrxT/TGfs1HKtVMrHb+nkbvG3HHhpit+eNeZUAQFK\n"
	"CqBxXVf+YgcKpU7Z+q2ku8rj\n"
	"-----END PRIVATE KEY-----\n";

static struct dpk_idkey *keys[2];
static struct dpk_sshagent_key agent_keys[2];

/* dpk_idkey_load reads a 0600 file of ours: write the PEM to one */
static struct dpk_idkey *
load_pem(const char *pem)
{
	char path[] = "/tmp/fuzz_sshagent.XXXXXX";
	struct dpk_idkey *k = NULL;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, pem, strlen(pem)) != (ssize_t)strlen(pem) || dpk_idkey_load(path, &k) != 0)
		__builtin_trap();
	close(fd);
	unlink(path);
	return k;
}

static void
init(void)
{
	if (keys[0] != NULL)
		return;
	keys[0] = load_pem(p256_pem);
	keys[1] = load_pem(rsa_pem);
	if (dpk_sshagent_key_init(&agent_keys[0], keys[0], "fuzz.example.org") != 0 ||
	    dpk_sshagent_key_init(&agent_keys[1], keys[1], NULL) != 0)
		__builtin_trap();
}

static void
put_u32(struct dpk_buf *b, uint32_t v)
{
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	dpk_buf_put(b, be, 4);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dpk_sshagent_key *k;
	struct dpk_sshagent_userauth ua;
	struct dpk_buf msg, reply;
	const char *why;
	int userauth_ok;

	if (size < 1)
		return 0;
	init();
	k = &agent_keys[data[0] & 1];
	dpk_buf_init(&msg, 4 * DPK_SSHAGENT_FRAME_MAX);
	dpk_buf_init(&reply, DPK_SSHAGENT_REPLY_MAX);
	if (data[0] & 2) {
		dpk_buf_put_u8(&msg, 13);
		put_u32(&msg, (uint32_t)k->blob.len);
		dpk_buf_put(&msg, k->blob.data, k->blob.len);
		put_u32(&msg, (uint32_t)(size - 1));
		dpk_buf_put(&msg, data + 1, size - 1);
		put_u32(&msg, data[0] & 4 ? DPK_SSH_AGENT_RSA_SHA2_512 : DPK_SSH_AGENT_RSA_SHA2_256);
	} else {
		dpk_buf_put(&msg, data + 1, size - 1);
	}
	if (dpk_sshagent_answer(k, msg.data, msg.len, &reply, &why) != 0 || reply.len == 0)
		__builtin_trap();
	if (reply.data[0] == DPK_SSH_AGENT_FAILURE && (reply.len != 1 || why == NULL))
		__builtin_trap();
	if (reply.data[0] == DPK_SSH_AGENT_SIGN_RESPONSE) {
		/* what was signed: the data string of the sign request */
		struct dpk_cursor c;
		const uint8_t *p;
		uint32_t n;

		dpk_cursor_init(&c, msg.data + 1, msg.len - 1);
		if (dpk_cursor_get_be32(&c, &n) != 0 || dpk_cursor_take(&c, n, &p) != 0 ||
		    dpk_cursor_get_be32(&c, &n) != 0 || dpk_cursor_take(&c, n, &p) != 0)
			__builtin_trap();
		userauth_ok = dpk_sshagent_parse_userauth(p, n, &ua, &why) == 0;
		if (!userauth_ok || ua.keylen != k->blob.len || memcmp(ua.key, k->blob.data, ua.keylen) != 0)
			__builtin_trap();
	}
	dpk_buf_free(&msg);
	dpk_buf_free(&reply);
	return 0;
}
