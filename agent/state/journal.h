/*
 * journal.h — the crash-safe record of how far the join got.
 *
 * One JSON file, STATE_DIR/journal.json (0600, directory 0700), rewritten
 * atomically after every step (platform/fsutil: temp file, fsync, rename,
 * fsync dir), so after power loss it holds the old or the new step.  The
 * device certificate is its own file, STATE_DIR/device-cert.der (0600); the
 * Intune (MDM) client certificate is STATE_DIR/mdm-cert.der and its issuer
 * chain STATE_DIR/mdm-chain.pem (both 0600, written before the journal says
 * mdm_enrolled).
 * Secrets are never journaled: no tokens, codes or passwords ("signed_in"
 * records only that sign-in finished and who signed in).
 *
 * States, in order:  new -> keys_ready -> signed_in -> join_sent -> joined
 *                    -> mdm_pending | mdm_enrolled
 * join_sent is written BEFORE the join request goes out, with the device
 * key's fingerprint (join_fingerprint = lower-case hex SHA-256 of the
 * device public key's DER SubjectPublicKeyInfo) and the request's
 * client-request-id; a run that finds join_sent retries with the same key
 * and ReuseDevice, so a lost response never makes a second device object.
 *
 * File format (version 1):
 *   {"version":1,"state":"joined","device_id":"...","tenant_id":"...",
 *    "tenant_name":"...","upn":"...","cert_thumbprint":"...",
 *    "join_fingerprint":"...","join_request_id":"...","join_attempts":1,
 *    "mdm_enrollment_id":"...","mdm_server_url":"https://...",
 *    "mdm_cert_thumbprint":"...","mdm_attempts":2,
 *    "times":{"new":1764177000,"keys_ready":...,"updated":...},
 *    "last_error":{"phase":"join","reason":"device_quota_reached",
 *      "code":"0x801c000e","http_status":400,"error_type":"...",
 *      "error_code":"...","message":"...","request_id":"...",
 *      "trace_id":"...","correlation_id":"...","server_time":"...",
 *      "time":1764177100,"rc":"http_error"}}
 * Unknown members are ignored (forward compatible within a version); a
 * higher "version" is never guessed at.
 */
#ifndef LJ_AGENT_JOURNAL_H
#define LJ_AGENT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/core/errors.h"
#include "platform/common/result.h"

#define LJ_JOURNAL_VERSION 1
#define LJ_JOURNAL_FILE "journal.json"
#define LJ_JOURNAL_CERT_FILE "device-cert.der"
#define LJ_JOURNAL_MDM_CERT_FILE "mdm-cert.der"
#define LJ_JOURNAL_MDM_CHAIN_FILE "mdm-chain.pem"
#define LJ_JOURNAL_MAX_CHAIN (128 * 1024)
#define LJ_JOURNAL_MAX_BYTES (64 * 1024)
#define LJ_JOURNAL_MAX_CERT (16 * 1024)

enum lj_journal_state {
    LJ_JS_NEW = 0,
    LJ_JS_KEYS_READY = 1,
    LJ_JS_SIGNED_IN = 2,
    LJ_JS_JOIN_SENT = 3,
    LJ_JS_JOINED = 4,
    LJ_JS_MDM_PENDING = 5,
    LJ_JS_MDM_ENROLLED = 6,
    LJ_JS_COUNT__
};

/* Plain data: copy freely, nothing to free. Strings "" = unset. */
struct lj_journal {
    int version;
    enum lj_journal_state state;
    char device_id[40];
    char tenant_id[40];
    char tenant_name[128];
    char upn[256];
    char cert_thumbprint[72];  /* hex as the flow computes it (SHA-1: 40 chars) */
    char join_fingerprint[72]; /* hex SHA-256 of the device public key */
    char join_request_id[40];  /* client-request-id of the last join POST */
    int join_attempts;
    char mdm_enrollment_id[64];   /* Intune device id (CN of the MDM certificate) */
    char mdm_server_url[1024];    /* management server (provisioning document ADDR) */
    char mdm_cert_thumbprint[48]; /* upper-case hex SHA-1 of mdm-cert.der */
    int mdm_attempts;             /* enrollment attempts made (all runs) */
    /*
     * The Primary Refresh Token (sealed as prt.sealed, its session key in
     * the TPM): when it was issued or last renewed and when it expires, in
     * seconds since the epoch; 0 = none.  No secret: what `status` shows.
     */
    int64_t prt_updated;
    int64_t prt_expires;
    int64_t times[LJ_JS_COUNT__]; /* when each state was reached; 0 = not yet */
    int64_t updated;              /* last save */
    bool has_error;
    struct lj_error_record last_error;
};

/* What load found wrong with an existing journal (moved aside, never deleted). */
struct lj_journal_report {
    bool moved_aside;
    char aside_path[512]; /* where the old file went */
    char reason[160]; /* "truncated or malformed JSON (...)", "written by a newer version (2)" */
};

/* Names for states ("keys_ready"); never NULL. Parse returns false on unknown names. */
const char *lj_journal_state_name(enum lj_journal_state s);
bool lj_journal_state_parse(const char *name, enum lj_journal_state *out);

/* A fresh journal: version 1, state new, times[new] = now. */
void lj_journal_init(struct lj_journal *j);

/*
 * Load STATE_DIR/journal.json into *j.  A missing file gives a fresh
 * journal.  A file that is truncated, malformed, too large, inconsistent
 * or from a newer version is renamed aside (journal.json.bad-TIME) and
 * reported in *rep (rep->moved_aside, reason, aside_path); *j is then
 * fresh and the result is still LJ_OK, so the caller continues from what
 * it can prove (keys, certificate) and tells the UI.  Errors: LJ_ERR_IO
 * when the file can't be read or moved aside.  Blocks on the file system.
 */
enum lj_rc lj_journal_load(const char *state_dir, struct lj_journal *j,
                           struct lj_journal_report *rep);

/*
 * Write *j atomically (creating state_dir 0700 if needed, file 0600);
 * sets j->updated.  Blocks (fsync).  LJ_ERR_IO / LJ_ERR_NOMEM on failure;
 * the old file is then intact.
 */
enum lj_rc lj_journal_save(const char *state_dir, struct lj_journal *j);

/*
 * lj_journal_save without fsync (lj_fs_write_volatile): for a step whose
 * record only has to outlive the process, because the next durable save
 * comes before anything leaves the device (keys_ready: join_sent is saved
 * with fsync before the join request).  After a power loss the file holds
 * this record or the one before it, both states lj_recover resumes from.
 * Same errors as lj_journal_save; blocks on the file system (no disk wait).
 */
enum lj_rc lj_journal_save_volatile(const char *state_dir, struct lj_journal *j);

/* Move to state s and stamp times[s] = now (memory only; call save). */
void lj_journal_set_state(struct lj_journal *j, enum lj_journal_state s);

/* Record / clear the last error (memory only; call save).  rec->time 0 = now. */
void lj_journal_set_error(struct lj_journal *j, const struct lj_error_record *rec);
void lj_journal_clear_error(struct lj_journal *j);

/* Serialize to JSON text (what save writes).  Caller frees with free(); NULL on ENOMEM. */
char *lj_journal_to_json(const struct lj_journal *j);

/*
 * Parse journal text.  LJ_OK, LJ_ERR_PARSE (malformed/inconsistent) or
 * LJ_ERR_UNSUPPORTED (newer version); why (optional) says what.  *j is
 * written only on LJ_OK.  Does not touch files.
 */
enum lj_rc lj_journal_from_json(const char *text, size_t len, struct lj_journal *j, char *why,
                                size_t wsz);

/*
 * Device certificate (DER) as its own 0600 file, atomically, its content
 * fsync'ed but not its directory (lj_fs_write_ordered): the journal save
 * that says joined, next in the same directory, makes the rename durable.
 * Until then a power loss leaves join_sent with or without the
 * certificate, which lj_recover turns into joined (the certificate proves
 * it) or a join retried with the same key.  Blocks (one fsync).
 */
enum lj_rc lj_journal_save_cert(const char *state_dir, const unsigned char *der, size_t len);

/*
 * Read the device certificate: *der malloc'ed (caller frees with free()).
 * LJ_ERR_NOT_FOUND when absent, LJ_ERR_TOO_BIG over LJ_JOURNAL_MAX_CERT.
 */
enum lj_rc lj_journal_load_cert(const char *state_dir, unsigned char **der, size_t *len);

/*
 * The Intune client certificate (DER, mdm-cert.der) and its chain (PEM
 * bundle of the DER certificates chain[0..n-1], mdm-chain.pem), each 0600,
 * atomically.  LJ_ERR_INVAL for sizes over LJ_JOURNAL_MAX_CERT /
 * LJ_JOURNAL_MAX_CHAIN.  Blocks.
 */
enum lj_rc lj_journal_save_mdm(const char *state_dir, const unsigned char *cert, size_t cert_len,
                               const unsigned char *const *chain, const size_t *chain_len,
                               size_t n);

/* Remove mdm-cert.der and mdm-chain.pem (missing is fine).  Blocks. */
enum lj_rc lj_journal_remove_mdm(const char *state_dir);

/* Remove the journal and the certificates, device and MDM (leave/reset); missing is fine. */
enum lj_rc lj_journal_remove(const char *state_dir);

#endif
