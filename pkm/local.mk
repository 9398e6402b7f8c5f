# pkm/: dpk-pkm, the Public Key Manager server and its operator commands.
noinst_LIBRARIES += pkm/libpkm.a
pkm_libpkm_a_SOURCES = pkm/config.c pkm/config.h pkm/store.c pkm/store.h pkm/pkm.h \
	pkm/serve.h pkm/chain.c pkm/requests.c pkm/server.c pkm/actions.c pkm/actions.h \
	pkm/backup_cmd.c pkm/backup_cmd.h pkm/metrics_cmd.c pkm/metrics_cmd.h \
	pkm/checkconf.c
# the operator interface (web.h): pages, API, Domain Control Validation;
# login challenges in the format pam_dpk uses (dpk-agent/login/login_msg.c)
pkm_libpkm_a_SOURCES += pkm/web.c pkm/web.h pkm/web_api.c pkm/web_pages.c pkm/web_form.c pkm/web_form.h pkm/dcv.c pkm/dcv.h \
	dpk-agent/login/login_msg.c dpk-agent/login/login_msg.h
pkm_libpkm_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/client -I$(srcdir)/dpk-agent $(SQLITE_CFLAGS) $(OPENSSL_CFLAGS) \
	$(CURL_CFLAGS) $(CJSON_CFLAGS) $(SECP256K1_CFLAGS) $(MHD_CFLAGS) $(SODIUM_CFLAGS)
PKM_LIBS = pkm/libpkm.a $(DPKCORE_LIBS) $(SQLITE_LIBS) $(MHD_LIBS) $(SODIUM_LIBS) $(RESOLV_LIBS) -lpthread

sbin_PROGRAMS += pkm/dpk-pkm
pkm_dpk_pkm_SOURCES = pkm/main.c
pkm_dpk_pkm_CPPFLAGS = $(pkm_libpkm_a_CPPFLAGS)
pkm_dpk_pkm_LDADD = $(PKM_LIBS)

EXTRA_DIST += pkm/README.md
# The PKM runs as its own system user (dpk-pkm, from sysusers.d).
if HAVE_SYSTEMD_UNITS
systemdsystemunit_DATA += pkm/dpk-pkm.service
sysusers_DATA = pkm/sysusers.d/dpk-pkm.conf
tmpfiles_DATA += pkm/tmpfiles.d/dpk-pkm.conf
endif
EXTRA_DIST += pkm/dpk-pkm.service.in pkm/sysusers.d/dpk-pkm.conf pkm/tmpfiles.d/dpk-pkm.conf
pkm/dpk-pkm.service: $(srcdir)/pkm/dpk-pkm.service.in Makefile
	$(AM_V_GEN)mkdir -p pkm && $(do_subst) $(srcdir)/pkm/dpk-pkm.service.in > $@
CLEANFILES += pkm/dpk-pkm.service
dist_dpkconf_DATA += pkm/pkm.conf.example
