/*
 * mdm_discover.c — the two answers before enrollment: the MS-MDE2
 * DiscoverResponse (authentication policy and the service URLs, each an
 * https URL we may call) and the MS-XCEP GetPoliciesResponse (minimum key
 * length, validity and the hash algorithm by OID), plus the check that this
 * device can meet that policy.
 */
#include "agent/proto/mdm_int.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "platform/common/log.h"

/* ---- discovery ---- */

/* An optional https URL element: absent or empty -> "", present and bad -> BAD_URL. */
static enum mdm_reject
opt_url(xmlNodePtr parent, const char *name, char *dst, size_t dstsz)
{
    xmlNodePtr n = mdm_child(parent, ns_disco, name);

    dst[0] = '\0';
    if (n == NULL)
        return MDM_REJECT_NONE;
    if (!mdm_node_text(n, dst, dstsz)) {
        dst[0] = '\0';
        return MDM_REJECT_BAD_URL;
    }
    if (dst[0] != '\0' && !mdm_ok_url(dst)) {
        dst[0] = '\0';
        return MDM_REJECT_BAD_URL;
    }
    return MDM_REJECT_NONE;
}

enum lj_rc
mdm_discover_parse(const char *body, size_t len, const char *message_id, struct mdm_discovery *out,
                   enum mdm_reject *why)
{
    struct mdm_discovery *d = NULL;
    xmlDocPtr doc = NULL;
    xmlNodePtr resp = NULL, res, n;
    enum mdm_reject r;

    if (out == NULL)
        return LJ_ERR_INVAL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return LJ_ERR_NOMEM;
    if ((r = mdm_xml_load(body, len, MDM_MAX_BODY, &doc)) != MDM_REJECT_NONE ||
        (r = mdm_soap_open(doc, message_id, &resp, d->activity_id, sizeof(d->activity_id))) !=
            MDM_REJECT_NONE)
        goto out;
    if (!mdm_is_el(resp, ns_disco, "DiscoverResponse") ||
        (res = mdm_child(resp, ns_disco, "DiscoverResult")) == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    n = mdm_child(res, ns_disco, "AuthPolicy");
    if (n == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    if (!mdm_node_text(n, d->auth_policy, sizeof(d->auth_policy)) ||
        (strcmp(d->auth_policy, "Federated") != 0 && strcmp(d->auth_policy, "OnPremise") != 0 &&
         strcmp(d->auth_policy, "Certificate") != 0)) {
        r = MDM_REJECT_BAD_VALUE;
        goto out;
    }
    n = mdm_child(res, ns_disco, "EnrollmentVersion");
    if (n != NULL &&
        (!mdm_node_text(n, d->enrollment_version, sizeof(d->enrollment_version)) ||
         (d->enrollment_version[0] != '\0' && !mdm_ok_version(d->enrollment_version)))) {
        r = MDM_REJECT_BAD_VALUE;
        goto out;
    }
    if (mdm_child(res, ns_disco, "EnrollmentServiceUrl") == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    if ((r = opt_url(res, "EnrollmentServiceUrl", d->enrollment_service_url,
                     sizeof(d->enrollment_service_url))) != MDM_REJECT_NONE ||
        (r = opt_url(res, "EnrollmentPolicyServiceUrl", d->enrollment_policy_service_url,
                     sizeof(d->enrollment_policy_service_url))) != MDM_REJECT_NONE ||
        (r = opt_url(res, "AuthenticationServiceUrl", d->authentication_service_url,
                     sizeof(d->authentication_service_url))) != MDM_REJECT_NONE)
        goto out;
    if (d->enrollment_service_url[0] == '\0') {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=discovered auth_policy=%s enrollment=%s policy=%s",
           d->auth_policy, d->enrollment_service_url,
           d->enrollment_policy_service_url[0] ? d->enrollment_policy_service_url : "-");
    *out = *d;
    r = MDM_REJECT_NONE;
out:
    xmlFreeDoc(doc);
    free(d);
    return mdm_refuse("discovery", r, why);
}

/* ---- policy ---- */

static bool
num_text(xmlNodePtr n, long long min, long long max, long long *out)
{
    char buf[32];
    char *end;
    long long v;

    if (!mdm_node_text(n, buf, sizeof(buf)) || buf[0] == '\0' ||
        strspn(buf, "0123456789") != strlen(buf) || strlen(buf) > 18)
        return false;
    v = strtoll(buf, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* An element that is absent or xsi:nil="true". */
static bool
nil_or_absent(xmlNodePtr n)
{
    const xmlChar *v;

    if (n == NULL)
        return true;
    v = mdm_attr_raw(n, "nil", NS_XSI);
    return v != NULL && xmlStrEqual(v, (const xmlChar *)"true") && mdm_first_element(n) == NULL;
}

static enum mdm_hash
hash_of(const char *oid)
{
    static const struct {
        const char *oid;
        enum mdm_hash h;
    } map[] = {
        {"1.3.14.3.2.26", MDM_HASH_SHA1},           {"1.3.14.3.2.29", MDM_HASH_SHA1},
        {"1.2.840.113549.1.1.5", MDM_HASH_SHA1},    {"2.16.840.1.101.3.4.2.1", MDM_HASH_SHA256},
        {"1.2.840.113549.1.1.11", MDM_HASH_SHA256}, {"2.16.840.1.101.3.4.2.2", MDM_HASH_SHA384},
        {"1.2.840.113549.1.1.12", MDM_HASH_SHA384}, {"2.16.840.1.101.3.4.2.3", MDM_HASH_SHA512},
        {"1.2.840.113549.1.1.13", MDM_HASH_SHA512},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].oid, oid) == 0)
            return map[i].h;
    return MDM_HASH_OTHER;
}

enum lj_rc
mdm_policy_parse(const char *body, size_t len, const char *message_id, struct mdm_policy *out,
                 enum mdm_reject *why)
{
    struct mdm_policy p;
    xmlDocPtr doc = NULL;
    xmlNodePtr resp = NULL, response, policies, policy, attrs, n;
    long long v, ref = -1;
    enum mdm_reject r;

    if (out == NULL)
        return LJ_ERR_INVAL;
    memset(&p, 0, sizeof(p));
    if ((r = mdm_xml_load(body, len, MDM_MAX_BODY, &doc)) != MDM_REJECT_NONE ||
        (r = mdm_soap_open(doc, message_id, &resp, NULL, 0)) != MDM_REJECT_NONE)
        goto out;
    if (!mdm_is_el(resp, ns_policy, "GetPoliciesResponse") ||
        (response = mdm_child(resp, ns_policy, "response")) == NULL ||
        (policies = mdm_child(response, ns_policy, "policies")) == NULL ||
        (policy = mdm_child(policies, ns_policy, "policy")) == NULL ||
        (attrs = mdm_child(policy, ns_policy, "attributes")) == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    n = mdm_child(mdm_child(attrs, ns_policy, "privateKeyAttributes"), ns_policy,
                  "minimalKeyLength");
    if (!nil_or_absent(n)) {
        if (!num_text(n, 0, 16384, &v)) {
            r = MDM_REJECT_BAD_VALUE;
            goto out;
        }
        p.min_key_bits = (unsigned)v;
    }
    n = mdm_child(attrs, ns_policy, "certificateValidity");
    if (n != NULL) {
        xmlNodePtr vs = mdm_child(n, ns_policy, "validityPeriodSeconds");
        xmlNodePtr rs = mdm_child(n, ns_policy, "renewalPeriodSeconds");

        if ((!nil_or_absent(vs) && !num_text(vs, 0, 1LL << 40, &p.validity_s)) ||
            (!nil_or_absent(rs) && !num_text(rs, 0, 1LL << 40, &p.renewal_s))) {
            r = MDM_REJECT_BAD_VALUE;
            goto out;
        }
    }
    n = mdm_child(attrs, ns_policy, "hashAlgorithmOIDReference");
    if (!nil_or_absent(n) && !num_text(n, 0, 1000000, &ref)) {
        r = MDM_REJECT_BAD_VALUE;
        goto out;
    }
    p.hash = MDM_HASH_NONE;
    if (ref >= 0) {
        xmlNodePtr oids = mdm_child(resp, ns_policy, "oIDs");
        bool found = false;

        for (xmlNodePtr o = oids ? oids->children : NULL; o != NULL && !found; o = o->next) {
            long long id;

            if (!mdm_is_el(o, ns_policy, "oID"))
                continue;
            if (!num_text(mdm_child(o, ns_policy, "oIDReferenceID"), 0, 1000000, &id) || id != ref)
                continue;
            if (!mdm_node_text(mdm_child(o, ns_policy, "value"), p.hash_oid, sizeof(p.hash_oid)) ||
                !mdm_all_chars(p.hash_oid, 3, 63, ".") ||
                strspn(p.hash_oid, "0123456789.") != strlen(p.hash_oid)) {
                r = MDM_REJECT_BAD_VALUE;
                goto out;
            }
            found = true;
        }
        if (!found) {
            r = MDM_REJECT_MISSING; /* a reference to an OID the answer does not carry */
            goto out;
        }
        p.hash = hash_of(p.hash_oid);
    }
    *out = p;
    r = MDM_REJECT_NONE;
out:
    xmlFreeDoc(doc);
    return mdm_refuse("policy", r, why);
}

enum lj_rc
mdm_policy_check(const struct mdm_policy *p, unsigned key_bits, enum mdm_reject *why)
{
    if (p == NULL)
        return LJ_ERR_INVAL;
    if (p->min_key_bits > key_bits || p->min_key_bits > 4096 ||
        (p->hash != MDM_HASH_NONE && p->hash != MDM_HASH_SHA1 && p->hash != MDM_HASH_SHA256))
        return mdm_refuse("policy", MDM_REJECT_POLICY, why);
    if (why != NULL)
        *why = MDM_REJECT_NONE;
    return LJ_OK;
}
