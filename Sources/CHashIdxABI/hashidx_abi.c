// The C interface is declared in include/hashidx.h and implemented in Swift (the HashIdxC
// target, @_cdecl); this file only makes the header a C module that the Swift side imports,
// so both sides use the same struct layouts.
#include "hashidx.h"
