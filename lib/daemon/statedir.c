#include "daemon/statedir.h"

#include "base/err.h"
#include "base/hex.h"
#include "eth/keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define WALLET_PASS_LEN 64 /* hex digits of 32 random bytes */

static int
ensure_private_dir(const char *dir, char *err, size_t errsz)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot create state directory %s: %s", dir, strerror(errno));
		return DPK_ERR_IO;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "state directory %s is not a directory", dir);
		return DPK_ERR_IO;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, errsz, "state directory %s must be owned by uid %ld with mode 0700 (it is uid %ld, mode %04o)",
		    dir, (long)geteuid(), (long)st.st_uid, (unsigned)(st.st_mode & 07777));
		return DPK_ERR_IO;
	}
	return 0;
}

/* Read the wallet password, or create it if neither it nor the wallet exist. */
static int
wallet_password(const char *pass_path, int wallet_exists, char pw[WALLET_PASS_LEN + 1], char *err, size_t errsz)
{
	uint8_t raw[WALLET_PASS_LEN / 2];
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(pass_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
			close(fd);
			snprintf(err, errsz, "%s must be a regular file with mode 0600", pass_path);
			return DPK_ERR_IO;
		}
		n = read(fd, pw, WALLET_PASS_LEN + 1);
		close(fd);
		if (n != WALLET_PASS_LEN) {
			snprintf(err, errsz, "%s is damaged (expected %d hex digits)", pass_path, WALLET_PASS_LEN);
			explicit_bzero(pw, WALLET_PASS_LEN + 1);
			return DPK_ERR_SYNTAX;
		}
		pw[WALLET_PASS_LEN] = '\0';
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errsz, "cannot open %s: %s", pass_path, strerror(errno));
		return DPK_ERR_IO;
	}
	if (wallet_exists) {
		/* never make a new password for an existing wallet: its funds would be lost */
		snprintf(err, errsz, "%s is missing but the wallet exists: restore it from a backup", pass_path);
		return DPK_ERR_NOTFOUND;
	}
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return DPK_ERR_CRYPTO;
	dpk_hex_encode(raw, sizeof(raw), 0, pw, WALLET_PASS_LEN + 1);
	explicit_bzero(raw, sizeof(raw));
	if ((fd = open(pass_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
	    write(fd, pw, WALLET_PASS_LEN) != WALLET_PASS_LEN || fsync(fd) != 0) {
		snprintf(err, errsz, "cannot write %s: %s", pass_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(pass_path);
		return DPK_ERR_IO;
	}
	close(fd);
	return 0;
}

int
dpk_statedir_open(const char *dir, enum dpk_idkey_alg alg, unsigned rsa_bits,
    struct dpk_statedir *out, char *err, size_t errsz)
{
	char key_path[PATH_MAX], pass_path[PATH_MAX], wallet_path[PATH_MAX], pw[WALLET_PASS_LEN + 1];
	const char *detail = NULL;
	int r, wallet_exists;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if ((r = ensure_private_dir(dir, err, errsz)) != 0)
		return r;
	snprintf(key_path, sizeof(key_path), "%s/identity.pem", dir);
	snprintf(pass_path, sizeof(pass_path), "%s/wallet.pass", dir);
	snprintf(wallet_path, sizeof(wallet_path), "%s/wallet.json", dir);

	r = dpk_idkey_load_or_create(key_path, alg, rsa_bits, &out->idkey, &out->created_key);
	if (r != 0) {
		snprintf(err, errsz, "identity key %s: %s%s", key_path, dpk_strerror(r),
		    r == DPK_ERR_IO ? " (it must be a regular file with mode 0600 owned by us)" : "");
		return r;
	}
	wallet_exists = access(wallet_path, F_OK) == 0;
	if ((r = wallet_password(pass_path, wallet_exists, pw, err, errsz)) != 0)
		goto out;
	if (wallet_exists) {
		r = dpk_keystore_read_file(wallet_path, (const uint8_t *)pw, WALLET_PASS_LEN, NULL, &out->wallet, &detail);
		if (r != 0)
			snprintf(err, errsz, "wallet %s: %s%s%s", wallet_path, dpk_strerror(r),
			    detail && *detail ? ": " : "", detail ? detail : "");
	} else {
		/* the password is 256 random bits: the KDF's cost adds nothing, so keep start-up cheap */
		struct dpk_keystore_opts opts = {.kdf = DPK_KEYSTORE_SCRYPT, .scrypt_n = 8192, .scrypt_r = 8, .scrypt_p = 1};

		if ((r = dpk_wallet_generate(&out->wallet)) == 0 &&
		    (r = dpk_keystore_write_file(wallet_path, &out->wallet, (const uint8_t *)pw, WALLET_PASS_LEN, &opts)) != 0)
			snprintf(err, errsz, "cannot write wallet %s: %s", wallet_path, dpk_strerror(r));
		out->created_wallet = r == 0;
	}
out:
	explicit_bzero(pw, sizeof(pw));
	if (r != 0)
		dpk_statedir_close(out);
	return r;
}

void
dpk_statedir_close(struct dpk_statedir *sd)
{
	dpk_idkey_free(sd->idkey);
	dpk_wallet_clear(&sd->wallet);
	memset(sd, 0, sizeof(*sd));
}
