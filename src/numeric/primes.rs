//! Prime counting and listing: a segmented sieve of Eratosthenes on a mod-30 wheel, run in
//! parallel over contiguous groups of segments.
//!
//! Layout: one byte per 30 numbers, bit b of byte k standing for 30k + RES[b] (the eight
//! residues coprime to 30), so multiples of 2, 3 and 5 take no space and no work. Each
//! segment starts as the AND of precomputed patterns that already have the multiples of
//! 7 … 67 removed (a group's pattern repeats every product-of-its-primes bytes). The other
//! primes up to √hi are crossed off from p² on, visiting only the multiples p·q with q
//! coprime to 30: for a prime p = 30a + r, the byte step from p·q to p·q' (q' the next
//! residue) is a·gap + a constant that depends only on (r, q mod 30), and eight steps
//! advance exactly p bytes, so primes with many multiples in a segment run an unrolled
//! loop whose eight bit masks are compile-time constants (one instance per residue r of p),
//! and the rest step through small tables. The count is a popcount. Every task covers a
//! fixed byte range, so results do not depend on the thread count.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::parallel::Stop;

/// cbindgen:ignore
/// Largest accepted limit. A sieve to 10¹² takes minutes on a laptop; ten times that is
/// already hours, and anything beyond is treated as a mistake rather than queued for days.
pub const MAX_PRIME_LIMIT: u64 = 10_000_000_000_000;

/// Residues mod 30 coprime to 30: bit b of byte k is the number 30k + RES[b].
const RES: [u64; 8] = [1, 7, 11, 13, 17, 19, 23, 29];
/// GAP[i]: RES[i + 1] − RES[i], the last one wrapping to 31.
const GAP: [usize; 8] = [6, 4, 2, 4, 2, 4, 6, 2];
/// GAPSUM[k]: RES[k] − RES[0] (the distance of the k-th multiple in a wheel turn).
const GAPSUM: [usize; 8] = [0, 6, 10, 12, 16, 18, 22, 28];

/// Primes removed by the patterns, in groups whose products stay small enough that a
/// pattern sits in L1/L2 (group product = pattern length in bytes).
const PRESIEVE_GROUPS: [&[u64]; 7] = [
    &[7, 11, 13],
    &[17, 19, 23],
    &[29, 31],
    &[37, 41],
    &[43, 47],
    &[53, 59],
    &[61, 67],
];
/// The largest presieved prime; the sieving primes are those above it.
const PRESIEVE_MAX: u64 = 67;
/// Every prime below the first sieving prime (71): counted directly, never from the bits.
const TINY_PRIMES: [u64; 19] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67,
];

/// Segment size in bytes (30 numbers each): a quarter of a typical L2 (EPYC/Zen: 512 KiB),
/// so the medium primes, which hit a segment only a few times, pay their per-segment
/// bookkeeping over 3.9 million numbers. Measured on the 2-core EPYC: 128 KiB and 256 KiB
/// both beat 32 KiB by ~25%.
const SEG_BYTES: usize = 128 * 1024;
/// The patterns and the small primes work one L1-sized chunk of the segment at a time
/// (32 KiB: the L1 data cache of most x86 cores), since they touch every byte many times.
const L1_BYTES: usize = 32 * 1024;
/// Primes p < L1_BYTES / SMALL_DIV (at least 128 multiples per chunk) take the unrolled
/// loop; larger ones check the end after every multiple.
const SMALL_DIV: usize = 16;

const fn bit_of(r: u64) -> usize {
    let mut b = 0;
    while RES[b] != r {
        b += 1;
    }
    b
}

/// For a prime with residue index `ri` and a multiple p·q with q ≡ RES[wi] (mod 30):
/// MASK clears the multiple's bit; INC is the byte step to p·q' beyond a·GAP[wi].
const fn tables() -> ([[u8; 8]; 8], [[usize; 8]; 8]) {
    let mut mask = [[0u8; 8]; 8];
    let mut inc = [[0usize; 8]; 8];
    let mut ri = 0;
    while ri < 8 {
        let mut wi = 0;
        while wi < 8 {
            let c = (RES[ri] * RES[wi]) % 30;
            mask[ri][wi] = !(1u8 << bit_of(c));
            inc[ri][wi] = ((c + RES[ri] * GAP[wi] as u64) / 30) as usize;
            wi += 1;
        }
        ri += 1;
    }
    (mask, inc)
}
const MASK: [[u8; 8]; 8] = tables().0;
const INC: [[usize; 8]; 8] = tables().1;

/// INCSUM[ri][k]: the sum of INC[ri][0..k] (constant part of the k-th multiple's offset).
const fn incsum() -> [[usize; 8]; 8] {
    let mut s = [[0usize; 8]; 8];
    let mut ri = 0;
    while ri < 8 {
        let mut k = 1;
        while k < 8 {
            s[ri][k] = s[ri][k - 1] + INC[ri][k - 1];
            k += 1;
        }
        ri += 1;
    }
    s
}
const INCSUM: [[usize; 8]; 8] = incsum();

fn isqrt(x: u64) -> u64 {
    let mut r = (x as f64).sqrt() as u64;
    while r > 0 && r.checked_mul(r).is_none_or(|s| s > x) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|s| s <= x) {
        r += 1;
    }
    r
}

/// Primes in (PRESIEVE_MAX, n] (simple sieve; n ≤ √MAX_PRIME_LIMIT, a few million).
fn sieving_primes(n: u64) -> Vec<u64> {
    let n = n as usize;
    let mut composite = vec![false; n + 1];
    let mut out = Vec::new();
    let mut i = 3;
    while i <= n {
        if !composite[i] {
            if i as u64 > PRESIEVE_MAX {
                out.push(i as u64);
            }
            let mut j = i * i;
            while j <= n {
                composite[j] = true;
                j += 2 * i;
            }
        }
        i += 2;
    }
    out
}

/// One group's pattern: byte k has the bits of 30k + RES[b] not divisible by any prime of
/// the group. It repeats every `period` = product bytes; it is stored repeated to at least
/// `L1_BYTES` + period bytes so a chunk is ANDed in one pass from any phase.
struct Pattern {
    period: usize,
    bytes: Vec<u8>,
}

/// The patterns, built once per process (a few milliseconds; small calls in a loop
/// should not pay it each time).
fn patterns() -> &'static [Pattern] {
    static PATTERNS: std::sync::OnceLock<Vec<Pattern>> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(build_patterns)
}

fn build_patterns() -> Vec<Pattern> {
    PRESIEVE_GROUPS
        .iter()
        .map(|group| {
            let period = group.iter().product::<u64>() as usize;
            let len = period * (L1_BYTES / period + 2);
            let bytes = (0..len)
                .map(|k| {
                    (0..8).fold(0u8, |byte, b| {
                        let n = 30 * (k % period) as u64 + RES[b];
                        if group.iter().all(|p| !n.is_multiple_of(*p)) {
                            byte | 1 << b
                        } else {
                            byte
                        }
                    })
                })
                .collect();
            Pattern { period, bytes }
        })
        .collect()
}

/// A sieving prime's state: p = 30a + RES[ri]; its next multiple p·q (q ≡ RES[wi]) is in
/// byte `idx`, counted from the start of the current segment.
#[derive(Clone, Copy)]
struct Sp {
    idx: usize,
    a: u32,
    ri: u8,
    wi: u8,
}

impl Sp {
    /// The state for the first multiple p·q ≥ max(p², 30·byte_lo) with q coprime to 30;
    /// smaller multiples have a smaller prime factor, which crosses them off.
    fn new(p: u64, byte_lo: u64) -> Sp {
        let n0 = 30 * byte_lo;
        let q0 = p.max(n0.div_ceil(p));
        let (b, r) = (q0 / 30, q0 % 30);
        let wi = RES.iter().position(|&x| x >= r).unwrap_or(7); // r ≤ 29 = RES[7]
        let q = 30 * b + RES[wi];
        Sp {
            idx: ((p * q) / 30 - byte_lo) as usize,
            a: (p / 30) as u32,
            ri: bit_of(p % 30) as u8,
            wi: wi as u8,
        }
    }
}

/// Cross off one multiple at a time until the end of `seg`; returns (idx, wi) past it.
#[inline(always)]
fn cross_stepwise(seg: &mut [u8], mut idx: usize, mut wi: usize, a: usize, ri: usize) -> (usize, usize) {
    while idx < seg.len() {
        seg[idx] &= MASK[ri][wi];
        idx += a * GAP[wi] + INC[ri][wi];
        wi = (wi + 1) & 7;
    }
    (idx, wi)
}

/// Cross off a prime with residue index RI (many multiples per segment): step to the
/// start of a wheel turn, then eight multiples per round at offsets fixed for this prime,
/// then the tail.
#[inline(always)]
fn cross_unrolled<const RI: usize>(seg: &mut [u8], sp: &mut Sp) {
    let a = sp.a as usize;
    let mut idx = sp.idx;
    let mut wi = sp.wi as usize;
    while wi != 0 && idx < seg.len() {
        seg[idx] &= MASK[RI][wi];
        idx += a * GAP[wi] + INC[RI][wi];
        wi = (wi + 1) & 7;
    }
    if wi == 0 {
        let o: [usize; 8] = std::array::from_fn(|k| a * GAPSUM[k] + INCSUM[RI][k]);
        let p = 30 * a + RES[RI] as usize;
        let end = seg.len().saturating_sub(o[7]);
        while idx < end {
            // SAFETY: o[k] ≤ o[7] and idx + o[7] < seg.len() (loop condition).
            unsafe {
                *seg.get_unchecked_mut(idx) &= MASK[RI][0];
                *seg.get_unchecked_mut(idx + o[1]) &= MASK[RI][1];
                *seg.get_unchecked_mut(idx + o[2]) &= MASK[RI][2];
                *seg.get_unchecked_mut(idx + o[3]) &= MASK[RI][3];
                *seg.get_unchecked_mut(idx + o[4]) &= MASK[RI][4];
                *seg.get_unchecked_mut(idx + o[5]) &= MASK[RI][5];
                *seg.get_unchecked_mut(idx + o[6]) &= MASK[RI][6];
                *seg.get_unchecked_mut(idx + o[7]) &= MASK[RI][7];
            }
            idx += p;
        }
    }
    let (idx, wi) = cross_stepwise(seg, idx, wi, a, RI);
    sp.idx = idx - seg.len();
    sp.wi = wi as u8;
}

/// A medium prime between segments: p = 30a + RES[ri], next multiple p·q (q ≡ RES[wi])
/// in byte `idx` of the next segment. ri and wi are implied by the list it is kept in.
#[derive(Clone, Copy)]
struct Mp {
    idx: u32,
    a: u32,
}

/// The medium primes (a few to a few hundred multiples per segment), kept in 64 lists by
/// (ri, wi) and re-filed after each segment by the wheel index they stopped at (Kim
/// Walisch's EratMedium). Every prime of a list starts at the same point of the same
/// unrolled wheel turn, so the dispatch and the entry into the turn are predicted; only
/// the exit (the segment end) is not. Indexes fit in u32: a prime enters the lists only
/// when p² is before the end of the segment being sieved (see `Sieve::activate`), so
/// `idx` < SEG_BYTES + one step (< p/5 + 7).
struct Medium {
    cur: Vec<Vec<Mp>>,
    next: Vec<Vec<Mp>>,
}

impl Medium {
    fn new() -> Medium {
        Medium {
            cur: (0..64).map(|_| Vec::new()).collect(),
            next: (0..64).map(|_| Vec::new()).collect(),
        }
    }

    fn add(&mut self, sp: Sp) {
        self.cur[8 * sp.ri as usize + sp.wi as usize].push(Mp {
            idx: sp.idx as u32,
            a: sp.a,
        });
    }

    fn sieve(&mut self, seg: &mut [u8]) {
        for (list, cur) in self.cur.iter_mut().enumerate() {
            if cur.is_empty() {
                continue;
            }
            let ri = list / 8;
            let out = &mut self.next[8 * ri..8 * ri + 8];
            macro_rules! dispatch {
                ($($l:literal => ($r:literal, $w:literal)),* $(,)?) => {
                    match list {
                        $($l => cross_medium_list::<$r, $w>(seg, cur, out),)*
                        _ => unreachable!("64 lists"),
                    }
                };
            }
            dispatch!(
                0 => (0, 0), 1 => (0, 1), 2 => (0, 2), 3 => (0, 3), 4 => (0, 4), 5 => (0, 5), 6 => (0, 6), 7 => (0, 7),
                8 => (1, 0), 9 => (1, 1), 10 => (1, 2), 11 => (1, 3), 12 => (1, 4), 13 => (1, 5), 14 => (1, 6), 15 => (1, 7),
                16 => (2, 0), 17 => (2, 1), 18 => (2, 2), 19 => (2, 3), 20 => (2, 4), 21 => (2, 5), 22 => (2, 6), 23 => (2, 7),
                24 => (3, 0), 25 => (3, 1), 26 => (3, 2), 27 => (3, 3), 28 => (3, 4), 29 => (3, 5), 30 => (3, 6), 31 => (3, 7),
                32 => (4, 0), 33 => (4, 1), 34 => (4, 2), 35 => (4, 3), 36 => (4, 4), 37 => (4, 5), 38 => (4, 6), 39 => (4, 7),
                40 => (5, 0), 41 => (5, 1), 42 => (5, 2), 43 => (5, 3), 44 => (5, 4), 45 => (5, 5), 46 => (5, 6), 47 => (5, 7),
                48 => (6, 0), 49 => (6, 1), 50 => (6, 2), 51 => (6, 3), 52 => (6, 4), 53 => (6, 5), 54 => (6, 6), 55 => (6, 7),
                56 => (7, 0), 57 => (7, 1), 58 => (7, 2), 59 => (7, 3), 60 => (7, 4), 61 => (7, 5), 62 => (7, 6), 63 => (7, 7),
            );
            cur.clear();
        }
        std::mem::swap(&mut self.cur, &mut self.next);
    }
}

/// Cross off every prime of one (RI, WI) list in `seg`, filing each in `out[wi]` (the
/// lists of residue RI) at the multiple where it left the segment.
#[inline(always)]
fn cross_medium_list<const RI: usize, const WI: usize>(seg: &mut [u8], list: &[Mp], out: &mut [Vec<Mp>]) {
    let len = seg.len();
    for mp in list {
        let a = mp.a as usize;
        let mut idx = mp.idx as usize;
        // Constant trip counts: both loops unroll, so every mask and k is a constant.
        let exit = 'turn: {
            for k in WI..8 {
                if idx >= len {
                    break 'turn k;
                }
                // SAFETY: idx < len was just checked.
                unsafe { *seg.get_unchecked_mut(idx) &= MASK[RI][k] };
                idx += a * GAP[k] + INC[RI][k];
            }
            loop {
                for k in 0..8 {
                    if idx >= len {
                        break 'turn k;
                    }
                    // SAFETY: idx < len was just checked.
                    unsafe { *seg.get_unchecked_mut(idx) &= MASK[RI][k] };
                    idx += a * GAP[k] + INC[RI][k];
                }
            }
        };
        out[exit].push(Mp {
            idx: (idx - len) as u32,
            a: mp.a,
        });
    }
}

/// log2 of SEG_BYTES (bucket arithmetic by shift and mask).
const SEG_SHIFT: u32 = SEG_BYTES.trailing_zeros();
const _: () = assert!(SEG_BYTES.is_power_of_two());

/// A large prime in a bucket: p = 30a + RES[ri]; its next multiple (q ≡ RES[wi]) is in
/// byte `pos >> 6` of the bucket's segment, and `pos & 63` = 8·ri + wi.
#[derive(Clone, Copy)]
struct Bp {
    pos: u32,
    a: u32,
}

/// MASK and the constant step part flattened by 8·ri + wi, for the bucket loop.
const MASK64: [u8; 64] = {
    let mut m = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        m[i] = MASK[i / 8][i % 8];
        i += 1;
    }
    m
};
const INC64: [usize; 64] = {
    let mut m = [0usize; 64];
    let mut i = 0;
    while i < 64 {
        m[i] = INC[i / 8][i % 8];
        i += 1;
    }
    m
};

/// The large primes (at most a few multiples per segment, often none): Tomás Oliveira e
/// Silva's bucket sieve as in Kim Walisch's EratBig. Each prime sits in the bucket of the
/// segment holding its next multiple (a ring of buckets, one per segment ahead, enough
/// for the largest step); sieving a segment crosses off one multiple per entry of its
/// bucket and files the prime in the bucket of the multiple after that, so a prime
/// costs nothing in the segments it skips.
struct Big {
    ring: Vec<Vec<Bp>>,
    head: usize,
    spare: Vec<Vec<Bp>>,
}

impl Big {
    /// `max_p`: the largest prime that will be added.
    fn new(max_p: u64) -> Big {
        // Largest idx: SEG_BYTES − 1 + one step (≤ 6a + 6) → segments ahead.
        let ahead = (SEG_BYTES + 6 * (max_p / 30) as usize + 6) >> SEG_SHIFT;
        Big {
            ring: (0..ahead + 1).map(|_| Vec::new()).collect(),
            head: 0,
            spare: Vec::new(),
        }
    }

    /// File a prime whose next multiple is `sp.idx` bytes from the current segment's start.
    fn add(&mut self, sp: Sp) {
        let off = sp.idx >> SEG_SHIFT;
        debug_assert!(off < self.ring.len());
        let mut j = self.head + off;
        if j >= self.ring.len() {
            j -= self.ring.len();
        }
        self.ring[j].push(Bp {
            pos: (((sp.idx & (SEG_BYTES - 1)) << 6) | (8 * sp.ri as usize) | sp.wi as usize) as u32,
            a: sp.a,
        });
    }

    /// Cross off the current segment's bucket in `buf` (a full SEG_BYTES buffer, so a
    /// multiple past the end of a short last segment lands in bytes nobody reads), then
    /// move on to the next segment.
    fn sieve(&mut self, buf: &mut [u8; SEG_BYTES]) {
        let n = self.ring.len();
        loop {
            // A prime whose next multiple is in this same segment goes back into this
            // segment's bucket, so repeat until it stays empty.
            let fresh = self.spare.pop().unwrap_or_default();
            let mut bucket = std::mem::replace(&mut self.ring[self.head], fresh);
            if bucket.is_empty() {
                self.spare
                    .push(std::mem::replace(&mut self.ring[self.head], bucket));
                break;
            }
            for bp in &bucket {
                let idx = (bp.pos >> 6) as usize;
                let rw = (bp.pos & 63) as usize;
                // idx < SEG_BYTES by construction (masked in `add` and below).
                buf[idx & (SEG_BYTES - 1)] &= MASK64[rw];
                let next = idx + bp.a as usize * GAP[rw & 7] + INC64[rw];
                let rw = (rw & !7) | ((rw + 1) & 7);
                let mut j = self.head + (next >> SEG_SHIFT);
                if j >= n {
                    j -= n;
                }
                self.ring[j].push(Bp {
                    pos: (((next & (SEG_BYTES - 1)) << 6) | rw) as u32,
                    a: bp.a,
                });
            }
            bucket.clear();
            self.spare.push(bucket);
        }
        self.head = if self.head + 1 == n { 0 } else { self.head + 1 };
    }
}

/// Primes p < SMALL_MAX take the unrolled loop in L1-sized chunks (at least 128
/// multiples per chunk); primes up to BIG_MIN the medium lists; larger ones the buckets.
const SMALL_MAX: u64 = (L1_BYTES / SMALL_DIV) as u64;
/// Primes above BIG_MIN (with the 128 KiB segment: about 8·SEG_BYTES/p < 4 multiples
/// per segment) go to the buckets.
const BIG_MIN: u64 = 2 * SEG_BYTES as u64;

/// The sieving state of one task: every prime p ≤ √hi in the class its size picks.
/// Medium and large primes join when p² is before the end of the segment being sieved,
/// so a task far below p² does not carry them, and their first index is small.
struct Sieve<'a> {
    small: Vec<Sp>,
    medium: Medium,
    big: Big,
    /// Medium and large primes not yet added, ascending (so by p²).
    pending: &'a [u64],
}

impl<'a> Sieve<'a> {
    fn new(primes: &'a [u64], lo: u64) -> Sieve<'a> {
        let split = primes.partition_point(|&p| p < SMALL_MAX);
        Sieve {
            small: primes[..split].iter().map(|&p| Sp::new(p, lo)).collect(),
            medium: Medium::new(),
            big: Big::new(primes.last().copied().unwrap_or(0)),
            pending: &primes[split..],
        }
    }

    /// Add the pending primes whose square is below byte `s_hi` (the segment [s_lo, s_hi)).
    fn activate(&mut self, s_lo: u64, s_hi: u64) {
        let n = self.pending.partition_point(|&p| p * p < 30 * s_hi);
        for &p in &self.pending[..n] {
            let sp = Sp::new(p, s_lo);
            if p <= BIG_MIN {
                self.medium.add(sp);
            } else {
                self.big.add(sp);
            }
        }
        self.pending = &self.pending[n..];
    }

    /// Sieve the segment that starts at byte `s_lo`: `buf[..len]` is the segment.
    fn segment(&mut self, buf: &mut [u8; SEG_BYTES], len: usize, s_lo: u64, pats: &[Pattern]) {
        self.activate(s_lo, s_lo + len as u64);
        sieve_small(&mut buf[..len], s_lo, pats, &mut self.small);
        self.medium.sieve(&mut buf[..len]);
        self.big.sieve(buf);
    }
}

/// The patterns and the small primes, one L1-sized chunk at a time (they touch every byte
/// many times).
fn sieve_small(seg: &mut [u8], byte_lo: u64, pats: &[Pattern], small: &mut [Sp]) {
    for (c, chunk) in seg.chunks_mut(L1_BYTES).enumerate() {
        let c_lo = byte_lo + (c * L1_BYTES) as u64;
        for (i, pat) in pats.iter().enumerate() {
            let at = (c_lo % pat.period as u64) as usize;
            let src = &pat.bytes[at..at + chunk.len()];
            if i == 0 {
                chunk.copy_from_slice(src);
            } else {
                chunk.iter_mut().zip(src).for_each(|(d, s)| *d &= *s);
            }
        }
        for sp in small.iter_mut() {
            if sp.idx >= chunk.len() {
                sp.idx -= chunk.len();
                continue;
            }
            match sp.ri {
                0 => cross_unrolled::<0>(chunk, sp),
                1 => cross_unrolled::<1>(chunk, sp),
                2 => cross_unrolled::<2>(chunk, sp),
                3 => cross_unrolled::<3>(chunk, sp),
                4 => cross_unrolled::<4>(chunk, sp),
                5 => cross_unrolled::<5>(chunk, sp),
                6 => cross_unrolled::<6>(chunk, sp),
                _ => cross_unrolled::<7>(chunk, sp),
            }
        }
    }
}

/// Sieve bytes [lo, hi) segment by segment, calling `visit(first_byte, segment)` with each
/// sieved segment; stops early (without visiting the rest) once `stop` is raised. Bits of
/// numbers outside the caller's range are the caller's to mask.
fn sieve_range(
    lo: u64,
    hi: u64,
    primes: &[u64],
    pats: &[Pattern],
    stop: &Stop,
    mut visit: impl FnMut(u64, &mut [u8]),
) {
    let mut sieve = Sieve::new(primes, lo);
    let mut buf: Box<[u8; SEG_BYTES]> = vec![0u8; SEG_BYTES].into_boxed_slice().try_into().unwrap();
    let mut s_lo = lo;
    while s_lo < hi {
        if stop.stopped() {
            return; // the call fails as cancelled; the partial result is discarded
        }
        let s_hi = (s_lo + SEG_BYTES as u64).min(hi);
        let len = (s_hi - s_lo) as usize;
        sieve.segment(&mut buf, len, s_lo, pats);
        visit(s_lo, &mut buf[..len]);
        stop.advance(1);
        s_lo = s_hi;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
/// # Safety
/// The CPU must support AVX2 and POPCNT.
unsafe fn popcount_avx2(bytes: &[u8]) -> u64 {
    popcount_portable(bytes)
}

#[inline(always)]
fn popcount_portable(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut n: u64 = words
        .by_ref()
        .map(|w| u64::from_ne_bytes(w.try_into().unwrap()).count_ones() as u64)
        .sum();
    n += words
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>();
    n
}

fn popcount(bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("popcnt") {
        // SAFETY: both features were just detected on this CPU.
        return unsafe { popcount_avx2(bytes) };
    }
    popcount_portable(bytes)
}

/// Keep only the bits of numbers n with lo ≤ n < hi in byte `k` (number 30k + RES[b]).
fn range_mask(k: u64, lo: u64, hi: u64) -> u8 {
    (0..8).fold(0u8, |m, b| {
        let n = 30 * k + RES[b];
        if lo <= n && n < hi {
            m | 1 << b
        } else {
            m
        }
    })
}

/// Split `n_segs` segments from byte `b_lo` into contiguous tasks (a fixed split: the
/// result never depends on the thread count) and run `f(task_lo, task_hi)` on each.
fn par_tasks<R: Send>(b_lo: u64, b_hi: u64, f: impl Fn(u64, u64) -> R + Sync) -> Vec<R> {
    let seg = SEG_BYTES as u64;
    let n_segs = (b_hi - b_lo).div_ceil(seg);
    let tasks = n_segs.min(crate::parallel::threads() as u64 * 8).max(1);
    (0..tasks)
        .into_par_iter()
        .map(|t| {
            let lo = b_lo + n_segs * t / tasks * seg;
            let hi = (b_lo + n_segs * (t + 1) / tasks * seg).min(b_hi);
            f(lo, hi)
        })
        .collect()
}

/// The number of primes p < `limit` (π(limit − 1)); `limit` ≤ [`MAX_PRIME_LIMIT`].
pub fn count_primes(limit: u64) -> Result<u64> {
    count_primes_polled(limit, None)
}

/// [`count_primes`], calling `poll(segments_done, segments)` on the calling thread at a
/// bounded interval (see [`crate::parallel::run_polled`]); when `poll` returns false every
/// task stops at its next segment (well under a millisecond) and the result is
/// `ErrorKind::Cancelled`.
pub fn count_primes_polled(limit: u64, poll: Option<&mut dyn FnMut(u64, u64) -> bool>) -> Result<u64> {
    if limit > MAX_PRIME_LIMIT {
        return Err(Error::invalid(format!(
            "count_primes: limit {limit} is above the maximum {MAX_PRIME_LIMIT} (10^13)"
        )));
    }
    let tiny = TINY_PRIMES.iter().filter(|&&p| p < limit).count() as u64;
    if limit <= PRESIEVE_MAX + 1 {
        return Ok(tiny);
    }
    let primes = sieving_primes(isqrt(limit - 1));
    let pats = patterns();
    let b_hi = limit.div_ceil(30);
    let n_segs = b_hi.div_ceil(SEG_BYTES as u64);
    let sieved = crate::parallel::run_polled(n_segs, poll, |stop| {
        crate::parallel::run(|| {
            par_tasks(0, b_hi, |lo, hi| {
                let mut count = 0;
                sieve_range(lo, hi, &primes, pats, stop, |s_lo, seg| {
                    if s_lo == 0 {
                        seg[0] &= !1; // 1 is not a prime
                    }
                    let last = seg.len() - 1;
                    if s_lo + last as u64 == b_hi - 1 {
                        seg[last] &= range_mask(b_hi - 1, 0, limit);
                    }
                    count += popcount(seg);
                });
                count
            })
            .into_iter()
            .sum::<u64>()
        })
    })??;
    Ok(tiny + sieved)
}

/// cbindgen:ignore
/// Largest `hi - lo` accepted by [`primes_between`]: 2³² numbers hold at most about 2·10⁸
/// primes (1.6 GB as u64); a larger list is almost certainly a mistake.
pub const MAX_PRIMES_SPAN: u64 = 1 << 32;

/// An upper bound on the number of primes in [lo, hi), for sizing the output of
/// [`primes_between`]: the Brun–Titchmarsh bound π(x + y) − π(x) ≤ 2y / ln y
/// (Montgomery–Vaughan, y > 1), with slack for the float arithmetic, and never more
/// than the count of odd numbers plus one.
pub fn primes_between_bound(lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return 0;
    }
    let y = hi - lo;
    let odd = y / 2 + 2;
    if y < 100 {
        return odd;
    }
    let bt = (2.0 * y as f64 / (y as f64).ln() * 1.001) as u64 + 16;
    bt.min(odd)
}

/// The primes p with lo ≤ p < hi, ascending, written to the start of `out`; returns how
/// many. `hi` ≤ [`MAX_PRIME_LIMIT`], `hi - lo` ≤ [`MAX_PRIMES_SPAN`]; `out` must hold at
/// least the number of primes in the range (an error, with nothing guaranteed about
/// `out`'s contents, if it is too short: [`primes_between_bound`] is always enough).
/// `poll` as for [`count_primes_polled`].
pub fn primes_between(
    lo: u64,
    hi: u64,
    out: &mut [u64],
    poll: Option<&mut dyn FnMut(u64, u64) -> bool>,
) -> Result<usize> {
    if hi > MAX_PRIME_LIMIT {
        return Err(Error::invalid(format!(
            "primes: hi {hi} is above the maximum {MAX_PRIME_LIMIT} (10^13)"
        )));
    }
    if hi <= lo.max(2) {
        return Ok(0);
    }
    if hi - lo > MAX_PRIMES_SPAN {
        return Err(Error::invalid(format!(
            "primes: the range [{lo}, {hi}) spans more than {MAX_PRIMES_SPAN} (2^32) numbers"
        )));
    }
    let cap = out.len();
    let too_short = |n: usize| {
        Error::invalid(format!(
            "primes: the output holds {cap} values but [{lo}, {hi}) has more primes (at least {n})"
        ))
    };
    let mut n = 0usize;
    // The primes up to 67 are not in the sieve's bits (2, 3, 5 have none; the patterns
    // clear the others).
    for p in TINY_PRIMES {
        if lo <= p && p < hi {
            if n == out.len() {
                return Err(too_short(n + 1));
            }
            out[n] = p;
            n += 1;
        }
    }
    // Bytes covering [max(lo, 68), hi); numbers outside the range are masked below.
    let (b_lo, b_hi) = (lo.max(PRESIEVE_MAX + 1) / 30, hi.div_ceil(30));
    if b_lo >= b_hi {
        return Ok(n);
    }
    let primes = sieving_primes(isqrt(hi - 1));
    let pats = patterns();
    let n_segs = (b_hi - b_lo).div_ceil(SEG_BYTES as u64);
    // Each task lists its range's primes; the lists are then copied out in order.
    let lists = crate::parallel::run_polled(n_segs, poll, |stop| {
        crate::parallel::run(|| {
            par_tasks(b_lo, b_hi, |r_lo, r_hi| {
                let mut found = Vec::new();
                sieve_range(r_lo, r_hi, &primes, pats, stop, |s_lo, seg| {
                    seg[0] &= range_mask(s_lo, lo.max(2), hi);
                    let last = seg.len() - 1;
                    seg[last] &= range_mask(s_lo + last as u64, lo.max(2), hi);
                    for (k, &byte) in seg.iter().enumerate() {
                        let mut bits = byte;
                        while bits != 0 {
                            let b = bits.trailing_zeros() as usize;
                            found.push(30 * (s_lo + k as u64) + RES[b]);
                            bits &= bits - 1;
                        }
                    }
                });
                found
            })
        })
    })??;
    let total = n + lists.iter().map(Vec::len).sum::<usize>();
    if total > out.len() {
        return Err(too_short(total));
    }
    for l in lists {
        out[n..n + l.len()].copy_from_slice(&l);
        n += l.len();
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(limit: u64) -> u64 {
        (2..limit)
            .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
            .count() as u64
    }

    #[test]
    fn small_limits_match_trial_division() {
        for limit in (0..400).chain([961, 962, 1000, 4096, 30031, 65537, 65538]) {
            assert_eq!(count_primes(limit).unwrap(), naive(limit), "limit {limit}");
        }
    }

    #[test]
    fn known_values_and_thread_counts() {
        assert_eq!(count_primes(10).unwrap(), 4);
        assert_eq!(count_primes(100).unwrap(), 25);
        for t in [1, 2, 5] {
            crate::parallel::set_threads(t).unwrap();
            assert_eq!(count_primes(1_000_000).unwrap(), 78498);
            assert_eq!(count_primes(10_000_000).unwrap(), 664579);
            // Segment and task boundaries in odd places.
            assert_eq!(count_primes(10_000_019).unwrap(), 664579);
            assert_eq!(count_primes(10_000_020).unwrap(), 664580);
        }
        crate::parallel::set_threads(0).unwrap();
    }

    fn naive_list(lo: u64, hi: u64) -> Vec<u64> {
        (lo.max(2)..hi)
            .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
            .collect()
    }

    fn list(lo: u64, hi: u64) -> Vec<u64> {
        let mut out = vec![0; primes_between_bound(lo, hi) as usize];
        let n = primes_between(lo, hi, &mut out, None).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn primes_between_matches_trial_division() {
        for lo in (0..70).chain([961, 1000, 30029, 65530]) {
            for hi in [lo, lo + 1, lo + 2, lo + 17, lo + 300, lo + 2000] {
                assert_eq!(list(lo, hi), naive_list(lo, hi), "[{lo}, {hi})");
            }
        }
        for t in [1, 3] {
            crate::parallel::set_threads(t).unwrap();
            let big = list(10_000_000 - 1000, 10_000_000 + 50_000_000);
            assert_eq!(
                big.len() as u64,
                count_primes(60_000_000).unwrap() - count_primes(9_999_000).unwrap()
            );
            assert!(big.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(list(0, 1_000_000).len(), 78498);
        }
        crate::parallel::set_threads(0).unwrap();
        // Too small an output is an error; the bound always suffices.
        let mut out = [0u64; 3];
        assert!(primes_between(0, 10, &mut out, None).is_err());
        assert!(primes_between(0, MAX_PRIME_LIMIT + 1, &mut out, None).is_err());
        assert!(primes_between(0, MAX_PRIMES_SPAN + 1, &mut out, None).is_err());
        for (lo, hi) in [(0, 100), (0, 10_000), (1 << 40, (1 << 40) + 100_000)] {
            assert!(list(lo, hi).len() as u64 <= primes_between_bound(lo, hi));
        }
    }

    /// A plain sieve of Eratosthenes, one flag per number: the reference for the wheel.
    fn reference_sieve(n: usize) -> Vec<bool> {
        let mut is_prime = vec![true; n];
        for f in is_prime.iter_mut().take(2) {
            *f = false;
        }
        let mut i = 2;
        while i * i < n {
            if is_prime[i] {
                (i * i..n).step_by(i).for_each(|j| is_prime[j] = false);
            }
            i += 1;
        }
        is_prime
    }

    #[test]
    fn known_pi_values() {
        let pi = [4, 25, 168, 1229, 9592, 78498, 664579, 5761455, 50847534];
        for (k, &want) in pi.iter().enumerate() {
            assert_eq!(
                count_primes(10u64.pow(k as u32 + 1)).unwrap(),
                want,
                "pi(10^{})",
                k + 1
            );
        }
        // 2^32 is not prime, so π(2^32 − 1) = π(2^32).
        assert_eq!(count_primes(1 << 32).unwrap(), 203_280_221);
        assert_eq!(count_primes((1 << 32) + 16).unwrap(), 203_280_222); // 2^32 + 15 is prime
                                                                        // Thread-count invariance on a run with many tasks and segments.
        for t in [1, 3] {
            crate::parallel::set_threads(t).unwrap();
            assert_eq!(count_primes(1_000_000_000).unwrap(), 50847534, "{t} threads");
        }
        crate::parallel::set_threads(0).unwrap();
    }

    #[test]
    fn segment_and_chunk_boundaries_match_reference() {
        let seg = 30 * SEG_BYTES;
        let chunk = 30 * L1_BYTES;
        let n = 3 * seg + 1000;
        let is_prime = reference_sieve(n);
        let mut below = vec![0u64; n + 1]; // below[x] = π(x − 1)
        for x in 0..n {
            below[x + 1] = below[x] + is_prime[x] as u64;
        }
        let mut limits = vec![];
        for base in [chunk, 2 * chunk, seg, seg + chunk, 2 * seg, 3 * seg] {
            for d in [0, 1, 2, 7, 29, 30, 31, 61] {
                limits.push(base - d);
                limits.push(base + d);
            }
        }
        for t in [1, 2, 3] {
            crate::parallel::set_threads(t).unwrap();
            for &limit in &limits {
                assert_eq!(
                    count_primes(limit as u64).unwrap(),
                    below[limit],
                    "limit {limit}, {t} threads"
                );
            }
        }
        crate::parallel::set_threads(0).unwrap();
        // Ranges straddling chunk and segment edges, and pseudo-random ranges.
        let listed = |lo: usize, hi: usize| {
            (lo..hi)
                .filter(|&x| is_prime[x])
                .map(|x| x as u64)
                .collect::<Vec<_>>()
        };
        for base in [chunk, seg, 2 * seg] {
            for (dl, dh) in [(1, 1), (31, 0), (0, 31), (1000, 1000), (67, 71)] {
                assert_eq!(
                    list((base - dl) as u64, (base + dh) as u64),
                    listed(base - dl, base + dh)
                );
            }
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..40 {
            // xorshift: a fixed sequence, so a failure reproduces.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let lo = (x % n as u64) as usize;
            let hi = (lo + (x >> 40) as usize % (seg + 100)).min(n);
            assert_eq!(list(lo as u64, hi as u64), listed(lo, hi), "[{lo}, {hi})");
        }
    }

    #[test]
    fn primes_near_10_to_12_match_trial_division() {
        let divisors = sieving_primes(1_000_001);
        let is_prime = |n: u64| {
            !n.is_multiple_of(2)
                && (3..=PRESIEVE_MAX).step_by(2).all(|d| !n.is_multiple_of(d))
                && divisors
                    .iter()
                    .take_while(|&&d| d * d <= n)
                    .all(|&d| !n.is_multiple_of(d))
        };
        let lo = 1_000_000_000_000 - 50_000;
        let want: Vec<u64> = (lo..lo + 100_000).filter(|&n| is_prime(n)).collect();
        assert_eq!(list(lo, lo + 100_000), want);
        assert!(want.len() > 3000, "about 1/ln(10^12) of the numbers are prime");
    }

    /// The primes in [lo, hi) by a plain segmented sieve (one flag per number, every
    /// prime up to √hi, no wheel, no buckets): the reference for ranges far from 0.
    fn reference_range(lo: u64, hi: u64) -> Vec<u64> {
        let mut is_prime = vec![true; (hi - lo) as usize];
        for p in TINY_PRIMES.iter().copied().chain(sieving_primes(isqrt(hi))) {
            let first = (p * p).max(lo.div_ceil(p) * p);
            (first..hi)
                .step_by(p as usize)
                .for_each(|m| is_prime[(m - lo) as usize] = false);
        }
        (lo..hi)
            .filter(|&n| n >= 2 && is_prime[(n - lo) as usize])
            .collect()
    }

    #[test]
    fn bucket_and_medium_boundaries_match_reference() {
        let seg = 30 * SEG_BYTES as u64;
        // √hi just below and just above BIG_MIN (the largest medium prime, the first
        // bucketed ones), ranges starting and ending exactly at segment edges and one off.
        let sq = BIG_MIN * BIG_MIN;
        let edge = sq / seg * seg;
        let mut ranges = vec![
            (sq - 3 * seg, sq - seg),
            (edge - 1, edge + 2 * seg + 1),
            (edge, edge + seg),
            (edge + 1, edge + seg - 1),
            (sq, sq + 1),
            (sq + 7, sq + 9),
            (edge + seg - 31, edge + seg + 31),
        ];
        // Segments where the buckets carry many primes (√hi ≈ 10^6): tiny, one-segment and
        // multi-segment ranges, at and off segment edges.
        let e12 = 1_000_000_000_000 / seg * seg;
        ranges.extend([
            (e12, e12 + 30),
            (e12 - 1, e12 + seg + 1),
            (e12 + 2 * seg - 5, e12 + 2 * seg + 5),
        ]);
        // Pseudo-random ranges between 10^9 and 2·10^11, up to three segments long.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..12 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let lo = 1_000_000_000 + x % 200_000_000_000;
            ranges.push((lo, lo + (x >> 45) % (3 * seg)));
        }
        for (t, &(lo, hi)) in ranges.iter().enumerate() {
            // Alternate thread counts: the split into tasks must not change the list.
            crate::parallel::set_threads(1 + t % 3).unwrap();
            assert_eq!(list(lo, hi), reference_range(lo, hi), "[{lo}, {hi})");
        }
        crate::parallel::set_threads(0).unwrap();
        // Empty and reversed ranges list nothing (and count nothing).
        assert!(list(sq, sq).is_empty());
        let mut out = [0u64; 4];
        assert_eq!(primes_between(sq + 10, sq, &mut out, None).unwrap(), 0);
    }

    #[test]
    fn limits() {
        assert!(count_primes(MAX_PRIME_LIMIT + 1).is_err());
        assert_eq!(isqrt(u64::MAX), 4294967295);
        assert_eq!(isqrt(99), 9);
        assert_eq!(isqrt(100), 10);
    }
}
