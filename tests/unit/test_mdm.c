/*
 * Unit tests for agent/proto/mdm_*.c: the three requests checked with libxml2
 * (names, namespaces, escaping, where the token goes), the answers from
 * tests/data/mdm (made by its gen.sh), every refusal by its own name, XML
 * bombs, and fault classification (agent/proto/classify.c lj_classify_mdm).
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "agent/proto/classify.h"
#include "agent/proto/mdm.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"
#include "platform/common/text.h"
#include "tests/unit/testutil.h"

#define MSGID "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749"
#define DEVID "2c9a1f3e-7b4d-4e8a-9c1b-5d6e7f8a9b0c"
#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define TOKEN                                                                                      \
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2Vucm9sbG1lbnQubWFuYWdlLm1pY3Jv"    \
    "c29mdC5jb20vIiwidXBuIjoiYWxpY2VAY29udG9zby5leGFtcGxlIn0.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
#define HOSTILE_UPN "o'b<r&\"x>]]>@contoso.example"

/* ---- helpers ---- */

/* tests/data/mdm/NAME, NUL-terminated (caller frees). */
static char *
load(const char *name, size_t *len)
{
    char rel[256];

    snprintf(rel, sizeof(rel), "mdm/%s", name);
    return lj_test_load_data(rel, len);
}

/* s with the first occurrence of from replaced by to (malloc'ed). */
static char *
replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    size_t n;
    char *r;

    if (p == NULL)
        fail_msg("'%.60s' not found", from);
    n = strlen(s) - strlen(from) + strlen(to) + 1;
    r = malloc(n);
    assert_non_null(r);
    snprintf(r, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    return r;
}

static size_t
count(const char *hay, const char *needle)
{
    size_t c = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        c++;
    return c;
}

static xmlDocPtr
xparse(const char *xml, size_t len)
{
    xmlDocPtr d = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);

    assert_non_null(d);
    return d;
}

/* The text of the first node matched by expr (prefixes s a wsse wst ac d p x), or NULL. */
static char *
xp(xmlDocPtr d, const char *expr, int *nmatch)
{
    xmlXPathContextPtr c = xmlXPathNewContext(d);
    xmlXPathObjectPtr o;
    char *r = NULL;

    assert_non_null(c);
    xmlXPathRegisterNs(c, BAD_CAST "s", BAD_CAST "http://www.w3.org/2003/05/soap-envelope");
    xmlXPathRegisterNs(c, BAD_CAST "a", BAD_CAST "http://www.w3.org/2005/08/addressing");
    xmlXPathRegisterNs(
        c, BAD_CAST "wsse",
        BAD_CAST
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd");
    xmlXPathRegisterNs(c, BAD_CAST "wst",
                       BAD_CAST "http://docs.oasis-open.org/ws-sx/ws-trust/200512");
    xmlXPathRegisterNs(c, BAD_CAST "ac",
                       BAD_CAST "http://schemas.xmlsoap.org/ws/2006/12/authorization");
    xmlXPathRegisterNs(c, BAD_CAST "d",
                       BAD_CAST
                       "http://schemas.microsoft.com/windows/management/2012/01/enrollment");
    xmlXPathRegisterNs(c, BAD_CAST "p",
                       BAD_CAST
                       "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy");
    xmlXPathRegisterNs(c, BAD_CAST "x", BAD_CAST "http://www.w3.org/2001/XMLSchema-instance");
    o = xmlXPathEvalExpression(BAD_CAST expr, c);
    assert_non_null(o);
    if (nmatch != NULL)
        *nmatch = o->nodesetval ? o->nodesetval->nodeNr : 0;
    if (o->nodesetval != NULL && o->nodesetval->nodeNr > 0) {
        xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);

        r = strdup((char *)t);
        xmlFree(t);
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(c);
    return r;
}

static void
expect_xp(xmlDocPtr d, const char *expr, const char *want)
{
    char *got = xp(d, expr, NULL);

    if (got == NULL)
        fail_msg("%s: no match", expr);
    if (strcmp(got, want) != 0)
        fail_msg("%s: '%s', want '%s'", expr, got, want);
    free(got);
}

static void
expect_count(xmlDocPtr d, const char *expr, int want)
{
    int n = -1;

    free(xp(d, expr, &n));
    if (n != want)
        fail_msg("%s: %d matches, want %d", expr, n, want);
}

/* ---- requests ---- */

static void
test_message_id(void **state)
{
    char a[MDM_MSGID_LEN], b[MDM_MSGID_LEN];

    (void)state;
    assert_int_equal(mdm_message_id(a), LJ_OK);
    assert_int_equal(mdm_message_id(b), LJ_OK);
    assert_int_equal(strlen(a), 45);
    assert_memory_equal(a, "urn:uuid:", 9);
    assert_true(lj_is_guid(a + 9));
    assert_int_equal(a[9 + 14], '4'); /* version 4 */
    assert_string_not_equal(a, b);
}

/* EnrollmentServiceUrl + client-request-id (AADInternals MDM_utils.ps1). */
static void
test_enroll_url(void **state)
{
    static const char id[] = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    static const char svc[] =
        "https://fef.msua01.manage.microsoft.com/StatelessEnrollmentService/DeviceEnrollment.svc";
    char out[MDM_MAX_URL], small[40];

    (void)state;
    /* No query: ?client-request-id=<id>. */
    assert_int_equal(mdm_enroll_url(svc, id, out, sizeof(out)), LJ_OK);
    assert_string_equal(out, "https://fef.msua01.manage.microsoft.com/StatelessEnrollmentService/"
                             "DeviceEnrollment.svc?client-request-id="
                             "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    /* An existing query is kept; the id is appended with '&'. */
    assert_int_equal(
        mdm_enroll_url("https://h.example/e.svc?os=Windows&v=10", id, out, sizeof(out)), LJ_OK);
    assert_string_equal(out, "https://h.example/e.svc?os=Windows&v=10&client-request-id="
                             "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    assert_int_equal(mdm_enroll_url("https://h.example/e.svc?", id, out, sizeof(out)), LJ_OK);
    assert_string_equal(
        out, "https://h.example/e.svc?client-request-id=0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    /* One already there (Intune's own, with :443): the URL as it is. */
    assert_int_equal(mdm_enroll_url("https://fef.x.manage.microsoft.com:443/S/DeviceEnrollment.svc"
                                    "?client-request-id=11111111-2222-4333-8444-555555555555",
                                    id, out, sizeof(out)),
                     LJ_OK);
    assert_string_equal(out, "https://fef.x.manage.microsoft.com:443/S/DeviceEnrollment.svc"
                             "?client-request-id=11111111-2222-4333-8444-555555555555");
    assert_int_equal(
        mdm_enroll_url("https://h.example/e?a=1&Client-Request-Id=x", id, out, sizeof(out)), LJ_OK);
    assert_string_equal(out, "https://h.example/e?a=1&Client-Request-Id=x");
    /* A parameter whose name only starts the same is not it. */
    assert_int_equal(
        mdm_enroll_url("https://h.example/e?client-request-idx=1", id, out, sizeof(out)), LJ_OK);
    assert_string_equal(out, "https://h.example/e?client-request-idx=1&client-request-id="
                             "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    /* No usable ActivityId: a fresh GUID. */
    assert_int_equal(mdm_enroll_url("https://h.example/e", NULL, out, sizeof(out)), LJ_OK);
    assert_memory_equal(out, "https://h.example/e?client-request-id=", 38);
    assert_true(lj_is_guid(out + 38));
    assert_int_equal(mdm_enroll_url("https://h.example/e", "not-a-guid", out, sizeof(out)), LJ_OK);
    assert_true(lj_is_guid(out + 38));
    /* Refused. */
    assert_int_equal(mdm_enroll_url("http://h.example/e", id, out, sizeof(out)), LJ_ERR_INVAL);
    assert_int_equal(mdm_enroll_url("https://h.example/e#f", id, out, sizeof(out)), LJ_ERR_INVAL);
    assert_int_equal(mdm_enroll_url(NULL, id, out, sizeof(out)), LJ_ERR_INVAL);
    assert_int_equal(mdm_enroll_url("https://h.example/e", id, small, sizeof(small)),
                     LJ_ERR_TOO_BIG);
}

static void
test_discover_build(void **state)
{
    struct mdm_discover_request r = {NULL, MSGID, HOSTILE_UPN, "10.0.26100.1", NULL, NULL};
    char *xml = NULL;
    size_t len = 0;
    xmlDocPtr d;

    (void)state;
    assert_int_equal(mdm_discover_build(&r, &xml, &len), LJ_OK);
    assert_int_equal(strlen(xml), len);
    /* the hostile UPN is escaped, never raw */
    assert_null(strstr(xml, "o'b<r"));
    assert_non_null(strstr(xml, "&lt;r&amp;"));
    d = xparse(xml, len);
    expect_xp(d, "/s:Envelope/s:Header/a:Action[@s:mustUnderstand='1']",
              "http://schemas.microsoft.com/windows/management/2012/01/enrollment/"
              "IDiscoveryService/Discover");
    expect_xp(d, "/s:Envelope/s:Header/a:MessageID", MSGID);
    expect_xp(d, "/s:Envelope/s:Header/a:ReplyTo/a:Address",
              "http://www.w3.org/2005/08/addressing/anonymous");
    expect_xp(d, "/s:Envelope/s:Header/a:To[@s:mustUnderstand='1']", MDM_DISCOVERY_URL);
    expect_xp(d, "/s:Envelope/s:Body/d:Discover/d:request/d:EmailAddress", HOSTILE_UPN);
    expect_xp(d, "/s:Envelope/s:Body/d:Discover/d:request/d:RequestVersion", "4.0");
    expect_xp(d, "/s:Envelope/s:Body/d:Discover/d:request/d:DeviceType", "CIMClient_Windows");
    expect_xp(d, "/s:Envelope/s:Body/d:Discover/d:request/d:ApplicationVersion", "10.0.26100.1");
    expect_xp(d, "/s:Envelope/s:Body/d:Discover/d:request/d:OSEdition", "4");
    expect_count(d, "/s:Envelope/s:Body/d:Discover/d:request/d:AuthPolicies/d:AuthPolicy", 2);
    expect_count(d, "//d:AuthPolicy[text()='Federated']", 1);
    expect_count(d, "//d:AuthPolicy[text()='OnPremise']", 1);
    xmlFreeDoc(d);
    free(xml);
}

static void
test_discover_build_rejects(void **state)
{
    struct mdm_discover_request ok = {NULL,           MSGID, "alice@contoso.example",
                                      "10.0.26100.1", "72",  NULL};
    struct mdm_discover_request r;
    char *xml = NULL;

    (void)state;
#define BAD(field, value)                                                                          \
    do {                                                                                           \
        r = ok;                                                                                    \
        r.field = value;                                                                           \
        assert_int_equal(mdm_discover_build(&r, &xml, NULL), LJ_ERR_INVAL);                        \
        assert_null(xml);                                                                          \
    } while (0)
    BAD(url, "http://enrollment.manage.microsoft.com/EnrollmentServer/Discovery.svc");
    BAD(message_id, "urn:uuid:nope");
    BAD(message_id, NULL);
    BAD(upn, NULL);
    BAD(upn, "");
    BAD(upn, "alice\n@contoso.example");
    BAD(upn, "alice\xff@contoso.example");     /* not UTF-8 */
    BAD(upn, "alice\xc0\xaf@contoso.example"); /* overlong */
    BAD(os_version, "10.0; DROP");
    BAD(os_version, "12"); /* [MS-MDE2] DottedQuadType */
    BAD(os_version, "10.0.26100");
    BAD(os_edition, "4x");
#undef BAD
    r = ok;
    r.upn = "j\xc3\xbcrgen@contoso.example"; /* UTF-8 is fine */
    assert_int_equal(mdm_discover_build(&r, &xml, NULL), LJ_OK);
    free(xml);
    assert_int_equal(mdm_discover_build(NULL, &xml, NULL), LJ_ERR_INVAL);
}

static const char *const macs[] = {"00-15-5D-01-02-03", NULL};

static void
enroll_req(struct mdm_enroll_request *r, const unsigned char *csr, size_t csr_len)
{
    memset(r, 0, sizeof(*r));
    r->url = "https://fef.msuc03.manage.microsoft.com/StatelessEnrollmentService/"
             "DeviceEnrollment.svc?client-request-id=48915a4a-fb4c-4b1f-a1b5-0f0e1c2d3e4f";
    r->message_id = MSGID;
    r->access_token = TOKEN;
    r->csr_der = csr;
    r->csr_len = csr_len;
    r->device_id = DEVID;
    r->tenant_id = TENANT;
    r->os_version = "10.0.26100.2033";
    r->device_name = "LINK-0001";
    r->manufacturer = "Contoso & <Sons>";
    r->model = "Link \"1\"";
    r->serial = "SN-0001";
    r->macs = macs;
}

static void
test_enroll_build(void **state)
{
    static unsigned char csr[64] = {0x30, 0x82};
    struct mdm_enroll_request r;
    char *xml = NULL, *tok64, *csr64, expr[512];
    size_t len = 0;
    xmlDocPtr d;
    static const struct {
        const char *name, *value;
    } items[] = {
        {"UXInitiated", "true"},
        {"HWDevID", "2c9a1f3e7b4d4e8a9c1b5d6e7f8a9b0c72f988bf86f141af91ab2d7cd011db47"},
        {"Locale", "en-US"},
        {"TargetedUserLoggedIn", "true"},
        {"OSEdition", "4"},
        {"DeviceName", "LINK-0001"},
        {"MAC", "00-15-5D-01-02-03"},
        {"DeviceID", "2c9a1f3e7b4d4e8a9c1b5d6e7f8a9b0c"},
        {"EnrollmentType", "Device"},
        {"DeviceType", "CIMClient_Windows"},
        {"OSVersion", "10.0.26100.2033"},
        {"ApplicationVersion", "10.0.26100.2033"},
        {"NotInOobe", "false"},
        {"Manufacturer", "Contoso & <Sons>"},
        {"DeviceModel", "Link \"1\""},
        {"SerialNumber", "SN-0001"},
    };

    (void)state;
    enroll_req(&r, csr, sizeof(csr));
    assert_int_equal(mdm_enroll_build(&r, &xml, &len), LJ_OK);
    assert_int_equal(strlen(xml), len);
    tok64 = lj_b64_encode(TOKEN, strlen(TOKEN), LJ_B64_STD, NULL);
    csr64 = lj_b64_encode(csr, sizeof(csr), LJ_B64_STD, NULL);
    /* the token: once, base64, only in the header token; never raw; no marker left */
    assert_int_equal(count(xml, tok64), 1);
    assert_null(strstr(xml, TOKEN));
    assert_null(strstr(xml, "lj:token"));
    d = xparse(xml, len);
    expect_xp(d, "/s:Envelope/s:Header/a:Action[@s:mustUnderstand='1']",
              "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep");
    expect_xp(d, "/s:Envelope/s:Header/a:MessageID", MSGID);
    expect_xp(d, "/s:Envelope/s:Header/a:To", r.url);
    expect_xp(d,
              "/s:Envelope/s:Header/wsse:Security[@s:mustUnderstand='1']/"
              "wsse:BinarySecurityToken[@ValueType='urn:ietf:params:oauth:token-type:jwt' and "
              "@EncodingType='http://docs.oasis-open.org/wss/2004/01/"
              "oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary']",
              tok64);
    snprintf(expr, sizeof(expr), "//*[contains(text(), '%.40s') or contains(@*, '%.40s')]", tok64,
             tok64);
    expect_count(d, expr, 1);
    expect_xp(d, "/s:Envelope/s:Body/wst:RequestSecurityToken/wst:TokenType",
              "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/"
              "DeviceEnrollmentToken");
    expect_xp(d, "/s:Envelope/s:Body/wst:RequestSecurityToken/wst:RequestType",
              "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue");
    expect_xp(d,
              "/s:Envelope/s:Body/wst:RequestSecurityToken/wsse:BinarySecurityToken[@ValueType="
              "'http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10']",
              csr64);
    expect_count(d, "//ac:AdditionalContext/ac:ContextItem", 16);
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        snprintf(expr, sizeof(expr),
                 "/s:Envelope/s:Body/wst:RequestSecurityToken/ac:AdditionalContext/"
                 "ac:ContextItem[@Name='%s']/ac:Value",
                 items[i].name);
        expect_xp(d, expr, items[i].value);
    }
    xmlFreeDoc(d);
    lj_secret_free(xml);
    free(tok64);
    free(csr64);

    /* optional items left out; explicit HWDevID; retry outside OOBE */
    enroll_req(&r, csr, sizeof(csr));
    r.manufacturer = NULL;
    r.model = "";
    r.serial = NULL;
    r.macs = NULL;
    r.device_name = NULL;
    r.tenant_id = NULL;
    r.hw_dev_id = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789";
    r.not_in_oobe = true;
    assert_int_equal(mdm_enroll_build(&r, &xml, &len), LJ_OK);
    d = xparse(xml, len);
    expect_count(d, "//ac:ContextItem", 11);
    expect_count(d, "//ac:ContextItem[@Name='SerialNumber' or @Name='MAC' or @Name='DeviceName']",
                 0);
    expect_xp(d, "//ac:ContextItem[@Name='HWDevID']/ac:Value", r.hw_dev_id);
    expect_xp(d, "//ac:ContextItem[@Name='NotInOobe']/ac:Value", "true");
    xmlFreeDoc(d);
    lj_secret_free(xml);
}

static void
test_enroll_build_rejects(void **state)
{
    static unsigned char csr[64] = {0x30, 0x82};
    static unsigned char big[MDM_MAX_CSR + 1] = {0x30};
    static const char *const bad_macs[] = {"00-15-5D-01-02", NULL};
    static const char *const many_macs[] = {"00-00-00-00-00-01", "00-00-00-00-00-02",
                                            "00-00-00-00-00-03", "00-00-00-00-00-04",
                                            "00-00-00-00-00-05", "00-00-00-00-00-06",
                                            "00-00-00-00-00-07", "00-00-00-00-00-08",
                                            "00-00-00-00-00-09", NULL};
    struct mdm_enroll_request ok, r;
    char *xml = NULL;

    (void)state;
    enroll_req(&ok, csr, sizeof(csr));
#define BAD(stmt)                                                                                  \
    do {                                                                                           \
        r = ok;                                                                                    \
        stmt;                                                                                      \
        assert_int_equal(mdm_enroll_build(&r, &xml, NULL), LJ_ERR_INVAL);                          \
        assert_null(xml);                                                                          \
    } while (0)
    BAD(r.access_token = "eyJ<injected>.x.y-long-enough");
    BAD(r.access_token = "short");
    BAD(r.access_token = NULL);
    BAD(r.csr_der = big; r.csr_len = sizeof(big));
    BAD(r.csr_len = 8);
    BAD(r.device_id = "not-a-guid");
    BAD(r.tenant_id = NULL);
    BAD(r.hw_dev_id = "xyz");
    BAD(r.macs = bad_macs);
    BAD(r.macs = many_macs);
    BAD(r.url = "https://bad host/");
    BAD(r.serial = "SN\x01");
    BAD(r.locale = "en_US;x");
    BAD(r.os_version = "12"); /* the OSVersion context item is a dotted quad too */
#undef BAD
}

static void
test_policy_build(void **state)
{
    struct mdm_policy_request r = {"https://fef.msuc03.manage.microsoft.com/"
                                   "StatelessEnrollmentService/DeviceEnrollmentPolicy.svc",
                                   MSGID, TOKEN};
    char *xml = NULL, *tok64;
    size_t len;
    xmlDocPtr d;

    (void)state;
    assert_int_equal(mdm_policy_build(&r, &xml, &len), LJ_OK);
    tok64 = lj_b64_encode(TOKEN, strlen(TOKEN), LJ_B64_STD, NULL);
    assert_int_equal(count(xml, tok64), 1);
    assert_null(strstr(xml, TOKEN));
    d = xparse(xml, len);
    expect_xp(d, "/s:Envelope/s:Header/a:Action",
              "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/"
              "GetPolicies");
    expect_xp(d, "/s:Envelope/s:Header/wsse:Security/wsse:BinarySecurityToken", tok64);
    expect_count(d, "/s:Envelope/s:Body/p:GetPolicies/p:client/p:lastUpdate[@x:nil='true']", 1);
    expect_count(d, "/s:Envelope/s:Body/p:GetPolicies/p:client/p:preferredLanguage[@x:nil='true']",
                 1);
    expect_count(d, "/s:Envelope/s:Body/p:GetPolicies/p:requestFilter[@x:nil='true']", 1);
    xmlFreeDoc(d);
    lj_secret_free(xml);
    free(tok64);
    r.access_token = "has spaces in it, not a jwt";
    assert_int_equal(mdm_policy_build(&r, &xml, &len), LJ_ERR_INVAL);
}

/* ---- discovery and policy answers ---- */

static void
expect_disco(const char *body, const char *msgid, enum lj_rc rc, enum mdm_reject want)
{
    struct mdm_discovery d;
    enum mdm_reject why = MDM_REJECT_COUNT__;

    memset(&d, 0x5a, sizeof(d));
    assert_int_equal(mdm_discover_parse(body, strlen(body), msgid, &d, &why), rc);
    if (why != want)
        fail_msg("why %s, want %s", mdm_reject_name(why), mdm_reject_name(want));
    if (rc != LJ_OK)
        assert_int_equal(((unsigned char *)&d)[0], 0x5a); /* untouched */
}

static void
test_discover_parse(void **state)
{
    char *body = load("discover-response.xml", NULL), *v, *v2;
    struct mdm_discovery d;
    enum mdm_reject why;

    (void)state;
    assert_int_equal(mdm_discover_parse(body, strlen(body),
                                        "urn:uuid:748132EC-a575-4329-b01b-"
                                        "6171a9cf8478",
                                        &d, &why),
                     LJ_OK);
    assert_int_equal(why, MDM_REJECT_NONE);
    assert_string_equal(d.auth_policy, "Federated");
    assert_string_equal(d.enrollment_version, "4.0");
    assert_string_equal(d.enrollment_service_url,
                        "https://fef.msuc03.manage.microsoft.com:443/StatelessEnrollmentService/"
                        "DeviceEnrollment.svc?client-request-id=48915a4a-fb4c-4b1f-a1b5-"
                        "0f0e1c2d3e4f");
    assert_string_equal(d.enrollment_policy_service_url,
                        "https://fef.msuc03.manage.microsoft.com/StatelessEnrollmentService/"
                        "DeviceEnrollmentPolicy.svc");
    assert_string_equal(d.authentication_service_url, "");
    assert_string_equal(d.activity_id, "48915a4a-fb4c-4b1f-a1b5-0f0e1c2d3e4f");
    /* no message id: RelatesTo not checked */
    expect_disco(body, NULL, LJ_OK, MDM_REJECT_NONE);
    expect_disco(body, MSGID, LJ_ERR_PROTOCOL, MDM_REJECT_RELATES_TO);

    /* variants the reference allows: SOAP 1.1, namespace with '/', no policy, no header */
    v = replace(body, "http://www.w3.org/2003/05/soap-envelope",
                "http://schemas.xmlsoap.org/soap/envelope/");
    expect_disco(v, NULL, LJ_OK, MDM_REJECT_NONE);
    free(v);
    v = replace(body, "2012/01/enrollment\">", "2012/01/enrollment/\">");
    expect_disco(v, NULL, LJ_OK, MDM_REJECT_NONE);
    free(v);
    v = replace(body, "<EnrollmentPolicyServiceUrl>", "<X>");
    v2 = replace(v, "</EnrollmentPolicyServiceUrl>", "</X>");
    {
        assert_int_equal(mdm_discover_parse(v2, strlen(v2), NULL, &d, NULL), LJ_OK);
        assert_string_equal(d.enrollment_policy_service_url, "");
    }
    free(v);
    free(v2);

    /* refusals, each by name */
    v = replace(body, "https://fef.msuc03.manage.microsoft.com:443", "http://fef.example");
    expect_disco(v, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_BAD_URL);
    free(v);
    v = replace(body, "https://fef.msuc03.manage.microsoft.com/Stateless", "ftp://x/");
    expect_disco(v, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_BAD_URL);
    free(v);
    v = replace(body, "<EnrollmentServiceUrl>", "<EnrollmentServiceUrlX>");
    v2 = replace(v, "</EnrollmentServiceUrl>", "</EnrollmentServiceUrlX>");
    expect_disco(v2, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_MISSING);
    free(v);
    free(v2);
    v = replace(body, "<EnrollmentServiceUrl>", "<EnrollmentServiceUrl> ");
    v2 = replace(v, "https://fef.msuc03.manage.microsoft.com:443", "");
    free(v);
    v = replace(v2,
                "/StatelessEnrollmentService/DeviceEnrollment.svc?client-request-id="
                "48915a4a-fb4c-4b1f-a1b5-0f0e1c2d3e4f",
                "");
    expect_disco(v, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_MISSING); /* present but empty */
    free(v);
    free(v2);
    /* wrong namespace: the right names in another namespace are not found */
    v = replace(body,
                "xmlns=\"http://schemas.microsoft.com/windows/management/2012/01/enrollment\"",
                "xmlns=\"urn:evil\"");
    expect_disco(v, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_MISSING);
    free(v);
    v = replace(body, "http://www.w3.org/2003/05/soap-envelope", "urn:not-soap");
    expect_disco(v, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_NOT_SOAP);
    free(v);
    v = replace(body, "<AuthPolicy>Federated", "<AuthPolicy>Federated<b>x</b>");
    expect_disco(v, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_BAD_VALUE);
    free(v);
    v = replace(body, "<AuthPolicy>Federated", "<AuthPolicy>Kerberos");
    expect_disco(v, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_BAD_VALUE);
    free(v);
    v = replace(body, "<EnrollmentVersion>4.0", "<EnrollmentVersion>4.0; rm");
    expect_disco(v, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_BAD_VALUE);
    free(v);
    /* a fault where a DiscoverResponse was expected */
    free(body);
    body = load("fault-maintenance.xml", NULL);
    expect_disco(body, NULL, LJ_ERR_PROTOCOL, MDM_REJECT_FAULT);
    free(body);
    assert_int_equal(mdm_discover_parse("<x/>", 4, NULL, NULL, NULL), LJ_ERR_INVAL);
}

static void
test_policy_parse(void **state)
{
    char *body = load("policies-response.xml", NULL), *v;
    struct mdm_policy p;
    enum mdm_reject why;

    (void)state;
    assert_int_equal(mdm_policy_parse(body, strlen(body),
                                      "urn:uuid:72048b64-0f19-448f-8c2e-"
                                      "b4c661860aa0",
                                      &p, &why),
                     LJ_OK);
    assert_int_equal(p.min_key_bits, 2048);
    assert_int_equal(p.hash, MDM_HASH_SHA256);
    assert_string_equal(p.hash_oid, "2.16.840.1.101.3.4.2.1");
    assert_int_equal(p.validity_s, 31536000);
    assert_int_equal(p.renewal_s, 15552000);
    assert_int_equal(mdm_policy_check(&p, 2048, &why), LJ_OK);
    assert_int_equal(mdm_policy_check(&p, 1024, &why), LJ_ERR_PROTOCOL);
    assert_int_equal(why, MDM_REJECT_POLICY);
    p.hash = MDM_HASH_SHA512;
    assert_int_equal(mdm_policy_check(&p, 2048, &why), LJ_ERR_PROTOCOL);

    v = replace(body, "<minimalKeyLength>2048", "<minimalKeyLength>4096");
    assert_int_equal(mdm_policy_parse(v, strlen(v), NULL, &p, &why), LJ_OK);
    assert_int_equal(mdm_policy_check(&p, 2048, &why), LJ_ERR_PROTOCOL);
    assert_int_equal(why, MDM_REJECT_POLICY);
    free(v);
    v = replace(body, "<minimalKeyLength>2048", "<minimalKeyLength>-1");
    assert_int_equal(mdm_policy_parse(v, strlen(v), NULL, &p, &why), LJ_ERR_PROTOCOL);
    assert_int_equal(why, MDM_REJECT_BAD_VALUE);
    free(v);
    v = replace(body, "<hashAlgorithmOIDReference>0", "<hashAlgorithmOIDReference>9");
    assert_int_equal(mdm_policy_parse(v, strlen(v), NULL, &p, &why), LJ_ERR_PROTOCOL);
    assert_int_equal(why, MDM_REJECT_MISSING);
    free(v);
    v = replace(body, "<policies>", "<policiez>");
    free(body);
    body = replace(v, "</policies>", "</policiez>");
    assert_int_equal(mdm_policy_parse(body, strlen(body), NULL, &p, &why), LJ_ERR_PROTOCOL);
    assert_int_equal(why, MDM_REJECT_MISSING);
    free(v);
    free(body);
}

/* ---- enrollment answer ---- */

struct keys {
    unsigned char *spki;
    size_t spki_len;
    long long not_before;
};

static void
keys_load(struct keys *k)
{
    char *nb = load("client.notbefore", NULL);

    k->spki = (unsigned char *)load("client.spki.der", &k->spki_len);
    k->not_before = strtoll(nb, NULL, 10);
    assert_true(k->not_before > 1700000000LL);
    free(nb);
}

/* The RSTR sample with its provisioning document replaced by doc. */
static char *
rstr_with(const char *doc)
{
    char *rstr = load("rstr.xml", NULL), *pd = load("provdoc.xml", NULL), *old, *new, *r;

    old = lj_b64_encode(pd, strlen(pd), LJ_B64_STD, NULL);
    new = lj_b64_encode(doc, strlen(doc), LJ_B64_STD, NULL);
    r = replace(rstr, old, new);
    free(rstr);
    free(pd);
    free(old);
    free(new);
    return r;
}

static void
verify_init(struct mdm_enroll_verify *v, const struct keys *k)
{
    memset(v, 0, sizeof(*v));
    v->key.spki_der = k->spki;
    v->key.spki_len = k->spki_len;
    v->now = k->not_before + 86400;
}

static void
expect_enroll(const char *body, const struct mdm_enroll_verify *v, enum lj_rc rc,
              enum mdm_reject want)
{
    struct mdm_enrollment e;
    enum mdm_reject why = MDM_REJECT_COUNT__;

    memset(&e, 0, sizeof(e));
    assert_int_equal(mdm_enroll_parse(body, strlen(body), v, &e, &why), rc);
    if (why != want)
        fail_msg("why %s, want %s", mdm_reject_name(why), mdm_reject_name(want));
    if (rc == LJ_OK)
        mdm_enrollment_free(&e);
    else
        assert_null(e.client.der); /* nothing returned */
}

static enum lj_rc
rc_for(enum mdm_reject r)
{
    switch (r) {
    case MDM_REJECT_TOO_DEEP:
    case MDM_REJECT_TOO_BIG: return LJ_ERR_TOO_BIG;
    case MDM_REJECT_XML:
    case MDM_REJECT_DOCTYPE:
    case MDM_REJECT_EMPTY: return LJ_ERR_PARSE;
    default: return LJ_ERR_PROTOCOL;
    }
}

static void
sha1_of(const char *file, char out[41])
{
    size_t n;
    char *der = load(file, &n);
    unsigned char h[WC_SHA_DIGEST_SIZE];

    assert_int_equal(wc_ShaHash((unsigned char *)der, (word32)n, h), 0);
    for (size_t i = 0; i < sizeof(h); i++)
        snprintf(out + 2 * i, 3, "%02X", h[i]);
    free(der);
}

static void
test_enroll_parse(void **state)
{
    struct keys k;
    struct mdm_enroll_verify v;
    struct mdm_enrollment e;
    enum mdm_reject why;
    size_t n, cn;
    char *body = load("rstr.xml", &n), *client = load("client.der", &cn), *pd, *pdv;
    char thumb[41];

    (void)state;
    keys_load(&k);
    verify_init(&v, &k);
    v.message_id = MSGID;
    assert_int_equal(mdm_enroll_parse(body, n, &v, &e, &why), LJ_OK);
    assert_int_equal(why, MDM_REJECT_NONE);
    assert_int_equal(e.client.len, cn);
    assert_memory_equal(e.client.der, client, cn);
    sha1_of("client.der", thumb);
    assert_string_equal(e.client.thumbprint, thumb);
    assert_non_null(strstr(e.client.subject, "5f0c8e4a-3b1d-4c6e-9a7f-2d8b1e6c4a90"));
    assert_non_null(strstr(e.client.issuer, "Test MDM Device CA"));
    assert_int_equal(e.chain_len, 2);
    assert_non_null(strstr(e.chain[0].subject, "Test MDM Device CA"));
    assert_non_null(strstr(e.chain[1].subject, "Test MDM Root"));
    sha1_of("root.der", thumb);
    assert_string_equal(e.chain[1].thumbprint, thumb);
    assert_string_equal(e.client_store, "System");
    assert_string_equal(e.mgmt_url,
                        "https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx");
    assert_string_equal(e.provider_id, "MS DM Server");
    assert_string_equal(e.server_name, "Microsoft Intune");
    assert_string_equal(e.activity_id, "d4f6a1b2-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
    pd = load("provdoc.xml", NULL);
    assert_int_equal(e.provdoc_len, strlen(pd));
    assert_memory_equal(e.provdoc, pd, e.provdoc_len);
    mdm_enrollment_free(&e);
    mdm_enrollment_free(&e); /* idempotent */
    mdm_enrollment_free(NULL);

    /* clock skew: a few minutes before notBefore is fine, ten is not; expired is not */
    v.now = k.not_before - 60;
    expect_enroll(body, &v, LJ_OK, MDM_REJECT_NONE);
    v.now = k.not_before - 600;
    expect_enroll(body, &v, LJ_ERR_PROTOCOL, MDM_REJECT_VALIDITY);
    v.now = 7258118400LL; /* 2200 */
    expect_enroll(body, &v, LJ_ERR_PROTOCOL, MDM_REJECT_VALIDITY);
    verify_init(&v, &k);
    v.message_id = "urn:uuid:00000000-0000-4000-8000-000000000000";
    expect_enroll(body, &v, LJ_ERR_PROTOCOL, MDM_REJECT_RELATES_TO);

    /* the same document with two CertificateStore characteristics (W-FED layout) */
    verify_init(&v, &k);
    pdv = replace(pd, "    <characteristic type=\"My\">",
                  "  </characteristic>\n  <characteristic type=\"CertificateStore\">\n"
                  "    <characteristic type=\"My\">");
    free(body);
    body = rstr_with(pdv);
    expect_enroll(body, &v, LJ_OK, MDM_REJECT_NONE);
    free(pdv);
    free(body);
    free(pd);
    free(client);
    free(k.spki);
}

static void
test_enroll_parse_rejects(void **state)
{
    struct keys k;
    struct mdm_enroll_verify v;
    char *pd, *body, *pdv, *other, *rstr, *t;
    char thumb[41];
    size_t cn;
    char *client, *client64;

    (void)state;
    keys_load(&k);
    verify_init(&v, &k);
    pd = load("provdoc.xml", NULL);
    rstr = load("rstr.xml", NULL);
    client = load("client.der", &cn);
    client64 = lj_b64_encode(client, cn, LJ_B64_STD, NULL);
    sha1_of("client.der", thumb);

#define PD_CASE(from, to, want)                                                                    \
    do {                                                                                           \
        pdv = replace(pd, from, to);                                                               \
        body = rstr_with(pdv);                                                                     \
        expect_enroll(body, &v, rc_for(want), want);                                               \
        free(body);                                                                                \
        free(pdv);                                                                                 \
    } while (0)
    PD_CASE("https://r.manage", "http://r.manage", MDM_REJECT_BAD_URL);
    PD_CASE("type=\"APPLICATION\"", "type=\"APPLICATIONX\"", MDM_REJECT_MISSING);
    PD_CASE("name=\"ADDR\"", "name=\"ADDRX\"", MDM_REJECT_MISSING);
    PD_CASE("name=\"PROVIDER-ID\"", "name=\"PROVIDERX\"", MDM_REJECT_PROVIDER);
    PD_CASE("<characteristic type=\"MS DM Server\">", "<characteristic type=\"Other\">",
            MDM_REJECT_PROVIDER);
    PD_CASE("type=\"My\"", "type=\"Mine\"", MDM_REJECT_NO_CLIENT_CERT);
    PD_CASE("type=\"Root\"", "type=\"Rooty\"", MDM_REJECT_CHAIN);
    PD_CASE("type=\"CA\"", "type=\"CAX\"", MDM_REJECT_CHAIN);
    PD_CASE(thumb, "0000000000000000000000000000000000000000", MDM_REJECT_THUMBPRINT);
    PD_CASE(client64, "AAAAAAAA", MDM_REJECT_X509);
    PD_CASE(client64 + 8, "!!!!", MDM_REJECT_BASE64);
    PD_CASE("<wap-provisioningdoc", "<wap-provisioningdocx", MDM_REJECT_XML);
    PD_CASE("wap-provisioningdoc version=\"1.1\">",
            "wap-provisioningdoc version=\"1.1\" xmlns=\"urn:x\">", MDM_REJECT_PROVDOC);
    /* the client certificate under My twice */
    {
        const char *open = "<characteristic type=\"PrivateKeyContainer\"/>";
        char extra[4096];

        snprintf(extra, sizeof(extra),
                 "<characteristic type=\"X\"><parm name=\"EncodedCertificate\" value=\"%s\"/>"
                 "</characteristic>%s",
                 client64, open);
        PD_CASE(open, extra, MDM_REJECT_NO_CLIENT_CERT);
    }
    /* nine certificates */
    {
        size_t sz = 9 * (strlen(client64) + 128) + 64;
        char *many = malloc(sz);
        size_t off = 0;

        assert_non_null(many);
        for (int i = 0; i < 8; i++)
            off +=
                (size_t)snprintf(many + off, sz - off,
                                 "<characteristic type=\"c%d\"><parm name=\"EncodedCertificate\" "
                                 "value=\"%s\"/></characteristic>",
                                 i, client64);
        snprintf(many + off, sz - off, "<characteristic type=\"PrivateKeyContainer\"/>");
        PD_CASE("<characteristic type=\"PrivateKeyContainer\"/>", many, MDM_REJECT_TOO_MANY_CERTS);
        free(many);
    }
    /* deep nesting inside the provisioning document */
    {
        char deep[2048] = "";
        size_t off = 0;

        for (int i = 0; i < 40; i++)
            off += (size_t)snprintf(deep + off, sizeof(deep) - off, "<characteristic type=\"d\">");
        for (int i = 0; i < 40; i++)
            off += (size_t)snprintf(deep + off, sizeof(deep) - off, "</characteristic>");
        PD_CASE("<characteristic type=\"PrivateKeyContainer\"/>", deep, MDM_REJECT_TOO_DEEP);
    }
#undef PD_CASE
    /* a DOCTYPE inside the provisioning document */
    pdv = replace(pd, "<wap-provisioningdoc",
                  "<!DOCTYPE w [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><wap-provisioningdoc");
    body = rstr_with(pdv);
    expect_enroll(body, &v, LJ_ERR_PARSE, MDM_REJECT_DOCTYPE);
    free(body);
    free(pdv);

    /* wrong key, EKU without clientAuth */
    other = load("provdoc-otherkey.xml", NULL);
    body = rstr_with(other);
    expect_enroll(body, &v, LJ_ERR_PROTOCOL, MDM_REJECT_KEY_MISMATCH);
    free(body);
    free(other);
    other = load("provdoc-servereku.xml", NULL);
    body = rstr_with(other);
    expect_enroll(body, &v, LJ_ERR_PROTOCOL, MDM_REJECT_EKU);
    free(body);
    free(other);

    /* envelope-level problems */
    body = replace(rstr, "Enrollment/DeviceEnrollmentToken<", "Enrollment/Other<");
    expect_enroll(body, &v, LJ_ERR_PROTOCOL, MDM_REJECT_TOKEN_TYPE);
    free(body);
    body = replace(rstr, "Enrollment/DeviceEnrollmentProvisionDoc", "Enrollment/X");
    expect_enroll(body, &v, LJ_ERR_PROTOCOL, MDM_REJECT_TOKEN_TYPE);
    free(body);
    t = replace(rstr,
                "#base64binary\" xmlns=\"http://docs.oasis-open.org/wss/2004/01/"
                "oasis-200401-wss-wssecurity-secext-1.0.xsd\">",
                "#base64binary\" xmlns=\"http://docs.oasis-open.org/wss/2004/01/"
                "oasis-200401-wss-wssecurity-secext-1.0.xsd\">!");
    expect_enroll(t, &v, LJ_ERR_PROTOCOL, MDM_REJECT_BASE64);
    free(t);
    body = replace(rstr, "<RequestedSecurityToken>", "<RequestedSecurityTokenX>");
    t = replace(body, "</RequestedSecurityToken>", "</RequestedSecurityTokenX>");
    expect_enroll(t, &v, LJ_ERR_PROTOCOL, MDM_REJECT_MISSING);
    free(t);
    free(body);
    /* wrong namespace for the collection */
    body = replace(rstr,
                   "<RequestSecurityTokenResponseCollection xmlns=\"http://docs.oasis-open.org/"
                   "ws-sx/ws-trust/200512\">",
                   "<RequestSecurityTokenResponseCollection xmlns=\"urn:x\">");
    expect_enroll(body, &v, LJ_ERR_PROTOCOL, MDM_REJECT_MISSING);
    free(body);
    /* a provisioning document over its ceiling (the envelope itself is under its own) */
    {
        size_t big = MDM_MAX_PROVDOC + 1024;
        char *huge = malloc(big + 1);

        assert_non_null(huge);
        memset(huge, ' ', big);
        memcpy(huge, "<wap-provisioningdoc>", 21);
        memcpy(huge + big - 22, "</wap-provisioningdoc>", 22);
        huge[big] = '\0';
        body = rstr_with(huge);
        expect_enroll(body, &v, LJ_ERR_TOO_BIG, MDM_REJECT_TOO_BIG);
        free(body);
        free(huge);
    }
    expect_enroll("", &v, LJ_ERR_PARSE, MDM_REJECT_EMPTY);
    assert_int_equal(mdm_enroll_parse(rstr, strlen(rstr), NULL, NULL, NULL), LJ_ERR_INVAL);

    free(rstr);
    free(pd);
    free(client);
    free(client64);
    free(k.spki);
}

/* ---- hostile XML ---- */

static void
test_xml_bombs(void **state)
{
    char *b = load("billion-laughs.xml", NULL), *x = load("xxe.xml", NULL), *deep, *huge;
    struct mdm_fault f;
    const size_t levels = 50000;
    size_t off = 0, sz = levels * 8 + 256;

    (void)state;
    expect_disco(b, NULL, LJ_ERR_PARSE, MDM_REJECT_DOCTYPE);
    assert_int_equal(mdm_fault_parse(500, b, strlen(b), &f), LJ_OK);
    assert_int_equal(f.kind, MDM_BODY_OTHER);
    /* external entity: refused before the parser could read the file */
    expect_disco(x, NULL, LJ_ERR_PARSE, MDM_REJECT_DOCTYPE);
    assert_int_equal(mdm_fault_parse(500, x, strlen(x), &f), LJ_OK);
    assert_int_equal(f.kind, MDM_BODY_OTHER);
    assert_null(strstr(f.reason, "root:"));
    /* lower-case doctype spelling is refused too */
    {
        char *lc = replace(x, "<!DOCTYPE", "<!doctype");

        expect_disco(lc, NULL, LJ_ERR_PARSE, MDM_REJECT_DOCTYPE);
        free(lc);
    }
    /* depth: 40 levels is over our ceiling; 50000 over libxml2's own (256) */
    deep = malloc(sz);
    assert_non_null(deep);
    off = (size_t)snprintf(deep, sz,
                           "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/"
                           "soap-envelope\"><s:Body>");
    for (int i = 0; i < 40; i++)
        off += (size_t)snprintf(deep + off, sz - off, "<a>");
    for (int i = 0; i < 40; i++)
        off += (size_t)snprintf(deep + off, sz - off, "</a>");
    snprintf(deep + off, sz - off, "</s:Body></s:Envelope>");
    expect_disco(deep, NULL, LJ_ERR_TOO_BIG, MDM_REJECT_TOO_DEEP);
    off = 0;
    for (size_t i = 0; i < levels; i++)
        off += (size_t)snprintf(deep + off, sz - off, "<a>");
    expect_disco(deep, NULL, LJ_ERR_PARSE, MDM_REJECT_XML);
    assert_int_equal(mdm_fault_parse(500, deep, strlen(deep), &f), LJ_OK);
    assert_int_equal(f.kind, MDM_BODY_OTHER);
    free(deep);
    /* size */
    huge = malloc(MDM_MAX_BODY + 2);
    assert_non_null(huge);
    memset(huge, ' ', MDM_MAX_BODY + 1);
    memcpy(huge, "<a>", 3);
    memcpy(huge + MDM_MAX_BODY - 3, "</a>", 4);
    huge[MDM_MAX_BODY + 1] = '\0';
    expect_disco(huge, NULL, LJ_ERR_TOO_BIG, MDM_REJECT_TOO_BIG);
    free(huge);
    /* truncated, NUL bytes, not XML, empty */
    {
        char *d = load("discover-response.xml", NULL);
        struct mdm_discovery out;
        enum mdm_reject why;

        d[strlen(d) / 2] = '\0';
        expect_disco(d, NULL, LJ_ERR_PARSE, MDM_REJECT_XML);
        free(d);
        assert_int_equal(mdm_discover_parse("<a>\0</a>", 8, NULL, &out, &why), LJ_ERR_PARSE);
        assert_int_equal(why, MDM_REJECT_XML);
        expect_disco("{\"json\": true}", NULL, LJ_ERR_PARSE, MDM_REJECT_XML);
        expect_disco("", NULL, LJ_ERR_PARSE, MDM_REJECT_EMPTY);
        /* an undeclared entity is not well-formed (no DTD can declare one) */
        expect_disco("<a>&lol;</a>", NULL, LJ_ERR_PARSE, MDM_REJECT_XML);
        /* the encoding declaration is ignored: UTF-8 always */
        expect_disco("<?xml version=\"1.0\" encoding=\"UTF-7\"?><a>+ADw-b/+AD4-</a>", NULL,
                     LJ_ERR_PROTOCOL, MDM_REJECT_NOT_SOAP);
    }
    free(b);
    free(x);
}

/* ---- faults ---- */

static void
expect_class(long status, const char *body, size_t len, const char *slug, const char *code)
{
    struct mdm_fault f;
    struct lj_classified c;

    assert_int_equal(mdm_fault_parse(status, body, len, &f), LJ_OK);
    lj_classify_mdm(&f, &c);
    if (strcmp(lj_reason_get(c.reason)->slug, slug) != 0 || strcmp(c.code, code) != 0)
        fail_msg("%.40s -> %s %s, want %s %s", body ? body : "(null)",
                 lj_reason_get(c.reason)->slug, c.code, slug, code);
}

static void
expect_fault_file(long status, const char *file, const char *slug, const char *code)
{
    size_t n;
    char *b = load(file, &n);

    expect_class(status, b, n, slug, code);
    free(b);
}

static void
test_faults(void **state)
{
    struct mdm_fault f;
    size_t n;
    char *b = load("fault-ownership.xml", &n);
    struct lj_classified c;
    const struct lj_error_params params = {
        .manufacturer = "Contoso", .model = "Link 1", .serial = "SN-0001"};
    char msg[512];

    (void)state;
    assert_int_equal(mdm_fault_parse(500, b, n, &f), LJ_OK);
    assert_int_equal(f.kind, MDM_BODY_FAULT);
    assert_int_equal(f.http_status, 500);
    assert_string_equal(f.code, "s:Receiver");
    assert_string_equal(f.subcode, "s:Authorization");
    assert_string_equal(f.reason, "Device Identifier not preregistered");
    assert_string_equal(f.error_type, "DeviceNotSupported");
    assert_string_equal(f.message, "Device Identifier not preregistered");
    assert_string_equal(f.trace_id, "2ec4b8d0-6a6b-4c1e-9a51-7d3e0f1a2b3c");
    assert_int_equal(f.hresult, 0x80180014UL);
    lj_classify_mdm(&f, &c);
    assert_int_equal(c.reason, LJ_R_MDM_OWNERSHIP_BLOCKED);
    assert_string_equal(c.code, "0x80180014");
    /* the admin action carries the CSV line for the corporate identifier upload */
    lj_error_format(lj_reason_get(c.reason)->admin_action, &params, msg, sizeof(msg));
    assert_non_null(strstr(msg, "the line Contoso,Link 1,SN-0001 in Intune admin center"));
    free(b);

    expect_fault_file(500, "fault-platform.xml", "mdm_platform_blocked", "0x80180014");
    expect_fault_file(500, "fault-devicecap.xml", "mdm_device_cap", "0x80180013");
    expect_fault_file(500, "fault-license.xml", "mdm_license_missing", "0x80180018");
    expect_fault_file(500, "fault-uservalidation.xml", "mdm_license_missing", "0x80180018");
    expect_fault_file(503, "fault-maintenance.xml", "joined_mdm_pending", "0x80180017");
    expect_fault_file(400, "fault-messageformat.xml", "mdm_rejected", "0x80180001");
    expect_fault_file(500, "fault-custom.xml", "mdm_rejected", "0x80180032");
    expect_fault_file(200, "fault-lowercase.xml", "mdm_device_cap", "0x80180013");
    expect_fault_file(500, "fault-soap11.xml", "joined_mdm_pending", "0x80180006");
    /* MS-DVRE 3.1.4.1.2.1 names the detail WindowsDeviceEnrollmentServiceError
     * (Intune: DeviceEnrollmentServiceError); both are read */
    expect_fault_file(500, "fault-platform-windows.xml", "mdm_platform_blocked", "0x80180014");
    b = load("fault-platform-windows.xml", &n);
    assert_int_equal(mdm_fault_parse(500, b, n, &f), LJ_OK);
    assert_string_equal(f.subcode, "s:Authorization");
    assert_string_equal(f.error_type, "DeviceNotSupported");
    assert_int_equal(f.hresult, 0x80180014UL);
    free(b);
    /* MS-DVRE 4.1.3: the generic ErrorType AuthorizationError yields to the
     * specific Subcode s:DeviceCapReached */
    expect_fault_file(500, "fault-dvre-windows.xml", "mdm_device_cap", "0x80180013");
    b = load("fault-dvre-windows.xml", &n);
    assert_int_equal(mdm_fault_parse(500, b, n, &f), LJ_OK);
    assert_string_equal(f.subcode, "s:DeviceCapReached");
    assert_string_equal(f.error_type, "AuthorizationError");
    assert_string_equal(f.message, "DeviceCapReached");
    assert_string_equal(f.activity_id, "0174f3f9-58e1-4a44-9a1c-3d15089efc9b");
    assert_int_equal(f.hresult, 0x80180013UL);
    free(b);
    assert_int_equal(mdm_fault_hresult("AuthorizationError", "s:DeviceCapReached", NULL),
                     0x80180013UL);
    assert_int_equal(mdm_fault_hresult("DeviceNotSupported", "s:Authorization", NULL),
                     0x80180014UL);
    assert_int_equal(mdm_fault_hresult("EnrollmentServer", "s:Receiver", NULL), 0x80180005UL);
    /* a fault beats the HTTP status */
    expect_fault_file(503, "fault-devicecap.xml", "mdm_device_cap", "0x80180013");

    b = load("fault-custom.xml", &n);
    assert_int_equal(mdm_fault_parse(500, b, n, &f), LJ_OK);
    assert_string_equal(f.reason, "Enrollment blocked by a compliance script & policy <X>");
    free(b);
    b = load("fault-lowercase.xml", &n);
    assert_int_equal(mdm_fault_parse(500, b, n, &f), LJ_OK);
    assert_string_equal(f.subcode, "s:devicecapreached");
    free(b);
    b = load("fault-soap11.xml", &n);
    assert_int_equal(mdm_fault_parse(500, b, n, &f), LJ_OK);
    assert_string_equal(f.subcode, "s:InternalServiceFault");
    assert_string_equal(f.reason, "An internal error occurred");
    free(b);

    /* answers without a fault */
    expect_class(503, NULL, 0, "joined_mdm_pending", "0x80180010");
    expect_class(429, "Too many", 8, "joined_mdm_pending", "0x80180010");
    expect_class(502, "<html><body>Bad gateway</body></html>", 37, "joined_mdm_pending",
                 "0x80180010");
    expect_class(200, "<html><body>Sign in to the Wi-Fi</body></html>", 46, "network_intercepted",
                 "0x8007000d");
    expect_class(200, "", 0, "bad_service_response", "0x80180029");
    expect_class(400, "garbage", 7, "bad_service_response", "0x80180001");
    b = load("discover-response.xml", &n);
    assert_int_equal(mdm_fault_parse(200, b, n, &f), LJ_OK);
    assert_int_equal(f.kind, MDM_BODY_SOAP);
    assert_string_equal(f.activity_id, "48915a4a-fb4c-4b1f-a1b5-0f0e1c2d3e4f");
    free(b);
    assert_int_equal(mdm_fault_parse(200, "x", 1, NULL), LJ_ERR_INVAL);
}

static void
test_fault_patterns(void **state)
{
    struct mdm_fault f;
    struct lj_classified c;
    static const struct {
        const char *error_type, *subcode, *reason, *slug, *code;
    } cases[] = {
        {"", "s:DeviceNotSupported", "Device Identifier not preregistered", "mdm_ownership_blocked",
         "0x80180014"},
        {"DeviceNotSupported", "s:Authorization", "Personally owned devices are blocked",
         "mdm_ownership_blocked", "0x80180014"},
        {"DeviceNotSupported", "s:Authorization", "No matching corporate identifier",
         "mdm_ownership_blocked", "0x80180014"},
        {"DeviceNotSupported", "s:Authorization", "This OS version is not supported",
         "mdm_platform_blocked", "0x80180014"},
        {"", "s:MdmNotConfigured", "", "mdm_not_in_scope", "0x8018002b"},
        {"", "s:Authorization", "The user is not in the MDM user scope", "mdm_not_in_scope",
         "0x8018002b"},
        {"", "s:Authorization", "Access denied", "mdm_rejected", "0x80180003"},
        {"", "a:InternalServiceFault", "", "joined_mdm_pending", "0x80180006"},
        {"EnrollmentServer", "s:Receiver", "", "joined_mdm_pending", "0x80180005"},
        {"", "s:Server429", "", "joined_mdm_pending", "0x80180033"},
        {"", "s:Authentication", "Token expired", "mdm_rejected", "0x80180002"},
        {"", "s:NotSupported", "", "mdm_rejected", "0x80180015"},
        {"", "s:SomethingNew", "", "mdm_rejected", "0x80180008"},
        {"", "", "", "mdm_rejected", "0x80180008"},
        {"", "s:Receiver", "NotEligibleToRenew", "mdm_rejected", "0x80180016"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&f, 0, sizeof(f));
        f.kind = MDM_BODY_FAULT;
        f.http_status = 500;
        snprintf(f.error_type, sizeof(f.error_type), "%s", cases[i].error_type);
        snprintf(f.subcode, sizeof(f.subcode), "%s", cases[i].subcode);
        snprintf(f.reason, sizeof(f.reason), "%s", cases[i].reason);
        lj_classify_mdm(&f, &c);
        if (strcmp(lj_reason_get(c.reason)->slug, cases[i].slug) != 0 ||
            strcmp(c.code, cases[i].code) != 0)
            fail_msg("case %zu (%s/%s): %s %s, want %s %s", i, cases[i].error_type,
                     cases[i].subcode, lj_reason_get(c.reason)->slug, c.code, cases[i].slug,
                     cases[i].code);
    }
    assert_int_equal(mdm_fault_hresult(NULL, NULL, NULL), 0x80180008UL);
    for (int r = 0; r < MDM_REJECT_COUNT__; r++)
        assert_string_not_equal(mdm_reject_name((enum mdm_reject)r), "unknown");
    assert_string_equal(mdm_reject_name(MDM_REJECT_COUNT__), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_id),
        cmocka_unit_test(test_enroll_url),
        cmocka_unit_test(test_discover_build),
        cmocka_unit_test(test_discover_build_rejects),
        cmocka_unit_test(test_enroll_build),
        cmocka_unit_test(test_enroll_build_rejects),
        cmocka_unit_test(test_policy_build),
        cmocka_unit_test(test_discover_parse),
        cmocka_unit_test(test_policy_parse),
        cmocka_unit_test(test_enroll_parse),
        cmocka_unit_test(test_enroll_parse_rejects),
        cmocka_unit_test(test_xml_bombs),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_fault_patterns),
    };
    return cmocka_run_group_tests_name("mdm", tests, NULL, NULL);
}
