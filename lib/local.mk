# lib/: the Ethereum core shared by the daemons and CLIs (static, internal).
noinst_LIBRARIES += lib/libdpkcore.a
lib_libdpkcore_a_SOURCES = \
	lib/base/err.c lib/base/err.h \
	lib/base/buf.c lib/base/buf.h \
	lib/base/hex.c lib/base/hex.h \
	lib/eth/u256.c lib/eth/u256.h \
	lib/eth/keccak.c lib/eth/keccak.h \
	lib/eth/rlp.c lib/eth/rlp.h \
	lib/eth/abi.c lib/eth/abi.h \
	lib/eth/wallet.c lib/eth/wallet.h \
	lib/eth/tx.c lib/eth/tx.h \
	lib/eth/keystore.c lib/eth/keystore.h \
	lib/eth/rpc.c lib/eth/rpc.h \
	lib/eth/mpt.c lib/eth/mpt.h \
	lib/eth/header.c lib/eth/header.h \
	lib/eth/proof.c lib/eth/proof.h \
	lib/crypto/idkey.c lib/crypto/idkey.h \
	lib/enrol/token.c lib/enrol/token.h \
	lib/enrol/tlspsk.c lib/enrol/tlspsk.h \
	lib/daemon/chaincheck.c lib/daemon/chaincheck.h \
	lib/daemon/conffile.c lib/daemon/conffile.h \
	lib/daemon/statedir.c lib/daemon/statedir.h \
	lib/daemon/backup.c lib/daemon/backup.h \
	lib/daemon/netsource.c lib/daemon/netsource.h \
	lib/daemon/notify.c lib/daemon/notify.h \
	lib/daemon/cli.c lib/daemon/cli.h \
	lib/eth/txsend.c lib/eth/txsend.h \
	lib/eth/logscan.c lib/eth/logscan.h \
	lib/eth/fees.c lib/eth/fees.h \
	lib/registry/check.c lib/registry/check.h \
	lib/registry/identity.c lib/registry/identity.h \
	lib/registry/registry.c lib/registry/registry.h \
	lib/registry/slots.c lib/registry/slots.h \
	lib/registry/vread.c lib/registry/vread.h \
	lib/crypto/hkdf.c lib/crypto/hkdf.h \
	lib/crypto/aead.c lib/crypto/aead.h \
	lib/crypto/hpke.c lib/crypto/hpke.h \
	lib/crypto/pke.c lib/crypto/pke.h \
	lib/psk/handshake.c lib/psk/handshake.h \
	lib/psk/ticket.c lib/psk/ticket.h
lib_libdpkcore_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS) \
	$(CJSON_CFLAGS) $(SECP256K1_CFLAGS) $(NETTLE_CFLAGS) $(SODIUM_CFLAGS) $(LIBSYSTEMD_CFLAGS)

# What a program linking the core needs.
DPKCORE_LIBS = lib/libdpkcore.a $(OPENSSL_LIBS) $(CURL_LIBS) $(CJSON_LIBS) \
	$(SECP256K1_LIBS) $(NETTLE_LIBS) $(SODIUM_LIBS)
