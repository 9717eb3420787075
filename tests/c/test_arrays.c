/* The image and array C API from C: every function and every error path. Run under
 * valgrind by `make test-c` (no leaks, no invalid accesses, no uninitialised reads). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "check.h"

#define H 5
#define W 6

static FkImage gray_u8(const uint8_t *px) {
    FkImage im = {px, FK_DTYPE_U8, H, W, W, 1};
    return im;
}

static FkImageOut out_f32(float *px) {
    FkImageOut o = {px, FK_DTYPE_F32, H, W, W * (ptrdiff_t)sizeof(float), sizeof(float)};
    return o;
}

/* The formula at (y, x) with replicated borders, in double. */
static double ref_mag(const double *p, int h, int w, int y, int x, double *gx_out, double *gy_out) {
#define P(yy, xx) p[(((yy) < 0 ? 0 : (yy) >= h ? h - 1 : (yy))) * w + ((xx) < 0 ? 0 : (xx) >= w ? w - 1 : (xx))]
    double gx = (P(y - 1, x + 1) + 2 * P(y, x + 1) + P(y + 1, x + 1)) - (P(y - 1, x - 1) + 2 * P(y, x - 1) + P(y + 1, x - 1));
    double gy = (P(y + 1, x - 1) + 2 * P(y + 1, x) + P(y + 1, x + 1)) - (P(y - 1, x - 1) + 2 * P(y - 1, x) + P(y - 1, x + 1));
#undef P
    if (gx_out) *gx_out = gx;
    if (gy_out) *gy_out = gy;
    return sqrt(gx * gx + gy * gy);
}

static void test_sobel(void) {
    uint8_t px[H * W];
    double pd[H * W];
    for (int i = 0; i < H * W; i++) {
        px[i] = (uint8_t)((i * 37) % 251);
        pd[i] = px[i];
    }
    float mag[H * W];
    FkImage src = gray_u8(px);
    FkImageOut m = out_f32(mag);

    /* zero border: border pixels 0, interior the formula */
    CHECK_OK(fk_sobel(&src, FK_BORDER_ZERO, &m, NULL, NULL));
    int ok = 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double want = (y == 0 || x == 0 || y == H - 1 || x == W - 1) ? 0.0 : ref_mag(pd, H, W, y, x, NULL, NULL);
            ok &= fabs(mag[y * W + x] - want) <= 1e-5 * (want + 1);
        }
    CHECK(ok);

    /* f64 image read bottom-up (negative row stride) into f64 outputs with gradients */
    double md[H * W], gx[H * W], gy[H * W];
    FkImage flipped = {pd + (H - 1) * W, FK_DTYPE_F64, H, W, -W * (ptrdiff_t)sizeof(double), sizeof(double)};
    FkImageOut o64 = {md, FK_DTYPE_F64, H, W, W * (ptrdiff_t)sizeof(double), sizeof(double)};
    FkImageOut ogx = o64, ogy = o64;
    ogx.data = gx;
    ogy.data = gy;
    CHECK_OK(fk_sobel(&flipped, FK_BORDER_REPLICATE, &o64, &ogx, &ogy));
    ok = 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double wgx, wgy;
            /* row y of the flipped view is row H-1-y of pd; gy changes sign, gx does not */
            double want = ref_mag(pd, H, W, H - 1 - y, x, &wgx, &wgy);
            ok &= md[y * W + x] == want && gx[y * W + x] == wgx && gy[y * W + x] == -wgy;
        }
    CHECK(ok);

    /* every border mode and every dtype pairing runs */
    uint16_t p16[H * W];
    float pf[H * W];
    for (int i = 0; i < H * W; i++) {
        p16[i] = (uint16_t)(px[i] * 200);
        pf[i] = (float)pd[i];
    }
    FkImage s16 = {p16, FK_DTYPE_U16, H, W, W * 2, 2};
    FkImage sf = {pf, FK_DTYPE_F32, H, W, W * 4, 4};
    for (uint32_t b = FK_BORDER_ZERO; b <= FK_BORDER_CONSTANT; b++) {
        CHECK_OK(fk_sobel(&src, b, &o64, NULL, NULL));
        CHECK_OK(fk_sobel(&s16, b, &m, NULL, NULL));
        CHECK_OK(fk_sobel(&sf, b, &o64, NULL, &ogy));
        CHECK_OK(fk_sobel(&flipped, b, &m, NULL, NULL));
    }
    /* wrap and constant (with cval) against the formula over an explicitly padded copy */
    for (int mode = 0; mode < 3; mode++) {
        double cval = mode == 2 ? 7.5 : 0.0;
        uint32_t b = mode == 0 ? FK_BORDER_WRAP : FK_BORDER_CONSTANT;
        double pad[(H + 2) * (W + 2)];
        for (int y = -1; y <= H; y++)
            for (int x = -1; x <= W; x++) {
                int inside = y >= 0 && y < H && x >= 0 && x < W;
                double v = mode == 0 ? pd[((y + H) % H) * W + (x + W) % W] : inside ? pd[y * W + x] : cval;
                pad[(y + 1) * (W + 2) + x + 1] = v;
            }
        if (mode == 1)
            CHECK_OK(fk_sobel(&src, b, &o64, &ogx, NULL));
        else
            CHECK_OK(fk_sobel_cval(&src, b, cval, &o64, &ogx, NULL));
        ok = 1;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double wgx;
                /* inside the padded copy no pixel is clamped, so ref_mag reads the padding */
                double want = ref_mag(pad, H + 2, W + 2, y + 1, x + 1, &wgx, NULL);
                ok &= md[y * W + x] == want && gx[y * W + x] == wgx;
            }
        CHECK(ok);
    }
    /* a 1x1 image is valid */
    FkImage one = {px, FK_DTYPE_U8, 1, 1, 1, 1};
    FkImageOut o1 = {mag, FK_DTYPE_F32, 1, 1, 4, 4};
    mag[0] = 5;
    CHECK_OK(fk_sobel(&one, FK_BORDER_REFLECT101, &o1, NULL, NULL));
    CHECK(mag[0] == 0.0f);

    /* errors */
    CHECK_ERR(fk_sobel(NULL, 0, &m, NULL, NULL), FK_STATUS_NULL_POINTER, "src");
    CHECK_ERR(fk_sobel(&src, 0, NULL, NULL, NULL), FK_STATUS_NULL_POINTER, "magnitude");
    FkImage bad = src;
    bad.data = NULL;
    CHECK_ERR(fk_sobel(&bad, 0, &m, NULL, NULL), FK_STATUS_NULL_POINTER, "src is NULL");
    CHECK_ERR(fk_sobel(&src, 6, &m, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "border = 6");
    CHECK_ERR(fk_sobel_cval(&src, 6, 1.0, &m, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "WRAP/CONSTANT");
    CHECK_ERR(fk_sobel_cval(NULL, FK_BORDER_CONSTANT, 1.0, &m, NULL, NULL), FK_STATUS_NULL_POINTER, "src");
    CHECK_ERR(fk_sobel_cval(&src, FK_BORDER_CONSTANT, 1.0, NULL, NULL, NULL), FK_STATUS_NULL_POINTER, "magnitude");
    bad = src;
    bad.dtype = 99;
    CHECK_ERR(fk_sobel(&bad, 0, &m, NULL, NULL), FK_STATUS_DTYPE, "expected FK_DTYPE_U8");
    FkImageOut badout = m;
    badout.dtype = FK_DTYPE_U8;
    CHECK_ERR(fk_sobel(&src, 0, &badout, NULL, NULL), FK_STATUS_DTYPE, "FK_DTYPE_F32 or FK_DTYPE_F64");
    CHECK_ERR(fk_sobel(&src, 0, &m, &ogx, NULL), FK_STATUS_DTYPE, "share one dtype");
    bad = src;
    bad.height = 0;
    CHECK_ERR(fk_sobel(&bad, 0, &m, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "empty");
    badout = m;
    badout.width = W - 1;
    CHECK_ERR(fk_sobel(&src, 0, &badout, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "but the image is 5");
    FkImage odd = sf;
    odd.row_stride = W * 4 + 2;
    CHECK_ERR(fk_sobel(&odd, 0, &o64, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "not a multiple of the element size");
    FkImage mis = sf;
    mis.data = (const char *)pf + 1;
    mis.width = W - 1;
    FkImageOut o64n = o64;
    o64n.width = W - 1;
    CHECK_ERR(fk_sobel(&mis, 0, &o64n, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "not aligned");
    FkImage huge = src;
    huge.height = SIZE_MAX / 2;
    huge.row_stride = PTRDIFF_MAX;
    CHECK_ERR(fk_sobel(&huge, 0, &m, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "overflows");
    /* output over the input, outputs over each other, output over itself */
    float shared[H * W];
    FkImage sin = {shared, FK_DTYPE_F32, H, W, W * 4, 4};
    FkImageOut sout = out_f32(shared);
    CHECK_ERR(fk_sobel(&sin, 0, &sout, NULL, NULL), FK_STATUS_OVERLAP, "overlaps the input");
    CHECK_ERR(fk_sobel(&src, 0, &o64, &o64, NULL), FK_STATUS_OVERLAP, "gx and magnitude");
    FkImageOut zero = m;
    zero.row_stride = 0;
    CHECK_ERR(fk_sobel(&src, 0, &zero, NULL, NULL), FK_STATUS_OVERLAP, "elements overlap");
}

static void test_grayscale_and_edges(void) {
    uint8_t rgb[H * W * 4];
    for (int i = 0; i < H * W * 4; i++) rgb[i] = (uint8_t)((i * 29) % 256);
    double g[H * W];
    FkColorImage src = {rgb, FK_DTYPE_U8, H, W, 4, W * 4, 4, 1};
    FkImageOut out = {g, FK_DTYPE_F64, H, W, W * 8, 8};
    CHECK_OK(fk_grayscale(&src, &out));
    int ok = 1;
    for (int i = 0; i < H * W; i++)
        ok &= g[i] == rgb[4 * i] * 0.2989 + rgb[4 * i + 1] * 0.5870 + rgb[4 * i + 2] * 0.1140;
    CHECK(ok);

    /* edges == sobel(grayscale) */
    double e[H * W], s[H * W];
    FkImageOut eo = out, so = out;
    eo.data = e;
    so.data = s;
    CHECK_OK(fk_edges(&src, FK_BORDER_REFLECT101, &eo));
    FkImage gi = {g, FK_DTYPE_F64, H, W, W * 8, 8};
    CHECK_OK(fk_sobel(&gi, FK_BORDER_REFLECT101, &so, NULL, NULL));
    CHECK(memcmp(e, s, sizeof e) == 0);
    float ef[H * W];
    FkImageOut efo = out_f32(ef);
    CHECK_OK(fk_edges(&src, FK_BORDER_ZERO, &efo));
    CHECK(ef[0] == 0.0f);

    CHECK_ERR(fk_grayscale(NULL, &out), FK_STATUS_NULL_POINTER, "src");
    CHECK_ERR(fk_grayscale(&src, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_edges(&src, 0, NULL), FK_STATUS_NULL_POINTER, "magnitude");
    FkColorImage two = src;
    two.channels = 2;
    CHECK_ERR(fk_grayscale(&two, &out), FK_STATUS_INVALID_ARGUMENT, "expected 3 (RGB) or 4 (RGBA)");
    CHECK_ERR(fk_edges(&two, 0, &eo), FK_STATUS_INVALID_ARGUMENT, "channels");
    FkColorImage bad = src;
    bad.dtype = 0;
    CHECK_ERR(fk_grayscale(&bad, &out), FK_STATUS_DTYPE, "dtype code 0");
    CHECK_ERR(fk_edges(&bad, 0, &eo), FK_STATUS_DTYPE, "dtype code 0");
    FkImageOut badout = out;
    badout.dtype = FK_DTYPE_U16;
    CHECK_ERR(fk_grayscale(&src, &badout), FK_STATUS_DTYPE, "expected FK_DTYPE_F32");
    CHECK_ERR(fk_edges(&src, 7, &eo), FK_STATUS_INVALID_ARGUMENT, "border");
    CHECK_ERR(fk_edges_cval(&src, 6, 0.0, &eo), FK_STATUS_INVALID_ARGUMENT, "border = 6");
    CHECK_ERR(fk_edges_cval(NULL, FK_BORDER_CONSTANT, 0.0, &eo), FK_STATUS_NULL_POINTER, "src");
    /* fk_edges_cval = fk_sobel_cval of the luma, with the same cval */
    CHECK_OK(fk_edges_cval(&src, FK_BORDER_CONSTANT, -3.25, &eo));
    CHECK_OK(fk_sobel_cval(&gi, FK_BORDER_CONSTANT, -3.25, &so, NULL, NULL));
    CHECK(memcmp(e, s, sizeof e) == 0);
    CHECK_OK(fk_edges(&src, FK_BORDER_WRAP, &eo));
    CHECK_OK(fk_sobel(&gi, FK_BORDER_WRAP, &so, NULL, NULL));
    CHECK(memcmp(e, s, sizeof e) == 0);
    FkImageOut over = {rgb, FK_DTYPE_F32, 2, 2, 8, 4};
    FkColorImage small = {rgb, FK_DTYPE_U8, 2, 2, 3, 6, 3, 1};
    CHECK_ERR(fk_grayscale(&small, &over), FK_STATUS_OVERLAP, "overlaps the input");
    CHECK_ERR(fk_edges(&small, 0, &over), FK_STATUS_OVERLAP, "overlaps the input");

    /* fk_grayscale_strided: the same conversion from flat arguments, and the same errors */
    double gs[H * W];
    CHECK_OK(fk_grayscale_strided(rgb, FK_DTYPE_U8, H, W, 4, W * 4, 4, 1, gs, FK_DTYPE_F64, W * 8, 8));
    CHECK(memcmp(gs, g, sizeof gs) == 0);
    /* RGB view of the RGBA pixels, written transposed into an f32 output */
    float gt[H * W], gr[H * W];
    CHECK_OK(fk_grayscale_strided(rgb, FK_DTYPE_U8, H, W, 3, W * 4, 4, 1, gt, FK_DTYPE_F32, 4, H * 4));
    FkImageOut gro = out_f32(gr);
    FkColorImage rgbv = {rgb, FK_DTYPE_U8, H, W, 3, W * 4, 4, 1};
    CHECK_OK(fk_grayscale(&rgbv, &gro));
    ok = 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) ok &= gt[x * H + y] == gr[y * W + x];
    CHECK(ok);
    CHECK_ERR(fk_grayscale_strided(NULL, FK_DTYPE_U8, H, W, 4, W * 4, 4, 1, gs, FK_DTYPE_F64, W * 8, 8),
              FK_STATUS_NULL_POINTER, "src");
    CHECK_ERR(fk_grayscale_strided(rgb, FK_DTYPE_U8, H, W, 4, W * 4, 4, 1, NULL, FK_DTYPE_F64, W * 8, 8),
              FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_grayscale_strided(rgb, FK_DTYPE_U8, H, W, 2, W * 4, 4, 1, gs, FK_DTYPE_F64, W * 8, 8),
              FK_STATUS_INVALID_ARGUMENT, "expected 3 (RGB) or 4 (RGBA)");
    CHECK_ERR(fk_grayscale_strided(rgb, 0, H, W, 4, W * 4, 4, 1, gs, FK_DTYPE_F64, W * 8, 8), FK_STATUS_DTYPE,
              "dtype code 0");
    CHECK_ERR(fk_grayscale_strided(rgb, FK_DTYPE_U8, H, W, 4, W * 4, 4, 1, gs, FK_DTYPE_I16, W * 8, 8),
              FK_STATUS_DTYPE, "expected FK_DTYPE_F32");
    CHECK_ERR(fk_grayscale_strided(rgb, FK_DTYPE_U8, 0, W, 4, W * 4, 4, 1, gs, FK_DTYPE_F64, W * 8, 8),
              FK_STATUS_INVALID_ARGUMENT, "empty");
    CHECK_ERR(fk_grayscale_strided(rgb, FK_DTYPE_U8, H, W, 4, W * 4, 4, 1, gs, FK_DTYPE_F64, W * 8, 0),
              FK_STATUS_OVERLAP, "elements overlap");
    CHECK_ERR(fk_grayscale_strided(rgb, FK_DTYPE_U8, 2, 2, 3, 6, 3, 1, rgb, FK_DTYPE_F32, 8, 4), FK_STATUS_OVERLAP,
              "overlaps the input");
}

static void test_sum(void) {
    double xs[8] = {1e100, 0.1, -1e100, 0.2, 0.3, 1e-300, -1e-300, 0.4};
    double r = -1;
    CHECK_OK(fk_sum_f64(xs, 8, 8, &r));
    CHECK(r == 1.0); /* fsum: 0.1 + 0.2 + 0.3 + 0.4 rounds to 1.0 */
    CHECK_OK(fk_sum_f64(xs + 7, 8, -8, &r));
    CHECK(r == 1.0);
    CHECK_OK(fk_sum_f64(xs + 1, 3, 0, &r));
    CHECK(r == 0.30000000000000004);
    CHECK_OK(fk_sum_f64(xs, 4, 16, &r)); /* 1e100, -1e100, 0.3, -1e-300 */
    CHECK(r == 0.3);
    /* misaligned start and a stride that is not a multiple of 8 */
    unsigned char buf[3 + 5 * 11];
    for (int i = 0; i < 5; i++) {
        double v = i + 0.5;
        memcpy(buf + 3 + 11 * i, &v, 8);
    }
    CHECK_OK(fk_sum_f64(buf + 3, 5, 11, &r));
    CHECK(r == 12.5);
    r = 1;
    CHECK_OK(fk_sum_f64(NULL, 0, 8, &r));
    CHECK(r == 0.0);
    double inf[2] = {INFINITY, -INFINITY};
    CHECK_OK(fk_sum_f64(inf, 2, 8, &r));
    CHECK(isnan(r));
    double big[3] = {1e308, 1e308, -1e308};
    CHECK_OK(fk_sum_f64(big, 3, 8, &r));
    CHECK(r == 1e308);
    CHECK_OK(fk_sum_f64(big, 2, 8, &r));
    CHECK(isinf(r) && r > 0);

    CHECK_ERR(fk_sum_f64(NULL, 1, 8, &r), FK_STATUS_NULL_POINTER, "data");
    CHECK_ERR(fk_sum_f64(xs, 8, 8, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_sum_f64(xs, SIZE_MAX / 4, PTRDIFF_MAX, &r), FK_STATUS_INVALID_ARGUMENT, "overflows");
}

static void test_polyval(void) {
    double c[3] = {1, 2, 0}; /* x*x + 2*x */
    double x[6] = {0, 1, 2, -3, 0.5, 10};
    double out[6];
    CHECK_OK(fk_polyval_f64(c, 3, x, 6, 8, out, 8));
    int ok = 1;
    for (int i = 0; i < 6; i++) ok &= out[i] == x[i] * x[i] + 2 * x[i];
    CHECK(ok);
    /* reversed input into every other slot */
    double wide[12] = {0};
    CHECK_OK(fk_polyval_f64(c, 3, x + 5, 6, -8, wide, 16));
    CHECK(wide[0] == 120 && wide[10] == 0 && wide[1] == 0);
    /* in place */
    double y[6];
    memcpy(y, x, sizeof y);
    CHECK_OK(fk_polyval_f64(c, 3, y, 6, 8, y, 8));
    CHECK(memcmp(y, out, sizeof y) == 0);
    CHECK_OK(fk_polyval_f64(NULL, 0, x, 6, 8, out, 8));
    CHECK(out[5] == 0.0);
    CHECK_OK(fk_polyval_f64(c, 3, NULL, 0, 8, NULL, 8));

    CHECK_ERR(fk_polyval_f64(NULL, 3, x, 6, 8, out, 8), FK_STATUS_NULL_POINTER, "coeffs");
    CHECK_ERR(fk_polyval_f64(c, 3, NULL, 6, 8, out, 8), FK_STATUS_NULL_POINTER, "x");
    CHECK_ERR(fk_polyval_f64(c, 3, x, 6, 8, NULL, 8), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_polyval_f64(c, 3, y, 5, 8, y + 1, 8), FK_STATUS_OVERLAP, "out and x");
    CHECK_ERR(fk_polyval_f64(c, 3, x, 6, 8, c, 0), FK_STATUS_OVERLAP, "elements overlap");
    CHECK_ERR(fk_polyval_f64(c, 3, x, 2, 8, c, 8), FK_STATUS_OVERLAP, "coeffs");
    CHECK_ERR(fk_polyval_f64(c, 3, (const double *)((const char *)x + 1), 2, 8, out, 8), FK_STATUS_INVALID_ARGUMENT, "not aligned");
    CHECK_ERR(fk_polyval_f64(c, 3, x, 2, 12, out, 8), FK_STATUS_INVALID_ARGUMENT, "multiple of the element size");
    CHECK_ERR(fk_polyval_f64(c, 3, x, SIZE_MAX / 2, 8, out, 8), FK_STATUS_INVALID_ARGUMENT, "overflows");
}

/* A progress callback: counts its calls and cancels (nonzero) from call `*(int *)user`
 * on (0: never). */
typedef struct {
    int calls, cancel_at;
    uint64_t last_done, last_total;
} Poll;

static int32_t poll_cb(void *user, uint64_t done, uint64_t total) {
    Poll *p = user;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    return p->cancel_at && p->calls >= p->cancel_at;
}

/* The cancellable variants (issue 12 item 10): a callback returning nonzero stops a long
 * call with CANCELLED and leaves *out alone; a callback returning 0 changes nothing. */
static void test_progress_variants(void) {
    uint64_t n = 7;
    Poll p = {0, 1, 0, 0};
    /* 10^12 takes minutes: only a cancellation ends it quickly. */
    CHECK_ERR(fk_count_primes_progress(1000000000000ULL, poll_cb, &p, &n), FK_STATUS_CANCELLED, "cancelled");
    CHECK(n == 7 && p.calls == 1 && p.last_total > 0 && p.last_done < p.last_total);
    Poll go = {0, 0, 0, 0};
    CHECK_OK(fk_count_primes_progress(1000000, poll_cb, &go, &n));
    CHECK(n == 78498);
    CHECK_OK(fk_count_primes_progress(1000000, NULL, NULL, &n));
    CHECK(n == 78498);
    CHECK_ERR(fk_count_primes_progress(10, poll_cb, &go, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_count_primes_progress(FK_MAX_PRIME_LIMIT + 1, poll_cb, &go, &n), FK_STATUS_INVALID_ARGUMENT,
              "above the maximum");

    double one = 1.0, r = -1;
    Poll s = {0, 1, 0, 0};
    /* 10^12 reads of the same double (stride 0): hours without a cancellation. */
    CHECK_ERR(fk_sum_f64_progress(&one, (size_t)1000000000000ULL, 0, poll_cb, &s, &r), FK_STATUS_CANCELLED,
              "cancelled");
    CHECK(r == -1 && s.calls == 1 && s.last_total == 1000000000000ULL);
    CHECK_OK(fk_sum_f64_progress(&one, 100000, 0, poll_cb, &go, &r));
    CHECK(r == 100000.0);
    CHECK_OK(fk_sum_f64_progress(&one, 3, 0, NULL, NULL, &r));
    CHECK(r == 3.0);
    CHECK_ERR(fk_sum_f64_progress(NULL, 1, 8, poll_cb, &go, &r), FK_STATUS_NULL_POINTER, "data");
    CHECK_ERR(fk_sum_f64_progress(&one, 1, 8, poll_cb, &go, NULL), FK_STATUS_NULL_POINTER, "out");
}

/* fk_primes / fk_primes_capacity: the list, the bound, and every error. */
static void test_primes_list(void) {
    uint64_t cap = 0, out[64];
    size_t n = 99;
    CHECK_OK(fk_primes_capacity(0, 100, &cap));
    CHECK(cap >= 25 && cap <= 64);
    CHECK_OK(fk_primes(0, 100, out, (size_t)cap, &n, NULL, NULL));
    CHECK(n == 25 && out[0] == 2 && out[5] == 13 && out[6] == 17 && out[24] == 97);
    CHECK_OK(fk_primes(90, 98, out, 64, &n, NULL, NULL));
    CHECK(n == 1 && out[0] == 97);
    Poll go = {0, 0, 0, 0};
    CHECK_OK(fk_primes(1000000000000ULL, 1000000000100ULL, out, 64, &n, poll_cb, &go));
    CHECK(n == 4 && out[0] == 1000000000039ULL && out[3] == 1000000000091ULL);
    CHECK_OK(fk_primes(10, 5, NULL, 0, &n, NULL, NULL));
    CHECK(n == 0);
    CHECK_ERR(fk_primes(0, 100, out, 24, &n, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "more primes");
    CHECK_ERR(fk_primes(0, 100, NULL, 10, &n, NULL, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_primes(0, 100, out, 64, NULL, NULL, NULL), FK_STATUS_NULL_POINTER, "n_out");
    CHECK_ERR(fk_primes(0, FK_MAX_PRIME_LIMIT + 1, out, 64, &n, NULL, NULL), FK_STATUS_INVALID_ARGUMENT,
              "above the maximum");
    CHECK_ERR(fk_primes(0, FK_MAX_PRIMES_SPAN + 1, out, 64, &n, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "2^32");
    CHECK_ERR(fk_primes(0, 100, (uint64_t *)((char *)out + 1), 8, &n, NULL, NULL), FK_STATUS_INVALID_ARGUMENT,
              "aligned");
    CHECK_ERR(fk_primes_capacity(0, 100, NULL), FK_STATUS_NULL_POINTER, "out");
}

static void test_count_primes(void) {
    uint64_t n = 0;
    CHECK_OK(fk_count_primes(10, &n));
    CHECK(n == 4);
    CHECK_OK(fk_count_primes(2, &n));
    CHECK(n == 0);
    CHECK_OK(fk_count_primes(100000, &n));
    CHECK(n == 9592);
    CHECK_ERR(fk_count_primes(10, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_count_primes(FK_MAX_PRIME_LIMIT + 1, &n), FK_STATUS_INVALID_ARGUMENT, "above the maximum");
}

/* fk_sobel_deriv: cv2.Sobel(src, CV_16S, 1, 2, ksize=5, scale=0.5, delta=3) with
 * BORDER_REFLECT_101 against a direct double loop, a strided int16 output, u8 saturation,
 * and every error. */
static int reflect101(int p, int n) {
    if (n == 1) return 0;
    while (p < 0 || p >= n) p = p < 0 ? -p : 2 * (n - 1) - p;
    return p;
}

static void test_sobel_deriv(void) {
    static const int kx[5] = {-1, -2, 0, 2, 1};   /* order 1, ksize 5 */
    static const int ky[5] = {1, 0, -2, 0, 1};    /* order 2, ksize 5 */
    uint8_t px[H * W];
    for (int i = 0; i < H * W; i++) px[i] = (uint8_t)((i * 37 + 11) % 256);
    FkImage src = gray_u8(px);
    int16_t big[H * 2 * W];
    FkImageOut out = {big + 1, FK_DTYPE_I16, H, W, 2 * W * 2, 2 * 2};  /* every other int16 */
    FkSobelParams p = {1, 2, 5, FK_BORDER_REFLECT101, 0.5, 3.0, 0.0};
    CHECK_OK(fk_sobel_deriv(&src, &p, &out));
    int ok = 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double s = 0;
            for (int j = 0; j < 5; j++)
                for (int i = 0; i < 5; i++)
                    s += ky[j] * kx[i] * px[reflect101(y + j - 2, H) * W + reflect101(x + i - 2, W)];
            double v = nearbyint(s * 0.5 + 3.0); /* default rounding: half to even */
            v = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
            ok &= big[1 + y * 2 * W + 2 * x] == (int16_t)v;
        }
    CHECK(ok);

    /* u8 output saturates: a negative derivative is 0, a large one 255 */
    uint8_t step[H * W], o8[H * W];
    for (int i = 0; i < H * W; i++) step[i] = (i % W) < W / 2 ? 0 : 200;
    FkImage ssrc = gray_u8(step);
    FkImageOut so = {o8, FK_DTYPE_U8, H, W, W, 1};
    FkSobelParams p3 = {1, 0, 3, FK_BORDER_REPLICATE, 1.0, 0.0, 0.0};
    CHECK_OK(fk_sobel_deriv(&ssrc, &p3, &so));
    CHECK(o8[W / 2] == 255 && o8[0] == 0);
    p3.scale = -1.0;
    CHECK_OK(fk_sobel_deriv(&ssrc, &p3, &so));
    CHECK(o8[W / 2] == 0);
    /* ksize 7 on u8 sums beyond int16 (the integer path's 32-bit vertical lanes): the step
     * image's x derivative reaches 200·10·64 = 128000 and saturates to 32767 */
    {
        static const int k7x[7] = {-1, -4, -5, 0, 5, 4, 1}, k7y[7] = {1, 6, 15, 20, 15, 6, 1};
        int16_t o16[H * W];
        FkImageOut so16 = {o16, FK_DTYPE_I16, H, W, W * 2, 2};
        FkSobelParams p7x = {1, 0, 7, FK_BORDER_REFLECT101, 1.0, 0.0, 0.0};
        CHECK_OK(fk_sobel_deriv(&ssrc, &p7x, &so16));
        int ok7 = 1, saturated = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                long s = 0;
                for (int j = 0; j < 7; j++)
                    for (int i = 0; i < 7; i++)
                        s += (long)k7y[j] * k7x[i] * step[reflect101(y + j - 3, H) * W + reflect101(x + i - 3, W)];
                long v = s < -32768 ? -32768 : s > 32767 ? 32767 : s;
                saturated |= v == 32767;
                ok7 &= o16[y * W + x] == (int16_t)v;
            }
        CHECK(ok7 && saturated);
    }
    /* a float image is filtered in float32 into a float32 output and in double into a
     * double one: integer pixel values keep both exact, so both equal the double loop */
    float fpx[H * W], f32o[H * W];
    double f64o[H * W];
    for (int i = 0; i < H * W; i++) fpx[i] = (float)px[i];
    FkImage fsrc = {fpx, FK_DTYPE_F32, H, W, W * 4, 4};
    FkImageOut fo32 = {f32o, FK_DTYPE_F32, H, W, W * 4, 4};
    FkImageOut fo64 = {f64o, FK_DTYPE_F64, H, W, W * 8, 8};
    FkSobelParams pf = {1, 2, 5, FK_BORDER_REFLECT101, 1.0, 0.0, 0.0};
    CHECK_OK(fk_sobel_deriv(&fsrc, &pf, &fo32));
    CHECK_OK(fk_sobel_deriv(&fsrc, &pf, &fo64));
    ok = 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double s = 0;
            for (int j = 0; j < 5; j++)
                for (int i = 0; i < 5; i++)
                    s += ky[j] * kx[i] * px[reflect101(y + j - 2, H) * W + reflect101(x + i - 2, W)];
            ok &= f32o[y * W + x] == (float)s && f64o[y * W + x] == s;
        }
    CHECK(ok);
    /* a 1x1 double image, ksize 7, constant border with cval */
    double one = 2.0, r1 = -1;
    FkImage s1 = {&one, FK_DTYPE_F64, 1, 1, 8, 8};
    FkImageOut o1 = {&r1, FK_DTYPE_F64, 1, 1, 8, 8};
    FkSobelParams p7 = {0, 1, 7, FK_BORDER_CONSTANT, 1.0, 0.0, 5.0};
    CHECK_OK(fk_sobel_deriv(&s1, &p7, &o1));
    /* rows -3..3 of the constant-padded column: the y kernel [-1,-4,-5,0,5,4,1] times the
     * x smoothing sum 64: 64·(5·(-1-4-5+5+4+1) + 0·2) = 0 */
    CHECK(r1 == 0.0);

    /* errors */
    FkSobelParams bad = p;
    CHECK_ERR(fk_sobel_deriv(NULL, &p, &out), FK_STATUS_NULL_POINTER, "src");
    CHECK_ERR(fk_sobel_deriv(&src, NULL, &out), FK_STATUS_NULL_POINTER, "params");
    CHECK_ERR(fk_sobel_deriv(&src, &p, NULL), FK_STATUS_NULL_POINTER, "out");
    bad.ksize = 4;
    CHECK_ERR(fk_sobel_deriv(&src, &bad, &out), FK_STATUS_INVALID_ARGUMENT, "ksize = 4; expected 1, 3, 5 or 7");
    bad.ksize = 9;
    CHECK_ERR(fk_sobel_deriv(&src, &bad, &out), FK_STATUS_INVALID_ARGUMENT, "ksize = 9");
    bad = p;
    bad.dx = bad.dy = 0;
    CHECK_ERR(fk_sobel_deriv(&src, &bad, &out), FK_STATUS_INVALID_ARGUMENT, "dx = dy = 0");
    bad = p;
    bad.dx = 5;
    CHECK_ERR(fk_sobel_deriv(&src, &bad, &out), FK_STATUS_INVALID_ARGUMENT, "dx = 5 with ksize = 5");
    bad.ksize = 1;
    bad.dx = 3;
    CHECK_ERR(fk_sobel_deriv(&src, &bad, &out), FK_STATUS_INVALID_ARGUMENT, "orders up to 2");
    bad = p;
    bad.border = FK_BORDER_ZERO;
    CHECK_ERR(fk_sobel_deriv(&src, &bad, &out), FK_STATUS_INVALID_ARGUMENT, "FK_BORDER_ZERO");
    bad.border = 17;
    CHECK_ERR(fk_sobel_deriv(&src, &bad, &out), FK_STATUS_INVALID_ARGUMENT, "border = 17");
    FkImageOut bo = out;
    bo.dtype = 42;
    CHECK_ERR(fk_sobel_deriv(&src, &p, &bo), FK_STATUS_DTYPE, "FK_DTYPE_I16");
    FkImage bs = src;
    bs.dtype = FK_DTYPE_I16;
    CHECK_ERR(fk_sobel_deriv(&bs, &p, &out), FK_STATUS_DTYPE, "src: dtype code 5 (int16)");
    bo = out;
    bo.height = H - 1;
    CHECK_ERR(fk_sobel_deriv(&src, &p, &bo), FK_STATUS_INVALID_ARGUMENT, "but the image is 5");
    bs = src;
    bs.width = 0;
    CHECK_ERR(fk_sobel_deriv(&bs, &p, &out), FK_STATUS_INVALID_ARGUMENT, "empty");
    FkImageOut over = {px, FK_DTYPE_U8, H, W, W, 1};
    CHECK_ERR(fk_sobel_deriv(&src, &p, &over), FK_STATUS_OVERLAP, "overlaps the input");
    bo = out;
    bo.col_stride = 0;
    CHECK_ERR(fk_sobel_deriv(&src, &p, &bo), FK_STATUS_OVERLAP, "elements overlap");
    bo = out;
    bo.data = (char *)big + 1;
    CHECK_ERR(fk_sobel_deriv(&src, &p, &bo), FK_STATUS_INVALID_ARGUMENT, "not aligned");
}

int main(void) {
    (void)batch_texts; /* check.h's text helper, unused here */
    test_sobel();
    test_sobel_deriv();
    test_grayscale_and_edges();
    test_sum();
    test_polyval();
    test_count_primes();
    test_progress_variants();
    test_primes_list();
    return finish("test_arrays");
}
