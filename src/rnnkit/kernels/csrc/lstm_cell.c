/* rnnkit's fused LSTM step kernels, float and double (see lstm_cell.h).  Plain C, no torch
 * headers: rnnkit.kernels.fused compiles it on first use and calls it through ctypes. */
#include <math.h>

#define real float
#define SFX(name) name##_f32
#define EXP expf
/* tanh through expf: glibc's vectorised tanhf costs ~1.6x its expf (measured, AVX2); the
 * absolute error, ~1e-7 near 0, is float rounding (torch's CPU loop does the same) */
#define TANH(v) (2.0f / (1.0f + expf(-2.0f * (v))) - 1.0f)
#define SQRT sqrtf
#include "lstm_cell.h"
#undef real
#undef SFX
#undef EXP
#undef TANH
#undef SQRT

#define real double
#define SFX(name) name##_f64
#define EXP exp
#define TANH tanh
#define SQRT sqrt
#include "lstm_cell.h"

int rk_abi_version(void) { return 2; }
