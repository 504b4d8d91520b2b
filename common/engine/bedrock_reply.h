/* bedrock_reply — the reply half of bedrock_models.h that bedrock_stream.c
 * finishes with: parsing a reply skeleton whose image string was lifted
 * out and decoded as it arrived.  The whole-body parser,
 * bedrock_parse_reply(), is declared in bedrock_models.h. */
#ifndef ONESHEET_BEDROCK_REPLY_H
#define ONESHEET_BEDROCK_REPLY_H

#include "base/buf.h"
#include "base/err.h"
#include "engine/bedrock_models.h"

#include <stdbool.h>
#include <stddef.h>

/* Shared with bedrock_stream.c, which lifts the image string as the
 * body arrives: the mark left in its place, and how long a string must be
 * to be lifted. */
#define BEDROCK_LIFT_MIN 4096
#define BEDROCK_LIFT_MARK "@lifted"

/* Parses a reply skeleton (the body with BEDROCK_LIFT_MARK in place of the
 * lifted string) whose lifted string is already decoded into *image, but
 * for tail[0..tail_len) (its last partial group and '=' padding), exactly as
 * bedrock_parse_reply() parses the whole body.  On success *image has moved
 * to out->image; on error it is empty (storage kept).  *from_lift says
 * whether out->image is the lifted string (rather than another string of
 * the skeleton). */
err_code_t bedrock_reply_from_skeleton(const bedrock_model_t *m, const buf_t *skel,
                                       buf_t *image, const char *tail, size_t tail_len,
                                       const char *want_format, engine_result_t *out,
                                       bool *from_lift, err_t *err);

#endif
