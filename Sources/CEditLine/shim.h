// libedit through its readline-compatible API (Debian: libedit-dev), which avoids the
// variadic el_set/history calls Swift cannot import.
#include <stdio.h>
#include <editline/readline.h>
