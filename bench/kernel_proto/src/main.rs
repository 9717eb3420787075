//! Standalone prototype (not part of ferrokern): measures, single-threaded on the benchmark
//! corpus, (1) std vs simdutf8 UTF-8 validation, (2) ferrokern's kv scanner vs a
//! state-specialised byte-table scanner with identical output.
//! Input: the benchmark corpus dumped by `bench_text.py --dump-bin` (u64 n, n+1 i64 offsets, bytes).
mod text {
    #[allow(dead_code)]
    #[path = "../../../../src/text/pyclass.rs"]
    pub mod pyclass;
    #[allow(dead_code)]
    #[path = "../../../../src/text/unicode_tables.rs"]
    pub mod unicode_tables;
}
use std::time::Instant;
use text::pyclass::PyClasses;

const W: u8 = 1;
const S: u8 = 2;
const D: u8 = 4;

// ---- copy of ferrokern's src/text/kv.rs::for_each_kv (the baseline) ----
#[derive(Clone, Copy, PartialEq, Eq)]
enum State { Outside, Word, Space, Digits }
#[inline]
pub fn for_each_kv_orig<'t>(cls: &PyClasses, text: &'t str, mut emit: impl FnMut(&'t str, &'t str)) {
    let mut state = State::Outside;
    let (mut word_start, mut word_end, mut digit_start) = (0usize, 0usize, 0usize);
    for (i, c) in text.char_indices() {
        let (w, s, d) = if c.is_ascii() {
            let b = c as u8;
            (b.is_ascii_alphanumeric() || b == b'_', matches!(b, b'\t'..=b'\r' | 0x1c..=b' '), b.is_ascii_digit())
        } else {
            cls.classify(c)
        };
        state = match state {
            State::Outside => if w { word_start = i; State::Word } else { State::Outside },
            State::Word => if w { State::Word } else if s { word_end = i; State::Space } else { State::Outside },
            State::Space => if s { State::Space } else if d { digit_start = i; State::Digits } else if w { word_start = i; State::Word } else { State::Outside },
            State::Digits => if d { State::Digits } else {
                emit(&text[word_start..word_end], &text[digit_start..i]);
                if w { word_start = i; State::Word } else { State::Outside }
            },
        };
    }
    if state == State::Digits { emit(&text[word_start..word_end], &text[digit_start..]); }
}

// ---- proposed: byte table for ASCII, one tight loop per state ----
static ASCII: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let mut f = 0;
        if c.is_ascii_alphanumeric() || c == b'_' { f |= W; }
        if c.is_ascii_digit() { f |= D; }
        if matches!(c, b'\t'..=b'\r' | 0x1c..=b' ') { f |= S; }
        t[b] = f;
        b += 1;
    }
    t
};

/// (class flags, byte length) of the char starting at byte i (text is valid UTF-8).
#[inline(always)]
fn class_at(cls: &PyClasses, b: &[u8], i: usize) -> (u8, usize) {
    let x = b[i];
    if x < 0x80 {
        return (ASCII[x as usize], 1);
    }
    let (cp, len) = if x < 0xE0 {
        (((x as u32 & 0x1F) << 6) | (b[i + 1] as u32 & 0x3F), 2)
    } else if x < 0xF0 {
        (((x as u32 & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F), 3)
    } else {
        (((x as u32 & 0x07) << 18) | ((b[i + 1] as u32 & 0x3F) << 12) | ((b[i + 2] as u32 & 0x3F) << 6) | (b[i + 3] as u32 & 0x3F), 4)
    };
    // SAFETY (prototype): valid UTF-8 decodes to a valid scalar value.
    let (w, s, d) = cls.classify(unsafe { char::from_u32_unchecked(cp) });
    ((w as u8) * W | (s as u8) * S | (d as u8) * D, len)
}

#[inline]
pub fn for_each_kv_fast<'t>(cls: &PyClasses, text: &'t str, mut emit: impl FnMut(&'t str, &'t str)) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    'outside: loop {
        // Outside: skip to the next word char.
        loop {
            if i >= n { return; }
            let (f, l) = class_at(cls, b, i);
            if f & W != 0 { break; }
            i += l;
        }
        let mut key_start = i;
        'word: loop {
            // Word: consume the word run (i is at a word char).
            let (f, l) = loop {
                if i >= n { return; }
                let (f, l) = class_at(cls, b, i);
                if f & W == 0 { break (f, l); }
                i += l;
            };
            if f & S == 0 { i += l; continue 'outside; }
            let key_end = i;
            i += l;
            // Space: consume the space run.
            let (f, l) = loop {
                if i >= n { return; }
                let (f, l) = class_at(cls, b, i);
                if f & S == 0 { break (f, l); }
                i += l;
            };
            if f & D != 0 {
                let ds = i;
                i += l;
                let (f, l) = loop {
                    if i >= n { emit(&text[key_start..key_end], &text[ds..]); return; }
                    let (f, l) = class_at(cls, b, i);
                    if f & D == 0 { break (f, l); }
                    i += l;
                };
                emit(&text[key_start..key_end], &text[ds..i]);
                if f & W != 0 { key_start = i; i += l; continue 'word; }
                i += l;
                continue 'outside;
            }
            if f & W != 0 { key_start = i; i += l; continue 'word; }
            i += l;
            continue 'outside;
        }
    }
}

fn load(path: &str) -> (Vec<u8>, Vec<i64>) {
    let raw = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(raw[0..8].try_into().unwrap()) as usize;
    let offs: Vec<i64> = (0..=n).map(|k| i64::from_le_bytes(raw[8 + 8 * k..16 + 8 * k].try_into().unwrap())).collect();
    let data = raw[16 + 8 * n..].to_vec();
    (data, offs)
}

fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut b = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let r = std::hint::black_box(f());
        b = b.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (b, out.unwrap())
}

fn main() {
    let path = std::env::args().nth(1).expect("corpus dump");
    let (data, offs) = load(&path);
    let texts: Vec<&[u8]> = offs.windows(2).map(|w| &data[w[0] as usize..w[1] as usize]).collect();
    let mb = data.len() as f64 / 1e6;
    let reps = 7;
    let rate = |s: f64| format!("{:8.1} ms {:7.0} MB/s", s * 1e3, mb / s);

    let (t_std, ok1) = best(reps, || texts.iter().filter(|t| std::str::from_utf8(t).is_ok()).count());
    let (t_simd, ok2) = best(reps, || texts.iter().filter(|t| simdutf8::basic::from_utf8(t).is_ok()).count());
    assert_eq!(ok1, ok2);
    println!("utf8 validation  std::str::from_utf8   {}", rate(t_std));
    println!("utf8 validation  simdutf8::basic       {}  ({:.1}x)", rate(t_simd), t_std / t_simd);

    let strs: Vec<&str> = texts.iter().map(|t| std::str::from_utf8(t).unwrap()).collect();
    let cls = PyClasses::new();
    let run = |fast: bool| {
        let mut n = 0usize;
        let mut h = 0usize;
        for t in &strs {
            let mut e = |k: &str, v: &str| { n += 1; h = h.wrapping_mul(31).wrapping_add(k.len() * 7 + v.len()); };
            if fast { for_each_kv_fast(&cls, t, &mut e) } else { for_each_kv_orig(&cls, t, &mut e) }
        }
        (n, h)
    };
    // Exactness: identical (key, value) sequences on every text.
    for t in &strs {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for_each_kv_orig(&cls, t, |k, v| a.push((k, v)));
        for_each_kv_fast(&cls, t, |k, v| b.push((k, v)));
        assert!(a == b, "differ on {t:?}");
    }
    for t in ["a 1b 2", "abc123 45x", "x  \t 7", "x y 1", "x, 1", "k\x1c5", "x² ٣٤", "e\u{301} 1", "1 2 3", "价格 12 数量 3", "a 1", "a 1 ", "a  ", "a", "", " 1", "a 1x 2y 3z", "a ٣٤x 5"] {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for_each_kv_orig(&cls, t, |k, v| a.push((k, v)));
        for_each_kv_fast(&cls, t, |k, v| b.push((k, v)));
        assert_eq!(a, b, "differ on {t:?}");
    }
    let (t_orig, r1) = best(reps, || run(false));
    let (t_fast, r2) = best(reps, || run(true));
    assert_eq!(r1, r2);
    println!("kv scan          ferrokern for_each_kv {}  ({} matches)", rate(t_orig), r1.0);
    println!("kv scan          state-specialised     {}  ({:.2}x)", rate(t_fast), t_orig / t_fast);

}
