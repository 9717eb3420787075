/* The text C API from C: every function and every error path. Run under valgrind by
 * `make test-c` (no leaks, no invalid accesses). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "check.h"

static int streq(const uint8_t *data, const uint64_t *offs, size_t i, const char *want) {
    size_t l = (size_t)(offs[i + 1] - offs[i]);
    return l == strlen(want) && memcmp(data + offs[i], want, l) == 0;
}

static void test_version_and_threads(void) {
    CHECK(fk_abi_version() == FK_ABI_VERSION);
    CHECK(strlen(fk_version()) > 0);
    CHECK_OK(fk_set_threads(3));
    CHECK(fk_threads() == 3);
    CHECK_ERR(fk_set_threads(100000), FK_STATUS_INVALID_ARGUMENT, "thread count");
    CHECK_OK(fk_set_threads(0));
    CHECK(fk_threads() >= 1);
}

static void *threads_seen_by_another_thread(void *out) {
    *(size_t *)out = fk_threads();
    return NULL;
}

/* One call's emails, as one NUL-joined string, for comparing runs. */
static void emails_of(const char **texts, size_t n, char *out, size_t out_len) {
    Batch b;
    FkTexts t = batch_texts(&b, texts, n);
    FkMatches *m = NULL;
    CHECK_OK(fk_extract_emails(&t, &m));
    FkMatchesView v;
    CHECK_OK(fk_matches_view(m, &v));
    CHECK(v.data_len + 1 <= out_len);
    memcpy(out, v.data, v.data_len);
    out[v.data_len] = 0;
    fk_matches_free(m);
}

static void test_local_threads(void) {
    CHECK_OK(fk_set_threads(3));
    CHECK_OK(fk_set_local_threads(1));
    CHECK(fk_threads() == 1);
    size_t other = 0;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, threads_seen_by_another_thread, &other) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(other == 3); /* the limit is this thread's only */
    CHECK_OK(fk_set_local_threads(5));
    CHECK(fk_threads() == 3); /* never above the process-wide count */
    CHECK_ERR(fk_set_local_threads(100000), FK_STATUS_INVALID_ARGUMENT, "thread count");
    CHECK(fk_threads() == 3); /* a refused limit changes nothing */

    /* Same results with and without the limit, each count with its own pool. */
    static const char *texts[] = {"a@b.cc x", "", "Mail C@D.org and e@f.io", "no"};
    char limited[256], full[256];
    CHECK_OK(fk_set_local_threads(1));
    emails_of(texts, 4, limited, sizeof limited);
    CHECK_OK(fk_set_local_threads(0));
    CHECK(fk_threads() == 3);
    emails_of(texts, 4, full, sizeof full);
    CHECK(strcmp(limited, full) == 0 && strcmp(full, "a@b.ccc@d.orge@f.io") == 0);
    CHECK_OK(fk_set_threads(0));
}

static void test_extract_and_aggregate(void) {
    const char *texts[] = {"a 1 b 2 a 3", "", "\xe4\xbb\xb7 12 x\xc2\xb2 \xd9\xa3\xd9\xa4", "k 99999999999999999999 k 1"};
    Batch b;
    FkTexts t = batch_texts(&b, texts, 4);
    FkKeySums *s = NULL;
    CHECK_OK(fk_extract_and_aggregate(&t, 4300, &s));
    FkKeySumsView v;
    CHECK_OK(fk_key_sums_view(s, &v));
    CHECK(v.n_texts == 4 && v.n_entries == 5);
    CHECK(v.text_offsets[0] == 0 && v.text_offsets[1] == 2 && v.text_offsets[2] == 2 && v.text_offsets[4] == 5);
    CHECK(streq(v.keys, v.key_offsets, 0, "a") && v.values[0] == 4);
    CHECK(streq(v.keys, v.key_offsets, 1, "b") && v.values[1] == 2);
    CHECK(streq(v.keys, v.key_offsets, 3, "x\xc2\xb2") && v.values[3] == 34); /* x² -> Arabic-Indic 34 */
    CHECK(v.n_big == 1 && v.big_index[0] == 4 && v.values[4] == 0);
    CHECK(streq(v.big_data, v.big_offsets, 0, "100000000000000000000"));

    /* fk_key_sums_big_value: the big entry's text, NULL for every entry that fits */
    const uint8_t *txt = (const uint8_t *)"x";
    size_t txt_len = 99;
    CHECK_OK(fk_key_sums_big_value(s, 4, &txt, &txt_len));
    CHECK(txt != NULL && txt_len == 21 && memcmp(txt, "100000000000000000000", 21) == 0);
    for (size_t e = 0; e < 4; e++) {
        txt = (const uint8_t *)"x";
        txt_len = 99;
        CHECK_OK(fk_key_sums_big_value(s, e, &txt, &txt_len));
        CHECK(txt == NULL && txt_len == 0);
    }
    CHECK_ERR(fk_key_sums_big_value(s, 5, &txt, &txt_len), FK_STATUS_INVALID_ARGUMENT, "entry 5 is out of range (5 entries)");
    CHECK_ERR(fk_key_sums_big_value(s, 0, NULL, &txt_len), FK_STATUS_NULL_POINTER, "text");
    CHECK_ERR(fk_key_sums_big_value(s, 0, &txt, NULL), FK_STATUS_NULL_POINTER, "text_len");
    CHECK_ERR(fk_key_sums_big_value(NULL, 0, &txt, &txt_len), FK_STATUS_NULL_POINTER, "FkKeySums");
    fk_key_sums_free(s);

    /* Python's int() digit limit */
    char big[64] = "k ";
    memset(big + 2, '7', 40);
    big[42] = 0;
    const char *bt[] = {big};
    t = batch_texts(&b, bt, 1);
    s = NULL;
    CHECK_ERR(fk_extract_and_aggregate(&t, 30, &s), FK_STATUS_INVALID_VALUE, "Exceeds the limit (30 digits)");
    CHECK(s == NULL);
}

static void test_emails(void) {
    const char *texts[] = {"Mail Bob@Example.COM or li@163.com.", "none", "\xe2\x84\xaaim@x.org"};
    Batch b;
    FkTexts t = batch_texts(&b, texts, 3);
    FkMatches *m = NULL;
    CHECK_OK(fk_extract_emails(&t, &m));
    FkMatchesView v;
    CHECK_OK(fk_matches_view(m, &v));
    CHECK(v.n_texts == 3 && v.n_fields == 3 && v.fields_per_match == 1);
    CHECK(streq(v.data, v.field_offsets, 0, "bob@example.com"));
    CHECK(streq(v.data, v.field_offsets, 1, "li@163.com"));
    CHECK(streq(v.data, v.field_offsets, 2, "kim@x.org")); /* KELVIN SIGN lowers to k */
    CHECK(v.text_offsets[1] == 2 && v.text_offsets[2] == 2 && v.text_offsets[3] == 3);
    fk_matches_free(m);
}

static void test_pattern(void) {
    const char *src = "(\\w+)=(\\d+)";
    FkPattern *p = NULL;
    CHECK_OK(fk_pattern_new((const uint8_t *)src, strlen(src), 0, &p));
    size_t groups = 0;
    CHECK_OK(fk_pattern_groups(p, &groups));
    CHECK(groups == 2);

    const char *texts[] = {"a=1 b=2 a=5", "c=3", ""};
    Batch b;
    FkTexts t = batch_texts(&b, texts, 3);

    FkMatches *m = NULL;
    CHECK_OK(fk_findall(p, &t, 0, &m));
    FkMatchesView v;
    CHECK_OK(fk_matches_view(m, &v));
    CHECK(v.fields_per_match == 2 && v.n_fields == 8);
    CHECK(streq(v.data, v.field_offsets, 0, "a") && streq(v.data, v.field_offsets, 1, "1"));
    CHECK(v.text_offsets[1] == 3 && v.text_offsets[2] == 4 && v.text_offsets[3] == 4);
    fk_matches_free(m);

    uint64_t counts[3] = {9, 9, 9};
    CHECK_OK(fk_count(p, &t, counts, 3));
    CHECK(counts[0] == 3 && counts[1] == 1 && counts[2] == 0);
    CHECK_ERR(fk_count(p, &t, counts, 2), FK_STATUS_BUFFER_TOO_SMALL, "3 texts");
    CHECK_ERR(fk_count(p, &t, (uint64_t *)(void *)b.data, 3), FK_STATUS_OVERLAP, "overlaps");
    CHECK_ERR(fk_count(p, &t, (uint64_t *)(void *)b.offsets, 3), FK_STATUS_OVERLAP, "overlaps");

    FkKeySums *s = NULL;
    CHECK_OK(fk_sum_by_key(p, &t, 0, &s));
    FkKeySumsView kv;
    CHECK_OK(fk_key_sums_view(s, &kv));
    CHECK(kv.n_entries == 3 && kv.values[0] == 6 && kv.values[1] == 2 && kv.values[2] == 3);
    fk_key_sums_free(s);

    FkFrequencies *f = NULL;
    CHECK_OK(fk_frequencies(p, &t, -1, 0, &f));
    FkFrequenciesView fv;
    CHECK_OK(fk_frequencies_view(f, &fv));
    CHECK(fv.n_items == 3 && streq(fv.data, fv.offsets, 0, "a") && fv.counts[0] == 2);
    CHECK(streq(fv.data, fv.offsets, 1, "b") && streq(fv.data, fv.offsets, 2, "c"));
    fk_frequencies_free(f);
    f = NULL;
    CHECK_ERR(fk_frequencies(p, &t, 5, 0, &f), FK_STATUS_INVALID_ARGUMENT, "group 5");
    CHECK_OK(fk_frequencies(p, &t, 0, 1, &f));
    CHECK_OK(fk_frequencies_view(f, &fv));
    CHECK(fv.n_items == 1);
    fk_frequencies_free(f);

    /* lowercasing option; bad options */
    const char *up = "[A-Z\\u0130]+";
    FkPattern *q = NULL;
    CHECK_OK(fk_pattern_new((const uint8_t *)up, strlen(up), 0, &q));
    const char *ut[] = {"ABC def GH"};
    FkTexts t2 = batch_texts(&b, ut, 1);
    m = NULL;
    CHECK_OK(fk_findall(q, &t2, FK_FINDALL_LOWERCASE, &m));
    CHECK_OK(fk_matches_view(m, &v));
    CHECK(v.n_fields == 2 && streq(v.data, v.field_offsets, 0, "abc") && streq(v.data, v.field_offsets, 1, "gh"));
    fk_matches_free(m);
    CHECK_ERR(fk_findall(q, &t2, 0x80, &m), FK_STATUS_INVALID_ARGUMENT, "options");
    fk_pattern_free(q);

    /* sum_by_key needs two groups; values must be ints */
    const char *one = "(\\w+)";
    CHECK_OK(fk_pattern_new((const uint8_t *)one, strlen(one), 0, &q));
    CHECK_ERR(fk_sum_by_key(q, &t, 0, &s), FK_STATUS_INVALID_ARGUMENT, "exactly two capture groups");
    fk_pattern_free(q);
    const char *kvs = "(\\w+)=(\\S+)";
    CHECK_OK(fk_pattern_new((const uint8_t *)kvs, strlen(kvs), 0, &q));
    const char *bad[] = {"a=1", "b=zz"};
    t2 = batch_texts(&b, bad, 2);
    CHECK_ERR(fk_sum_by_key(q, &t2, 0, &s), FK_STATUS_INVALID_VALUE, "text 1: invalid literal for int() with base 10: 'zz'");
    fk_pattern_free(q);

    fk_pattern_free(p);
}

static void test_pattern_errors(void) {
    FkPattern *p = NULL;
    CHECK_ERR(fk_pattern_new((const uint8_t *)"a(", 2, 0, &p), FK_STATUS_PATTERN_SYNTAX, "invalid pattern");
    CHECK_ERR(fk_pattern_new((const uint8_t *)"(a)\\1", 5, 0, &p), FK_STATUS_PATTERN_UNSUPPORTED, "backreference");
    CHECK_ERR(fk_pattern_new((const uint8_t *)"a(?=b)", 6, 0, &p), FK_STATUS_PATTERN_UNSUPPORTED, "lookahead");
    const char *huge = "(?:\\w{1000}){1000}";
    CHECK_ERR(fk_pattern_new((const uint8_t *)huge, strlen(huge), 0, &p), FK_STATUS_PATTERN_TOO_LARGE, "too large");
    CHECK_ERR(fk_pattern_new((const uint8_t *)"\xff", 1, 0, &p), FK_STATUS_INVALID_UTF8, "not valid UTF-8");
    CHECK_ERR(fk_pattern_new(NULL, 3, 0, &p), FK_STATUS_NULL_POINTER, "pattern is NULL");
    CHECK_ERR(fk_pattern_new((const uint8_t *)"a", 1, 0x20, &p), FK_STATUS_INVALID_ARGUMENT, "flags");
    CHECK_ERR(fk_pattern_new((const uint8_t *)"a", 1, 0, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK(p == NULL);
    /* the empty pattern and ignore-case compile */
    CHECK_OK(fk_pattern_new(NULL, 0, FK_PATTERN_IGNORE_CASE, &p));
    fk_pattern_free(p);
    size_t g;
    CHECK_ERR(fk_pattern_groups(NULL, &g), FK_STATUS_NULL_POINTER, "FkPattern is NULL");
}

static void test_batch_errors(void) {
    FkKeySums *s = NULL;
    FkMatches *m = NULL;
    CHECK_ERR(fk_extract_and_aggregate(NULL, 0, &s), FK_STATUS_NULL_POINTER, "texts is NULL");

    int64_t offs[3] = {0, 2, 5};
    FkTexts t = {(const uint8_t *)"ok\xffno", 5, offs, 2, FK_OFFSETS_I64, 0};
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_INVALID_UTF8, "text 1 is not valid UTF-8");
    t.first_index = 4000; /* a slice of a longer list: messages use the caller's numbering */
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_INVALID_UTF8, "text 4001 is not valid UTF-8");
    t.first_index = 0;

    int64_t back[3] = {0, 3, 2};
    t.offsets = back;
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_INVALID_ARGUMENT, "not monotonic");
    int64_t past[3] = {0, 2, 9};
    t.offsets = past;
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_INVALID_ARGUMENT, "exceeds the data length");
    int64_t neg[3] = {-1, 2, 3};
    t.offsets = neg;
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_INVALID_ARGUMENT, "negative");
    t.offsets = offs;
    t.offset_kind = 7;
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_INVALID_ARGUMENT, "offset_kind");
    t.offset_kind = FK_OFFSETS_I64;
    t.n_texts = SIZE_MAX;
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_INVALID_ARGUMENT, "overflows");
    t.n_texts = SIZE_MAX / 4;
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_INVALID_ARGUMENT, "overflows the address space");
    t.n_texts = 2;
    t.data = NULL;
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_NULL_POINTER, "texts.data is NULL");
    t.data = (const uint8_t *)"ok\xffno";
    t.offsets = NULL;
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_NULL_POINTER, "texts.offsets is NULL");
    t.offsets = (const char *)offs + 1; /* misaligned int64 offsets */
    CHECK_ERR(fk_extract_emails(&t, &m), FK_STATUS_INVALID_ARGUMENT, "not aligned");
    CHECK(m == NULL);

    /* 32-bit offsets, a sliced array (offsets[0] != 0), and an empty batch */
    int32_t o32[3] = {1, 4, 7};
    FkTexts t32 = {(const uint8_t *)"xa 1b 2", 7, o32, 2, FK_OFFSETS_I32, 0};
    CHECK_OK(fk_extract_and_aggregate(&t32, 0, &s));
    FkKeySumsView v;
    CHECK_OK(fk_key_sums_view(s, &v));
    CHECK(v.n_texts == 2 && v.n_entries == 2 && streq(v.keys, v.key_offsets, 0, "a") && v.values[1] == 2);
    fk_key_sums_free(s);
    int64_t zero = 0;
    FkTexts empty = {NULL, 0, &zero, 0, FK_OFFSETS_I64, 0};
    CHECK_OK(fk_extract_emails(&empty, &m));
    FkMatchesView mv;
    CHECK_OK(fk_matches_view(m, &mv));
    CHECK(mv.n_texts == 0 && mv.n_fields == 0);
    fk_matches_free(m);

    /* Python-style code-point lengths */
    uint64_t lens[2] = {2, 3};
    FkTexts tl = {(const uint8_t *)"\xc3\xa9" "a" "b 1", 6, lens, 2, FK_OFFSETS_CHAR_LENGTHS, 0};
    CHECK_OK(fk_extract_and_aggregate(&tl, 0, &s));
    CHECK_OK(fk_key_sums_view(s, &v));
    CHECK(v.n_entries == 1 && streq(v.keys, v.key_offsets, 0, "b"));
    fk_key_sums_free(s);
    lens[1] = 9;
    CHECK_ERR(fk_extract_and_aggregate(&tl, 0, &s), FK_STATUS_INVALID_ARGUMENT, "character lengths");
}

static void test_handles_and_views(void) {
    FkMatchesView v;
    CHECK_ERR(fk_matches_view(NULL, &v), FK_STATUS_NULL_POINTER, "FkMatches is NULL");
    FkKeySumsView kv;
    CHECK_ERR(fk_key_sums_view(NULL, &kv), FK_STATUS_NULL_POINTER, "FkKeySums is NULL");
    FkFrequenciesView fv;
    CHECK_ERR(fk_frequencies_view(NULL, &fv), FK_STATUS_NULL_POINTER, "FkFrequencies is NULL");
    /* freeing NULL is a no-op */
    fk_pattern_free(NULL);
    fk_matches_free(NULL);
    fk_key_sums_free(NULL);
    fk_frequencies_free(NULL);
    /* a handle of the wrong type is refused, not misread */
    FkPattern *p = NULL;
    CHECK_OK(fk_pattern_new((const uint8_t *)"a", 1, 0, &p));
    CHECK_ERR(fk_matches_view((const FkMatches *)(const void *)p, &v), FK_STATUS_INVALID_HANDLE, "not live");
    FkMatches *m = NULL;
    int64_t offs[2] = {0, 1};
    FkTexts t = {(const uint8_t *)"a", 1, offs, 1, FK_OFFSETS_I64, 0};
    CHECK_OK(fk_findall(p, &t, 0, &m));
    CHECK_ERR(fk_matches_view(m, NULL), FK_STATUS_NULL_POINTER, "view");
    fk_matches_free(m);
    fk_pattern_free(p);
}

static void test_char_offsets(void) {
    const char *s = "a\xc3\xa9\xe4\xb8\xad!"; /* a é 中 ! */
    uint64_t bytes[4] = {0, 1, 6, 7};
    uint64_t chars[4];
    CHECK_OK(fk_utf8_char_offsets((const uint8_t *)s, 7, bytes, 4, chars));
    CHECK(chars[0] == 0 && chars[1] == 1 && chars[2] == 3 && chars[3] == 4);
    uint64_t mid[2] = {0, 2};
    CHECK_ERR(fk_utf8_char_offsets((const uint8_t *)s, 7, mid, 2, chars), FK_STATUS_INVALID_ARGUMENT, "boundary");
    CHECK_ERR(fk_utf8_char_offsets((const uint8_t *)s, 7, bytes, 4, bytes), FK_STATUS_OVERLAP, "overlaps");
    CHECK_ERR(fk_utf8_char_offsets((const uint8_t *)s, 7, NULL, 4, chars), FK_STATUS_NULL_POINTER, "byte_offsets");
}

static void test_join_strings(void) {
    const char *data = "ab" "" "c\xc3\xa9";
    uint64_t offs[4] = {0, 2, 2, 5};
    uint8_t out[7];
    CHECK_OK(fk_join_strings((const uint8_t *)data, 5, offs, 3, 0, out, 7));
    CHECK(memcmp(out, "ab\0\0c\xc3\xa9", 7) == 0);
    CHECK_ERR(fk_join_strings((const uint8_t *)data, 5, offs, 3, 0, out, 6), FK_STATUS_BUFFER_TOO_SMALL, "exactly 7 bytes");
    CHECK_ERR(fk_join_strings((const uint8_t *)data, 5, offs, 3, 'b', out, 7), FK_STATUS_INVALID_VALUE, "separator");
    CHECK_ERR(fk_join_strings((const uint8_t *)data, 5, offs, 3, 0, (uint8_t *)offs, 7), FK_STATUS_OVERLAP, "overlaps");
    uint64_t bad[2] = {3, 1};
    CHECK_ERR(fk_join_strings((const uint8_t *)data, 5, bad, 1, 0, out, 0), FK_STATUS_INVALID_ARGUMENT, "monotonic");
    CHECK_ERR(fk_join_strings((const uint8_t *)data, 5, NULL, 1, 0, out, 1), FK_STATUS_NULL_POINTER, "offsets");
    CHECK_ERR(fk_join_strings((const uint8_t *)data, 5, offs, SIZE_MAX, 0, out, 1), FK_STATUS_INVALID_ARGUMENT, "overflows");
    uint64_t zero = 0;
    CHECK_OK(fk_join_strings(NULL, 0, &zero, 0, 0, NULL, 0));
}

static void test_join_unique_strings(void) {
    const char *data = "ab" "" "ab" "c";
    uint64_t offs[5] = {0, 2, 2, 4, 5};
    uint8_t out[8];
    uint64_t ids[4];
    size_t used = 99, n_unique = 99;
    CHECK_OK(fk_join_unique_strings((const uint8_t *)data, 5, offs, 4, 0, out, 8, ids, &used, &n_unique));
    CHECK(used == 5 && n_unique == 3 && memcmp(out, "ab\0\0c", 5) == 0);
    CHECK(ids[0] == 0 && ids[1] == 1 && ids[2] == 0 && ids[3] == 2);
    CHECK_ERR(fk_join_unique_strings((const uint8_t *)data, 5, offs, 4, 0, out, 7, ids, &used, &n_unique),
              FK_STATUS_BUFFER_TOO_SMALL, "at least 8 bytes");
    CHECK_ERR(fk_join_unique_strings((const uint8_t *)data, 5, offs, 4, 'c', out, 8, ids, &used, &n_unique),
              FK_STATUS_INVALID_VALUE, "separator");
    CHECK_ERR(fk_join_unique_strings((const uint8_t *)data, 5, offs, 4, 0, out, 8, (uint64_t *)out, &used, &n_unique),
              FK_STATUS_OVERLAP, "overlaps");
    CHECK_ERR(fk_join_unique_strings((const uint8_t *)data, 5, offs, 4, 0, out, 8, ids, NULL, &n_unique),
              FK_STATUS_NULL_POINTER, "out_used");
    uint64_t zero = 0;
    CHECK_OK(fk_join_unique_strings(NULL, 0, &zero, 0, 0, NULL, 0, NULL, &used, &n_unique));
    CHECK(used == 0 && n_unique == 0);
}

int main(void) {
    test_version_and_threads();
    test_local_threads();
    test_extract_and_aggregate();
    test_emails();
    test_pattern();
    test_pattern_errors();
    test_batch_errors();
    test_handles_and_views();
    test_char_offsets();
    test_join_strings();
    test_join_unique_strings();
    return finish("C text API");
}
