# pkm/: dpk-pkm, the Public Key Manager server and its operator commands.
noinst_LIBRARIES += pkm/libpkm.a
pkm_libpkm_a_SOURCES = pkm/config.c pkm/config.h pkm/store.c pkm/store.h pkm/pkm.h \
	pkm/serve.h pkm/chain.c pkm/requests.c pkm/server.c
pkm_libpkm_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/client $(SQLITE_CFLAGS) $(OPENSSL_CFLAGS) \
	$(CURL_CFLAGS) $(CJSON_CFLAGS) $(SECP256K1_CFLAGS)
PKM_LIBS = pkm/libpkm.a $(DPKCORE_LIBS) $(SQLITE_LIBS) -lpthread

sbin_PROGRAMS += pkm/dpk-pkm
pkm_dpk_pkm_SOURCES = pkm/main.c
pkm_dpk_pkm_CPPFLAGS = $(pkm_libpkm_a_CPPFLAGS)
pkm_dpk_pkm_LDADD = $(PKM_LIBS)

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
