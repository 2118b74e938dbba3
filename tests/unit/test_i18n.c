/*
 * Unit tests for agent/ui/messages.c and agent/ui/i18n.c: the id grammar,
 * one key per failure row, the step table, locale matching, placeholder
 * expansion, and the translations against English: every English id in
 * every language (test_every_id_translated), no id English lacks, the same
 * placeholders.  test_every_id_translated fails until de/fr/ja are
 * complete; it names each missing id.  test_reason_texts_end_with_an_action:
 * every failure text for the person ends with an action, in every language.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/core/errors.h"
#include "agent/core/json.h"
#include "agent/ui/messages.h"

/* Every English id: reason.*, admin.*, then the table. */
static char **
all_ids(size_t *n)
{
    size_t tn, k = 0;
    const struct lj_msg_entry *t = lj_messages_table(&tn);
    char **ids = calloc(2 * LJ_R_COUNT__ + tn, sizeof(*ids));

    assert_non_null(ids);
    for (int r = 0; r < LJ_R_COUNT__; r++) {
        char buf[96];

        snprintf(buf, sizeof(buf), "reason.%s", lj_reason_key((enum lj_reason)r));
        ids[k++] = strdup(buf);
        snprintf(buf, sizeof(buf), "admin.%s", lj_reason_key((enum lj_reason)r));
        ids[k++] = strdup(buf);
    }
    for (size_t i = 0; i < tn; i++)
        ids[k++] = strdup(t[i].id);
    *n = k;
    return ids;
}

static void
free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static void
test_reason_keys(void **state)
{
    (void)state;
    for (int r = 0; r < LJ_R_COUNT__; r++) {
        const char *k = lj_reason_key((enum lj_reason)r);

        assert_non_null(k);
        for (const char *s = k; *s; s++)
            if (!islower((unsigned char)*s) && *s != '_')
                fail_msg("key %s: not [a-z_]", k);
        for (int q = 0; q < r; q++)
            if (strcmp(k, lj_reason_key((enum lj_reason)q)) == 0)
                fail_msg("key %s used twice", k);
    }
    assert_string_equal(lj_reason_key(LJ_R_NETWORK_DNS), "network_dns");
    assert_string_equal(lj_reason_key(LJ_R_JOIN_NOT_PERMITTED_GROUP), "join_not_permitted_group");
    assert_string_equal(lj_reason_key(LJ_R_CA_PLATFORM), "ca_platform");
    assert_null(lj_reason_key(LJ_R_COUNT__));
}

static bool
id_well_formed(const char *id)
{
    static const char *const prefixes[] = {"reason.",  "admin.",  "step.", "prompt.", "notice.",
                                           "leaving.", "result.", "tty.",  "screen.", "arg."};
    bool known = false;

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        known = known || strncmp(id, prefixes[i], strlen(prefixes[i])) == 0;
    for (const char *s = id; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_' && *s != '.')
            return false;
    return known && id[strlen(id) - 1] != '.';
}

static void
test_ids_unique_and_well_formed(void **state)
{
    size_t n;
    char **ids = all_ids(&n);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        if (!id_well_formed(ids[i]))
            fail_msg("id %s is not well formed", ids[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ids[i], ids[j]) == 0)
                fail_msg("id %s twice", ids[i]);
        assert_non_null(lj_msg_en(ids[i]));
        assert_true(strlen(lj_msg_en(ids[i])) > 0);
    }
    assert_null(lj_msg_en("step.nope"));
    assert_null(lj_msg_en("reason.nope"));
    free_ids(ids, n);
}

static void
test_steps(void **state)
{
    size_t tn;
    const struct lj_msg_entry *t = lj_messages_table(&tn);
    const struct lj_step_info *s;

    (void)state;
    /* every step.* text has a position and a waiting_for, and the reverse */
    for (size_t i = 0; i < tn; i++) {
        if (strncmp(t[i].id, "step.", 5) != 0)
            continue;
        s = lj_step_get(t[i].id);
        if (s == NULL)
            fail_msg("step %s has no position", t[i].id);
        assert_true(s->index >= 1 && s->index <= lj_step_count());
        assert_true(strncmp(t[i].id + 5, s->phase, strlen(s->phase)) == 0);
        assert_true(strcmp(s->waiting_for, "person") == 0 ||
                    strcmp(s->waiting_for, "service") == 0 || strcmp(s->waiting_for, "tpm") == 0 ||
                    strcmp(s->waiting_for, "device") == 0);
    }
    s = lj_step_get("step.mdm.enroll");
    assert_non_null(s);
    assert_int_equal(s->index, 12);
    assert_string_equal(s->waiting_for, "service");
    assert_string_equal(lj_step_get("step.signin.wait")->waiting_for, "person");
    assert_string_equal(lj_step_get("step.keys.prepare")->waiting_for, "tpm");
    assert_int_equal(lj_step_get("step.done.enrolled")->index, lj_step_count());
    assert_null(lj_step_get("step.nope"));
}

static void
test_locale_matching(void **state)
{
    (void)state;
    assert_string_equal(lj_msg_locale("de-DE"), "de");
    assert_string_equal(lj_msg_locale("de"), "de");
    assert_string_equal(lj_msg_locale("DE-at"), "de");
    assert_string_equal(lj_msg_locale("fr-CA"), "fr");
    assert_string_equal(lj_msg_locale("ja-JP"), "ja");
    assert_string_equal(lj_msg_locale("ja_JP.UTF-8"), "ja");
    assert_string_equal(lj_msg_locale("en-US"), "en");
    assert_string_equal(lj_msg_locale("pt-BR"), "en");
    assert_string_equal(lj_msg_locale("dex"), "en");
    assert_string_equal(lj_msg_locale(""), "en");
    assert_string_equal(lj_msg_locale(NULL), "en");
    /* English, and English fallback for anything a language lacks */
    assert_string_equal(lj_msg("en", "screen.cancel"), "Cancel");
    assert_string_equal(lj_msg("pt-BR", "screen.cancel"), "Cancel");
    assert_non_null(lj_msg("de-DE", "screen.cancel"));
    assert_null(lj_msg("de", "screen.nope"));
    assert_null(lj_msg_translated("en", "screen.cancel"));
}

static void
test_format(void **state)
{
    cJSON *args = cJSON_CreateObject();
    char *s;
    char ph[128];

    (void)state;
    assert_non_null(args);
    cJSON_AddStringToObject(args, "url", "https://microsoft.com/devicelogin");
    cJSON_AddNumberToObject(args, "code", 1234);
    cJSON_AddNumberToObject(args, "seconds", 2.5);
    s = lj_msg_format("go to {url} and enter {code}; {missing} {Not} {a-b} {} { in {seconds}",
                      args);
    assert_string_equal(s, "go to https://microsoft.com/devicelogin and enter 1234; {missing} "
                           "{Not} {a-b} {} { in 2.5");
    free(s);
    s = lj_msg_render("en", "notice.service_busy", args);
    assert_string_equal(s, "The service is busy; trying again in 2.5 seconds.");
    free(s);
    assert_null(lj_msg_render("en", "notice.nope", args));
    cJSON_Delete(args);
    assert_true(lj_msg_placeholders("{b} {a} {b} {Nope} {c_d}", ph, sizeof(ph)));
    assert_string_equal(ph, "a,b,c_d");
    assert_true(lj_msg_placeholders("none", ph, sizeof(ph)));
    assert_string_equal(ph, "");
    assert_false(lj_msg_placeholders("{abcdef}", ph, 4));
}

static void
test_catalog_json(void **state)
{
    char *out = NULL;
    cJSON *o;
    size_t n;
    char **ids = all_ids(&n);

    (void)state;
    assert_int_equal(lj_messages_catalog_json("en", false, &out), LJ_OK);
    o = cJSON_Parse(out);
    assert_non_null(o);
    assert_int_equal((size_t)cJSON_GetArraySize(o), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, ids[i])->valuestring,
                            lj_msg_en(ids[i]));
    cJSON_Delete(o);
    free(out);
    /* another locale: the same ids */
    assert_int_equal(lj_messages_catalog_json("ja-JP", true, &out), LJ_OK);
    o = cJSON_Parse(out);
    assert_non_null(o);
    assert_int_equal((size_t)cJSON_GetArraySize(o), n);
    cJSON_Delete(o);
    free(out);
    free_ids(ids, n);
}

/* Every file is one flat object of non-empty strings, ids English knows. */
static void
test_translations_no_unknown_ids(void **state)
{
    const char *const *loc = lj_msg_locales();
    int bad = 0;

    (void)state;
    for (; *loc != NULL; loc++) {
        const cJSON *tr, *it;

        if (strcmp(*loc, "en") == 0)
            continue;
        tr = lj_msg_translation(*loc);
        if (tr == NULL) {
            print_error("%s.json does not parse as one JSON object\n", *loc);
            bad++;
            continue;
        }
        cJSON_ArrayForEach(it, tr)
        {
            if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
                print_error("%s.json: %s is not a non-empty string\n", *loc, it->string);
                bad++;
            } else if (lj_msg_en(it->string) == NULL) {
                print_error("%s.json: %s is not an English id\n", *loc, it->string);
                bad++;
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* The same placeholders in every language (where a translation exists). */
static void
test_translations_same_placeholders(void **state)
{
    size_t n;
    char **ids = all_ids(&n);
    int bad = 0;

    (void)state;
    for (const char *const *loc = lj_msg_locales(); *loc != NULL; loc++) {
        for (size_t i = 0; i < n; i++) {
            const char *t = lj_msg_translated(*loc, ids[i]);
            char pe[256], pt[256];

            if (t == NULL)
                continue;
            assert_true(lj_msg_placeholders(lj_msg_en(ids[i]), pe, sizeof(pe)));
            if (!lj_msg_placeholders(t, pt, sizeof(pt)) || strcmp(pe, pt) != 0) {
                print_error("%s: %s has placeholders {%s}, English {%s}\n", *loc, ids[i], pt, pe);
                bad++;
            }
        }
    }
    free_ids(ids, n);
    assert_int_equal(bad, 0);
}

/*
 * Completeness: every English id in every language.  Fails (naming the
 * first missing ids and the count) while a translation is incomplete.
 */
static void
test_every_id_translated(void **state)
{
    size_t n;
    char **ids = all_ids(&n);
    int missing = 0;

    (void)state;
    for (const char *const *loc = lj_msg_locales(); *loc != NULL; loc++) {
        int here = 0;

        if (strcmp(*loc, "en") == 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (lj_msg_translated(*loc, ids[i]) != NULL)
                continue;
            if (here < 5)
                print_error("%s.json lacks %s\n", *loc, ids[i]);
            here++;
        }
        if (here > 0)
            print_error("%s.json lacks %d of %zu ids\n", *loc, here, n);
        missing += here;
    }
    free_ids(ids, n);
    assert_int_equal(missing, 0);
}

/*
 * {wait} reaches a translated sentence in that language's words: the
 * result's args carry wait_minutes beside the English phrase.
 */
static void
test_wait_in_words_of_the_locale(void **state)
{
    static const struct {
        const char *loc;
        long min;
        const char *want;
    } cases[] = {
        {"en", 0, "a few minutes"},
        {"en", 1, "about a minute"},
        {"en", 17, "about 17 minutes"},
        {"en", 150, "about 3 hours"},
        {"de", 17, "etwa 17 Minuten"},
        {"fr", 17, "environ 17 minutes"},
        {"ja", 17, "\xe7\xb4\x84 17 \xe5\x88\x86"},
        {"de", 0, "einigen Minuten"},
    };
    cJSON *args = cJSON_CreateObject();
    char *s;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s = lj_msg_wait(cases[i].loc, cases[i].min);
        assert_non_null(s);
        assert_string_equal(s, cases[i].want);
        free(s);
    }
    assert_non_null(args);
    assert_non_null(cJSON_AddStringToObject(args, "wait", "about 17 minutes"));
    assert_non_null(cJSON_AddNumberToObject(args, "wait_minutes", 17));
    s = lj_msg_format_in("de", lj_msg("de", "reason.tpm_locked"), args);
    assert_non_null(s);
    assert_non_null(strstr(s, "in etwa 17 Minuten erneut"));
    assert_null(strstr(s, "about"));
    free(s);
    /* without wait_minutes the value is used as given (English clients, v1 events) */
    cJSON_DeleteItemFromObject(args, "wait_minutes");
    s = lj_msg_format_in("de", "{wait}", args);
    assert_string_equal(s, "about 17 minutes");
    free(s);
    cJSON_Delete(args);
}

/*
 * Every failure text for the person ends with something the person can do
 * (the UX review: "end every user message with one action sentence").
 * The action phrases are the catalog's own wording in each language; a text
 * passes when the last action phrase in it lies in its last sentence
 * (English: its last clause, after "; "), when that action is the same one
 * in every language, and when it fits what the screen shows beside the
 * text: fix_by admin/support -> "Contact your IT admin", hardware -> "Restart
 * the device to try again", user/retry -> the Try again button
 * (agent/ui/ui_proto.c add_next_action).  A new reason needs a text ending
 * in one of these actions, or a new action here in all four languages.
 */
enum action {
    ACT_DETAILS,       /* give your IT admin the details below */
    ACT_CONTACT,       /* contact your IT admin */
    ACT_ASK_ADMIN,     /* ask your IT admin to ... */
    ACT_OTHER_ACCOUNT, /* sign in with another account */
    ACT_SIGN_IN_AGAIN,
    ACT_START_AGAIN,
    ACT_RETRY,
    ACT_RESTART,
    ACT_RESET,
    ACT_LEAVE_ON, /* leave the device switched on */
    ACT_NONE,
};

static const struct {
    enum action act;
    const char *loc, *phrase;
} action_phrases[] = {
    {ACT_DETAILS, "en", "give your IT admin the details below"},
    {ACT_DETAILS, "de", "geben Sie die Details unten an Ihren IT-Administrator weiter"},
    {ACT_DETAILS, "fr", "transmettez les détails ci-dessous à votre administrateur informatique"},
    {ACT_DETAILS, "ja", "下の詳細情報を IT 管理者に伝えてください"},
    {ACT_CONTACT, "en", "contact your IT admin"},
    {ACT_CONTACT, "de", "wenden Sie sich an Ihren IT-Administrator"},
    {ACT_CONTACT, "fr", "contactez votre administrateur informatique"},
    {ACT_CONTACT, "ja", "IT 管理者にお問い合わせください"},
    {ACT_ASK_ADMIN, "en", "ask your IT admin to"},
    {ACT_ASK_ADMIN, "de", "bitten Sie Ihren IT-Administrator"},
    {ACT_ASK_ADMIN, "fr", "demandez à votre administrateur informatique"},
    {ACT_ASK_ADMIN, "ja", "を依頼してください"},
    {ACT_OTHER_ACCOUNT, "en", "sign in with another account"},
    {ACT_OTHER_ACCOUNT, "de", "melden Sie sich mit einem anderen Konto an"},
    {ACT_OTHER_ACCOUNT, "fr", "connectez-vous avec un autre compte"},
    {ACT_OTHER_ACCOUNT, "ja", "別のアカウントでサインイン"},
    {ACT_SIGN_IN_AGAIN, "en", "sign in again"},
    {ACT_SIGN_IN_AGAIN, "en", "sign in once more"},
    {ACT_SIGN_IN_AGAIN, "de", "melden Sie sich"},
    {ACT_SIGN_IN_AGAIN, "fr", "reconnectez-vous"},
    {ACT_SIGN_IN_AGAIN, "ja", "もう一度サインインしてください"},
    {ACT_START_AGAIN, "en", "start again"},
    {ACT_START_AGAIN, "de", "starten Sie"},
    {ACT_START_AGAIN, "fr", "recommencez"},
    {ACT_START_AGAIN, "ja", "やり直して"},
    {ACT_RETRY, "en", "try again"},
    {ACT_RETRY, "de", "versuchen Sie es"},
    {ACT_RETRY, "fr", "réessayez"},
    {ACT_RETRY, "ja", "もう一度お試しください"},
    {ACT_RESTART, "en", "restart the device"},
    {ACT_RESTART, "de", "starten Sie das Gerät neu"},
    {ACT_RESTART, "fr", "redémarrez l'appareil"},
    {ACT_RESTART, "ja", "デバイスを再起動"},
    {ACT_RESET, "en", "reset the device"},
    {ACT_RESET, "de", "setzen Sie das Gerät zurück"},
    {ACT_RESET, "fr", "réinitialisez l'appareil"},
    {ACT_RESET, "ja", "リセットしてください"},
    {ACT_LEAVE_ON, "en", "leave the device switched on"},
    {ACT_LEAVE_ON, "de", "lassen Sie das Gerät eingeschaltet"},
    {ACT_LEAVE_ON, "fr", "laissez l'appareil allumé"},
    {ACT_LEAVE_ON, "ja", "電源を入れたまま"},
};

/* ASCII letters without case (a sentence may start with the phrase); other bytes as they are */
static int
fold(char c)
{
    return (unsigned char)c < 0x80 ? tolower((unsigned char)c) : (unsigned char)c;
}

static const char *
find_nocase(const char *h, const char *n)
{
    size_t nl = strlen(n);

    for (; *h != '\0'; h++) {
        size_t i = 0;

        while (i < nl && h[i] != '\0' && fold(h[i]) == fold(n[i]))
            i++;
        if (i == nl)
            return h;
    }
    return NULL;
}

/*
 * The action a text ends with: the last action phrase in it (at the same
 * place the longer phrase: "Starten Sie das Gerät neu" is a restart), or
 * ACT_NONE when none stands in its last sentence.
 */
static enum action
final_action(const char *loc, const char *text)
{
    static const char *const stops[] = {". ", "; ", "\xe3\x80\x82" /* 。 */};
    size_t len = strlen(text), last_start = 0, best_pos = 0, best_len = 0;
    enum action best = ACT_NONE;

    for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
        for (const char *p = strstr(text, stops[i]); p != NULL; p = strstr(p + 1, stops[i])) {
            size_t end = (size_t)(p - text) + strlen(stops[i]);

            if (end < len && end > last_start)
                last_start = end;
        }
    for (size_t i = 0; i < sizeof(action_phrases) / sizeof(action_phrases[0]); i++) {
        size_t pl = strlen(action_phrases[i].phrase);

        if (strcmp(action_phrases[i].loc, loc) != 0)
            continue;
        for (const char *p = find_nocase(text, action_phrases[i].phrase); p != NULL;
             p = find_nocase(p + 1, action_phrases[i].phrase)) {
            size_t pos = (size_t)(p - text);

            if (best == ACT_NONE || pos > best_pos || (pos == best_pos && pl > best_len)) {
                best = action_phrases[i].act;
                best_pos = pos;
                best_len = pl;
            }
        }
    }
    return best != ACT_NONE && best_pos >= last_start ? best : ACT_NONE;
}

/* The action fits what the screen adds for the row's fix_by. */
static bool
action_fits(const struct lj_reason_info *r, enum action a)
{
    switch (r->fix_by) {
    case LJ_FIX_ADMIN:
    case LJ_FIX_SUPPORT: /* "Contact your IT admin" */
        return a == ACT_DETAILS || a == ACT_CONTACT || a == ACT_ASK_ADMIN ||
               (r->retryable && a == ACT_RETRY);
    case LJ_FIX_HARDWARE: /* "Restart the device to try again" */
        return a == ACT_RESTART || a == ACT_CONTACT;
    case LJ_FIX_RETRY:
        return a == ACT_RETRY || a == ACT_START_AGAIN || a == ACT_SIGN_IN_AGAIN ||
               a == ACT_LEAVE_ON;
    case LJ_FIX_USER: /* Try again */
        return a == ACT_RETRY || a == ACT_START_AGAIN || a == ACT_SIGN_IN_AGAIN;
    case LJ_FIX_COUNT__: break;
    }
    return false;
}

static void
test_reason_texts_end_with_an_action(void **state)
{
    /* what the review found: a statement, a hint for the admin, a maybe; an action too early */
    static const struct {
        const char *loc, *text;
    } none[] = {
        {"en", "A Conditional Access policy of your organization blocked this sign-in."},
        {"en", "Microsoft's sign-in service refused the sign-in for a reason this device does not "
               "recognize; your IT admin can look it up with the details below."},
        {"en", "The setup program on this device hit an unexpected error; restarting the device "
               "and starting again may help."},
        {"en", "Give your IT admin the details below; the policy blocked this sign-in."},
        {"de", "Eine Richtlinie für bedingten Zugriff Ihrer Organisation hat diese Anmeldung "
               "blockiert."},
        {"de", "Der Microsoft-Anmeldedienst hat die Anmeldung abgelehnt. Ihr IT-Administrator "
               "kann den Grund anhand der Details unten ermitteln."},
        {"fr", "Une stratégie d'accès conditionnel de votre organisation a bloqué cette "
               "connexion."},
        {"ja", "組織の条件付きアクセス ポリシーによって、このサインインはブロックされました。"},
        {"ja", "下の詳細情報を IT 管理者に伝えてください。このサインインはブロックされました。"},
    };
    int bad = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        if (final_action(none[i].loc, none[i].text) != ACT_NONE)
            fail_msg("%s: an action found in: %s", none[i].loc, none[i].text);
    assert_int_equal(final_action("de", "Starten Sie das Gerät neu."), ACT_RESTART);
    assert_int_equal(final_action("en", "It failed; sign in with another account, or give your "
                                        "IT admin the details below."),
                     ACT_DETAILS);
    for (int r = 0; r < LJ_R_COUNT__; r++) {
        const struct lj_reason_info *info = lj_reason_get((enum lj_reason)r);
        char id[96];
        enum action en;

        snprintf(id, sizeof(id), "reason.%s", lj_reason_key((enum lj_reason)r));
        en = final_action("en", lj_msg_en(id));
        if (en == ACT_NONE) {
            print_error("en: %s does not end with an action: %s\n", id, lj_msg_en(id));
            bad++;
            continue;
        }
        if (!action_fits(info, en)) {
            print_error("en: %s ends with an action that does not fit fix_by %s: %s\n", id,
                        lj_fix_by_name(info->fix_by), lj_msg_en(id));
            bad++;
        }
        for (const char *const *loc = lj_msg_locales(); *loc != NULL; loc++) {
            const char *t = lj_msg_translated(*loc, id);

            if (strcmp(*loc, "en") == 0 || t == NULL)
                continue;
            if (final_action(*loc, t) != en) {
                print_error("%s: %s does not end with the English text's action: %s\n", *loc, id,
                            t);
                bad++;
            }
        }
    }
    assert_int_equal(bad, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_keys),
        cmocka_unit_test(test_ids_unique_and_well_formed),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_locale_matching),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_catalog_json),
        cmocka_unit_test(test_translations_no_unknown_ids),
        cmocka_unit_test(test_translations_same_placeholders),
        cmocka_unit_test(test_every_id_translated),
        cmocka_unit_test(test_wait_in_words_of_the_locale),
        cmocka_unit_test(test_reason_texts_end_with_an_action),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
