// OpenBLAS's CBLAS interface plus its thread-count controls (Debian: libopenblas-dev).
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
