/* Background jobs (fk_job_*), from C: a job's result equals the direct call's (as a pickle
 * stream, the same bytes fk_matches_pickle / fk_key_sums_pickle write; or as a handle, handed
 * over once), on a thread of its own and with FK_JOB_NOW; the call's own error and message
 * come from fk_job_wait on the waiting thread; a job freed while it runs is waited for; a
 * pattern freed while a job uses it stays alive until the job ends; bad arguments refused;
 * many jobs at once, many one after another, and jobs in a forked child.
 * Under valgrind (`make test-c`) and ASan (`make test-asan`) a job that outlived its buffers
 * or leaked its stream or handle would show. */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, alarm, kill, waitpid under -std=c11 */
#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static const char *const TEXTS[] = {"mail a.b@x.org now", "nothing", "k 5 k 7 j 1", "", "user=ann and user=bo"};
enum { N = 5 };

static FkPattern *compile(const char *src) {
    FkPattern *p = NULL;
    CHECK_OK(fk_pattern_new((const uint8_t *)src, strlen(src), 0, &p));
    return p;
}

/* The bytes fk_matches_pickle writes for `m` (malloc'd, *len its size). */
static uint8_t *matches_stream(const FkMatches *m, uint32_t tuples, size_t *len) {
    fk_matches_pickle(m, tuples, NULL, 0, len);
    uint8_t *buf = malloc(*len);
    CHECK(buf && fk_matches_pickle(m, tuples, buf, *len, len) == FK_STATUS_OK);
    return buf;
}

static uint8_t *key_sums_stream(const FkKeySums *s, size_t *len) {
    fk_key_sums_pickle(s, NULL, 0, len);
    uint8_t *buf = malloc(*len);
    CHECK(buf && fk_key_sums_pickle(s, buf, *len, len) == FK_STATUS_OK);
    return buf;
}

/* A job's stream equals the direct call's stream, threaded and FK_JOB_NOW, for findall with
 * one and with several groups (tuples), emails and kv. */
static void test_streams_equal_the_direct_calls(void) {
    Batch b;
    FkTexts t = batch_texts(&b, TEXTS, N);
    FkPattern *one = compile("user=(\\w+)"), *two = compile("(\\w)(\\w)"), *kv = compile("(\\w+)\\s+(\\d+)");
    for (int now = 0; now < 2; now++) {
        uint32_t how = FK_JOB_PICKLE | (now ? FK_JOB_NOW : 0);
        FkMatches *m = NULL;
        FkKeySums *s = NULL;
        FkJob *job = NULL;
        FkJobResult r;
        size_t want_len;
        uint8_t *want;

        CHECK_OK(fk_findall(one, &t, 0, &m));
        want = matches_stream(m, 1, &want_len);
        CHECK_OK(fk_job_findall(one, &t, 0, how | FK_JOB_TUPLES, 1, &job));
        CHECK_OK(fk_job_wait(job, &r));
        CHECK(r.stream && r.stream_len == want_len && memcmp(r.stream, want, want_len) == 0);
        CHECK(r.matches == NULL && r.key_sums == NULL);
        CHECK_OK(fk_job_wait(job, &r)); /* every wait gives it again */
        CHECK(r.stream && r.stream_len == want_len);
        fk_job_free(job);
        free(want);
        fk_matches_free(m);

        /* Few texts, most with several-field matches: dense tuples come as a handle. */
        CHECK_OK(fk_findall(two, &t, 0, &m));
        CHECK_OK(fk_job_findall(two, &t, 0, how | FK_JOB_TUPLES, 0, &job));
        CHECK_OK(fk_job_wait(job, &r));
        CHECK(r.stream == NULL && r.matches != NULL);
        FkMatchesView x, y;
        CHECK_OK(fk_matches_view(m, &x));
        CHECK_OK(fk_matches_view(r.matches, &y));
        CHECK(x.n_fields == y.n_fields && x.data_len == y.data_len && memcmp(x.data, y.data, x.data_len) == 0);
        FkMatches *handed = r.matches;
        CHECK_OK(fk_job_wait(job, &r));
        CHECK(r.matches == NULL && r.stream == NULL); /* handed over once */
        fk_job_free(job);
        fk_matches_free(handed); /* the caller's now */
        fk_matches_free(m);

        CHECK_OK(fk_extract_emails(&t, &m));
        want = matches_stream(m, 0, &want_len);
        CHECK_OK(fk_job_extract_emails(&t, how, 0, &job));
        CHECK_OK(fk_job_wait(job, &r));
        CHECK(r.stream && r.stream_len == want_len && memcmp(r.stream, want, want_len) == 0);
        fk_job_free(job);
        free(want);
        fk_matches_free(m);

        CHECK_OK(fk_extract_and_aggregate(&t, 4300, &s));
        want = key_sums_stream(s, &want_len);
        CHECK_OK(fk_job_extract_and_aggregate(&t, 4300, how, 0, &job));
        CHECK_OK(fk_job_wait(job, &r));
        CHECK(r.stream && r.stream_len == want_len && memcmp(r.stream, want, want_len) == 0);
        fk_job_free(job);
        free(want);
        fk_key_sums_free(s);

        /* Without FK_JOB_PICKLE: always the handle. */
        CHECK_OK(fk_job_sum_by_key(kv, &t, 4300, now ? FK_JOB_NOW : 0, 0, &job));
        CHECK_OK(fk_job_wait(job, &r));
        CHECK(r.stream == NULL && r.key_sums != NULL && r.matches == NULL);
        fk_key_sums_free(r.key_sums);
        fk_job_free(job);
    }
    fk_pattern_free(one);
    fk_pattern_free(two);
    fk_pattern_free(kv);
}

/* The call's own error comes from fk_job_wait, with its message, on the waiting thread;
 * a job never waited for (running or not) is freed with whatever it made. */
static void test_errors_and_unwaited_jobs(void) {
    static const char bad[] = "ok\xff";
    int64_t offs[2] = {0, 3};
    FkTexts t = {(const uint8_t *)bad, 3, offs, 1, FK_OFFSETS_I64, 7};
    FkJob *job = NULL;
    FkJobResult r;
    for (int now = 0; now < 2; now++) {
        CHECK_OK(fk_job_extract_emails(&t, FK_JOB_PICKLE | (now ? FK_JOB_NOW : 0), 0, &job));
        CHECK_ERR(fk_job_wait(job, &r), FK_STATUS_INVALID_UTF8, "text 7");
        CHECK(r.stream == NULL && r.matches == NULL);
        CHECK_ERR(fk_job_wait(job, &r), FK_STATUS_INVALID_UTF8, "text 7");
        fk_job_free(job);
    }
    Batch b;
    FkTexts ok = batch_texts(&b, TEXTS, N);
    CHECK_OK(fk_job_extract_emails(&ok, 0, 0, &job)); /* a handle nobody takes */
    fk_job_free(job);                                  /* waits, frees the handle too */
    CHECK_OK(fk_job_extract_and_aggregate(&ok, 4300, FK_JOB_PICKLE, 0, &job));
    fk_job_free(job);
    fk_job_free(job); /* freed: a no-op */
    CHECK_ERR(fk_job_wait(job, &r), FK_STATUS_INVALID_HANDLE, "not live");
}

/* A pattern freed while its job runs stays alive until the job ends (the job pins it). */
static void test_pattern_freed_during_a_job(void) {
    Batch b;
    FkTexts t = batch_texts(&b, TEXTS, N);
    FkPattern *p = compile("user=(\\w+)");
    FkJob *job = NULL;
    FkJobResult r;
    CHECK_OK(fk_job_findall(p, &t, 0, FK_JOB_PICKLE, 0, &job));
    fk_pattern_free(p);
    CHECK_OK(fk_job_wait(job, &r));
    CHECK(r.stream != NULL && r.stream_len > 0);
    fk_job_free(job);
    size_t groups;
    CHECK_ERR(fk_pattern_groups(p, &groups), FK_STATUS_INVALID_HANDLE, "not live");
    CHECK_ERR(fk_job_findall(p, &t, 0, 0, 0, &job), FK_STATUS_INVALID_HANDLE, "not live");
}

static void test_bad_arguments(void) {
    Batch b;
    FkTexts t = batch_texts(&b, TEXTS, N);
    FkPattern *p = compile("a");
    FkJob *job = NULL;
    FkJobResult r;
    CHECK_ERR(fk_job_findall(p, &t, 0, 0, 0, NULL), FK_STATUS_NULL_POINTER, "out");
    CHECK_ERR(fk_job_findall(NULL, &t, 0, 0, 0, &job), FK_STATUS_NULL_POINTER, "FkPattern");
    CHECK_ERR(fk_job_findall(p, &t, 8, 0, 0, &job), FK_STATUS_INVALID_ARGUMENT, "findall options");
    CHECK_ERR(fk_job_extract_emails(&t, 64, 0, &job), FK_STATUS_INVALID_ARGUMENT, "job flags");
    CHECK_ERR(fk_job_extract_emails(&t, 0, 5000, &job), FK_STATUS_INVALID_ARGUMENT, "thread count");
    CHECK_ERR(fk_job_wait(NULL, &r), FK_STATUS_NULL_POINTER, "FkJob");
    CHECK_OK(fk_job_extract_emails(&t, 0, 0, &job));
    CHECK_ERR(fk_job_wait(job, NULL), FK_STATUS_NULL_POINTER, "result");
    fk_job_free(job);
    /* A NULL batch is the call's own error: reported by the wait. */
    CHECK_OK(fk_job_extract_emails(NULL, 0, 0, &job));
    CHECK_ERR(fk_job_wait(job, &r), FK_STATUS_NULL_POINTER, "texts");
    fk_job_free(job);
    fk_job_free(NULL);
    fk_pattern_free(p);
}

/* Whether a threaded emails job on `t` gives `want` (its stream). */
static int job_gives(const FkTexts *t, const uint8_t *want, size_t want_len) {
    FkJob *job = NULL;
    FkJobResult r;
    if (fk_job_extract_emails(t, FK_JOB_PICKLE, 0, &job) != FK_STATUS_OK) return 0;
    int ok = fk_job_wait(job, &r) == FK_STATUS_OK && r.stream && r.stream_len == want_len &&
             memcmp(r.stream, want, want_len) == 0;
    fk_job_free(job);
    return ok;
}

/* 20 jobs at once, then 50 one after another, each with the right result; then jobs in a
 * forked child, which has none of the parent's threads (the library's pool among them). */
static void test_many_jobs_and_jobs_after_fork(void) {
    Batch b;
    FkTexts t = batch_texts(&b, TEXTS, N);
    FkMatches *m = NULL;
    CHECK_OK(fk_extract_emails(&t, &m));
    size_t want_len;
    uint8_t *want = matches_stream(m, 0, &want_len);
    fk_matches_free(m);
    enum { AT_ONCE = 20 };
    FkJob *jobs[AT_ONCE];
    for (int i = 0; i < AT_ONCE; i++) CHECK_OK(fk_job_extract_emails(&t, FK_JOB_PICKLE, 0, &jobs[i]));
    for (int i = 0; i < AT_ONCE; i++) {
        FkJobResult r;
        CHECK_OK(fk_job_wait(jobs[i], &r));
        CHECK(r.stream && r.stream_len == want_len && memcmp(r.stream, want, want_len) == 0);
        fk_job_free(jobs[i]);
    }
    int all = 1;
    for (int i = 0; i < 50; i++) all &= job_gives(&t, want, want_len);
    CHECK(all);
    /* The child answers through a pipe and ends by SIGKILL: under valgrind a normal exit
     * would count the parent's threads' memory (threads the child never had) as leaked. */
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        alarm(60); /* a job handed to a thread the child does not have would hang: fail instead */
        char ok = job_gives(&t, want, want_len) && job_gives(&t, want, want_len) ? 'Y' : 'N';
        if (write(fds[1], &ok, 1) != 1) ok = 'N';
        kill(getpid(), SIGKILL);
    }
    CHECK(child > 0);
    close(fds[1]);
    char answer = 0;
    CHECK(read(fds[0], &answer, 1) == 1 && answer == 'Y');
    close(fds[0]);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    free(want);
}

int main(void) {
    test_streams_equal_the_direct_calls();
    test_errors_and_unwaited_jobs();
    test_pattern_freed_during_a_job();
    test_bad_arguments();
    test_many_jobs_and_jobs_after_fork();
    return finish("test_jobs");
}
