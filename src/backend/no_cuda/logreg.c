/* logreg.c (no_cuda): the CUDA logistic-regression objective when libdlp was built without nvcc. */
#include "core/status.h"
#include "ml/logreg_objective.h"

dlp_status dlp_logreg_objective_cuda_create(const dlp_logreg_data *data, dlp_logreg_objective **objective)
{
    (void)data;
    *objective = NULL;
    return dlp_fail(DLP_ERR_DEVICE, "logistic regression on cuda: this dlp was built without CUDA "
                                    "(nvcc was not found at build time)");
}
