/*
 * prt.h — device-authenticated sign-in of entra-sim: the Primary Refresh
 * Token (PRT) grants of the v1 token endpoint ([MS-OAPXBC] 3.1.5.1 and
 * 3.2.5.1; ROADtools roadlib deviceauth.py, AADInternals PRT.ps1).
 *
 *   grant_type=srv_challenge                     -> {"Nonce": ...}
 *   grant_type=urn:...:jwt-bearer, RS256 request  -> a new PRT, its session
 *       key encrypted to the device's transport key (session_key_jwe)
 *   grant_type=urn:...:jwt-bearer, HS256 request  -> an access token with
 *       deviceid (or a renewed PRT), as a JWE under a key derived from the
 *       session key
 *
 * Nonces and PRTs live in memory beside the registry of tenant.h, guarded
 * by g_sim.lock.
 */
#ifndef LJ_SIM_PRT_H
#define LJ_SIM_PRT_H

#include <stdbool.h>
#include <stddef.h>

#include "hw-sim/entra-sim/server.h"
#include "hw-sim/entra-sim/util.h"

#define PRT_GRANT_JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"

/* Answer grant_type=srv_challenge: a new nonce, remembered with its issue time. */
enum MHD_Result prt_srv_challenge(struct sim_req *r);
/* Answer grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer (form parsed by oauth.c). */
enum MHD_Result prt_jwt_bearer(struct sim_req *r, const struct sim_form *form);

/* Forget every nonce and PRT (reset).  Caller holds g_sim.lock. */
void prt_clear(void);
/* How many PRTs are live (GET /control/state).  Caller holds g_sim.lock. */
size_t prt_count(void);

/*
 * Mark every PRT of the user oid (NULL: everyone) revoked, as revoking the
 * user's sign-in sessions revokes all their refresh tokens (Graph
 * user-revokesigninsessions).  g_sim.lock held.  Returns how many.
 */
size_t prt_revoke_user(const char *oid);

/*
 * {"session_keys":[hex...],"derived_keys":[hex...]}: the last 64 keys this
 * simulator made or derived, for tests proving the agent never lets one
 * out.  g_sim.lock held.  NULL on ENOMEM; caller cJSON_Delete()s.
 */
struct cJSON;
struct cJSON *prt_secrets_json(void);

/*
 * NIST SP 800-108 counter-mode KDF with HMAC-SHA256, one 32-byte block, as
 * [MS-OAPXBC] 3.1.5.2.1.3 uses it:
 *   HMAC-SHA256(key, 00000001 || "AzureAD-SecureConversation" || 00 || context || 00000100)
 */
void prt_kdf(const unsigned char *key, size_t keylen, const unsigned char *context, size_t clen,
             unsigned char out[32]);
/*
 * The signing/encryption key of a PRT-bound JWT: kdf_ver 1 derives from
 * context = ctx; kdf_ver 2 from context = SHA-256(ctx || payload), payload
 * being the exact JSON bytes of the JWT body (ROADtools
 * calculate_derived_key_v2).  false for another kdf_ver.
 */
bool prt_derive(const unsigned char *session_key, size_t sklen, const unsigned char *ctx,
                size_t ctxlen, const unsigned char *payload, size_t plen, int kdf_ver,
                unsigned char out[32]);

/* ---- prt_crypto.c ---- */

/* HMAC-SHA256 over a || b (b may be empty). */
bool prt_hmac256(const unsigned char *key, size_t keylen, const void *a, size_t an, const void *b,
                 size_t bn, unsigned char out[32]);
/*
 * Compact JWE with AES-256-GCM content encryption of pt under key:
 * b64u(hdr).b64u(ek).b64u(iv).b64u(ct).b64u(tag), AAD = the first segment
 * (RFC 7516 5.1); ek may be empty (alg dir).  A secret string (caller frees
 * with lj_secret_free) or NULL.
 */
char *prt_jwe_gcm(const char *hdr, const unsigned char *ek, size_t eklen,
                  const unsigned char key[32], const char *pt);
/*
 * RSA-OAEP with SHA-1 and MGF1-SHA-1, empty label (JWE "RSA-OAEP", RFC 7518
 * 4.3), of data under the key of a BCRYPT_RSAPUBLIC_BLOB; out holds 512 bytes.
 */
bool prt_oaep_to_rsa1(const unsigned char *blob, size_t bl, const unsigned char *data, size_t n,
                      unsigned char *out, size_t *outlen);
/* Is der a certificate signed (sha256WithRSAEncryption) by the key of ca_spki? */
bool prt_cert_issued_by(const unsigned char *der, size_t len, const unsigned char *ca_spki,
                        size_t ca_spki_len);

#endif
