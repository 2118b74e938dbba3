/*
 * Unit tests for agent/flow/fail.c and the retry bound of agent/flow/io.c:
 * the failure rules that are pure functions of struct flow.  In phase mdm
 * what a later attempt can get past becomes joined_mdm_pending; AADSTS90002
 * during discovery before sign-in becomes tenant_not_found; the first
 * failure stays; flow_fail_clear forgets it; flow_report_failure sends one
 * result, records last_error in the journal and returns the reason's exit
 * code.  No network, no TPM: the flow's steps are tested by
 * tests/integration/test_join*.sh, test_mdm.sh and test_retry.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/core/exitcodes.h"
#include "agent/flow/flow_int.h"

struct fixture {
    char dir[64];
    char ui_path[96];
    int ui_fd;
    struct lj_config cfg;
    struct flow f;
};

static int
setup(void **state)
{
    struct fixture *x = calloc(1, sizeof(*x));

    if (x == NULL)
        return -1;
    snprintf(x->dir, sizeof(x->dir), "/tmp/lj-test-flow-fail.XXXXXX");
    if (mkdtemp(x->dir) == NULL)
        return -1;
    snprintf(x->ui_path, sizeof(x->ui_path), "%s/ui.jsonl", x->dir);
    lj_config_defaults(&x->cfg);
    snprintf(x->cfg.state_dir, sizeof(x->cfg.state_dir), "%s/state", x->dir);
    snprintf(x->cfg.tenant, sizeof(x->cfg.tenant), "contoso.example");
    x->f.cfg = &x->cfg;
    lj_journal_init(&x->f.j);
    *state = x;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *x = *state;
    char cmd[128];

    if (x->f.ui != NULL)
        lj_ui_free(x->f.ui);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
    free(x);
    return system(cmd) == 0 ? 0 : -1;
}

/* A stdio UI whose events go to x->ui_path. */
static void
open_ui(struct fixture *x)
{
    FILE *fp = fopen(x->ui_path, "w");

    assert_non_null(fp);
    x->ui_fd = dup(fileno(fp));
    fclose(fp);
    assert_true(x->ui_fd >= 0);
    assert_int_equal(lj_ui_open_fds(LJ_UI_STDIO, -1, x->ui_fd, &x->f.ui), LJ_OK);
}

/* The UI output so far (static buffer). */
static const char *
ui_text(const struct fixture *x)
{
    static char buf[16384];
    FILE *fp = fopen(x->ui_path, "r");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void
resp_with(struct lj_http_response *r, long status, const char *body)
{
    memset(r, 0, sizeof(*r));
    r->status = status;
    r->retry_after = -1;
    r->body = (char *)body; /* not freed: the tests never call lj_http_response_free */
    r->body_len = body != NULL ? strlen(body) : 0;
    snprintf(r->client_request_id, sizeof(r->client_request_id),
             "11111111-2222-3333-4444-555555555555");
}

static void
assert_failure(const struct flow *f, enum lj_reason r, const char *phase, const char *slug,
               const char *code)
{
    assert_true(f->fail.failed);
    assert_int_equal(f->fail.reason, r);
    assert_string_equal(f->fail.err.phase, phase);
    assert_string_equal(f->fail.err.reason, slug);
    assert_string_equal(f->fail.err.code, code);
}

/* ---- phase mdm: what a later attempt can get past is "joined, pending" ---- */

static void
test_mdm_retryable_reasons_become_pending(void **state)
{
    static const enum lj_reason retryable[] = {
        LJ_R_NETWORK_UNREACHABLE, LJ_R_TLS_UNTRUSTED, LJ_R_NETWORK_INTERCEPTED,
        LJ_R_SERVICE_UNAVAILABLE, LJ_R_THROTTLED,     LJ_R_CANCELLED,
    };
    struct fixture *x = *state;

    for (size_t i = 0; i < sizeof(retryable) / sizeof(retryable[0]); i++) {
        flow_fail_clear(&x->f);
        /* the given code is dropped: the pending reason's own code is shown */
        flow_fail_set(&x->f, LJ_PHASE_MDM, retryable[i], "0x801c03f2", LJ_ERR_HTTP);
        assert_failure(&x->f, LJ_R_JOINED_MDM_PENDING, "mdm", "joined_mdm_pending", "0x80180010");
        assert_string_equal(x->f.fail.err.rc, "http_error");
    }
}

static void
test_mdm_network_rc_becomes_pending(void **state)
{
    struct fixture *x = *state;

    assert_int_equal(flow_fail_rc(&x->f, LJ_PHASE_MDM, LJ_ERR_NET_CONNECT), LJ_ERR_NET_CONNECT);
    assert_failure(&x->f, LJ_R_JOINED_MDM_PENDING, "mdm", "joined_mdm_pending", "0x80180010");
    assert_string_equal(x->f.fail.err.rc, "connect_failed");
}

static void
test_mdm_cancel_becomes_pending(void **state)
{
    struct fixture *x = *state;

    flow_fail_rc(&x->f, LJ_PHASE_MDM, LJ_ERR_CANCELLED);
    assert_failure(&x->f, LJ_R_JOINED_MDM_PENDING, "mdm", "joined_mdm_pending", "0x80180010");
}

static void
test_same_reasons_before_the_join_stay(void **state)
{
    struct fixture *x = *state;

    flow_fail_set(&x->f, LJ_PHASE_JOIN, LJ_R_THROTTLED, NULL, LJ_ERR_HTTP);
    assert_failure(&x->f, LJ_R_THROTTLED, "join", "throttled", "0x801c03f2");
    flow_fail_clear(&x->f);
    flow_fail_rc(&x->f, LJ_PHASE_SIGNIN, LJ_ERR_CANCELLED);
    assert_failure(&x->f, LJ_R_CANCELLED, "signin", "cancelled", "0x800704c7");
    flow_fail_clear(&x->f);
    flow_fail_rc(&x->f, LJ_PHASE_PREFLIGHT, LJ_ERR_NET_DNS);
    assert_failure(&x->f, LJ_R_NETWORK_DNS, "preflight", "network_unreachable", "0x80072ee7");
    flow_fail_clear(&x->f);
    flow_fail_rc(&x->f, LJ_PHASE_PREFLIGHT, LJ_ERR_NET_TIMEOUT);
    assert_failure(&x->f, LJ_R_NETWORK_TIMEOUT, "preflight", "network_unreachable", "0x80072ee2");
    flow_fail_clear(&x->f);
    flow_fail_rc(&x->f, LJ_PHASE_PREFLIGHT, LJ_ERR_NET_CONNECT);
    assert_failure(&x->f, LJ_R_NETWORK_UNREACHABLE, "preflight", "network_unreachable",
                   "0x80072efd");
    /* after the join, each is "management pending" */
    flow_fail_clear(&x->f);
    flow_fail_rc(&x->f, LJ_PHASE_MDM, LJ_ERR_NET_DNS);
    assert_failure(&x->f, LJ_R_JOINED_MDM_PENDING, "mdm", "joined_mdm_pending", "0x80180010");
    flow_fail_clear(&x->f);
    flow_fail_rc(&x->f, LJ_PHASE_MDM, LJ_ERR_NET_TIMEOUT);
    assert_failure(&x->f, LJ_R_JOINED_MDM_PENDING, "mdm", "joined_mdm_pending", "0x80180010");
}

static void
test_mdm_bad_answer_says_device_is_joined(void **state)
{
    struct fixture *x = *state;

    flow_fail_set(&x->f, LJ_PHASE_MDM, LJ_R_BAD_SERVICE_RESPONSE, NULL, LJ_ERR_PARSE);
    assert_failure(&x->f, LJ_R_MDM_BAD_SERVICE_RESPONSE, "mdm", "bad_service_response",
                   "0x80180001");
    /* a specific code is kept */
    flow_fail_clear(&x->f);
    flow_fail_set(&x->f, LJ_PHASE_MDM, LJ_R_BAD_SERVICE_RESPONSE, "0x80180029", LJ_ERR_PARSE);
    assert_failure(&x->f, LJ_R_MDM_BAD_SERVICE_RESPONSE, "mdm", "bad_service_response",
                   "0x80180029");
}

static void
test_mdm_parse_failure_names_the_step(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;

    resp_with(&r, 200, "<s:Envelope/>");
    assert_int_equal(flow_fail_mdm_parse(&x->f, &r, "policy", MDM_REJECT_NOT_SOAP, LJ_ERR_PARSE),
                     LJ_ERR_PARSE);
    assert_failure(&x->f, LJ_R_MDM_BAD_SERVICE_RESPONSE, "mdm", "bad_service_response",
                   "0x80180001");
    assert_int_equal(x->f.fail.err.http_status, 200);
    assert_true(strncmp(x->f.fail.err.message, "policy answer rejected: ", 24) == 0);
    assert_string_equal(x->f.fail.err.message + 24, mdm_reject_name(MDM_REJECT_NOT_SOAP));
}

static void
test_mdm_busy_answer_is_pending(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;
    struct mdm_fault flt;

    resp_with(&r, 503, NULL);
    mdm_fault_parse(r.status, r.body, r.body_len, &flt);
    assert_int_equal(flow_fail_mdm_answer(&x->f, &r, &flt), LJ_ERR_HTTP);
    assert_failure(&x->f, LJ_R_JOINED_MDM_PENDING, "mdm", "joined_mdm_pending", "0x80180010");
    assert_int_equal(x->f.fail.err.http_status, 503);
    assert_string_equal(x->f.fail.host, "enrollment.manage.microsoft.com");
}

/* ---- the first failure stays ---- */

static void
test_first_failure_is_kept(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;

    flow_fail_set(&x->f, LJ_PHASE_SIGNIN, LJ_R_WRONG_PASSWORD, "AADSTS50126", LJ_ERR_AUTH);
    flow_fail_rc(&x->f, LJ_PHASE_JOIN, LJ_ERR_NET_CONNECT);
    flow_fail_set(&x->f, LJ_PHASE_MDM, LJ_R_THROTTLED, NULL, LJ_ERR_HTTP);
    resp_with(&r, 200, "<html><body>portal</body></html>");
    assert_int_equal(flow_fail_answer(&x->f, LJ_PHASE_JOIN, "https://portal.example/", &r,
                                      "it is odd", LJ_ERR_PARSE),
                     LJ_ERR_PARSE);
    assert_failure(&x->f, LJ_R_WRONG_PASSWORD, "signin", "wrong_password", "AADSTS50126");
    assert_string_equal(x->f.fail.err.rc, "auth_refused");
    assert_int_equal(x->f.fail.err.http_status, 0);
    assert_string_equal(x->f.fail.host, "");
    assert_string_equal(x->f.fail.what, "");
}

static void
test_clear_forgets_the_failure(void **state)
{
    struct fixture *x = *state;

    flow_fail_net(&x->f, LJ_PHASE_MDM, LJ_ERR_NET_CONNECT, "https://mdm.example:8443/x", "refused");
    assert_true(x->f.fail.failed);
    assert_string_equal(x->f.fail.host, "mdm.example");
    flow_fail_clear(&x->f);
    assert_false(x->f.fail.failed);
    assert_int_equal(x->f.fail.reason, LJ_R_INTERNAL);
    assert_string_equal(x->f.fail.err.phase, "");
    assert_string_equal(x->f.fail.err.reason, "");
    assert_string_equal(x->f.fail.host, "");
    assert_string_equal(x->f.fail.what, "");
    /* and the next failure is recorded */
    flow_fail_set(&x->f, LJ_PHASE_MDM, LJ_R_MDM_LICENSE_MISSING, NULL, LJ_ERR_HTTP);
    assert_int_equal(x->f.fail.reason, LJ_R_MDM_LICENSE_MISSING);
    assert_string_equal(x->f.fail.err.phase, "mdm");
}

/* ---- transport and unusable answers ---- */

static void
test_net_failure_names_host_and_what(void **state)
{
    struct fixture *x = *state;

    assert_int_equal(flow_fail_net(&x->f, LJ_PHASE_PREFLIGHT, LJ_ERR_NET_DNS,
                                   "https://login.example.com/common", "no such host"),
                     LJ_ERR_NET_DNS);
    assert_failure(&x->f, LJ_R_NETWORK_DNS, "preflight", "network_unreachable", "0x80072ee7");
    assert_string_equal(x->f.fail.host, "login.example.com");
    assert_string_equal(x->f.fail.what, lj_error_net_what(LJ_ERR_NET_DNS));
}

static void
test_net_cancel_names_no_host(void **state)
{
    struct fixture *x = *state;

    flow_fail_net(&x->f, LJ_PHASE_JOIN, LJ_ERR_CANCELLED, "https://drs.example/", NULL);
    assert_failure(&x->f, LJ_R_CANCELLED, "join", "cancelled", "0x800704c7");
    assert_string_equal(x->f.fail.host, "");
    assert_string_equal(x->f.fail.what, "");
}

static void
test_web_page_answer_is_interception(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;

    resp_with(&r, 200, "<!DOCTYPE html><html><title>Wi-Fi login</title></html>");
    flow_fail_answer(&x->f, LJ_PHASE_DISCOVER, "https://drs.example/x", &r, "it is odd",
                     LJ_ERR_PARSE);
    assert_failure(&x->f, LJ_R_NETWORK_INTERCEPTED, "discover", "network_intercepted",
                   "0x8007000d");
    assert_string_equal(x->f.fail.host, "drs.example");
    assert_string_equal(x->f.fail.what, "");
    assert_int_equal(x->f.fail.err.http_status, 200);
    assert_string_equal(x->f.fail.err.request_id, "11111111-2222-3333-4444-555555555555");
}

static void
test_unreadable_answer_says_why(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;

    resp_with(&r, 200, "{\"x\":1}");
    flow_fail_answer(&x->f, LJ_PHASE_JOIN, "https://drs.example/x", &r, "it holds no certificate",
                     LJ_ERR_PARSE);
    assert_failure(&x->f, LJ_R_BAD_SERVICE_RESPONSE, "join", "bad_service_response", "0x801c0001");
    assert_string_equal(x->f.fail.what, "it holds no certificate");
}

static void
test_token_endpoint_busy_is_service_unavailable(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;

    resp_with(&r, 503, "upstream down");
    assert_int_equal(flow_fail_oauth(&x->f, LJ_PHASE_SIGNIN, &r, OAUTH_GRANT_PASSWORD),
                     LJ_ERR_HTTP);
    assert_failure(&x->f, LJ_R_SERVICE_UNAVAILABLE, "signin", "service_unavailable", "0x801c0025");
    assert_string_equal(x->f.fail.host, "login.microsoftonline.com");
    /* the same answer to the Intune token request: pending */
    flow_fail_clear(&x->f);
    flow_fail_oauth(&x->f, LJ_PHASE_MDM, &r, OAUTH_GRANT_REFRESH);
    assert_failure(&x->f, LJ_R_JOINED_MDM_PENDING, "mdm", "joined_mdm_pending", "0x80180010");
}

/* ---- device authentication after the join (PRT) ---- */

/* An Entra error body with AADSTS code n. */
static void
device_error(struct lj_http_response *r, char *buf, size_t bsz, unsigned n)
{
    snprintf(buf, bsz,
             "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS%u: device says no."
             "\",\"error_codes\":[%u],\"trace_id\":\"t-1\",\"correlation_id\":\"c-1\"}",
             n, n);
    resp_with(r, 400, buf);
}

static void
test_mdm_device_auth_failed_is_device_auth_pending(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;
    char body[512];

    device_error(&r, body, sizeof(body), 50155);
    assert_int_equal(flow_fail_oauth(&x->f, LJ_PHASE_MDM, &r, OAUTH_GRANT_REFRESH), LJ_ERR_AUTH);
    assert_failure(&x->f, LJ_R_DEVICE_AUTH_PENDING, "mdm", "device_auth_pending", "AADSTS50155");
    assert_true(lj_reason_get(LJ_R_DEVICE_AUTH_PENDING)->retryable);
    assert_int_equal(lj_reason_get(LJ_R_DEVICE_AUTH_PENDING)->exit_code, LJ_EXIT_MDM_PENDING);
}

static void
test_mdm_device_disabled_is_named(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;
    char body[512];

    device_error(&r, body, sizeof(body), 135011);
    flow_fail_oauth(&x->f, LJ_PHASE_MDM, &r, OAUTH_GRANT_REFRESH);
    assert_failure(&x->f, LJ_R_DEVICE_DISABLED, "mdm", "device_disabled", "AADSTS135011");
    assert_int_equal(lj_reason_get(LJ_R_DEVICE_DISABLED)->exit_code, LJ_EXIT_POLICY);
}

static void
test_mdm_device_not_found_is_named(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;
    char body[512];

    device_error(&r, body, sizeof(body), 700003);
    flow_fail_oauth(&x->f, LJ_PHASE_MDM, &r, OAUTH_GRANT_REFRESH);
    assert_failure(&x->f, LJ_R_DEVICE_NOT_FOUND, "mdm", "device_not_found", "AADSTS700003");
}

static void
test_reason_set_keeps_server_code(void **state)
{
    struct fixture *x = *state;

    /* a default code becomes the new reason's */
    flow_fail_set(&x->f, LJ_PHASE_MDM, LJ_R_SIGNIN_REJECTED, NULL, LJ_ERR_AUTH);
    flow_fail_reason_set(&x->f, LJ_R_PRT_REFUSED);
    assert_failure(&x->f, LJ_R_PRT_REFUSED, "mdm", "prt_refused", "0xc000006d");
    /* the server's own code stays */
    flow_fail_clear(&x->f);
    flow_fail_set(&x->f, LJ_PHASE_MDM, LJ_R_SIGNIN_REJECTED, "AADSTS5000611", LJ_ERR_AUTH);
    flow_fail_reason_set(&x->f, LJ_R_PRT_REFUSED);
    assert_failure(&x->f, LJ_R_PRT_REFUSED, "mdm", "prt_refused", "AADSTS5000611");
    /* nothing recorded: nothing to change */
    flow_fail_clear(&x->f);
    flow_fail_reason_set(&x->f, LJ_R_PRT_REFUSED);
    assert_false(x->f.fail.failed);
}

static void
test_prt_renewal_due(void **state)
{
    const int64_t t0 = 1800000000, life = 14 * 86400;

    (void)state;
    /* fresh: not due */
    assert_false(lj_flow_prt_due(t0 + 60, t0, t0 + life));
    /* 4 hours old: due (Windows' cadence) */
    assert_false(lj_flow_prt_due(t0 + LJ_FLOW_PRT_RENEW_S - 1, t0, t0 + life));
    assert_true(lj_flow_prt_due(t0 + LJ_FLOW_PRT_RENEW_S, t0, t0 + life));
    /* a short-lived PRT: due when a third of its life is left, before 4 h */
    assert_false(lj_flow_prt_due(t0 + 3599, t0, t0 + 3 * 3600));
    assert_true(lj_flow_prt_due(t0 + 2 * 3600, t0, t0 + 3 * 3600));
    /* expired, unknown times or a clock before the issue time */
    assert_true(lj_flow_prt_due(t0 + life + 1, t0, t0 + life));
    assert_true(lj_flow_prt_due(t0, 0, 0));
    assert_true(lj_flow_prt_due(t0, t0, t0));
    assert_false(lj_flow_prt_due(t0 - 100, t0, t0 + life));
}

/* ---- DRS errors ---- */

#define TENANT_404                                                                                 \
    "{\"ErrorType\":\"DirectoryError\",\"Message\":\"AADSTS90002: Tenant 'x' not found. "          \
    "Trace ID: 6f1b Correlation ID: 9e2a Timestamp: 2026-12-03 10:00:00Z\","                       \
    "\"TraceId\":\"aaaa-bbbb\",\"Time\":\"12-03-2026 10:00:00Z\"}"

static void
test_aadsts90002_in_early_discovery_is_tenant_not_found(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;

    x->f.early_discovery = true;
    resp_with(&r, 400, TENANT_404);
    assert_int_equal(flow_fail_drs(&x->f, LJ_PHASE_DISCOVER, &r), LJ_ERR_HTTP);
    assert_failure(&x->f, LJ_R_TENANT_NOT_FOUND, "discover", "tenant_not_found", "AADSTS90002");
    assert_string_equal(x->f.fail.err.error_type, "DirectoryError");
    /* Entra's trailer is dropped from the message: those ids are their own fields */
    assert_string_equal(x->f.fail.err.message, "AADSTS90002: Tenant 'x' not found.");
    assert_string_equal(x->f.fail.err.trace_id, "aaaa-bbbb");
    assert_string_equal(x->f.fail.err.server_time, "12-03-2026 10:00:00Z");
    assert_int_equal(x->f.fail.err.http_status, 400);
    assert_string_equal(x->f.fail.host, "enterpriseregistration.windows.net");
}

static void
test_aadsts90002_after_signin_is_drs_tenant_not_found(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;

    x->f.early_discovery = false;
    resp_with(&r, 400, TENANT_404);
    flow_fail_drs(&x->f, LJ_PHASE_DISCOVER, &r);
    assert_failure(&x->f, LJ_R_DRS_TENANT_NOT_FOUND, "discover", "drs_tenant_not_found",
                   "0x801c003a");
}

static void
test_drs_busy_join_is_service_unavailable(void **state)
{
    struct fixture *x = *state;
    struct lj_http_response r;

    resp_with(&r, 503, NULL);
    flow_fail_drs(&x->f, LJ_PHASE_JOIN, &r);
    assert_failure(&x->f, LJ_R_SERVICE_UNAVAILABLE, "join", "service_unavailable", "0x801c0025");
    assert_int_equal(lj_reason_get(x->f.fail.reason)->exit_code, LJ_EXIT_NETWORK);
}

/* ---- the failure result ---- */

static void
test_report_without_record_is_internal(void **state)
{
    struct fixture *x = *state;
    struct lj_journal j;
    struct lj_journal_report rep;

    open_ui(x);
    assert_int_equal(flow_report_failure(&x->f, LJ_ERR_NOMEM), LJ_EXIT_FAILURE);
    assert_failure(&x->f, LJ_R_INTERNAL, "preflight", "internal", "0x8000ffff");
    assert_non_null(strstr(ui_text(x), "\"status\":\"failed\""));
    /* the error record is in the journal */
    assert_int_equal(lj_journal_load(x->cfg.state_dir, &j, &rep), LJ_OK);
    assert_true(j.has_error);
    assert_string_equal(j.last_error.reason, "internal");
    assert_string_equal(j.last_error.phase, "preflight");
}

static void
test_report_cancelled(void **state)
{
    struct fixture *x = *state;

    open_ui(x);
    flow_fail_rc(&x->f, LJ_PHASE_SIGNIN, LJ_ERR_CANCELLED);
    assert_int_equal(flow_report_failure(&x->f, LJ_ERR_CANCELLED), LJ_EXIT_CANCELLED);
    assert_non_null(strstr(ui_text(x), "\"status\":\"cancelled\""));
}

static void
test_report_exit_codes(void **state)
{
    static const struct {
        enum lj_reason r;
        enum lj_phase phase;
        int exit_code;
    } cases[] = {
        {LJ_R_TENANT_NOT_FOUND, LJ_PHASE_DISCOVER, LJ_EXIT_SIGNIN},
        {LJ_R_TPM_LOCKED, LJ_PHASE_PREFLIGHT, LJ_EXIT_TPM},
        {LJ_R_DEVICE_QUOTA_REACHED, LJ_PHASE_JOIN, LJ_EXIT_POLICY},
        {LJ_R_THROTTLED, LJ_PHASE_JOIN, LJ_EXIT_NETWORK},
        {LJ_R_BAD_SERVICE_RESPONSE, LJ_PHASE_JOIN, LJ_EXIT_SERVICE},
    };
    struct fixture *x = *state;

    open_ui(x);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        flow_fail_clear(&x->f);
        flow_fail_set(&x->f, cases[i].phase, cases[i].r, NULL, LJ_ERR_HTTP);
        assert_int_equal(flow_report_failure(&x->f, LJ_ERR_HTTP), cases[i].exit_code);
    }
}

static void
test_report_bad_answer_gets_a_default_what(void **state)
{
    struct fixture *x = *state;

    open_ui(x);
    flow_fail_set(&x->f, LJ_PHASE_JOIN, LJ_R_BAD_SERVICE_RESPONSE, NULL, LJ_ERR_PARSE);
    assert_int_equal(flow_report_failure(&x->f, LJ_ERR_PARSE), LJ_EXIT_SERVICE);
    assert_string_equal(x->f.fail.what, "it is not in the expected form");
    assert_non_null(strstr(ui_text(x), "could not be used because it is not in the expected form"));
}

static void
test_report_names_the_configured_tenant_before_discovery(void **state)
{
    struct fixture *x = *state;

    open_ui(x);
    flow_fail_set(&x->f, LJ_PHASE_SIGNIN, LJ_R_TENANT_NOT_FOUND, NULL, LJ_ERR_AUTH);
    assert_int_equal(flow_report_failure(&x->f, LJ_ERR_AUTH), LJ_EXIT_SIGNIN);
    assert_non_null(strstr(ui_text(x), "organization contoso.example"));
}

/* ---- the retry bound (flow.h): at most N attempts and a waiting budget ---- */

static void
test_retry_wait_defaults_double(void **state)
{
    (void)state;
    /* no Retry-After: 2 s, then 4 s, then stop after the 3rd attempt */
    assert_int_equal(flow_retry_wait(1, -1, 0, LJ_FLOW_JOIN_MAX_ATTEMPTS, LJ_FLOW_RETRY_BUDGET_S),
                     2);
    assert_int_equal(flow_retry_wait(2, -1, 2, LJ_FLOW_JOIN_MAX_ATTEMPTS, LJ_FLOW_RETRY_BUDGET_S),
                     4);
    assert_int_equal(flow_retry_wait(3, -1, 6, LJ_FLOW_JOIN_MAX_ATTEMPTS, LJ_FLOW_RETRY_BUDGET_S),
                     -1);
}

static void
test_retry_wait_takes_retry_after(void **state)
{
    (void)state;
    assert_int_equal(flow_retry_wait(1, 10, 0, 3, 30), 10);
    assert_int_equal(flow_retry_wait(2, 0, 10, 3, 30), 0);
    assert_int_equal(flow_retry_wait(1, 30, 0, 3, 30), 30);
}

static void
test_retry_wait_longer_than_budget_stops(void **state)
{
    (void)state;
    assert_int_equal(flow_retry_wait(1, 31, 0, 3, 30), -1);
    assert_int_equal(flow_retry_wait(2, 6, 25, 3, 30), -1);
    assert_int_equal(flow_retry_wait(2, 5, 25, 3, 30), 5);
    /* the doubled default counts against the budget too */
    assert_int_equal(flow_retry_wait(2, -1, 27, 3, 30), -1);
}

static void
test_retry_wait_attempts_bound_first(void **state)
{
    (void)state;
    assert_int_equal(flow_retry_wait(3, 0, 0, 3, 30), -1);
    assert_int_equal(flow_retry_wait(LJ_FLOW_MDM_MAX_ATTEMPTS, 1, 0, LJ_FLOW_MDM_MAX_ATTEMPTS,
                                     LJ_FLOW_MDM_RETRY_BUDGET_S),
                     -1);
    assert_int_equal(flow_retry_wait(1, -1, 0, 1, 30), -1);
}

/* A locked TPM says how long to wait, from its own lockout counters. */
static void
test_lockout_wait_words(void **state)
{
    struct tpm_health h;
    char w[40];

    (void)state;
    memset(&h, 0, sizeof(h));
    h.max_tries = 3;
    h.lockout_counter = 3;
    h.recovery_s = 1000; /* swtpm's default: one failure forgiven every 1000 s */
    flow_lockout_wait(&h, w, sizeof(w));
    assert_string_equal(w, "about 17 minutes");
    h.lockout_counter = 5;
    flow_lockout_wait(&h, w, sizeof(w));
    assert_string_equal(w, "about 50 minutes");
    h.recovery_s = 7200;
    flow_lockout_wait(&h, w, sizeof(w));
    assert_string_equal(w, "about 6 hours");
    h.recovery_s = 30;
    h.lockout_counter = 3;
    flow_lockout_wait(&h, w, sizeof(w));
    assert_string_equal(w, "about a minute");
    h.recovery_s = 0; /* never forgiven by time: the TPM does not say */
    flow_lockout_wait(&h, w, sizeof(w));
    assert_string_equal(w, "a few minutes");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lockout_wait_words),
        T(test_mdm_retryable_reasons_become_pending),
        T(test_mdm_network_rc_becomes_pending),
        T(test_mdm_cancel_becomes_pending),
        T(test_same_reasons_before_the_join_stay),
        T(test_mdm_bad_answer_says_device_is_joined),
        T(test_mdm_parse_failure_names_the_step),
        T(test_mdm_busy_answer_is_pending),
        T(test_first_failure_is_kept),
        T(test_clear_forgets_the_failure),
        T(test_net_failure_names_host_and_what),
        T(test_net_cancel_names_no_host),
        T(test_web_page_answer_is_interception),
        T(test_unreadable_answer_says_why),
        T(test_token_endpoint_busy_is_service_unavailable),
        T(test_mdm_device_auth_failed_is_device_auth_pending),
        T(test_mdm_device_disabled_is_named),
        T(test_mdm_device_not_found_is_named),
        T(test_reason_set_keeps_server_code),
        T(test_prt_renewal_due),
        T(test_aadsts90002_in_early_discovery_is_tenant_not_found),
        T(test_aadsts90002_after_signin_is_drs_tenant_not_found),
        T(test_drs_busy_join_is_service_unavailable),
        T(test_report_without_record_is_internal),
        T(test_report_cancelled),
        T(test_report_exit_codes),
        T(test_report_bad_answer_gets_a_default_what),
        T(test_report_names_the_configured_tenant_before_discovery),
        T(test_retry_wait_defaults_double),
        T(test_retry_wait_takes_retry_after),
        T(test_retry_wait_longer_than_budget_stops),
        T(test_retry_wait_attempts_bound_first),
    };

    return cmocka_run_group_tests_name("flow_fail", tests, NULL, NULL);
}
