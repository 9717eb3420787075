'use strict';
// ferrokern from Node.js through its plain C ABI, with koffi (no compiler, no node-gyp).
// This is the tested example that docs/ffi.md points at: every struct below is declared
// field for field as in include/ferrokern.h, and test/ferrokern.test.js checks the
// declarations against the layout table in docs/ffi.md (itself checked against the C compiler).

const path = require('node:path');
const koffi = require('koffi');

// The ABI this file was written against (FK_ABI_VERSION in include/ferrokern.h). A library
// with another ABI version has other signatures or struct layouts, so loading refuses it.
const FK_ABI_VERSION = 3;

// Python's sys.get_int_max_str_digits() default: the reference's int() refuses longer numbers.
const DEFAULT_MAX_DIGITS = 4300;

const FK_OFFSETS_I64 = 1;
const FK_PATTERN_IGNORE_CASE = 1;
const FK_FINDALL_LOWERCASE = 1;

// FkStatus values in declaration order (FK_STATUS_OK = 0 ... FK_STATUS_PANIC = 16).
const STATUS_NAMES = [
  'OK', 'NULL_POINTER', 'INVALID_ARGUMENT', 'INVALID_UTF8', 'PATTERN_SYNTAX',
  'PATTERN_UNSUPPORTED', 'PATTERN_TOO_LARGE', 'INVALID_VALUE', 'BUFFER_TOO_SMALL', 'OVERLAP',
  'DTYPE', 'OUT_OF_MEMORY', 'IO', 'DATA', 'CANCELLED', 'INVALID_HANDLE', 'PANIC',
];

/** A failed ferrokern call: `.status` is the FkStatus name (e.g. 'PATTERN_SYNTAX'). */
class FerrokernError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'FerrokernError';
    this.status = status;
  }
}

function defaultLibraryPath() {
  const file = { darwin: 'libferrokern.dylib', win32: 'ferrokern.dll' }[process.platform] || 'libferrokern.so';
  return path.resolve(__dirname, '..', '..', 'target', 'release', file);
}

const libraryPath = process.env.FERROKERN_LIBRARY || defaultLibraryPath();
const lib = koffi.load(libraryPath);

// ---- types: exactly include/ferrokern.h (order and C types of every field) ----------------
// The status enum has no fixed underlying type in C; on every supported ABI it is an `int`
// (4 bytes), so it is declared as int32_t here.
koffi.alias('FkStatus', 'int32_t');

const FkTexts = koffi.struct('FkTexts', {
  data: 'const uint8_t *',
  data_len: 'size_t',
  offsets: 'const void *',
  n_texts: 'size_t',
  offset_kind: 'uint32_t',
  first_index: 'uint64_t',
});

// The Arrow layouts of a batch (offsets + validity, or string views), reached from FkTexts
// with offset_kind FK_OFFSETS_ARROW. Declared so the layout test covers it; this example
// binding itself passes plain FkTexts.
const FkArrowTexts = koffi.struct('FkArrowTexts', {
  layout: 'uint32_t',
  offsets: 'const void *',
  validity: 'const uint8_t *',
  validity_offset: 'uint64_t',
  buffers: 'const uint8_t **',
  buffer_lens: 'const int64_t *',
  n_buffers: 'size_t',
});

// CPython str objects read in place (offset_kind FK_OFFSETS_PY_STRS): for the Python
// binding only. Declared so the layout test covers it.
const FkPyStrs = koffi.struct('FkPyStrs', {
  objects: 'const void **',
  str_type: 'const void *',
  type_offset: 'size_t',
  length_offset: 'size_t',
  state_offset: 'size_t',
  ascii_data_offset: 'size_t',
  compact_data_offset: 'size_t',
  kind_shift: 'uint32_t',
  compact_shift: 'uint32_t',
  ascii_shift: 'uint32_t',
});

const FkMatchesView = koffi.struct('FkMatchesView', {
  data: 'const uint8_t *',
  data_len: 'size_t',
  field_offsets: 'const uint64_t *',
  n_fields: 'size_t',
  fields_per_match: 'size_t',
  text_offsets: 'const uint64_t *',
  n_texts: 'size_t',
});

const FkKeySumsView = koffi.struct('FkKeySumsView', {
  keys: 'const uint8_t *',
  keys_len: 'size_t',
  key_offsets: 'const uint64_t *',
  values: 'const int64_t *',
  n_entries: 'size_t',
  big_index: 'const uint64_t *',
  n_big: 'size_t',
  big_data: 'const uint8_t *',
  big_data_len: 'size_t',
  big_offsets: 'const uint64_t *',
  text_offsets: 'const uint64_t *',
  n_texts: 'size_t',
});

const FkFrequenciesView = koffi.struct('FkFrequenciesView', {
  data: 'const uint8_t *',
  data_len: 'size_t',
  offsets: 'const uint64_t *',
  counts: 'const uint64_t *',
  n_items: 'size_t',
});

// The views of fk_search (search/match/fullmatch/finditer spans), fk_subn and fk_split.
// Declared so the layout test covers them; this example binding does not call those.
const FkSpansView = koffi.struct('FkSpansView', {
  spans: 'const int64_t *',
  n_matches: 'size_t',
  spans_per_match: 'size_t',
  text_offsets: 'const uint64_t *',
  n_texts: 'size_t',
});

const FkSubsView = koffi.struct('FkSubsView', {
  data: 'const uint8_t *',
  data_len: 'size_t',
  offsets: 'const uint64_t *',
  counts: 'const uint64_t *',
  n_texts: 'size_t',
});

const FkSplitView = koffi.struct('FkSplitView', {
  data: 'const uint8_t *',
  data_len: 'size_t',
  item_offsets: 'const uint64_t *',
  is_none: 'const uint8_t *',
  n_items: 'size_t',
  text_offsets: 'const uint64_t *',
  n_texts: 'size_t',
});

// Declared for completeness (and checked against the layout table); the example does not
// call the image, array or report functions.
const FkImage = koffi.struct('FkImage', {
  data: 'const void *',
  dtype: 'uint32_t',
  height: 'size_t',
  width: 'size_t',
  row_stride: 'intptr_t',
  col_stride: 'intptr_t',
});
const FkImageOut = koffi.struct('FkImageOut', {
  data: 'void *',
  dtype: 'uint32_t',
  height: 'size_t',
  width: 'size_t',
  row_stride: 'intptr_t',
  col_stride: 'intptr_t',
});
const FkColorImage = koffi.struct('FkColorImage', {
  data: 'const void *',
  dtype: 'uint32_t',
  height: 'size_t',
  width: 'size_t',
  channels: 'size_t',
  row_stride: 'intptr_t',
  col_stride: 'intptr_t',
  channel_stride: 'intptr_t',
});
const FkSobelParams = koffi.struct('FkSobelParams', {
  dx: 'uint32_t',
  dy: 'uint32_t',
  ksize: 'uint32_t',
  border: 'uint32_t',
  scale: 'double',
  delta: 'double',
  cval: 'double',
});
const FkReportConfig = koffi.struct('FkReportConfig', {
  extractors: 'uint32_t',
  options: 'uint32_t',
  top: 'size_t',
  text_field: 'const uint8_t *',
  text_field_len: 'size_t',
  max_digits: 'size_t',
  max_line_bytes: 'size_t',
  chunk_bytes: 'size_t',
  memory_budget: 'size_t',
  spill_dir: 'const uint8_t *',
  spill_dir_len: 'size_t',
});

// Opaque handles: only ever held as pointers and handed back to the library.
koffi.opaque('FkPattern');
koffi.opaque('FkMatches');
koffi.opaque('FkKeySums');

// What fk_job_wait hands over (the job functions themselves are not wrapped here: they
// serve bindings whose threads share a lock, such as Python's GIL; see docs/ffi.md).
const FkJobResult = koffi.struct('FkJobResult', {
  stream: 'const uint8_t *',
  stream_len: 'size_t',
  matches: 'FkMatches *',
  key_sums: 'FkKeySums *',
});

const fk = {
  abi_version: lib.func('uint32_t fk_abi_version(void)'),
  version: lib.func('const char *fk_version(void)'),
  last_error_message: lib.func('const char *fk_last_error_message(void)'),
  pattern_new: lib.func('FkStatus fk_pattern_new(const uint8_t *pattern, size_t len, uint32_t flags, _Out_ FkPattern **out)'),
  pattern_free: lib.func('void fk_pattern_free(FkPattern *pattern)'),
  pattern_groups: lib.func('FkStatus fk_pattern_groups(const FkPattern *pattern, _Out_ size_t *out)'),
  findall: lib.func('FkStatus fk_findall(const FkPattern *pattern, const FkTexts *texts, uint32_t options, _Out_ FkMatches **out)'),
  extract_emails: lib.func('FkStatus fk_extract_emails(const FkTexts *texts, _Out_ FkMatches **out)'),
  extract_and_aggregate: lib.func('FkStatus fk_extract_and_aggregate(const FkTexts *texts, size_t max_digits, _Out_ FkKeySums **out)'),
  matches_view: lib.func('FkStatus fk_matches_view(const FkMatches *matches, _Out_ FkMatchesView *view)'),
  matches_free: lib.func('void fk_matches_free(FkMatches *matches)'),
  key_sums_view: lib.func('FkStatus fk_key_sums_view(const FkKeySums *sums, _Out_ FkKeySumsView *view)'),
  key_sums_free: lib.func('void fk_key_sums_free(FkKeySums *sums)'),
};

{
  const abi = fk.abi_version();
  if (abi !== FK_ABI_VERSION) {
    throw new Error(`${libraryPath} has ABI version ${abi}, this binding was written for ` +
      `FK_ABI_VERSION ${FK_ABI_VERSION}: its structs and signatures may differ, refusing to use it`);
  }
}

// Turn a status into an exception. The message must be read right away: it is per thread
// and only valid until the next fk_ call.
function check(status) {
  if (status === 0) return;
  const name = STATUS_NAMES[status] || `UNKNOWN_${status}`;
  throw new FerrokernError(name, fk.last_error_message());
}

// ---- inputs -----------------------------------------------------------------------------

const isWellFormed = typeof String.prototype.isWellFormed === 'function'
  ? (s) => s.isWellFormed()
  : (s) => !/\p{Surrogate}/u.test(s);

// One UTF-8 buffer plus n + 1 int64 byte offsets (FK_OFFSETS_I64). The returned object is an
// FkTexts whose pointer fields are the JS buffers themselves: koffi passes their addresses,
// and the buffers stay alive because the caller holds the object during the call.
function packTexts(texts) {
  if (!Array.isArray(texts)) throw new TypeError('texts must be an array of strings');
  const offsets = new BigInt64Array(texts.length + 1);
  const parts = texts.map((t, i) => {
    if (typeof t !== 'string') throw new TypeError(`text ${i} is not a string`);
    // Buffer.from would silently turn a lone surrogate into U+FFFD; refuse instead.
    if (!isWellFormed(t)) throw new FerrokernError('INVALID_UTF8', `text ${i} contains a lone surrogate`);
    const b = Buffer.from(t, 'utf8');
    offsets[i + 1] = offsets[i] + BigInt(b.length);
    return b;
  });
  const data = Buffer.concat(parts);
  return {
    data: data.length ? data : null,
    data_len: data.length,
    offsets,
    n_texts: texts.length,
    offset_kind: FK_OFFSETS_I64,
    first_index: 0,
  };
}

// ---- outputs: copy out of the library's memory (views die with the handle) -------------

function bytes(ptr, len) {
  return len ? Buffer.from(koffi.view(ptr, len).slice(0)) : Buffer.alloc(0);
}

function u64s(ptr, n) {
  return n ? new BigUint64Array(koffi.view(ptr, n * 8).slice(0)) : new BigUint64Array(0);
}

function i64s(ptr, n) {
  return n ? new BigInt64Array(koffi.view(ptr, n * 8).slice(0)) : new BigInt64Array(0);
}

// FkMatches -> per text, a list of strings (fieldsPerMatch 1 without groups) or of arrays
// of group strings; always freed, also when reading fails.
function readMatches(handle, asTuples) {
  try {
    const v = {};
    check(fk.matches_view(handle, v));
    const data = bytes(v.data, Number(v.data_len));
    const fo = u64s(v.field_offsets, Number(v.n_fields) + 1);
    const to = u64s(v.text_offsets, Number(v.n_texts) + 1);
    const per = Number(v.fields_per_match);
    const str = (k) => data.toString('utf8', Number(fo[k]), Number(fo[k + 1]));
    const out = [];
    for (let i = 0; i < Number(v.n_texts); i++) {
      const row = [];
      for (let j = Number(to[i]); j < Number(to[i + 1]); j++) {
        if (asTuples) {
          const fields = [];
          for (let f = 0; f < per; f++) fields.push(str(j * per + f));
          row.push(fields);
        } else {
          row.push(str(j));
        }
      }
      out.push(row);
    }
    return out;
  } finally {
    fk.matches_free(handle);
  }
}

// FkKeySums -> per text, a Map key -> BigInt sum in first-seen order. A sum outside int64
// has values[e] == 0 and its exact decimal text in the big-value side table.
function readKeySums(handle) {
  try {
    const v = {};
    check(fk.key_sums_view(handle, v));
    const nEntries = Number(v.n_entries);
    const nBig = Number(v.n_big);
    const keys = bytes(v.keys, Number(v.keys_len));
    const ko = u64s(v.key_offsets, nEntries + 1);
    const values = i64s(v.values, nEntries);
    const bigIndex = u64s(v.big_index, nBig);
    const bigData = bytes(v.big_data, Number(v.big_data_len));
    const bo = u64s(v.big_offsets, nBig + 1);
    const big = new Map();
    for (let b = 0; b < nBig; b++) {
      big.set(Number(bigIndex[b]), BigInt(bigData.toString('latin1', Number(bo[b]), Number(bo[b + 1]))));
    }
    const to = u64s(v.text_offsets, Number(v.n_texts) + 1);
    const out = [];
    for (let i = 0; i < Number(v.n_texts); i++) {
      const m = new Map();
      for (let e = Number(to[i]); e < Number(to[i + 1]); e++) {
        const key = keys.toString('utf8', Number(ko[e]), Number(ko[e + 1]));
        m.set(key, big.has(e) ? big.get(e) : values[e]);
      }
      out.push(m);
    }
    return out;
  } finally {
    fk.key_sums_free(handle);
  }
}

// ---- API --------------------------------------------------------------------------------

/** Per text, Map(key -> BigInt sum) of every `(\w+)\s+(\d+)` match (Python's rules). */
function extractAndAggregate(texts, { maxDigits = DEFAULT_MAX_DIGITS } = {}) {
  const batch = packTexts(texts);
  const out = [null];
  check(fk.extract_and_aggregate(batch, maxDigits, out));
  return readKeySums(out[0]);
}

/** Per text, the e-mail addresses of the lowercased text (Python's str.lower()). */
function extractEmails(texts) {
  const batch = packTexts(texts);
  const out = [null];
  check(fk.extract_emails(batch, out));
  return readMatches(out[0], false);
}

// Patterns not closed explicitly are freed when garbage-collected (a safety net only:
// GC timing is unpredictable, so call close()).
const patternFinalizer = new FinalizationRegistry((ptr) => fk.pattern_free(ptr));

/** A compiled pattern; free it with close() (or a `using` declaration). */
class Pattern {
  #ptr;
  #groups;

  constructor(pattern, { ignoreCase = false } = {}) {
    if (typeof pattern !== 'string') throw new TypeError('pattern must be a string');
    if (typeof ignoreCase !== 'boolean') throw new TypeError('ignoreCase must be a boolean');
    const src = Buffer.from(pattern, 'utf8');
    const out = [null];
    check(fk.pattern_new(src, src.length, ignoreCase ? FK_PATTERN_IGNORE_CASE : 0, out));
    this.#ptr = out[0];
    const groups = [0];
    try {
      check(fk.pattern_groups(this.#ptr, groups));
    } catch (e) {
      fk.pattern_free(this.#ptr);
      throw e;
    }
    this.#groups = Number(groups[0]);
    patternFinalizer.register(this, this.#ptr, this);
  }

  #live() {
    // Never hand a freed pointer to the library: that is undefined behaviour in C.
    if (this.#ptr === null) throw new FerrokernError('INVALID_HANDLE', 'pattern is closed');
    return this.#ptr;
  }

  /** Number of capture groups. */
  get groups() {
    this.#live();
    return this.#groups;
  }

  get closed() {
    return this.#ptr === null;
  }

  /** re.findall per text: strings, or arrays of group strings for a pattern with 2+ groups. */
  findall(texts, { lowercase = false } = {}) {
    const ptr = this.#live();
    const batch = packTexts(texts);
    const out = [null];
    check(fk.findall(ptr, batch, lowercase ? FK_FINDALL_LOWERCASE : 0, out));
    return readMatches(out[0], this.#groups > 1);
  }

  /** Free the compiled pattern; idempotent. */
  close() {
    if (this.#ptr === null) return;
    patternFinalizer.unregister(this);
    fk.pattern_free(this.#ptr);
    this.#ptr = null;
  }

  [Symbol.dispose ?? Symbol.for('nodejs.dispose')]() {
    this.close();
  }
}

function compile(pattern, options) {
  return new Pattern(pattern, options);
}

module.exports = {
  FK_ABI_VERSION,
  FerrokernError,
  Pattern,
  compile,
  extractAndAggregate,
  extractEmails,
  libraryPath,
  version: () => fk.version(),
  abiVersion: () => fk.abi_version(),
  types: { FkTexts, FkArrowTexts, FkPyStrs, FkMatchesView, FkKeySumsView, FkFrequenciesView, FkSpansView, FkSubsView, FkSplitView, FkImage, FkImageOut, FkColorImage, FkSobelParams, FkReportConfig, FkJobResult },
};
