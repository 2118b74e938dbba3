/*
 * tenant.h — the simulated tenant: its directory (users, groups, device
 * settings, conditional access, sign-in settings) loaded from the tenant
 * file, and the live registry (devices, device codes, authorization codes,
 * refresh tokens).
 *
 * One global state, g_sim, guarded by g_sim.lock.  Handlers take the lock,
 * read or change what they need, copy out what they keep, and drop it
 * before any slow work (signing, sleeping).  Pointers into g_sim (users,
 * devices) are valid only while the lock is held: a reset replaces them.
 *
 * Tenant file (JSON; see hw-sim/entra-sim/README.md for the full schema):
 *   tenant_id, name, domains[], region, users[], groups[], device_settings{},
 *   conditional_access{}, login{}, intune{} (MDM user scope, enrollment
 *   restrictions, corporate identifiers, device limit).
 * Unknown members are errors (typos must not pass silently), except
 * members starting with "_" (comments).
 */
#ifndef LJ_SIM_TENANT_H
#define LJ_SIM_TENANT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "platform/common/result.h"

enum sim_join_policy { SIM_JOIN_ALL = 0, SIM_JOIN_SELECTED = 1, SIM_JOIN_NONE = 2 };
enum sim_ca_policy { SIM_CA_NONE = 0, SIM_CA_REQUIRE_MFA = 1, SIM_CA_BLOCK = 2 };
/* The grant control of a Conditional Access policy on Microsoft Intune Enrollment. */
enum sim_ca_grant {
    SIM_CAG_NONE = 0,
    SIM_CAG_COMPLIANT = 1,   /* Require device to be marked as compliant: 53000 */
    SIM_CAG_HYBRID = 2,      /* Require Microsoft Entra hybrid joined device: 53001 */
    SIM_CAG_APPROVED_APP = 3 /* Require approved client app: 53002 */
};

#define SIM_MAX_GROUPS 64
#define SIM_MAX_DOMAINS 16
#define SIM_MAX_USERS 10000
#define SIM_MAX_DEVICES 1000000

struct sim_user {
    char *upn;
    char *password; /* secret */
    char *oid;
    char *display_name;
    bool enabled, locked, password_expired, mfa_registered;
    char *groups[SIM_MAX_GROUPS];
    size_t ngroups;
    char *licenses[16];
    size_t nlicenses;
    unsigned long devices; /* device objects this user owns */
};

/* MDM user scope (Entra ID > Mobility (MDM and WIP) > Microsoft Intune). */
enum sim_mdm_scope { SIM_MDM_NONE = 0, SIM_MDM_SOME = 1, SIM_MDM_ALL = 2 };

#define SIM_MAX_CORP_IDS 1000
#define SIM_CORP_PART_MAX 128

/* The tenant's Intune settings (tenant file "intune"). */
struct sim_intune {
    bool configured; /* false: no "intune" object, MDM scope none */
    enum sim_mdm_scope scope;
    char *scope_groups[SIM_MAX_GROUPS];
    size_t nscope_groups;
    bool windows_blocked; /* device platform restriction: Windows (MDM) blocked */
    bool block_personal;  /* ... personally owned Windows devices blocked */
    char **corp_ids;      /* "manufacturer,model,serial", as given */
    size_t ncorp_ids;
    unsigned long device_limit; /* device limit restriction, 1..15 */
    bool policy_service;        /* discovery names EnrollmentPolicyServiceUrl */
    bool enroll_url_crid;       /* EnrollmentServiceUrl carries ?client-request-id= */
    char *mgmt_url;             /* OMA-DM server (APPLICATION ADDR) */
    bool windows_fault_detail;  /* faults name WindowsDeviceEnrollmentServiceError */
    bool require_device_claim;  /* the RST's token must carry deviceid = the DeviceID item */
    bool mdm_claims_in_at;      /* compatibility: MDM URL claims in DRS access tokens too */
    char enroll_host[256];      /* host of the discovery's service URLs (tests: a foreign one) */
};

/* Primary Refresh Token settings (tenant file "prt"). */
struct sim_prt_settings {
    long nonce_lifetime;   /* srv_challenge nonces are valid this many seconds (300) */
    long lifetime;         /* PRT lifetime in seconds (1209600 = 14 days) */
    long not_ready_joined; /* a new device's first N device-authenticated requests: 50155 (0) */
};

struct sim_group {
    char *name;
    char *oid;
};

#define SIM_MAX_APPS 16
#define SIM_MAX_REDIRECTS 16

/* An app registration of the tenant (tenant file "applications"). */
struct sim_app {
    char *client_id; /* GUID, lower case */
    char *name;
    char *redirect_uris[SIM_MAX_REDIRECTS];
    size_t nredirect;
};

struct sim_tenant {
    char *id;
    char *name;
    char *domains[SIM_MAX_DOMAINS];
    size_t ndomains;
    char *region;
    struct sim_user *users;
    size_t nusers, capusers;
    struct sim_group groups[SIM_MAX_GROUPS];
    size_t ngroups;
    /* device settings */
    enum sim_join_policy join;
    char *join_groups[SIM_MAX_GROUPS];
    size_t njoin_groups;
    unsigned long max_devices; /* 0 = unlimited */
    bool require_mfa_to_join;
    /* conditional access on "register or join devices" */
    enum sim_ca_policy ca_join;
    /* a policy on all cloud apps whose Device platforms condition leaves
     * out "any other" platform: an unrecognised User-Agent gets 50005 */
    bool ca_block_unknown_platforms;
    /* a policy on Microsoft Intune Enrollment with this grant control */
    enum sim_ca_grant ca_enrollment;
    /* sign-in settings */
    long dc_expires_in, dc_interval, at_lifetime, rt_lifetime;
    char *verification_uri;
    /* also answer verification_uri_complete (RFC 8628 3.2; Entra sends none) */
    bool verification_uri_complete;
    struct sim_intune intune;
    struct sim_prt_settings prt;
    struct sim_app apps[SIM_MAX_APPS];
    size_t napps;
};

struct sim_device {
    char id[37];
    char owner_oid[37];
    char upn[256];
    char display_name[513];
    char device_type[513];
    char os_version[513];
    int join_type;
    unsigned char key_hash[32]; /* SHA-256 of the CSR's SPKI */
    unsigned char *cert;
    size_t cert_len;
    char thumbprint[41];
    time_t created;
    bool ready; /* false while its certificate is being issued */
    /* The transport key of the join (BCRYPT_RSAPUBLIC_BLOB), for session_key_jwe. */
    unsigned char *tkey;
    size_t tkey_len;
    bool disabled;              /* Entra accountEnabled = false: AADSTS135011 */
    unsigned long auth_pending; /* the next N device-authenticated requests get AADSTS50155 */
};

enum sim_dc_state { SIM_DC_PENDING, SIM_DC_APPROVED, SIM_DC_DECLINED, SIM_DC_REDEEMED };

struct sim_devcode {
    char device_code[128];
    char user_code[16];
    char client_id[64];
    char resource[256];
    char scope[512];
    bool v2;
    time_t created, expires;
    long long last_poll_ms;
    long interval;
    enum sim_dc_state state;
    char user_oid[37];
    bool mfa;
};

struct sim_authcode {
    char code[128];
    char client_id[64];
    char redirect_uri[512];
    char challenge[128];
    char resource[256];
    char scope[512];
    char user_oid[37];
    bool v2, mfa, used;
    time_t expires;
};

struct sim_refresh {
    char token[128];
    char user_oid[37];
    char client_id[64];
    bool mfa, revoked;
    time_t expires;
};

/* An Intune enrollment (one per Entra device; re-enrollment replaces it). */
struct sim_enrollment {
    char id[37];        /* Intune device id = CN of the MDM client certificate */
    char device_id[37]; /* Entra device id (AdditionalContext DeviceID) */
    char user_oid[37];
    char upn[256];
    char manufacturer[SIM_CORP_PART_MAX + 1];
    char model[SIM_CORP_PART_MAX + 1];
    char serial[SIM_CORP_PART_MAX + 1];
    char os_version[64];
    char os_edition[16];
    char device_name[128];
    char hw_dev_id[130];
    char thumbprint[41];
    bool corporate; /* matched a corporate identifier */
    time_t created;
    unsigned long count; /* how many times this device enrolled */
};

struct pki_key;

struct sim_state {
    pthread_mutex_t lock;
    struct sim_tenant *t;
    char *tenant_path;
    char *tenant_text; /* kept for reset */
    size_t tenant_len;
    struct sim_device **dev;
    size_t ndev, capdev;
    struct sim_devcode **dc;
    size_t ndc, capdc;
    struct sim_authcode **ac;
    size_t nac, capac;
    struct sim_refresh **rt;
    size_t nrt, caprt;
    struct sim_enrollment **enr;
    size_t nenr, capenr;
    /* keys (set once at start, read-only afterwards) */
    struct pki_key *token_key;
    char token_kid[64];
    struct pki_key *drs_ca_key;
    unsigned char *drs_ca_der;
    size_t drs_ca_len;
    struct pki_key *wrong_key;                /* lazily made, for the wrong_cert fault */
    struct pki_key *mdm_ca_key;               /* "Microsoft Intune MDM Device CA" (intermediate) */
    unsigned char *mdm_ca_der, *mdm_root_der; /* its certificate and its root's */
    size_t mdm_ca_len, mdm_root_len;
    volatile int stopping;
};

extern struct sim_state g_sim;

/*
 * Parse tenant JSON text.  On success *out is a new tenant (free with
 * tenant_free).  On failure err gets "field 'users[1].upn': must be ..."
 * and LJ_ERR_CONFIG is returned.
 */
enum lj_rc tenant_parse(const char *text, size_t len, struct sim_tenant **out, char *err,
                        size_t errsz);
void tenant_free(struct sim_tenant *t);

/* Partial updates from the control API (same field rules as the file). */
bool tenant_apply_device_settings(struct sim_tenant *t, const cJSON *o, const char *path, char *err,
                                  size_t errsz);
bool tenant_apply_ca(struct sim_tenant *t, const cJSON *o, const char *path, char *err,
                     size_t errsz);
bool tenant_apply_login(struct sim_tenant *t, const cJSON *o, const char *path, char *err,
                        size_t errsz);
/* Add a user (POST /control/users); fails when the UPN exists. */
bool tenant_add_user(struct sim_tenant *t, const cJSON *o, char *err, size_t errsz);
/* Change a user's flags/password/groups (PATCH /control/users/{upn}). */
bool tenant_patch_user(struct sim_tenant *t, struct sim_user *u, const cJSON *o, char *err,
                       size_t errsz);

/*
 * Intune settings: partial update from the tenant file or the control API
 * (PUT /control/intune), with the same field rules.  A successful call marks
 * the tenant as Intune-configured.
 */
bool tenant_apply_intune(struct sim_tenant *t, const cJSON *o, const char *path, char *err,
                         size_t errsz);
/* PRT settings (tenant file "prt", PUT /control/prt): nonce_lifetime_s, lifetime_s,
 * auth_not_ready_after_join. */
bool tenant_apply_prt(struct sim_tenant *t, const cJSON *o, const char *path, char *err,
                      size_t errsz);
/* Device changes from the control API (PATCH /control/devices/{id}): enabled, auth_not_ready. */
bool state_patch_device(struct sim_device *d, const cJSON *o, char *err, size_t errsz);
/* Is u inside the MDM user scope? */
bool tenant_mdm_in_scope(const struct sim_tenant *t, const struct sim_user *u);
/* Does u hold the licences Intune auto-enrollment needs (Intune + Entra ID P1)? */
bool tenant_mdm_licensed(const struct sim_user *u, const char **missing);
/* Is "manufacturer,model,serial" a corporate identifier (case-insensitive)? */
bool tenant_corp_id_match(const struct sim_tenant *t, const char *manufacturer, const char *model,
                          const char *serial);

/* Lookups (lock held).  Domain/id matching is case-insensitive. */
struct sim_user *tenant_user_by_upn(struct sim_tenant *t, const char *upn);
struct sim_user *tenant_user_by_oid(struct sim_tenant *t, const char *oid);
bool tenant_has_domain(const struct sim_tenant *t, const char *domain);
/* true for the tenant id, a verified domain, "common" or "organizations". */
bool tenant_matches_path(const struct sim_tenant *t, const char *seg);
bool tenant_user_in_group(const struct sim_user *u, const char *group);
/* User as JSON without the password (caller deletes). */
cJSON *tenant_user_json(const struct sim_user *u);
cJSON *tenant_settings_json(const struct sim_tenant *t);

/* ---- registry (lock held for all of these) ---- */

/* Drop devices, codes and tokens (reset). */
void state_clear_registry(void);
/* Store a new device (takes ownership of d). */
bool state_add_device(struct sim_device *d);
struct sim_device *state_device_by_id(const char *id);
/* A ready device owned by oid with this key hash, or NULL. */
struct sim_device *state_device_by_key(const char *owner_oid, const unsigned char hash[32]);
/* Remove and free a device; adjusts its owner's count. */
bool state_delete_device(const char *id);
void state_device_free(struct sim_device *d);
cJSON *state_device_json(const struct sim_device *d);

bool state_add_devcode(struct sim_devcode *c);
struct sim_devcode *state_devcode_by_device_code(const char *code);
struct sim_devcode *state_devcode_by_user_code(const char *code);
bool state_add_authcode(struct sim_authcode *c);
struct sim_authcode *state_authcode(const char *code);
bool state_add_refresh(struct sim_refresh *r);
struct sim_refresh *state_refresh(const char *token);
/* Revoke refresh tokens of oid (NULL = all); returns how many. */
size_t state_revoke_refresh(const char *oid, bool expire_only);

/* Enrollments (lock held).  add takes ownership. */
bool state_add_enrollment(struct sim_enrollment *e);
struct sim_enrollment *state_enrollment_by_device(const char *device_id);
/* By Intune id or Entra device id; true when one was removed. */
bool state_delete_enrollment(const char *id);
void state_clear_enrollments(void);
/* Enrollments of a user other than the device exclude_device_id (may be NULL). */
unsigned long state_user_enrollments(const char *user_oid, const char *exclude_device_id);
cJSON *state_enrollment_json(const struct sim_enrollment *e);

/* Load the state directory's keys: token key, DRS CA (see main.c). */
/*
 * May client_id send redirect_uri to the authorize endpoint?  The broker
 * client (29d9ed98-…) has its fixed list (roadtx firstpartyscopes.json: no
 * loopback URI); an app of the tenant file its redirect_uris, where a loopback
 * http://127.0.0.1 / localhost / [::1] URI matches any port (Microsoft Learn,
 * redirect URI restrictions: localhost exceptions); any other client the
 * well-known native-client URIs and loopback (the simulator's leniency).
 * Caller holds g_sim.lock.
 */
bool tenant_redirect_allowed(const struct sim_tenant *t, const char *client_id,
                             const char *redirect_uri);

#endif
