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

#include "hw-sim/entra-sim/util.h"
#include "platform/secmem.h"

struct sim_state g_sim = {.lock = PTHREAD_MUTEX_INITIALIZER};

#define STR_MAX 256

static bool
fail(char *err, size_t errsz, const char *path, const char *fmt, ...)
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
get_str(const cJSON *o, const char *key, const char *path, bool required, size_t max,
        char **out, char *err, size_t errsz)
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
get_bool(const cJSON *o, const char *key, const char *path, bool *out, char *err,
         size_t errsz)
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
check_members(const cJSON *o, const char *path, const char *const *allowed, char *err,
              size_t errsz)
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
get_str_array(const cJSON *o, const char *key, const char *path, char **arr, size_t *n,
              size_t max, char *err, size_t errsz)
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
        if (!cJSON_IsString(e) || e->valuestring[0] == '\0' ||
            strlen(e->valuestring) > STR_MAX) {
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
    "upn", "password", "object_id", "display_name", "enabled", "locked",
    "password_expired", "mfa_registered", "groups", "licenses", "licences", NULL};

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
            return fail(err, errsz, p, "domain '%s' is not one of the tenant's domains",
                        at + 1);
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
    if (!get_str_array(o, "groups", path, u->groups, &u->ngroups, SIM_MAX_GROUPS, err,
                       errsz) ||
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
        static const char *const known[] = {"entra_p1", "entra_p2", "intune", "m365_e3",
                                            "m365_e5", "windows365", NULL};
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
tenant_patch_user(struct sim_tenant *t, struct sim_user *u, const cJSON *o, char *err,
                  size_t errsz)
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
                                         "max_devices_per_user", "require_mfa_to_join",
                                         NULL};

bool
tenant_apply_device_settings(struct sim_tenant *t, const cJSON *o, const char *path,
                             char *err, size_t errsz)
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
            if (!get_long(o, "max_devices_per_user", path, 1, SIM_MAX_DEVICES, &l, err,
                          errsz))
                return fail(err, errsz, p, "must be an integer 1..%d or \"unlimited\"",
                            SIM_MAX_DEVICES);
            maxdev = (unsigned long)l;
        }
    }
    if (!get_bool(o, "require_mfa_to_join", path, &mfa, err, errsz))
        return false;
    if (!get_str_array(o, "users_may_join_groups", path, groups, &ng, SIM_MAX_GROUPS, err,
                       errsz))
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

bool
tenant_apply_ca(struct sim_tenant *t, const cJSON *o, const char *path, char *err,
                size_t errsz)
{
    static const char *const members[] = {"register_or_join_devices", NULL};
    const cJSON *v;
    char p[128];

    if (!check_members(o, path, members, err, errsz))
        return false;
    v = cJSON_GetObjectItemCaseSensitive(o, "register_or_join_devices");
    if (v == NULL)
        return true;
    snprintf(p, sizeof(p), "%s.register_or_join_devices", path);
    if (cJSON_IsString(v) && strcmp(v->valuestring, "none") == 0)
        t->ca_join = SIM_CA_NONE;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "require_mfa") == 0)
        t->ca_join = SIM_CA_REQUIRE_MFA;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "block") == 0)
        t->ca_join = SIM_CA_BLOCK;
    else
        return fail(err, errsz, p, "must be \"none\", \"require_mfa\" or \"block\"");
    return true;
}

bool
tenant_apply_login(struct sim_tenant *t, const cJSON *o, const char *path, char *err,
                   size_t errsz)
{
    static const char *const members[] = {"device_code_expires_in", "device_code_interval",
                                          "access_token_lifetime", "refresh_token_lifetime",
                                          "verification_uri", NULL};
    long a = t->dc_expires_in, b = t->dc_interval, c = t->at_lifetime, d = t->rt_lifetime;
    char *vu = NULL;

    if (!check_members(o, path, members, err, errsz) ||
        !get_long(o, "device_code_expires_in", path, 1, 86400, &a, err, errsz) ||
        !get_long(o, "device_code_interval", path, 0, 60, &b, err, errsz) ||
        !get_long(o, "access_token_lifetime", path, 1, 86400, &c, err, errsz) ||
        !get_long(o, "refresh_token_lifetime", path, 1, 365L * 86400, &d, err, errsz) ||
        !get_str(o, "verification_uri", path, false, STR_MAX, &vu, err, errsz))
        return false;
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

static const char *const top_members[] = {
    "tenant_id", "name", "domains", "region", "users", "groups", "device_settings",
    "conditional_access", "login", "intune", NULL};

enum lj_rc
tenant_parse(const char *text, size_t len, struct sim_tenant **out, char *err,
             size_t errsz)
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
    if (!get_str_array(root, "domains", "", t->domains, &t->ndomains, SIM_MAX_DOMAINS, err,
                       errsz))
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
            fail(err, errsz, "groups", "must be an array of at most %d groups",
                 SIM_MAX_GROUPS);
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
    v = cJSON_GetObjectItemCaseSensitive(root, "intune");
    if (v != NULL) {
        if (!cJSON_IsObject(v)) {
            fail(err, errsz, "intune", "must be an object");
            goto out;
        }
        t->intune = cJSON_Duplicate(v, 1);
        if (t->intune == NULL)
            goto out;
    }
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
    cJSON_Delete(t->intune);
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
    return sim_streq_ci(seg, t->id) || tenant_has_domain(t, seg) ||
           strcmp(seg, "common") == 0 || strcmp(seg, "organizations") == 0;
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
    static const char *const ca[] = {"none", "require_mfa", "block"};
    cJSON *o = cJSON_CreateObject(), *ds, *g, *cao, *lo;

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
    if (cao != NULL)
        cJSON_AddStringToObject(cao, "register_or_join_devices", ca[t->ca_join]);
    lo = cJSON_AddObjectToObject(o, "login");
    if (lo != NULL) {
        cJSON_AddNumberToObject(lo, "device_code_expires_in", (double)t->dc_expires_in);
        cJSON_AddNumberToObject(lo, "device_code_interval", (double)t->dc_interval);
        cJSON_AddNumberToObject(lo, "access_token_lifetime", (double)t->at_lifetime);
        cJSON_AddNumberToObject(lo, "refresh_token_lifetime", (double)t->rt_lifetime);
        cJSON_AddStringToObject(lo, "verification_uri", t->verification_uri);
    }
    return o;
}

/* ---- registry ---- */

/* Typed append helpers for the registry arrays (no void** aliasing). */
#define DEFINE_APPEND(name, type)                                                       \
    static bool name(type ***arr, size_t *n, size_t *cap, type *p, size_t max)          \
    {                                                                                  \
        if (*n >= max)                                                                 \
            return false;                                                              \
        if (*n == *cap) {                                                              \
            size_t nc = *cap != 0 ? *cap * 2 : 64;                                     \
            type **na = realloc(*arr, nc * sizeof(type *));                            \
            if (na == NULL)                                                            \
                return false;                                                          \
            *arr = na;                                                                 \
            *cap = nc;                                                                 \
        }                                                                              \
        (*arr)[(*n)++] = p;                                                            \
        return true;                                                                   \
    }
DEFINE_APPEND(append_dev, struct sim_device)
DEFINE_APPEND(append_dc, struct sim_devcode)
DEFINE_APPEND(append_ac, struct sim_authcode)
DEFINE_APPEND(append_rt, struct sim_refresh)

void
state_device_free(struct sim_device *d)
{
    if (d == NULL)
        return;
    free(d->cert);
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
        if (d->ready && strcmp(d->owner_oid, owner_oid) == 0 &&
            memcmp(d->key_hash, hash, 32) == 0)
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
        struct sim_user *u = g_sim.t != NULL ? tenant_user_by_oid(g_sim.t, d->owner_oid)
                                             : NULL;
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
    return o;
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
