struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};

struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream*, struct ArrowSchema* out);
  int (*get_next)(struct ArrowArrayStream*, struct ArrowArray* out);
  const char* (*get_last_error)(struct ArrowArrayStream*);
  void (*release)(struct ArrowArrayStream*);
  void* private_data;
};


#define FK_ABI_VERSION 3

#define FK_DTYPE_U8 1

#define FK_DTYPE_U16 2

#define FK_DTYPE_F32 3

#define FK_DTYPE_F64 4

#define FK_DTYPE_I16 5

#define FK_BORDER_ZERO 0

#define FK_BORDER_REPLICATE 1

#define FK_BORDER_REFLECT101 2

#define FK_BORDER_REFLECT 3

#define FK_BORDER_WRAP 4

#define FK_BORDER_CONSTANT 5

#define FK_MAX_PRIME_LIMIT 10000000000000

#define FK_MAX_PRIMES_SPAN 4294967296

#define FK_JOB_PICKLE 1

#define FK_JOB_TUPLES 2

#define FK_JOB_NOW 4

#define FK_SEARCH 0

#define FK_MATCH 1

#define FK_FULLMATCH 2

#define FK_FINDITER 3

#define FK_REPORT_EMAILS 1

#define FK_REPORT_KV 2

#define FK_REPORT_KV_TOTALS 1

#define FK_REPORT_NO_MEMORY_LIMIT 2

#define FK_REPORT_PATTERN_FINDALL 0

#define FK_REPORT_PATTERN_COUNT 1

#define FK_REPORT_MAX_CHUNK_BYTES 1073741824

#define FK_REPORT_JSON_FULL 1

#define FK_REPORT_JSON_PRETTY 2

#define FK_RANGE_TO_END 18446744073709551615ull

#define FK_OFFSETS_I32 0

#define FK_OFFSETS_I64 1

#define FK_OFFSETS_CHAR_LENGTHS 2

#define FK_OFFSETS_NUL_SEPARATED 4

#define FK_OFFSETS_PY_STRS 5

#define FK_OFFSETS_ARROW 3

#define FK_LAYOUT_VIEWS 3

#define FK_PATTERN_IGNORE_CASE 1

#define FK_PATTERN_MULTILINE 2

#define FK_PATTERN_DOTALL 4

#define FK_PATTERN_VERBOSE 8

#define FK_PATTERN_ASCII 16

#define FK_FINDALL_LOWERCASE 1

#define TEMPLATE 1

#define IGNORECASE 2

#define LOCALE 4

#define MULTILINE 8

#define DOTALL 16

#define UNICODE 32

#define VERBOSE 64

#define DEBUG 128

#define ASCII 256

#define MAXREPEAT 4294967295

typedef enum FkStatus {
  FK_STATUS_OK = 0,
  FK_STATUS_NULL_POINTER = 1,
  FK_STATUS_INVALID_ARGUMENT = 2,
  FK_STATUS_INVALID_UTF8 = 3,
  FK_STATUS_PATTERN_SYNTAX = 4,
  FK_STATUS_PATTERN_UNSUPPORTED = 5,
  FK_STATUS_PATTERN_TOO_LARGE = 6,
  FK_STATUS_INVALID_VALUE = 7,
  FK_STATUS_BUFFER_TOO_SMALL = 8,
  FK_STATUS_OVERLAP = 9,
  FK_STATUS_DTYPE = 10,
  FK_STATUS_OUT_OF_MEMORY = 11,
  FK_STATUS_IO = 12,
  FK_STATUS_DATA = 13,
  FK_STATUS_CANCELLED = 14,
  FK_STATUS_INVALID_HANDLE = 15,
  FK_STATUS_PANIC = 16,
  FK_STATUS_INTERNAL = 17,
} FkStatus;

typedef struct FkBytes FkBytes;

typedef struct FkFrequencies FkFrequencies;

typedef struct FkJob FkJob;

typedef struct FkKeySums FkKeySums;

typedef struct FkMatches FkMatches;

typedef struct FkPattern FkPattern;

typedef struct FkReport FkReport;

typedef struct FkSpans FkSpans;

typedef struct FkSplit FkSplit;

typedef struct FkSubs FkSubs;

typedef struct FkImage {
  const void *data;
  uint32_t dtype;
  size_t height;
  size_t width;
  ptrdiff_t row_stride;
  ptrdiff_t col_stride;
} FkImage;

typedef struct FkImageOut {
  void *data;
  uint32_t dtype;
  size_t height;
  size_t width;
  ptrdiff_t row_stride;
  ptrdiff_t col_stride;
} FkImageOut;

typedef struct FkSobelParams {
  uint32_t dx;
  uint32_t dy;
  uint32_t ksize;
  uint32_t border;
  double scale;
  double delta;
  double cval;
} FkSobelParams;

typedef struct FkColorImage {
  const void *data;
  uint32_t dtype;
  size_t height;
  size_t width;
  size_t channels;
  ptrdiff_t row_stride;
  ptrdiff_t col_stride;
  ptrdiff_t channel_stride;
} FkColorImage;

typedef int32_t (*FkProgressFn)(void *user_data, uint64_t bytes_done, uint64_t bytes_total);

typedef struct FkTexts {
  const uint8_t *data;
  size_t data_len;
  const void *offsets;
  size_t n_texts;
  uint32_t offset_kind;
  uint64_t first_index;
} FkTexts;

typedef struct FkArrowTexts {
  uint32_t layout;
  const void *offsets;
  const uint8_t *validity;
  uint64_t validity_offset;
  const uint8_t *const *buffers;
  const int64_t *buffer_lens;
  size_t n_buffers;
} FkArrowTexts;

typedef struct FkJobResult {
  const uint8_t *stream;
  size_t stream_len;
  struct FkMatches *matches;
  struct FkKeySums *key_sums;
} FkJobResult;

typedef struct FkSpansView {
  const int64_t *spans;
  size_t n_matches;
  size_t spans_per_match;
  const uint64_t *text_offsets;
  size_t n_texts;
} FkSpansView;

typedef struct FkSubsView {
  const uint8_t *data;
  size_t data_len;
  const uint64_t *offsets;
  const uint64_t *counts;
  size_t n_texts;
} FkSubsView;

typedef struct FkSplitView {
  const uint8_t *data;
  size_t data_len;
  const uint64_t *item_offsets;
  const uint8_t *is_none;
  size_t n_items;
  const uint64_t *text_offsets;
  size_t n_texts;
} FkSplitView;

typedef struct FkReportConfig {
  uint32_t extractors;
  uint32_t options;
  size_t top;
  const uint8_t *text_field;
  size_t text_field_len;
  size_t max_digits;
  size_t max_line_bytes;
  size_t chunk_bytes;
  size_t memory_budget;
  const uint8_t *spill_dir;
  size_t spill_dir_len;
} FkReportConfig;

typedef struct FkMatchesView {
  const uint8_t *data;
  size_t data_len;
  const uint64_t *field_offsets;
  size_t n_fields;
  size_t fields_per_match;
  const uint64_t *text_offsets;
  size_t n_texts;
} FkMatchesView;

typedef struct FkKeySumsView {
  const uint8_t *keys;
  size_t keys_len;
  const uint64_t *key_offsets;
  const int64_t *values;
  size_t n_entries;
  const uint64_t *big_index;
  size_t n_big;
  const uint8_t *big_data;
  size_t big_data_len;
  const uint64_t *big_offsets;
  const uint64_t *text_offsets;
  size_t n_texts;
} FkKeySumsView;

typedef struct FkFrequenciesView {
  const uint8_t *data;
  size_t data_len;
  const uint64_t *offsets;
  const uint64_t *counts;
  size_t n_items;
} FkFrequenciesView;

typedef struct FkPyStrs {
  const void *const *objects;
  const void *str_type;
  size_t type_offset;
  size_t length_offset;
  size_t state_offset;
  size_t ascii_data_offset;
  size_t compact_data_offset;
  uint32_t kind_shift;
  uint32_t compact_shift;
  uint32_t ascii_shift;
} FkPyStrs;

const char *fk_version(void);

uint32_t fk_abi_version(void);

const char *fk_last_error_message(void);

enum FkStatus fk_set_threads(size_t n);

enum FkStatus fk_set_local_threads(size_t n);

size_t fk_threads(void);

enum FkStatus fk_sobel(const struct FkImage *src,
                       uint32_t border,
                       const struct FkImageOut *magnitude,
                       const struct FkImageOut *gx,
                       const struct FkImageOut *gy);

enum FkStatus fk_sobel_cval(const struct FkImage *src,
                            uint32_t border,
                            double cval,
                            const struct FkImageOut *magnitude,
                            const struct FkImageOut *gx,
                            const struct FkImageOut *gy);

enum FkStatus fk_sobel_deriv(const struct FkImage *src,
                             const struct FkSobelParams *params,
                             const struct FkImageOut *out);

enum FkStatus fk_grayscale(const struct FkColorImage *src, const struct FkImageOut *out);

enum FkStatus fk_grayscale_strided(const void *src,
                                   uint32_t src_dtype,
                                   size_t height,
                                   size_t width,
                                   size_t channels,
                                   ptrdiff_t src_row_stride,
                                   ptrdiff_t src_col_stride,
                                   ptrdiff_t src_channel_stride,
                                   void *out,
                                   uint32_t out_dtype,
                                   ptrdiff_t out_row_stride,
                                   ptrdiff_t out_col_stride);

enum FkStatus fk_edges(const struct FkColorImage *src,
                       uint32_t border,
                       const struct FkImageOut *magnitude);

enum FkStatus fk_edges_cval(const struct FkColorImage *src,
                            uint32_t border,
                            double cval,
                            const struct FkImageOut *magnitude);

enum FkStatus fk_sum_f64(const void *data, size_t n, ptrdiff_t stride, double *out);

enum FkStatus fk_sum_f64_progress(const void *data,
                                  size_t n,
                                  ptrdiff_t stride,
                                  FkProgressFn progress,
                                  void *user_data,
                                  double *out);

enum FkStatus fk_polyval_f64(const double *coeffs,
                             size_t n_coeffs,
                             const double *x,
                             size_t n,
                             ptrdiff_t x_stride,
                             double *out,
                             ptrdiff_t out_stride);

enum FkStatus fk_count_primes(uint64_t limit, uint64_t *out);

enum FkStatus fk_count_primes_progress(uint64_t limit,
                                       FkProgressFn progress,
                                       void *user_data,
                                       uint64_t *out);

enum FkStatus fk_primes_capacity(uint64_t lo, uint64_t hi, uint64_t *out);

enum FkStatus fk_primes(uint64_t lo,
                        uint64_t hi,
                        uint64_t *out,
                        size_t capacity,
                        size_t *n_out,
                        FkProgressFn progress,
                        void *user_data);

enum FkStatus fk_texts_from_arrow(const struct ArrowSchema *schema,
                                  const struct ArrowArray *array,
                                  struct FkTexts *out,
                                  struct FkArrowTexts *layout);

size_t fk_arrow_live_exports(void);

enum FkStatus fk_matches_to_arrow(struct FkMatches *matches,
                                  const struct FkPattern *pattern,
                                  const struct FkTexts *texts,
                                  struct ArrowSchema *out_schema,
                                  struct ArrowArray *out_array);

enum FkStatus fk_key_sums_to_arrow(struct FkKeySums *sums,
                                   const struct FkTexts *texts,
                                   struct ArrowSchema *out_schema,
                                   struct ArrowArray *out_array);

enum FkStatus fk_subs_to_arrow(struct FkSubs *subs,
                               const struct FkTexts *texts,
                               struct ArrowSchema *out_schema,
                               struct ArrowArray *out_array);

enum FkStatus fk_split_to_arrow(struct FkSplit *split,
                                const struct FkTexts *texts,
                                struct ArrowSchema *out_schema,
                                struct ArrowArray *out_array);

enum FkStatus fk_count_to_arrow(const struct FkPattern *pattern,
                                const struct FkTexts *texts,
                                struct ArrowSchema *out_schema,
                                struct ArrowArray *out_array);

enum FkStatus fk_job_findall(const struct FkPattern *pattern,
                             const struct FkTexts *texts,
                             uint32_t options,
                             uint32_t flags,
                             size_t threads,
                             struct FkJob **out);

enum FkStatus fk_job_extract_emails(const struct FkTexts *texts,
                                    uint32_t flags,
                                    size_t threads,
                                    struct FkJob **out);

enum FkStatus fk_job_extract_and_aggregate(const struct FkTexts *texts,
                                           size_t max_digits,
                                           uint32_t flags,
                                           size_t threads,
                                           struct FkJob **out);

enum FkStatus fk_job_sum_by_key(const struct FkPattern *pattern,
                                const struct FkTexts *texts,
                                size_t max_digits,
                                uint32_t flags,
                                size_t threads,
                                struct FkJob **out);

enum FkStatus fk_job_wait(struct FkJob *job, struct FkJobResult *result);

void fk_job_free(struct FkJob *job);

enum FkStatus fk_search(const struct FkPattern *pattern,
                        const struct FkTexts *texts,
                        uint32_t mode,
                        struct FkSpans **out);

enum FkStatus fk_subn(const struct FkPattern *pattern,
                      const struct FkTexts *texts,
                      const uint8_t *repl,
                      size_t repl_len,
                      int64_t count,
                      struct FkSubs **out);

enum FkStatus fk_split(const struct FkPattern *pattern,
                       const struct FkTexts *texts,
                       int64_t maxsplit,
                       struct FkSplit **out);

enum FkStatus fk_pattern_group_name(const struct FkPattern *pattern,
                                    size_t group,
                                    const uint8_t **name,
                                    size_t *name_len);

enum FkStatus fk_spans_view(const struct FkSpans *spans, struct FkSpansView *view);

void fk_spans_free(struct FkSpans *spans);

enum FkStatus fk_subs_view(const struct FkSubs *subs, struct FkSubsView *view);

void fk_subs_free(struct FkSubs *subs);

enum FkStatus fk_split_view(const struct FkSplit *split, struct FkSplitView *view);

void fk_split_free(struct FkSplit *split);

enum FkStatus fk_report_config_default(struct FkReportConfig *out);

enum FkStatus fk_report_new(const struct FkReportConfig *config, struct FkReport **out);

void fk_report_free(struct FkReport *report);

enum FkStatus fk_report_add_pattern(struct FkReport *report,
                                    const uint8_t *name,
                                    size_t name_len,
                                    const struct FkPattern *pattern,
                                    uint32_t mode);

enum FkStatus fk_report_set_per_doc(struct FkReport *report, const uint8_t *path, size_t path_len);

enum FkStatus fk_report_feed_texts(struct FkReport *report, const struct FkTexts *texts);

enum FkStatus fk_report_feed_nulls(struct FkReport *report, uint64_t n);

enum FkStatus fk_report_feed_file(struct FkReport *report,
                                  const uint8_t *path,
                                  size_t path_len,
                                  FkProgressFn progress,
                                  void *user_data);

enum FkStatus fk_report_feed_file_range(struct FkReport *report,
                                        const uint8_t *path,
                                        size_t path_len,
                                        uint64_t start,
                                        uint64_t end,
                                        FkProgressFn progress,
                                        void *user_data);

enum FkStatus fk_report_merge(struct FkReport *dst, const struct FkReport *src);

enum FkStatus fk_report_to_json(const struct FkReport *report,
                                uint32_t flags,
                                struct FkBytes **out);

enum FkStatus fk_report_write_json(const struct FkReport *report,
                                   uint32_t flags,
                                   const uint8_t *path,
                                   size_t path_len);

enum FkStatus fk_report_from_json(const uint8_t *data, size_t len, struct FkReport **out);

enum FkStatus fk_report_to_state(const struct FkReport *report, struct FkBytes **out);

enum FkStatus fk_report_from_state(const uint8_t *data, size_t len, struct FkReport **out);

enum FkStatus fk_report_merge_state(struct FkReport *dst, const uint8_t *data, size_t len);

enum FkStatus fk_report_spill_stats(const struct FkReport *report,
                                    uint64_t *bytes,
                                    uint64_t *spills);

enum FkStatus fk_bytes_data(const struct FkBytes *bytes, const uint8_t **data, size_t *len);

void fk_bytes_free(struct FkBytes *bytes);

enum FkStatus fk_pattern_new(const uint8_t *pattern,
                             size_t len,
                             uint32_t flags,
                             struct FkPattern **out);

void fk_pattern_free(struct FkPattern *pattern);

enum FkStatus fk_pattern_groups(const struct FkPattern *pattern, size_t *out);

enum FkStatus fk_findall(const struct FkPattern *pattern,
                         const struct FkTexts *texts,
                         uint32_t options,
                         struct FkMatches **out);

enum FkStatus fk_count(const struct FkPattern *pattern,
                       const struct FkTexts *texts,
                       uint64_t *out,
                       size_t out_len);

enum FkStatus fk_sum_by_key(const struct FkPattern *pattern,
                            const struct FkTexts *texts,
                            size_t max_digits,
                            struct FkKeySums **out);

enum FkStatus fk_frequencies(const struct FkPattern *pattern,
                             const struct FkTexts *texts,
                             int64_t group,
                             size_t top,
                             struct FkFrequencies **out);

enum FkStatus fk_extract_emails(const struct FkTexts *texts, struct FkMatches **out);

enum FkStatus fk_extract_and_aggregate(const struct FkTexts *texts,
                                       size_t max_digits,
                                       struct FkKeySums **out);

enum FkStatus fk_matches_view(const struct FkMatches *matches, struct FkMatchesView *view);

void fk_matches_free(struct FkMatches *matches);

enum FkStatus fk_key_sums_view(const struct FkKeySums *sums, struct FkKeySumsView *view);

enum FkStatus fk_key_sums_big_value(const struct FkKeySums *sums,
                                    size_t entry,
                                    const uint8_t **text,
                                    size_t *text_len);

enum FkStatus fk_matches_pickle(const struct FkMatches *matches,
                                uint32_t tuples,
                                uint8_t *out,
                                size_t out_len,
                                size_t *needed);

enum FkStatus fk_key_sums_pickle(const struct FkKeySums *sums,
                                 uint8_t *out,
                                 size_t out_len,
                                 size_t *needed);

void fk_key_sums_free(struct FkKeySums *sums);

enum FkStatus fk_frequencies_view(const struct FkFrequencies *freqs,
                                  struct FkFrequenciesView *view);

void fk_frequencies_free(struct FkFrequencies *freqs);

enum FkStatus fk_utf8_char_offsets(const uint8_t *data,
                                   size_t data_len,
                                   const uint64_t *byte_offsets,
                                   size_t n,
                                   uint64_t *out);

enum FkStatus fk_join_strings(const uint8_t *data,
                              size_t data_len,
                              const uint64_t *offsets,
                              size_t n,
                              uint8_t sep,
                              uint8_t *out,
                              size_t out_len);

enum FkStatus fk_join_unique_strings(const uint8_t *data,
                                     size_t data_len,
                                     const uint64_t *offsets,
                                     size_t n,
                                     uint8_t sep,
                                     uint8_t *out,
                                     size_t out_len,
                                     uint64_t *ids,
                                     size_t *out_used,
                                     size_t *n_unique);
