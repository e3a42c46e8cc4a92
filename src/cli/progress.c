/* progress.c: draws "label [=====>    ] 120/500 rows  85.3 rows/s  ETA 4s" at most 10 times a second. */
#include "cli/progress.h"

#include <time.h>
#include <unistd.h>

double cli_now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

void cli_progress_start(cli_progress *progress, const char *label, size_t total, int enabled)
{
    progress->out = enabled && isatty(fileno(stderr)) ? stderr : NULL;
    progress->label = label;
    progress->total = total;
    progress->done = 0;
    progress->start_seconds = cli_now_seconds();
    progress->last_draw_seconds = 0;
    progress->unit = "rows";
    progress->detail[0] = '\0';
}

static void draw(cli_progress *progress, double now)
{
    enum { BAR_WIDTH = 30 };
    double elapsed = now - progress->start_seconds;
    double rate = elapsed > 0 ? (double)progress->done / elapsed : 0;
    fprintf(progress->out, "\r%s ", progress->label);
    if (progress->total) {
        size_t filled = progress->done >= progress->total ? BAR_WIDTH : progress->done * BAR_WIDTH / progress->total;
        fputc('[', progress->out);
        for (size_t i = 0; i < BAR_WIDTH; i++) fputc(i < filled ? '=' : (i == filled ? '>' : ' '), progress->out);
        fprintf(progress->out, "] %zu/%zu %s  %.1f %s/s", progress->done, progress->total, progress->unit, rate,
                progress->unit);
        if (rate > 0 && progress->done < progress->total)
            fprintf(progress->out, "  ETA %.0fs", (double)(progress->total - progress->done) / rate);
    } else {
        fprintf(progress->out, "%zu %s  %.1f %s/s", progress->done, progress->unit, rate, progress->unit);
    }
    if (progress->detail[0]) fprintf(progress->out, "  %s", progress->detail);
    fputs("\033[K", progress->out); /* clear the rest of a longer previous line */
    fflush(progress->out);
    progress->last_draw_seconds = now;
}

void cli_progress_advance(cli_progress *progress, size_t rows)
{
    progress->done += rows;
    if (!progress->out) return;
    double now = cli_now_seconds();
    if (now - progress->last_draw_seconds >= 0.1) draw(progress, now);
}

void cli_progress_finish(cli_progress *progress)
{
    if (!progress->out) return;
    draw(progress, cli_now_seconds());
    fputc('\n', progress->out);
}

void cli_progress_start_logreg(cli_progress *progress, int max_iter, int enabled)
{
    cli_progress_start(progress, "train", max_iter > 0 ? (size_t)max_iter : 0, enabled);
    progress->unit = "iterations";
}

void cli_progress_logreg(void *context, size_t iteration, double objective)
{
    cli_progress *progress = context;
    snprintf(progress->detail, sizeof progress->detail, "objective %.6g", objective);
    /* A failed step that resets the optimizer repeats an iteration: it advances nothing, only redraws. */
    cli_progress_advance(progress, iteration > progress->done ? iteration - progress->done : 0);
}

void cli_progress_advance_at(void *context, size_t done, size_t total)
{
    (void)total;
    cli_progress_at *at = context;
    cli_progress_advance(at->progress, at->offset + done - at->progress->done);
}
