/* step_profile.h: the "# profile" breakdown of one batch run step by step,
 * shared by featurize_cpu --profile and featurize_gpu --profile: each
 * benchmark times its steps (synchronising its device after each), then
 * print_op_times gives the time per op type and sorts the steps slowest
 * first for the benchmark's own per-step lines. */
#ifndef DLP_BENCH_STEP_PROFILE_H
#define DLP_BENCH_STEP_PROFILE_H

#include <stdio.h>
#include <stdlib.h>

#include "dlp/graph.h"
#include "graph/plan_internal.h"

typedef struct step_time {
    int step;
    double ms;
} step_time;

static int slower_first(const void *a, const void *b)
{
    const step_time *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

/* times: one per step of plan, in step order; sorted slowest first on return. */
static void print_op_times(const dlp_plan *plan, step_time *times)
{
    double per_op[DLP_OP_COUNT] = {0}, total = 0;
    int counts[DLP_OP_COUNT] = {0};
    for (int s = 0; s < plan->step_count; s++) {
        per_op[plan->steps[s].op] += times[s].ms, counts[plan->steps[s].op]++;
        total += times[s].ms;
    }
    for (int op = 0; op < DLP_OP_COUNT; op++)
        if (counts[op])
            printf("# profile   op %-22s %3d steps %8.3f ms (%4.1f%%)\n", dlp_op_name((dlp_op)op), counts[op],
                   per_op[op], 100.0 * per_op[op] / total);
    qsort(times, (size_t)plan->step_count, sizeof *times, slower_first);
}

#endif
