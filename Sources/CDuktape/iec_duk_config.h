/*
 * The Duktape configuration every translation unit of this target uses.
 *
 * Debian's duktape-dev ships the amalgamated source in /usr/share/duktape; its
 * duk_config.h leaves DUK_USE_INTERRUPT_COUNTER, DUK_USE_EXEC_TIMEOUT_CHECK and
 * DUK_USE_NATIVE_STACK_CHECK undefined, so a script could neither be stopped
 * nor kept off the end of the C stack. We include that duk_config.h first (its
 * include guard DUK_CONFIG_H_INCLUDED makes duktape.h skip its own inclusion),
 * then switch those options on, then include duktape.h. iec_duktape_build.c
 * compiles duktape.c after this header, and iec_duktape.c uses the API through
 * it, so both see one configuration.
 *
 * Private to the target: Swift never sees Duktape's API.
 */
#ifndef IEC_DUK_CONFIG_H
#define IEC_DUK_CONFIG_H

#include <stddef.h>

/* Every memcmp of the engine (string search, comparison, interning) goes
 * through a hook that watches the deadline: String.prototype.indexOf and
 * friends are naive O(n*m) searches that run no bytecode, recurse nowhere and
 * allocate nothing. Must precede duk_config.h, which only sets a default. */
int iec_duk_memcmp(const void *a, const void *b, size_t n);
#define DUK_MEMCMP iec_duk_memcmp

#include "/usr/share/duktape/duk_config.h"

/* Count executed bytecode instructions and call the hook below every
 * DUK_HTHREAD_INTCTR_DEFAULT (256 Ki) of them. */
#define DUK_USE_INTERRUPT_COUNTER
/* Nonzero = throw a RangeError that the script cannot usefully catch:
 * Duktape keeps throwing it until the outermost protected call returns. */
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) iec_duk_exec_timeout_check(udata)
/* Expanded only inside duk_native_stack_check(duk_hthread *thr), called on
 * every native recursion (calls, JSON, CBOR, RegExp matching). Nonzero =
 * throw a RangeError. `thr` is that function's parameter. */
#define DUK_USE_NATIVE_STACK_CHECK() iec_duk_native_stack_check((void *) thr)
/* The compiler counts its recursion but never checks the C stack, and at its
 * default limit of 2500 it needs about 1 MiB of it (measured: up to ~420 bytes
 * a level with clang -O2 on x86_64). So each compilation (the script, eval,
 * new Function) gets a limit that fits the stack left on this thread. */
#undef DUK_USE_COMPILER_RECLIMIT
#define DUK_USE_COMPILER_RECLIMIT iec_duk_compiler_reclimit()

#include "/usr/share/duktape/duktape.h"

/* Defined in iec_duktape.c. `udata` is the heap's iec_duk_heap. */
int iec_duk_exec_timeout_check(void *udata);
/* Defined in iec_duktape.c. `thr` is the running duk_hthread. */
int iec_duk_native_stack_check(void *thr);
/* Defined in iec_duktape.c: at most 2500, fewer when the stack is short. */
int iec_duk_compiler_reclimit(void);

/* Defined in iec_duktape_build.c, which can see Duktape's internals. */
/* The heap_udata of the heap `ctx` belongs to (Duktape has no public getter). */
void *iec_duk__heap_udata(duk_context *ctx);
/* Makes the executor run its interrupt (and so the timeout hook) before the
 * next instruction, as duk_debugger_pause() does. */
void iec_duk__request_interrupt(duk_context *ctx);

#endif
