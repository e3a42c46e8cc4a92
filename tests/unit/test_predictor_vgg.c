/* test_predictor_vgg.c: test_predictor.c for VGG16 and VGG19 (a suite of
 * their own keeps each under a minute on 2 cores). */
#define PREDICTOR_MODELS "vgg16,vgg19"
#define PREDICTOR_SUITE "predictor_vgg"
#include "test_predictor.c"
