/*
 * jwt.h — RS256 access tokens minted and checked by entra-sim.
 *
 * Tokens are compact JWS: base64url(header).base64url(payload).base64url(sig)
 * with header {"typ":"JWT","alg":"RS256","kid":...,"x5t":...} and the claims
 * Entra puts in v1/v2 access tokens that the DRS checks (aud, iss, iat, nbf,
 * exp, tid, oid, upn, amr, appid, scp, ver).  Verification is strict: alg
 * must be RS256, kid ours, signature valid, aud one of the accepted values,
 * tid the tenant's, nbf <= now < exp.
 */
#ifndef LJ_SIM_JWT_H
#define LJ_SIM_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct pki_key;

/* The Intune MDM URLs Entra puts in tokens of users inside the MDM user scope. */
#define JWT_MDM_ENROLLMENT_URL                                                                     \
    "https://enrollment.manage.microsoft.com/EnrollmentServer/Discovery.svc"
#define JWT_MDM_TOU_URL "https://portal.manage.microsoft.com/TermsofUse.aspx"
#define JWT_MDM_COMPLIANCE_URL "https://portal.manage.microsoft.com/?portalAction=Compliance"

struct jwt_claims {
    const char *aud;
    const char *tid;
    const char *oid;
    const char *upn;
    const char *name;
    const char *appid;
    const char *scp; /* NULL: none */
    bool mfa;
    bool v2;
    bool id_token;        /* id_token shape (aud = client id) */
    bool mdm;             /* mdm_enrollment_url / mdm_terms_of_use_url / mdm_compliance_url */
    const char *deviceid; /* device-authenticated (PRT) tokens: the Entra device id; else NULL */
    time_t iat, nbf, exp;
};

enum jwt_forge { JWT_GOOD = 0, JWT_BAD_SIGNATURE, JWT_OTHER_KEY, JWT_ALG_NONE };

/*
 * Mint a token signed by key (or, with forge, deliberately broken; other
 * signs with other_key).  Returns a malloc'ed string (a secret: caller
 * frees with lj_secret_free) or NULL.
 */
char *jwt_mint(struct pki_key *key, const char *kid, const struct jwt_claims *c,
               enum jwt_forge forge, struct pki_key *other_key);

struct jwt_info {
    char aud[256];
    char tid[64];
    char oid[64];
    char upn[256];
    char deviceid[64]; /* "" when the token has no deviceid claim */
    bool mfa;
    time_t exp;
};

/*
 * Verify tok with the token key's SPKI and kid.  accept_aud is a
 * NULL-terminated list.  On failure why gets a reason for the log (never
 * shown to clients) and false is returned.
 */
bool jwt_verify(const unsigned char *spki, size_t spki_len, const char *kid, const char *tok,
                const char *const *accept_aud, const char *tid, struct jwt_info *out, char *why,
                size_t whysz);

/* base64url of SHA-1(SPKI): the kid/x5t the simulator uses. */
void jwt_kid(const unsigned char *spki, size_t spki_len, char *out, size_t outsz);

#endif
