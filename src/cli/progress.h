/* progress.h: a one-line progress bar on stderr (rows/s, ETA), drawn only when
 * stderr is a terminal, so logs and pipes stay clean. */
#ifndef DLP_CLI_PROGRESS_H
#define DLP_CLI_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

typedef struct cli_progress {
    FILE *out;          /* NULL when not drawing */
    const char *label;
    size_t total;       /* 0 = unknown (streaming) */
    size_t done;
    double start_seconds;
    double last_draw_seconds;
    const char *unit;   /* what is counted: "rows" unless set after start */
    char detail[64];    /* drawn after the rate and ETA: "" or, say, the objective */
} cli_progress;

/* enabled: 1 to draw if stderr is a terminal, 0 never (--quiet). */
void cli_progress_start(cli_progress *progress, const char *label, size_t total, int enabled);
/* A run over rows [offset, ...) of a longer (chunked) one, on one bar over all rows: the context of
 * cli_progress_advance_at, a progress callback of the library's (done rows of the chunk's total). */
typedef struct cli_progress_at {
    cli_progress *progress;
    size_t offset;
} cli_progress_at;
void cli_progress_advance_at(void *at, size_t done, size_t total);
/* The logistic regression's optimizer as a bar over its iterations: start it with cli_progress_start_logreg, and
 * give dlp_logreg_params.progress cli_progress_logreg and the bar:
 * "train [===>   ] 12/100 iterations  3.1 iterations/s  ETA 29s  objective 0.412". The ETA assumes max_iter
 * iterations; the optimizer often converges sooner. */
void cli_progress_start_logreg(cli_progress *progress, int max_iter, int enabled);
void cli_progress_logreg(void *progress, size_t iteration, double objective);
void cli_progress_advance(cli_progress *progress, size_t rows);
/* Draws the final state and ends the line. */
void cli_progress_finish(cli_progress *progress);
/* Seconds since an arbitrary start (monotonic). */
double cli_now_seconds(void);

#endif
