/* cmd_train.c: `dlp train`: fits Spark's LogisticRegression on a feature file
 * (.npy pair or LibSVM) and writes a pipeline directory (DESIGN.md §6). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/ml_data.h"
#include "cli/progress.h"
#include "core/status.h"

static const char usage[] =
    "Usage: dlp train (--features X.npy --labels y.npy | --libsvm FILE) -o PIPELINE_DIR [options]\n\n"
    "Fits a logistic regression with the semantics of Spark 3.5 MLlib's LogisticRegression\n"
    "(L-BFGS, OWL-QN when elastic-net > 0) and saves it as a pipeline directory\n"
    "(pipeline.json + logreg.safetensors). Labels are integers 0..K-1 (float .npy of shape (n,)\n"
    "or (n, 1)); features float32 or float64 .npy of shape (n, d).\n\n"
    "  --max-iter N            Spark maxIter (100)\n"
    "  --reg X                 Spark regParam (0)\n"
    "  --elastic-net X         Spark elasticNetParam, 0 = L2 .. 1 = L1 (0)\n"
    "  --tol X                 Spark tol (1e-6)\n"
    "  --standardization B     true|false (true)\n"
    "  --fit-intercept B       true|false (true)\n"
    "  --family F              auto|binomial|multinomial (auto)\n"
    "  --device D              auto|cpu|cuda[:N]: where the objective is evaluated (auto: a GPU if one works)\n"
    "  --threads N             CPU threads (0 = all)\n"
    "  --json                  print the summary as one JSON object\n"
    "  --quiet                 no progress bar (drawn over the iterations only when stderr is a terminal)\n"
    "  -o, --output DIR        the pipeline directory (replaced if it is a pipeline)\n\n"
    "Refused with the file, row and column named (exit 2): NaN or infinite features, labels\n"
    "that are not non-negative integers, no rows, a labels/features row count mismatch.\n"
    "When every label is the same, Spark does not train: coefficients 0 and an infinite\n"
    "intercept for that class, so every prediction is that label; dlp does the same and says so.\n\n"
    "Exit codes: 0 trained, 1 usage, 2 input data refused, 4 --device cuda unusable.\n";

typedef struct train_options {
    const char *features, *labels, *libsvm, *output;
    int as_json, quiet;
    dlp_logreg_params params;
} train_options;

static int parse_bool(const char *text, int *value)
{
    if (!strcmp(text, "true")) return *value = 1, 1;
    if (!strcmp(text, "false")) return *value = 0, 1;
    return 0;
}

static int parse_option(int option, const char *arg, train_options *o)
{
    long n = 0;
    dlp_logreg_params *p = &o->params;
    switch (option) {
    case 'f': o->features = arg; return 1;
    case 'l': o->labels = arg; return 1;
    case 's': o->libsvm = arg; return 1;
    case 'o': o->output = arg; return 1;
    case 'j': o->as_json = 1; return 1;
    case 'q': o->quiet = 1; return 1;
    case 'm': return cli_parse_int(arg, 0, 1000000000, &n) ? (p->max_iter = (int)n, 1) : 0;
    case 'r': return cli_parse_double(arg, &p->reg_param) && p->reg_param >= 0;
    case 'e': return cli_parse_double(arg, &p->elastic_net_param) && p->elastic_net_param >= 0 && p->elastic_net_param <= 1;
    case 't': return cli_parse_double(arg, &p->tol) && p->tol >= 0;
    case 'S': return parse_bool(arg, &p->standardization);
    case 'I': return parse_bool(arg, &p->fit_intercept);
    case 'F':
        if (!strcmp(arg, "auto")) return p->family = DLP_FAMILY_AUTO, 1;
        if (!strcmp(arg, "binomial")) return p->family = DLP_FAMILY_BINOMIAL, 1;
        if (!strcmp(arg, "multinomial")) return p->family = DLP_FAMILY_MULTINOMIAL, 1;
        return 0;
    case 'd': return cli_parse_logreg_device(arg, p);
    case 'T': return cli_parse_int(arg, 0, 4096, &n) ? (p->threads = (int)n, 1) : 0;
    default: return 0;
    }
}

static void print_summary(const train_options *o, const dlp_pipeline *pipeline, const cli_ml_data *data,
                          const dlp_multiclass_metrics *metrics, double seconds)
{
    const dlp_logreg_model *m = dlp_pipeline_model(pipeline);
    size_t count = 0;
    const double *history = dlp_logreg_objective_history(m, &count);
    double first = count ? history[0] : 0, last = count ? history[count - 1] : 0;
    if (o->as_json) {
        char prefix[512];
        snprintf(prefix, sizeof prefix,
                 "\"pipeline\":\"%s\",\"rows\":%zu,\"features\":%zu,\"classes\":%zu,\"iterations\":%zu,"
                 "\"objective_initial\":%.17g,\"objective_final\":%.17g,\"seconds\":%.6f,",
                 o->output, data->rows, data->cols, dlp_logreg_class_count(m), dlp_logreg_iterations(m), first, last,
                 seconds);
        cli_print_metrics(metrics, 1, prefix);
        return;
    }
    printf("trained on %zu rows x %zu features, %zu classes (%s) in %.3f s\n", data->rows, data->cols,
           dlp_logreg_class_count(m), dlp_logreg_is_multinomial(m) ? "multinomial" : "binomial", seconds);
    if (count <= 1)
        printf("no optimization: every label is the same; as Spark, coefficients 0 and an infinite intercept\n");
    else
        printf("objective: %.10g -> %.10g after %zu iterations\n", first, last, dlp_logreg_iterations(m));
    printf("training metrics:\n");
    cli_print_metrics(metrics, 0, "");
    printf("pipeline written to %s\n", o->output);
}

static int train_and_save(const train_options *o, const cli_ml_data *data)
{
    dlp_pipeline *pipeline = NULL;
    dlp_status status = dlp_pipeline_create(NULL, &pipeline);
    cli_progress progress;
    dlp_logreg_params params = o->params;
    params.progress = cli_progress_logreg;
    params.progress_context = &progress;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (status == DLP_OK) {
        cli_progress_start_logreg(&progress, params.max_iter, !o->quiet);
        status = dlp_pipeline_fit(pipeline, &params, data->features, data->rows, data->cols, data->labels, NULL);
        cli_progress_finish(&progress);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double *prediction = status == DLP_OK ? malloc(data->rows * sizeof *prediction) : NULL;
    if (status == DLP_OK && !prediction) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory for %zu rows", data->rows);
    if (status == DLP_OK)
        status = dlp_pipeline_transform(pipeline, data->features, data->rows, data->cols, NULL, NULL, prediction);
    dlp_multiclass_metrics *metrics = NULL;
    if (status == DLP_OK)
        status = dlp_evaluate_multiclass(data->labels, prediction, NULL, data->rows, NULL, 0, 1.0, &metrics);
    if (status == DLP_OK) status = dlp_pipeline_save(pipeline, o->output);
    if (status == DLP_OK)
        print_summary(o, pipeline, data, metrics,
                      (double)(end.tv_sec - start.tv_sec) + 1e-9 * (double)(end.tv_nsec - start.tv_nsec));
    int code = status == DLP_OK ? CLI_EXIT_OK : cli_fail("train", status);
    dlp_multiclass_metrics_destroy(metrics);
    free(prediction);
    dlp_pipeline_destroy(pipeline);
    return code;
}

int cli_train(int argc, char **argv)
{
    static const struct option options[] = {
        {"features", required_argument, NULL, 'f'}, {"labels", required_argument, NULL, 'l'},
        {"libsvm", required_argument, NULL, 's'},   {"output", required_argument, NULL, 'o'},
        {"max-iter", required_argument, NULL, 'm'}, {"reg", required_argument, NULL, 'r'},
        {"elastic-net", required_argument, NULL, 'e'}, {"tol", required_argument, NULL, 't'},
        {"standardization", required_argument, NULL, 'S'}, {"fit-intercept", required_argument, NULL, 'I'},
        {"family", required_argument, NULL, 'F'},   {"device", required_argument, NULL, 'd'},
        {"threads", required_argument, NULL, 'T'},  {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},           {0}};
    train_options o = {0};
    dlp_logreg_params_default(&o.params);
    int option, index = -1;
    optind = 1;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "ho:", options, &index)) != -1) {
        if (option == 'h') return fputs(usage, stdout), CLI_EXIT_OK;
        if (option == '?' || option == ':')
            return cli_usage_error("train", "unknown option or missing value: %s", argv[optind - 1]);
        if (!parse_option(option, optarg, &o)) 
            return cli_usage_error("train", "bad value for --%s: '%s'", index >= 0 ? options[index].name : "?", optarg);
        index = -1;
    }
    if (optind != argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!o.output) return cli_usage_error("train", "-o PIPELINE_DIR is required");
    if (!o.libsvm == !(o.features && o.labels) || (o.libsvm && (o.features || o.labels)))
        return cli_usage_error("train", "give --features X.npy with --labels y.npy, or --libsvm FILE");
    cli_ml_data data;
    dlp_status status = cli_ml_data_load(o.features, o.labels, o.libsvm, 0, &data);
    if (status != DLP_OK) return cli_fail("train", status);
    int code = train_and_save(&o, &data);
    cli_ml_data_free(&data);
    return code;
}
