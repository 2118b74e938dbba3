/*
 * prt_answer.c — what the token endpoint answers to the PRT requests: the
 * srv_challenge nonce, the PRT answer ([MS-OAPXBC] 3.2.5.1.2.2) and its
 * session_key_jwe, the renewal answer, and the compact JWE (RFC 7516, alg
 * "dir", enc A256GCM) that wraps every answer to a session-key signed
 * request.
 *
 * Every body goes through pjson (size and depth checked before cJSON sees
 * it); JWEs are split and measured before anything is decoded.  Secrets
 * (the PRT, the decrypted answer) are copied out of the cJSON tree, which
 * is wiped before it is freed.  Checked against ROADtools (auth.py
 * decrypt_auth_response, deviceauth.py decrypt_jwe_with_transport_key) and
 * AADInternals (Decrypt-JWE).
 */
#include "agent/proto/prt_int.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/proto/pjson.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"

#define GCM_IV_LEN 12u
#define GCM_TAG_LEN 16u
#define MAX_HEADER 4096u

/* ---- nonce ---- */

enum lj_rc
prt_nonce_parse(const char *body, size_t len, char *nonce, size_t nsz)
{
    cJSON *tree = NULL;
    const char *s = NULL;
    size_t n;
    enum lj_rc rc;

    if (body == NULL || nonce == NULL || nsz < 2)
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, PRT_MAX_BODY, 2, &tree);
    if (rc != LJ_OK) {
        rc = lj_err_set(rc, MOD, "event=nonce_unparsable rc=%s", lj_rc_name(rc));
        goto out;
    }
    rc = pjson_str(tree, "Nonce", false, PRT_NONCE_MAX, &s);
    if (rc == LJ_ERR_TOO_BIG) {
        rc = lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=nonce_too_long max=%u", PRT_NONCE_MAX);
        goto out;
    }
    if (rc != LJ_OK) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=Nonce rc=%s", lj_rc_name(rc));
        goto out;
    }
    n = strlen(s);
    if (n >= nsz) {
        rc = lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=nonce_too_long max=%zu", nsz - 1);
        goto out;
    }
    if (n == 0 || !prt_printable(s, n)) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=Nonce want=printable_ascii");
        goto out;
    }
    memcpy(nonce, s, n + 1);
    rc = LJ_OK;
out:
    pjson_wipe_delete(tree);
    return rc;
}

/* ---- PRT answer ---- */

void
prt_answer_free(struct prt_answer *a)
{
    if (a == NULL)
        return;
    lj_secret_free(a->prt);
    lj_secret_free(a->session_key_jwe);
    lj_secret_free(a->id_token);
    lj_secret_free(a->client_info);
    lj_secure_zero(a, sizeof(*a));
}

/* A token-like string member: 1..PRT_MAX_FIELD bytes, printable, no space. */
static enum lj_rc
dup_token(const cJSON *obj, const char *key, bool required, char **out)
{
    const char *s = NULL;
    enum lj_rc rc = pjson_str(obj, key, false, PRT_MAX_FIELD, &s);

    if (rc == LJ_ERR_NOT_FOUND && !required)
        return LJ_OK;
    if (rc != LJ_OK)
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=%s rc=%s", key,
                          lj_rc_name(rc));
    if (s[0] == '\0' || !prt_printable(s, strlen(s)))
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=%s want=token_chars", key);
    *out = strdup(s);
    return *out ? LJ_OK : LJ_ERR_NOMEM;
}

/* An optional number (JSON number or decimal string) in [0, max]; 0 when absent. */
static enum lj_rc
opt_num(const cJSON *obj, const char *key, long long max, long long *out)
{
    long long v = 0;
    enum lj_rc rc = pjson_int(obj, key, false, 0, max, &v);

    if (rc == LJ_ERR_NOT_FOUND)
        v = 0;
    else if (rc != LJ_OK)
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=%s", key);
    *out = v;
    return LJ_OK;
}

static enum lj_rc
answer_parse(const char *body, size_t len, bool renewal, struct prt_answer *out)
{
    const char *want = renewal ? "Bearer" : "pop";
    struct prt_answer a;
    cJSON *tree = NULL;
    const char *tt = NULL;
    enum lj_rc rc;

    memset(&a, 0, sizeof(a));
    if (body == NULL || out == NULL)
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, PRT_MAX_BODY, 4, &tree);
    if (rc != LJ_OK) {
        rc = lj_err_set(rc, MOD, "event=answer_unparsable rc=%s", lj_rc_name(rc));
        goto out;
    }
    rc = pjson_str(tree, "token_type", false, sizeof(a.token_type) - 1, &tt);
    if (rc != LJ_OK || strcasecmp(tt, want) != 0) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=token_type want=%s", want);
        goto out;
    }
    memcpy(a.token_type, tt, strlen(tt) + 1);
    if ((rc = dup_token(tree, "refresh_token", true, &a.prt)) != LJ_OK ||
        (!renewal &&
         (rc = dup_token(tree, "session_key_jwe", true, &a.session_key_jwe)) != LJ_OK) ||
        (rc = dup_token(tree, "id_token", false, &a.id_token)) != LJ_OK ||
        (rc = dup_token(tree, "client_info", false, &a.client_info)) != LJ_OK ||
        (rc = opt_num(tree, "refresh_token_expires_in", 0x7fffffff, &a.prt_expires_in)) != LJ_OK ||
        (rc = opt_num(tree, "expires_in", 0x7fffffff, &a.expires_in)) != LJ_OK ||
        (rc = opt_num(tree, "expires_on", 253402300799LL, &a.expires_on)) != LJ_OK)
        goto out;
    *out = a;
    memset(&a, 0, sizeof(a));
    rc = LJ_OK;
out:
    prt_answer_free(&a);
    pjson_wipe_delete(tree);
    return rc;
}

enum lj_rc
prt_answer_parse(const char *body, size_t len, struct prt_answer *out)
{
    return answer_parse(body, len, false, out);
}

enum lj_rc
prt_renew_answer_parse(const char *plain, size_t len, struct prt_answer *out)
{
    return answer_parse(plain, len, true, out);
}

/* ---- compact JWE ---- */

struct seg {
    const char *p;
    size_t n;
};

/* Split s into exactly five dot-separated segments. */
static bool
split5(const char *s, size_t len, struct seg seg[5])
{
    size_t k = 0, start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] == '\0')
            return false;
        if (i == len || s[i] == '.') {
            if (k == 5)
                return false;
            seg[k].p = s + start;
            seg[k].n = i - start;
            k++;
            start = i + 1;
        }
    }
    return k == 5;
}

/*
 * Decode the protected header and check alg/enc (what names the JWE in
 * error details).  LJ_ERR_PARSE or LJ_ERR_PROTOCOL; on LJ_OK *tree is the
 * header (caller frees).
 */
static enum lj_rc
jwe_header(const struct seg *h, const char *what, const char *alg, const char *enc, cJSON **tree)
{
    unsigned char *raw = NULL;
    size_t rlen = 0;
    const char *s = NULL;
    cJSON *t = NULL;
    enum lj_rc rc;

    if (h->n == 0 || h->n > MAX_HEADER || !lj_b64_decode(h->p, h->n, LJ_B64_URL, &raw, &rlen))
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=%s_bad_b64 segment=1", what);
    rc = pjson_parse((const char *)raw, rlen, MAX_HEADER, 2, &t);
    free(raw);
    if (rc != LJ_OK)
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=%s_bad_header rc=%s", what, lj_rc_name(rc));
    if (pjson_str(t, "alg", false, 32, &s) != LJ_OK || strcmp(s, alg) != 0) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=%s_bad_alg want=%s", what, alg);
        goto out;
    }
    if (pjson_str(t, "enc", false, 32, &s) != LJ_OK || strcmp(s, enc) != 0) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=%s_bad_enc want=%s", what, enc);
        goto out;
    }
    *tree = t;
    t = NULL;
    rc = LJ_OK;
out:
    cJSON_Delete(t);
    return rc;
}

enum lj_rc
prt_session_key_jwe_parse(const char *jwe, unsigned char ek[PRT_EK_LEN], size_t *ek_len)
{
    struct seg seg[5];
    cJSON *hdr = NULL;
    unsigned char *key = NULL;
    size_t n, klen = 0;
    enum lj_rc rc;

    if (jwe == NULL || ek == NULL || ek_len == NULL)
        return LJ_ERR_INVAL;
    n = strnlen(jwe, PRT_MAX_FIELD + 1);
    if (n > PRT_MAX_FIELD)
        return lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=session_key_jwe_too_big max=%u",
                          PRT_MAX_FIELD);
    if (!split5(jwe, n, seg))
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=session_key_jwe_not_5_segments");
    /* [MS-OAPXBC] 3.2.5.1.2.2: the session key encrypted to the transport key. */
    rc = jwe_header(&seg[0], "session_key_jwe", "RSA-OAEP", "A256GCM", &hdr);
    if (rc != LJ_OK)
        return rc;
    cJSON_Delete(hdr);
    if (!lj_b64_decode(seg[1].p, seg[1].n, LJ_B64_URL, &key, &klen))
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=session_key_jwe_bad_b64 segment=2");
    if (klen != PRT_EK_LEN) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=session_key_jwe_bad_key_len len=%zu want=%u",
                        klen, PRT_EK_LEN);
        goto out;
    }
    memcpy(ek, key, PRT_EK_LEN);
    *ek_len = PRT_EK_LEN;
    rc = LJ_OK;
out:
    free(key);
    return rc;
}

/* Split, measure and check the header of an answer JWE; *hdr on success. */
static enum lj_rc
answer_jwe(const char *jwe, size_t len, struct seg seg[5], cJSON **hdr)
{
    if (jwe == NULL)
        return LJ_ERR_INVAL;
    if (len > PRT_MAX_JWE)
        return lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=jwe_too_big max=%u", PRT_MAX_JWE);
    if (!split5(jwe, len, seg))
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=jwe_not_5_segments");
    /* RFC 7518 §4.5 direct encryption; ROADtools decrypt_auth_response. */
    return jwe_header(&seg[0], "jwe", "dir", "A256GCM", hdr);
}

enum lj_rc
prt_jwe_header_ctx(const char *jwe, size_t len, unsigned char ctx[PRT_CTX_LEN])
{
    struct seg seg[5];
    cJSON *hdr = NULL;
    const char *s = NULL;
    unsigned char *raw = NULL;
    size_t rlen = 0;
    enum lj_rc rc;

    if (ctx == NULL)
        return LJ_ERR_INVAL;
    if ((rc = answer_jwe(jwe, len, seg, &hdr)) != LJ_OK)
        return rc;
    if (pjson_str(hdr, "ctx", false, 64, &s) != LJ_OK) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=jwe_bad_ctx want=string");
        goto out;
    }
    if (!lj_b64_decode(s, strlen(s), LJ_B64_STD, &raw, &rlen) || rlen != PRT_CTX_LEN) {
        rc =
            lj_err_set(LJ_ERR_PARSE, MOD, "event=jwe_bad_ctx want=base64_of_%u_bytes", PRT_CTX_LEN);
        goto out;
    }
    memcpy(ctx, raw, PRT_CTX_LEN);
    rc = LJ_OK;
out:
    free(raw);
    cJSON_Delete(hdr);
    return rc;
}

enum lj_rc
prt_jwe_decrypt(const char *jwe, size_t len, const unsigned char key[32], char **plain,
                size_t *plain_len)
{
    struct seg seg[5];
    cJSON *hdr = NULL;
    unsigned char *iv = NULL, *ct = NULL, *tag = NULL, *pt = NULL;
    size_t ivl = 0, ctl = 0, tagl = 0;
    Aes aes;
    int ret = -1;
    enum lj_rc rc;

    if (key == NULL || plain == NULL || plain_len == NULL)
        return LJ_ERR_INVAL;
    if ((rc = answer_jwe(jwe, len, seg, &hdr)) != LJ_OK)
        return rc;
    cJSON_Delete(hdr);
    if (seg[1].n != 0)
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=jwe_encrypted_key_not_empty");
    if (seg[3].n > PRT_MAX_BODY / 3 * 4 + 4)
        return lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=jwe_too_big max=%u", PRT_MAX_BODY);
    if (!lj_b64_decode(seg[2].p, seg[2].n, LJ_B64_URL, &iv, &ivl)) {
        rc = lj_err_set(LJ_ERR_PARSE, MOD, "event=jwe_bad_b64 segment=3");
        goto out;
    }
    if (!lj_b64_decode(seg[3].p, seg[3].n, LJ_B64_URL, &ct, &ctl)) {
        rc = lj_err_set(LJ_ERR_PARSE, MOD, "event=jwe_bad_b64 segment=4");
        goto out;
    }
    if (!lj_b64_decode(seg[4].p, seg[4].n, LJ_B64_URL, &tag, &tagl)) {
        rc = lj_err_set(LJ_ERR_PARSE, MOD, "event=jwe_bad_b64 segment=5");
        goto out;
    }
    if (ivl != GCM_IV_LEN) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=jwe_bad_iv_len len=%zu want=%u", ivl,
                        GCM_IV_LEN);
        goto out;
    }
    if (tagl != GCM_TAG_LEN) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=jwe_bad_tag_len len=%zu want=%u", tagl,
                        GCM_TAG_LEN);
        goto out;
    }
    if (ctl > PRT_MAX_BODY) {
        rc = lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=jwe_too_big max=%u", PRT_MAX_BODY);
        goto out;
    }
    pt = malloc(ctl + 1);
    if (pt == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    /* AAD = the ASCII of the protected header segment as sent (RFC 7516 §5.1 step 14). */
    if (wc_AesInit(&aes, NULL, INVALID_DEVID) == 0) {
        ret = wc_AesGcmSetKey(&aes, key, 32);
        if (ret == 0)
            ret = wc_AesGcmDecrypt(&aes, pt, ctl ? ct : pt, (word32)ctl, iv, GCM_IV_LEN, tag,
                                   GCM_TAG_LEN, (const unsigned char *)seg[0].p, (word32)seg[0].n);
        wc_AesFree(&aes);
    }
    lj_secure_zero(&aes, sizeof(aes));
    if (ret != 0) {
        rc = ret == AES_GCM_AUTH_E ? lj_err_set(LJ_ERR_CRYPTO, MOD, "event=jwe_tag_mismatch")
                                   : lj_err_set(LJ_ERR_CRYPTO, MOD, "event=jwe_aes_gcm_failed");
        goto out;
    }
    pt[ctl] = '\0';
    *plain = (char *)pt;
    *plain_len = ctl;
    pt = NULL;
    rc = LJ_OK;
out:
    lj_secure_free(pt, ctl + 1);
    free(iv);
    free(ct);
    free(tag);
    return rc;
}
