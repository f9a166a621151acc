// zlib (Debian: zlib1g-dev), for .gz corpora.
#include <zlib.h>
