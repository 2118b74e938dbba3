/*
 * i18n.c — the embedded translations (agent/ui/i18n/LOCALE.json, turned
 * into byte arrays by `xxd -i` at build time) and the locale lookups of
 * messages.h.
 *
 * Design note: each file is parsed once, on first use, and kept for the
 * life of the process; a file that does not parse (or is not one flat
 * object of strings) counts as empty, so the agent falls back to English
 * instead of failing: the unit test (tests/unit/test_i18n.c) is what
 * catches a broken file.
 */
#include "agent/ui/messages.h"

#include <string.h>
#include <strings.h>

#include "agent/core/json.h"
#include "agent/ui/i18n_data.h" /* generated: de_json[], de_json_len, ... */
#include "platform/common/log.h"

#define MOD "ui"

/* The translation files are data we ship; this cap is a sanity bound only. */
#define I18N_MAX_BYTES (1024 * 1024)

struct lang {
    const char *name;
    const unsigned char *data;
    const unsigned int *len;
    bool loaded;
    cJSON *root; /* NULL: unusable (fallback to English) */
};

static struct lang langs[] = {
    {"de", de_json, &de_json_len, false, NULL},
    {"fr", fr_json, &fr_json_len, false, NULL},
    {"ja", ja_json, &ja_json_len, false, NULL},
};

static const char *const locale_names[] = {"en", "de", "fr", "ja", NULL};

const char *const *
lj_msg_locales(void)
{
    return locale_names;
}

const char *
lj_msg_locale(const char *requested)
{
    size_t n;

    if (requested == NULL)
        return "en";
    /* the primary language subtag (BCP 47): up to '-' or '_' (POSIX de_DE.UTF-8) */
    n = strcspn(requested, "-_.@");
    for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
        if (n == strlen(langs[i].name) && strncasecmp(requested, langs[i].name, n) == 0)
            return langs[i].name;
    return "en";
}

static struct lang *
lang_get(const char *locale)
{
    const char *name = lj_msg_locale(locale);
    struct lang *l = NULL;
    cJSON *root = NULL;

    for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
        if (strcmp(langs[i].name, name) == 0)
            l = &langs[i];
    if (l == NULL || l->loaded)
        return l;
    l->loaded = true;
    if (*l->len > I18N_MAX_BYTES ||
        lj_json_parse((const char *)l->data, *l->len, 2, &root) != LJ_OK) {
        lj_log(LJ_LOG_WARN, MOD, "event=i18n_unusable locale=%s problem=\"%s\"", l->name,
               lj_json_problem());
        return l;
    }
    if (!cJSON_IsObject(root)) {
        lj_log(LJ_LOG_WARN, MOD, "event=i18n_unusable locale=%s problem=\"not an object\"",
               l->name);
        cJSON_Delete(root);
        return l;
    }
    l->root = root;
    return l;
}

const struct cJSON *
lj_msg_translation(const char *locale)
{
    struct lang *l = lang_get(locale);

    return l != NULL ? l->root : NULL;
}

const char *
lj_msg_translated(const char *locale, const char *id)
{
    struct lang *l = lang_get(locale);
    const cJSON *v;

    if (l == NULL || l->root == NULL || id == NULL)
        return NULL;
    v = cJSON_GetObjectItemCaseSensitive(l->root, id);
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

const char *
lj_msg(const char *locale, const char *id)
{
    const char *en = lj_msg_en(id), *t;

    if (en == NULL)
        return NULL;
    t = lj_msg_translated(locale, id);
    return t != NULL ? t : en;
}
