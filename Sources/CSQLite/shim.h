#ifndef IEC_CSQLITE_SHIM_H
#define IEC_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
