/* Strict Prometheus text format checker (promtext.h). */
#include "promtext.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAMILIES 128
#define MAX_SERIES 2048
#define NAME_MAX_LEN 200

struct family {
	char name[NAME_MAX_LEN];
	char type[16];
	int help, typed, sampled;
	/* histogram: the current label set's cumulative count */
	char hkey[512];
	double last_bucket;
	int have_inf;
	double inf;
};

struct state {
	struct family fam[MAX_FAMILIES];
	size_t nfam;
	char *series[MAX_SERIES];
	size_t nseries;
	char *why;
	size_t whysz;
	int line;
};

static int
bad(struct state *s, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(s->why, s->whysz, "line %d: ", s->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < s->whysz)
		vsnprintf(s->why + n, s->whysz - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
name_ok(const char *p, size_t n, int label)
{
	if (n == 0 || n >= NAME_MAX_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];

		if (!(isalpha(c) || c == '_' || (!label && c == ':') || (i > 0 && isdigit(c))))
			return 0;
	}
	return 1;
}

static struct family *
find(struct state *s, const char *name)
{
	for (size_t i = 0; i < s->nfam; i++)
		if (strcmp(s->fam[i].name, name) == 0)
			return &s->fam[i];
	return NULL;
}

static struct family *
get(struct state *s, const char *name)
{
	struct family *f = find(s, name);

	if (f == NULL && s->nfam < MAX_FAMILIES) {
		f = &s->fam[s->nfam++];
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
	return f;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a > b && strcmp(s + a - b, suffix) == 0;
}

static int
parse_value(const char *p, double *v)
{
	char *end;

	if (strcmp(p, "+Inf") == 0) {
		*v = INFINITY;
		return 0;
	}
	if (strcmp(p, "-Inf") == 0) {
		*v = -INFINITY;
		return 0;
	}
	if (strcmp(p, "NaN") == 0) {
		*v = NAN;
		return 0;
	}
	if (*p == '\0' || isspace((unsigned char)*p))
		return -1;
	*v = strtod(p, &end);
	return *end == '\0' && !isnan(*v) && !isinf(*v) ? 0 : -1;
}

static int
comment(struct state *s, char *l)
{
	char *kw = l + 2, *name, *rest;
	struct family *f;

	if (strncmp(l, "# ", 2) != 0 || (strncmp(kw, "HELP ", 5) != 0 && strncmp(kw, "TYPE ", 5) != 0))
		return 0; /* an ordinary comment */
	name = kw + 5;
	if ((rest = strchr(name, ' ')) == NULL)
		return bad(s, "%.4s without text after the name", kw);
	*rest++ = '\0';
	if (!name_ok(name, strlen(name), 0))
		return bad(s, "'%s' is not a metric name", name);
	if ((f = get(s, name)) == NULL)
		return bad(s, "too many metric families");
	if (f->sampled)
		return bad(s, "%.4s of %s after its samples", kw, name);
	if (strncmp(kw, "HELP", 4) == 0) {
		if (f->help++)
			return bad(s, "a second HELP for %s", name);
		if (*rest == '\0')
			return bad(s, "HELP of %s is empty", name);
		return 0;
	}
	if (f->typed++)
		return bad(s, "a second TYPE for %s", name);
	if (strcmp(rest, "counter") != 0 && strcmp(rest, "gauge") != 0 && strcmp(rest, "histogram") != 0 &&
	    strcmp(rest, "summary") != 0 && strcmp(rest, "untyped") != 0)
		return bad(s, "'%s' is not a metric type", rest);
	if (strcmp(rest, "counter") == 0 && !ends_with(name, "_total"))
		return bad(s, "counter %s is not named *_total", name);
	snprintf(f->type, sizeof(f->type), "%s", rest);
	return 0;
}

/* name{labels} value: labels copied canonically (as written) into key. */
static int
sample(struct state *s, char *l)
{
	char name[NAME_MAX_LEN], key[1024], le[64] = "", base[NAME_MAX_LEN], hkey[512] = "";
	size_t n = strcspn(l, "{ ");
	const char *p;
	struct family *f;
	double v;

	if (!name_ok(l, n, 0))
		return bad(s, "'%.*s' is not a metric name", (int)(n > 60 ? 60 : n), l);
	memcpy(name, l, n);
	name[n] = '\0';
	p = l + n;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			size_t ln = strcspn(p, "=");
			int is_le;

			if (p[ln] != '=' || !name_ok(p, ln, 1))
				return bad(s, "a malformed label name in %s", name);
			char lname[NAME_MAX_LEN];

			is_le = ln == 2 && strncmp(p, "le", 2) == 0;
			snprintf(lname, sizeof(lname), "%.*s", (int)ln, p);
			p += ln + 1;
			if (*p++ != '"')
				return bad(s, "a label value of %s is not quoted", name);
			{
				char val[512];
				size_t vn = 0;

				while (*p != '"') {
					if (*p == '\0')
						return bad(s, "an unterminated label value in %s", name);
					if (*p == '\\') {
						p++;
						if (*p != '\\' && *p != '"' && *p != 'n')
							return bad(s, "a bad escape \\%c in a label value of %s", *p ? *p : '0', name);
					}
					if (vn + 1 < sizeof(val))
						val[vn++] = *p;
					p++;
				}
				val[vn] = '\0';
				p++;
				if (is_le) {
					if (vn >= sizeof(le))
						return bad(s, "an le value of %s is too long", name);
					memcpy(le, val, vn + 1);
				} else {
					size_t hl = strlen(hkey), nl = strlen(lname);

					if (hl + nl + vn + 3 > sizeof(hkey))
						return bad(s, "the labels of %s are too long for this checker", name);
					memcpy(hkey + hl, lname, nl);
					hkey[hl + nl] = '=';
					memcpy(hkey + hl + nl + 1, val, vn);
					memcpy(hkey + hl + nl + 1 + vn, ",", 2);
				}
			}
			if (*p == ',')
				p++;
			else if (*p != '}')
				return bad(s, "labels of %s are not separated by commas", name);
		}
		p++;
	}
	if (*p++ != ' ')
		return bad(s, "no single space before the value of %s", name);
	if (strchr(p, ' ') != NULL)
		return bad(s, "a timestamp or extra text after the value of %s (not expected here)", name);
	if (parse_value(p, &v) != 0)
		return bad(s, "'%s' is not a value (of %s)", p, name);
	snprintf(key, sizeof(key), "%.*s", (int)(p - 1 - l), l);
	for (size_t i = 0; i < s->nseries; i++)
		if (strcmp(s->series[i], key) == 0)
			return bad(s, "the series %s appears twice", key);
	if (s->nseries >= MAX_SERIES || (s->series[s->nseries] = strdup(key)) == NULL)
		return bad(s, "too many series");
	s->nseries++;

	f = find(s, name);
	if (f == NULL) {
		snprintf(base, sizeof(base), "%s", name);
		if (ends_with(base, "_bucket"))
			base[strlen(base) - 7] = '\0';
		else if (ends_with(base, "_count"))
			base[strlen(base) - 6] = '\0';
		else if (ends_with(base, "_sum"))
			base[strlen(base) - 4] = '\0';
		f = find(s, base);
		if (f == NULL || (strcmp(f->type, "histogram") != 0 && strcmp(f->type, "summary") != 0))
			return bad(s, "the sample %s has no TYPE line before it", name);
	} else if (strcmp(f->type, "histogram") == 0) {
		return bad(s, "histogram %s has a sample without _bucket/_sum/_count", name);
	}
	if (!f->typed || !f->help)
		return bad(s, "%s has no %s line before its samples", f->name, f->typed ? "HELP" : "TYPE");
	f->sampled = 1;
	if (strcmp(f->type, "counter") == 0 && !(v >= 0))
		return bad(s, "counter %s is negative", name);
	if (strcmp(f->type, "histogram") == 0) {
		if (ends_with(name, "_bucket")) {
			if (le[0] == '\0')
				return bad(s, "a bucket of %s without le", f->name);
			if (strcmp(f->hkey, hkey) != 0) {
				if (f->hkey[0] != '\0' && !f->have_inf)
					return bad(s, "the buckets of %s{%s} end without le=\"+Inf\"", f->name, f->hkey);
				snprintf(f->hkey, sizeof(f->hkey), "%s", hkey);
				f->last_bucket = 0;
				f->have_inf = 0;
			}
			if (v < f->last_bucket)
				return bad(s, "the buckets of %s are not cumulative", f->name);
			f->last_bucket = v;
			if (strcmp(le, "+Inf") == 0) {
				f->have_inf = 1;
				f->inf = v;
			}
		} else if (ends_with(name, "_count")) {
			if (strcmp(f->hkey, hkey) != 0 || !f->have_inf)
				return bad(s, "%s_count without its buckets ending at le=\"+Inf\" before it", f->name);
			if (v != f->inf)
				return bad(s, "%s_count %g is not its +Inf bucket %g", f->name, v, f->inf);
		}
	}
	return 0;
}

int
dpk_test_promtext_check(const char *text, size_t len, char *why, size_t whysz)
{
	struct state *s = calloc(1, sizeof(*s));
	size_t off = 0;
	int r = 0;

	if (s == NULL)
		return -1;
	s->why = why;
	s->whysz = whysz;
	if (len == 0 || text[len - 1] != '\n')
		r = bad(s, "the text does not end with a newline");
	while (r == 0 && off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		char *l = strndup(text + off, n);

		s->line++;
		if (l == NULL || strlen(l) != n)
			r = bad(s, "a NUL byte in the text");
		else if (n == 0)
			r = 0; /* blank lines are allowed */
		else if (l[0] == '#')
			r = comment(s, l);
		else
			r = sample(s, l);
		free(l);
		off += n + 1;
	}
	for (size_t i = 0; r == 0 && i < s->nfam; i++) {
		if (s->fam[i].typed && !s->fam[i].sampled)
			r = bad(s, "%s has a TYPE but no sample", s->fam[i].name);
		if (r == 0 && strcmp(s->fam[i].type, "histogram") == 0 && !s->fam[i].have_inf)
			r = bad(s, "histogram %s has no le=\"+Inf\" bucket", s->fam[i].name);
	}
	for (size_t i = 0; i < s->nseries; i++)
		free(s->series[i]);
	free(s);
	return r;
}

double
dpk_test_promtext_value(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}
