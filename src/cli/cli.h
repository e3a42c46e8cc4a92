/* cli.h: what the dlp subcommands share: exit codes, error printing, the
 * command table. The library never prints; the CLI decides what to say. */
#ifndef DLP_CLI_CLI_H
#define DLP_CLI_CLI_H

#include <stdio.h>

#include "dlp/dlp.h"

/* Exit codes, documented in README.md ("Exit codes"). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 1,        /* bad option or argument */
    CLI_EXIT_DATA = 2,         /* input data unreadable or invalid */
    CLI_EXIT_MODEL = 3,        /* model or weights refused */
    CLI_EXIT_DEVICE = 4,       /* no usable device for what was asked */
    CLI_EXIT_FAILED_ROWS = 5   /* finished, but some rows carry errors */
};

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} cli_command;

/* Maps a library status to the documented exit code. */
int cli_exit_code(dlp_status status);
/* Prints "dlp COMMAND: message" to stderr. */
void cli_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "dlp COMMAND: <dlp_last_error()>" and returns cli_exit_code(status). */
int cli_fail(const char *command, dlp_status status);
/* Prints the usage error and "Try 'dlp COMMAND --help'." and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether an output file can be written where it is asked for (its folder
 * takes a new file, made and removed at once, and the path is not itself a
 * folder): checked before the work, so that hours of featurizing are not lost
 * to a mistyped -o. NULL and "-" (standard output) pass. DLP_ERR_IO naming the
 * path otherwise. */
dlp_status cli_check_output_path(const char *path);
/* Whether -o OUTPUT is written as JSON Lines (*jsonl true) or .npy: --format (npy or jsonl) when given, else
 * OUTPUT's extension. Anything else is a usage error: CLI_EXIT_USAGE after the message, else CLI_EXIT_OK. */
int cli_npy_or_jsonl(const char *command, const char *output, const char *format, bool *jsonl);
/* Where the logistic regression's objective runs, from auto|cpu|cuda|cuda:N (train --device, fit --train-device):
 * 1 and params->device (and cuda_device) set, or 0 for anything else. auto: CUDA when this build has it and a
 * device answers, else the CPU. */
int cli_parse_logreg_device(const char *text, dlp_logreg_params *params);

/* Strict number parsing for options: the whole string must be a number in range. */
int cli_parse_int(const char *text, long min, long max, long *value);
int cli_parse_double(const char *text, double *value);

int cli_devices(int argc, char **argv);
int cli_inspect(int argc, char **argv);
int cli_models(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_featurize(int argc, char **argv);
int cli_fit(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_evaluate(int argc, char **argv);
int cli_apply(int argc, char **argv);
int cli_classify(int argc, char **argv);

#endif
