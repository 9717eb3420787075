"""Compile and run the Go (cgo) and Java (JNA) snippets of docs/ffi.md against the library.

The snippets are extracted from the doc as written (only the cgo library path is pointed at
this checkout), wrapped in a small harness that feeds them a sum past 2^64, a non-ASCII key
and a too-long number, and checked for the exact results. A snippet whose toolchain is missing
is reported as not checked (exit status 0 only if every snippet that ran passed, and 2 when
none could run). Not part of `make test`, which must not need Go or a JDK:

    make check-ffi-snippets       # or: python3 tools/check_ffi_snippets.py
    # needs: go (Debian: golang-go); javac + JNA (Debian: default-jdk-headless libjna-java,
    # or JNA_JAR=/path/to/jna.jar)

The library is $FERROKERN_LIBRARY, else target/release/libferrokern.so.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ffi.md"
LIB = Path(os.environ.get("FERROKERN_LIBRARY") or ROOT / "target" / "release" / "libferrokern.so").resolve()

BIG = "99999999999999999999"
TEXTS = [f"big {BIG} big 1 small 5", "été 2", ""]


def snippet(heading, lang):
    m = re.search(rf"### {re.escape(heading)}.*?```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    if not m:
        sys.exit(f"docs/ffi.md has no ```{lang} snippet under '### {heading}'")
    return m.group(1)


def replace(text, old, new):
    if old not in text:
        sys.exit(f"tools/check_ffi_snippets.py: the snippet changed, cannot find {old!r}")
    return text.replace(old, new)


def run(cmd, cwd, env=None):
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stdout + p.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return p.stdout


def check_go(tmp):
    if not shutil.which("go"):
        return "go not found"
    src = snippet("Go (cgo)", "go")
    src = replace(src, "#cgo pkg-config: ferrokern\n",
                  f"#cgo CFLAGS: -I{ROOT / 'include'}\n"
                  f"#cgo LDFLAGS: -L{LIB.parent} -lferrokern -Wl,-rpath,{LIB.parent}\n")
    d = Path(tmp) / "go"
    (d / "ferrokern").mkdir(parents=True)
    (d / "go.mod").write_text("module snippetcheck\n\ngo 1.19\n")
    (d / "ferrokern" / "ferrokern.go").write_text(src)
    (d / "ferrokern" / "snippet_test.go").write_text(f"""package ferrokern

import (
	"strings"
	"testing"
)

func TestSnippet(t *testing.T) {{
	out, err := ExtractAndAggregate([]string{{{", ".join(f'"{s}"' for s in TEXTS)}}})
	if err != nil {{
		t.Fatal(err)
	}}
	if len(out) != 3 || out[0]["big"].String() != "100000000000000000000" || out[0]["small"].Int64() != 5 ||
		out[1]["été"].Int64() != 2 || len(out[0]) != 2 || len(out[1]) != 1 || len(out[2]) != 0 {{
		t.Fatalf("wrong result %v", out)
	}}
	_, err = ExtractAndAggregate([]string{{"n " + strings.Repeat("1", 4301)}})
	if err == nil || !strings.Contains(err.Error(), "4300") {{
		t.Fatalf("want the library's digit-limit message, got %v", err)
	}}
}}
""")
    env = dict(os.environ, GOFLAGS="-mod=mod", CGO_ENABLED="1")
    env.setdefault("GOCACHE", str(Path(tmp) / "gocache"))
    run(["go", "vet", "./..."], d, env)
    run(["go", "test", "-count=1", "./..."], d, env)
    return None


def check_java(tmp):
    jar = os.environ.get("JNA_JAR") or "/usr/share/java/jna.jar"
    if not shutil.which("javac") or not Path(jar).exists():
        return f"javac or JNA ({jar}) not found"
    src = snippet("JNA (Java)", "java")
    head, usage = src.split("// usage", 1)
    imports = [line for line in head.splitlines() if line.startswith("import")]
    d = Path(tmp) / "java"
    d.mkdir()
    (d / "Ferrokern.java").write_text("\n".join(head.splitlines()) + "\n")
    usage = replace(usage, "BigInteger sum = new BigInteger(new String(dec, StandardCharsets.US_ASCII));",
                    "BigInteger sum = new BigInteger(new String(dec, StandardCharsets.US_ASCII)); "
                    "System.out.println(\"big \" + bigIndex[b] + \" \" + sum);")
    usage = replace(usage, "    // keys: v.keys",
                    "    System.out.println(\"values \" + java.util.Arrays.toString(values) + \" keys \" + "
                    "new String(v.keys.getByteArray(0, (int) v.keys_len), StandardCharsets.UTF_8) + "
                    "\" texts \" + v.n_texts);\n    // keys: v.keys")
    body = "\n".join("        " + line for line in ("// usage" + usage).splitlines())
    main = "\n".join(imports) + f"""
import java.util.List;

public class Main {{
    static void example(List<String> texts) {{
{body}
    }}

    public static void main(String[] args) {{
        example(List.of({", ".join(f'"{s}"' for s in TEXTS)}));
        try {{
            example(List.of("n " + "1".repeat(4301)));
            System.out.println("no error");
        }} catch (RuntimeException e) {{
            System.out.println("error " + e.getMessage());
        }}
    }}
}}
"""
    (d / "Main.java").write_text(main)
    run(["javac", "-encoding", "UTF-8", "-cp", jar, "-d", ".", "Ferrokern.java", "Main.java"], d)
    out = run(["java", "-Dfile.encoding=UTF-8", f"-Djna.library.path={LIB.parent}", "-cp", f"{jar}:.", "Main"], d)
    want = ["big 0 100000000000000000000", "values [0, 5, 2] keys bigsmallété texts 3"]
    lines = out.splitlines()
    if lines[:2] != want or not (len(lines) == 3 and lines[2].startswith("error ") and "4300" in lines[2]):
        raise SystemExit(f"JNA snippet printed {lines}, want {want} and the digit-limit error")
    return None


def main():
    if not LIB.exists():
        sys.exit(f"{LIB} not found: cargo build --release, or set FERROKERN_LIBRARY")
    ran = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, check in (("Go (cgo)", check_go), ("JNA (Java)", check_java)):
            skipped = check(tmp)
            if skipped:
                print(f"check_ffi_snippets: {name} snippet NOT checked: {skipped}")
            else:
                ran += 1
                print(f"check_ffi_snippets: {name} snippet compiled, ran and returned the expected results")
    if ran == 0:
        sys.exit(2)


if __name__ == "__main__":
    main()
