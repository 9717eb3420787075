/* The rest of `re` from C: fk_search (search/match/fullmatch/finditer), fk_subn, fk_split,
 * fk_pattern_group_name, their views and frees, and their errors. Run under valgrind by
 * `make test-c` (no leaks, no invalid accesses). */
#include <stdint.h>
#include <stdlib.h>
#include "check.h"

static int streq(const uint8_t *data, const uint64_t *offs, size_t i, const char *want) {
    size_t l = (size_t)(offs[i + 1] - offs[i]);
    return l == strlen(want) && memcmp(data + offs[i], want, l) == 0;
}

static FkPattern *compile(const char *src) {
    FkPattern *p = NULL;
    CHECK_OK(fk_pattern_new((const uint8_t *)src, strlen(src), 0, &p));
    return p;
}

static void test_search_modes(void) {
    FkPattern *p = compile("(?P<k>\\w)(=)?");
    /* "é" is two bytes: spans are in code points */
    const char *texts[] = {"\xc3\xa9x=", "--a", ""};
    Batch b;
    FkTexts t = batch_texts(&b, texts, 3);
    FkSpans *s = NULL;
    FkSpansView v;

    CHECK_OK(fk_search(p, &t, FK_SEARCH, &s));
    CHECK_OK(fk_spans_view(s, &v));
    CHECK(v.n_texts == 3 && v.spans_per_match == 3 && v.n_matches == 2);
    CHECK(v.text_offsets[0] == 0 && v.text_offsets[1] == 1 && v.text_offsets[2] == 2 && v.text_offsets[3] == 2);
    /* text 0: "é" at 0..1, group 1 0..1, group 2 did not take part */
    CHECK(v.spans[0] == 0 && v.spans[1] == 1 && v.spans[2] == 0 && v.spans[3] == 1);
    CHECK(v.spans[4] == -1 && v.spans[5] == -1);
    /* text 1: "a" at 2..3 */
    CHECK(v.spans[6] == 2 && v.spans[7] == 3);
    fk_spans_free(s);

    s = NULL;
    CHECK_OK(fk_search(p, &t, FK_MATCH, &s));
    CHECK_OK(fk_spans_view(s, &v));
    CHECK(v.n_matches == 1 && v.text_offsets[1] == 1 && v.text_offsets[2] == 1);
    fk_spans_free(s);

    s = NULL;
    CHECK_OK(fk_search(p, &t, FK_FULLMATCH, &s));
    CHECK_OK(fk_spans_view(s, &v));
    CHECK(v.n_matches == 0 && v.text_offsets[3] == 0);
    fk_spans_free(s);

    s = NULL;
    CHECK_OK(fk_search(p, &t, FK_FINDITER, &s));
    CHECK_OK(fk_spans_view(s, &v));
    CHECK(v.n_matches == 3 && v.text_offsets[1] == 2);
    /* text 0's second match: "x=" at 1..3 with group 2 at 2..3 */
    CHECK(v.spans[6] == 1 && v.spans[7] == 3 && v.spans[10] == 2 && v.spans[11] == 3);
    fk_spans_free(s);

    CHECK_ERR(fk_search(p, &t, 7, &s), FK_STATUS_INVALID_ARGUMENT, "unknown search mode 7");
    CHECK_ERR(fk_search(p, &t, FK_SEARCH, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_search(NULL, &t, FK_SEARCH, &s), FK_STATUS_NULL_POINTER, "FkPattern");
    CHECK_ERR(fk_search(p, NULL, FK_SEARCH, &s), FK_STATUS_NULL_POINTER, "texts");
    CHECK_ERR(fk_spans_view(NULL, &v), FK_STATUS_NULL_POINTER, "FkSpans");
    fk_spans_free(NULL);

    /* group names */
    const uint8_t *name = NULL;
    size_t len = 0;
    CHECK_OK(fk_pattern_group_name(p, 1, &name, &len));
    CHECK(name != NULL && len == 1 && name[0] == 'k');
    CHECK_OK(fk_pattern_group_name(p, 2, &name, &len));
    CHECK(name == NULL && len == 0);
    CHECK_ERR(fk_pattern_group_name(p, 3, &name, &len), FK_STATUS_INVALID_ARGUMENT, "group 3 does not exist");
    CHECK_ERR(fk_pattern_group_name(p, 0, &name, &len), FK_STATUS_INVALID_ARGUMENT, "group 0 does not exist");
    CHECK_ERR(fk_pattern_group_name(p, 1, NULL, &len), FK_STATUS_NULL_POINTER, "name");
    fk_pattern_free(p);
}

static void test_subn(void) {
    FkPattern *p = compile("(?P<w>a)|x*");
    const char *texts[] = {"abxd", "", "\xc3\xa9"};
    Batch b;
    FkTexts t = batch_texts(&b, texts, 3);
    FkSubs *s = NULL;
    FkSubsView v;
    const char *repl = "<\\g<w>\\1\\n>";
    CHECK_OK(fk_subn(p, &t, (const uint8_t *)repl, strlen(repl), 0, &s));
    CHECK_OK(fk_subs_view(s, &v));
    CHECK(v.n_texts == 3);
    /* re.subn('(?P<w>a)|x*', r'<\g<w>\1\n>', 'abxd') == ('<aa\n><\n>b<\n><\n>d<\n>', 5) */
    CHECK(streq(v.data, v.offsets, 0, "<aa\n><\n>b<\n><\n>d<\n>") && v.counts[0] == 5);
    CHECK(streq(v.data, v.offsets, 1, "<\n>") && v.counts[1] == 1);
    CHECK(streq(v.data, v.offsets, 2, "<\n>\xc3\xa9<\n>") && v.counts[2] == 2);
    fk_subs_free(s);

    /* count: 1 replacement; negative: none */
    s = NULL;
    CHECK_OK(fk_subn(p, &t, (const uint8_t *)"-", 1, 1, &s));
    CHECK_OK(fk_subs_view(s, &v));
    CHECK(streq(v.data, v.offsets, 0, "-bxd") && v.counts[0] == 1);
    fk_subs_free(s);
    s = NULL;
    CHECK_OK(fk_subn(p, &t, NULL, 0, -1, &s));
    CHECK_OK(fk_subs_view(s, &v));
    CHECK(streq(v.data, v.offsets, 0, "abxd") && v.counts[0] == 0);
    fk_subs_free(s);

    /* template errors are Python's re.error (or its IndexError) */
    s = NULL;
    CHECK_ERR(fk_subn(p, &t, (const uint8_t *)"\\2", 2, 0, &s), FK_STATUS_PATTERN_SYNTAX, "invalid group reference 2");
    CHECK_ERR(fk_subn(p, &t, (const uint8_t *)"\\g<v>", 5, 0, &s), FK_STATUS_PATTERN_SYNTAX, "unknown group name 'v'");
    CHECK_ERR(fk_subn(p, &t, (const uint8_t *)"\\q", 2, 0, &s), FK_STATUS_PATTERN_SYNTAX, "bad escape \\q");
    CHECK_ERR(fk_subn(p, &t, (const uint8_t *)"a\\", 2, 0, &s), FK_STATUS_PATTERN_SYNTAX, "bad escape (end of pattern)");
    CHECK_ERR(fk_subn(p, &t, (const uint8_t *)"\\g<+1>", 6, 0, &s), FK_STATUS_PATTERN_UNSUPPORTED, "not supported");
    CHECK_ERR(fk_subn(p, &t, (const uint8_t *)"\xff", 1, 0, &s), FK_STATUS_INVALID_UTF8, "repl");
    CHECK_ERR(fk_subn(p, &t, NULL, 3, 0, &s), FK_STATUS_NULL_POINTER, "repl");
    CHECK_ERR(fk_subn(p, &t, (const uint8_t *)"-", 1, 0, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK(s == NULL);
    CHECK_ERR(fk_subs_view(NULL, &v), FK_STATUS_NULL_POINTER, "FkSubs");
    fk_subs_free(NULL);
    fk_pattern_free(p);
}

static void test_split(void) {
    FkPattern *p = compile("(,)|(;)");
    const char *texts[] = {"a,b;c", "", "x"};
    Batch b;
    FkTexts t = batch_texts(&b, texts, 3);
    FkSplit *s = NULL;
    FkSplitView v;
    CHECK_OK(fk_split(p, &t, 0, &s));
    CHECK_OK(fk_split_view(s, &v));
    /* re.split('(,)|(;)', 'a,b;c') == ['a', ',', None, 'b', None, ';', 'c'] */
    CHECK(v.n_texts == 3 && v.n_items == 9);
    CHECK(v.text_offsets[1] == 7 && v.text_offsets[2] == 8 && v.text_offsets[3] == 9);
    CHECK(streq(v.data, v.item_offsets, 0, "a") && streq(v.data, v.item_offsets, 1, ","));
    CHECK(v.is_none[2] == 1 && v.is_none[4] == 1 && v.is_none[1] == 0 && v.is_none[7] == 0);
    CHECK(streq(v.data, v.item_offsets, 5, ";") && streq(v.data, v.item_offsets, 6, "c"));
    CHECK(streq(v.data, v.item_offsets, 7, "") && streq(v.data, v.item_offsets, 8, "x"));
    fk_split_free(s);

    s = NULL;
    CHECK_OK(fk_split(p, &t, 1, &s));
    CHECK_OK(fk_split_view(s, &v));
    CHECK(v.text_offsets[1] == 4 && streq(v.data, v.item_offsets, 3, "b;c"));
    fk_split_free(s);

    CHECK_ERR(fk_split(p, &t, 0, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_split_view(NULL, &v), FK_STATUS_NULL_POINTER, "FkSplit");
    fk_split_free(NULL);
    /* a freed handle is refused, not dereferenced */
    fk_pattern_free(p);
    CHECK_ERR(fk_split(p, &t, 0, &s), FK_STATUS_INVALID_HANDLE, "FkPattern");
}

int main(void) {
    test_search_modes();
    test_subn();
    test_split();
    return finish("test_re");
}
