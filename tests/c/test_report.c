/* The report C API from C: every function and every error path. Run under valgrind by
 * `make test-c` (no leaks, no invalid accesses). */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"

#define P(s) (const uint8_t *)(s), strlen(s)

static char g_dir[64];

static const char *path_of(const char *name) {
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

/* The file at `path` (at most `cap - 1` bytes of it) into `buf`, NUL-terminated; bytes read. */
static size_t read_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    return n;
}

/* The report's JSON as a NUL-terminated malloc'ed string. */
static char *json_of(const FkReport *r, uint32_t flags) {
    FkBytes *b = NULL;
    if (fk_report_to_json(r, flags, &b) != FK_STATUS_OK) return NULL;
    const uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(fk_bytes_data(b, &data, &len));
    char *s = malloc(len + 1);
    memcpy(s, data, len);
    s[len] = 0;
    fk_bytes_free(b);
    return s;
}

static FkReport *new_report(size_t chunk) {
    FkReportConfig c;
    CHECK_OK(fk_report_config_default(&c));
    c.chunk_bytes = chunk;
    FkReport *r = NULL;
    CHECK_OK(fk_report_new(&c, &r));
    return r;
}

static const char CORPUS[] =
    "Mail Bob@Example.COM a 1 b 2\n"
    "\xff\xfe not utf-8\n"
    "\xe4\xbb\xb7\xe6\xa0\xbc 12 li@163.com\r\n"
    "\n"
    "k 99999999999999999999 k 1\n"
    "last 5"; /* no final newline */

static void test_config_errors(void) {
    FkReportConfig c;
    CHECK_ERR(fk_report_config_default(NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_OK(fk_report_config_default(&c));
    CHECK(c.extractors == (FK_REPORT_EMAILS | FK_REPORT_KV) && c.top == 20 && c.max_digits == 4300);
    FkReport *r = NULL;
    CHECK_ERR(fk_report_new(NULL, &r), FK_STATUS_NULL_POINTER, "config");
    CHECK_ERR(fk_report_new(&c, NULL), FK_STATUS_NULL_POINTER, "out");
    c.extractors = 8;
    CHECK_ERR(fk_report_new(&c, &r), FK_STATUS_INVALID_ARGUMENT, "extractor");
    c.extractors = FK_REPORT_KV;
    c.options = 4;
    CHECK_ERR(fk_report_new(&c, &r), FK_STATUS_INVALID_ARGUMENT, "options");
    c.options = 0;
    c.chunk_bytes = 10;
    CHECK_ERR(fk_report_new(&c, &r), FK_STATUS_INVALID_ARGUMENT, "chunk size");
    c.chunk_bytes = 0;
    c.text_field = (const uint8_t *)"\xff";
    c.text_field_len = 1;
    CHECK_ERR(fk_report_new(&c, &r), FK_STATUS_INVALID_UTF8, "text_field");
    CHECK(r == NULL);
    fk_report_free(NULL);
    fk_bytes_free(NULL);
}

static void test_patterns_and_texts(void) {
    FkReport *r = new_report(0);
    FkPattern *p = NULL;
    CHECK_OK(fk_pattern_new(P("(\\w+)@"), 0, &p));
    CHECK_OK(fk_report_add_pattern(r, P("users"), p, FK_REPORT_PATTERN_FINDALL));
    CHECK_ERR(fk_report_add_pattern(r, P("users"), p, FK_REPORT_PATTERN_COUNT), FK_STATUS_INVALID_ARGUMENT, "already");
    CHECK_ERR(fk_report_add_pattern(r, P("x"), p, 7), FK_STATUS_INVALID_ARGUMENT, "mode");
    CHECK_ERR(fk_report_add_pattern(r, P("x"), NULL, 0), FK_STATUS_NULL_POINTER, "FkPattern");
    CHECK_ERR(fk_report_add_pattern(r, (const uint8_t *)"\xff", 1, p, 0), FK_STATUS_INVALID_UTF8, "name");
    CHECK_ERR(fk_report_add_pattern(NULL, P("x"), p, 0), FK_STATUS_NULL_POINTER, "FkReport");
    CHECK_ERR(fk_report_add_pattern((FkReport *)p, P("x"), p, 0), FK_STATUS_INVALID_HANDLE, "not live");
    fk_pattern_free(p); /* the report keeps its own reference */

    const char *texts[] = {"a 1 Bob@X.org", "\xff", "a 2"};
    Batch b;
    FkTexts t = batch_texts(&b, texts, 3);
    CHECK_OK(fk_report_feed_texts(r, &t));
    CHECK_ERR(fk_report_feed_texts(r, NULL), FK_STATUS_NULL_POINTER, "texts");
    t.offset_kind = 9;
    CHECK_ERR(fk_report_feed_texts(r, &t), FK_STATUS_INVALID_ARGUMENT, "offset_kind");
    CHECK_OK(fk_pattern_new(P("z"), 0, &p));
    CHECK_ERR(fk_report_add_pattern(r, P("late"), p, 0), FK_STATUS_INVALID_ARGUMENT, "before the first");
    fk_pattern_free(p);

    char *j = json_of(r, 0);
    CHECK(j && strstr(j, "\"documents\":2") && strstr(j, "\"top\":[[\"a\",3]]"));
    CHECK(j && strstr(j, "\"users\":{\"mode\":\"findall\",\"total\":1,\"distinct\":1,\"top\":[[\"Bob\",1]]}"));
    CHECK(j && strstr(j, "\"source\":\"<texts>\",\"index\":1"));
    free(j);
    fk_report_free(r);
}

static int g_calls;
static FkReport *g_self;
static FkStatus g_inner;

static int32_t count_progress(void *user, uint64_t done, uint64_t total) {
    (void)user;
    CHECK(done <= total);
    g_calls++;
    return 0;
}

static int32_t cancel_progress(void *user, uint64_t done, uint64_t total) {
    (void)user, (void)done, (void)total;
    return 1;
}

static int32_t reentrant_progress(void *user, uint64_t done, uint64_t total) {
    (void)user, (void)done, (void)total;
    FkBytes *b = NULL;
    g_inner = fk_report_to_json(g_self, 0, &b); /* the report is in use: must fail, not deadlock */
    fk_bytes_free(b);
    return 0;
}

static void test_files_ranges_merge_json(void) {
    const char *path = path_of("corpus.txt");
    write_file(path, CORPUS, strlen(CORPUS));
    size_t size = strlen(CORPUS);

    FkReport *whole = new_report(256);
    g_calls = 0;
    CHECK_OK(fk_report_feed_file(whole, P(path), count_progress, NULL));
    CHECK(g_calls >= 1);
    char *want = json_of(whole, FK_REPORT_JSON_FULL);
    CHECK(want && strstr(want, "\"lines\":6,\"documents\":5"));
    CHECK(want && strstr(want, "[\"k\",100000000000000000000]"));
    CHECK(want && strstr(want, "\"offset\":29,\"reason\":\"invalid UTF-8 at byte 0 of the line\""));

    /* Byte ranges cut anywhere (mid-line, mid-character) merge back to the whole. */
    for (size_t cut = 1; cut < size; cut += 7) {
        FkReport *a = new_report(256), *b = new_report(256), *m = new_report(0);
        CHECK_OK(fk_report_feed_file_range(a, P(path), 0, cut, NULL, NULL));
        CHECK_OK(fk_report_feed_file_range(b, P(path), cut, UINT64_MAX, NULL, NULL));
        CHECK_OK(fk_report_merge(m, a));
        CHECK_OK(fk_report_merge(m, b));
        char *got = json_of(m, FK_REPORT_JSON_FULL);
        CHECK(got && want && strcmp(got, want) == 0);
        free(got);
        fk_report_free(a);
        fk_report_free(b);
        fk_report_free(m);
    }
    CHECK_ERR(fk_report_feed_file_range(whole, P(path), 10, 5, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "after its end");

    /* JSON round trip */
    FkReport *back = NULL;
    CHECK_OK(fk_report_from_json((const uint8_t *)want, strlen(want), &back));
    char *again = json_of(back, FK_REPORT_JSON_FULL);
    CHECK(again && strcmp(again, want) == 0);
    free(again);
    char *summary = json_of(whole, FK_REPORT_JSON_PRETTY);
    FkReport *no = NULL;
    CHECK_ERR(fk_report_from_json((const uint8_t *)summary, strlen(summary), &no), FK_STATUS_INVALID_ARGUMENT, "full");
    CHECK_ERR(fk_report_from_json((const uint8_t *)"[1", 2, &no), FK_STATUS_INVALID_ARGUMENT, "not a loadable");
    CHECK_ERR(fk_report_from_json(NULL, 5, &no), FK_STATUS_NULL_POINTER, "data");
    CHECK(no == NULL);
    free(summary);

    /* binary state round trip; every truncation and a flipped byte are errors */
    {
        FkBytes *st = NULL;
        const uint8_t *sd = NULL;
        size_t sn = 0;
        CHECK_OK(fk_report_to_state(back, &st));
        CHECK_OK(fk_bytes_data(st, &sd, &sn));
        FkReport *fs = NULL;
        CHECK_OK(fk_report_from_state(sd, sn, &fs));
        char *js = json_of(fs, FK_REPORT_JSON_FULL);
        CHECK(js && want && strcmp(js, want) == 0);
        free(js);
        fk_report_free(fs);
        for (size_t n = 0; n < sn; n += (n < 64 ? 1 : 97)) {
            FkReport *t = NULL;
            CHECK_ERR(fk_report_from_state(sd, n, &t), FK_STATUS_INVALID_ARGUMENT, "not a valid report state");
            CHECK(t == NULL);
        }
        uint8_t *copy = malloc(sn);
        CHECK(copy != NULL);
        memcpy(copy, sd, sn);
        copy[sn / 2] ^= 0x10;
        FkReport *t = NULL;
        CHECK_ERR(fk_report_from_state(copy, sn, &t), FK_STATUS_INVALID_ARGUMENT, "checksum");
        /* merging from bytes: an empty report plus the state is the state; a corrupt or
           truncated state is refused and changes nothing */
        FkReport *ms = new_report(0);
        CHECK_ERR(fk_report_merge_state(ms, copy, sn), FK_STATUS_INVALID_ARGUMENT, "checksum");
        CHECK_ERR(fk_report_merge_state(ms, sd, sn - 1), FK_STATUS_INVALID_ARGUMENT, "truncated");
        CHECK_ERR(fk_report_merge_state(ms, NULL, 5), FK_STATUS_NULL_POINTER, "data");
        CHECK_ERR(fk_report_merge_state(NULL, sd, sn), FK_STATUS_NULL_POINTER, "FkReport");
        CHECK_OK(fk_report_merge_state(ms, sd, sn));
        js = json_of(ms, FK_REPORT_JSON_FULL);
        CHECK(js && want && strcmp(js, want) == 0);
        free(js);
        fk_report_free(ms);
        free(copy);
        CHECK_ERR(fk_report_to_state(whole, NULL), FK_STATUS_NULL_POINTER, "out");
        CHECK_ERR(fk_report_from_state(NULL, 5, &t), FK_STATUS_NULL_POINTER, "data");
        fk_bytes_free(st);
    }

    /* merge errors */
    CHECK_ERR(fk_report_merge(back, back), FK_STATUS_INVALID_ARGUMENT, "itself");
    FkReportConfig c;
    fk_report_config_default(&c);
    c.extractors = FK_REPORT_KV;
    FkReport *kv_only = NULL;
    CHECK_OK(fk_report_new(&c, &kv_only));
    CHECK_ERR(fk_report_merge(back, kv_only), FK_STATUS_INVALID_ARGUMENT, "built-in extractors");
    CHECK_ERR(fk_report_merge(back, NULL), FK_STATUS_NULL_POINTER, "FkReport");
    fk_report_free(kv_only);
    fk_report_free(back);

    /* to_json / write_json / bytes errors */
    FkBytes *bytes = NULL;
    CHECK_ERR(fk_report_to_json(whole, 0, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_report_to_json(whole, 64, &bytes), FK_STATUS_INVALID_ARGUMENT, "flags");
    CHECK_ERR(fk_bytes_data(NULL, NULL, NULL), FK_STATUS_NULL_POINTER, "data");
    const char *out = path_of("report.json");
    CHECK_OK(fk_report_write_json(whole, FK_REPORT_JSON_PRETTY, P(out)));
    CHECK(access(out, F_OK) == 0);
    unlink(out);
    CHECK_ERR(fk_report_write_json(whole, 0, P("/nonexistent-dir/r.json")), FK_STATUS_IO, "/nonexistent-dir/r.json");

    /* progress: cancel, and a re-entrant call fails instead of deadlocking */
    CHECK_ERR(fk_report_feed_file(whole, P(path), cancel_progress, NULL), FK_STATUS_CANCELLED, "cancelled");
    g_self = whole;
    CHECK_OK(fk_report_feed_file(whole, P(path), reentrant_progress, NULL));
    CHECK(g_inner == FK_STATUS_INVALID_ARGUMENT);
    char *after = json_of(whole, 0);
    CHECK(after && strstr(after, "\"complete\":false") && strstr(after, "cancelled by the progress callback"));
    free(after);
    free(want);
    fk_report_free(whole);
    unlink(path);
}

static void test_bad_files_and_gzip(void) {
    static const unsigned char GZ[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x56,
                                       0x30, 0x55, 0x48, 0x74, 0x48, 0xd2, 0xcb, 0x2f, 0x4a, 0xe7, 0xca, 0x56,
                                       0x30, 0xe7, 0x02, 0x00, 0xb7, 0x2d, 0xb4, 0xe8, 0x10, 0x00, 0x00, 0x00};
    const char *gz = path_of("k.gz"), *cut = path_of("cut.gz");
    write_file(gz, GZ, sizeof GZ);
    write_file(cut, GZ, 20);
    FkReport *r = new_report(0);
    CHECK_OK(fk_report_feed_file(r, P(gz), NULL, NULL));
    char *j = json_of(r, 0);
    CHECK(j && strstr(j, "\"top\":[[\"k\",12]]") && strstr(j, "[\"a@b.org\",1]"));
    free(j);
    CHECK_ERR(fk_report_feed_file_range(r, P(gz), 3, 9, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "cannot be split");
    CHECK_ERR(fk_report_feed_file(r, P(cut), NULL, NULL), FK_STATUS_DATA, "ends at byte 20");
    CHECK_ERR(fk_report_feed_file(r, P("/nonexistent/in.txt"), NULL, NULL), FK_STATUS_IO, "'/nonexistent/in.txt'");
    CHECK_ERR(fk_report_feed_file(r, P(g_dir), NULL, NULL), FK_STATUS_IO, "directory");
    CHECK_ERR(fk_report_feed_file(r, NULL, 3, NULL, NULL), FK_STATUS_NULL_POINTER, "path");
    CHECK_ERR(fk_report_feed_file(r, (const uint8_t *)"x", 0, NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "empty");
    j = json_of(r, 0);
    CHECK(j && strstr(j, "\"complete\":false") && strstr(j, "truncated gzip"));
    free(j);
    fk_report_free(r);
    unlink(gz);
    unlink(cut);
}

static void test_per_doc_and_jsonl(void) {
    const char *in = path_of("docs.jsonl"), *out = path_of("per_doc.jsonl");
    const char *lines = "{\"text\": \"a 1 A@B.com\"}\n{\"body\": 1}\n{\"text\": \"b 2\"}\n";
    write_file(in, lines, strlen(lines));
    FkReportConfig c;
    fk_report_config_default(&c);
    c.text_field = (const uint8_t *)"text";
    c.text_field_len = 4;
    FkReport *r = NULL;
    CHECK_OK(fk_report_new(&c, &r));
    CHECK_OK(fk_report_set_per_doc(r, P(out)));
    CHECK_OK(fk_report_feed_file(r, P(in), NULL, NULL));
    CHECK_OK(fk_report_set_per_doc(r, NULL, 0));
    CHECK_ERR(fk_report_set_per_doc(r, P("/nonexistent-dir/x.jsonl")), FK_STATUS_IO, "per-document");
    char got[512];
    CHECK(read_file(out, got, sizeof got) > 0);
    CHECK(strcmp(got, "{\"kv\":{\"a\":1},\"emails\":[\"a@b.com\"]}\n{\"invalid\":\"missing field \\\"text\\\"\"}\n"
                      "{\"kv\":{\"b\":2},\"emails\":[]}\n") == 0);
    fk_report_free(r);
    unlink(in);
    unlink(out);
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Issue 12: outputs never overwrite inputs, failed writes leave the old file, no partial
 * per-document file, chunk size maximum, ranges past the end, gzip zero padding. */
static void test_nothing_lost(void) {
    const char *in = path_of("in.txt"), *out = path_of("r.json"), *pd = path_of("pd.jsonl");
    write_file(in, CORPUS, sizeof CORPUS - 1);
    FkReport *r = new_report(0);
    /* the per-doc output is the input: refused before reading; the input is intact */
    CHECK_OK(fk_report_set_per_doc(r, P(in)));
    CHECK_ERR(fk_report_feed_file(r, P(in), NULL, NULL), FK_STATUS_INVALID_ARGUMENT, "per-document output");
    fk_report_free(r); /* incomplete: the per-doc output is discarded */
    CHECK(file_size(in) == (long)(sizeof CORPUS - 1));
    /* the report output or a new per-doc output is an input already read: refused */
    r = new_report(0);
    CHECK_OK(fk_report_feed_file(r, P(in), NULL, NULL));
    CHECK_ERR(fk_report_write_json(r, 0, P(in)), FK_STATUS_INVALID_ARGUMENT, "input files");
    CHECK_ERR(fk_report_set_per_doc(r, P(in)), FK_STATUS_INVALID_ARGUMENT, "input files");
    CHECK(file_size(in) == (long)(sizeof CORPUS - 1));
    /* a failed write leaves the old report in place */
    write_file(out, "old", 3);
    char under[160];
    snprintf(under, sizeof under, "%s/x.json", out);
    CHECK_ERR(fk_report_write_json(r, 0, P(under)), FK_STATUS_IO, "x.json");
    CHECK(file_size(out) == 3);
    CHECK_OK(fk_report_write_json(r, 0, P(out)));
    CHECK(file_size(out) > 3);
    /* a run that fails leaves no partial per-doc file */
    CHECK_OK(fk_report_set_per_doc(r, P(pd)));
    CHECK_OK(fk_report_feed_file(r, P(in), NULL, NULL));
    CHECK(file_size(pd) == -1); /* not published before it is closed */
    CHECK_ERR(fk_report_feed_file_range(r, P(in), 1000, 2000, NULL, NULL), FK_STATUS_IO, "past the end");
    fk_report_free(r);
    CHECK(file_size(pd) == -1);
    /* chunk size beyond the documented maximum */
    FkReportConfig c;
    CHECK_OK(fk_report_config_default(&c));
    c.chunk_bytes = (size_t)FK_REPORT_MAX_CHUNK_BYTES + 1;
    FkReport *big = NULL;
    CHECK_ERR(fk_report_new(&c, &big), FK_STATUS_INVALID_ARGUMENT, "maximum");
    c.chunk_bytes = SIZE_MAX;
    CHECK_ERR(fk_report_new(&c, &big), FK_STATUS_INVALID_ARGUMENT, "maximum");
    CHECK(big == NULL);
    unlink(in);
    unlink(out);
}

/* Arrow/Parquet nulls: counted invalid, numbered among the texts, written per document. */
static void test_nulls(void) {
    const char *pd = path_of("nulls.jsonl");
    FkReport *r = new_report(0);
    CHECK_OK(fk_report_set_per_doc(r, P(pd)));
    const char *first[] = {"a 1"}, *last[] = {"\xff", "b 2"};
    Batch b;
    FkTexts t = batch_texts(&b, first, 1);
    CHECK_OK(fk_report_feed_texts(r, &t));
    CHECK_OK(fk_report_feed_nulls(r, 2));
    CHECK_OK(fk_report_feed_nulls(r, 0));
    t = batch_texts(&b, last, 2);
    CHECK_OK(fk_report_feed_texts(r, &t));
    CHECK_ERR(fk_report_feed_nulls(NULL, 1), FK_STATUS_NULL_POINTER, "FkReport");
    FkPattern *p = NULL;
    CHECK_OK(fk_pattern_new(P("x"), 0, &p));
    CHECK_ERR(fk_report_feed_nulls((FkReport *)p, 1), FK_STATUS_INVALID_HANDLE, "not live");
    fk_pattern_free(p);
    CHECK_OK(fk_report_set_per_doc(r, NULL, 0));
    char *j = json_of(r, 0);
    /* two nulls at rows 1 and 2, the invalid UTF-8 text after them at row 3 */
    CHECK(j && strstr(j, "\"documents\":2") && strstr(j, "\"count\":3"));
    CHECK(j && strstr(j, "\"index\":1,\"reason\":\"null value (no text)\""));
    CHECK(j && strstr(j, "\"index\":2,\"reason\":\"null value (no text)\""));
    CHECK(j && strstr(j, "\"index\":3,\"reason\":\"invalid UTF-8"));
    free(j);
    char got[512];
    CHECK(read_file(pd, got, sizeof got) > 0);
    static const char head[] = "{\"kv\":{\"a\":1},\"emails\":[]}\n{\"invalid\":\"null value (no text)\"}\n"
                               "{\"invalid\":\"null value (no text)\"}\n{\"invalid\":\"invalid UTF-8";
    CHECK(strncmp(got, head, sizeof head - 1) == 0);
    CHECK(strstr(got, "\n{\"kv\":{\"b\":2},\"emails\":[]}\n") != NULL);
    fk_report_free(r);
    unlink(pd);
}

/* A report with many distinct keys. */
static void write_distinct_keys(const char *path, int lines) {
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < lines; i++) fprintf(f, "key%05d %d mail u%05d@x%d.com tag%d 1\n", i * 7919 % 100000, i, i, i % 7, i % 3);
    fclose(f);
}

/* The memory budget: a tiny one spills (fk_report_spill_stats says how much) and the
 * report is exactly the in-memory one; an unusable spill directory is an IO error that
 * names it and leaves the report incomplete. */
static void test_spill(void) {
    const char *in = path_of("keys.txt");
    write_distinct_keys(in, 3000);
    FkReportConfig c;
    CHECK_OK(fk_report_config_default(&c));
    c.chunk_bytes = 4096;
    FkReport *mem = NULL, *spilled = NULL, *broken = NULL;
    CHECK_OK(fk_report_new(&c, &mem));
    c.memory_budget = 1; /* below the input pipeline's share: spill after every chunk */
    c.spill_dir = (const uint8_t *)g_dir;
    c.spill_dir_len = strlen(g_dir);
    CHECK_OK(fk_report_new(&c, &spilled));
    CHECK_OK(fk_report_feed_file(mem, P(in), NULL, NULL));
    CHECK_OK(fk_report_feed_file(spilled, P(in), NULL, NULL));

    uint64_t bytes = 99, spills = 99;
    CHECK_OK(fk_report_spill_stats(mem, &bytes, &spills));
    CHECK(bytes == 0 && spills == 0);
    CHECK_OK(fk_report_spill_stats(spilled, &bytes, &spills));
    CHECK(bytes > 0 && spills > 1);
    uint64_t only = 0;
    CHECK_OK(fk_report_spill_stats(spilled, NULL, &only));
    CHECK(only == spills);
    CHECK_OK(fk_report_spill_stats(spilled, NULL, NULL));
    CHECK_ERR(fk_report_spill_stats(NULL, &bytes, &spills), FK_STATUS_NULL_POINTER, "FkReport");
    FkPattern *p = NULL;
    CHECK_OK(fk_pattern_new(P("x"), 0, &p));
    CHECK_ERR(fk_report_spill_stats((const FkReport *)p, &bytes, &spills), FK_STATUS_INVALID_HANDLE, "not live");
    fk_pattern_free(p);

    char *a = json_of(mem, FK_REPORT_JSON_FULL), *b = json_of(spilled, FK_REPORT_JSON_FULL);
    CHECK(a && b && strcmp(a, b) == 0);
    CHECK(a && strstr(a, "\"complete\":true"));
    free(a);
    free(b);

    char missing[128];
    snprintf(missing, sizeof missing, "%s/no-such-dir", g_dir);
    c.spill_dir = (const uint8_t *)missing;
    c.spill_dir_len = strlen(missing);
    CHECK_OK(fk_report_new(&c, &broken));
    CHECK_ERR(fk_report_feed_file(broken, P(in), NULL, NULL), FK_STATUS_IO, "no-such-dir");
    char *j = json_of(broken, 0);
    CHECK(j && strstr(j, "\"complete\":false") && strstr(j, "no-such-dir"));
    free(j);
    fk_report_free(mem);
    fk_report_free(spilled);
    fk_report_free(broken);
    unlink(in);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/fk-test-report-%d", (int)getpid());
    char cmd[128];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", g_dir);
    if (system(cmd) != 0) return 2;
    test_config_errors();
    test_patterns_and_texts();
    test_files_ranges_merge_json();
    test_bad_files_and_gzip();
    test_per_doc_and_jsonl();
    test_nothing_lost();
    test_nulls();
    test_spill();
    rmdir(g_dir);
    return finish("test_report");
}
