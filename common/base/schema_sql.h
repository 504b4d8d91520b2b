/* schema_sql — the SQLite migrations from schema/sqlite/, embedded at build
 * time by tools/embed-sql.sh.  Migration i takes user_version i to i+1. */
#ifndef ONESHEET_SCHEMA_SQL_H
#define ONESHEET_SCHEMA_SQL_H

#include <stddef.h>

extern const char *const schema_sqlite_migrations[];
extern const size_t schema_sqlite_count;

#endif
