# nss_dpk/: libnss_dpk.so.2, the NSS module (nss_dpk(8)). It links libc and
# the socket client only (client/client.c is compiled into it): never curl,
# cJSON or OpenSSL, since every process that resolves a user loads it.
# nssdir from configure --with-nssdir (glibc looks in /lib/MULTIARCH on Debian)
nssexecdir = $(nssdir)
nssexec_LTLIBRARIES = nss_dpk/libnss_dpk.la
nss_dpk_libnss_dpk_la_SOURCES = nss_dpk/nss_dpk.c nss_dpk/pack.c nss_dpk/pack.h \
	nss_dpk/cachefile.c nss_dpk/cachefile.h nss_dpk/fastpath.c nss_dpk/fastpath.h \
	client/client.c client/wire.h client/proto.h
nss_dpk_libnss_dpk_la_CPPFLAGS = -I$(srcdir)/include -I$(srcdir)/client -D_GNU_SOURCE
# glibc loads "libnss_dpk.so.2": libtool names 2:0:0 libnss_dpk.so.2(.0.0)
nss_dpk_libnss_dpk_la_LDFLAGS = -module -shared -version-info 2:0:0 -no-undefined \
	-Wl,--version-script=$(srcdir)/nss_dpk/nss_dpk.sym
nss_dpk_libnss_dpk_la_LIBADD =
EXTRA_DIST += nss_dpk/nss_dpk.sym

# glibc never opens libnss_dpk.so or the .la: do not install them
install-exec-hook: install-exec-hook-nss-dpk
install-exec-hook-nss-dpk:
	rm -f $(DESTDIR)$(nssexecdir)/libnss_dpk.la $(DESTDIR)$(nssexecdir)/libnss_dpk.so
uninstall-hook: uninstall-hook-nss-dpk
uninstall-hook-nss-dpk:
	rm -f $(DESTDIR)$(nssexecdir)/libnss_dpk.so.2 $(DESTDIR)$(nssexecdir)/libnss_dpk.so.2.0.0
.PHONY: install-exec-hook-nss-dpk uninstall-hook-nss-dpk
