//! Which vector instruction set the numeric kernels run, chosen at run time so one build
//! uses AVX-512 or AVX2 where the CPU has them and stays portable elsewhere.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// The widest level this CPU supports. Cheap enough for hot paths: std caches the
/// detection, and nothing is allocated.
#[inline]
pub(crate) fn best() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

/// Every level this CPU can run, narrowest first, the portable one included (tests run
/// each, so every code path is checked on the machine at hand).
#[cfg(test)]
pub(crate) fn available() -> Vec<Isa> {
    let mut v = vec![Isa::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            v.push(Isa::Avx2);
        }
        if std::is_x86_feature_detected!("avx512f") {
            v.push(Isa::Avx512);
        }
    }
    v
}
