// Collection-scoped keyword search in one FTS5 table; see scopedfts.go.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sqlite3.h"
#include "scopedfts.h"

// BM25 is computed without fused multiply-adds, operation by operation,
// as the keyword cache computes it in Go (store/keywords.go), so that
// the two agree to the bit on every architecture: gcc fuses by default
// where the target has FMA (arm64), and clang honours only the pragma.
#pragma STDC FP_CONTRACT OFF
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

// The wrapped tokenizer: FTS5's porter stemmer over unicode61, as each
// collection's own table used before.
static const char *wrapped = "porter";
static const char *wrappedArgs[] = {"unicode61", "remove_diacritics", "2"};

// scopeModule is the tokenizer module registered on one connection: the
// porter tokenizer found there.
typedef struct scopeModule {
	void *porterData;
	fts5_tokenizer porter;
} scopeModule;

// scopeTokenizer is one instance, made for one FTS5 table.
typedef struct scopeTokenizer {
	scopeModule *mod;
	Fts5Tokenizer *inner;
} scopeTokenizer;

static int scopeCreate(void *pCtx, const char **azArg, int nArg, Fts5Tokenizer **ppOut) {
	scopeModule *mod = (scopeModule *)pCtx;
	(void)azArg;
	if (nArg != 0) return SQLITE_ERROR;
	scopeTokenizer *t = sqlite3_malloc(sizeof(*t));
	if (!t) return SQLITE_NOMEM;
	t->mod = mod;
	int rc = mod->porter.xCreate(mod->porterData, wrappedArgs, 3, &t->inner);
	if (rc != SQLITE_OK) {
		sqlite3_free(t);
		return rc;
	}
	*ppOut = (Fts5Tokenizer *)t;
	return SQLITE_OK;
}

static void scopeDelete(Fts5Tokenizer *p) {
	scopeTokenizer *t = (scopeTokenizer *)p;
	t->mod->porter.xDelete(t->inner);
	sqlite3_free(t);
}

// scopeCall carries one xTokenize call's state to its token callback.
typedef struct scopeCall {
	void *ctx;
	int (*xToken)(void *, int, const char *, int, int, int);
	const char *scope; // "<seq>:"
	int nScope;
	int offset; // bytes of the marker before the text the inner tokenizer sees
	char buf[256];
} scopeCall;

static int scopeToken(void *pCtx, int tflags, const char *pToken, int nToken, int iStart, int iEnd) {
	scopeCall *c = (scopeCall *)pCtx;
	int n = c->nScope + nToken;
	char *out = c->buf;
	if (n > (int)sizeof(c->buf)) {
		out = sqlite3_malloc(n);
		if (!out) return SQLITE_NOMEM;
	}
	memcpy(out, c->scope, c->nScope);
	memcpy(out + c->nScope, pToken, nToken);
	int rc = c->xToken(c->ctx, tflags, out, n, iStart + c->offset, iEnd + c->offset);
	if (out != c->buf) sqlite3_free(out);
	return rc;
}

// termsTokenize gives each term of terms, n bytes of zero-ended terms as
// fts_terms(text, 0) writes them, to scopeToken with c: the tokens
// porter gave for the text, in order, tokenized by a request beside the
// writer rather than by the writer. Offsets are the terms' own, which a
// contentless table does not keep.
static int termsTokenize(scopeCall *c, const char *terms, int n) {
	int i = 0;
	while (i < n) {
		const char *z = memchr(terms + i, 0, n - i);
		if (!z) return SQLITE_ERROR; // a term not ended: not fts_terms' output
		int end = (int)(z - terms);
		int rc = scopeToken(c, 0, terms + i, end - i, i, end);
		if (rc != SQLITE_OK) return rc;
		i = end + 1;
	}
	return SQLITE_OK;
}

// scopeTokenize reads the scope marker, the collection's decimal seq and
// the unit separator (0x1f), then tokenizes the rest with porter and puts
// "<seq>:" before every token. After the separator SCOPEDFTS_TERMS (0x1e)
// instead, the rest is the text's terms, tokenized before: only a
// document being indexed may come so. A text without a marker is an
// error, so that nothing is ever indexed or searched outside a
// collection.
static int scopeTokenize(Fts5Tokenizer *p, void *pCtx, int flags, const char *pText, int nText,
                         int (*xToken)(void *, int, const char *, int, int, int)) {
	scopeTokenizer *t = (scopeTokenizer *)p;
	int i = 0;
	while (i < nText && i < 20 && pText[i] >= '0' && pText[i] <= '9') i++;
	int terms = i < nText && pText[i] == SCOPEDFTS_TERMS && flags == FTS5_TOKENIZE_DOCUMENT;
	if (i == 0 || i >= nText || (pText[i] != SCOPEDFTS_SEPARATOR && !terms)) return SQLITE_ERROR;
	scopeCall c;
	c.ctx = pCtx;
	c.xToken = xToken;
	char scope[24];
	memcpy(scope, pText, i);
	scope[i] = ':';
	c.scope = scope;
	c.nScope = i + 1;
	c.offset = i + 1;
	if (terms) return termsTokenize(&c, pText + i + 1, nText - i - 1);
	return t->mod->porter.xTokenize(t->inner, &c, flags, pText + i + 1, nText - i - 1, scopeToken);
}

double scopedfts_idf(sqlite3_int64 nRow, sqlite3_int64 nHit) {
	double idf = log((nRow - nHit + 0.5) / (nHit + 0.5));
	if (idf <= 0.0) idf = 1e-6;
	return idf;
}

// bm25Data is what one query's ranking computes once: each phrase's IDF
// within the collection and the collection's average row length.
typedef struct bm25Data {
	int nPhrase;
	double avgdl;
	double *aIDF;
	double *aFreq;
} bm25Data;

static int countHits(const Fts5ExtensionApi *pApi, Fts5Context *pFts, void *pUserData) {
	(void)pApi;
	(void)pFts;
	(*(sqlite3_int64 *)pUserData)++;
	return SQLITE_OK;
}

// bm25Scoped is FTS5's bm25() with the row count and token total of the
// searched collection, given as its two arguments, in place of the whole
// table's: bm25_scoped(fts_chunks, rows, tokens). The IDF of a phrase
// counts the rows holding it, which with scoped tokens are the
// collection's rows only. With those numbers it computes what bm25()
// computed on a table of the collection alone: the same formula (k1 1.2,
// b 0.75, an IDF of log((N - n + 0.5) / (n + 0.5)), 1e-6 at or below 0),
// in the same order of operations.
static void bm25Scoped(const Fts5ExtensionApi *pApi, Fts5Context *pFts, sqlite3_context *pCtx, int nVal, sqlite3_value **apVal) {
	const double k1 = 1.2;
	const double b = 0.75;
	if (nVal != 2) {
		sqlite3_result_error(pCtx, "bm25_scoped: want the collection's row count and token total", -1);
		return;
	}
	int rc = SQLITE_OK;
	bm25Data *d = (bm25Data *)pApi->xGetAuxdata(pFts, 0);
	if (!d) {
		sqlite3_int64 nRow = sqlite3_value_int64(apVal[0]);
		sqlite3_int64 nToken = sqlite3_value_int64(apVal[1]);
		if (nRow < 1) nRow = 1;
		if (nToken < 1) nToken = 1;
		int nPhrase = pApi->xPhraseCount(pFts);
		d = sqlite3_malloc64(sizeof(*d) + sizeof(double) * 2 * nPhrase);
		if (!d) {
			sqlite3_result_error_nomem(pCtx);
			return;
		}
		memset(d, 0, sizeof(*d) + sizeof(double) * 2 * nPhrase);
		d->nPhrase = nPhrase;
		d->aIDF = (double *)&d[1];
		d->aFreq = &d->aIDF[nPhrase];
		d->avgdl = (double)nToken / (double)nRow;
		for (int i = 0; rc == SQLITE_OK && i < nPhrase; i++) {
			sqlite3_int64 nHit = 0;
			rc = pApi->xQueryPhrase(pFts, i, (void *)&nHit, countHits);
			if (rc == SQLITE_OK) d->aIDF[i] = scopedfts_idf(nRow, nHit);
		}
		if (rc != SQLITE_OK) {
			sqlite3_free(d);
			sqlite3_result_error_code(pCtx, rc);
			return;
		}
		rc = pApi->xSetAuxdata(pFts, d, sqlite3_free);
		if (rc != SQLITE_OK) {
			sqlite3_result_error_code(pCtx, rc);
			return;
		}
	}
	memset(d->aFreq, 0, sizeof(double) * d->nPhrase);
	int nInst = 0;
	rc = pApi->xInstCount(pFts, &nInst);
	for (int i = 0; rc == SQLITE_OK && i < nInst; i++) {
		int ip, ic, io;
		rc = pApi->xInst(pFts, i, &ip, &ic, &io);
		if (rc == SQLITE_OK) d->aFreq[ip] += 1.0;
	}
	double D = 0.0;
	if (rc == SQLITE_OK) {
		int nTok;
		rc = pApi->xColumnSize(pFts, -1, &nTok);
		D = (double)nTok;
	}
	double score = 0.0;
	for (int i = 0; rc == SQLITE_OK && i < d->nPhrase; i++) {
		score += d->aIDF[i] * ((d->aFreq[i] * (k1 + 1.0)) / (d->aFreq[i] + k1 * (1 - b + b * D / d->avgdl)));
	}
	if (rc == SQLITE_OK) {
		sqlite3_result_double(pCtx, -1.0 * score);
	} else {
		sqlite3_result_error_code(pCtx, rc);
	}
}

// docLen decodes an FTS5 %_docsize blob of a one-column table: the row's
// token count as an SQLite varint.
static void docLen(sqlite3_context *pCtx, int nVal, sqlite3_value **apVal) {
	(void)nVal;
	const unsigned char *p = sqlite3_value_blob(apVal[0]);
	int n = sqlite3_value_bytes(apVal[0]);
	sqlite3_uint64 v = 0;
	int i = 0;
	for (; i < n && i < 8; i++) {
		v = (v << 7) | (p[i] & 0x7f);
		if (!(p[i] & 0x80)) break;
	}
	if (i == 8 && i < n) v = (v << 8) | p[i];
	sqlite3_result_int64(pCtx, (sqlite3_int64)v);
}

// termsFunc is fts_terms' state on one connection: a porter tokenizer
// made as the scoped tokenizer makes its inner one.
typedef struct termsFunc {
	fts5_tokenizer porter;
	Fts5Tokenizer *inner;
} termsFunc;

static void termsDestroy(void *p) {
	termsFunc *f = (termsFunc *)p;
	f->porter.xDelete(f->inner);
	sqlite3_free(f);
}

// termsOut collects one fts_terms call's tokens.
typedef struct termsOut {
	char *p;
	sqlite3_int64 n, cap;
	sqlite3_int64 limit; // the connection's largest blob
	int max;             // FTS5 cuts a scoped token at FTS5_MAX_TOKEN_SIZE bytes
} termsOut;

// FTS5_MAX_TOKEN_SIZE is FTS5's (fts5Int.h): longer tokens are cut to it.
#define FTS5_MAX_TOKEN_SIZE 32768

// reserve makes room for n more bytes in o.
static int reserve(termsOut *o, sqlite3_int64 n) {
	if (o->n + n <= o->cap) return SQLITE_OK;
	if (o->n + n > o->limit) return SQLITE_TOOBIG;
	sqlite3_int64 cap = (o->n + n) * 2;
	if (cap > o->limit) cap = o->limit;
	char *p = sqlite3_realloc64(o->p, cap);
	if (!p) return SQLITE_NOMEM;
	o->p = p;
	o->cap = cap;
	return SQLITE_OK;
}

static void putUint32(char *p, unsigned int v) {
	p[0] = (char)v;
	p[1] = (char)(v >> 8);
	p[2] = (char)(v >> 16);
	p[3] = (char)(v >> 24);
}

static unsigned int getUint32(const unsigned char *p) {
	return (unsigned int)p[0] | (unsigned int)p[1] << 8 | (unsigned int)p[2] << 16 | (unsigned int)p[3] << 24;
}

static int termsToken(void *pCtx, int tflags, const char *pToken, int nToken, int iStart, int iEnd) {
	termsOut *o = (termsOut *)pCtx;
	(void)iStart;
	(void)iEnd;
	// FTS5 indexes a colocated token without counting it in the row's
	// length; porter makes none, and the keyword cache counts every token.
	if (tflags & FTS5_TOKEN_COLOCATED) return SQLITE_ERROR;
	if (nToken > o->max) nToken = o->max;
	int rc = reserve(o, nToken + 1);
	if (rc != SQLITE_OK) return rc;
	memcpy(o->p + o->n, pToken, nToken);
	o->p[o->n + nToken] = 0;
	o->n += nToken + 1;
	return SQLITE_OK;
}

// resultTerms makes o, whose tokenizing ended with rc, the result of
// pCtx, and frees it on error.
static void resultTerms(sqlite3_context *pCtx, termsOut *o, int rc) {
	if (rc != SQLITE_OK) {
		sqlite3_free(o->p);
		sqlite3_result_error_code(pCtx, rc);
		return;
	}
	if (!o->p) {
		sqlite3_result_zeroblob(pCtx, 0);
		return;
	}
	sqlite3_result_blob64(pCtx, o->p, o->n, sqlite3_free);
}

// ftsTerms is fts_terms(text, scope): the tokens the scoped tokenizer
// indexes for text, without their scope prefix of scope bytes ("<seq>:"),
// each ended by a zero byte, in order. The keyword cache
// (store/keywords.go) builds its postings from them.
static void ftsTerms(sqlite3_context *pCtx, int nVal, sqlite3_value **apVal) {
	(void)nVal;
	termsFunc *f = (termsFunc *)sqlite3_user_data(pCtx);
	const char *text = (const char *)sqlite3_value_text(apVal[0]);
	int n = sqlite3_value_bytes(apVal[0]);
	if (!text) return;
	termsOut o = {0, 0, 0, sqlite3_limit(sqlite3_context_db_handle(pCtx), SQLITE_LIMIT_LENGTH, -1),
	              FTS5_MAX_TOKEN_SIZE - sqlite3_value_int(apVal[1])};
	if (o.max < 1) {
		sqlite3_result_error(pCtx, "fts_terms: scope too long", -1);
		return;
	}
	resultTerms(pCtx, &o, f->porter.xTokenize(f->inner, &o, FTS5_TOKENIZE_DOCUMENT, text, n, termsToken));
}

// ftsTermsBatch is fts_terms_batch(texts): fts_terms(text, 0) of each
// text of a batch in one call, each text given and each result returned
// as a little-endian uint32 length and its bytes. A bulk insert tokenizes
// a thousand chunks so, beside the writer: with a statement step and a
// copy a row, fts_terms took half as long again as the tokenizing.
static void ftsTermsBatch(sqlite3_context *pCtx, int nVal, sqlite3_value **apVal) {
	(void)nVal;
	termsFunc *f = (termsFunc *)sqlite3_user_data(pCtx);
	const unsigned char *in = sqlite3_value_blob(apVal[0]);
	sqlite3_int64 n = sqlite3_value_bytes(apVal[0]);
	termsOut o = {0, 0, 0, sqlite3_limit(sqlite3_context_db_handle(pCtx), SQLITE_LIMIT_LENGTH, -1), FTS5_MAX_TOKEN_SIZE};
	int rc = SQLITE_OK;
	sqlite3_int64 i = 0;
	while (rc == SQLITE_OK && i < n) {
		if (n - i < 4 || getUint32(in + i) > n - i - 4 || getUint32(in + i) > 0x7fffffff) {
			sqlite3_free(o.p);
			sqlite3_result_error(pCtx, "fts_terms_batch: texts malformed", -1);
			return;
		}
		unsigned int len = getUint32(in + i);
		rc = reserve(&o, 4);
		if (rc != SQLITE_OK) break;
		sqlite3_int64 at = o.n;
		o.n += 4;
		rc = f->porter.xTokenize(f->inner, &o, FTS5_TOKENIZE_DOCUMENT, (const char *)in + i + 4, (int)len, termsToken);
		if (rc == SQLITE_OK) putUint32(o.p + at, (unsigned int)(o.n - at - 4));
		i += 4 + (sqlite3_int64)len;
	}
	resultTerms(pCtx, &o, rc);
}

// registerTerms installs fts_terms on db, with its own instance of porter.
static int registerTerms(sqlite3 *db, scopeModule *mod) {
	termsFunc *f = sqlite3_malloc(sizeof(*f));
	if (!f) return SQLITE_NOMEM;
	f->porter = mod->porter;
	int rc = f->porter.xCreate(mod->porterData, wrappedArgs, 3, &f->inner);
	if (rc != SQLITE_OK) {
		sqlite3_free(f);
		return rc;
	}
	rc = sqlite3_create_function_v2(db, "fts_terms", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, f, ftsTerms, 0, 0,
	                                termsDestroy);
	if (rc != SQLITE_OK) return rc;
	return sqlite3_create_function_v2(db, "fts_terms_batch", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, f, ftsTermsBatch, 0, 0, 0);
}

static fts5_api *fts5API(sqlite3 *db) {
	fts5_api *api = 0;
	sqlite3_stmt *st = 0;
	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, 0) == SQLITE_OK) {
		sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", 0);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return api;
}

int scopedfts_init(sqlite3 *db, char **pzErrMsg, const void *pApi) {
	(void)pApi;
	// Finding FTS5 prepares a statement, which reads the schema and so
	// waits for another connection's lock: one closing as the database's
	// last checkpoints it under an exclusive lock. The connection opening
	// has no busy timeout yet (go-sqlite3 sets its DSN's after the open
	// that runs this), and failed at once with "database is locked".
	sqlite3_busy_timeout(db, 10000);
	fts5_api *api = fts5API(db);
	if (!api) {
		*pzErrMsg = sqlite3_mprintf("scopedfts: cannot find FTS5: %s", sqlite3_errmsg(db));
		return SQLITE_ERROR;
	}
	scopeModule *mod = sqlite3_malloc(sizeof(*mod));
	if (!mod) return SQLITE_NOMEM;
	int rc = api->xFindTokenizer(api, wrapped, &mod->porterData, &mod->porter);
	if (rc == SQLITE_OK) {
		fts5_tokenizer tok = {scopeCreate, scopeDelete, scopeTokenize};
		rc = api->xCreateTokenizer(api, SCOPEDFTS_TOKENIZER, mod, &tok, sqlite3_free);
	} else {
		sqlite3_free(mod);
	}
	if (rc == SQLITE_OK) rc = api->xCreateFunction(api, "bm25_scoped", 0, bm25Scoped, 0);
	if (rc == SQLITE_OK) {
		rc = sqlite3_create_function(db, "fts_doclen", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, 0, docLen, 0, 0);
	}
	if (rc == SQLITE_OK) rc = registerTerms(db, mod);
	if (rc != SQLITE_OK) *pzErrMsg = sqlite3_mprintf("scopedfts: registering: %s", sqlite3_errstr(rc));
	return rc;
}
