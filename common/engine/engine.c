/* engine — see engine.h: the aspect-ratio → pixel-size table every engine
 * shares.  The table that picks an engine is in engine_backends.c, the art
 * an engine returns in poster/art.c. */
#include "engine/engine.h"

#include <string.h>

/* About one megapixel, the sizes the Stability models generate at, so a
 * draft has the proportions of the final poster.  Every side is a multiple
 * of 32 (1248 = 39 x 32 is not one of 64, whatever engine.h says); 21:9 and
 * 9:21 are the models' 2.4:1 approximation. */
static const struct {
    const char *aspect;
    int w, h;
} sizes[] = {
    {"1:1", 1024, 1024}, {"2:3", 832, 1248},  {"3:2", 1248, 832},
    {"4:5", 896, 1120},  {"5:4", 1120, 896},  {"16:9", 1344, 768},
    {"9:16", 768, 1344}, {"21:9", 1536, 640}, {"9:21", 640, 1536},
};

/* Fills *w and *h for aspect; ERR_INVALID (w, h untouched) when the ratio is
 * not one of the nine the job spec allows. */
err_code_t engine_size_for_aspect(const char *aspect, int *w, int *h)
{
    if (!aspect)
        return ERR_INVALID;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        if (strcmp(aspect, sizes[i].aspect) == 0) {
            *w = sizes[i].w;
            *h = sizes[i].h;
            return ERR_OK;
        }
    }
    return ERR_INVALID;
}
