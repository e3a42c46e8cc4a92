/* lbfgs.h: breeze 2.1's LBFGS (strong Wolfe line search) and OWLQN
 * (orthant-wise L1, backtracking line search), as Spark 3.5 drives them. */
#ifndef DLP_SRC_ML_LBFGS_H
#define DLP_SRC_ML_LBFGS_H

#include <stddef.h>

#include "dlp/core.h"

/* The smooth part of the objective: value and gradient at x. */
typedef dlp_status (*dlp_minimize_function)(void *context, const double *x, double *value, double *gradient);

typedef struct dlp_minimize_options {
    int max_iter;      /* breeze maxIter */
    int memory;        /* breeze m (Spark: 10) */
    double tolerance;  /* breeze tolerance (Spark: tol) */
    const double *l1;  /* per-coordinate L1 weights (OWLQN), or NULL for LBFGS */
    /* Called with each history entry as it is recorded and breeze's iter of its state (0: the initial point; a
     * failed step that resets the memory records the same iter again), or NULL. */
    void (*on_state)(void *context, size_t iteration, double adjusted_value);
    void *on_state_context;
} dlp_minimize_options;

/* Minimizes from x (updated in place to the last state's point). history gets the
 * adjusted value of every state breeze's iterator yields (Spark's
 * objectiveHistory), malloc'ed; *iterations the last state's iter. */
dlp_status dlp_minimize(dlp_minimize_function function, void *context, size_t dimension, double *x,
                        const dlp_minimize_options *options, double **history, size_t *history_count);

#endif
