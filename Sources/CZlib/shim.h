#ifndef IEC_CZLIB_SHIM_H
#define IEC_CZLIB_SHIM_H
#include <zlib.h>
#endif
