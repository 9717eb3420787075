#!/usr/bin/env bash
# `make test-install`: install into a temporary prefix, then build and run programs against
# it the way a user would: C with pkg-config only (dynamic, and static from the same .pc),
# CMake projects with find_package() only (shared and static), all without
# LD_LIBRARY_PATH. Also DESTDIR staging, uninstall, and that the README's C example is
# examples/c/key_sums.c verbatim.
set -euo pipefail
cd "$(dirname "$0")/../.."
MAKE=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
unset LD_LIBRARY_PATH PKG_CONFIG_LIBDIR
pass=0
fail=0
ok() {  # ok "what" command...: one check
    local what=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $what" >&2; fi
}
has() { grep -q -- "$2" <<<"$1"; }  # has TEXT NEEDLE
lacks() { ! grep -q -- "$2" <<<"$1"; }
expected=examples/c/key_sums.expected

echo "== make install PREFIX=$prefix"
$MAKE --no-print-directory install PREFIX="$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
abi=$(awk '$2 == "FK_ABI_VERSION" {print $3}' "$prefix/include/ferrokern.h")
version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
lib=$prefix/lib
soname=libferrokern.so.$abi
ok "ABI version in the installed header" test -n "$abi"
ok "installed header is the generated one" cmp -s include/ferrokern.h "$prefix/include/ferrokern.h"
ok "C++ wrapper installed" cmp -s include/ferrokern.hpp "$prefix/include/ferrokern.hpp"
ok "$soname is a real file" test -f "$lib/$soname" -a ! -L "$lib/$soname"
ok "libferrokern.so -> $soname" test "$(readlink "$lib/libferrokern.so")" = "$soname"
ok "static library installed" test -f "$lib/libferrokern.a"
ok "SONAME is $soname" has "$(readelf -d "$lib/$soname")" "(SONAME).*\[$soname\]"
ok "no debug info in the .so" lacks "$(readelf -S --wide "$lib/$soname")" '\.debug_'
ok "no debug info or bitcode in the .a" lacks "$(readelf -S --wide "$lib/libferrokern.a" 2>/dev/null)" '\.debug_\|\.llvmbc'
ok "CMake package installed" test -f "$lib/cmake/ferrokern/ferrokern-config.cmake" -a -f "$lib/cmake/ferrokern/ferrokern-config-version.cmake"
echo "   $(du -h "$lib/$soname" | cut -f1) $soname, $(du -h "$lib/libferrokern.a" | cut -f1) libferrokern.a"

echo "== pkg-config"
export PKG_CONFIG_PATH=$lib/pkgconfig
ok "pkg-config version is Cargo.toml's ($version)" test "$(pkg-config --modversion ferrokern)" = "$version"
# (echo $(...): pkg-config ends its output with a space)
ok "Cflags" test "$(echo $(pkg-config --cflags ferrokern))" = "-I$prefix/include"
ok "Libs" test "$(echo $(pkg-config --libs ferrokern))" = "-L$lib -lferrokern"
static_libs=$(pkg-config --static --libs ferrokern)
echo "   --static --libs: $static_libs"
ok "Libs.private lists rustc's native-static-libs" has "$static_libs" "-lferrokern -l"

# Dynamic: the .pc's flags, plus an rpath so the binary finds the prefix's library.
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/key_sums_dyn" examples/c/key_sums.c \
    $(pkg-config --cflags --libs ferrokern) -Wl,-rpath,"$lib"
dyn=$(readelf -d "$tmp/key_sums_dyn")
ok "pkg-config dynamic: NEEDED $soname" has "$dyn" "(NEEDED).*\[$soname\]"
ok "pkg-config dynamic: resolves $soname in the prefix" has "$(ldd "$tmp/key_sums_dyn")" "$soname => $lib/$soname"
ok "pkg-config dynamic: output" diff <("$tmp/key_sums_dyn") "$expected"

# Static: the same .pc with --static; both archives sit in one directory and a linker takes
# the .so for -lferrokern, so the archive is named (-l:libferrokern.a, GNU ld/gold/lld).
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/key_sums_static" examples/c/key_sums.c \
    $(pkg-config --cflags ferrokern) $(sed -E 's/(^| )-lferrokern( |$)/\1-l:libferrokern.a\2/' <<<"$static_libs")
st=$(readelf -d "$tmp/key_sums_static")
ok "pkg-config static: no libferrokern.so needed" lacks "$st" "libferrokern"
ok "pkg-config static: output" diff <("$tmp/key_sums_static") "$expected"

echo "== CMake find_package(ferrokern $version)"
for mode in shared static; do
    use_static=OFF
    [ "$mode" = static ] && use_static=ON
    b=$tmp/cmake-$mode
    cmake -S tests/cmake -B "$b" -DCMAKE_PREFIX_PATH="$prefix" -DFERROKERN_USE_STATIC_LIBS=$use_static \
        -DFK_REQUIRE_VERSION="$version" -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 \
        || { cat "$tmp/cmake.log"; exit 1; }
    cmake --build "$b" -j 2 >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
    d=$(readelf -d "$b/key_sums")
    if [ $mode = shared ]; then
        ok "CMake shared: NEEDED $soname" has "$d" "(NEEDED).*\[$soname\]"
        ok "CMake shared: resolves $soname in the prefix" has "$(ldd "$b/key_sums")" "$soname => $lib/$soname"
    else
        ok "CMake static: no libferrokern.so needed" lacks "$d$(readelf -d "$b/test_wrapper")" "libferrokern"
    fi
    ok "CMake $mode: C example output" diff <("$b/key_sums") "$expected"
    ok "CMake $mode: C++ wrapper test" "$b/test_wrapper"
done
ok "CMake: an incompatible version is refused" \
    bash -c '! cmake -S tests/cmake -B "$1" -DCMAKE_PREFIX_PATH="$2" -DFK_REQUIRE_VERSION=99.0 >"$1.log" 2>&1 \
             && grep -q "ferrokern" "$1.log"' _ "$tmp/cmake-v99" "$prefix"

echo "== README's C example is examples/c/key_sums.c"
ok "README quotes examples/c/key_sums.c verbatim" \
    diff <(awk '/^<!-- examples\/c\/key_sums.c -->$/ {on = 1; next} on && /^```c$/ {inside = 1; next}
               inside && /^```$/ {exit} inside {print}' README.md) examples/c/key_sums.c

echo "== DESTDIR staging"
$MAKE --no-print-directory install DESTDIR="$tmp/stage" PREFIX=/opt/fk >"$tmp/install.log" 2>&1 \
    || { cat "$tmp/install.log"; exit 1; }
ok "DESTDIR: files under the stage" test -f "$tmp/stage/opt/fk/lib/$soname" -a -f "$tmp/stage/opt/fk/include/ferrokern.h"
ok "DESTDIR: .pc names the final prefix" grep -qx "prefix=/opt/fk" "$tmp/stage/opt/fk/lib/pkgconfig/ferrokern.pc"
ok "DESTDIR: CMake package names the final prefix" \
    grep -q '"/opt/fk/lib/libferrokern.so.'"$abi"'"' "$tmp/stage/opt/fk/lib/cmake/ferrokern/ferrokern-config.cmake"

echo "== make uninstall"
$MAKE --no-print-directory uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l)
ok "uninstall removes every installed file" test -z "$left"
[ -z "$left" ] || echo "$left" >&2

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
