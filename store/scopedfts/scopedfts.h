#ifndef SCOPEDFTS_H
#define SCOPEDFTS_H
#include "sqlite3.h"

// SCOPEDFTS_TOKENIZER is the name tables give in tokenize='...'.
#define SCOPEDFTS_TOKENIZER "scoped"
// SCOPEDFTS_SEPARATOR ends the scope marker: "<seq>\x1f<text>".
#define SCOPEDFTS_SEPARATOR '\x1f'
// SCOPEDFTS_TERMS ends the scope marker of a text given as its terms,
// tokenized before: "<seq>\x1e" then the terms fts_terms(text, 0) gives.
#define SCOPEDFTS_TERMS '\x1e'

// scopedfts_idf is bm25's IDF of a phrase found in nHit of nRow rows:
// log((nRow - nHit + 0.5) / (nHit + 0.5)), 1e-6 at or below 0.
double scopedfts_idf(sqlite3_int64 nRow, sqlite3_int64 nHit);

int scopedfts_init(sqlite3 *db, char **pzErrMsg, const void *pApi);
#endif
