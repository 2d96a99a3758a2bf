#ifndef IEC_CSODIUM_SHIM_H
#define IEC_CSODIUM_SHIM_H
#include <sodium.h>
#endif
