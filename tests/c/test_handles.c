/* Handle misuse from C must fail safely (issue 12, item 9): wild pointers, double frees,
 * handles of the wrong type, freeing a report from its own progress callback, and freeing a
 * handle from another thread while a call is using it. Run under valgrind by `make test-c`
 * and under ASan/UBSan by `make test-asan`: both must stay silent (no invalid read of freed
 * memory to check a tag, no leak of a deferred free). */
#define _POSIX_C_SOURCE 200809L /* nanosleep under -std=c11 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"

#define P(s) (const uint8_t *)(s), strlen(s)

static char g_path[96];

static void sleep_us(long us) {
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

static void write_corpus(size_t lines) {
    FILE *f = fopen(g_path, "wb");
    for (size_t i = 0; i < lines; i++) fprintf(f, "user%zu@example.com k %zu\n", i, i);
    fclose(f);
}

static FkReport *new_report(void) {
    FkReportConfig c;
    CHECK_OK(fk_report_config_default(&c));
    c.chunk_bytes = 4096; /* several chunks: several progress calls */
    FkReport *r = NULL;
    CHECK_OK(fk_report_new(&c, &r));
    return r;
}

/* A pointer the library never returned: every call refuses it, every free ignores it. */
static void test_wild_pointers(void) {
    const uintptr_t wild[] = {0x10, 0x1000, (uintptr_t)&g_pass, (uintptr_t)-16};
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        size_t groups = 0;
        CHECK_ERR(fk_pattern_groups((const FkPattern *)wild[i], &groups), FK_STATUS_INVALID_HANDLE, "not live");
        FkBytes *b = NULL;
        CHECK_ERR(fk_report_to_json((const FkReport *)wild[i], 0, &b), FK_STATUS_INVALID_HANDLE, "not live");
        CHECK(b == NULL);
        FkMatchesView v;
        CHECK_ERR(fk_matches_view((const FkMatches *)wild[i], &v), FK_STATUS_INVALID_HANDLE, "not live");
        Batch bt;
        const char *one[] = {"a@b"};
        FkTexts t = batch_texts(&bt, one, 1);
        FkMatches *m = NULL;
        CHECK_ERR(fk_findall((const FkPattern *)wild[i], &t, 0, &m), FK_STATUS_INVALID_HANDLE, "FkPattern");
        CHECK(m == NULL);
        fk_pattern_free((FkPattern *)wild[i]);
        fk_report_free((FkReport *)wild[i]);
        fk_bytes_free((FkBytes *)wild[i]);
        fk_matches_free((FkMatches *)wild[i]);
        fk_key_sums_free((FkKeySums *)wild[i]);
        fk_frequencies_free((FkFrequencies *)wild[i]);
    }
}

/* Use after free, double free, and a handle passed as another type: refused without
 * reading the freed memory (valgrind reported an invalid read here before). */
static void test_freed_and_wrong_type(void) {
    FkPattern *p = NULL;
    CHECK_OK(fk_pattern_new(P("(\\w+)@"), 0, &p));
    FkReport *r = new_report();
    size_t groups = 0;
    FkBytes *b = NULL;
    CHECK_ERR(fk_report_to_json((const FkReport *)p, 0, &b), FK_STATUS_INVALID_HANDLE, "FkReport");
    CHECK_ERR(fk_pattern_groups((const FkPattern *)r, &groups), FK_STATUS_INVALID_HANDLE, "FkPattern");
    fk_report_free((FkReport *)p); /* the wrong type: ignored, p stays live */
    CHECK_OK(fk_pattern_groups(p, &groups));
    CHECK(groups == 1);
    fk_pattern_free(p);
    CHECK_ERR(fk_pattern_groups(p, &groups), FK_STATUS_INVALID_HANDLE, "not live");
    fk_pattern_free(p); /* double free: a no-op */
    fk_report_free(r);
    CHECK_ERR(fk_report_to_json(r, 0, &b), FK_STATUS_INVALID_HANDLE, "not live");
    fk_report_free(r);
}

/* Freeing the report from its own progress callback: deferred to the end of the feed. */
static FkReport *g_victim;
static int g_progress_calls;

static int32_t free_in_progress(void *user, uint64_t done, uint64_t total) {
    (void)user, (void)done, (void)total;
    if (g_progress_calls++ == 0) {
        fk_report_free(g_victim);
        fk_report_free(g_victim); /* and twice */
        FkBytes *b = NULL;
        /* freed: any call now fails, even on this thread */
        CHECK(fk_report_to_json(g_victim, 0, &b) == FK_STATUS_INVALID_HANDLE);
        CHECK(b == NULL);
    }
    return 0;
}

static void test_free_from_progress(void) {
    g_victim = new_report();
    g_progress_calls = 0;
    FkStatus st = fk_report_feed_file(g_victim, P(g_path), free_in_progress, NULL);
    CHECK(st == FK_STATUS_OK);
    CHECK(g_progress_calls > 1); /* the feed went on after the free */
    FkBytes *b = NULL;
    CHECK_ERR(fk_report_to_json(g_victim, 0, &b), FK_STATUS_INVALID_HANDLE, "not live");
    fk_report_free(g_victim); /* already gone: a no-op; valgrind checks nothing leaked */
}

/* Freeing the report from another thread while the feed is inside its progress callback
 * (the callback waits until the other thread has freed it: deterministic overlap). */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_inside, g_freed;

static int32_t wait_for_free(void *user, uint64_t done, uint64_t total) {
    (void)user, (void)done, (void)total;
    pthread_mutex_lock(&g_mu);
    g_inside = 1;
    pthread_cond_broadcast(&g_cv);
    while (!g_freed) pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
    return 0;
}

static void *free_report_when_inside(void *arg) {
    pthread_mutex_lock(&g_mu);
    while (!g_inside) pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
    fk_report_free((FkReport *)arg);
    pthread_mutex_lock(&g_mu);
    g_freed = 1;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

static void test_free_report_from_thread(void) {
    FkReport *r = new_report();
    g_inside = g_freed = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_report_when_inside, r) == 0);
    CHECK_OK(fk_report_feed_file(r, P(g_path), wait_for_free, NULL));
    pthread_join(t, NULL);
    CHECK(g_freed == 1);
    FkBytes *b = NULL;
    CHECK_ERR(fk_report_to_json(r, 0, &b), FK_STATUS_INVALID_HANDLE, "not live");
}

/* Freeing a pattern from another thread while fk_findall runs on it (this panicked inside
 * regex and crashed before). Whether the free lands before, during or after the call is up
 * to the scheduler; every outcome must be safe: either the call saw a freed handle
 * (INVALID_HANDLE) or it ran to the right answer. */
#define N_TEXTS 4000
static FkPattern *g_shared;
static atomic_int g_started;

static void *free_pattern_soon(void *arg) {
    (void)arg;
    while (!atomic_load(&g_started)) sleep_us(50);
    sleep_us(200);
    fk_pattern_free(g_shared);
    return NULL;
}

static void test_free_pattern_during_findall(void) {
    static char data[N_TEXTS * 24];
    static int64_t offsets[N_TEXTS + 1];
    size_t pos = 0;
    offsets[0] = 0;
    for (size_t i = 0; i < N_TEXTS; i++) {
        pos += (size_t)sprintf(data + pos, "a%zu@x b%zu@y ", i, i);
        offsets[i + 1] = (int64_t)pos;
    }
    FkTexts t = {(const uint8_t *)data, pos, offsets, N_TEXTS, FK_OFFSETS_I64, 0};
    int ok = 0, refused = 0;
    for (int round = 0; round < 8; round++) {
        CHECK_OK(fk_pattern_new(P("(\\w+)@(\\w)"), 0, &g_shared));
        atomic_store(&g_started, 0);
        pthread_t th;
        CHECK(pthread_create(&th, NULL, free_pattern_soon, NULL) == 0);
        FkMatches *m = NULL;
        atomic_store(&g_started, 1);
        FkStatus st = fk_findall(g_shared, &t, 0, &m);
        pthread_join(th, NULL);
        if (st == FK_STATUS_OK) {
            ok++;
            FkMatchesView v;
            CHECK_OK(fk_matches_view(m, &v));
            CHECK(v.n_texts == N_TEXTS && v.fields_per_match == 2 && v.n_fields == 4 * N_TEXTS);
            fk_matches_free(m);
        } else {
            refused++;
            CHECK(st == FK_STATUS_INVALID_HANDLE && m == NULL);
        }
        size_t groups = 0; /* freed by now in every case */
        CHECK_ERR(fk_pattern_groups(g_shared, &groups), FK_STATUS_INVALID_HANDLE, "not live");
    }
    CHECK(ok + refused == 8);
}

int main(void) {
    snprintf(g_path, sizeof g_path, "/tmp/fk-test-handles-%d.txt", (int)getpid());
    write_corpus(2000);
    test_wild_pointers();
    test_freed_and_wrong_type();
    test_free_from_progress();
    test_free_report_from_thread();
    test_free_pattern_during_findall();
    unlink(g_path);
    return finish("test_handles");
}
