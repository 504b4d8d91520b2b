/* version — see version.h.  The commit comes from the Makefile (git
 * rev-parse at build time), in an object only the programs link. */
#include "setup/version.h"

#include <cairo.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pango/pango.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* Defined by the build in a generated object linked into each program
 * (Makefile: $(BUILD)/gen/commit.c); empty outside a git checkout. */
extern const char onesheet_build_commit[];
#ifndef ONESHEET_VERSION
#define ONESHEET_VERSION "0"
#endif

const char *version_commit(void)
{
    return onesheet_build_commit[0] ? onesheet_build_commit : "unknown";
}

/* Appends to out at *o, never past cap. */
static void put(char *out, size_t cap, size_t *o, const char *fmt, const char *a,
                const char *b)
{
    if (*o >= cap)
        return;
    int n = snprintf(out + *o, cap - *o, fmt, a, b);
    if (n > 0)
        *o = (size_t)n >= cap - *o ? cap - 1 : *o + (size_t)n;
}

const char *version_text(char *out, size_t cap, const char *prog, bool libs,
                         const char *extra)
{
    size_t o = 0;

    if (!cap)
        return out;
    out[0] = '\0';
    put(out, cap, &o, "%s " ONESHEET_VERSION " (commit %s)", prog, version_commit());
    if (!libs)
        return out;
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    put(out, cap, &o, "\n  %s %s", "libcurl", cv && cv->version ? cv->version : "?");
    put(out, cap, &o, "\n  %s%s", "", OpenSSL_version(OPENSSL_VERSION));
    put(out, cap, &o, "\n  %s %s", "jansson", jansson_version_str());
    put(out, cap, &o, "\n  %s %s", "SQLite", sqlite3_libversion());
    put(out, cap, &o, "\n  %s %s", "cairo", cairo_version_string());
    put(out, cap, &o, "\n  %s %s", "pango", pango_version_string());
    if (extra)
        put(out, cap, &o, "\n  %s%s", "", extra);
    return out;
}
