// The header must compile as C++ (cpp_compat) and link: a smoke test, not the C API test.
#include "ferrokern.h"
#include <cstdio>
#include <cstring>

int main() {
    if (fk_abi_version() != FK_ABI_VERSION) {
        std::printf("ABI mismatch\n");
        return 1;
    }
    FkPattern *p = nullptr;
    const char *src = "(\\w+)";
    FkStatus st = fk_pattern_new(reinterpret_cast<const uint8_t *>(src), std::strlen(src), 0, &p);
    if (st != FK_STATUS_OK) return 1;
    fk_pattern_free(p);
    std::printf("C++ header test: 1 passed, 0 failed\n");
    return 0;
}
