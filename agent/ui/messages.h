/*
 * messages.h — the message catalog: every text the agent shows a person,
 * by stable id, in English (C tables) and in the embedded translations
 * (agent/ui/i18n/LOCALE.json).
 *
 * Ids (a contract with the UIs and translators; never rename one):
 *   reason.<key>, admin.<key>   a failure row's message / admin action
 *                               (agent/core/errors.c, <key> = lj_reason_key)
 *   step.<phase>.<name>         progress steps
 *   prompt.<kind>.<name>        prompt texts
 *   notice.<name>               notices (service busy, recovery)
 *   leaving.<why>               the last line before the agent exits
 *   result.<status>.title       result headlines (and result.<status>.message)
 *   tty.<name>                  the tty renderer's words
 *   screen.<name>               the web screen's own words
 * Placeholders are {name} with name [a-z_]+; every language uses the same
 * set for an id.
 *
 * Locales: the catalog has en (the C tables), de, fr and ja.  A requested
 * BCP 47 tag maps by its primary language (de-DE, de -> de; fr-*, ja-*
 * likewise; anything else -> en).  A translation missing an id falls back
 * to English.
 */
#ifndef LJ_AGENT_UI_MESSAGES_H
#define LJ_AGENT_UI_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/common/result.h"

struct cJSON;

struct lj_msg_entry {
    const char *id;
    const char *text; /* English, UTF-8, may hold {placeholders} */
};

/*
 * The English table of every id that is not reason.* / admin.* (those
 * come from agent/core/errors.c).  Static storage; *n gets the count.
 */
const struct lj_msg_entry *lj_messages_table(size_t *n);

/* English text of any id (reason.* and admin.* included); NULL when unknown. */
const char *lj_msg_en(const char *id);

/* The catalog locales, NULL-terminated: "en", "de", "fr", "ja".  Static. */
const char *const *lj_msg_locales(void);

/*
 * The catalog locale for a requested tag ("de-DE" -> "de", "ja" -> "ja",
 * NULL, "", "pt-BR" -> "en").  Never NULL; static storage.
 */
const char *lj_msg_locale(const char *requested);

/*
 * The text of id in locale (a tag; mapped with lj_msg_locale), English
 * when the translation lacks it; NULL when English lacks the id too.
 * Static storage or storage owned by the parsed translation, valid until
 * the process ends.  The first call for a locale parses its embedded JSON
 * (not thread-safe: call from the flow thread only).
 */
const char *lj_msg(const char *locale, const char *id);

/*
 * The translation's own text of id (no English fallback); NULL when the
 * locale's file lacks it or locale is en.  For the completeness test.
 */
const char *lj_msg_translated(const char *locale, const char *id);

/*
 * Every id the locale's embedded file holds, in file order, as a cJSON
 * object {id: text} (borrowed: do not free or change).  NULL for en or an
 * unparsable file.
 */
const struct cJSON *lj_msg_translation(const char *locale);

/*
 * Expand {name} placeholders in tmpl from args (a cJSON object of strings
 * and numbers; NULL = none).  Numbers are printed as integers when whole.
 * A placeholder args lacks is copied literally.  Returns a malloc'ed
 * string (caller frees) or NULL on ENOMEM.
 */
char *lj_msg_format(const char *tmpl, const struct cJSON *args);

/*
 * lj_msg_format for a text in locale: a number member "wait_minutes" in
 * args stands for {wait} and is put in words of that locale (lj_msg_wait),
 * so a translated sentence never carries English words.
 */
char *lj_msg_format_in(const char *locale, const char *tmpl, const struct cJSON *args);

/*
 * How long to wait, in words of locale (arg.wait.*): minutes <= 0 "a few
 * minutes", 1 "about a minute", up to 119 "about N minutes", then hours
 * rounded up.  malloc'ed (caller frees); NULL on ENOMEM.
 */
char *lj_msg_wait(const char *locale, long minutes);

/* lj_msg + lj_msg_format; NULL when the id is unknown or on ENOMEM. */
char *lj_msg_render(const char *locale, const char *id, const struct cJSON *args);

/*
 * The placeholder names in text, sorted and joined with ',' into out
 * ("host,what"); false when out is too small.
 */
bool lj_msg_placeholders(const char *text, char *out, size_t osz);

/* A progress step: where it stands in the normal run, and what it waits for. */
struct lj_step_info {
    const char *id;          /* "step.mdm.enroll" */
    const char *phase;       /* "mdm" */
    int index;               /* 1-based position in a normal run */
    const char *waiting_for; /* "person" | "service" | "tpm" | "device" */
};

/* The step with this id; NULL when unknown.  Static storage. */
const struct lj_step_info *lj_step_get(const char *step_id);

/* The number of positions in a normal run (the "count" of progress). */
int lj_step_count(void);

/*
 * The whole catalog of a locale as one flat JSON object {id: text}:
 * reason.*, admin.*, then the table, each in the locale with English
 * fallback.  *out is malloc'ed (cJSON_Print form when pretty, else one
 * line); caller frees.
 */
enum lj_rc lj_messages_catalog_json(const char *locale, bool pretty, char **out);

#endif
