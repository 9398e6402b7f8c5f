# lib/: the Ethereum core shared by the daemons and CLIs (static, internal).
noinst_LIBRARIES += lib/libdpkcore.a
lib_libdpkcore_a_SOURCES = \
	lib/err.c lib/err.h \
	lib/buf.c lib/buf.h \
	lib/hex.c lib/hex.h \
	lib/u256.c lib/u256.h \
	lib/keccak.c lib/keccak.h \
	lib/rlp.c lib/rlp.h \
	lib/abi.c lib/abi.h \
	lib/wallet.c lib/wallet.h \
	lib/tx.c lib/tx.h \
	lib/keystore.c lib/keystore.h \
	lib/rpc.c lib/rpc.h \
	lib/idkey.c lib/idkey.h \
	lib/token.c lib/token.h \
	lib/tlspsk.c lib/tlspsk.h \
	lib/conffile.c lib/conffile.h \
	lib/statedir.c lib/statedir.h \
	lib/txsend.c lib/txsend.h \
	lib/approval.c lib/approval.h \
	lib/identity.c lib/identity.h \
	lib/registry.c lib/registry.h \
	lib/hkdf.c lib/hkdf.h \
	lib/aead.c lib/aead.h \
	lib/hpke.c lib/hpke.h \
	lib/pke.c lib/pke.h \
	lib/handshake.c lib/handshake.h \
	lib/ticket.c lib/ticket.h
lib_libdpkcore_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS) \
	$(CJSON_CFLAGS) $(SECP256K1_CFLAGS) $(NETTLE_CFLAGS) $(SODIUM_CFLAGS)

# What a program linking the core needs.
DPKCORE_LIBS = lib/libdpkcore.a $(OPENSSL_LIBS) $(CURL_LIBS) $(CJSON_LIBS) \
	$(SECP256K1_LIBS) $(NETTLE_LIBS) $(SODIUM_LIBS)
