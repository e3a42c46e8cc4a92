/* logreg_fixtures.h: the logistic-regression fixture arrays (tests/fixtures/logreg,
 * written by tests/oracle/spark_oracle.py) and a small edge-case matrix, for the
 * suites that need the raw arrays rather than spark_logreg.json's cases. */
#ifndef DLP_TESTS_LOGREG_FIXTURES_H
#define DLP_TESTS_LOGREG_FIXTURES_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads bytes of tests/fixtures/logreg/name; exits (the suite fails) if it cannot. */
static inline void *logreg_fixture_read(const char *fixtures, const char *name, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/logreg/%s", fixtures, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    void *data = malloc(bytes);
    if (!data || fread(data, 1, bytes, f) != bytes) {
        fprintf(stderr, "%s: short file\n", path);
        exit(1);
    }
    fclose(f);
    return data;
}

enum { LOGREG_EDGE_ROWS = 1000, LOGREG_EDGE_COLS = 9 };

/* 1000 x 9 columns that stress the statistics: constant; constant except in
 * rows of weight 0; a large offset with a tiny spread (1e4 + 1e-3 noise);
 * all zeros; values near 1e-30; +0.0 / -0.0; noise; one row different;
 * small integers. Weights: 1, with every 7th row 0. Labels: row % 3. */
static inline void logreg_edge_matrix(float *x, double *weights, double *labels)
{
    unsigned state = 12345u;
    for (size_t i = 0; i < LOGREG_EDGE_ROWS; i++) {
        float *row = x + i * LOGREG_EDGE_COLS;
        double noise[2];
        for (int n = 0; n < 2; n++) {
            state = state * 1664525u + 1013904223u;
            noise[n] = (double)(state >> 8) / 16777216.0 - 0.5;
        }
        weights[i] = i % 7 == 3 ? 0.0 : 1.0;
        labels[i] = (double)(i % 3);
        row[0] = 3.5f;
        row[1] = weights[i] > 0 ? -2.25f : 100.0f;
        row[2] = (float)(1e4 + 1e-3 * noise[0]);
        row[3] = 0.0f;
        row[4] = (float)(1e-30 * noise[1]);
        row[5] = i % 2 ? -0.0f : 0.0f;
        row[6] = (float)(4.0 * noise[0] + noise[1]);
        row[7] = i == 617 ? 1.0f : 0.5f;
        row[8] = (float)(i % 5);
    }
}

/* |actual - expected| <= tolerance * |expected| (so 0 must be met exactly). */
static inline double logreg_relative_error(double actual, double expected)
{
    if (actual == expected) return 0.0;
    return expected == 0.0 ? INFINITY : fabs(actual - expected) / fabs(expected);
}

#endif
