/*
 * pki.h — the simulator's keys and certificates (wolfSSL underneath).
 *
 * entra-sim holds four RSA keys in its state directory: the test root CA
 * that signs the HTTPS server certificate, the server key, the
 * MS-Organization-Access CA that issues device certificates, and the
 * token-signing key for RS256 access tokens.  Certificates are assembled
 * with der.h (so names and extensions are exactly what the DRS reference
 * describes) and signed with sha256WithRSAEncryption.  A struct pki_key is
 * safe to use from several threads: signing is serialised by its own lock.
 */
#ifndef LJ_SIM_PKI_H
#define LJ_SIM_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "hw-sim/entra-sim/der.h"
#include "hw-sim/entra-sim/util.h"
#include "platform/common/result.h"

/* The placeholder subject every join CSR carries. */
#define PKI_JOIN_CSR_CN "7E980AD9-B86D-4306-9425-9AC066FB014A"
/* OU of the MS-Organization-Access issuer (documented value). */
#define PKI_MSORG_OU "82dbaca4-3e81-46ca-9c73-0950c1eaca97"

struct pki_key;

/* Generate an RSA key (bits, e = 65537).  Caller frees with pki_key_free. */
enum lj_rc pki_key_generate(int bits, struct pki_key **out);
/* Load a PEM private key (PKCS#1 or PKCS#8).  Caller frees with pki_key_free. */
enum lj_rc pki_key_load(const char *path, struct pki_key **out);
/* Write the key as PKCS#1 PEM, mode 0600, atomically. */
enum lj_rc pki_key_save(struct pki_key *k, const char *path);
void pki_key_free(struct pki_key *k);
/* The DER SubjectPublicKeyInfo (borrowed, lives as long as k). */
const unsigned char *pki_key_spki(const struct pki_key *k, size_t *len);
/* RSASSA-PKCS1-v1_5 with SHA-256.  *siglen: in buffer size, out length. */
enum lj_rc pki_key_sign(struct pki_key *k, const void *data, size_t n, unsigned char *sig,
                        size_t *siglen);

/* Verify an RSASSA-PKCS1-v1_5 SHA-256 signature by the key in spki. */
bool pki_rs256_verify(const unsigned char *spki, size_t spki_len, const void *data, size_t n,
                      const unsigned char *sig, size_t siglen);
/*
 * The RSA modulus and exponent (big-endian, minimal) of an SPKI.  Buffers
 * are caller's: mod at least 1024 bytes, exp at least 16.
 */
bool pki_spki_rsa(const unsigned char *spki, size_t spki_len, unsigned char *mod, size_t *modlen,
                  unsigned char *exp, size_t *explen);

/*
 * Create a self-signed CA certificate for key.  msorg selects the
 * MS-Organization-Access name (DC=net, DC=windows, CN, OU); otherwise the
 * subject is CN=cn, O=linkjoin entra-sim test.  *der is malloc'ed (caller
 * frees).
 */
enum lj_rc pki_make_root(struct pki_key *key, const char *cn, bool msorg, unsigned char **der,
                         size_t *len);
/*
 * Issue the HTTPS server certificate for srv_spki, signed by ca_key whose
 * certificate is ca_der.  Names: login.microsoftonline.com,
 * enterpriseregistration.windows.net, enrollment.manage.microsoft.com,
 * localhost, 127.0.0.1, ::1.  *der is malloc'ed (caller frees).
 */
enum lj_rc pki_make_server(struct pki_key *ca_key, const unsigned char *ca_der, size_t ca_len,
                           const unsigned char *srv_spki, size_t spki_len, unsigned char **der,
                           size_t *len);
/*
 * Issue a device certificate: subject CN=device_id, the
 * 1.2.840.113556.1.5.284.2/.3/.5/.7/.8 extensions (GUIDs in Windows byte
 * order, each value an OCTET STRING), EKU clientAuth.  *der is malloc'ed.
 */
enum lj_rc pki_issue_device(struct pki_key *ca_key, const unsigned char *ca_der, size_t ca_len,
                            const char *device_id, const char *user_oid, const char *tenant_id,
                            int join_type, const char *region, const unsigned char *spki,
                            size_t spki_len, unsigned char **der, size_t *len);

/*
 * Issue an intermediate CA certificate (CN=cn, O=linkjoin entra-sim test,
 * basicConstraints CA:TRUE pathlen 0, keyCertSign|cRLSign) for key, signed
 * by ca_key whose certificate is ca_der.  *der is malloc'ed.
 */
enum lj_rc pki_make_intermediate(struct pki_key *ca_key, const unsigned char *ca_der, size_t ca_len,
                                 struct pki_key *key, const char *cn, unsigned char **der,
                                 size_t *len);
/*
 * Issue an MDM client certificate: subject CN=cn only, basicConstraints
 * CA:FALSE, keyUsage digitalSignature|keyEncipherment, EKU clientAuth,
 * valid from 5 minutes ago for one year.  *der is malloc'ed.
 */
enum lj_rc pki_issue_mdm_client(struct pki_key *ca_key, const unsigned char *ca_der, size_t ca_len,
                                const char *cn, const unsigned char *spki, size_t spki_len,
                                unsigned char **der, size_t *len);

/* Subject Name and SPKI TLVs of a certificate (borrowed spans of der). */
bool pki_cert_parts(const unsigned char *der, size_t len, struct der *subject, struct der *spki);

/* PEM text of a DER certificate; caller frees with free(). */
char *pki_cert_pem(const unsigned char *der, size_t len);
/* The first certificate of PEM text as DER; *der malloc'ed (caller frees). */
enum lj_rc pki_cert_from_pem(const char *pem, size_t pemlen, unsigned char **der, size_t *len);

/*
 * Check a PKCS#10 request strictly: DER layout, version 0, subject exactly
 * CN=want_cn (want_cn NULL: any subject Name), RSA key of 2048..4096 bits, sha256WithRSAEncryption,
 * and the signature made by the request's own key.  On success *spki points into der.  On failure
 * why gets a short reason.
 */
bool pki_csr_check(const unsigned char *der, size_t len, const char *want_cn, struct der *spki,
                   char *why, size_t whysz);

/*
 * Check a BCRYPT_RSAPUBLIC_BLOB ("RSA1"): little-endian header, bit length
 * 2048..4096 matching cbModulus, exponent length 1..8 without a leading
 * zero, prime lengths 0, total length exact.  why gets a short reason.
 */
bool pki_rsa1_check(const unsigned char *b, size_t n, char *why, size_t whysz);

/* SHA-1 thumbprint in upper-case hex. */
void pki_thumbprint(const unsigned char *der, size_t len, char out[41]);
void pki_sha256(const void *data, size_t n, unsigned char out[32]);

#endif
