#ifndef IEC_CSQLITE_SHIM_H
#define IEC_CSQLITE_SHIM_H
#include <sqlite3.h>

/* Macros and variadic functions that do not import into Swift, wrapped in C
   (STYLE habit 2). Only StoreSQLite imports this module. */

/* Binds UTF-8 text that SQLite copies at once (SQLITE_TRANSIENT), so the
   caller's buffer need not outlive the call. */
static inline int iec_sqlite3_bind_text_copy(sqlite3_stmt *statement, int index, const char *text, int length) {
    return sqlite3_bind_text(statement, index, text, length, SQLITE_TRANSIENT);
}

/* SQLITE_DBCONFIG_DEFENSIVE: refuses writes that could corrupt the file
   (writable_schema and the like), whatever SQL is run. */
static inline int iec_sqlite3_enable_defensive(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)0);
}

#endif
