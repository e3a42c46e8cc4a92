/* lbfgs.c: the quasi-Newton minimizers Spark 3.5's LogisticRegression runs, with
 * breeze 2.1's semantics (breeze/optimize/FirstOrderMinimizer.scala, LBFGS.scala,
 * OWLQN.scala, StrongWolfe.scala, BacktrackingLineSearch.scala), so that the
 * iterates and objectiveHistory follow Spark's step by step, not just its optimum. */
#include "ml/lbfgs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* breeze's FirstOrderMinimizer.defaultConvergenceCheck: fvalMemory 20. */
#define FUNCTION_VALUE_MEMORY 20

/* A breeze FirstOrderException (line search failed, NaN history, step size
 * underflow): FirstOrderMinimizer resets the history once, and gives up
 * (searchFailed) when the next iteration fails again. */
enum { STEP_OK = 0, STEP_FAILED = 1 };

typedef struct minimizer {
    dlp_minimize_function function;
    void *context;
    size_t n;
    const dlp_minimize_options *options;
    /* breeze's CachedDiffFunction: the last point evaluated and its value and gradient. */
    double *cache_x, *cache_gradient, cache_value;
    int cache_valid;
    /* scratch */
    double *trial_x, *trial_gradient, *direction, *adjusted_gradient_scratch;
    /* LBFGS.ApproximateInverseHessian: steps s and gradient deltas y, newest first. */
    double **memory_step, **memory_gradient_delta;
    int memory_length;
    double *rho, *alphas;
} minimizer;

typedef struct state {
    double *x, *gradient, *adjusted_gradient;
    double value, adjusted_value;
    int iter;
} state;

static double dot(const double *a, const double *b, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static double norm2(const double *a, size_t n) { return sqrt(dot(a, a, n)); }

static double signum(double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); }

/* CachedDiffFunction.calculate: re-evaluates only when x differs from the last point. */
static dlp_status calculate(minimizer *m, const double *x, double *value, double *gradient)
{
    if (!m->cache_valid || memcmp(x, m->cache_x, m->n * sizeof *x) != 0) {
        DLP_TRY(m->function(m->context, x, &m->cache_value, m->cache_gradient));
        memcpy(m->cache_x, x, m->n * sizeof *x);
        m->cache_valid = 1;
    }
    *value = m->cache_value;
    memcpy(gradient, m->cache_gradient, m->n * sizeof *gradient);
    return DLP_OK;
}

/* OWLQN.adjust: adds sum |l1_i x_i| and turns the gradient into the pseudo-gradient. LBFGS: identity. */
static double adjust(const minimizer *m, const double *x, const double *gradient, double value, double *adjusted)
{
    const double *l1 = m->options->l1;
    if (!l1) {
        memcpy(adjusted, gradient, m->n * sizeof *adjusted);
        return value;
    }
    double adjusted_value = value;
    for (size_t i = 0; i < m->n; i++) {
        double r = l1[i], v = gradient[i];
        if (r == 0.0) {
            adjusted[i] = v;
            continue;
        }
        adjusted_value += fabs(r * x[i]);
        if (x[i] == 0.0) {
            double plus = v + r, minus = v - r;
            adjusted[i] = minus > 0 ? minus : (plus < 0 ? plus : 0.0);
        } else {
            adjusted[i] = v + signum(x[i]) * r;
        }
    }
    return adjusted_value;
}

/* ApproximateInverseHessian * gradient (two-loop recursion), negated: the descent direction. */
static int inverse_hessian_times(minimizer *m, const double *gradient, double *direction)
{
    size_t n = m->n;
    double diag = 1.0;
    if (m->memory_length > 0) {
        double sy = dot(m->memory_step[0], m->memory_gradient_delta[0], n);
        double yy = dot(m->memory_gradient_delta[0], m->memory_gradient_delta[0], n);
        if (sy < 0 || isnan(sy)) return STEP_FAILED; /* NaNHistory */
        diag = sy / yy;
    }
    memcpy(direction, gradient, n * sizeof *direction);
    for (int i = 0; i < m->memory_length; i++) {
        m->rho[i] = dot(m->memory_step[i], m->memory_gradient_delta[i], n);
        m->alphas[i] = dot(m->memory_step[i], direction, n) / m->rho[i];
        if (isnan(m->alphas[i])) return STEP_FAILED; /* NaNHistory */
        for (size_t j = 0; j < n; j++) direction[j] -= m->alphas[i] * m->memory_gradient_delta[i][j];
    }
    for (size_t j = 0; j < n; j++) direction[j] *= diag;
    for (int i = m->memory_length - 1; i >= 0; i--) {
        double beta = dot(m->memory_gradient_delta[i], direction, n) / m->rho[i];
        for (size_t j = 0; j < n; j++) direction[j] += (m->alphas[i] - beta) * m->memory_step[i][j];
    }
    for (size_t j = 0; j < n; j++) direction[j] *= -1.0;
    return STEP_OK;
}

/* LBFGS.takeStep (x + dir * t) or OWLQN.takeStep (the same, projected onto the
 * orthant of x, or of -pseudo-gradient where x is 0). */
static void take_step(const minimizer *m, const state *s, const double *direction, double t, double *out)
{
    for (size_t i = 0; i < m->n; i++) out[i] = direction[i] * t + s->x[i];
    if (!m->options->l1) return;
    for (size_t i = 0; i < m->n; i++) {
        double orthant = s->x[i] != 0 ? signum(s->x[i]) : signum(-s->adjusted_gradient[i]);
        out[i] = signum(out[i]) == orthant ? out[i] : 0.0;
    }
}

/* phi(t) of the line searches: value (adjusted for OWLQN) and directional derivative. */
static dlp_status line_function(minimizer *m, const state *s, const double *direction, double t, double *value,
                                double *derivative)
{
    take_step(m, s, direction, t, m->trial_x);
    double raw;
    DLP_TRY(calculate(m, m->trial_x, &raw, m->trial_gradient));
    if (m->options->l1) {
        *value = adjust(m, m->trial_x, m->trial_gradient, raw, m->adjusted_gradient_scratch);
        *derivative = dot(m->adjusted_gradient_scratch, direction, m->n);
    } else {
        *value = raw;
        *derivative = dot(m->trial_gradient, direction, m->n);
    }
    return DLP_OK;
}

typedef struct bracket {
    double t, dd, fval;
} bracket;

/* CubicLineSearch.interp: safeguarded cubic interpolation inside [l, r]. */
static double interpolate(bracket l, bracket r)
{
    double d1 = l.dd + r.dd - 3 * (l.fval - r.fval) / (l.t - r.t);
    double d2 = sqrt(d1 * d1 - l.dd * r.dd);
    double multiplier = r.t - l.t;
    double t = r.t - multiplier * (r.dd + d2 - d1) / (r.dd - l.dd + 2 * d2);
    double lower = l.t + 0.1 * (r.t - l.t), upper = l.t + 0.9 * (r.t - l.t);
    if (t < lower) return lower;
    if (t > upper) return upper;
    return t;
}

/* StrongWolfeLineSearch(maxZoomIter = 10, maxLineSearchIter = 10).minimize, c1 1e-4, c2 0.9. */
static dlp_status strong_wolfe(minimizer *m, const state *s, const double *direction, double init, double *step,
                               int *outcome)
{
    const double c1 = 1e-4, c2 = 0.9;
    *outcome = STEP_FAILED;
    bracket low = {0.0, 0.0, 0.0};
    DLP_TRY(line_function(m, s, direction, 0.0, &low.fval, &low.dd));
    double fval = low.fval, dd = low.dd;
    if (dd > 0) return DLP_OK; /* non-descent direction */
    double t = init;
    bracket zoom_low, zoom_high;
    int zoom = 0;
    for (int i = 0; i < 10 && !zoom; i++) {
        bracket c = {t, 0.0, 0.0};
        DLP_TRY(line_function(m, s, direction, t, &c.fval, &c.dd));
        if (isinf(c.fval) || isnan(c.fval)) {
            t /= 2.0;
            continue;
        }
        if (c.fval > fval + c1 * t * dd || (c.fval >= low.fval && i > 0)) {
            zoom_low = low, zoom_high = c, zoom = 1;
            break;
        }
        if (fabs(c.dd) <= c2 * fabs(dd)) {
            *step = c.t, *outcome = STEP_OK;
            return DLP_OK;
        }
        if (c.dd >= 0) {
            zoom_low = c, zoom_high = low, zoom = 1;
            break;
        }
        low = c;
        t *= 1.5;
    }
    if (!zoom) return DLP_OK; /* "Line search failed" */
    for (int i = 0; i < 10; i++) {
        double tz = zoom_low.t > zoom_high.t ? interpolate(zoom_high, zoom_low) : interpolate(zoom_low, zoom_high);
        bracket c = {tz, 0.0, 0.0};
        DLP_TRY(line_function(m, s, direction, tz, &c.fval, &c.dd));
        if (isnan(tz)) return DLP_OK;
        if (c.fval > fval + c1 * c.t * dd || c.fval >= zoom_low.fval) {
            zoom_high = c;
        } else {
            if (fabs(c.dd) <= c2 * fabs(dd)) {
                *step = c.t, *outcome = STEP_OK;
                return DLP_OK;
            }
            if (c.dd * (zoom_high.t - zoom_low.t) >= 0) zoom_high = zoom_low;
            zoom_low = c;
        }
    }
    return DLP_OK; /* "Line search zoom failed" */
}

/* BacktrackingLineSearch(initfval = state.value, shrinkStep) as OWLQN calls it:
 * maxIterations 20, growStep 2.1, cArmijo 1e-4, cWolfe 0.9, alpha in [1e-10, 1e10],
 * strong Wolfe enforced. breeze starts from the *raw* value at x as if it were the
 * value at init; kept, since Spark's iterates depend on it. */
static dlp_status backtracking(minimizer *m, const state *s, const double *direction, double init, double shrink,
                               double *step, int *outcome)
{
    const double armijo = 1e-4, wolfe = 0.9, grow = 2.1;
    *outcome = STEP_FAILED;
    double f0, df0, unused, fderiv;
    DLP_TRY(line_function(m, s, direction, 0.0, &f0, &df0));
    DLP_TRY(line_function(m, s, direction, init, &unused, &fderiv));
    double alpha = init, fval = s->value;
    for (int iter = 0;;) {
        double multiplier;
        if (fval > f0 + alpha * df0 * armijo) multiplier = shrink;
        else if (fderiv < wolfe * df0) multiplier = grow;
        else if (fderiv > -wolfe * df0) multiplier = shrink;
        else multiplier = 1.0;
        if (multiplier == 1.0) break;
        double next = alpha * multiplier;
        if (next < 1e-10 || next > 1e10) return DLP_OK; /* StepSizeUnderflow / Overflow */
        double next_value, next_derivative;
        DLP_TRY(line_function(m, s, direction, next, &next_value, &next_derivative));
        iter++;
        /* Iterator.takeWhile(iter < maxIterations).last: the 20th trial is computed but not taken. */
        if (iter >= 20) break;
        alpha = next, fval = next_value, fderiv = next_derivative;
    }
    *step = alpha, *outcome = STEP_OK;
    return DLP_OK;
}

/* One FirstOrderMinimizer iteration from s into next; *outcome STEP_FAILED on a FirstOrderException. */
static dlp_status iterate(minimizer *m, const state *s, state *next, int *outcome)
{
    size_t n = m->n;
    const dlp_minimize_options *o = m->options;
    *outcome = STEP_FAILED;
    double *direction = m->direction;
    /* chooseDescentDirection: LBFGS uses state.grad; OWLQN the pseudo-gradient,
     * then zeroes components that do not descend along it. */
    if (inverse_hessian_times(m, o->l1 ? s->adjusted_gradient : s->gradient, direction) != STEP_OK) return DLP_OK;
    if (o->l1)
        for (size_t i = 0; i < n; i++)
            if (!(direction[i] * s->adjusted_gradient[i] < 0)) direction[i] = 0.0;
    double step = 0.0;
    int search;
    if (o->l1) {
        double init = s->iter < 1 ? 0.5 / norm2(s->gradient, n) : 1.0;
        DLP_TRY(backtracking(m, s, direction, init, s->iter < 1 ? 0.1 : 0.5, &step, &search));
        if (search != STEP_OK) return DLP_OK;
    } else {
        double init = s->iter == 0 ? 1.0 / norm2(direction, n) : 1.0;
        DLP_TRY(strong_wolfe(m, s, direction, init, &step, &search));
        if (search != STEP_OK) return DLP_OK;
        if (step * norm2(s->gradient, n) < 1e-10) return DLP_OK; /* StepSizeUnderflow */
    }
    take_step(m, s, direction, step, next->x);
    DLP_TRY(calculate(m, next->x, &next->value, next->gradient));
    next->adjusted_value = adjust(m, next->x, next->gradient, next->value, next->adjusted_gradient);
    next->iter = s->iter + 1;
    /* updateHistory: s = x' - x, y = grad' - grad (raw gradients), newest first, at most m. */
    int capacity = o->memory;
    double *oldest_step = m->memory_step[capacity - 1], *oldest_delta = m->memory_gradient_delta[capacity - 1];
    memmove(m->memory_step + 1, m->memory_step, (size_t)(capacity - 1) * sizeof *m->memory_step);
    memmove(m->memory_gradient_delta + 1, m->memory_gradient_delta,
            (size_t)(capacity - 1) * sizeof *m->memory_gradient_delta);
    m->memory_step[0] = oldest_step, m->memory_gradient_delta[0] = oldest_delta;
    for (size_t i = 0; i < n; i++) {
        oldest_step[i] = next->x[i] - s->x[i];
        oldest_delta[i] = next->gradient[i] - s->gradient[i];
    }
    if (m->memory_length < capacity) m->memory_length++;
    *outcome = STEP_OK;
    return DLP_OK;
}

static int state_alloc(state *s, size_t n)
{
    s->x = calloc(n, sizeof *s->x);
    s->gradient = calloc(n, sizeof *s->gradient);
    s->adjusted_gradient = calloc(n, sizeof *s->adjusted_gradient);
    return s->x && s->gradient && s->adjusted_gradient;
}

static void state_free(state *s)
{
    free(s->x), free(s->gradient), free(s->adjusted_gradient);
}

static void state_swap(state *a, state *b)
{
    state t = *a;
    *a = *b;
    *b = t;
}

typedef struct history_buffer {
    double *values;
    size_t count, capacity;
} history_buffer;

/* Records a state's adjusted value, and tells options->on_state which iteration it is. */
static int history_push(history_buffer *h, const dlp_minimize_options *options, int iteration, double value)
{
    if (h->count == h->capacity) {
        size_t capacity = h->capacity ? 2 * h->capacity : 64;
        double *grown = realloc(h->values, capacity * sizeof *grown);
        if (!grown) return 0;
        h->values = grown, h->capacity = capacity;
    }
    h->values[h->count++] = value;
    if (options->on_state) options->on_state(options->on_state_context, (size_t)iteration, value);
    return 1;
}

dlp_status dlp_minimize(dlp_minimize_function function, void *context, size_t dimension, double *x,
                        const dlp_minimize_options *options, double **history, size_t *history_count)
{
    *history = NULL, *history_count = 0;
    if (dimension == 0 || options->memory < 1)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "minimize: dimension %zu, memory %d (both must be >= 1)", dimension,
                        options->memory);
    size_t n = dimension;
    minimizer m = {.function = function, .context = context, .n = n, .options = options};
    state current = {0}, next = {0};
    history_buffer h = {0};
    dlp_status status = DLP_OK;
    int capacity = options->memory;
    m.cache_x = calloc(n, sizeof(double));
    m.cache_gradient = calloc(n, sizeof(double));
    m.trial_x = calloc(n, sizeof(double));
    m.trial_gradient = calloc(n, sizeof(double));
    m.direction = calloc(n, sizeof(double));
    m.adjusted_gradient_scratch = calloc(n, sizeof(double));
    m.memory_step = calloc((size_t)capacity, sizeof(double *));
    m.memory_gradient_delta = calloc((size_t)capacity, sizeof(double *));
    m.rho = calloc((size_t)capacity, sizeof(double));
    m.alphas = calloc((size_t)capacity, sizeof(double));
    int ok = m.cache_x && m.cache_gradient && m.trial_x && m.trial_gradient && m.direction &&
             m.adjusted_gradient_scratch && m.memory_step && m.memory_gradient_delta && m.rho && m.alphas &&
             state_alloc(&current, n) && state_alloc(&next, n);
    for (int i = 0; ok && i < capacity; i++) {
        m.memory_step[i] = calloc(n, sizeof(double));
        m.memory_gradient_delta[i] = calloc(n, sizeof(double));
        ok = m.memory_step[i] && m.memory_gradient_delta[i];
    }
    if (!ok) {
        status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "minimize: no memory for %zu parameters", n);
        goto done;
    }

    /* FirstOrderMinimizer.initialState */
    memcpy(current.x, x, n * sizeof *x);
    status = calculate(&m, current.x, &current.value, current.gradient);
    if (status != DLP_OK) goto done;
    current.adjusted_value = adjust(&m, current.x, current.gradient, current.value, current.adjusted_gradient);
    current.iter = 0;
    double initial_adjusted_value = current.adjusted_value;
    /* FunctionValuesConverged's info starts as [+inf] and keeps the last 20 adjusted values. */
    double function_values[FUNCTION_VALUE_MEMORY + 1];
    int function_value_count = 1;
    function_values[0] = INFINITY;
    int failed_once = 0, search_failed = 0;
    if (!history_push(&h, options, current.iter, current.adjusted_value)) goto no_memory;

    for (;;) {
        /* defaultConvergenceCheck, applied to every state the iterator yields (the initial one too). */
        if (options->max_iter >= 0 && current.iter >= options->max_iter) break;
        if (function_value_count >= 2) {
            double largest = function_values[0];
            for (int i = 1; i < function_value_count; i++)
                if (function_values[i] > largest) largest = function_values[i];
            if (fabs(current.adjusted_value - largest) <= options->tolerance * fabs(initial_adjusted_value)) break;
        }
        double gradient_norm = norm2(current.adjusted_gradient, n);
        double gradient_bound = options->tolerance * fabs(current.adjusted_value);
        if (gradient_norm <= (gradient_bound > 1e-8 ? gradient_bound : 1e-8)) break;
        if (search_failed) break;

        int outcome;
        status = iterate(&m, &current, &next, &outcome);
        if (status != DLP_OK) goto done;
        if (outcome == STEP_OK) {
            state_swap(&current, &next);
            if (function_value_count == FUNCTION_VALUE_MEMORY) {
                memmove(function_values, function_values + 1, (FUNCTION_VALUE_MEMORY - 1) * sizeof(double));
                function_value_count--;
            }
            function_values[function_value_count++] = current.adjusted_value;
            failed_once = 0;
        } else if (!failed_once) {
            failed_once = 1; /* "Failure! Resetting history" */
            m.memory_length = 0;
        } else {
            search_failed = 1; /* "Failure again! Giving up" */
        }
        if (!history_push(&h, options, current.iter, current.adjusted_value)) goto no_memory;
    }
    memcpy(x, current.x, n * sizeof *x);
    *history = h.values, *history_count = h.count;
    h.values = NULL;
    goto done;
no_memory:
    status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "minimize: no memory for the objective history");
done:
    free(h.values);
    state_free(&current), state_free(&next);
    for (int i = 0; m.memory_step && i < capacity; i++) free(m.memory_step[i]);
    for (int i = 0; m.memory_gradient_delta && i < capacity; i++) free(m.memory_gradient_delta[i]);
    free(m.memory_step), free(m.memory_gradient_delta), free(m.rho), free(m.alphas);
    free(m.cache_x), free(m.cache_gradient), free(m.trial_x), free(m.trial_gradient), free(m.direction);
    free(m.adjusted_gradient_scratch);
    return status;
}
