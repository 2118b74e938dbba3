/*
 * tenant.c — tenant file parsing and the live registry.  See tenant.h for
 * the locking rule.  Every field of the tenant file is checked for type and
 * range and an error names the field by its JSON path.
 */
#include "hw-sim/entra-sim/tenant.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hw-sim/entra-sim/prt.h"
#include "hw-sim/entra-sim/util.h"
#include "platform/common/secmem.h"

struct sim_state g_sim = {.lock = PTHREAD_MUTEX_INITIALIZER};

#define STR_MAX 256

static bool fail(char *err, size_t errsz, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool
fail(char *err, size_t errsz, const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errsz, "field '%s': %s", path, msg);
    return false;
}

/* Read an optional string member; *out is replaced (old value freed). */
static bool
get_str(const cJSON *o, const char *key, const char *path, bool required, size_t max, char **out,
        char *err, size_t errsz)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[128];
    char *dup;

    snprintf(p, sizeof(p), "%s%s%s", path, path[0] != '\0' ? "." : "", key);
    if (v == NULL) {
        if (required)
            return fail(err, errsz, p, "is required");
        return true;
    }
    if (!cJSON_IsString(v) || v->valuestring == NULL || v->valuestring[0] == '\0')
        return fail(err, errsz, p, "must be a non-empty string");
    if (strlen(v->valuestring) > max)
        return fail(err, errsz, p, "longer than %zu characters", max);
    dup = strdup(v->valuestring);
    if (dup == NULL)
        return fail(err, errsz, p, "out of memory");
    lj_secret_free(*out);
    *out = dup;
    return true;
}

static bool
get_bool(const cJSON *o, const char *key, const char *path, bool *out, char *err, size_t errsz)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[128];

    if (v == NULL)
        return true;
    snprintf(p, sizeof(p), "%s%s%s", path, path[0] != '\0' ? "." : "", key);
    if (!cJSON_IsBool(v))
        return fail(err, errsz, p, "must be true or false");
    *out = cJSON_IsTrue(v);
    return true;
}

static bool
get_long(const cJSON *o, const char *key, const char *path, long min, long max, long *out,
         char *err, size_t errsz)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[128];

    if (v == NULL)
        return true;
    snprintf(p, sizeof(p), "%s%s%s", path, path[0] != '\0' ? "." : "", key);
    if (!cJSON_IsNumber(v))
        return fail(err, errsz, p, "must be an integer");
    /* Range first: converting a double outside long's range is undefined (simfuzz_tenant). */
    if (!(v->valuedouble >= (double)min && v->valuedouble <= (double)max))
        return fail(err, errsz, p, "must be between %ld and %ld", min, max);
    if (v->valuedouble != (double)(long)v->valuedouble)
        return fail(err, errsz, p, "must be an integer");
    *out = (long)v->valuedouble;
    return true;
}

/* Check that o is an object whose members are all in allowed[]. */
static bool
check_members(const cJSON *o, const char *path, const char *const *allowed, char *err, size_t errsz)
{
    const cJSON *m;

    if (!cJSON_IsObject(o))
        return fail(err, errsz, path[0] != '\0' ? path : "(top level)", "must be an object");
    cJSON_ArrayForEach(m, o)
    {
        bool ok = m->string != NULL && m->string[0] == '_';
        for (size_t i = 0; !ok && allowed[i] != NULL; i++)
            ok = strcmp(m->string, allowed[i]) == 0;
        if (!ok) {
            char p[160];
            snprintf(p, sizeof(p), "%s%s%s", path, path[0] != '\0' ? "." : "",
                     m->string != NULL ? m->string : "?");
            return fail(err, errsz, p, "unknown member");
        }
    }
    return true;
}

/* A string array into arr (replacing its content). */
static bool
get_str_array(const cJSON *o, const char *key, const char *path, char **arr, size_t *n, size_t max,
              char *err, size_t errsz)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *e;
    char p[128];
    char *tmp[SIM_MAX_GROUPS] = {0};
    size_t k = 0;

    if (v == NULL)
        return true;
    snprintf(p, sizeof(p), "%s%s%s", path, path[0] != '\0' ? "." : "", key);
    if (!cJSON_IsArray(v))
        return fail(err, errsz, p, "must be an array of strings");
    if ((size_t)cJSON_GetArraySize(v) > max || max > SIM_MAX_GROUPS)
        return fail(err, errsz, p, "more than %zu entries", max);
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e) || e->valuestring[0] == '\0' || strlen(e->valuestring) > STR_MAX) {
            char q[160];
            snprintf(q, sizeof(q), "%s[%zu]", p, k);
            for (size_t i = 0; i < k; i++)
                free(tmp[i]);
            return fail(err, errsz, q, "must be a non-empty string");
        }
        tmp[k] = strdup(e->valuestring);
        if (tmp[k] == NULL) {
            for (size_t i = 0; i < k; i++)
                free(tmp[i]);
            return fail(err, errsz, p, "out of memory");
        }
        k++;
    }
    for (size_t i = 0; i < *n; i++)
        free(arr[i]);
    memcpy(arr, tmp, k * sizeof(char *));
    *n = k;
    return true;
}

static bool
group_exists(const struct sim_tenant *t, const char *name)
{
    for (size_t i = 0; i < t->ngroups; i++)
        if (strcmp(t->groups[i].name, name) == 0 || sim_streq_ci(t->groups[i].oid, name))
            return true;
    return false;
}

static void
user_clear(struct sim_user *u)
{
    free(u->upn);
    lj_secret_free(u->password);
    free(u->oid);
    free(u->display_name);
    for (size_t i = 0; i < u->ngroups; i++)
        free(u->groups[i]);
    for (size_t i = 0; i < u->nlicenses; i++)
        free(u->licenses[i]);
    memset(u, 0, sizeof(*u));
}

static const char *const user_members[] = {
    "upn",     "password", "object_id",        "display_name",
    "enabled", "locked",   "password_expired", "mfa_registered",
    "groups",  "licenses", "licences",         NULL};

/* Apply user fields from o onto u (creating == all rules for a new user). */
static bool
user_apply(struct sim_tenant *t, struct sim_user *u, const cJSON *o, const char *path,
           bool creating, char *err, size_t errsz)
{
    unsigned char g[16];
    char p[160];
    const char *at;

    if (!check_members(o, path, user_members, err, errsz))
        return false;
    if (creating) {
        if (!get_str(o, "upn", path, true, STR_MAX, &u->upn, err, errsz))
            return false;
        at = strchr(u->upn, '@');
        snprintf(p, sizeof(p), "%s.upn", path);
        if (at == NULL || at == u->upn || strchr(at + 1, '@') != NULL)
            return fail(err, errsz, p, "must look like user@domain");
        if (!tenant_has_domain(t, at + 1))
            return fail(err, errsz, p, "domain '%s' is not one of the tenant's domains", at + 1);
        if (tenant_user_by_upn(t, u->upn) != NULL)
            return fail(err, errsz, p, "duplicate user '%s'", u->upn);
        u->enabled = true;
        u->mfa_registered = true;
    } else if (cJSON_GetObjectItemCaseSensitive(o, "upn") != NULL ||
               cJSON_GetObjectItemCaseSensitive(o, "object_id") != NULL) {
        snprintf(p, sizeof(p), "%s.upn", path);
        return fail(err, errsz, p, "upn and object_id cannot be changed");
    }
    if (!get_str(o, "password", path, creating, STR_MAX, &u->password, err, errsz) ||
        !get_str(o, "display_name", path, false, STR_MAX, &u->display_name, err, errsz) ||
        !get_bool(o, "enabled", path, &u->enabled, err, errsz) ||
        !get_bool(o, "locked", path, &u->locked, err, errsz) ||
        !get_bool(o, "password_expired", path, &u->password_expired, err, errsz) ||
        !get_bool(o, "mfa_registered", path, &u->mfa_registered, err, errsz))
        return false;
    if (creating) {
        if (!get_str(o, "object_id", path, false, 36, &u->oid, err, errsz))
            return false;
        if (u->oid != NULL && !sim_guid_parse(u->oid, g)) {
            snprintf(p, sizeof(p), "%s.object_id", path);
            return fail(err, errsz, p, "must be a GUID");
        }
        if (u->oid == NULL) {
            char name[512], gid[37];
            snprintf(name, sizeof(name), "%s/user/%s", t->id, u->upn);
            sim_guid_from_name(name, gid);
            u->oid = strdup(gid);
            if (u->oid == NULL)
                return fail(err, errsz, path, "out of memory");
        }
        for (char *c = u->oid; *c != '\0'; c++)
            if (*c >= 'A' && *c <= 'F')
                *c = (char)(*c - 'A' + 'a');
        if (u->display_name == NULL) {
            u->display_name = strndup(u->upn, (size_t)(strchr(u->upn, '@') - u->upn));
            if (u->display_name == NULL)
                return fail(err, errsz, path, "out of memory");
        }
    }
    if (!get_str_array(o, "groups", path, u->groups, &u->ngroups, SIM_MAX_GROUPS, err, errsz) ||
        !get_str_array(o, "licenses", path, u->licenses, &u->nlicenses, 16, err, errsz) ||
        !get_str_array(o, "licences", path, u->licenses, &u->nlicenses, 16, err, errsz))
        return false;
    for (size_t i = 0; i < u->ngroups; i++) {
        if (!group_exists(t, u->groups[i])) {
            snprintf(p, sizeof(p), "%s.groups[%zu]", path, i);
            return fail(err, errsz, p, "unknown group '%s'", u->groups[i]);
        }
    }
    for (size_t i = 0; i < u->nlicenses; i++) {
        static const char *const known[] = {"entra_p1", "entra_p2",   "intune", "m365_e3",
                                            "m365_e5",  "windows365", NULL};
        bool ok = false;
        for (size_t j = 0; known[j] != NULL; j++)
            ok = ok || strcmp(known[j], u->licenses[i]) == 0;
        if (!ok) {
            snprintf(p, sizeof(p), "%s.licenses[%zu]", path, i);
            return fail(err, errsz, p,
                        "unknown licence '%s' (entra_p1, entra_p2, intune, m365_e3, "
                        "m365_e5, windows365)",
                        u->licenses[i]);
        }
    }
    return true;
}

static bool
users_append(struct sim_tenant *t, struct sim_user *u)
{
    if (t->nusers == t->capusers) {
        size_t cap = t->capusers != 0 ? t->capusers * 2 : 16;
        struct sim_user *nu = realloc(t->users, cap * sizeof(*nu));
        if (nu == NULL)
            return false;
        t->users = nu;
        t->capusers = cap;
    }
    t->users[t->nusers++] = *u;
    return true;
}

bool
tenant_add_user(struct sim_tenant *t, const cJSON *o, char *err, size_t errsz)
{
    struct sim_user u = {0};

    if (t->nusers >= SIM_MAX_USERS) {
        snprintf(err, errsz, "too many users (%d)", SIM_MAX_USERS);
        return false;
    }
    if (!user_apply(t, &u, o, "user", true, err, errsz) || !users_append(t, &u)) {
        if (err[0] == '\0')
            snprintf(err, errsz, "out of memory");
        user_clear(&u);
        return false;
    }
    return true;
}

bool
tenant_patch_user(struct sim_tenant *t, struct sim_user *u, const cJSON *o, char *err, size_t errsz)
{
    /* Apply to a copy of the scalar flags first so a bad patch changes nothing. */
    struct sim_user copy = *u;
    char *pw = NULL, *dn = NULL;
    char *groups[SIM_MAX_GROUPS] = {0}, *lic[16] = {0};
    size_t ng = 0, nl = 0;
    bool ok;

    copy.password = NULL;
    copy.display_name = NULL;
    memset(copy.groups, 0, sizeof(copy.groups));
    copy.ngroups = 0;
    memset(copy.licenses, 0, sizeof(copy.licenses));
    copy.nlicenses = 0;
    ok = user_apply(t, &copy, o, "user", false, err, errsz);
    pw = copy.password;
    dn = copy.display_name;
    memcpy(groups, copy.groups, sizeof(groups));
    ng = copy.ngroups;
    memcpy(lic, copy.licenses, sizeof(lic));
    nl = copy.nlicenses;
    if (ok) {
        u->enabled = copy.enabled;
        u->locked = copy.locked;
        u->password_expired = copy.password_expired;
        u->mfa_registered = copy.mfa_registered;
        if (pw != NULL) {
            lj_secret_free(u->password);
            u->password = pw;
            pw = NULL;
        }
        if (dn != NULL) {
            free(u->display_name);
            u->display_name = dn;
            dn = NULL;
        }
        if (cJSON_GetObjectItemCaseSensitive(o, "groups") != NULL) {
            for (size_t i = 0; i < u->ngroups; i++)
                free(u->groups[i]);
            memcpy(u->groups, groups, sizeof(groups));
            u->ngroups = ng;
            ng = 0;
        }
        if (cJSON_GetObjectItemCaseSensitive(o, "licenses") != NULL ||
            cJSON_GetObjectItemCaseSensitive(o, "licences") != NULL) {
            for (size_t i = 0; i < u->nlicenses; i++)
                free(u->licenses[i]);
            memcpy(u->licenses, lic, sizeof(lic));
            u->nlicenses = nl;
            nl = 0;
        }
    }
    lj_secret_free(pw);
    free(dn);
    for (size_t i = 0; i < ng; i++)
        free(groups[i]);
    for (size_t i = 0; i < nl; i++)
        free(lic[i]);
    return ok;
}

static const char *const ds_members[] = {"users_may_join", "users_may_join_groups",
                                         "max_devices_per_user", "require_mfa_to_join", NULL};

bool
tenant_apply_device_settings(struct sim_tenant *t, const cJSON *o, const char *path, char *err,
                             size_t errsz)
{
    const cJSON *v;
    char p[128];
    char *groups[SIM_MAX_GROUPS] = {0};
    size_t ng = 0;
    enum sim_join_policy join = t->join;
    unsigned long maxdev = t->max_devices;
    bool mfa = t->require_mfa_to_join;

    if (!check_members(o, path, ds_members, err, errsz))
        return false;
    v = cJSON_GetObjectItemCaseSensitive(o, "users_may_join");
    if (v != NULL) {
        snprintf(p, sizeof(p), "%s.users_may_join", path);
        if (!cJSON_IsString(v))
            return fail(err, errsz, p, "must be \"all\", \"selected\" or \"none\"");
        if (strcmp(v->valuestring, "all") == 0)
            join = SIM_JOIN_ALL;
        else if (strcmp(v->valuestring, "selected") == 0)
            join = SIM_JOIN_SELECTED;
        else if (strcmp(v->valuestring, "none") == 0)
            join = SIM_JOIN_NONE;
        else
            return fail(err, errsz, p, "must be \"all\", \"selected\" or \"none\"");
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "max_devices_per_user");
    if (v != NULL) {
        snprintf(p, sizeof(p), "%s.max_devices_per_user", path);
        if (cJSON_IsString(v) && strcmp(v->valuestring, "unlimited") == 0) {
            maxdev = 0;
        } else {
            long l = 0;
            if (!get_long(o, "max_devices_per_user", path, 1, SIM_MAX_DEVICES, &l, err, errsz))
                return fail(err, errsz, p, "must be an integer 1..%d or \"unlimited\"",
                            SIM_MAX_DEVICES);
            maxdev = (unsigned long)l;
        }
    }
    if (!get_bool(o, "require_mfa_to_join", path, &mfa, err, errsz))
        return false;
    if (!get_str_array(o, "users_may_join_groups", path, groups, &ng, SIM_MAX_GROUPS, err, errsz))
        return false;
    for (size_t i = 0; i < ng; i++) {
        if (!group_exists(t, groups[i])) {
            snprintf(p, sizeof(p), "%s.users_may_join_groups[%zu]", path, i);
            fail(err, errsz, p, "unknown group '%s'", groups[i]);
            for (size_t j = 0; j < ng; j++)
                free(groups[j]);
            return false;
        }
    }
    if (cJSON_GetObjectItemCaseSensitive(o, "users_may_join_groups") != NULL) {
        for (size_t i = 0; i < t->njoin_groups; i++)
            free(t->join_groups[i]);
        memcpy(t->join_groups, groups, sizeof(groups));
        t->njoin_groups = ng;
    }
    t->join = join;
    t->max_devices = maxdev;
    t->require_mfa_to_join = mfa;
    return true;
}

static const char *const ca_join_names[] = {"none", "require_mfa", "block", NULL};
static const char *const ca_grant_names[] = {"none", "require_compliant_device",
                                             "require_hybrid_joined", "require_approved_app", NULL};

/* Index of v's string in names (NULL-terminated); -1 when not one of them. */
static int
name_index(const cJSON *v, const char *const *names)
{
    if (!cJSON_IsString(v))
        return -1;
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(v->valuestring, names[i]) == 0)
            return i;
    return -1;
}

bool
tenant_apply_ca(struct sim_tenant *t, const cJSON *o, const char *path, char *err, size_t errsz)
{
    static const char *const members[] = {"register_or_join_devices", "block_unknown_platforms",
                                          "intune_enrollment", NULL};
    const cJSON *v;
    char p[128];
    int join = (int)t->ca_join, grant = (int)t->ca_enrollment;
    bool unknown = t->ca_block_unknown_platforms;

    if (!check_members(o, path, members, err, errsz))
        return false;
    v = cJSON_GetObjectItemCaseSensitive(o, "register_or_join_devices");
    if (v != NULL && (join = name_index(v, ca_join_names)) < 0) {
        snprintf(p, sizeof(p), "%s.register_or_join_devices", path);
        return fail(err, errsz, p, "must be \"none\", \"require_mfa\" or \"block\"");
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "intune_enrollment");
    if (v != NULL && (grant = name_index(v, ca_grant_names)) < 0) {
        snprintf(p, sizeof(p), "%s.intune_enrollment", path);
        return fail(err, errsz, p,
                    "must be \"none\", \"require_compliant_device\", "
                    "\"require_hybrid_joined\" or \"require_approved_app\"");
    }
    if (!get_bool(o, "block_unknown_platforms", path, &unknown, err, errsz))
        return false;
    t->ca_join = (enum sim_ca_policy)join;
    t->ca_enrollment = (enum sim_ca_grant)grant;
    t->ca_block_unknown_platforms = unknown;
    return true;
}

bool
tenant_apply_login(struct sim_tenant *t, const cJSON *o, const char *path, char *err, size_t errsz)
{
    static const char *const members[] = {"device_code_expires_in",
                                          "device_code_interval",
                                          "access_token_lifetime",
                                          "refresh_token_lifetime",
                                          "verification_uri",
                                          "verification_uri_complete",
                                          NULL};
    long a = t->dc_expires_in, b = t->dc_interval, c = t->at_lifetime, d = t->rt_lifetime;
    bool uc = t->verification_uri_complete;
    char *vu = NULL;

    if (!check_members(o, path, members, err, errsz) ||
        !get_long(o, "device_code_expires_in", path, 1, 86400, &a, err, errsz) ||
        !get_long(o, "device_code_interval", path, 0, 60, &b, err, errsz) ||
        !get_long(o, "access_token_lifetime", path, 1, 86400, &c, err, errsz) ||
        !get_long(o, "refresh_token_lifetime", path, 1, 365L * 86400, &d, err, errsz) ||
        !get_bool(o, "verification_uri_complete", path, &uc, err, errsz) ||
        !get_str(o, "verification_uri", path, false, STR_MAX, &vu, err, errsz))
        return false;
    t->verification_uri_complete = uc;
    t->dc_expires_in = a;
    t->dc_interval = b;
    t->at_lifetime = c;
    t->rt_lifetime = d;
    if (vu != NULL) {
        free(t->verification_uri);
        t->verification_uri = vu;
    }
    return true;
}

bool
tenant_apply_prt(struct sim_tenant *t, const cJSON *o, const char *path, char *err, size_t errsz)
{
    static const char *const members[] = {"nonce_lifetime_s", "lifetime_s",
                                          "auth_not_ready_after_join", NULL};
    long a = t->prt.nonce_lifetime, b = t->prt.lifetime, c = t->prt.not_ready_joined;

    if (!check_members(o, path, members, err, errsz) ||
        !get_long(o, "nonce_lifetime_s", path, 0, 86400, &a, err, errsz) ||
        !get_long(o, "lifetime_s", path, 1, 365L * 86400, &b, err, errsz) ||
        !get_long(o, "auth_not_ready_after_join", path, 0, 1000, &c, err, errsz))
        return false;
    t->prt.nonce_lifetime = a;
    t->prt.lifetime = b;
    t->prt.not_ready_joined = c;
    return true;
}

/* ---- Intune ---- */

static const char *const intune_members[] = {"mdm_user_scope",
                                             "mdm_user_scope_groups",
                                             "windows",
                                             "block_personally_owned",
                                             "corporate_identifiers",
                                             "device_limit",
                                             "policy_service",
                                             "enrollment_url_request_id",
                                             "management_url",
                                             "fault_detail",
                                             "require_device_claim",
                                             "mdm_claims_in_access_token",
                                             "enrollment_host",
                                             NULL};

/* Trimmed span of one part of a corporate identifier line. */
static bool
corp_part(const char *s, size_t n, const char **out, size_t *outn)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n > SIM_CORP_PART_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    *out = s;
    *outn = n;
    return true;
}

/* Split "manufacturer,model,serial" into three trimmed spans. */
static bool
corp_split(const char *line, const char *p[3], size_t n[3])
{
    const char *c1 = strchr(line, ','), *c2 = c1 != NULL ? strchr(c1 + 1, ',') : NULL;

    if (c1 == NULL || c2 == NULL || strchr(c2 + 1, ',') != NULL)
        return false;
    return corp_part(line, (size_t)(c1 - line), &p[0], &n[0]) &&
           corp_part(c1 + 1, (size_t)(c2 - c1 - 1), &p[1], &n[1]) &&
           corp_part(c2 + 1, strlen(c2 + 1), &p[2], &n[2]);
}

static void
corp_free(char **ids, size_t n)
{
    for (size_t i = 0; ids != NULL && i < n; i++)
        free(ids[i]);
    free(ids);
}

bool
tenant_apply_intune(struct sim_tenant *t, const cJSON *o, const char *path, char *err, size_t errsz)
{
    struct sim_intune *in = &t->intune;
    enum sim_mdm_scope scope = in->scope;
    bool blocked = in->windows_blocked, personal = in->block_personal, pol = in->policy_service;
    bool crid = in->enroll_url_crid;
    bool wdetail = in->windows_fault_detail;
    bool devclaim = in->require_device_claim, mdm_at = in->mdm_claims_in_at;
    long limit = (long)in->device_limit;
    char *groups[SIM_MAX_GROUPS] = {0};
    size_t ng = 0, nc = 0;
    char **corp = NULL;
    char *url = NULL, *ehost = NULL;
    const cJSON *v, *e;
    char p[160];
    bool ok = false;

    if (!check_members(o, path, intune_members, err, errsz))
        return false;
    v = cJSON_GetObjectItemCaseSensitive(o, "mdm_user_scope");
    if (v != NULL) {
        snprintf(p, sizeof(p), "%s.mdm_user_scope", path);
        if (cJSON_IsString(v) && strcmp(v->valuestring, "none") == 0)
            scope = SIM_MDM_NONE;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "some") == 0)
            scope = SIM_MDM_SOME;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "all") == 0)
            scope = SIM_MDM_ALL;
        else
            return fail(err, errsz, p, "must be \"none\", \"some\" or \"all\"");
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "windows");
    if (v != NULL) {
        snprintf(p, sizeof(p), "%s.windows", path);
        if (cJSON_IsString(v) && strcmp(v->valuestring, "allowed") == 0)
            blocked = false;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "blocked") == 0)
            blocked = true;
        else
            return fail(err, errsz, p, "must be \"allowed\" or \"blocked\"");
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "fault_detail");
    if (v != NULL) {
        snprintf(p, sizeof(p), "%s.fault_detail", path);
        if (cJSON_IsString(v) && strcmp(v->valuestring, "DeviceEnrollmentServiceError") == 0)
            wdetail = false;
        else if (cJSON_IsString(v) &&
                 strcmp(v->valuestring, "WindowsDeviceEnrollmentServiceError") == 0)
            wdetail = true;
        else
            return fail(err, errsz, p,
                        "must be \"DeviceEnrollmentServiceError\" or "
                        "\"WindowsDeviceEnrollmentServiceError\"");
    }
    if (!get_bool(o, "block_personally_owned", path, &personal, err, errsz) ||
        !get_bool(o, "policy_service", path, &pol, err, errsz) ||
        !get_bool(o, "enrollment_url_request_id", path, &crid, err, errsz) ||
        !get_bool(o, "require_device_claim", path, &devclaim, err, errsz) ||
        !get_bool(o, "mdm_claims_in_access_token", path, &mdm_at, err, errsz) ||
        !get_long(o, "device_limit", path, 1, 15, &limit, err, errsz) ||
        !get_str(o, "management_url", path, false, 512, &url, err, errsz))
        return false;
    if (!get_str(o, "enrollment_host", path, false, 253, &ehost, err, errsz))
        goto out;
    if (ehost != NULL &&
        (ehost[0] == '\0' ||
         strspn(ehost, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(ehost))) {
        snprintf(p, sizeof(p), "%s.enrollment_host", path);
        fail(err, errsz, p, "must be a host name (a-z, 0-9, '.', '-')");
        goto out;
    }
    if (url != NULL && strncmp(url, "https://", 8) != 0) {
        snprintf(p, sizeof(p), "%s.management_url", path);
        fail(err, errsz, p, "must be an https:// URL");
        goto out;
    }
    if (!get_str_array(o, "mdm_user_scope_groups", path, groups, &ng, SIM_MAX_GROUPS, err, errsz))
        goto out;
    for (size_t i = 0; i < ng; i++) {
        if (!group_exists(t, groups[i])) {
            snprintf(p, sizeof(p), "%s.mdm_user_scope_groups[%zu]", path, i);
            fail(err, errsz, p, "unknown group '%s'", groups[i]);
            goto out;
        }
    }
    if (scope == SIM_MDM_SOME && ng == 0 &&
        (cJSON_GetObjectItemCaseSensitive(o, "mdm_user_scope_groups") != NULL ||
         in->nscope_groups == 0)) {
        snprintf(p, sizeof(p), "%s.mdm_user_scope_groups", path);
        fail(err, errsz, p, "required when mdm_user_scope is \"some\"");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "corporate_identifiers");
    if (v != NULL) {
        size_t i = 0;
        snprintf(p, sizeof(p), "%s.corporate_identifiers", path);
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SIM_MAX_CORP_IDS) {
            fail(err, errsz, p,
                 "must be an array of at most %d \"manufacturer,model,serial\" "
                 "strings",
                 SIM_MAX_CORP_IDS);
            goto out;
        }
        corp = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*corp));
        if (corp == NULL) {
            fail(err, errsz, p, "out of memory");
            goto out;
        }
        cJSON_ArrayForEach(e, v)
        {
            const char *parts[3];
            size_t lens[3];
            if (!cJSON_IsString(e) || strlen(e->valuestring) > 3 * SIM_CORP_PART_MAX + 2 ||
                !corp_split(e->valuestring, parts, lens)) {
                snprintf(p, sizeof(p), "%s.corporate_identifiers[%zu]", path, i);
                fail(err, errsz, p,
                     "must be \"manufacturer,model,serial\" (three non-empty "
                     "parts of at most %d characters)",
                     SIM_CORP_PART_MAX);
                goto out;
            }
            corp[i] = strdup(e->valuestring);
            if (corp[i] == NULL) {
                fail(err, errsz, p, "out of memory");
                goto out;
            }
            nc = ++i;
        }
    }
    /* Commit. */
    in->configured = true;
    in->scope = scope;
    in->windows_blocked = blocked;
    in->block_personal = personal;
    in->policy_service = pol;
    in->enroll_url_crid = crid;
    in->windows_fault_detail = wdetail;
    in->require_device_claim = devclaim;
    in->mdm_claims_in_at = mdm_at;
    if (ehost != NULL)
        snprintf(in->enroll_host, sizeof(in->enroll_host), "%s", ehost);
    in->device_limit = (unsigned long)limit;
    if (cJSON_GetObjectItemCaseSensitive(o, "mdm_user_scope_groups") != NULL) {
        for (size_t i = 0; i < in->nscope_groups; i++)
            free(in->scope_groups[i]);
        memcpy(in->scope_groups, groups, sizeof(groups));
        in->nscope_groups = ng;
        ng = 0;
    }
    if (v != NULL) {
        corp_free(in->corp_ids, in->ncorp_ids);
        in->corp_ids = corp;
        in->ncorp_ids = nc;
        corp = NULL;
    }
    if (url != NULL) {
        free(in->mgmt_url);
        in->mgmt_url = url;
        url = NULL;
    }
    ok = true;
out:
    for (size_t i = 0; i < ng; i++)
        free(groups[i]);
    if (corp != NULL)
        corp_free(corp, nc);
    free(url);
    free(ehost);
    return ok;
}

bool
tenant_mdm_in_scope(const struct sim_tenant *t, const struct sim_user *u)
{
    const struct sim_intune *in = &t->intune;

    if (!in->configured || in->scope == SIM_MDM_NONE)
        return false;
    if (in->scope == SIM_MDM_ALL)
        return true;
    for (size_t i = 0; i < in->nscope_groups; i++) {
        /* A scope group may be named by name or object id; users list names. */
        for (size_t j = 0; j < t->ngroups; j++) {
            if ((strcmp(t->groups[j].name, in->scope_groups[i]) == 0 ||
                 sim_streq_ci(t->groups[j].oid, in->scope_groups[i])) &&
                (tenant_user_in_group(u, t->groups[j].name) ||
                 tenant_user_in_group(u, t->groups[j].oid)))
                return true;
        }
    }
    return false;
}

static bool
has_licence(const struct sim_user *u, const char *const *any)
{
    for (size_t i = 0; i < u->nlicenses; i++)
        for (size_t j = 0; any[j] != NULL; j++)
            if (strcmp(u->licenses[i], any[j]) == 0)
                return true;
    return false;
}

bool
tenant_mdm_licensed(const struct sim_user *u, const char **missing)
{
    /* Microsoft 365 E3/E5 include both; Entra ID P2 includes P1. */
    static const char *const intune[] = {"intune", "m365_e3", "m365_e5", NULL};
    static const char *const p1[] = {"entra_p1", "entra_p2", "m365_e3", "m365_e5", NULL};

    if (!has_licence(u, intune)) {
        *missing = "Microsoft Intune";
        return false;
    }
    if (!has_licence(u, p1)) {
        *missing = "Microsoft Entra ID P1";
        return false;
    }
    *missing = NULL;
    return true;
}

static bool
part_eq(const char *a, size_t an, const char *b)
{
    const char *bp;
    size_t bn;

    return b != NULL && corp_part(b, strlen(b), &bp, &bn) && an == bn &&
           strncasecmp(a, bp, an) == 0;
}

bool
tenant_corp_id_match(const struct sim_tenant *t, const char *manufacturer, const char *model,
                     const char *serial)
{
    for (size_t i = 0; i < t->intune.ncorp_ids; i++) {
        const char *p[3];
        size_t n[3];
        if (corp_split(t->intune.corp_ids[i], p, n) && part_eq(p[0], n[0], manufacturer) &&
            part_eq(p[1], n[1], model) && part_eq(p[2], n[2], serial))
            return true;
    }
    return false;
}

/* ---- app registrations ---- */

#define BROKER_CLIENT_ID "29d9ed98-a469-4536-ade2-f981bc1d605e"

static const char *const app_members[] = {"client_id", "name", "redirect_uris", NULL};

static bool
app_apply(struct sim_tenant *t, struct sim_app *a, const cJSON *o, const char *path, char *err,
          size_t errsz)
{
    unsigned char g[16];
    char p[96];

    if (!cJSON_IsObject(o))
        return fail(err, errsz, path, "must be an object");
    if (!check_members(o, path, app_members, err, errsz) ||
        !get_str(o, "client_id", path, true, 36, &a->client_id, err, errsz) ||
        !get_str(o, "name", path, true, 128, &a->name, err, errsz) ||
        !get_str_array(o, "redirect_uris", path, a->redirect_uris, &a->nredirect, SIM_MAX_REDIRECTS,
                       err, errsz))
        return false;
    snprintf(p, sizeof(p), "%s.client_id", path);
    if (!sim_guid_parse(a->client_id, g))
        return fail(err, errsz, p, "must be a GUID");
    for (char *q = a->client_id; *q != '\0'; q++)
        if (*q >= 'A' && *q <= 'F')
            *q = (char)(*q - 'A' + 'a');
    if (strcmp(a->client_id, BROKER_CLIENT_ID) == 0)
        return fail(err, errsz, p, "is the Microsoft Authentication Broker, a first-party app");
    for (size_t i = 0; i < t->napps; i++)
        if (strcmp(t->apps[i].client_id, a->client_id) == 0)
            return fail(err, errsz, p, "is listed twice");
    if (a->nredirect == 0) {
        snprintf(p, sizeof(p), "%s.redirect_uris", path);
        return fail(err, errsz, p, "needs at least one redirect URI");
    }
    return true;
}

static void
app_clear(struct sim_app *a)
{
    free(a->client_id);
    free(a->name);
    for (size_t i = 0; i < a->nredirect; i++)
        free(a->redirect_uris[i]);
    memset(a, 0, sizeof(*a));
}

/* "http://127.0.0.1", "http://localhost" or "http://[::1]", then ':' port, '/' or end:
 * the length of the part before the port, else 0. */
static size_t
loopback_prefix(const char *u)
{
    static const char *const hosts[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};

    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(hosts[i]);
        if (strncasecmp(u, hosts[i], n) == 0 && (u[n] == '\0' || u[n] == ':' || u[n] == '/'))
            return n;
    }
    return 0;
}

/* The path (and query) after host[:port]. */
static const char *
after_port(const char *u, size_t n)
{
    u += n;
    if (*u == ':')
        while (*++u >= '0' && *u <= '9')
            ;
    return u;
}

/* A registered loopback URI matches whatever port the request names. */
static bool
redirect_matches(const char *registered, const char *asked)
{
    size_t nr = loopback_prefix(registered), na = loopback_prefix(asked);

    if (nr != 0 && na != 0)
        return nr == na && strncasecmp(registered, asked, nr) == 0 &&
               strcmp(after_port(registered, nr), after_port(asked, na)) == 0;
    return strcmp(registered, asked) == 0;
}

bool
tenant_redirect_allowed(const struct sim_tenant *t, const char *client_id, const char *redirect_uri)
{
    /* dirkjanm/ROADtools roadtx firstpartyscopes.json, app 29d9ed98 (the
     * Android/Apple broker URIs left out) */
    static const char *const broker[] = {
        "ms-aadj-redir://auth/drs",
        "ms-aadj-redir://auth/mdm",
        "urn:ietf:wg:oauth:2.0:oob",
        "ms-appx-web://Microsoft.AAD.BrokerPlugin/DRS",
        "ms-appx-web://Microsoft.AAD.BrokerPlugin/DRSFF",
        "ms-appx-web://Microsoft.AAD.BrokerPlugin/MDM",
        "ms-appx-web://Microsoft.AAD.BrokerPlugin",
        "msauth://Microsoft.AAD.BrokerPlugin",
        "https://login.microsoftonline.com/WebApp/CloudDomainJoin/3",
        "https://login.microsoftonline.com/WebApp/CloudDomainJoin/4",
        "https://login.microsoftonline.com/WebApp/CloudDomainJoin/6",
        "https://login.microsoftonline.com/WebApp/CloudDomainJoin/8",
        NULL};
    static const char *const native[] = {
        "ms-aadj-redir://auth/drs",
        "ms-aadj-redir://auth/mdm",
        "urn:ietf:wg:oauth:2.0:oob",
        "https://login.microsoftonline.com/common/oauth2/nativeclient",
        "ms-appx-web://Microsoft.AAD.BrokerPlugin/DRS",
        NULL};

    if (strcasecmp(client_id, BROKER_CLIENT_ID) == 0) {
        for (size_t i = 0; broker[i] != NULL; i++)
            if (strcmp(redirect_uri, broker[i]) == 0)
                return true;
        return false;
    }
    for (size_t i = 0; i < t->napps; i++) {
        if (strcasecmp(t->apps[i].client_id, client_id) != 0)
            continue;
        for (size_t j = 0; j < t->apps[i].nredirect; j++)
            if (redirect_matches(t->apps[i].redirect_uris[j], redirect_uri))
                return true;
        return false;
    }
    for (size_t i = 0; native[i] != NULL; i++)
        if (strcmp(redirect_uri, native[i]) == 0)
            return true;
    return loopback_prefix(redirect_uri) != 0;
}

static const char *const top_members[] = {
    "tenant_id",          "name",  "domains", "region",       "users", "groups", "device_settings",
    "conditional_access", "login", "intune",  "applications", "prt",   NULL};

enum lj_rc
tenant_parse(const char *text, size_t len, struct sim_tenant **out, char *err, size_t errsz)
{
    cJSON *root = NULL;
    const cJSON *v, *e;
    struct sim_tenant *t = NULL;
    unsigned char g[16];
    enum lj_rc rc = LJ_ERR_CONFIG;
    size_t i;
    const char *endp = NULL;

    err[0] = '\0';
    /*
     * Exactly len bytes are read (text need not be NUL-terminated: reading
     * text[len] overflowed when it was not, found by simfuzz_tenant); an
     * embedded NUL or anything but whitespace after the value is an error.
     */
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errsz, "contains a NUL byte");
        goto out;
    }
    root = cJSON_ParseWithLengthOpts(text, len, &endp, 0);
    if (root == NULL) {
        snprintf(err, errsz, "not valid JSON near byte %ld",
                 endp != NULL ? (long)(endp - text) : -1L);
        goto out;
    }
    while (endp != NULL && endp < text + len && isspace((unsigned char)*endp))
        endp++;
    if (endp == NULL || endp != text + len) {
        snprintf(err, errsz, "not valid JSON near byte %ld",
                 endp != NULL ? (long)(endp - text) : -1L);
        goto out;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    t->join = SIM_JOIN_ALL;
    t->max_devices = 50;
    t->dc_expires_in = 900;
    t->dc_interval = 5;
    t->at_lifetime = 3599;
    t->rt_lifetime = 90L * 86400;
    if (!check_members(root, "", top_members, err, errsz) ||
        !get_str(root, "tenant_id", "", true, 36, &t->id, err, errsz) ||
        !get_str(root, "name", "", true, STR_MAX, &t->name, err, errsz) ||
        !get_str(root, "region", "", false, 2, &t->region, err, errsz))
        goto out;
    if (!sim_guid_parse(t->id, g)) {
        fail(err, errsz, "tenant_id", "must be a GUID");
        goto out;
    }
    for (char *c = t->id; *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    if (t->region == NULL && (t->region = strdup("NA")) == NULL)
        goto out;
    if (strlen(t->region) != 2) {
        fail(err, errsz, "region", "must be two letters (NA, EU, AS, OC, ...)");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "domains");
    if (v == NULL || !cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1) {
        fail(err, errsz, "domains", "must be a non-empty array of domain names");
        goto out;
    }
    if (!get_str_array(root, "domains", "", t->domains, &t->ndomains, SIM_MAX_DOMAINS, err, errsz))
        goto out;
    for (i = 0; i < t->ndomains; i++) {
        if (strchr(t->domains[i], '.') == NULL || strchr(t->domains[i], '/') != NULL ||
            strchr(t->domains[i], '@') != NULL) {
            char p[64];
            snprintf(p, sizeof(p), "domains[%zu]", i);
            fail(err, errsz, p, "'%s' is not a domain name", t->domains[i]);
            goto out;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "groups");
    if (v != NULL) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SIM_MAX_GROUPS) {
            fail(err, errsz, "groups", "must be an array of at most %d groups", SIM_MAX_GROUPS);
            goto out;
        }
        i = 0;
        cJSON_ArrayForEach(e, v)
        {
            static const char *const gm[] = {"name", "object_id", NULL};
            char p[64];
            struct sim_group *gr = &t->groups[i];
            snprintf(p, sizeof(p), "groups[%zu]", i);
            t->ngroups = i + 1;
            if (!check_members(e, p, gm, err, errsz) ||
                !get_str(e, "name", p, true, STR_MAX, &gr->name, err, errsz) ||
                !get_str(e, "object_id", p, false, 36, &gr->oid, err, errsz))
                goto out;
            if (gr->oid != NULL && !sim_guid_parse(gr->oid, g)) {
                char q[80];
                snprintf(q, sizeof(q), "%s.object_id", p);
                fail(err, errsz, q, "must be a GUID");
                goto out;
            }
            if (gr->oid == NULL) {
                char name[512], gid[37];
                snprintf(name, sizeof(name), "%s/group/%s", t->id, gr->name);
                sim_guid_from_name(name, gid);
                if ((gr->oid = strdup(gid)) == NULL)
                    goto out;
            }
            for (size_t j = 0; j < i; j++) {
                if (strcmp(t->groups[j].name, gr->name) == 0) {
                    char q[80];
                    snprintf(q, sizeof(q), "%s.name", p);
                    fail(err, errsz, q, "duplicate group '%s'", gr->name);
                    goto out;
                }
            }
            i++;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "users");
    if (v != NULL) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SIM_MAX_USERS) {
            fail(err, errsz, "users", "must be an array of at most %d users", SIM_MAX_USERS);
            goto out;
        }
        i = 0;
        cJSON_ArrayForEach(e, v)
        {
            struct sim_user u = {0};
            char p[64];
            snprintf(p, sizeof(p), "users[%zu]", i);
            if (!user_apply(t, &u, e, p, true, err, errsz) || !users_append(t, &u)) {
                if (err[0] == '\0')
                    snprintf(err, errsz, "out of memory");
                user_clear(&u);
                goto out;
            }
            i++;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "device_settings");
    if (v != NULL && !tenant_apply_device_settings(t, v, "device_settings", err, errsz))
        goto out;
    if (t->join == SIM_JOIN_SELECTED && t->njoin_groups == 0) {
        fail(err, errsz, "device_settings.users_may_join_groups",
             "required when users_may_join is \"selected\"");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "conditional_access");
    if (v != NULL && !tenant_apply_ca(t, v, "conditional_access", err, errsz))
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(root, "login");
    if (v != NULL && !tenant_apply_login(t, v, "login", err, errsz))
        goto out;
    if (t->verification_uri == NULL &&
        (t->verification_uri = strdup("https://microsoft.com/devicelogin")) == NULL)
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(root, "applications");
    if (v != NULL) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SIM_MAX_APPS) {
            fail(err, errsz, "applications", "must be an array of at most %d app registrations",
                 SIM_MAX_APPS);
            goto out;
        }
        i = 0;
        cJSON_ArrayForEach(e, v)
        {
            char p[64];
            snprintf(p, sizeof(p), "applications[%zu]", i);
            if (!app_apply(t, &t->apps[t->napps], e, p, err, errsz)) {
                app_clear(&t->apps[t->napps]);
                goto out;
            }
            t->napps++;
            i++;
        }
    }
    t->intune.device_limit = 5;
    t->intune.scope = SIM_MDM_ALL;
    t->intune.policy_service = true;
    t->intune.enroll_url_crid = true;
    snprintf(t->intune.enroll_host, sizeof(t->intune.enroll_host),
             "enrollment.manage.microsoft.com");
    t->intune.require_device_claim = true;
    t->prt.nonce_lifetime = 300;
    t->prt.lifetime = 1209600;
    v = cJSON_GetObjectItemCaseSensitive(root, "prt");
    if (v != NULL && !tenant_apply_prt(t, v, "prt", err, errsz))
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(root, "intune");
    if (v != NULL && !tenant_apply_intune(t, v, "intune", err, errsz))
        goto out;
    if (!t->intune.configured)
        t->intune.scope = SIM_MDM_NONE;
    if (t->intune.mgmt_url == NULL &&
        (t->intune.mgmt_url =
             strdup("https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx")) == NULL)
        goto out;
    *out = t;
    t = NULL;
    rc = LJ_OK;
out:
    if (rc != LJ_OK && err[0] == '\0')
        snprintf(err, errsz, "out of memory");
    cJSON_Delete(root);
    tenant_free(t);
    return rc;
}

void
tenant_free(struct sim_tenant *t)
{
    if (t == NULL)
        return;
    free(t->id);
    free(t->name);
    free(t->region);
    for (size_t i = 0; i < t->ndomains; i++)
        free(t->domains[i]);
    for (size_t i = 0; i < t->nusers; i++)
        user_clear(&t->users[i]);
    free(t->users);
    for (size_t i = 0; i < t->ngroups; i++) {
        free(t->groups[i].name);
        free(t->groups[i].oid);
    }
    for (size_t i = 0; i < t->njoin_groups; i++)
        free(t->join_groups[i]);
    free(t->verification_uri);
    for (size_t i = 0; i < t->intune.nscope_groups; i++)
        free(t->intune.scope_groups[i]);
    corp_free(t->intune.corp_ids, t->intune.ncorp_ids);
    free(t->intune.mgmt_url);
    for (size_t i = 0; i < t->napps; i++)
        app_clear(&t->apps[i]);
    free(t);
}

struct sim_user *
tenant_user_by_upn(struct sim_tenant *t, const char *upn)
{
    for (size_t i = 0; upn != NULL && i < t->nusers; i++)
        if (sim_streq_ci(t->users[i].upn, upn))
            return &t->users[i];
    return NULL;
}

struct sim_user *
tenant_user_by_oid(struct sim_tenant *t, const char *oid)
{
    for (size_t i = 0; oid != NULL && i < t->nusers; i++)
        if (sim_streq_ci(t->users[i].oid, oid))
            return &t->users[i];
    return NULL;
}

bool
tenant_has_domain(const struct sim_tenant *t, const char *domain)
{
    for (size_t i = 0; domain != NULL && i < t->ndomains; i++)
        if (sim_streq_ci(t->domains[i], domain))
            return true;
    return false;
}

bool
tenant_matches_path(const struct sim_tenant *t, const char *seg)
{
    /* Case-insensitive like Entra's: AADInternals asks for its nonce on /Common/oauth2/token. */
    return sim_streq_ci(seg, t->id) || tenant_has_domain(t, seg) || sim_streq_ci(seg, "common") ||
           sim_streq_ci(seg, "organizations");
}

bool
tenant_user_in_group(const struct sim_user *u, const char *group)
{
    for (size_t i = 0; i < u->ngroups; i++)
        if (strcmp(u->groups[i], group) == 0)
            return true;
    return false;
}

cJSON *
tenant_user_json(const struct sim_user *u)
{
    cJSON *o = cJSON_CreateObject(), *g, *l;

    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "upn", u->upn);
    cJSON_AddStringToObject(o, "object_id", u->oid);
    cJSON_AddStringToObject(o, "display_name", u->display_name);
    cJSON_AddBoolToObject(o, "enabled", u->enabled);
    cJSON_AddBoolToObject(o, "locked", u->locked);
    cJSON_AddBoolToObject(o, "password_expired", u->password_expired);
    cJSON_AddBoolToObject(o, "mfa_registered", u->mfa_registered);
    g = cJSON_AddArrayToObject(o, "groups");
    for (size_t i = 0; g != NULL && i < u->ngroups; i++)
        cJSON_AddItemToArray(g, cJSON_CreateString(u->groups[i]));
    l = cJSON_AddArrayToObject(o, "licenses");
    for (size_t i = 0; l != NULL && i < u->nlicenses; i++)
        cJSON_AddItemToArray(l, cJSON_CreateString(u->licenses[i]));
    cJSON_AddNumberToObject(o, "devices", (double)u->devices);
    return o;
}

cJSON *
tenant_settings_json(const struct sim_tenant *t)
{
    static const char *const join[] = {"all", "selected", "none"};
    cJSON *o = cJSON_CreateObject(), *ds, *g, *cao, *lo, *in;

    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "tenant_id", t->id);
    cJSON_AddStringToObject(o, "name", t->name);
    g = cJSON_AddArrayToObject(o, "domains");
    for (size_t i = 0; g != NULL && i < t->ndomains; i++)
        cJSON_AddItemToArray(g, cJSON_CreateString(t->domains[i]));
    cJSON_AddStringToObject(o, "region", t->region);
    ds = cJSON_AddObjectToObject(o, "device_settings");
    if (ds != NULL) {
        cJSON_AddStringToObject(ds, "users_may_join", join[t->join]);
        g = cJSON_AddArrayToObject(ds, "users_may_join_groups");
        for (size_t i = 0; g != NULL && i < t->njoin_groups; i++)
            cJSON_AddItemToArray(g, cJSON_CreateString(t->join_groups[i]));
        if (t->max_devices == 0)
            cJSON_AddStringToObject(ds, "max_devices_per_user", "unlimited");
        else
            cJSON_AddNumberToObject(ds, "max_devices_per_user", (double)t->max_devices);
        cJSON_AddBoolToObject(ds, "require_mfa_to_join", t->require_mfa_to_join);
    }
    cao = cJSON_AddObjectToObject(o, "conditional_access");
    if (cao != NULL) {
        cJSON_AddStringToObject(cao, "register_or_join_devices", ca_join_names[t->ca_join]);
        cJSON_AddBoolToObject(cao, "block_unknown_platforms", t->ca_block_unknown_platforms);
        cJSON_AddStringToObject(cao, "intune_enrollment", ca_grant_names[t->ca_enrollment]);
    }
    lo = cJSON_AddObjectToObject(o, "login");
    if (lo != NULL) {
        cJSON_AddNumberToObject(lo, "device_code_expires_in", (double)t->dc_expires_in);
        cJSON_AddNumberToObject(lo, "device_code_interval", (double)t->dc_interval);
        cJSON_AddNumberToObject(lo, "access_token_lifetime", (double)t->at_lifetime);
        cJSON_AddNumberToObject(lo, "refresh_token_lifetime", (double)t->rt_lifetime);
        cJSON_AddStringToObject(lo, "verification_uri", t->verification_uri);
        cJSON_AddBoolToObject(lo, "verification_uri_complete", t->verification_uri_complete);
    }
    lo = cJSON_AddObjectToObject(o, "prt");
    if (lo != NULL) {
        cJSON_AddNumberToObject(lo, "nonce_lifetime_s", (double)t->prt.nonce_lifetime);
        cJSON_AddNumberToObject(lo, "lifetime_s", (double)t->prt.lifetime);
        cJSON_AddNumberToObject(lo, "auth_not_ready_after_join", (double)t->prt.not_ready_joined);
    }
    in = cJSON_AddObjectToObject(o, "intune");
    if (in != NULL) {
        static const char *const scope[] = {"none", "some", "all"};
        cJSON_AddBoolToObject(in, "configured", t->intune.configured);
        cJSON_AddStringToObject(in, "mdm_user_scope", scope[t->intune.scope]);
        g = cJSON_AddArrayToObject(in, "mdm_user_scope_groups");
        for (size_t i = 0; g != NULL && i < t->intune.nscope_groups; i++)
            cJSON_AddItemToArray(g, cJSON_CreateString(t->intune.scope_groups[i]));
        cJSON_AddStringToObject(in, "windows", t->intune.windows_blocked ? "blocked" : "allowed");
        cJSON_AddBoolToObject(in, "block_personally_owned", t->intune.block_personal);
        g = cJSON_AddArrayToObject(in, "corporate_identifiers");
        for (size_t i = 0; g != NULL && i < t->intune.ncorp_ids; i++)
            cJSON_AddItemToArray(g, cJSON_CreateString(t->intune.corp_ids[i]));
        cJSON_AddNumberToObject(in, "device_limit", (double)t->intune.device_limit);
        cJSON_AddBoolToObject(in, "policy_service", t->intune.policy_service);
        cJSON_AddBoolToObject(in, "enrollment_url_request_id", t->intune.enroll_url_crid);
        cJSON_AddStringToObject(in, "enrollment_host", t->intune.enroll_host);
        cJSON_AddBoolToObject(in, "require_device_claim", t->intune.require_device_claim);
        cJSON_AddBoolToObject(in, "mdm_claims_in_access_token", t->intune.mdm_claims_in_at);
        cJSON_AddStringToObject(in, "management_url", t->intune.mgmt_url);
        cJSON_AddStringToObject(in, "fault_detail",
                                t->intune.windows_fault_detail
                                    ? "WindowsDeviceEnrollmentServiceError"
                                    : "DeviceEnrollmentServiceError");
    }
    return o;
}

/* ---- registry ---- */

/* Typed append helpers for the registry arrays (no void** aliasing). */
#define DEFINE_APPEND(name, type)                                                                  \
    static bool name(type ***arr, size_t *n, size_t *cap, type *p, size_t max)                     \
    {                                                                                              \
        if (*n >= max)                                                                             \
            return false;                                                                          \
        if (*n == *cap) {                                                                          \
            size_t nc = *cap != 0 ? *cap * 2 : 64;                                                 \
            type **na = realloc(*arr, nc * sizeof(type *));                                        \
            if (na == NULL)                                                                        \
                return false;                                                                      \
            *arr = na;                                                                             \
            *cap = nc;                                                                             \
        }                                                                                          \
        (*arr)[(*n)++] = p;                                                                        \
        return true;                                                                               \
    }
DEFINE_APPEND(append_dev, struct sim_device)
DEFINE_APPEND(append_dc, struct sim_devcode)
DEFINE_APPEND(append_ac, struct sim_authcode)
DEFINE_APPEND(append_rt, struct sim_refresh)
DEFINE_APPEND(append_enr, struct sim_enrollment)

void
state_device_free(struct sim_device *d)
{
    if (d == NULL)
        return;
    free(d->cert);
    free(d->tkey);
    free(d);
}

static void
secret_struct_free(void *p, size_t n)
{
    if (p != NULL)
        lj_secure_free(p, n);
}

void
state_clear_registry(void)
{
    for (size_t i = 0; i < g_sim.ndev; i++)
        state_device_free(g_sim.dev[i]);
    for (size_t i = 0; i < g_sim.ndc; i++)
        secret_struct_free(g_sim.dc[i], sizeof(struct sim_devcode));
    for (size_t i = 0; i < g_sim.nac; i++)
        secret_struct_free(g_sim.ac[i], sizeof(struct sim_authcode));
    for (size_t i = 0; i < g_sim.nrt; i++)
        secret_struct_free(g_sim.rt[i], sizeof(struct sim_refresh));
    state_clear_enrollments();
    prt_clear();
    free(g_sim.dev);
    free(g_sim.dc);
    free(g_sim.ac);
    free(g_sim.rt);
    g_sim.dev = NULL;
    g_sim.dc = NULL;
    g_sim.ac = NULL;
    g_sim.rt = NULL;
    g_sim.ndev = g_sim.capdev = g_sim.ndc = g_sim.capdc = 0;
    g_sim.nac = g_sim.capac = g_sim.nrt = g_sim.caprt = 0;
    if (g_sim.t != NULL)
        for (size_t i = 0; i < g_sim.t->nusers; i++)
            g_sim.t->users[i].devices = 0;
}

bool
state_add_device(struct sim_device *d)
{
    return append_dev(&g_sim.dev, &g_sim.ndev, &g_sim.capdev, d, SIM_MAX_DEVICES);
}

struct sim_device *
state_device_by_id(const char *id)
{
    for (size_t i = 0; id != NULL && i < g_sim.ndev; i++)
        if (sim_streq_ci(g_sim.dev[i]->id, id))
            return g_sim.dev[i];
    return NULL;
}

struct sim_device *
state_device_by_key(const char *owner_oid, const unsigned char hash[32])
{
    for (size_t i = 0; i < g_sim.ndev; i++) {
        struct sim_device *d = g_sim.dev[i];
        if (d->ready && strcmp(d->owner_oid, owner_oid) == 0 && memcmp(d->key_hash, hash, 32) == 0)
            return d;
    }
    return NULL;
}

bool
state_delete_device(const char *id)
{
    for (size_t i = 0; i < g_sim.ndev; i++) {
        struct sim_device *d = g_sim.dev[i];
        if (!sim_streq_ci(d->id, id))
            continue;
        struct sim_user *u = g_sim.t != NULL ? tenant_user_by_oid(g_sim.t, d->owner_oid) : NULL;
        if (u != NULL && u->devices > 0)
            u->devices--;
        state_device_free(d);
        g_sim.dev[i] = g_sim.dev[--g_sim.ndev];
        return true;
    }
    return false;
}

cJSON *
state_device_json(const struct sim_device *d)
{
    char t[32];
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    sim_time_entra(t, sizeof(t), d->created);
    cJSON_AddStringToObject(o, "device_id", d->id);
    cJSON_AddStringToObject(o, "owner_upn", d->upn);
    cJSON_AddStringToObject(o, "owner_object_id", d->owner_oid);
    cJSON_AddStringToObject(o, "display_name", d->display_name);
    cJSON_AddStringToObject(o, "device_type", d->device_type);
    cJSON_AddStringToObject(o, "os_version", d->os_version);
    cJSON_AddNumberToObject(o, "join_type", d->join_type);
    cJSON_AddStringToObject(o, "thumbprint", d->thumbprint);
    cJSON_AddStringToObject(o, "created", t);
    cJSON_AddBoolToObject(o, "enabled", !d->disabled);
    cJSON_AddNumberToObject(o, "auth_not_ready", (double)d->auth_pending);
    cJSON_AddBoolToObject(o, "transport_key", d->tkey != NULL);
    return o;
}

bool
state_patch_device(struct sim_device *d, const cJSON *o, char *err, size_t errsz)
{
    static const char *const members[] = {"enabled", "auth_not_ready", NULL};
    bool enabled = !d->disabled;
    long pending = (long)d->auth_pending;

    if (!check_members(o, "device", members, err, errsz) ||
        !get_bool(o, "enabled", "device", &enabled, err, errsz) ||
        !get_long(o, "auth_not_ready", "device", 0, 1000000, &pending, err, errsz))
        return false;
    d->disabled = !enabled;
    d->auth_pending = (unsigned long)pending;
    return true;
}

/* Drop device codes, auth codes and refresh tokens that are long dead. */
static void
purge_expired(void)
{
    time_t now = time(NULL);

    for (size_t i = 0; i < g_sim.ndc;) {
        if (g_sim.dc[i]->expires + 600 < now) {
            secret_struct_free(g_sim.dc[i], sizeof(struct sim_devcode));
            g_sim.dc[i] = g_sim.dc[--g_sim.ndc];
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < g_sim.nac;) {
        if (g_sim.ac[i]->expires + 600 < now) {
            secret_struct_free(g_sim.ac[i], sizeof(struct sim_authcode));
            g_sim.ac[i] = g_sim.ac[--g_sim.nac];
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < g_sim.nrt;) {
        if (g_sim.rt[i]->expires + 600 < now) {
            secret_struct_free(g_sim.rt[i], sizeof(struct sim_refresh));
            g_sim.rt[i] = g_sim.rt[--g_sim.nrt];
        } else {
            i++;
        }
    }
}

#define SIM_MAX_CODES 100000

bool
state_add_devcode(struct sim_devcode *c)
{
    if (g_sim.ndc % 256 == 255)
        purge_expired();
    return append_dc(&g_sim.dc, &g_sim.ndc, &g_sim.capdc, c, SIM_MAX_CODES);
}

struct sim_devcode *
state_devcode_by_device_code(const char *code)
{
    for (size_t i = 0; code != NULL && i < g_sim.ndc; i++)
        if (strcmp(g_sim.dc[i]->device_code, code) == 0)
            return g_sim.dc[i];
    return NULL;
}

struct sim_devcode *
state_devcode_by_user_code(const char *code)
{
    char norm[16];
    size_t n = 0;

    /* People type user codes in any case and with spaces or dashes. */
    for (const char *p = code; p != NULL && *p != '\0' && n < sizeof(norm) - 1; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        norm[n++] = (char)((*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p);
    }
    norm[n] = '\0';
    for (size_t i = 0; n > 0 && i < g_sim.ndc; i++)
        if (strcmp(g_sim.dc[i]->user_code, norm) == 0)
            return g_sim.dc[i];
    return NULL;
}

bool
state_add_authcode(struct sim_authcode *c)
{
    if (g_sim.nac % 256 == 255)
        purge_expired();
    return append_ac(&g_sim.ac, &g_sim.nac, &g_sim.capac, c, SIM_MAX_CODES);
}

struct sim_authcode *
state_authcode(const char *code)
{
    for (size_t i = 0; code != NULL && i < g_sim.nac; i++)
        if (strcmp(g_sim.ac[i]->code, code) == 0)
            return g_sim.ac[i];
    return NULL;
}

bool
state_add_refresh(struct sim_refresh *r)
{
    if (g_sim.nrt % 256 == 255)
        purge_expired();
    return append_rt(&g_sim.rt, &g_sim.nrt, &g_sim.caprt, r, SIM_MAX_CODES);
}

struct sim_refresh *
state_refresh(const char *token)
{
    for (size_t i = 0; token != NULL && i < g_sim.nrt; i++)
        if (strcmp(g_sim.rt[i]->token, token) == 0)
            return g_sim.rt[i];
    return NULL;
}

size_t
state_revoke_refresh(const char *oid, bool expire_only)
{
    size_t n = 0;

    for (size_t i = 0; i < g_sim.nrt; i++) {
        struct sim_refresh *r = g_sim.rt[i];
        if (oid != NULL && !sim_streq_ci(r->user_oid, oid))
            continue;
        if (expire_only)
            r->expires = time(NULL) - 1;
        else
            r->revoked = true;
        n++;
    }
    return n;
}

/* ---- enrollments ---- */

bool
state_add_enrollment(struct sim_enrollment *e)
{
    return append_enr(&g_sim.enr, &g_sim.nenr, &g_sim.capenr, e, SIM_MAX_DEVICES);
}

struct sim_enrollment *
state_enrollment_by_device(const char *device_id)
{
    for (size_t i = 0; device_id != NULL && i < g_sim.nenr; i++)
        if (sim_streq_ci(g_sim.enr[i]->device_id, device_id))
            return g_sim.enr[i];
    return NULL;
}

bool
state_delete_enrollment(const char *id)
{
    for (size_t i = 0; id != NULL && i < g_sim.nenr; i++) {
        if (sim_streq_ci(g_sim.enr[i]->id, id) || sim_streq_ci(g_sim.enr[i]->device_id, id)) {
            free(g_sim.enr[i]);
            g_sim.enr[i] = g_sim.enr[--g_sim.nenr];
            return true;
        }
    }
    return false;
}

void
state_clear_enrollments(void)
{
    for (size_t i = 0; i < g_sim.nenr; i++)
        free(g_sim.enr[i]);
    free(g_sim.enr);
    g_sim.enr = NULL;
    g_sim.nenr = g_sim.capenr = 0;
}

unsigned long
state_user_enrollments(const char *user_oid, const char *exclude_device_id)
{
    unsigned long n = 0;

    for (size_t i = 0; i < g_sim.nenr; i++) {
        if (!sim_streq_ci(g_sim.enr[i]->user_oid, user_oid))
            continue;
        if (exclude_device_id != NULL && sim_streq_ci(g_sim.enr[i]->device_id, exclude_device_id))
            continue;
        n++;
    }
    return n;
}

cJSON *
state_enrollment_json(const struct sim_enrollment *e)
{
    char t[32];
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    sim_time_entra(t, sizeof(t), e->created);
    cJSON_AddStringToObject(o, "id", e->id);
    cJSON_AddStringToObject(o, "device_id", e->device_id);
    cJSON_AddStringToObject(o, "upn", e->upn);
    cJSON_AddStringToObject(o, "user_object_id", e->user_oid);
    cJSON_AddStringToObject(o, "manufacturer", e->manufacturer);
    cJSON_AddStringToObject(o, "model", e->model);
    cJSON_AddStringToObject(o, "serial", e->serial);
    cJSON_AddStringToObject(o, "os_version", e->os_version);
    cJSON_AddStringToObject(o, "os_edition", e->os_edition);
    cJSON_AddStringToObject(o, "device_name", e->device_name);
    cJSON_AddStringToObject(o, "hw_dev_id", e->hw_dev_id);
    cJSON_AddStringToObject(o, "ownership", "corporate");
    cJSON_AddBoolToObject(o, "corporate_identifier", e->corporate);
    cJSON_AddStringToObject(o, "thumbprint", e->thumbprint);
    cJSON_AddNumberToObject(o, "enroll_count", (double)e->count);
    cJSON_AddStringToObject(o, "created", t);
    return o;
}
