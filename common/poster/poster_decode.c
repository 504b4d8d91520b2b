/* poster_decode — art bytes to cairo surfaces: PNG through cairo's libpng
 * reader, JPEG through libjpeg(-turbo), WebP through libwebp.  Every decoder
 * checks the size its header claims against POSTER_SIDE_MAX and
 * POSTER_PIXELS_MAX before anything the size of the image is allocated, so
 * a small file that claims to be huge costs nothing. */
#include "poster/poster_internal.h"
#include "poster/imgsniff.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <webp/decode.h>

#if !defined(JCS_EXTENSIONS)
#error "poster_decode needs libjpeg-turbo's JCS_EXT_* colour spaces"
#endif

/* cairo's RGB24/ARGB32 pixels are native-endian 0xAARRGGBB words. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define JPEG_CAIRO_CS JCS_EXT_XRGB
#define WEBP_CAIRO_OPAQUE MODE_ARGB
#define WEBP_CAIRO_PREMUL MODE_Argb
#else
#define JPEG_CAIRO_CS JCS_EXT_BGRX
#define WEBP_CAIRO_OPAQUE MODE_BGRA
#define WEBP_CAIRO_PREMUL MODE_bgrA
#endif

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ERR_OK when a w x h image may be decoded, else ERR_INVALID naming what. */
static err_code_t check_size(const char *what, uint64_t w, uint64_t h, err_t *err)
{
    if (w == 0 || h == 0 || w > POSTER_SIDE_MAX || h > POSTER_SIDE_MAX ||
        w * h > POSTER_PIXELS_MAX)
        return err_set(err, ERR_INVALID,
                       "poster: %s art of %llux%llu px is out of range (at most %d px a "
                       "side and %d megapixels)",
                       what, (unsigned long long)w, (unsigned long long)h, POSTER_SIDE_MAX,
                       POSTER_PIXELS_MAX / 1000000);
    return ERR_OK;
}

/* A surface for w x h pixels; NULL with err set. */
static cairo_surface_t *new_surface(cairo_format_t fmt, int w, int h, err_t *err)
{
    cairo_surface_t *s = cairo_image_surface_create(fmt, w, h);
    cairo_status_t st = cairo_surface_status(s);
    if (st == CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_destroy(s);
    err_set(err, st == CAIRO_STATUS_NO_MEMORY ? ERR_NOMEM : ERR_INTERNAL, "poster: %s",
            cairo_status_to_string(st));
    return NULL;
}

/* ---- PNG ---- */

typedef struct {
    const unsigned char *data;
    size_t len, off;
} reader_t;

static cairo_status_t read_mem(void *closure, unsigned char *data, unsigned int len)
{
    reader_t *r = closure;
    if (r->len - r->off < len)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->data + r->off, len);
    r->off += len;
    return CAIRO_STATUS_SUCCESS;
}

cairo_surface_t *poster_decode_png(const void *data, size_t len, err_t *err)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const unsigned char *d = data;
    if (!d || len < 33 || memcmp(d, sig, 8) != 0 || memcmp(d + 12, "IHDR", 4) != 0) {
        err_set(err, ERR_INVALID, "poster: art is not a PNG");
        return NULL;
    }
    if (check_size("PNG", be32(d + 16), be32(d + 20), err) != ERR_OK)
        return NULL;
    cairo_surface_t *s = poster_png_fast_decode(d, len);
    if (s)
        return s;
    reader_t r = {d, len, 0};
    s = cairo_image_surface_create_from_png_stream(read_mem, &r);
    cairo_status_t st = cairo_surface_status(s);
    if (st == CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_destroy(s);
    /* cairo reports every libpng error (a bad chunk length, a CRC, cut
     * data) as NO_MEMORY.  The pixels fit the limits above, so if they can
     * be allocated now, memory was not what ran out. */
    if (st == CAIRO_STATUS_NO_MEMORY) {
        s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)be32(d + 16),
                                       (int)be32(d + 20));
        if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS)
            st = CAIRO_STATUS_READ_ERROR;
        cairo_surface_destroy(s);
    }
    if (st == CAIRO_STATUS_NO_MEMORY)
        err_set(err, ERR_NOMEM, "poster: out of memory decoding PNG art");
    else
        err_set(err, ERR_INVALID, "poster: PNG art does not decode (corrupt or cut)");
    return NULL;
}

/* ---- JPEG ---- */

/* libjpeg's default error handler prints and calls exit(); this one keeps
 * the message and jumps back to the decoder.  Warnings count as errors:
 * libjpeg "recovers" from a cut or corrupt scan by painting grey, and a
 * poster of half an image is no poster. */
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err_t;

static void jpeg_on_error(j_common_ptr c)
{
    jpeg_err_t *je = (jpeg_err_t *)c->err;
    c->err->format_message(c, je->msg);
    longjmp(je->jb, 1);
}

static void jpeg_on_message(j_common_ptr c, int level)
{
    if (level < 0)
        jpeg_on_error(c);
}

/* Adobe CMYK (stored inverted, as Photoshop writes it) to RGB24 in place
 * of row out; the naive conversion, good enough for a poster's art. */
static void cmyk_row(const JSAMPLE *in, uint32_t *out, JDIMENSION w, int inverted)
{
    for (JDIMENSION x = 0; x < w; x++, in += 4) {
        unsigned c = in[0], m = in[1], y = in[2], k = in[3];
        if (!inverted)
            c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        out[x] = (uint32_t)(c * k / 255) << 16 | (uint32_t)(m * k / 255) << 8 |
                 (uint32_t)(y * k / 255);
    }
}

/* The decode proper.  What it allocates is stored through sp and rowp
 * (volatile: set before a longjmp, read after it) so the caller frees it
 * whichever way this ends.  Returns ERR_OK or err's code. */
static err_code_t jpeg_run(struct jpeg_decompress_struct *jd, const unsigned char *d,
                           size_t len, cairo_surface_t *volatile *sp,
                           JSAMPLE *volatile *rowp, err_t *err)
{
    jpeg_create_decompress(jd);
    jpeg_mem_src(jd, d, (unsigned long)len);
    jpeg_read_header(jd, TRUE);
    if (check_size("JPEG", jd->image_width, jd->image_height, err) != ERR_OK)
        return ERR_INVALID;
    int cmyk = jd->jpeg_color_space == JCS_CMYK || jd->jpeg_color_space == JCS_YCCK;
    jd->out_color_space = cmyk ? JCS_CMYK : JPEG_CAIRO_CS;
    jpeg_start_decompress(jd);
    cairo_surface_t *s = new_surface(CAIRO_FORMAT_RGB24, (int)jd->output_width,
                                     (int)jd->output_height, err);
    if (!(*sp = s))
        return ERR_NOMEM;
    JSAMPLE *tmp = NULL;
    if (cmyk && !(*rowp = tmp = g_try_malloc((size_t)jd->output_width * 4)))
        return err_set(err, ERR_NOMEM, "poster: out of memory");
    unsigned char *px = cairo_image_surface_get_data(s);
    size_t stride = (size_t)cairo_image_surface_get_stride(s);
    while (jd->output_scanline < jd->output_height) {
        unsigned char *line = px + (size_t)jd->output_scanline * stride;
        JSAMPROW row = cmyk ? tmp : line;
        if (jpeg_read_scanlines(jd, &row, 1) != 1)
            return err_set(err, ERR_INVALID, "poster: JPEG art does not decode: no data");
        if (cmyk)
            cmyk_row(tmp, (uint32_t *)line, jd->output_width, jd->saw_Adobe_marker);
    }
    jpeg_finish_decompress(jd);
    cairo_surface_mark_dirty(s);
    return ERR_OK;
}

static cairo_surface_t *decode_jpeg(const unsigned char *d, size_t len, err_t *err)
{
    struct jpeg_decompress_struct jd;
    jpeg_err_t je;
    cairo_surface_t *volatile s = NULL;
    JSAMPLE *volatile row = NULL;
    volatile err_code_t rc;

    memset(&jd, 0, sizeof jd);
    jd.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_on_error;
    je.pub.emit_message = jpeg_on_message;
    je.msg[0] = 0;
    if (setjmp(je.jb) == 0)
        rc = jpeg_run(&jd, d, len, &s, &row, err);
    else
        rc = err_set(err, ERR_INVALID, "poster: JPEG art does not decode: %s", je.msg);
    jpeg_destroy_decompress(&jd);
    g_free(row);
    if (rc != ERR_OK) {
        if (s)
            cairo_surface_destroy(s);
        return NULL;
    }
    return s;
}

/* ---- WebP ---- */

static const char *webp_status(VP8StatusCode st)
{
    switch (st) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated";
    default: return "unknown error";
    }
}

static cairo_surface_t *decode_webp(const unsigned char *d, size_t len, err_t *err)
{
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg)) {
        err_set(err, ERR_INTERNAL, "poster: libwebp version mismatch");
        return NULL;
    }
    VP8StatusCode st = WebPGetFeatures(d, len, &cfg.input);
    if (st != VP8_STATUS_OK) {
        err_set(err, st == VP8_STATUS_OUT_OF_MEMORY ? ERR_NOMEM : ERR_INVALID,
                "poster: WebP art does not decode: %s", webp_status(st));
        return NULL;
    }
    if (cfg.input.has_animation) {
        err_set(err, ERR_INVALID, "poster: animated WebP art is not supported");
        return NULL;
    }
    if (check_size("WebP", (uint64_t)cfg.input.width, (uint64_t)cfg.input.height, err) !=
        ERR_OK)
        return NULL;
    int alpha = cfg.input.has_alpha;
    cairo_surface_t *s = new_surface(alpha ? CAIRO_FORMAT_ARGB32 : CAIRO_FORMAT_RGB24,
                                     cfg.input.width, cfg.input.height, err);
    if (!s)
        return NULL;
    /* Decoded straight into the surface: premultiplied as cairo wants. */
    cfg.output.colorspace = alpha ? WEBP_CAIRO_PREMUL : WEBP_CAIRO_OPAQUE;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = cairo_image_surface_get_data(s);
    cfg.output.u.RGBA.stride = cairo_image_surface_get_stride(s);
    cfg.output.u.RGBA.size = (size_t)cfg.output.u.RGBA.stride * (size_t)cfg.input.height;
    st = WebPDecode(d, len, &cfg);
    WebPFreeDecBuffer(&cfg.output);
    if (st != VP8_STATUS_OK) {
        cairo_surface_destroy(s);
        err_set(err, st == VP8_STATUS_OUT_OF_MEMORY ? ERR_NOMEM : ERR_INVALID,
                "poster: WebP art does not decode: %s", webp_status(st));
        return NULL;
    }
    cairo_surface_mark_dirty(s);
    return s;
}

cairo_surface_t *poster_decode(const void *data, size_t len, err_t *err)
{
    const unsigned char *d = data;
    switch (imgsniff(data, len, NULL)) {
    case IMG_PNG: return poster_decode_png(d, len, err);
    case IMG_JPEG: return decode_jpeg(d, len, err);
    case IMG_WEBP: return decode_webp(d, len, err);
    default:
        err_set(err, ERR_INVALID, "poster: art is not a PNG, JPEG or WebP image");
        return NULL;
    }
}
