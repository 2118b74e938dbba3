/*
 * cmd_messages.c — `linkjoin messages [--locale L] [--json]` (hidden): the
 * whole message catalog of a locale (agent/ui/messages.h), English from the
 * C tables, others from the embedded translations with English fallback.
 *   --json     one flat JSON object {"<id>": "<text>", ...} (the web
 *              screen's build/oobe/i18n/LOCALE.json, the translators' source)
 *   (default)  one "<id>\t<text>" line per id
 * --locale takes a BCP 47 tag (de-DE) or a catalog name (de); anything the
 * catalog lacks is English.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli/cmd.h"
#include "agent/core/exitcodes.h"
#include "agent/core/json.h"
#include "agent/ui/messages.h"

static void
messages_usage(FILE *f)
{
    fprintf(f, "usage: linkjoin messages [--locale LOCALE] [--json]\n"
               "  prints every user-facing text by id (locales: en de fr ja; others are en)\n");
}

static int
print_lines(const char *json)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *it;

    if (o == NULL)
        return LJ_EXIT_FAILURE;
    cJSON_ArrayForEach(it, o) printf("%s\t%s\n", it->string, it->valuestring);
    cJSON_Delete(o);
    return LJ_EXIT_OK;
}

int
cmd_messages(int argc, char **argv)
{
    const char *locale = "en";
    bool json = false;
    char *out = NULL;
    int ret = LJ_EXIT_FAILURE;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--locale") == 0 && i + 1 < argc) {
            locale = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            messages_usage(stdout);
            return LJ_EXIT_OK;
        } else {
            messages_usage(stderr);
            return LJ_EXIT_USAGE;
        }
    }
    if (lj_messages_catalog_json(locale, true, &out) != LJ_OK)
        goto out;
    if (json) {
        if (fputs(out, stdout) == EOF || fputc('\n', stdout) == EOF)
            goto out;
        ret = LJ_EXIT_OK;
    } else {
        ret = print_lines(out);
    }
    if (fflush(stdout) != 0)
        ret = LJ_EXIT_FAILURE;
out:
    free(out);
    return ret;
}
