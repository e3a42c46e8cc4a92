/* test_zoo_synth_vgg.c: test_zoo_synth.c's checks for VGG16 and VGG19 (the
 * heaviest models, ~15 and ~20 GFLOP per image) as a suite of their own. */
#define ZOO_SYNTH_MODELS "vgg16,vgg19"
#define ZOO_SYNTH_SUITE "zoo_synth_vgg"
#include "unit/test_zoo_synth.c"
