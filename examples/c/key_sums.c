#include <stdio.h>
#include <ferrokern.h>

int main(void) {
    const char *data = "apples 3 pears 5 apples 4" "k 18446744073709551615 k 1";
    int64_t offsets[] = {0, 25, 51};                   /* n + 1 offsets: the Arrow layout */
    FkTexts texts = {(const uint8_t *)data, 51, offsets, 2, FK_OFFSETS_I64, 0};

    FkKeySums *sums = NULL;
    if (fk_extract_and_aggregate(&texts, 4300, &sums) != FK_STATUS_OK) {
        fprintf(stderr, "ferrokern: %s\n", fk_last_error_message());
        return 1;
    }
    FkKeySumsView v;
    fk_key_sums_view(sums, &v);                        /* flat arrays, no call per item */
    for (size_t t = 0; t < v.n_texts; t++)
        for (uint64_t e = v.text_offsets[t]; e < v.text_offsets[t + 1]; e++) {
            printf("text %zu: %.*s = ", t, (int)(v.key_offsets[e + 1] - v.key_offsets[e]),
                   (const char *)v.keys + v.key_offsets[e]);
            const uint8_t *big;                        /* a sum past int64 has values[e] == 0: */
            size_t big_len;                            /* its exact decimal text is here */
            fk_key_sums_big_value(sums, e, &big, &big_len);
            if (big)
                printf("%.*s\n", (int)big_len, (const char *)big);
            else
                printf("%lld\n", (long long)v.values[e]);
        }
    fk_key_sums_free(sums);                            /* one free releases everything */
    return 0;
}
