# pam_dpk/: pam_dpk.so, the PAM module (pam_dpk(8)). It links libc, libpam and
# the socket client only (client/client.c and hostconf.c are compiled into it): never curl,
# cJSON or OpenSSL, since every login loads it. pamdpk.c holds its logic so
# the unit tests and the fuzz target link the same code.
# (an "exec" directory, so that install-exec installs it; pamdir from configure --with-pamdir)
pamexecdir = $(pamdir)
pamexec_LTLIBRARIES = pam_dpk/pam_dpk.la
pam_dpk_pam_dpk_la_SOURCES = pam_dpk/pam_dpk.c pam_dpk/pamdpk.c pam_dpk/pamdpk.h \
	client/client.c client/hostconf.c client/wire.h client/proto.h
pam_dpk_pam_dpk_la_CPPFLAGS = -I$(srcdir)/include -I$(srcdir)/client -D_GNU_SOURCE $(PAM_CFLAGS)
pam_dpk_pam_dpk_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-Wl,--version-script=$(srcdir)/pam_dpk/pam_dpk.sym
pam_dpk_pam_dpk_la_LIBADD = $(PAM_LIBS)
EXTRA_DIST += pam_dpk/pam_dpk.sym pam_dpk/pam-auth-update.profile

# libpam opens pam_dpk.so only: do not install the .la
install-exec-hook: install-exec-hook-pam-dpk
install-exec-hook-pam-dpk:
	rm -f $(DESTDIR)$(pamexecdir)/pam_dpk.la
uninstall-hook: uninstall-hook-pam-dpk
uninstall-hook-pam-dpk:
	rm -f $(DESTDIR)$(pamexecdir)/pam_dpk.so
.PHONY: install-exec-hook-pam-dpk uninstall-hook-pam-dpk
