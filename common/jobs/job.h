/* job — a job spec: parse (strict JSON), validate, normalise, hash; and the
 * bulk file readers (txt, JSONL, CSV) built on it.
 *
 * A spec is what the user asked for.  Its canonical form is compact JSON with
 * keys in a fixed order and defaults applied; the job id is a content hash of
 * that form inside its batch namespace, so resubmitting a file yields the same
 * ids and enqueues nothing new. */
#ifndef ONESHEET_JOB_H
#define ONESHEET_JOB_H

#include "base/buf.h"
#include "base/err.h"
#include "jobs/rendition.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOB_PROMPT_MAX 10000   /* characters (code points) */
#define JOB_ID_MAX 128         /* bytes, for client ids and derived ids */
#define JOB_SEED_MAX 4294967294LL
#define JOB_SEED_UNSET (-1)
#define JOB_URL_TTL_MAX 604800 /* seconds: SigV4's longest presigned URL */
#define JOB_RUN_MAX 1000000    /* a job's run (retry counts it up from 1) */
#define JOB_VARIANTS_MAX 16    /* variants of one prompt */

typedef struct {
    char *id;              /* client id (letters, digits, "-_.:"), or NULL */
    char *prompt;          /* required, 1..10000 code points, valid UTF-8 */
    char *negative_prompt; /* optional */
    char *model;           /* optional; NULL means the configured default */
    char aspect_ratio[8];  /* one of 16:9 1:1 21:9 2:3 3:2 4:5 5:4 9:16 9:21 */
    int64_t seed;          /* 0..4294967294, or JOB_SEED_UNSET */
    char output_format[8]; /* png | jpeg | webp */
    char *title, *tagline, *credits; /* optional poster text */
    char *layout;          /* optional: classic | minimal | bold */
    char *tags_json;       /* optional compact JSON object of string values */
    long url_ttl;          /* seconds (1..JOB_URL_TTL_MAX) the result URL lasts;
                            * 0: the worker's url_ttl.  A delivery option, not
                            * part of the spec's canonical form or job id: the
                            * queue message carries it beside the spec. */
    /* Issue 20: the posters one generation is composed into (rendition.h);
     * none when nrenditions is 0.  Part of the canonical form when set. */
    rendition_list_t renditions;
    size_t nrenditions;
    /* Variants (issue 20): how many jobs the entry asks for (1..JOB_VARIANTS_MAX;
     * 0 or 1: one), and, once bulk_expand_variants() made them, which one
     * this is (1-based; 0: not a variant) of the prompt whose job id is
     * variant_of. */
    int variants;
    int variant;
    char *variant_of;
} job_spec_t;

/* Defaults applied to specs that leave a field out (from flags/config). */
typedef struct {
    const char *model;        /* NULL: leave unset */
    const char *aspect_ratio; /* NULL: "2:3" */
    int64_t seed;             /* JOB_SEED_UNSET: leave unset */
    const char *output_format;/* NULL: "png" */
    const char *title;        /* NULL: none */
    const char *renditions;   /* "2:3,16:9" for specs naming none; NULL: none */
} job_defaults_t;

/* Empties s: no strings, seed JOB_SEED_UNSET, "" for the enum arrays. */
void job_spec_init(job_spec_t *s);
/* Frees every string s owns and re-initialises it. */
void job_spec_free(job_spec_t *s);

/* Parses one JSON object (text[0..len), need not be NUL-terminated) into s.
 * Unknown fields, duplicate keys, wrong types, invalid UTF-8 and NUL bytes
 * ("\u0000" too) are errors whose message starts with the field name
 * ("seed: must be an integer ...", "prompt: invalid UTF-8").  Fields not
 * present, or null, are left as job_spec_init() set them. */
err_code_t job_spec_parse_json(const char *text, size_t len, job_spec_t *s,
                               err_t *err);

/* Fills unset fields from d (NULL: built-in defaults only), trims
 * surrounding whitespace in the prompt and the other text fields (optional
 * text left empty becomes NULL), rewrites tags_json canonically (keys
 * sorted), and validates every field.  Errors name the field as above.
 * A spec with renditions and no aspect_ratio (from it or d) gets the
 * aspect that loses least across them (rendition_best_aspect()). */
err_code_t job_spec_normalise(job_spec_t *s, const job_defaults_t *d, err_t *err);

/* Canonical compact JSON of a normalised spec (fixed key order, no id).
 * Appends to out. */
err_code_t job_spec_to_json(const job_spec_t *s, buf_t *out);
/* Canonical JSON including the "id" field when set. */
err_code_t job_spec_to_json_with_id(const job_spec_t *s, buf_t *out);

/* True when s is a usable id (client, job or batch): 1..JOB_ID_MAX bytes of
 * letters, digits and "._:-", not starting with '.' (ids become object-key
 * path segments, so "." and ".." must be impossible). */
bool job_id_valid(const char *s);

/* Derived job id for a normalised spec in batch batch_id: "j" + 20 hex of
 * SHA-256(batch_id "\n" canonical JSON); or the client id when set. */
err_code_t job_id_for(const char *batch_id, const job_spec_t *s,
                      char out[JOB_ID_MAX + 1]);

/* The seed the engine must use: the spec's, or one derived from the job id so
 * retries of a job regenerate the same image. */
int64_t job_effective_seed(const job_spec_t *s, const char *job_id);

/* Queue message body {"v":1,"batch":…,"job":…,"spec":{…}} (appends), with
 * "url_ttl":N after the spec when s->url_ttl is set (ERR_INVALID when it is
 * out of range). */
err_code_t job_message_encode(const char *batch_id, const char *job_id,
                              const job_spec_t *s, buf_t *out);
/* Parses a message body; fills batch and job ids and the spec (s is
 * initialised here, not freed: free it with job_spec_free() afterwards, also
 * on error).  The spec comes back normalised, with url_ttl from the message
 * (0 when absent).  ERR_INVALID for an unparseable body, an unknown version,
 * a missing or unknown field, a bad id, a url_ttl that is not an integer
 * from 1 to JOB_URL_TTL_MAX, or an invalid spec (a poison message). */
err_code_t job_message_decode(const char *body, size_t len,
                              char batch_id[JOB_ID_MAX + 1],
                              char job_id[JOB_ID_MAX + 1], job_spec_t *s,
                              err_t *err);

/* Like job_message_encode(), for the job's run `run` (1..JOB_RUN_MAX): the
 * body carries "run":N after the job id when N > 1 (absent means 1). */
err_code_t job_message_encode_run(const char *batch_id, const char *job_id, int run,
                                  const job_spec_t *s, buf_t *out);
/* Like job_message_decode(), also giving the message's run in *run (1 when
 * the body has none).  A run that is not an integer from 1 to JOB_RUN_MAX
 * is ERR_INVALID naming the field. */
err_code_t job_message_decode_run(const char *body, size_t len,
                                  char batch_id[JOB_ID_MAX + 1],
                                  char job_id[JOB_ID_MAX + 1], job_spec_t *s, int *run,
                                  err_t *err);

/* ---- bulk files ---- */

typedef enum { BULK_AUTO, BULK_TXT, BULK_JSONL, BULK_CSV } bulk_format_t;

/* Parses "txt", "jsonl", "csv" (and "auto"); returns -1 when unknown. */
int bulk_format_parse(const char *s);

typedef struct {
    size_t line;      /* 1-based line of the input the spec came from */
    job_spec_t spec;  /* normalised */
    char job_id[JOB_ID_MAX + 1]; /* filled by bulk_assign_ids() */
} bulk_item_t;

typedef struct {
    size_t line;
    char msg[600];    /* "FILE:LINE: field: reason" */
} bulk_error_t;

typedef struct {
    bulk_item_t *items;
    size_t nitems;
    bulk_error_t *errors;
    size_t nerrors;
    size_t nduplicates; /* identical specs folded into one (warned, not errors) */
    char batch_id[JOB_ID_MAX + 1]; /* filled by bulk_assign_ids() */
} bulk_t;

/* Empties b.  bulk_free() frees the items (and their specs) and errors and
 * leaves b empty again. */
void bulk_init(bulk_t *b);
void bulk_free(bulk_t *b);

/* Reads data[0..len) (the whole input) named `name` in messages (a path or
 * "-" for stdin).  A UTF-8 BOM and CRLF line ends are accepted.  BULK_AUTO
 * picks by the name's extension (.jsonl/.json, .csv, else txt).
 *   txt:   one prompt a line; blank lines and lines starting with '#' skipped
 *   jsonl: one spec object a line; blank lines skipped
 *   csv:   RFC 4180 with a header row naming spec fields (prompt required;
 *          tags.* columns become tags); quoted fields may span lines
 * Every bad line is recorded in b->errors ("name:line: field: reason"; for
 * CSV the line where the record starts) and parsing continues; duplicate
 * client ids are errors on the later line; identical specs without ids are
 * folded (b->nduplicates).  b comes from bulk_init(); err gets the first
 * error (and a count of the others).
 * An input with no jobs at all is an error ("name: no prompts found").
 * Returns ERR_OK when there are no errors, ERR_INVALID otherwise, or
 * ERR_NOMEM. */
err_code_t bulk_parse(const char *name, const char *data, size_t len,
                      bulk_format_t fmt, const job_defaults_t *d, bulk_t *b,
                      err_t *err);

/* Computes the batch id ("b" + 16 hex of SHA-256 over the items' canonical
 * JSON, in order) and every item's job id. */
err_code_t bulk_assign_ids(bulk_t *b);

#endif
