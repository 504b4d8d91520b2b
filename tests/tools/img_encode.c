/* img_encode — re-encodes a PNG as JPEG or WebP with libjpeg and libwebp,
 * so integration tests can put JPEG and WebP art where the pipeline only
 * ever makes PNGs (no ImageMagick or cwebp on the test machine).
 *
 *   img_encode jpeg|webp IN.png OUT
 *
 * Exit 0, or 1 with a message when IN does not load or OUT cannot be
 * written.  Opaque output: alpha is dropped. */
#include <cairo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <webp/encode.h>

static int write_all(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "jpeg") != 0 && strcmp(argv[1], "webp") != 0)) {
        fprintf(stderr, "usage: img_encode jpeg|webp IN.png OUT\n");
        return 64;
    }
    cairo_surface_t *s = cairo_image_surface_create_from_png(argv[2]);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        fprintf(stderr, "img_encode: %s: %s\n", argv[2],
                cairo_status_to_string(cairo_surface_status(s)));
        return 1;
    }
    cairo_surface_flush(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    unsigned char *px = cairo_image_surface_get_data(s);
    for (int y = 0; y < h; y++) /* opaque: B, G, R, 255 on little-endian */
        for (int x = 0; x < w; x++)
            ((uint32_t *)(px + (size_t)y * stride))[x] |= 0xff000000u;
    int rc;
    if (strcmp(argv[1], "jpeg") == 0) {
        struct jpeg_compress_struct c;
        struct jpeg_error_mgr jerr;
        unsigned char *mem = NULL;
        unsigned long size = 0;
        c.err = jpeg_std_error(&jerr);
        jpeg_create_compress(&c);
        jpeg_mem_dest(&c, &mem, &size);
        c.image_width = (JDIMENSION)w;
        c.image_height = (JDIMENSION)h;
        c.input_components = 4;
        c.in_color_space = JCS_EXT_BGRX;
        jpeg_set_defaults(&c);
        jpeg_set_quality(&c, 88, TRUE);
        jpeg_start_compress(&c, TRUE);
        while (c.next_scanline < c.image_height) {
            JSAMPROW row = px + (size_t)c.next_scanline * stride;
            jpeg_write_scanlines(&c, &row, 1);
        }
        jpeg_finish_compress(&c);
        jpeg_destroy_compress(&c);
        rc = write_all(argv[3], mem, size);
        free(mem);
    } else {
        uint8_t *mem = NULL;
        size_t n = WebPEncodeBGRA(px, w, h, stride, 85, &mem);
        rc = n ? write_all(argv[3], mem, n) : (fprintf(stderr, "img_encode: WebP failed\n"), 1);
        WebPFree(mem);
    }
    cairo_surface_destroy(s);
    return rc;
}
