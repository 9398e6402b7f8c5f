# examples/: small programs that show the client library in use (built, not installed).
noinst_PROGRAMS += examples/psk-server
examples_psk_server_SOURCES = examples/psk-server.c
examples_psk_server_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/include $(OPENSSL_CFLAGS)
examples_psk_server_LDADD = client/libdpkclient.la $(OPENSSL_LIBS)
