//! Correctly rounded summation of `f64` values: the exact sum of the inputs, rounded once
//! (to nearest, ties to even). Equal to Python's `math.fsum` for finite inputs, and the same
//! for any thread count, because every partial result is exact and exact addition is
//! associative.
//!
//! Two layers:
//! * [`ExactSum`], a fixed-point superaccumulator covering the whole `f64` range (every
//!   finite double is an integer multiple of 2⁻¹⁰⁷⁴ below 2¹⁰²⁴, so 67 chunks of 32 bits
//!   hold any of them exactly, with headroom for carries). Adding one double is a few
//!   integer operations and touches up to three chunks; carries are propagated lazily.
//! * A vectorized fast path for blocks of 1024 values ("error-free extraction", Rump, Ogita
//!   and Oishi, *Accurate floating-point summation*, SIAM J. Sci. Comput. 2008): with σ a
//!   power of two large enough for the block, `q = (σ + x) − σ` is exactly the high part of
//!   `x` on the grid of σ's half-ulp, `r = x − q` is exactly the rest, and the block's sum
//!   of the `q` is exact in ordinary floating point. Two such levels, fused in one pass,
//!   capture the top ~86 bits of the block's range with eight flops per value; the per-block sums go
//!   into the superaccumulator, and the rare nonzero remainders (values more than 2⁸⁶
//!   times smaller than the block's largest) are added to it one by one. Blocks the fast
//!   path cannot take (infinities, NaN, values near the ends of the exponent range, all
//!   zeros) go through the superaccumulator directly. Either way nothing is rounded before
//!   the final [`ExactSum::value`].

use rayon::prelude::*;

use super::isa::{self, Isa};

use crate::error::{Error, Result};
use crate::parallel::Stop;

/// Chunk `i` has weight 2^(32·i − 1074).
const CHUNK_BITS: u32 = 32;
/// 2098 bits of finite doubles (bit 0 = 2⁻¹⁰⁷⁴, the top bit of the largest double is bit
/// 2097) plus room for the carries of up to 2⁶⁴ additions.
const N_CHUNKS: usize = 67;
/// Carries are propagated after this many additions: each addition changes a chunk by less
/// than 2³², so a chunk stays below 2³² + 2³⁰·2³² < 2⁶³ in magnitude.
const NORMALIZE_EVERY: u32 = 1 << 30;
/// Values per fast-path block. The block size enters the choice of σ (2¹¹ ≥ 2·BLOCK).
const BLOCK: usize = 1024;
/// Values per parallel task.
const TASK: usize = 1 << 16;
/// Sums of fewer values than this run on the calling thread whatever the pool size: with
/// 64 Ki-value tasks a sum of 10⁵ values splits into two unequal tasks (at best 1.5× from
/// two threads) and waking the pool costs more than that saves. Measured with
/// `bench/bench_arrays.py --small` on the 2-core test machine: 10⁵ values at 0.29× np.sum
/// in the pool, about 0.8× on the calling thread (docs/arrays.md).
const SERIAL_VALUES: usize = 4 * TASK;

/// Whether a sum of `len` values runs on the calling thread.
fn serial(len: usize) -> bool {
    len < SERIAL_VALUES || crate::parallel::serial(len.saturating_mul(8))
}

/// An exact running sum of `f64` values (see the module documentation).
#[derive(Clone, Debug)]
pub struct ExactSum {
    chunks: [i64; N_CHUNKS],
    pending: u32,
    nan: bool,
    pos_inf: bool,
    neg_inf: bool,
    /// No value was added (the empty sum is +0.0).
    empty: bool,
    /// Every value added was -0.0: only then is the (zero) sum -0.0, as in IEEE arithmetic.
    only_neg_zeros: bool,
    /// The exponent the next fast-path block is tried with (from the last block; out of
    /// range when there is none yet). Affects speed only, never the value.
    guess: i32,
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum::new()
    }
}

impl ExactSum {
    pub fn new() -> ExactSum {
        ExactSum {
            chunks: [0; N_CHUNKS],
            pending: 0,
            nan: false,
            pos_inf: false,
            neg_inf: false,
            empty: true,
            only_neg_zeros: true,
            guess: i32::MIN,
        }
    }

    /// Add one value exactly.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let bits = x.to_bits();
        let neg = bits >> 63 != 0;
        let exp = ((bits >> 52) & 0x7ff) as u32;
        let frac = bits & ((1u64 << 52) - 1);
        self.empty = false;
        if exp == 0x7ff {
            self.only_neg_zeros = false;
            if frac != 0 {
                self.nan = true;
            } else if neg {
                self.neg_inf = true;
            } else {
                self.pos_inf = true;
            }
            return;
        }
        if bits != 1u64 << 63 {
            self.only_neg_zeros = false;
        }
        // x = ±m · 2^(pos − 1074): subnormals have exponent field 0 and no implicit bit.
        let (m, pos) = if exp == 0 {
            (frac, 0)
        } else {
            (frac | (1u64 << 52), exp - 1)
        };
        if m == 0 {
            return;
        }
        let i = (pos / CHUNK_BITS) as usize;
        let v = (m as u128) << (pos % CHUNK_BITS); // at most 84 bits: three chunks
        let lo = (v as u64 & 0xffff_ffff) as i64;
        let mid = ((v >> 32) as u64 & 0xffff_ffff) as i64;
        let hi = (v >> 64) as i64;
        if neg {
            self.chunks[i] -= lo;
            self.chunks[i + 1] -= mid;
            self.chunks[i + 2] -= hi;
        } else {
            self.chunks[i] += lo;
            self.chunks[i + 1] += mid;
            self.chunks[i + 2] += hi;
        }
        self.pending += 1;
        if self.pending >= NORMALIZE_EVERY {
            self.normalize();
        }
    }

    /// Propagate carries: afterwards every chunk but the top one is in [0, 2³²) and the top
    /// one carries the sign.
    fn normalize(&mut self) {
        for i in 0..N_CHUNKS - 1 {
            let carry = self.chunks[i] >> CHUNK_BITS; // floor division by 2³²
            self.chunks[i] -= carry << CHUNK_BITS;
            self.chunks[i + 1] += carry;
        }
        self.pending = 0;
    }

    /// Add everything `other` holds (exact, so the order of merges does not matter).
    pub fn merge(&mut self, other: &ExactSum) {
        let mut o = other.clone();
        o.normalize();
        self.normalize();
        for (a, b) in self.chunks.iter_mut().zip(o.chunks.iter()) {
            *a += *b;
        }
        self.pending = 2; // chunks are now below 2³³: far from the limit
        self.nan |= o.nan;
        self.pos_inf |= o.pos_inf;
        self.neg_inf |= o.neg_inf;
        self.only_neg_zeros &= o.only_neg_zeros;
        self.empty &= o.empty;
    }

    /// Add a slice, using the vectorized block path.
    pub fn add_slice(&mut self, xs: &[f64]) {
        let isa = isa::best();
        for block in xs.chunks(BLOCK) {
            add_block_with(self, block, isa);
        }
    }

    /// The exact sum rounded to the nearest double (ties to even). NaN if any value was NaN
    /// or both infinities occurred; ±inf if an infinity occurred, or if the exact sum of
    /// finite values rounds beyond the largest double.
    pub fn value(&self) -> f64 {
        if self.nan || (self.pos_inf && self.neg_inf) {
            return f64::NAN;
        }
        if self.pos_inf {
            return f64::INFINITY;
        }
        if self.neg_inf {
            return f64::NEG_INFINITY;
        }
        let mut a = self.clone();
        a.normalize();
        let neg = a.chunks[N_CHUNKS - 1] < 0;
        if neg {
            for c in a.chunks.iter_mut() {
                *c = -*c;
            }
            a.normalize();
        }
        // Magnitude as 32-bit words (the top chunk may exceed 32 bits: split it).
        let mut words = [0u64; N_CHUNKS + 1];
        for (w, &c) in words.iter_mut().zip(&a.chunks) {
            *w = c as u64;
        }
        words[N_CHUNKS] = words[N_CHUNKS - 1] >> 32;
        words[N_CHUNKS - 1] &= 0xffff_ffff;
        let top_word = match words.iter().rposition(|&w| w != 0) {
            Some(k) => k,
            None => {
                return if !self.empty && self.only_neg_zeros {
                    -0.0
                } else {
                    0.0
                }
            }
        };
        let top = top_word * 32 + 63 - words[top_word].leading_zeros() as usize; // highest set bit
        let sign = if neg { -1.0 } else { 1.0 };
        if top < 53 {
            // Below 2⁻¹⁰²¹ every multiple of 2⁻¹⁰⁷⁴ is a double: exact.
            let m = words[0] | (words[1] << 32);
            return sign * (m as f64 * f64::from_bits(1));
        }
        // The 54 bits top..=top-53 (53 of mantissa and the guard bit) lie in at most three
        // words from the one holding bit top-53; read them at once (word by word, not bit
        // by bit: this runs once per call, and a bit loop over ~1000 bits cost more than a
        // small sum itself).
        let low = top - 53;
        let (wi, bo) = (low / 32, low % 32);
        let word = |j: usize| words.get(j).copied().unwrap_or(0) as u128;
        let window = (word(wi) | (word(wi + 1) << 32) | (word(wi + 2) << 64)) >> bo;
        let m54 = (window & ((1u128 << 54) - 1)) as u64;
        let mut m = m54 >> 1;
        let guard = m54 & 1 == 1;
        // Sticky: any bit below the guard bit.
        let sticky = words[..wi].iter().any(|&w| w != 0) || words[wi] & ((1u64 << bo) - 1) != 0;
        let mut top = top;
        if guard && (sticky || m & 1 == 1) {
            m += 1;
            if m == 1u64 << 53 {
                m >>= 1;
                top += 1;
            }
        }
        // Value = m · 2^(top − 52 − 1074); biased exponent = top − 1074 + 1023.
        let biased = top as u64 - 51;
        if biased >= 0x7ff {
            return sign * f64::INFINITY;
        }
        f64::from_bits(((neg as u64) << 63) | (biased << 52) | (m & ((1u64 << 52) - 1)))
    }
}

/// σ = 2^e as a double (e within the normal range).
#[inline]
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// Exponent range of the fast paths: σ1 = 2^(e+11) and the AVX2 pass's S = 2^(e+12) are at
/// most 2¹⁰²³, and every σ and threshold used (down to 2^(e−33)) is a normal double.
const E_MIN: i32 = -989;
const E_MAX: i32 = 1011;
/// The guess for the next block is the last block's exponent plus this: blocks whose
/// largest value grows by up to 2^SLACK still take the one-pass path. A guess too large is
/// still exact (only the range of values the one-level path accepts shrinks by as much).
const SLACK: i32 = 1;
const ABS: u64 = !(1u64 << 63);

/// `e` such that |x| ≤ 2^e for every x whose |x| has bits `max_bits` (finite, nonzero).
#[inline]
fn exponent_of(max_bits: u64) -> i32 {
    (max_bits >> 52) as i32 - 1023 + 1
}

/// What one pass of the one-level extraction gives for a block, for a given e:
/// `t1` = Σ q1 with q1 = (σ1 + x) − σ1, σ1 = 2^(e+11); `t2` = Σ (x − q1);
/// `max_bits` = the largest |x| as bits (a NaN may be missed: it makes `t1` NaN);
/// `min_key` = the smallest (|x| as bits) − 1, wrapping (so that zeros count as largest).
///
/// Exactness (the block has at most 1024 values): if every |x| ≤ 2^e, q1 is exact, a
/// multiple of 2^(e−42) with |q1| ≤ 2^e + 2^(e−42), and r1 = x − q1 is exact with
/// |r1| ≤ 2^(e−42); every partial sum of the q1 is a multiple of 2^(e−42) below
/// 2^(e+11) = 2⁵³·2^(e−42), so it is a double: `t1` is exact in any order. The r1 are
/// multiples of ulp(x) (or 0), so if moreover every nonzero |x| ≥ 2^(e−33) (ulp(x) ≥
/// 2^(e−85)), every partial sum of the r1 is a multiple of 2^(e−85) of magnitude at most
/// 2¹⁰·2^(e−42) = 2⁵³·2^(e−85): a double, and `t2` is exact too. [`accept`] checks both
/// conditions from `max_bits` and `min_key`.
#[derive(Clone, Copy)]
struct Pass {
    t1: f64,
    t2: f64,
    max_bits: u64,
    min_key: u64,
}

#[inline(always)]
fn accept(p: &Pass, e: i32) -> bool {
    p.max_bits <= pow2(e).to_bits()
        // 2^(e−32), not the extraction's 2^(e−33): the AVX2 running sums need one bit more.
        && p.min_key >= pow2(e - 32).to_bits() - 1
        && p.t1.is_finite()
        && p.t2.is_finite()
}

/// Portable [`Pass`]: eight independent lanes, so that it vectorizes somewhat.
#[inline(always)]
fn pass_portable(xs: &[f64], e: i32) -> Pass {
    let s1 = pow2(e + 11);
    let mut t1 = [0.0f64; 8];
    let mut t2 = [0.0f64; 8];
    let mut mx = [0u64; 8];
    let mut mn = [u64::MAX; 8];
    let n8 = xs.len() / 8 * 8;
    for c in xs[..n8].chunks_exact(8) {
        for j in 0..8 {
            let q1 = (s1 + c[j]) - s1;
            t1[j] += q1;
            t2[j] += c[j] - q1;
            let a = c[j].to_bits() & ABS;
            mx[j] = mx[j].max(a);
            mn[j] = mn[j].min(a.wrapping_sub(1));
        }
    }
    for &x in &xs[n8..] {
        let q1 = (s1 + x) - s1;
        t1[0] += q1;
        t2[0] += x - q1;
        let a = x.to_bits() & ABS;
        mx[0] = mx[0].max(a);
        mn[0] = mn[0].min(a.wrapping_sub(1));
    }
    Pass {
        t1: t1.iter().sum(),
        t2: t2.iter().sum(),
        max_bits: mx.iter().copied().max().unwrap(),
        min_key: mn.iter().copied().min().unwrap(),
    }
}

/// The scalar tail of the SIMD passes, folded into `p` (exact sums: any order).
#[inline(always)]
fn pass_tail(xs: &[f64], s1: f64, p: &mut Pass) {
    for &x in xs {
        let q1 = (s1 + x) - s1;
        p.t1 += q1;
        p.t2 += x - q1;
        let a = x.to_bits() & ABS;
        p.max_bits = p.max_bits.max(a);
        p.min_key = p.min_key.min(a.wrapping_sub(1));
    }
}

/// [`Pass`] with AVX-512: four independent accumulators of eight lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pass_avx512(xs: &[f64], e: i32) -> Pass {
    use std::arch::x86_64::*;
    let s1v = pow2(e + 11);
    let s1 = _mm512_set1_pd(s1v);
    let absm = _mm512_set1_epi64(ABS as i64);
    let ones = _mm512_set1_epi64(-1);
    let mut t1 = [_mm512_setzero_pd(); 4];
    let mut t2 = [_mm512_setzero_pd(); 4];
    let mut mx = [_mm512_setzero_si512(); 4];
    let mut mn = [_mm512_set1_epi64(-1); 4];
    let n32 = xs.len() / 32 * 32;
    let p = xs.as_ptr();
    let mut i = 0;
    while i < n32 {
        for k in 0..4 {
            // SAFETY: i + 8k + 8 ≤ n32 ≤ xs.len().
            let x = unsafe { _mm512_loadu_pd(p.add(i + 8 * k)) };
            let q1 = _mm512_sub_pd(_mm512_add_pd(s1, x), s1);
            t1[k] = _mm512_add_pd(t1[k], q1);
            t2[k] = _mm512_add_pd(t2[k], _mm512_sub_pd(x, q1));
            let a = _mm512_and_si512(_mm512_castpd_si512(x), absm);
            mx[k] = _mm512_max_epu64(mx[k], a);
            mn[k] = _mm512_min_epu64(mn[k], _mm512_add_epi64(a, ones));
        }
        i += 32;
    }
    let t1 = _mm512_add_pd(_mm512_add_pd(t1[0], t1[1]), _mm512_add_pd(t1[2], t1[3]));
    let t2 = _mm512_add_pd(_mm512_add_pd(t2[0], t2[1]), _mm512_add_pd(t2[2], t2[3]));
    let mx = _mm512_max_epu64(_mm512_max_epu64(mx[0], mx[1]), _mm512_max_epu64(mx[2], mx[3]));
    let mn = _mm512_min_epu64(_mm512_min_epu64(mn[0], mn[1]), _mm512_min_epu64(mn[2], mn[3]));
    let mut r = Pass {
        t1: _mm512_reduce_add_pd(t1),
        t2: _mm512_reduce_add_pd(t2),
        max_bits: _mm512_reduce_max_epu64(mx),
        min_key: _mm512_reduce_min_epu64(mn),
    };
    pass_tail(&xs[n32..], s1v, &mut r);
    r
}

/// [`Pass`] with AVX2, as running sums (Dekker's FastTwoSum): each of twelve lanes keeps
/// `s`, starting at S = 2^(e+12), and per value computes `t = s + x`, `q = t − s`,
/// `r = x − q`, `s = t`, `t2 += r`; then `t1` = Σ (s − S) over the lanes. That is four
/// additions per value where the fixed-σ extraction takes five (`t1 += q` is folded into
/// the running sum), about 10 % less time at 10⁴–10⁵ values (docs/arrays.md). The result is
/// the same pair of exact sums (the block's value is then rounded once, so the bits of the
/// final sum do not depend on which pass ran).
///
/// Exactness, under [`accept`]'s conditions (every |x| ≤ 2^e, every nonzero |x| ≥ 2^(e−32),
/// at most 1024 values): each lane's s stays within S ± 2^(e+10)·(1 + 2⁻⁴¹), inside
/// [2^(e+11), 2^(e+13)), so |s| ≥ |x| and FastTwoSum is error-free: q = t − s and r = x − q
/// are exact and x = q + r. Every s is a multiple of ulp(2^(e+11)) = 2^(e−41), so s − S is
/// exact (Sterbenz) and so is the sum of the lanes' s − S (multiples of 2^(e−41) below
/// 2^(e+10)·(1 + 2⁻⁴¹) < 2⁵³·2^(e−41)). |r| ≤ ulp(t)/2 ≤ 2^(e−41) and r is a multiple of
/// ulp(x) ≥ 2^(e−84) (q is a multiple of 2^(e−41)), so every partial sum of the r is a
/// multiple of 2^(e−84) of magnitude at most 2¹⁰·2^(e−41) = 2⁵³·2^(e−84): `t2` is exact
/// in any order. S ≤ 2¹⁰²³ needs e ≤ 1011 ([`E_MAX`]). A NaN or infinity makes `t1` NaN or
/// infinite (the running sum keeps it).
///
/// The maximum is taken on doubles (a NaN is skipped there, and caught by `t1`). The
/// minimum is taken on the keys |x|bits − 1 read as doubles: for nonzero finite x that is a
/// non-negative double ordered as its bits are, and for x = ±0 it is all ones, a NaN, which
/// `vminpd` skips (it returns its second operand, the running minimum, when the first is a
/// NaN): one integer subtraction and one `vminpd` per vector, where AVX2 has no unsigned
/// 64-bit min. Three accumulators of four lanes: two left the loop waiting on the running
/// sum's latency, four spill registers (16 ymm).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pass_avx2(xs: &[f64], e: i32) -> Pass {
    use std::arch::x86_64::*;
    const K: usize = 3;
    let sv = pow2(e + 12);
    let s0 = _mm256_set1_pd(sv);
    let absm = _mm256_castsi256_pd(_mm256_set1_epi64x(ABS as i64));
    let one = _mm256_set1_epi64x(1);
    let mut s = [s0; K];
    let mut t2 = [_mm256_setzero_pd(); K];
    let mut mx = [_mm256_setzero_pd(); K];
    // +inf: above every key of a finite nonzero value, and not a NaN (see above).
    let mut mn = [_mm256_set1_pd(f64::INFINITY); K];
    let p = xs.as_ptr();
    // One value vector into accumulator k.
    macro_rules! step {
        ($k:expr, $x:expr) => {{
            let x = $x;
            let t = _mm256_add_pd(s[$k], x);
            let q = _mm256_sub_pd(t, s[$k]);
            s[$k] = t;
            t2[$k] = _mm256_add_pd(t2[$k], _mm256_sub_pd(x, q));
            let a = _mm256_and_pd(x, absm);
            mx[$k] = _mm256_max_pd(a, mx[$k]);
            let key = _mm256_castsi256_pd(_mm256_sub_epi64(_mm256_castpd_si256(a), one));
            mn[$k] = _mm256_min_pd(key, mn[$k]);
        }};
    }
    let nk = xs.len() / (4 * K) * (4 * K);
    let mut i = 0;
    while i < nk {
        for k in 0..K {
            // SAFETY: i + 4k + 4 ≤ nk ≤ xs.len().
            step!(k, unsafe { _mm256_loadu_pd(p.add(i + 4 * k)) });
        }
        i += 4 * K;
    }
    // The remaining whole vectors, then the last values (fewer than four).
    while i + 4 <= xs.len() {
        // SAFETY: i + 4 ≤ xs.len().
        step!(0, unsafe { _mm256_loadu_pd(p.add(i)) });
        i += 4;
    }
    let mut l1 = [0.0f64; 4];
    let mut l2 = [0.0f64; 4];
    let mut lm = [0.0f64; 4];
    let mut ln = [0.0f64; 4];
    let t1v = _mm256_add_pd(
        _mm256_add_pd(_mm256_sub_pd(s[0], s0), _mm256_sub_pd(s[1], s0)),
        _mm256_sub_pd(s[2], s0),
    );
    // SAFETY: four-element arrays, unaligned stores.
    unsafe {
        _mm256_storeu_pd(l1.as_mut_ptr(), t1v);
        _mm256_storeu_pd(l2.as_mut_ptr(), _mm256_add_pd(_mm256_add_pd(t2[0], t2[1]), t2[2]));
        _mm256_storeu_pd(lm.as_mut_ptr(), _mm256_max_pd(_mm256_max_pd(mx[0], mx[1]), mx[2]));
        _mm256_storeu_pd(ln.as_mut_ptr(), _mm256_min_pd(_mm256_min_pd(mn[0], mn[1]), mn[2]));
    }
    let mut r = Pass {
        t1: l1.iter().sum(),
        t2: l2.iter().sum(),
        max_bits: lm.iter().map(|m| m.to_bits()).max().unwrap(),
        min_key: ln.iter().map(|k| k.to_bits()).min().unwrap(),
    };
    // The tail as the same running sum on one scalar lane.
    let mut st = sv;
    for &x in &xs[i..] {
        let t = st + x;
        let q = t - st;
        st = t;
        r.t2 += x - q;
        let a = x.to_bits() & ABS;
        r.max_bits = r.max_bits.max(a);
        r.min_key = r.min_key.min(a.wrapping_sub(1));
    }
    r.t1 += st - sv;
    r
}

#[inline(always)]
fn pass(isa: Isa, xs: &[f64], e: i32) -> Pass {
    match isa {
        // SAFETY: the CPU has the feature (`isa::best()` checked it).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { pass_avx512(xs, e) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { pass_avx2(xs, e) },
        Isa::Portable => pass_portable(xs, e),
    }
}

/// Two extraction levels fused in one pass: `q1 = (σ1 + x) − σ1`, `r1 = x − q1`,
/// `q2 = (σ2 + r1) − σ2`, `r2 = r1 − q2`. Returns the block sums of q1 and q2 (exact) and
/// whether any `r2` is nonzero. Eight independent lanes so that the loop vectorizes; lane
/// totals are exact, so adding them up in any order is exact too. The fallback for blocks
/// whose values span more than the one-level path allows.
#[inline(always)]
fn extract2(xs: &[f64], s1: f64, s2: f64) -> (f64, f64, bool) {
    let mut t1 = [0.0f64; 8];
    let mut t2 = [0.0f64; 8];
    let mut any = [0u64; 8];
    let n8 = xs.len() / 8 * 8;
    for c in xs[..n8].chunks_exact(8) {
        for j in 0..8 {
            let q1 = (s1 + c[j]) - s1;
            let r1 = c[j] - q1;
            let q2 = (s2 + r1) - s2;
            let r2 = r1 - q2;
            t1[j] += q1;
            t2[j] += q2;
            any[j] |= r2.to_bits() << 1; // ignores the sign of a zero
        }
    }
    for &x in &xs[n8..] {
        let q1 = (s1 + x) - s1;
        let r1 = x - q1;
        let q2 = (s2 + r1) - s2;
        let r2 = r1 - q2;
        t1[0] += q1;
        t2[0] += q2;
        any[0] |= r2.to_bits() << 1;
    }
    (t1.iter().sum(), t2.iter().sum(), any.iter().any(|&a| a != 0))
}

/// The two-level path for a block with |x| ≤ 2^e (e in [E_MIN, E_MAX]); `false` if the
/// block holds a NaN or infinity after all.
fn block_two_level(acc: &mut ExactSum, xs: &[f64], e: i32) -> bool {
    // n·(max|x| + ulp(σ)/2) < σ keeps every partial sum of the q on the grid and below σ:
    // σ1 = 2^(e+11) for blocks of at most 2¹⁰ values. |r1| ≤ 2^(e−42), so σ2 = 2^(e−32).
    let (s1, s2) = (pow2(e + 11), pow2(e - 32));
    let (t1, t2, rest) = extract2(xs, s1, s2);
    if !(t1.is_finite() && t2.is_finite()) {
        return false;
    }
    acc.add(t1);
    acc.add(t2);
    if rest {
        // Values more than 2⁸⁶ below the block's largest: recompute their remainders (the
        // same operations, so the same values) and add them exactly.
        for &x in xs {
            let q1 = (s1 + x) - s1;
            let r1 = x - q1;
            let r2 = r1 - ((s2 + r1) - s2);
            if r2 != 0.0 {
                acc.add(r2);
            }
        }
    }
    true
}

/// Largest |x| as bits (NaN counts as larger than infinity). Run on a first block whose
/// sampled values give no exponent guess (zeros, infinities, NaN): without AVX2 there is no unsigned 64-bit vector max,
/// and the portable loop took three times as long as the extraction pass itself, a third
/// of a whole 1000-value sum.
fn max_abs_bits(isa: Isa, xs: &[f64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked).
        return unsafe { max_abs_bits_avx2(xs) };
    }
    let _ = isa;
    xs.iter().map(|x| x.to_bits() & ABS).max().unwrap_or(0)
}

/// [`max_abs_bits`] with AVX2: |x| as bits is below 2⁶³, so the signed 64-bit comparison
/// orders it as the unsigned one (NaN above infinity, as there).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn max_abs_bits_avx2(xs: &[f64]) -> u64 {
    use std::arch::x86_64::*;
    let absm = _mm256_set1_epi64x(ABS as i64);
    let mut m = [_mm256_setzero_si256(); 2];
    let n8 = xs.len() / 8 * 8;
    let p = xs.as_ptr();
    let mut i = 0;
    while i < n8 {
        for (k, m) in m.iter_mut().enumerate() {
            // SAFETY: i + 4k + 4 ≤ n8 ≤ xs.len().
            let x = unsafe { _mm256_loadu_si256(p.add(i + 4 * k).cast()) };
            let a = _mm256_and_si256(x, absm);
            *m = _mm256_blendv_epi8(*m, a, _mm256_cmpgt_epi64(a, *m));
        }
        i += 8;
    }
    let mut lanes = [0u64; 8];
    // SAFETY: eight-element array, two unaligned stores of four lanes.
    unsafe {
        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), m[0]);
        _mm256_storeu_si256(lanes.as_mut_ptr().add(4).cast(), m[1]);
    }
    let tail = xs[n8..].iter().map(|x| x.to_bits() & ABS);
    lanes.iter().copied().chain(tail).max().unwrap_or(0)
}

/// The first block's exponent guess (no previous block): the exponent of the largest of
/// sixteen values spread over the block, plus [`FIRST_SLACK`]; out of range when those are
/// all zeros, or not finite. A guess the pass rejects costs one more pass with the block's
/// own exponent (the pass returns its maximum), where a separate maximum pass before every
/// first block read the block twice: for a sum of 10³ values that was ~20 % of the kernel.
fn first_guess(xs: &[f64]) -> i32 {
    let n = xs.len();
    let m = (0..16)
        .map(|k| xs[k * (n - 1) / 15].to_bits() & ABS)
        .max()
        .unwrap_or(0);
    if m == 0 || m >= f64::INFINITY.to_bits() {
        return i32::MIN;
    }
    exponent_of(m) + FIRST_SLACK
}

/// Bits of headroom of the first block's guess over its sampled maximum: a block of
/// normal values passes unless all 16 samples fall below an eighth of its maximum (for
/// 1000 values, |x| < 0.4σ: under 10⁻⁷). A guess too large only narrows the range of small
/// values the pass accepts (down to 2^(guess−32)).
const FIRST_SLACK: i32 = 3;

/// Add an accepted one-level pass's sums; `max_bits` says whether the block was all zeros.
#[inline(always)]
fn take(acc: &mut ExactSum, xs: &[f64], p: &Pass) {
    acc.empty = false;
    if p.max_bits == 0 {
        // Only zeros (nothing to add): the sum stays -0.0 only if all of them are -0.0.
        if xs.iter().any(|x| x.to_bits() == 0) {
            acc.only_neg_zeros = false;
        }
    } else {
        acc.add(p.t1);
        acc.add(p.t2);
        acc.only_neg_zeros = false;
        acc.guess = exponent_of(p.max_bits) + SLACK;
    }
}

/// Add one block (at most [`BLOCK`] values) exactly.
///
/// The usual case is one pass over the block: the one-level extraction with the exponent
/// guessed from the previous block, checked afterwards with the block's max and min
/// (exact either way; a wrong guess costs a second pass with the block's own exponent).
/// Blocks spanning too wide a range take the two-level extraction; blocks with NaN or
/// infinities, or values near the ends of the exponent range, the superaccumulator.
fn add_block_with(acc: &mut ExactSum, xs: &[f64], isa: Isa) {
    debug_assert!(xs.len() <= BLOCK);
    if xs.is_empty() {
        return;
    }
    let g = if (E_MIN..=E_MAX).contains(&acc.guess) {
        acc.guess
    } else {
        first_guess(xs)
    };
    let mut tried = None;
    let max_bits = if (E_MIN..=E_MAX).contains(&g) {
        let p = pass(isa, xs, g);
        if accept(&p, g) {
            return take(acc, xs, &p);
        }
        tried = Some(p);
        p.max_bits
    } else {
        max_abs_bits(isa, xs)
    };
    let scalar = |acc: &mut ExactSum| {
        for &x in xs {
            acc.add(x);
        }
    };
    if max_bits >= f64::INFINITY.to_bits() {
        return scalar(acc); // NaN or infinity
    }
    if max_bits == 0 {
        // Only zeros (any guess in range accepts those, this is the no-guess case).
        let p = Pass {
            t1: 0.0,
            t2: 0.0,
            max_bits: 0,
            min_key: u64::MAX,
        };
        return take(acc, xs, &p);
    }
    let e = exponent_of(max_bits);
    acc.guess = e + SLACK;
    if !(E_MIN..=E_MAX).contains(&e) {
        return scalar(acc);
    }
    let p = match tried {
        Some(p) if g == e => p,
        _ => pass(isa, xs, e),
    };
    if accept(&p, e) {
        return take(acc, xs, &p);
    }
    if !p.t1.is_finite() || !block_two_level(acc, xs, e) {
        // A NaN the maximum skipped.
        return scalar(acc);
    }
    acc.empty = false;
    acc.only_neg_zeros = false;
}

fn add_block(acc: &mut ExactSum, xs: &[f64]) {
    add_block_with(acc, xs, isa::best())
}
/// Correctly rounded sum of `xs`, in parallel in the library's pool.
pub fn sum(xs: &[f64]) -> Result<f64> {
    let acc = sum_slice(xs, &Stop::new())?;
    Ok(acc.value())
}

/// The exact sum of `xs` (serially below the pool's threshold), task by task so that a
/// raised `stop` ends it within one task (65536 values, tens of microseconds).
fn sum_slice(xs: &[f64], stop: &Stop) -> Result<ExactSum> {
    // Err(()) once stopped: try_fold/try_reduce then stop handing out the remaining tasks
    // (skipping them one by one would still walk millions of them for a huge input).
    let task = |mut acc: ExactSum, c: &[f64]| {
        if stop.stopped() {
            return Err(());
        }
        acc.add_slice(c);
        stop.advance(c.len() as u64);
        Ok(acc)
    };
    if serial(xs.len()) {
        return Ok(xs
            .chunks(TASK)
            .try_fold(ExactSum::new(), task)
            .unwrap_or_default());
    }
    crate::parallel::run(|| {
        xs.par_chunks(TASK)
            .try_fold(ExactSum::new, task)
            .try_reduce(ExactSum::new, |mut a, b| {
                a.merge(&b);
                Ok(a)
            })
            .unwrap_or_default()
    })
}

/// Correctly rounded sum of `len` native-endian doubles stored in `bytes`, value `i` at byte
/// `first + i·stride` (any alignment; `stride` may be negative, zero or not a multiple of
/// 8). Errors if a value would fall outside `bytes`.
pub fn sum_bytes(bytes: &[u8], first: usize, len: usize, stride: isize) -> Result<f64> {
    sum_bytes_polled(bytes, first, len, stride, None)
}

/// [`sum_bytes`], calling `poll(values_done, len)` on the calling thread at a bounded
/// interval while it runs (see [`crate::parallel::run_polled`]); when `poll` returns false
/// the sum stops within one task and the result is `ErrorKind::Cancelled`.
pub fn sum_bytes_polled(
    bytes: &[u8],
    first: usize,
    len: usize,
    stride: isize,
    poll: Option<&mut dyn FnMut(u64, u64) -> bool>,
) -> Result<f64> {
    if len == 0 {
        return Ok(0.0);
    }
    let last = (len as i128 - 1) * stride as i128 + first as i128;
    let (lo, hi) = ((first as i128).min(last), (first as i128).max(last));
    if lo < 0 || hi + 8 > bytes.len() as i128 {
        return Err(Error::invalid(format!(
            "{len} doubles with stride {stride} from byte {first} do not fit in a buffer of {} bytes",
            bytes.len()
        )));
    }
    let acc = crate::parallel::run_polled(len as u64, poll, |stop| {
        sum_strided(bytes, first, len, stride, stop)
    })??;
    Ok(acc.value())
}

fn sum_strided(bytes: &[u8], first: usize, len: usize, stride: isize, stop: &Stop) -> Result<ExactSum> {
    if stride == 8 && (bytes.as_ptr() as usize + first).is_multiple_of(8) {
        // SAFETY: in bounds (checked by the caller) and aligned; any bit pattern is a
        // valid f64.
        let xs = unsafe { std::slice::from_raw_parts(bytes.as_ptr().add(first) as *const f64, len) };
        return sum_slice(xs, stop);
    }
    let read = |i: usize| -> f64 {
        let at = (first as isize + i as isize * stride) as usize;
        f64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap())
    };
    // Gather each task's values into an aligned block, then take the same path as a slice.
    // Err(()) once stopped, as in `sum_slice`.
    let task = |mut acc: ExactSum, t: usize| -> std::result::Result<ExactSum, ()> {
        if stop.stopped() {
            return Err(());
        }
        let mut buf = [0.0f64; BLOCK];
        let end = ((t + 1) * TASK).min(len);
        let mut i = t * TASK;
        while i < end {
            let n = (end - i).min(BLOCK);
            for (k, b) in buf[..n].iter_mut().enumerate() {
                *b = read(i + k);
            }
            add_block(&mut acc, &buf[..n]);
            i += n;
        }
        stop.advance((end - t * TASK) as u64);
        Ok(acc)
    };
    let tasks = len.div_ceil(TASK);
    if serial(len) {
        return Ok((0..tasks).try_fold(ExactSum::new(), task).unwrap_or_default());
    }
    crate::parallel::run(|| {
        (0..tasks)
            .into_par_iter()
            .try_fold(ExactSum::new, task)
            .try_reduce(ExactSum::new, |mut a, b| {
                a.merge(&b);
                Ok(a)
            })
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: exact rational sum via the scalar accumulator only.
    fn scalar(xs: &[f64]) -> f64 {
        let mut a = ExactSum::new();
        for &x in xs {
            a.add(x);
        }
        a.value()
    }

    /// A small deterministic generator (xorshift), so the tests need no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// Any finite double, sign and exponent spread over the whole range.
        fn any_finite(&mut self) -> f64 {
            loop {
                let x = f64::from_bits(self.next());
                if x.is_finite() {
                    return x;
                }
            }
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn simple_values() {
        assert_eq!(scalar(&[]), 0.0);
        assert_eq!(scalar(&[1.0, 2.0, 3.0]), 6.0);
        assert_eq!(scalar(&[0.1; 10]), 1.0); // fsum([0.1]*10) == 1.0
        assert_eq!(scalar(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(scalar(&[1.0, 1e-16, 1e-16]), 1.0000000000000002);
        assert_eq!(scalar(&[f64::MAX, f64::MAX, -f64::MAX]), f64::MAX);
        assert_eq!(scalar(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(scalar(&[-f64::MAX, -f64::MAX]), f64::NEG_INFINITY);
        assert_eq!(scalar(&[5e-324, 5e-324]), 1e-323);
        assert_eq!(
            scalar(&[f64::MIN_POSITIVE, -5e-324]).to_bits(),
            (f64::MIN_POSITIVE - 5e-324).to_bits()
        );
        assert!(scalar(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(scalar(&[1.0, f64::NAN]).is_nan());
        assert_eq!(scalar(&[f64::INFINITY, f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(scalar(&[-0.0, -0.0]).to_bits(), (-0.0f64).to_bits());
        assert_eq!(scalar(&[-0.0, 0.0]).to_bits(), 0);
        assert_eq!(scalar(&[1.0, -1.0]).to_bits(), 0);
    }

    /// The rounding of [`ExactSum::value`] against the hardware's: the IEEE sum of two
    /// doubles is their exact sum correctly rounded (ties to even, overflow to ±inf), so
    /// `value()` of a pair must equal `a + b` bit for bit. Pairs whose exponents differ by
    /// 0..64 put the guard and sticky bits everywhere in and beyond the mantissa.
    #[test]
    fn value_rounds_pairs_as_the_hardware_does() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for case in 0..200_000 {
            let a = rng.any_finite();
            let shift = (rng.next() % 66) as i64 - 1;
            let ea = ((a.to_bits() >> 52) & 0x7ff) as i64;
            let eb = (ea - shift).clamp(0, 0x7fe) as u64;
            let sign = if rng.next() & 1 == 0 { 0 } else { 1u64 << 63 };
            let frac = if case % 7 == 0 {
                0
            } else {
                rng.next() & ((1u64 << 52) - 1)
            };
            let b = f64::from_bits(sign | (eb << 52) | frac);
            let want = a + b;
            assert_eq!(scalar(&[a, b]).to_bits(), want.to_bits(), "{a:e} + {b:e}");
        }
    }

    #[test]
    fn rounding_ties_to_even_and_halfway_to_infinity() {
        // 1 + 2^-53 is a tie: rounds to 1 (even); 1 + 2^-53 + tiny is above the tie.
        assert_eq!(scalar(&[1.0, 2f64.powi(-53)]), 1.0);
        assert_eq!(scalar(&[1.0, 2f64.powi(-53), 5e-324]), 1.0 + f64::EPSILON);
        assert_eq!(
            scalar(&[1.0 + f64::EPSILON, 2f64.powi(-53)]),
            1.0 + 2.0 * f64::EPSILON
        );
        // Halfway between MAX and 2^1024 rounds to infinity; just below it does not.
        let half_ulp = 2f64.powi(970);
        assert_eq!(scalar(&[f64::MAX, half_ulp]), f64::INFINITY);
        assert_eq!(scalar(&[f64::MAX, half_ulp, -5e-324]), f64::MAX);
    }

    #[test]
    fn fast_path_equals_scalar_path() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..60 {
            let n = [1, 7, 1023, 1024, 1025, 5000][case % 6];
            let xs: Vec<f64> = (0..n)
                .map(|i| match case % 5 {
                    0 => rng.unit() * 2.0 - 1.0,
                    1 => rng.any_finite(),
                    2 => (rng.unit() - 0.5) * 2f64.powi((rng.next() % 200) as i32 - 100),
                    3 => {
                        if i % 2 == 0 {
                            1e16
                        } else {
                            rng.unit() - 1e16
                        }
                    }
                    _ => (rng.unit() - 0.5) * 1e-310, // subnormals
                })
                .collect();
            let mut a = ExactSum::new();
            a.add_slice(&xs);
            assert_eq!(a.value().to_bits(), scalar(&xs).to_bits(), "case {case}");
        }
    }

    fn isas() -> Vec<Isa> {
        isa::available()
    }

    fn blocks_with(xs: &[f64], isa: Isa) -> f64 {
        let mut a = ExactSum::new();
        for b in xs.chunks(BLOCK) {
            add_block_with(&mut a, b, isa);
        }
        a.value()
    }

    /// Blocks built to hit each branch of the guessed one-pass path, for every ISA:
    /// the guess right, too small (max grows), far too large (max shrinks), values below
    /// the one-level range (two-level path, remainders), subnormals, zeros of both signs,
    /// NaN and infinities in the middle of a block, exponents near both ends, odd lengths.
    #[test]
    fn guessed_exponent_paths_equal_scalar_path() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut blocks: Vec<Vec<f64>> = Vec::new();
        let unit = |rng: &mut Rng| rng.unit() * 2.0 - 1.0;
        for scale in [
            0, 1, 2, 30, -30, 300, -300, 900, -900, 1000, -1000, 1010, 1011, 1012, 1015, -1015, 1023, -1060,
        ] {
            let b: Vec<f64> = (0..BLOCK).map(|_| unit(&mut rng) * 2f64.powi(scale)).collect();
            blocks.push(b);
        }
        // Max exactly at the guess bound, and just above it.
        let mut b: Vec<f64> = (0..BLOCK).map(|_| unit(&mut rng)).collect();
        b[17] = 2.0;
        blocks.push(b.clone());
        b[17] = 2.0f64.next_up();
        blocks.push(b.clone());
        b[17] = -8.0;
        blocks.push(b);
        // A tiny value at, just below and far below the one-level thresholds 2^(e−32)
        // (accept) and 2^(e−33) (the extraction's own bound).
        for tiny in [
            2f64.powi(-32),
            2f64.powi(-32).next_down(),
            2f64.powi(-33),
            2f64.powi(-33).next_down(),
            3.0 * 2f64.powi(-90),
            5e-324,
            -1e-310,
        ] {
            let mut b: Vec<f64> = (0..BLOCK).map(|_| unit(&mut rng)).collect();
            b[0] = 1.0;
            b[999] = tiny;
            blocks.push(b);
        }
        // Zeros: all -0.0, all +0.0, mixed, zeros among values.
        blocks.push(vec![-0.0; BLOCK]);
        blocks.push(vec![0.0; BLOCK]);
        blocks.push((0..BLOCK).map(|i| if i % 3 == 0 { 0.0 } else { -0.0 }).collect());
        blocks.push(
            (0..BLOCK)
                .map(|i| if i % 2 == 0 { 0.0 } else { unit(&mut rng) })
                .collect(),
        );
        // Specials inside a block.
        for special in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            -f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let mut b: Vec<f64> = (0..BLOCK).map(|_| unit(&mut rng)).collect();
            b[513] = special;
            blocks.push(b);
        }
        // Sequences of blocks: each ordering exercises guesses from a different predecessor.
        let n = blocks.len();
        for round in 0..40 {
            let mut xs = Vec::new();
            for k in 0..6 {
                let b = &blocks[(rng.next() as usize) % n];
                let len = if (round + k) % 5 == 0 {
                    (rng.next() as usize) % BLOCK + 1
                } else {
                    BLOCK
                };
                xs.extend_from_slice(&b[..len]);
            }
            let want = scalar(&xs);
            for isa in isas() {
                let got = blocks_with(&xs, isa);
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "round {round}"
                );
            }
        }
        // Every block after every other block, each ISA.
        for i in 0..n {
            for j in 0..n {
                let xs: Vec<f64> = blocks[i].iter().chain(&blocks[j]).copied().collect();
                let want = scalar(&xs);
                for isa in isas() {
                    let got = blocks_with(&xs, isa);
                    assert!(
                        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                        "blocks {i} then {j}"
                    );
                }
            }
        }
    }

    /// The vector maximum of the first block equals the portable one (NaN above infinity,
    /// every tail length).
    #[test]
    fn max_abs_bits_every_isa() {
        let mut r = Rng(7);
        for n in [0, 1, 7, 8, 9, 31, 1024] {
            let mut xs: Vec<f64> = (0..n).map(|_| r.any_finite()).collect();
            for special in [
                None,
                Some(f64::INFINITY),
                Some(f64::NEG_INFINITY),
                Some(f64::NAN),
                Some(-0.0),
            ] {
                if let (Some(v), true) = (special, n > 0) {
                    xs[(r.next() % n as u64) as usize] = v;
                }
                let want = xs.iter().map(|x| x.to_bits() & ABS).max().unwrap_or(0);
                for isa in isas() {
                    assert_eq!(max_abs_bits(isa, &xs), want, "{n} {special:?} {isa:?}");
                }
            }
        }
    }

    #[test]
    fn cancellation_to_exact_values() {
        let mut rng = Rng(12345);
        let mut xs: Vec<f64> = (0..10_000).map(|_| rng.any_finite() / 4.0).collect();
        let neg: Vec<f64> = xs.iter().map(|x| -x).collect();
        xs.extend(neg);
        xs.push(0.1);
        assert_eq!(sum(&xs).unwrap(), 0.1);
    }

    #[test]
    fn deterministic_for_any_thread_count() {
        let mut rng = Rng(777);
        let xs: Vec<f64> = (0..300_000)
            .map(|_| (rng.unit() - 0.5) * 2f64.powi((rng.next() % 60) as i32))
            .collect();
        let want = scalar(&xs);
        for t in [1, 2, 3, 7] {
            crate::parallel::set_threads(t).unwrap();
            assert_eq!(sum(&xs).unwrap().to_bits(), want.to_bits(), "{t} threads");
        }
        crate::parallel::set_threads(0).unwrap();
    }

    #[test]
    fn strided_and_unaligned_bytes() {
        let xs: Vec<f64> = (0..5000).map(|i| (i as f64).sqrt() - 30.0).collect();
        let mut bytes = vec![0u8; 3];
        for x in &xs {
            bytes.extend_from_slice(&x.to_ne_bytes());
        }
        let want = scalar(&xs);
        assert_eq!(sum_bytes(&bytes, 3, xs.len(), 8).unwrap(), want);
        let last = 3 + 8 * (xs.len() - 1);
        assert_eq!(sum_bytes(&bytes, last, xs.len(), -8).unwrap(), want);
        let every_other: Vec<f64> = xs.iter().step_by(2).copied().collect();
        assert_eq!(
            sum_bytes(&bytes, 3, xs.len().div_ceil(2), 16).unwrap(),
            scalar(&every_other)
        );
        assert_eq!(sum_bytes(&bytes, 3, 4, 0).unwrap(), 4.0 * xs[0]);
        assert!(sum_bytes(&bytes, 3, xs.len() + 1, 8).is_err());
        assert!(sum_bytes(&bytes, 3, 2, -8).is_err());
    }
}
