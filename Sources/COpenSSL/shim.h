#ifndef IEC_COPENSSL_SHIM_H
#define IEC_COPENSSL_SHIM_H

// OpenSSL 3 libcrypto, with the awkward parts (variadic and macro APIs, DER
// signature juggling, OSSL_PARAM look-ups) fixed here in C so that the Swift
// wrapper only sees plain calls. Every helper returns 1 on success, 0 on failure.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <string.h>

/// A fresh P-256 key pair, or NULL.
static inline EVP_PKEY *iec_p256_generate(void) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    if (ctx == NULL) return NULL;
    if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_group_name(ctx, "prime256v1") != 1 ||
        EVP_PKEY_generate(ctx, &key) != 1) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/// 1 when `key` is an EC key on P-256.
static inline int iec_p256_is_p256(const EVP_PKEY *key) {
    char group[32] = {0};
    size_t length = 0;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1) return 0;
    return strcmp(group, "prime256v1") == 0;
}

/// The public point, uncompressed (0x04 || X || Y), into `out` (65 bytes).
static inline int iec_p256_public_point(const EVP_PKEY *key, unsigned char out[65]) {
    size_t length = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out, 65, &length) != 1) return 0;
    return length == 65 && out[0] == 0x04;
}

/// The private scalar, big-endian and left-padded, into `out` (32 bytes).
static inline int iec_p256_private_scalar(const EVP_PKEY *key, unsigned char out[32]) {
    BIGNUM *scalar = NULL;
    int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &scalar) == 1 &&
             BN_bn2binpad(scalar, out, 32) == 32;
    BN_clear_free(scalar);
    return ok;
}

/// 1 when the key holds a private part.
static inline int iec_pkey_has_private(const EVP_PKEY *key) {
    BIGNUM *scalar = NULL;
    int has = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &scalar) == 1;
    BN_clear_free(scalar);
    return has;
}

/// Parses a SubjectPublicKeyInfo (DER).
static inline EVP_PKEY *iec_pkey_from_spki_der(const unsigned char *der, size_t length) {
    const unsigned char *cursor = der;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &cursor, (long)length);
    if (key != NULL && cursor != der + length) {  // trailing bytes
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

/// Parses a private key in PKCS#8 or SEC1 (RFC 5915) DER.
static inline EVP_PKEY *iec_pkey_from_private_der(const unsigned char *der, size_t length) {
    const unsigned char *cursor = der;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &cursor, (long)length);
    if (key != NULL && cursor != der + length) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

/// Parses a PEM text holding a private key (PKCS#8, SEC1) or a public key (SPKI).
static inline EVP_PKEY *iec_pkey_from_pem(const char *pem, size_t length, int want_private) {
    BIO *bio = BIO_new_mem_buf(pem, (int)length);
    EVP_PKEY *key = NULL;
    if (bio == NULL) return NULL;
    key = want_private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : PEM_read_bio_PUBKEY(bio, NULL, NULL, (void *)"");
    BIO_free(bio);
    return key;
}

/// DER encoding of the public key (SPKI) or private key (PKCS#8) into a fresh
/// buffer that the caller frees with `iec_free`. Returns the length or -1.
static inline long iec_pkey_to_der(const EVP_PKEY *key, int private_part, unsigned char **out) {
    *out = NULL;
    if (private_part) {
        PKCS8_PRIV_KEY_INFO *info = EVP_PKEY2PKCS8(key);
        int length;
        if (info == NULL) return -1;
        length = i2d_PKCS8_PRIV_KEY_INFO(info, out);
        PKCS8_PRIV_KEY_INFO_free(info);
        return length > 0 ? length : -1;
    } else {
        int length = i2d_PUBKEY(key, out);
        return length > 0 ? length : -1;
    }
}

static inline void iec_free(void *pointer, size_t length) {
    if (pointer != NULL) OPENSSL_clear_free(pointer, length);
}

/// ES256: signs SHA-256(message) and writes the JWS form R || S (64 bytes).
static inline int iec_es256_sign(EVP_PKEY *key, const unsigned char *message, size_t length, unsigned char out[64]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t der_length = sizeof der;
    const unsigned char *cursor = der;
    ECDSA_SIG *signature = NULL;
    const BIGNUM *r = NULL, *s = NULL;
    int ok = 0;
    if (ctx == NULL) return 0;
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(ctx, der, &der_length, message, length) == 1 &&
        (signature = d2i_ECDSA_SIG(NULL, &cursor, (long)der_length)) != NULL) {
        ECDSA_SIG_get0(signature, &r, &s);
        ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
    }
    ECDSA_SIG_free(signature);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/// ES256: 1 when `signature` (R || S, 64 bytes) is valid for SHA-256(message).
static inline int iec_es256_verify(EVP_PKEY *key, const unsigned char *message, size_t length,
                                   const unsigned char signature[64]) {
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(signature, 32, NULL);
    BIGNUM *s = BN_bin2bn(signature + 32, 32, NULL);
    unsigned char *der = NULL;
    int der_length, ok = 0;
    EVP_MD_CTX *ctx = NULL;
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return 0;
    }
    der_length = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);  // also frees r and s
    if (der_length <= 0) return 0;
    ctx = EVP_MD_CTX_new();
    if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1) {
        ok = EVP_DigestVerify(ctx, der, (size_t)der_length, message, length) == 1;
    }
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

static inline int iec_sha256(const unsigned char *data, size_t length, unsigned char out[32]) {
    unsigned int out_length = 0;
    return EVP_Digest(data, length, out, &out_length, EVP_sha256(), NULL) == 1 && out_length == 32;
}

static inline int iec_hmac_sha256(const unsigned char *key, size_t key_length, const unsigned char *data, size_t length,
                                  unsigned char out[32]) {
    unsigned int out_length = 0;
    static const unsigned char empty = 0;
    // HMAC() treats a NULL key as "reuse"; an empty key must still be a valid pointer.
    return HMAC(EVP_sha256(), key_length ? key : &empty, (int)key_length, data, length, out, &out_length) != NULL &&
           out_length == 32;
}

#endif
