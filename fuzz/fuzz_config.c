/* fuzz_config — the config file parser.  config_load reads a path, so the
 * input goes into a memfd and is loaded through /proc/self/fd; the
 * environment is hidden so only the file decides. */
#include "setup/config.h"
#include "base/err.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    char path[64];
    config_t c;
    err_t err;

    if (fd < 0 && (fd = memfd_create("fuzz_config", 0)) < 0)
        return 0;
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    config_load(&c, path, no_env, &err);
    config_free(&c);
    return 0;
}
