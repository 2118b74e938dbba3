/*
 * mdm_text.c — the value checks every Intune enrollment message uses, the
 * names of the refusals (mdm_reject) and the rc each maps to, WS-Addressing
 * message ids (RFC 4122 version 4 UUIDs) and the enrollment URL's
 * client-request-id.  No XML here.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include "agent/proto/mdm_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "platform/common/log.h"
#include "platform/common/text.h"

/* Valid UTF-8 (no overlongs, no surrogates) without control characters. */
bool
mdm_ok_text(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n;

    if (s == NULL || (n = strlen(s)) == 0 || n > max)
        return false;
    for (size_t i = 0, k; i < n; i += k) {
        unsigned cp;

        if ((k = lj_utf8_next(p + i, n - i, &cp)) == 0 || cp < 0x20 || cp == 0x7f ||
            (cp >= 0x80 && cp <= 0x9f))
            return false;
    }
    return true;
}

bool
mdm_all_chars(const char *s, size_t min, size_t max, const char *set)
{
    size_t n;

    if (s == NULL || (n = strlen(s)) < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr(set, s[i]) == NULL)
            return false;
    return true;
}

bool
mdm_ok_version(const char *v)
{
    return mdm_all_chars(v, 1, 32, ".") && isdigit((unsigned char)v[0]) &&
           strspn(v, "0123456789.") == strlen(v);
}

bool
mdm_ok_url(const char *u)
{
    return drs_url_is_https(u, MDM_MAX_URL);
}

/* Copy at most dstsz-1 bytes, control characters blanked. */
void
mdm_copy_text(char *dst, size_t dstsz, const char *src)
{
    size_t i = 0;

    if (dstsz == 0)
        return;
    for (; src != NULL && src[i] != '\0' && i + 1 < dstsz; i++) {
        unsigned char c = (unsigned char)src[i];

        dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[i] = '\0';
}

const char *
mdm_reject_name(enum mdm_reject r)
{
    switch (r) {
    case MDM_REJECT_NONE: return "none";
    case MDM_REJECT_EMPTY: return "empty";
    case MDM_REJECT_TOO_BIG: return "too_big";
    case MDM_REJECT_DOCTYPE: return "doctype";
    case MDM_REJECT_XML: return "bad_xml";
    case MDM_REJECT_TOO_DEEP: return "too_deep";
    case MDM_REJECT_NOT_SOAP: return "not_soap";
    case MDM_REJECT_FAULT: return "fault";
    case MDM_REJECT_RELATES_TO: return "relates_to_mismatch";
    case MDM_REJECT_MISSING: return "missing_element";
    case MDM_REJECT_BAD_VALUE: return "bad_value";
    case MDM_REJECT_BAD_URL: return "bad_url";
    case MDM_REJECT_TOKEN_TYPE: return "bad_token_type";
    case MDM_REJECT_BASE64: return "bad_base64";
    case MDM_REJECT_PROVDOC: return "bad_provisioning_doc";
    case MDM_REJECT_NO_CLIENT_CERT: return "no_client_cert";
    case MDM_REJECT_TOO_MANY_CERTS: return "too_many_certs";
    case MDM_REJECT_X509: return "bad_x509";
    case MDM_REJECT_THUMBPRINT: return "thumbprint_mismatch";
    case MDM_REJECT_KEY_MISMATCH: return "key_mismatch";
    case MDM_REJECT_CHAIN: return "bad_chain";
    case MDM_REJECT_VALIDITY: return "bad_validity";
    case MDM_REJECT_EKU: return "no_client_auth_eku";
    case MDM_REJECT_PROVIDER: return "bad_provider";
    case MDM_REJECT_POLICY: return "policy_unusable";
    case MDM_REJECT_COUNT__: break;
    }
    return "unknown";
}

/* The rc a reject maps to. */
static enum lj_rc
reject_rc(enum mdm_reject r)
{
    switch (r) {
    case MDM_REJECT_NONE: return LJ_OK;
    case MDM_REJECT_TOO_BIG:
    case MDM_REJECT_TOO_DEEP: return LJ_ERR_TOO_BIG;
    case MDM_REJECT_XML:
    case MDM_REJECT_DOCTYPE:
    case MDM_REJECT_EMPTY: return LJ_ERR_PARSE;
    default: return LJ_ERR_PROTOCOL;
    }
}

/* Log and return the rc for a refusal; *why gets r. */
enum lj_rc
mdm_refuse(const char *what, enum mdm_reject r, enum mdm_reject *why)
{
    if (why != NULL)
        *why = r;
    if (r == MDM_REJECT_NONE)
        return LJ_OK;
    return lj_err_set(reject_rc(r), MOD, "event=%s_rejected why=%s", what, mdm_reject_name(r));
}

enum lj_rc
mdm_message_id(char out[MDM_MSGID_LEN])
{
    WC_RNG rng;
    unsigned char b[16];
    int e;

    if (out == NULL)
        return LJ_ERR_INVAL;
    if (wc_InitRng(&rng) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rng_init_failed");
    e = wc_RNG_GenerateBlock(&rng, b, sizeof(b));
    wc_FreeRng(&rng);
    if (e != 0)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rng_failed");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, MDM_MSGID_LEN,
             "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return LJ_OK;
}

/* Does the query q (after '?', no fragment) have a client-request-id parameter? */
static bool
has_request_id(const char *q)
{
    static const char name[] = "client-request-id";
    const size_t n = sizeof(name) - 1;

    for (const char *p = q; p != NULL && *p != '\0'; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (strncasecmp(p, name, n) == 0 && (p[n] == '=' || p[n] == '&' || p[n] == '\0'))
            return true;
    return false;
}

enum lj_rc
mdm_enroll_url(const char *url, const char *request_id, char *out, size_t osz)
{
    char fresh[MDM_MSGID_LEN];
    const char *q, *sep;
    size_t len;
    enum lj_rc rc;
    int n;

    if (url == NULL || out == NULL || osz == 0 || strncasecmp(url, "https://", 8) != 0 ||
        strchr(url, '#') != NULL || !mdm_ok_text(url, MDM_MAX_URL - 1))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_enroll_url");
    if (request_id == NULL || !lj_is_guid(request_id)) {
        rc = mdm_message_id(fresh);
        if (rc != LJ_OK)
            return rc;
        request_id = fresh + strlen("urn:uuid:");
    }
    q = strchr(url, '?');
    len = strlen(url);
    if (q != NULL && has_request_id(q + 1)) {
        if (len >= osz)
            return lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=enroll_url_too_long");
        memcpy(out, url, len + 1);
        return LJ_OK;
    }
    if (q == NULL)
        sep = "?";
    else if (url[len - 1] == '?' || url[len - 1] == '&')
        sep = "";
    else
        sep = "&";
    n = snprintf(out, osz, "%s%sclient-request-id=%s", url, sep, request_id);
    if (n < 0 || (size_t)n >= osz) {
        out[0] = '\0';
        return lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=enroll_url_too_long");
    }
    return LJ_OK;
}
