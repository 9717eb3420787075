//! Prime counting: π(limit − 1), the number of primes p < limit, with a segmented sieve of
//! Eratosthenes run in parallel over contiguous groups of segments.
//!
//! Layout: one bit per odd number (bit i is 2i + 1), segments that fit in L1 (larger when
//! √limit needs it, so that every sieving prime hits every segment at least once and the
//! per-segment bookkeeping stays below the sieving work). Multiples of 3, 5, 7, 11 and 13
//! are removed by copying a precomputed pattern (15015 bytes: the pattern of bits repeats
//! every 3·5·7·11·13 odd numbers, and 15015 bytes hold exactly 8 periods); the other
//! primes up to √limit are crossed off eight multiples at a time (the eight bit positions
//! of p, 2p, …, 8p repeat with a shift of p bytes). The count is a popcount. Every task
//! counts a fixed range of numbers, so the total does not depend on the thread count.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::parallel::Stop;

/// cbindgen:ignore
/// Largest accepted limit. A sieve to 10¹² takes minutes on a laptop; ten times that is
/// already hours, and anything beyond is treated as a mistake rather than queued for days.
pub const MAX_PRIME_LIMIT: u64 = 10_000_000_000_000;

const PRESIEVE: [u64; 5] = [3, 5, 7, 11, 13];
const PATTERN_BYTES: usize = 3 * 5 * 7 * 11 * 13;
/// Segment size in bytes for small limits: fits in the L1 data cache.
const SEG_BYTES: usize = 32 * 1024;

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

/// Odd primes ≤ n (simple sieve; n ≤ √MAX_PRIME_LIMIT, a few million).
fn small_primes(n: u64) -> Vec<u64> {
    let n = n as usize;
    let mut composite = vec![false; n + 1];
    let mut out = Vec::new();
    let mut i = 3;
    while i <= n {
        if !composite[i] {
            out.push(i as u64);
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

/// Bit pattern of odd numbers not divisible by any PRESIEVE prime; byte k, bit b is the
/// odd number 2(8k + b) + 1.
fn presieve_pattern() -> Vec<u8> {
    let mut pat = vec![0u8; PATTERN_BYTES];
    for (k, byte) in pat.iter_mut().enumerate() {
        for b in 0..8 {
            let n = 2 * (8 * k as u64 + b) + 1;
            if PRESIEVE.iter().all(|p| !n.is_multiple_of(*p)) {
                *byte |= 1 << b;
            }
        }
    }
    pat
}

/// Clear bits start, start + p, … of `seg`; returns the first index past the segment.
#[inline]
fn cross_off(seg: &mut [u8], start: usize, p: usize) -> usize {
    let bits = seg.len() * 8;
    if start.saturating_add(8 * p) >= bits {
        // Fewer than eight hits (large primes): not worth setting up the unrolled loop.
        let mut i = start;
        while i < bits {
            seg[i >> 3] &= !(1u8 << (i & 7));
            i += p;
        }
        return i;
    }
    // Eight consecutive multiples have fixed bit positions relative to a byte that moves
    // by p bytes per round, since 8p bits are p bytes.
    let r0 = start & 7;
    let mut off = [0usize; 8];
    let mut mask = [0u8; 8];
    for k in 0..8 {
        let t = r0 + k * p;
        off[k] = t >> 3;
        mask[k] = !(1u8 << (t & 7));
    }
    let mut b = start >> 3;
    while b + off[7] < seg.len() {
        for k in 0..8 {
            // SAFETY: off[k] ≤ off[7] and b + off[7] < seg.len() (loop condition).
            unsafe { *seg.get_unchecked_mut(b + off[k]) &= mask[k] };
        }
        b += p;
    }
    let mut i = b * 8 + r0;
    while i < bits {
        seg[i >> 3] &= !(1u8 << (i & 7));
        i += p;
    }
    i
}

fn popcount(bytes: &[u8]) -> u64 {
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

/// Sieve the odd numbers with bit indices [lo, hi) (lo a multiple of 8) segment by segment
/// and count those left.
fn count_range(lo: u64, hi: u64, seg_bytes: usize, primes: &[u64], pattern: &[u8], stop: &Stop) -> u64 {
    let mut count = 0;
    sieve_range(lo, hi, seg_bytes, primes, pattern, stop, |_, seg| {
        count += popcount(seg)
    });
    count
}

/// Sieve the odd numbers with bit indices [lo, hi) (lo a multiple of 8) segment by segment,
/// calling `visit(first_bit_index, segment)` with each sieved segment (bits past `hi`
/// cleared); stops early (without visiting the rest) once `stop` is raised.
#[allow(clippy::too_many_arguments)]
fn sieve_range(
    lo: u64,
    hi: u64,
    seg_bytes: usize,
    primes: &[u64],
    pattern: &[u8],
    stop: &Stop,
    mut visit: impl FnMut(u64, &[u8]),
) {
    // Index of the first odd multiple of p at or after `lo`, not below p² (smaller multiples
    // have a smaller prime factor, which crosses them off).
    let mut next: Vec<u64> = primes
        .iter()
        .map(|&p| {
            let start = (p * p - 1) / 2;
            if start >= lo {
                start
            } else {
                let r = (p - 1) / 2; // 2i + 1 ≡ 0 (mod p)  ⟺  i ≡ (p − 1)/2
                lo + (r + p - lo % p) % p
            }
        })
        .collect();
    let mut seg = vec![0u8; seg_bytes];
    let mut s_lo = lo;
    while s_lo < hi {
        if stop.stopped() {
            return; // the call fails as cancelled; the partial result is discarded
        }
        let s_hi = (s_lo + 8 * seg_bytes as u64).min(hi);
        let nbits = (s_hi - s_lo) as usize;
        let seg = &mut seg[..nbits.div_ceil(8)];
        let mut k = 0;
        let mut at = ((s_lo / 8) % PATTERN_BYTES as u64) as usize;
        while k < seg.len() {
            let take = (PATTERN_BYTES - at).min(seg.len() - k);
            seg[k..k + take].copy_from_slice(&pattern[at..at + take]);
            k += take;
            at = 0;
        }
        if s_lo == 0 {
            seg[0] &= !1; // 1 is not a prime
        }
        for (&p, nx) in primes.iter().zip(next.iter_mut()) {
            if *nx >= s_hi {
                continue;
            }
            let end = cross_off(seg, (*nx - s_lo) as usize, p as usize);
            *nx = s_lo + end as u64;
        }
        if !nbits.is_multiple_of(8) {
            let last = seg.len() - 1;
            seg[last] &= (1u8 << (nbits % 8)) - 1;
        }
        visit(s_lo, seg);
        stop.advance(1);
        s_lo = s_hi;
    }
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
    if limit <= 2 {
        return Ok(0);
    }
    let bits = limit / 2; // odd numbers 2i + 1 < limit
    let root = isqrt(limit - 1); // sieving primes: p² < limit
    let primes: Vec<u64> = small_primes(root)
        .into_iter()
        .filter(|&p| p > PRESIEVE[PRESIEVE.len() - 1])
        .collect();
    let pattern = presieve_pattern();
    // Every sieving prime should hit every segment: segments of at least √limit numbers.
    let seg_bytes = SEG_BYTES.max(((root / 16 + 1) as usize).next_power_of_two());
    let seg_bits = 8 * seg_bytes as u64;
    let n_segs = bits.div_ceil(seg_bits);
    let tasks = n_segs.min(crate::parallel::threads() as u64 * 8).max(1);
    let sieved = crate::parallel::run_polled(n_segs, poll, |stop| {
        crate::parallel::run(|| {
            (0..tasks)
                .into_par_iter()
                .map(|t| {
                    let lo = n_segs * t / tasks * seg_bits;
                    let hi = (n_segs * (t + 1) / tasks * seg_bits).min(bits);
                    count_range(lo, hi, seg_bytes, &primes, &pattern, stop)
                })
                .sum::<u64>()
        })
    })??;
    let presieved = PRESIEVE.iter().filter(|&&p| p < limit).count() as u64;
    Ok(1 + presieved + sieved)
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
    // 2 and the presieved primes are not in the sieve's bits.
    for p in std::iter::once(2).chain(PRESIEVE) {
        if lo <= p && p < hi {
            if n == out.len() {
                return Err(too_short(n + 1));
            }
            out[n] = p;
            n += 1;
        }
    }
    // Odd numbers 2i + 1 in [lo, hi): bit indices [lo / 2, hi / 2), started at a multiple of
    // 8 (the pattern's alignment) and filtered below.
    let (b_lo, b_hi) = (lo / 2 / 8 * 8, hi / 2);
    if b_lo >= b_hi {
        return Ok(n);
    }
    let root = isqrt(hi - 1);
    let primes: Vec<u64> = small_primes(root)
        .into_iter()
        .filter(|&p| p > PRESIEVE[PRESIEVE.len() - 1])
        .collect();
    let pattern = presieve_pattern();
    let seg_bytes = SEG_BYTES.max(((root / 16 + 1) as usize).next_power_of_two());
    let seg_bits = 8 * seg_bytes as u64;
    let n_segs = (b_hi - b_lo).div_ceil(seg_bits);
    let tasks = n_segs.min(crate::parallel::threads() as u64 * 8).max(1);
    // Each task lists its range's primes; the lists are then copied out in order.
    let lists = crate::parallel::run_polled(n_segs, poll, |stop| {
        crate::parallel::run(|| {
            (0..tasks)
                .into_par_iter()
                .map(|t| {
                    let r_lo = b_lo + n_segs * t / tasks * seg_bits;
                    let r_hi = (b_lo + n_segs * (t + 1) / tasks * seg_bits).min(b_hi);
                    let mut found = Vec::new();
                    sieve_range(r_lo, r_hi, seg_bytes, &primes, &pattern, stop, |s_lo, seg| {
                        for (w, chunk) in seg.chunks(8).enumerate() {
                            let mut word = [0u8; 8];
                            word[..chunk.len()].copy_from_slice(chunk);
                            let mut bits = u64::from_le_bytes(word);
                            while bits != 0 {
                                let i = s_lo + 64 * w as u64 + bits.trailing_zeros() as u64;
                                let p = 2 * i + 1;
                                if p >= lo && p > PRESIEVE[PRESIEVE.len() - 1] {
                                    found.push(p);
                                }
                                bits &= bits - 1;
                            }
                        }
                    });
                    found
                })
                .collect::<Vec<Vec<u64>>>()
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

    #[test]
    fn limits() {
        assert!(count_primes(MAX_PRIME_LIMIT + 1).is_err());
        assert_eq!(isqrt(u64::MAX), 4294967295);
        assert_eq!(isqrt(99), 9);
        assert_eq!(isqrt(100), 10);
    }
}
