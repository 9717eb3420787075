/* Minimal test harness shared by the C tests: counts checks, prints failures with the
 * library's last error, and ends with the "N passed, N failed" line. */
#ifndef FK_TEST_CHECK_H
#define FK_TEST_CHECK_H
#include <stdio.h>
#include <string.h>
#include "ferrokern.h"

static int g_pass, g_fail;

#define CHECK(cond) do { if (cond) g_pass++; else { g_fail++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
            fk_last_error_message()); } } while (0)

/* A call that must fail with `status` and a message containing `needle`. */
#define CHECK_ERR(call, status, needle) do { FkStatus st_ = (call); \
    CHECK(st_ == (status)); \
    CHECK(strstr(fk_last_error_message(), (needle)) != NULL); } while (0)

#define CHECK_OK(call) do { FkStatus st_ = (call); CHECK(st_ == FK_STATUS_OK); \
    CHECK(fk_last_error_message()[0] == '\0'); } while (0)

static int finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, g_pass, g_fail);
    return g_fail ? 1 : 0;
}

/* Text i of a batch built from a NUL-separated list. */
typedef struct {
    const char *data;
    size_t len;
    int64_t offsets[16];
    size_t n;
} Batch;

static FkTexts batch_texts(Batch *b, const char *const *texts, size_t n) {
    static char buf[4096];
    size_t pos = 0;
    b->offsets[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(texts[i]);
        memcpy(buf + pos, texts[i], l);
        pos += l;
        b->offsets[i + 1] = (int64_t)pos;
    }
    b->data = buf;
    b->len = pos;
    b->n = n;
    FkTexts t = {(const uint8_t *)buf, pos, b->offsets, n, FK_OFFSETS_I64, 0};
    return t;
}
#endif
