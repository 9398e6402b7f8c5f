/* HTML form bodies (web_form.h). */
#include "web_form.h"

#include <stdlib.h>
#include <string.h>

static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

cJSON *
pkm_web_form_parse(const char *s, size_t len)
{
	cJSON *o = cJSON_CreateObject();
	char key[128], *val = malloc(len + 1);
	size_t i = 0;

	if (val == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	while (i < len) {
		char *dst = key;
		size_t n = 0, cap = sizeof(key);
		int in_val = 0;

		for (; i <= len; i++) {
			int c = i < len ? (unsigned char)s[i] : '&';

			if (c == '&')
				break;
			if (c == '=' && !in_val) {
				dst[n] = '\0';
				dst = val;
				n = 0;
				cap = len + 1;
				in_val = 1;
				continue;
			}
			if (c == '+') {
				c = ' ';
			} else if (c == '%') {
				int h, l;

				if (i + 2 >= len || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0)
					goto bad;
				c = h * 16 + l;
				i += 2;
			}
			if (c == 0 || n + 1 >= cap)
				goto bad;
			dst[n++] = (char)c;
		}
		dst[n] = '\0';
		i++;
		if (key[0] == '\0')
			continue; /* "&&", "=x": no field */
		if (!in_val)
			val[0] = '\0';
		if (cJSON_GetObjectItemCaseSensitive(o, key) != NULL)
			goto bad; /* one value per field */
		cJSON_AddStringToObject(o, key, val);
	}
	free(val);
	return o;
bad:
	free(val);
	cJSON_Delete(o);
	return NULL;
}
