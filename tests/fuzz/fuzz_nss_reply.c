/* nss_dpk's unpacking of the agent's answers (nss_dpk/pack.c): any bytes,
 * any buffer size. Never a crash or a write outside the buffer; a success
 * puts every string inside the buffer and re-encodes to the same body.
 * Input: byte 0 selects passwd / group / groups, byte 1 the buffer size,
 * the rest is the answer body after its "found" byte. */
#include "pack.h"
#include "wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const char *s, const char *buf, size_t buflen)
{
	if (s < buf || s >= buf + buflen || memchr(s, '\0', (size_t)(buf + buflen - s)) == NULL)
		abort();
}

static void
put_text(struct dpk_wire_w *w, const char *s)
{
	dpk_wire_put_string(w, s, strlen(s));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[70000];
	struct dpk_wire_w w;
	size_t buflen;
	char *buf;
	int err = 0;

	if (size < 2)
		return 0;
	buflen = (size_t)data[1] * 8;
	/* malloc exactly buflen: ASan sees any byte written past it */
	if ((buf = malloc(buflen ? buflen : 1)) == NULL)
		return 0;
	dpk_wire_w_init(&w, again, sizeof(again));
	if (data[0] % 3 == 0) {
		struct passwd pw;
		enum nss_status st = nss_dpk_pack_passwd(data + 2, size - 2, data[0] & 4, 200000, &pw, buf, buflen, &err);

		if (st == NSS_STATUS_SUCCESS) {
			inside(pw.pw_name, buf, buflen);
			inside(pw.pw_passwd, buf, buflen);
			inside(pw.pw_gecos, buf, buflen);
			inside(pw.pw_dir, buf, buflen);
			inside(pw.pw_shell, buf, buflen);
			put_text(&w, pw.pw_name);
			dpk_wire_put_u32(&w, pw.pw_uid);
			dpk_wire_put_u32(&w, pw.pw_gid);
			put_text(&w, pw.pw_gecos);
			put_text(&w, pw.pw_dir);
			put_text(&w, pw.pw_shell);
			if (w.err || w.len != size - 2 || memcmp(again, data + 2, w.len) != 0)
				abort();
		} else if (!(st == NSS_STATUS_TRYAGAIN && err == ERANGE) && !(st == NSS_STATUS_UNAVAIL && err == EPROTO)) {
			abort();
		}
	} else if (data[0] % 3 == 1) {
		struct group gr;
		enum nss_status st = nss_dpk_pack_group(data + 2, size - 2, data[0] & 4, 200000, &gr, buf, buflen, &err);

		if (st == NSS_STATUS_SUCCESS) {
			size_t k = 0;

			inside(gr.gr_name, buf, buflen);
			inside(gr.gr_passwd, buf, buflen);
			if ((char *)gr.gr_mem < buf || (uintptr_t)gr.gr_mem % sizeof(char *) != 0)
				abort();
			put_text(&w, gr.gr_name);
			dpk_wire_put_u32(&w, gr.gr_gid);
			while (gr.gr_mem[k] != NULL)
				k++;
			dpk_wire_put_u32(&w, (uint32_t)k);
			for (k = 0; gr.gr_mem[k] != NULL; k++) {
				inside(gr.gr_mem[k], buf, buflen);
				put_text(&w, gr.gr_mem[k]);
			}
			if (w.err || w.len != size - 2 || memcmp(again, data + 2, w.len) != 0)
				abort();
		} else if (!(st == NSS_STATUS_TRYAGAIN && err == ERANGE) && !(st == NSS_STATUS_UNAVAIL && err == EPROTO)) {
			abort();
		}
	} else {
		uint32_t gids[NSS_DPK_MAX_GROUPS];
		int n = nss_dpk_unpack_groups(data + 2, size - 2, gids);

		if (n >= 0) {
			dpk_wire_put_u32(&w, (uint32_t)n);
			for (int i = 0; i < n; i++)
				dpk_wire_put_u32(&w, gids[i]);
			if (w.err || w.len != size - 2 || memcmp(again, data + 2, w.len) != 0)
				abort();
		}
	}
	free(buf);
	return 0;
}
