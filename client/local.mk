# client/: libdpkclient, the libc-only client of the dpk-agent socket
# (doc/protocol.md), installed with its header and a pkg-config file.
lib_LTLIBRARIES = client/libdpkclient.la
client_libdpkclient_la_SOURCES = client/client.c client/hostconf.c client/wire.h client/proto.h
client_libdpkclient_la_CPPFLAGS = -I$(srcdir)/include -D_GNU_SOURCE
# Only the dpk_client_* API is exported (checked by tests/unit/client/test_client).
client_libdpkclient_la_LDFLAGS = -version-info 0:0:0 -no-undefined \
	-Wl,--version-script=$(srcdir)/client/libdpkclient.sym
EXTRA_DIST += client/libdpkclient.sym client/dpkclient.pc.in
# #include <dpk/client.h> with the Cflags of dpkclient.pc (-I$(includedir))
dpkincludedir = $(includedir)/dpk
dpkinclude_HEADERS = include/dpk/client.h

# programs link libdpkclient.so (dpkclient.pc): do not install the .la
install-exec-hook: install-exec-hook-dpkclient
install-exec-hook-dpkclient:
	rm -f $(DESTDIR)$(libdir)/libdpkclient.la
uninstall-hook: uninstall-hook-dpkclient
uninstall-hook-dpkclient:
	rm -f $(DESTDIR)$(libdir)/libdpkclient.so $(DESTDIR)$(libdir)/libdpkclient.so.0 $(DESTDIR)$(libdir)/libdpkclient.so.0.0.0
.PHONY: install-exec-hook-dpkclient uninstall-hook-dpkclient

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = client/dpkclient.pc
client/dpkclient.pc: $(srcdir)/client/dpkclient.pc.in Makefile
	$(AM_V_GEN)mkdir -p client && sed -e 's|@prefix[@]|$(prefix)|g' -e 's|@exec_prefix[@]|$(exec_prefix)|g' \
	  -e 's|@libdir[@]|$(libdir)|g' -e 's|@includedir[@]|$(includedir)|g' \
	  -e 's|@VERSION[@]|$(VERSION)|g' $(srcdir)/client/dpkclient.pc.in > $@
CLEANFILES += client/dpkclient.pc
