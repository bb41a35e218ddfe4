#ifndef SCOPEDFTS_H
#define SCOPEDFTS_H
#include "sqlite3.h"

// SCOPEDFTS_TOKENIZER is the name tables give in tokenize='...'.
#define SCOPEDFTS_TOKENIZER "scoped"
// SCOPEDFTS_SEPARATOR ends the scope marker: "<seq>\x1f<text>".
#define SCOPEDFTS_SEPARATOR '\x1f'

int scopedfts_init(sqlite3 *db, char **pzErrMsg, const void *pApi);
#endif
