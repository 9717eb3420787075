// The C++17 wrapper (include/ferrokern.hpp): results equal the Python reference's for the
// sample texts (the expected values below are what bindings/python/ferrokern/reference.py
// returns for them), big sums are exact and cannot be read as int64, and errors surface as
// ferrokern::error with the C status. Run under valgrind by `make test-cpp-wrapper`.
#include "ferrokern.hpp"

#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

static int g_pass, g_fail;
#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (cond) {                                                                      \
            g_pass++;                                                                    \
        } else {                                                                         \
            g_fail++;                                                                    \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                                \
    } while (0)

// `expr` must throw ferrokern::error with `status` and a message containing `needle`.
#define CHECK_THROWS(expr, want_status, needle)                                             \
    do {                                                                                        \
        bool thrown_ = false;                                                                   \
        try {                                                                                   \
            (void)(expr);                                                                       \
        } catch (const ferrokern::error &e_) {                                                  \
            thrown_ = true;                                                                     \
            CHECK(e_.status() == (want_status));                                                \
            CHECK(std::strstr(e_.what(), (needle)) != nullptr);                                 \
            if (std::strstr(e_.what(), (needle)) == nullptr) std::fprintf(stderr, "  what(): %s\n", e_.what()); \
        }                                                                                       \
        CHECK(thrown_);                                                                         \
    } while (0)

using ferrokern::integer;
using kv = std::vector<std::pair<std::string, integer>>;

static void test_reference_results() {
    std::vector<std::string_view> sample = {
        "apples 3 pears 5 apples 4",
        "\xe4\xbb\xb7\xe6\xa0\xbc 12 \xe6\x95\xb0\xe9\x87\x8f 3 \xe4\xbb\xb7\xe6\xa0\xbc 8, mail Li.Wei@163.COM",
        "k 18446744073709551615 k 18446744073709551615 j 9223372036854775807 j 1 m 9223372036854775807",
        "",
        "Mail Bob@Example.COM or \xe2\x84\xaaim@x.org.",
    };
    ferrokern::texts batch(sample);
    auto sums = ferrokern::extract_and_aggregate(batch);
    CHECK(sums.size() == 5);
    CHECK(sums[0] == (kv{{"apples", integer(7)}, {"pears", integer(5)}}));
    CHECK(sums[1] == (kv{{"\xe4\xbb\xb7\xe6\xa0\xbc", integer(20)}, {"\xe6\x95\xb0\xe9\x87\x8f", integer(3)}}));
    // Past 2^64, past int64 by one, and int64's maximum, which still fits.
    CHECK(sums[2] == (kv{{"k", integer("36893488147419103230")},
                         {"j", integer("9223372036854775808")},
                         {"m", integer(INT64_MAX)}}));
    CHECK(sums[3].empty() && sums[4].empty());

    const integer &big = sums[2][0].second;
    CHECK(!big.fits_int64());
    CHECK(big.str() == "36893488147419103230");
    std::ostringstream os;
    os << big << ' ' << sums[0][0].second;
    CHECK(os.str() == "36893488147419103230 7");
    bool overflow = false;
    try {
        (void)big.as_int64();
    } catch (const std::overflow_error &) {
        overflow = true;
    }
    CHECK(overflow);  // a big sum can never be read as a (wrong) int64
    CHECK(sums[2][2].second.fits_int64() && sums[2][2].second.as_int64() == INT64_MAX);

    auto emails = ferrokern::extract_emails(batch);
    CHECK(emails == (std::vector<std::vector<std::string>>{
                        {}, {"li.wei@163.com"}, {}, {}, {"bob@example.com", "kim@x.org"}}));
}

static void test_pattern() {
    ferrokern::pattern p(R"((\w+)=(\d+))");
    CHECK(p.groups() == 2);
    ferrokern::texts batch{"a=1 b=2 a=5", "c=3", ""};
    auto m = p.findall(batch);
    using M = std::vector<std::vector<ferrokern::match>>;
    CHECK(m == (M{{{"a", "1"}, {"b", "2"}, {"a", "5"}}, {{"c", "3"}}, {}}));
    CHECK(p.count(batch) == (std::vector<std::uint64_t>{3, 1, 0}));
    CHECK(p.sum_by_key(batch) == (ferrokern::key_sums{{{"a", integer(6)}, {"b", integer(2)}}, {{"c", integer(3)}}, {}}));
    auto f = p.frequencies(batch);
    CHECK(f == (std::vector<std::pair<std::string, std::uint64_t>>{{"a", 2}, {"b", 1}, {"c", 1}}));

    ferrokern::pattern words("[A-Z]+", true);
    CHECK(words.findall(ferrokern::texts{"Ab cD"}, true) == (M{{{"ab"}, {"cd"}}}));

    // Move-only ownership: the moved-to pattern works, the moved-from one reports an error
    // instead of crashing, and each handle is freed once (valgrind checks the frees).
    ferrokern::pattern q = std::move(p);
    CHECK(q.count(batch)[0] == 3);
    CHECK_THROWS(p.count(batch), FK_STATUS_NULL_POINTER, "FkPattern");  // NOLINT(bugprone-use-after-move)
}

static void test_errors() {
    CHECK_THROWS(ferrokern::pattern("("), FK_STATUS_PATTERN_SYNTAX, "unterminated subpattern");
    CHECK_THROWS(ferrokern::pattern("a(?=b)"), FK_STATUS_PATTERN_UNSUPPORTED, "lookahead");
    std::string many = "k " + std::string(40, '7');
    CHECK_THROWS(ferrokern::extract_and_aggregate({many}, 30), FK_STATUS_INVALID_VALUE, "Exceeds the limit (30 digits)");
    CHECK(ferrokern::extract_and_aggregate({many}, 0)[0][0].second == integer(std::string(40, '7')));
    CHECK_THROWS(ferrokern::extract_emails({"ok", "\xff"}), FK_STATUS_INVALID_UTF8, "text 1");
    CHECK_THROWS(ferrokern::set_threads(100000), FK_STATUS_INVALID_ARGUMENT, "thread count");
    try {
        ferrokern::pattern bad("(");
    } catch (const std::runtime_error &e) {  // also catchable as the standard base class
        CHECK(std::strlen(e.what()) > 0);
    }
}

static void test_version() {
    CHECK(ferrokern::abi_version() == FK_ABI_VERSION);
    CHECK(!ferrokern::version().empty() && ferrokern::version() == std::string_view(fk_version()));
    ferrokern::set_threads(2);
    CHECK(ferrokern::threads() == 2);
    ferrokern::set_threads(0);
}

int main() {
    test_reference_results();
    test_pattern();
    test_errors();
    test_version();
    std::printf("C++ wrapper: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
