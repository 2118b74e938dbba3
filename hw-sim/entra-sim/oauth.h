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
 * Mint an access token for upn directly (tests of the DRS token checks).
 * aud NULL = the DRS resource; expires_in may be negative; tid NULL = the
 * tenant's; deviceid NULL = no deviceid claim.  Returns a secret string (lj_secret_free) or NULL
 * with err set.
 */
char *oauth_mint_for_test(const char *upn, const char *aud, bool mfa, long expires_in,
                          const char *tid, const char *deviceid, enum jwt_forge forge, char *err,
                          size_t errsz);

#endif
