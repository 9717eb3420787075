//! One gzip file inflated on one thread by zlib-rs (flate2, streaming into a 1 MiB buffer, as
//! the report's reader does), ISA-L (isal-rs, streaming the same way) and libdeflate (the
//! whole member into one buffer of its size, as BGZF members are inflated); thread CPU time
//! per byte of output, each round running all three in turn, medians printed at the end.
use std::io::Read;
use std::time::Instant;

/// CPU time of the calling thread, in seconds.
fn thread_cpu() -> f64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec (x86_64 / aarch64 Linux layout: two i64).
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.sec as f64 + ts.nsec as f64 * 1e-9
}

fn stream(mut r: impl Read, buf: &mut [u8]) -> usize {
    let mut total = 0;
    loop {
        let n = r.read(buf).expect("inflate");
        if n == 0 {
            return total;
        }
        total += n;
    }
}

/// The member's output length, from its trailer's ISIZE (the length mod 2^32: the bench's
/// files are < 4 GiB).
fn isize_of(data: &[u8]) -> usize {
    u32::from_le_bytes(data[data.len() - 4..].try_into().unwrap()) as usize
}

/// Inflate the whole member into `out`, allocated and touched once before the rounds so
/// that its page faults are not counted (BGZF members go into reused buffers).
fn whole(data: &[u8], out: &mut [u8]) -> usize {
    let mut d = libdeflater::Decompressor::new();
    d.gzip_decompress(data, out).expect("libdeflate")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: inflate-bench FILE.gz [ROUNDS]");
    let rounds: usize = args.next().map_or(5, |s| s.parse().expect("ROUNDS"));
    let data = std::fs::read(&path).expect("read");
    let mut buf = vec![0u8; 1 << 20];
    let mut out = vec![1u8; isize_of(&data)];
    let names = [
        "zlib-rs, streaming",
        "ISA-L, streaming",
        "libdeflate, whole member",
    ];
    let mut ns = vec![Vec::new(); names.len()];
    let mut out_len = 0;
    for round in 0..rounds {
        for (i, name) in names.iter().enumerate() {
            let (t, w) = (thread_cpu(), Instant::now());
            let n = match i {
                0 => stream(flate2::read::MultiGzDecoder::new(&data[..]), &mut buf),
                1 => stream(isal::read::GzipDecoder::new(&data[..]), &mut buf),
                _ => whole(&data, &mut out),
            };
            let cpu = thread_cpu() - t;
            assert!(
                out_len == 0 || n == out_len,
                "{name} gave {n} bytes, not {out_len}"
            );
            out_len = n;
            ns[i].push(cpu * 1e9 / n as f64);
            println!(
                "round {round}: {name:26} {:.2} ns/byte out (cpu {cpu:.3} s, wall {:.3} s)",
                cpu * 1e9 / n as f64,
                w.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "\n{path}: {} MB compressed, {} MB out, {rounds} rounds",
        data.len() / 1_000_000,
        out_len / 1_000_000
    );
    for (name, v) in names.iter().zip(&mut ns) {
        v.sort_by(f64::total_cmp);
        println!(
            "{name:26} median {:.2} ns/byte (range {:.2}-{:.2})",
            v[v.len() / 2],
            v[0],
            v[v.len() - 1]
        );
    }
}
