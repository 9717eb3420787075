// ferrokern.hpp: a header-only C++17 wrapper over the C ABI in ferrokern.h.
//
//  - Errors throw ferrokern::error (a std::runtime_error) carrying the FkStatus and the
//    library's message; no call returns a status.
//  - Handles are move-only RAII objects: a pattern or a result is freed exactly once, by
//    its destructor, also when an exception unwinds.
//  - Inputs are std::string_view; results are std types, copied out of the library's flat
//    result handles (which are freed before the call returns).
//  - Sums are ferrokern::integer: exact at any size, and it cannot be read as a 64-bit
//    number by accident (as_int64() throws for a sum past int64; str() is always exact).
//
// Link exactly as for the C API (pkg-config ferrokern, or CMake ferrokern::ferrokern).
// Thread safety is the C API's: every function may be called from any thread; a pattern
// may be shared between threads (only its destruction must come after every use).
#ifndef FERROKERN_HPP
#define FERROKERN_HPP

#if __cplusplus < 201703L && !(defined(_MSVC_LANG) && _MSVC_LANG >= 201703L)
#error "ferrokern.hpp needs C++17 (use ferrokern.h from C++11)"
#endif

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferrokern.h"

namespace ferrokern {

/// A failed call: the C API's status and the library's message for it.
class error : public std::runtime_error {
public:
    error(FkStatus status, const std::string &message) : std::runtime_error(message), status_(status) {}
    FkStatus status() const noexcept { return status_; }

private:
    FkStatus status_;
};

namespace detail {
inline void check(FkStatus st) {
    // The message is per thread and valid until this thread's next fk_ call: copy it now.
    if (st != FK_STATUS_OK) throw error(st, fk_last_error_message());
}

struct deleter {
    void operator()(FkPattern *p) const noexcept { fk_pattern_free(p); }
    void operator()(FkMatches *p) const noexcept { fk_matches_free(p); }
    void operator()(FkKeySums *p) const noexcept { fk_key_sums_free(p); }
    void operator()(FkFrequencies *p) const noexcept { fk_frequencies_free(p); }
};

inline std::string str(const uint8_t *data, const uint64_t *offsets, std::size_t i) {
    return std::string(reinterpret_cast<const char *>(data) + offsets[i], static_cast<std::size_t>(offsets[i + 1] - offsets[i]));
}
}  // namespace detail

/// Owning handles (move-only; free in the destructor). The wrapper's functions use them
/// internally; they are public for callers who want the zero-copy `fk_*_view` of a result.
using pattern_ptr = std::unique_ptr<FkPattern, detail::deleter>;
using matches_ptr = std::unique_ptr<FkMatches, detail::deleter>;
using key_sums_ptr = std::unique_ptr<FkKeySums, detail::deleter>;
using frequencies_ptr = std::unique_ptr<FkFrequencies, detail::deleter>;

/// An exact integer sum. Sums past int64 have no int64 value, so there is no implicit
/// conversion: `fits_int64()` says which kind it is, `as_int64()` throws std::overflow_error
/// for a big one, and `str()` (and operator<<) give the exact decimal text of either kind.
class integer {
public:
    explicit integer(std::int64_t v) : small_(v) {}
    explicit integer(std::string decimal) : small_(0), big_(std::move(decimal)) {}

    bool fits_int64() const noexcept { return big_.empty(); }
    std::int64_t as_int64() const {
        if (!fits_int64()) throw std::overflow_error("ferrokern::integer " + big_ + " does not fit in int64_t");
        return small_;
    }
    std::string str() const { return fits_int64() ? std::to_string(small_) : big_; }

    friend bool operator==(const integer &a, const integer &b) { return a.small_ == b.small_ && a.big_ == b.big_; }
    friend bool operator!=(const integer &a, const integer &b) { return !(a == b); }
    friend std::ostream &operator<<(std::ostream &os, const integer &v) { return os << v.str(); }

private:
    std::int64_t small_;
    std::string big_;  // non-empty exactly when the sum does not fit in int64
};

/// Per-text results: text i's `{key, sum}` pairs in first-seen order (a Python dict's order).
using key_sums = std::vector<std::vector<std::pair<std::string, integer>>>;
/// One match: the whole match for a pattern without groups, else one string per group
/// ("" for a group that did not take part), as Python's re.findall.
using match = std::vector<std::string>;

/// A batch of texts in the C ABI's layout (one UTF-8 buffer + int64 offsets). Building one
/// copies the texts once; reuse it for several calls.
class texts {
public:
    texts(const std::vector<std::string_view> &items) {  // NOLINT: implicit on purpose
        std::size_t total = 0;
        for (auto t : items) total += t.size();
        data_.reserve(total);
        offsets_.reserve(items.size() + 1);
        offsets_.push_back(0);
        for (auto t : items) {
            data_.append(t.data(), t.size());
            offsets_.push_back(static_cast<std::int64_t>(data_.size()));
        }
    }
    texts(std::initializer_list<std::string_view> items) : texts(std::vector<std::string_view>(items)) {}
    texts(const std::vector<std::string> &items) : texts(std::vector<std::string_view>(items.begin(), items.end())) {}

    /// Borrowed by the C calls; valid while this object lives and is not moved from.
    FkTexts c_texts() const noexcept {
        FkTexts t{};
        t.data = reinterpret_cast<const uint8_t *>(data_.data());
        t.data_len = data_.size();
        t.offsets = offsets_.data();
        t.n_texts = offsets_.size() - 1;
        t.offset_kind = FK_OFFSETS_I64;
        t.first_index = 0;
        return t;
    }
    std::size_t size() const noexcept { return offsets_.size() - 1; }

private:
    std::string data_;
    std::vector<std::int64_t> offsets_;
};

/// Python's default `sys.get_int_max_str_digits()`: a number with more digits is an error
/// (`FK_STATUS_INVALID_VALUE`), as `int()` raises ValueError. 0 = no limit.
constexpr std::size_t default_max_digits = 4300;

namespace detail {
inline key_sums read_key_sums(const FkKeySums *h) {
    FkKeySumsView v;
    check(fk_key_sums_view(h, &v));
    key_sums out(v.n_texts);
    std::size_t b = 0;  // next entry of the big table; big_index ascends like e
    for (std::size_t t = 0; t < v.n_texts; t++) {
        out[t].reserve(static_cast<std::size_t>(v.text_offsets[t + 1] - v.text_offsets[t]));
        for (auto e = v.text_offsets[t]; e < v.text_offsets[t + 1]; e++) {
            std::string key = str(v.keys, v.key_offsets, static_cast<std::size_t>(e));
            if (b < v.n_big && v.big_index[b] == e) {
                out[t].emplace_back(std::move(key), integer(str(v.big_data, v.big_offsets, b++)));
            } else {
                out[t].emplace_back(std::move(key), integer(v.values[e]));
            }
        }
    }
    return out;
}

inline std::vector<std::vector<match>> read_matches(const FkMatches *h) {
    FkMatchesView v;
    check(fk_matches_view(h, &v));
    std::vector<std::vector<match>> out(v.n_texts);
    for (std::size_t t = 0; t < v.n_texts; t++) {
        for (auto m = v.text_offsets[t]; m < v.text_offsets[t + 1]; m++) {
            match fields;
            fields.reserve(v.fields_per_match);
            for (std::size_t f = 0; f < v.fields_per_match; f++)
                fields.push_back(str(v.data, v.field_offsets, static_cast<std::size_t>(m) * v.fields_per_match + f));
            out[t].push_back(std::move(fields));
        }
    }
    return out;
}
}  // namespace detail

/// Exactly Python's per-text `{key: sum(int(value))}` over `re.findall(r"(\w+)\s+(\d+)", t)`.
inline key_sums extract_and_aggregate(const texts &batch, std::size_t max_digits = default_max_digits) {
    FkTexts t = batch.c_texts();
    FkKeySums *raw = nullptr;
    detail::check(fk_extract_and_aggregate(&t, max_digits, &raw));
    key_sums_ptr h(raw);
    return detail::read_key_sums(h.get());
}

/// Exactly Python's `[EMAIL_RE.findall(t.lower()) for t in texts]` (see ferrokern.h).
inline std::vector<std::vector<std::string>> extract_emails(const texts &batch) {
    FkTexts t = batch.c_texts();
    FkMatches *raw = nullptr;
    detail::check(fk_extract_emails(&t, &raw));
    matches_ptr h(raw);
    FkMatchesView v;
    detail::check(fk_matches_view(h.get(), &v));
    std::vector<std::vector<std::string>> out(v.n_texts);
    for (std::size_t i = 0; i < v.n_texts; i++)
        for (auto m = v.text_offsets[i]; m < v.text_offsets[i + 1]; m++)
            out[i].push_back(detail::str(v.data, v.field_offsets, static_cast<std::size_t>(m)));
    return out;
}

/// A compiled pattern (move-only). Immutable: share it between threads freely.
class pattern {
public:
    /// Python `re` syntax and meaning (see fk_pattern_new). Throws ferrokern::error:
    /// FK_STATUS_PATTERN_SYNTAX, _PATTERN_UNSUPPORTED (backreferences, look-around, ...),
    /// _PATTERN_TOO_LARGE, _INVALID_UTF8.
    explicit pattern(std::string_view source, bool ignore_case = false) {
        FkPattern *raw = nullptr;
        detail::check(fk_pattern_new(reinterpret_cast<const uint8_t *>(source.data()), source.size(),
                                     ignore_case ? FK_PATTERN_IGNORE_CASE : 0u, &raw));
        h_.reset(raw);
    }

    /// Number of capture groups (group 0 not counted).
    std::size_t groups() const {
        std::size_t n = 0;
        detail::check(fk_pattern_groups(h_.get(), &n));
        return n;
    }
    /// re.findall per text; `lowercase` lowercases every result string.
    std::vector<std::vector<match>> findall(const texts &batch, bool lowercase = false) const {
        FkTexts t = batch.c_texts();
        FkMatches *raw = nullptr;
        detail::check(fk_findall(h_.get(), &t, lowercase ? FK_FINDALL_LOWERCASE : 0u, &raw));
        matches_ptr h(raw);
        return detail::read_matches(h.get());
    }
    /// Number of findall matches per text.
    std::vector<std::uint64_t> count(const texts &batch) const {
        FkTexts t = batch.c_texts();
        std::vector<std::uint64_t> out(batch.size());
        detail::check(fk_count(h_.get(), &t, out.data(), out.size()));
        return out;
    }
    /// Per text `{group1: sum(int(group2))}` for a two-group pattern.
    key_sums sum_by_key(const texts &batch, std::size_t max_digits = default_max_digits) const {
        FkTexts t = batch.c_texts();
        FkKeySums *raw = nullptr;
        detail::check(fk_sum_by_key(h_.get(), &t, max_digits, &raw));
        key_sums_ptr h(raw);
        return detail::read_key_sums(h.get());
    }
    /// Batch-wide counts of group 1 (or the whole match), most frequent first; top 0 = all.
    std::vector<std::pair<std::string, std::uint64_t>> frequencies(const texts &batch, std::size_t top = 0) const {
        FkTexts t = batch.c_texts();
        FkFrequencies *raw = nullptr;
        detail::check(fk_frequencies(h_.get(), &t, -1, top, &raw));
        frequencies_ptr h(raw);
        FkFrequenciesView v;
        detail::check(fk_frequencies_view(h.get(), &v));
        std::vector<std::pair<std::string, std::uint64_t>> out;
        out.reserve(v.n_items);
        for (std::size_t i = 0; i < v.n_items; i++) out.emplace_back(detail::str(v.data, v.offsets, i), v.counts[i]);
        return out;
    }

    /// The C handle, borrowed (for calls this wrapper does not cover).
    const FkPattern *get() const noexcept { return h_.get(); }

private:
    pattern_ptr h_;
};

/// The library's version ("0.1.0"; static storage).
inline std::string_view version() { return fk_version(); }
/// The ABI version of the loaded library; `FK_ABI_VERSION` is the header's.
inline std::uint32_t abi_version() { return fk_abi_version(); }
/// Worker threads for later calls (0 = default: FERROKERN_THREADS, else every core).
inline void set_threads(std::size_t n) { detail::check(fk_set_threads(n)); }
inline std::size_t threads() { return fk_threads(); }

}  // namespace ferrokern

#endif  // FERROKERN_HPP
