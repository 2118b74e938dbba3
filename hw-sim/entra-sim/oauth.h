/*
 * oauth.h — the login.microsoftonline.com side of entra-sim: OAuth2 v1 and
 * v2 endpoints (device code, ROPC, authorization code + PKCE S256, refresh
 * token), the OpenID configuration and JWKS, the /devicelogin page and
 * the HTML sign-in form.  Route entry point: oauth_route (server.h).
 */
#ifndef LJ_SIM_OAUTH_H
#define LJ_SIM_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "hw-sim/entra-sim/jwt.h"

/* The DRS resource id and application id (both accepted as audience). */
#define OAUTH_DRS_RESOURCE "urn:ms-drs:enterpriseregistration.windows.net"
#define OAUTH_DRS_APPID "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"

/*
 * Decide a pending device code from the control API: approve as upn (with
 * or without MFA), decline, or expire it now.  Takes g_sim.lock.  On
 * failure err says why and *status is the HTTP status to answer.
 */
bool oauth_devcode_decide(const char *user_code, const char *action, const char *upn, bool mfa,
                          char *err, size_t errsz, unsigned *status);

/*
 * The tenant's Conditional Access on issuing a token for aud to a client
 * with User-Agent ua (lock held): conditional_access.block_unknown_platforms
 * (50005) and conditional_access.intune_enrollment (53000/53001/53002 for
 * the enrollment resource).  false with *code and msg (the AADSTS text,
 * without the "AADSTSnnnnn: " prefix) when refused.  Every grant applies it,
 * the PRT-signed ones (prt.c) included.
 */
bool oauth_ca_check(const char *aud, const char *ua, long *code, char *msg, size_t msgsz);

/*
 * Mint an access token for upn directly (tests of the DRS token checks).
 * aud NULL = the DRS resource; expires_in may be negative; tid NULL = the
 * tenant's; deviceid NULL = no deviceid claim.  Returns a secret string (lj_secret_free) or NULL
 * with err set.
 */
char *oauth_mint_for_test(const char *upn, const char *aud, bool mfa, long expires_in,
                          const char *tid, const char *deviceid, enum jwt_forge forge, char *err,
                          size_t errsz);

#endif
