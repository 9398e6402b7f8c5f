/* A strict checker of the Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/), for the
 * tests of dpkctl metrics: what Prometheus would refuse, and what its
 * naming conventions ask for, is an error here. */
#ifndef DPK_TEST_PROMTEXT_H
#define DPK_TEST_PROMTEXT_H

#include <stddef.h>

/* Check text (len bytes): every line a # HELP, a # TYPE or a sample; names
 * and label names well formed; label values quoted with only \\ \" \n
 * escapes; values numbers (or +Inf, -Inf, NaN); each family's HELP and TYPE
 * once and before its samples; every sample of a declared family (a
 * histogram's _bucket/_sum/_count); counters named *_total; no series twice;
 * a histogram's buckets cumulative, ending at le="+Inf" equal to its _count.
 * 0, or -1 with the first problem (and its line number) in why. */
int dpk_test_promtext_check(const char *text, size_t len, char *why, size_t whysz);

/* The value of the series written exactly as series (name{labels}) in
 * text; -1 if it is not there. */
double dpk_test_promtext_value(const char *text, const char *series);

#endif
