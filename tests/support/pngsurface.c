/* pngsurface — see pngsurface.h. */
#include "pngsurface.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    const buf_t *b;
    size_t off;
} reader_t;

static cairo_status_t read_buf(void *closure, unsigned char *data, unsigned int len)
{
    reader_t *r = closure;
    if (r->b->len - r->off < len)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->b->data + r->off, len);
    r->off += len;
    return CAIRO_STATUS_SUCCESS;
}

cairo_surface_t *tu_png_surface(const buf_t *png)
{
    reader_t r = {png, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_buf, &r);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    cairo_surface_flush(s);
    return s;
}

uint32_t tu_px(cairo_surface_t *s, int x, int y)
{
    const unsigned char *d = cairo_image_surface_get_data(s);
    return ((const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s)))[x] &
           0xffffff;
}

double tu_lum8(uint32_t p)
{
    return poster_luminance(((p >> 16) & 255) / 255.0, ((p >> 8) & 255) / 255.0,
                            (p & 255) / 255.0);
}

int tu_box_inside(poster_box_t in, poster_box_t out)
{
    return in.x >= out.x - 0.01 && in.y >= out.y - 0.01 &&
           in.x + in.w <= out.x + out.w + 0.01 && in.y + in.h <= out.y + out.h + 0.01;
}
