//! Generates the C header from the `extern "C"` layer with cbindgen, twice:
//! * `include/ferrokern.h`: the documented header for C and C++ (committed; a test fails
//!   when the committed copy is stale);
//! * `bindings/python/ferrokern/_cdef.h`: the same declarations without preprocessor
//!   directives, includes or comments, which is what cffi's `cdef()` accepts. Generated
//!   rather than regex-stripped from the first, so it cannot drift. The same text goes to
//!   `<target dir>/header.h`, where maturin's cffi bindings look for their declarations.
//!
//! Files are only rewritten when their content changes, so builds stay incremental.

use std::path::Path;

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

fn render(crate_dir: &str, config: cbindgen::Config) -> String {
    let mut buf = Vec::new();
    // The crate's own sources from src/lib.rs (and the modules it declares), not `with_crate`,
    // which runs `cargo metadata` from inside this build: one nested cargo fewer. The header
    // never reads dependencies (`parse_deps = false`), so the crate's metadata is not needed.
    cbindgen::Builder::new()
        .with_src(Path::new(crate_dir).join("src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write(&mut buf);
    String::from_utf8(buf).unwrap()
}

/// The shared library's SONAME is `libferrokern.so.<FK_ABI_VERSION>`, so programs linked
/// against one ABI never load a library of another. The number is read from the header that
/// cbindgen just rendered from the Rust constant `FK_ABI_VERSION` (build.rs cannot import the
/// crate it builds), so there is one source of truth and no second number to keep in step.
/// `make install` reads the same line of the header to name the installed file.
fn set_soname(header: &str) {
    let abi: u32 = header
        .lines()
        .find_map(|l| l.strip_prefix("#define FK_ABI_VERSION "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the generated header has no `#define FK_ABI_VERSION <n>`");
    // ELF SONAMEs are a Linux (GNU ld / lld) convention here; other targets keep the
    // linker's default.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libferrokern.so.{abi}");
    }
}

/// `cbindgen.toml`'s `after_includes` (the Arrow structs, verbatim from the spec) without its
/// comments and preprocessor lines (guards, flag macros), which cffi's `cdef()` rejects:
/// derived, so the header and `_cdef.h` declare the same structs from one text.
fn without_directives(c: &str) -> String {
    let mut out = String::new();
    let mut rest = c;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim_start().starts_with('#')).collect();
    let mut text = lines.join("\n").trim().to_string();
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    text + "\n"
}

fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let root = Path::new(&crate_dir);
    // cbindgen reads the whole crate (any pub const lands in the header), so any source
    // change may change the header.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");

    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let header = render(&crate_dir, config.clone());
    write_if_changed(&root.join("include/ferrokern.h"), &header);
    set_soname(&header);

    let mut cdef = config;
    cdef.cpp_compat = false;
    cdef.include_guard = None;
    cdef.sys_includes = Vec::new();
    cdef.no_includes = true;
    cdef.header = None;
    cdef.autogen_warning = None;
    cdef.documentation = false;
    // The Arrow structs without the include guards and flag macros (cdef takes no directives).
    cdef.after_includes = cdef.after_includes.as_deref().map(without_directives);
    let cdef = render(&crate_dir, cdef);
    write_if_changed(&root.join("bindings/python/ferrokern/_cdef.h"), &cdef);

    // maturin's cffi bindings (`make wheel`, the sdist) take the declarations from
    // `<target dir>/header.h` when that file exists, and otherwise run cbindgen with
    // cbindgen.toml, whose Arrow block carries the `#ifndef` guards cffi cannot parse. So the
    // same directive-free declarations go there too (maturin runs cffi after this build).
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from) {
        Some(t) if t.is_absolute() => t,
        Some(t) => root.join(t),
        None => root.join("target"),
    };
    let maturin_header = target_dir.join("header.h");
    if std::fs::read_to_string(&maturin_header).ok().as_deref() != Some(cdef.as_str()) {
        // Best effort: a read-only target dir only matters to a maturin build.
        let _ = std::fs::create_dir_all(&target_dir).and_then(|_| std::fs::write(&maturin_header, &cdef));
    }
}
