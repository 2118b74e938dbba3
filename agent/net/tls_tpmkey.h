/*
 * tls_tpmkey.h — TLS client authentication with a key that never enters
 * this process: the certificate is given as DER, the private operation is
 * a callback (the device key's RSASSA-PKCS1-v1_5 signature in tpm/, and
 * its RSASSA-PSS one when pss is set; SHA-256, -384 or -512).  The one
 * TLS-library-specific module: tls_tpmkey_wolfssl.c, for the agent's
 * static libcurl on wolfSSL (tools/deps-curl.sh).  Only agent/net/http.c
 * includes this header, and no TLS library type crosses it (the
 * WOLFSSL_CTX travels as void *).
 *
 * What it installs on a connection (see the .c file for why):
 *   - the certificate and a key whose sign operation calls back
 *     (rsa_pkcs1_sha256/384/512, and rsa_pss_rsae_sha256/384/512 when
 *     pss is set; anything else, rsa_pkcs1_sha1 say, is refused);
 *   - TLS 1.2 as the highest version on such a connection (http.c asks
 *     curl for it) unless lj_tls_client_tls13 says otherwise, because
 *     TLS 1.3 CertificateVerify requires RSA-PSS (RFC 8446 4.4.3);
 *   - TLS 1.2 as the lowest version on every connection.
 */
#ifndef LJ_AGENT_TLS_CLIENT_H
#define LJ_AGENT_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/net/http.h"
#include "platform/common/result.h"

struct lj_tls_client;

/*
 * Parse cc->cert_der (an X.509 certificate with an RSA 2048..4096 key) and
 * build the callback key from its public part.  cc->sign and cc->sign_arg
 * are borrowed and must outlive the object.  On success *out is owned by
 * the caller: lj_tls_client_free.  LJ_ERR_PARSE for a certificate that is
 * not one or has no RSA key, LJ_ERR_STATE when cc->key_spki is set and
 * differs from the certificate's key, LJ_ERR_NOMEM, LJ_ERR_CRYPTO.  Does not block.
 */
enum lj_rc lj_tls_client_new(const struct lj_http_client_cert *cc, struct lj_tls_client **out);

/* Free (NULL is fine).  Every TLS context it was installed on must be gone. */
void lj_tls_client_free(struct lj_tls_client *c);

/*
 * Set up the backend's TLS context (from CURLOPT_SSL_CTX_FUNCTION, once per
 * new connection): TLS 1.2 as the minimum; when c is not NULL
 * the identity (certificate, callback key; the context refers to c, which
 * must outlive it).  LJ_ERR_TLS when the library refuses.  Does not block.
 */
enum lj_rc lj_tls_ctx_setup(struct lj_tls_client *c, void *ssl_ctx);

/*
 * After a transfer that failed in the TLS handshake
 * (CURLE_SSL_CONNECT_ERROR) with curl's error text errbuf: true (logged event=sign_refused) when
 * the TLS library ended the handshake because the server's CertificateRequest offered no signature
 * algorithm the key makes (before any sign callback: wolfSSL 5.5.4's
 * INVALID_PARAMETER, seen against a server offering rsa_pkcs1_sha1 only,
 * tests/integration/test_wolfssl.sh leave_sha1_refused).  http.c then
 * reports LJ_ERR_SIG_UNSUPPORTED.  Does not block.
 */
bool lj_tls_client_sigalgs_refused(const struct lj_tls_client *c, const char *errbuf);

/*
 * The result of the last sign callback made during a handshake (LJ_OK
 * when none failed), then reset.  http.c asks after a failed transfer so
 * a TPM failure is reported as such rather than as "TLS handshake failed".
 */
enum lj_rc lj_tls_client_take_sign_error(struct lj_tls_client *c);

/*
 * Whether the handshake of a connection resumed a TLS session: 1 resumed,
 * 0 full, -1 unknown (ssl NULL).  ssl is the WOLFSSL
 * object (CURLINFO_TLS_SSL_PTR).  For the log and make bench.
 */
int lj_tls_resumed(void *ssl);

/* The negotiated protocol version ("TLSv1.3"; "unknown" for ssl NULL): static, for the log. */
const char *lj_tls_version(void *ssl);

/* Number of sign callbacks made (tests and the log). */
unsigned lj_tls_client_sign_count(const struct lj_tls_client *c);

/*
 * Whether a connection with this identity may negotiate TLS 1.3: true
 * when the identity has pss (without it http.c caps it at TLS 1.2).
 */
bool lj_tls_client_tls13(const struct lj_tls_client *c);

#endif
