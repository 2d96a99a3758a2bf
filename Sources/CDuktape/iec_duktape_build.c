/*
 * Compiles Debian's amalgamated Duktape 2.7 (duktape-dev, /usr/share/duktape)
 * into this target with the options iec_duk_config.h switches on. Nothing of
 * Duktape's source is copied into the repository, and libduktape.so is not
 * linked: its build cannot interrupt a running script.
 */
/* What duktape.c itself defines before it includes duktape.h: duk_config.h
 * then selects the platform providers (Date, feature macros) for the engine. */
#define DUK_COMPILING_DUKTAPE
#include "iec_duk_config.h"
#include "/usr/share/duktape/duktape.c"

void *iec_duk__heap_udata(duk_context *ctx) {
	return ((duk_hthread *) ctx)->heap->heap_udata;
}

void iec_duk__request_interrupt(duk_context *ctx) {
	duk_hthread *thr = (duk_hthread *) ctx;
	thr->interrupt_init = 1;
	thr->interrupt_counter = 0;
}
