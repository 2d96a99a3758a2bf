/*
 * iec_duktape: the sandbox around Duktape that include/iec_duktape.h declares.
 *
 * The sandbox (see iec__prepare_sandbox): core Duktape has no I/O at all (no
 * print, alert, require, module loader, file or socket access). The global
 * `Duktape` object is replaced by a frozen object holding only `version`,
 * `env`, `enc` and `dec` (hex/base64/JX/JC coding). Gone with the original:
 * `Duktape.fin` (finalizers: script code the garbage collector would run at
 * arbitrary points, even while the host reads the outputs),
 * `errCreate`/`errThrow` (hooks that would run script code while an error,
 * including the timeout, is being thrown), `Thread` (coroutines), `act`,
 * `info`, `gc`, `compact`, `Pointer`. Everything else is Duktape's standard
 * library: ES5.1 plus the parts of ES2015+ Duktape has (Proxy, Reflect,
 * Symbol, typed arrays, ...), a Node.js-style Buffer (memory only),
 * TextEncoder/TextDecoder, CBOR, performance.now,
 * Math.random (Duktape's own PRNG) and Date (the system clock).
 *
 * Strings: Duktape keeps strings as (extended) CESU-8, so a character outside
 * the BMP made by the script is two 3-byte surrogates, and CBOR.decode can make
 * strings that are not UTF-8 at all. Everything handed back to the host passes
 * through iec__sanitize_utf8, which joins surrogate pairs into 4-byte UTF-8 and
 * replaces lone surrogates and invalid bytes with U+FFFD.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include "iec_duk_config.h"
#include "iec_duktape.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IEC_DUK_MESSAGE_MAX 2048
/* How many native-recursion checks, allocations or memcmp calls pass between
 * two clock readings (a memcmp of IEC_DUK_CLOCK_BYTES or more reads it at
 * once). */
#define IEC_DUK_CLOCK_EVERY 64
#define IEC_DUK_CLOCK_BYTES 65536
/* How long past the deadline a script may take to unwind through the normal
 * RangeError before its heap is abandoned (see iec__poll_hard). */
#define IEC_DUK_HARD_GRACE_NS (20 * 1000000LL)

/*
 * Memory: every block carries this header, and all live blocks of a heap form
 * a list, so the limit can be enforced on realloc and a poisoned heap can be
 * freed without Duktape. 32 bytes keep malloc's 16-byte alignment.
 */
typedef struct iec_duk_block {
	struct iec_duk_block *prev;
	struct iec_duk_block *next;
	size_t size; /* payload bytes */
	size_t reserved;
} iec_duk_block;

struct iec_duk_host_reply {
	char *bytes; /* NUL-terminated */
	size_t len;
	size_t cap;
};

struct iec_duk_heap {
	duk_context *ctx;

	/* Allocator. */
	iec_duk_block *blocks;
	size_t limit;
	size_t used;
	size_t peak;
	int limit_hit;

	/* Deadline (CLOCK_MONOTONIC, ns; 0 = none). */
	int64_t deadline_ns;
	int timed_out;
	int aborted;
	unsigned clock_countdown; /* native-recursion hook */
	unsigned poll_countdown;  /* allocator and memcmp hooks */

	/* Fatal handler: the setjmp of the iec_duk_* call running Duktape. */
	jmp_buf fatal_jmp;
	int fatal_armed;
	int poisoned;

	/* Host functions. */
	iec_duk_host_callback host_callback;
	void *host_context;
	size_t host_max_args;
	struct iec_duk_host_reply reply;

	/* Results. */
	char message[IEC_DUK_MESSAGE_MAX];
	int line;
	char *scratch;
	size_t scratch_cap;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static int64_t iec__now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + (int64_t) ts.tv_nsec;
}

static void iec__set_message(iec_duk_heap *h, const char *text, size_t len) {
	if (len >= IEC_DUK_MESSAGE_MAX) {
		len = IEC_DUK_MESSAGE_MAX - 1;
		/* Do not cut a UTF-8 sequence in half. */
		while (len > 0 && ((unsigned char) text[len] & 0xC0) == 0x80) {
			len--;
		}
	}
	memcpy(h->message, text, len);
	h->message[len] = '\0';
}

static void iec__set_message_cstr(iec_duk_heap *h, const char *text) {
	iec__set_message(h, text, strlen(text));
}

/* Makes h->scratch at least `cap` bytes. 0 on success. */
static int iec__reserve_scratch(iec_duk_heap *h, size_t cap) {
	if (cap <= h->scratch_cap) {
		return 0;
	}
	char *grown = realloc(h->scratch, cap);
	if (grown == NULL) {
		return -1;
	}
	h->scratch = grown;
	h->scratch_cap = cap;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                     */

static int iec__is_cont(unsigned char b) {
	return (b & 0xC0) == 0x80;
}

/*
 * Writes the UTF-8 form of Duktape's (CESU-8 / extended UTF-8) `in` to `out`
 * when `out` is not NULL, and returns the output length (at most 3 * len).
 */
static size_t iec__sanitize_utf8(const unsigned char *in, size_t len, unsigned char *out) {
	static const unsigned char replacement[3] = {0xEF, 0xBF, 0xBD};
	size_t i = 0;
	size_t n = 0;
#define IEC__EMIT(src, count)                              \
	do {                                                   \
		if (out != NULL) memcpy(out + n, (src), (count));  \
		n += (count);                                      \
	} while (0)

	while (i < len) {
		unsigned char b = in[i];
		if (b < 0x80) {
			IEC__EMIT(in + i, 1);
			i += 1;
		} else if (b >= 0xC2 && b <= 0xDF && i + 1 < len && iec__is_cont(in[i + 1])) {
			IEC__EMIT(in + i, 2);
			i += 2;
		} else if (b >= 0xE0 && b <= 0xEF && i + 2 < len && iec__is_cont(in[i + 1]) && iec__is_cont(in[i + 2])) {
			uint32_t cp = ((uint32_t) (b & 0x0F) << 12) | ((uint32_t) (in[i + 1] & 0x3F) << 6) | (in[i + 2] & 0x3F);
			if (cp < 0x800) {
				IEC__EMIT(replacement, 3);
				i += 3;
			} else if (cp >= 0xD800 && cp <= 0xDBFF && i + 5 < len && in[i + 3] == 0xED && (in[i + 4] & 0xF0) == 0xB0 &&
			           iec__is_cont(in[i + 5])) {
				uint32_t low = 0xD000 | ((uint32_t) (in[i + 4] & 0x3F) << 6) | (in[i + 5] & 0x3F);
				uint32_t full = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
				unsigned char four[4] = {
				    (unsigned char) (0xF0 | (full >> 18)), (unsigned char) (0x80 | ((full >> 12) & 0x3F)),
				    (unsigned char) (0x80 | ((full >> 6) & 0x3F)), (unsigned char) (0x80 | (full & 0x3F))};
				IEC__EMIT(four, 4);
				i += 6;
			} else if (cp >= 0xD800 && cp <= 0xDFFF) {
				IEC__EMIT(replacement, 3);
				i += 3;
			} else {
				IEC__EMIT(in + i, 3);
				i += 3;
			}
		} else if (b >= 0xF0 && b <= 0xF4 && i + 3 < len && iec__is_cont(in[i + 1]) && iec__is_cont(in[i + 2]) &&
		           iec__is_cont(in[i + 3])) {
			uint32_t cp = ((uint32_t) (b & 0x07) << 18) | ((uint32_t) (in[i + 1] & 0x3F) << 12) |
			              ((uint32_t) (in[i + 2] & 0x3F) << 6) | (in[i + 3] & 0x3F);
			if (cp >= 0x10000 && cp <= 0x10FFFF) {
				IEC__EMIT(in + i, 4);
			} else {
				IEC__EMIT(replacement, 3);
			}
			i += 4;
		} else {
			IEC__EMIT(replacement, 3);
			i += 1;
		}
	}
#undef IEC__EMIT
	return n;
}

/* Sanitizes into h->scratch (NUL-terminated); -1 when out of memory or when
 * the result is longer than `max_len`, with *out_len set to the length. */
static int iec__sanitize_to_scratch(iec_duk_heap *h, const char *in, size_t len, size_t max_len, size_t *out_len) {
	size_t n = iec__sanitize_utf8((const unsigned char *) in, len, NULL);
	*out_len = n;
	if (n > max_len) {
		return -1;
	}
	if (iec__reserve_scratch(h, n + 1) != 0) {
		return -1;
	}
	iec__sanitize_utf8((const unsigned char *) in, len, (unsigned char *) h->scratch);
	h->scratch[n] = '\0';
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Deadline polling where Duktape cannot throw                               */

/* The heap whose iec_duk_* call is running on this thread (the memcmp hook
 * has no other way to find it). Set by IEC__ENTER, cleared on the way out. */
static _Thread_local iec_duk_heap *iec__running;

/*
 * For hooks that cannot make Duktape throw (the allocator, memcmp). Once the
 * deadline has passed, the script is marked timed out: the next interrupt
 * throws, and normally the script unwinds within microseconds. A native loop
 * that runs no bytecode (a sparse array of 4e9 holes joined, a quadratic
 * string search) is stopped harder: IEC_DUK_HARD_GRACE_NS past the
 * deadline this longjmps out of Duktape to the running iec_duk_* call, like
 * the fatal handler does, and the heap is poisoned and later freed block by
 * block. Only C frames are crossed: Duktape never runs while a host callback
 * (Swift) is on the stack above it, since callbacks cannot call into Duktape.
 */
static void iec__poll_hard(iec_duk_heap *h, size_t weight) {
	if (h->deadline_ns == 0) {
		return;
	}
	if (weight < IEC_DUK_CLOCK_BYTES && --h->poll_countdown != 0) {
		return;
	}
	h->poll_countdown = IEC_DUK_CLOCK_EVERY;
	int64_t now = iec__now_ns();
	if (now < h->deadline_ns) {
		return;
	}
	h->timed_out = 1;
	if (now - h->deadline_ns >= IEC_DUK_HARD_GRACE_NS && h->fatal_armed) {
		iec__set_message_cstr(h, "execution timeout (stopped inside a built-in function)");
		h->line = 0;
		h->fatal_armed = 0;
		h->poisoned = 1;
		longjmp(h->fatal_jmp, 1);
	}
}

int iec_duk_memcmp(const void *a, const void *b, size_t n) {
	iec_duk_heap *h = iec__running;
	if (h != NULL) {
		iec__poll_hard(h, n);
	}
	return memcmp(a, b, n);
}

/* ------------------------------------------------------------------------ */
/* Allocator                                                                 */

static void iec__account(iec_duk_heap *h, size_t freed, size_t added) {
	h->used = h->used - freed + added;
	if (h->used > h->peak) {
		h->peak = h->used;
	}
}

/* Whether `extra` more bytes fit under the limit (a refusal is noted). Also
 * looks at the clock now and then. (Refusing allocations once the script is
 * stopped would seem to hasten its end, but every refusal makes Duktape run
 * up to ten emergency collections and fail the error it is throwing, which
 * slows the unwinding down instead.) */
static int iec__fits(iec_duk_heap *h, size_t extra) {
	iec__poll_hard(h, 0);
	if (extra > h->limit - h->used) {
		h->limit_hit = 1;
		return 0;
	}
	return 1;
}

static void *iec__alloc(void *udata, duk_size_t size) {
	iec_duk_heap *h = udata;
	if (size > SIZE_MAX - sizeof(iec_duk_block) || !iec__fits(h, sizeof(iec_duk_block) + size)) {
		return NULL;
	}
	iec_duk_block *block = malloc(sizeof(iec_duk_block) + size);
	if (block == NULL) {
		return NULL;
	}
	block->size = size;
	block->prev = NULL;
	block->next = h->blocks;
	if (h->blocks != NULL) {
		h->blocks->prev = block;
	}
	h->blocks = block;
	iec__account(h, 0, sizeof(iec_duk_block) + size);
	return block + 1;
}

static void *iec__realloc(void *udata, void *ptr, duk_size_t size) {
	iec_duk_heap *h = udata;
	if (ptr == NULL) {
		return iec__alloc(udata, size);
	}
	iec_duk_block *block = (iec_duk_block *) ptr - 1;
	size_t old = block->size;
	if (size > SIZE_MAX - sizeof(iec_duk_block) || (size > old && !iec__fits(h, size - old))) {
		return NULL;
	}
	iec_duk_block *prev = block->prev;
	iec_duk_block *next = block->next;
	/* Size 0 keeps a header-only block: Duktape may treat NULL as failure. */
	iec_duk_block *moved = realloc(block, sizeof(iec_duk_block) + size);
	if (moved == NULL) {
		return NULL; /* the old block is untouched and still listed */
	}
	if (prev != NULL) {
		prev->next = moved;
	} else {
		h->blocks = moved;
	}
	if (next != NULL) {
		next->prev = moved;
	}
	moved->size = size;
	iec__account(h, old, size);
	return moved + 1;
}

static void iec__free(void *udata, void *ptr) {
	iec_duk_heap *h = udata;
	if (ptr == NULL) {
		return;
	}
	iec_duk_block *block = (iec_duk_block *) ptr - 1;
	if (block->prev != NULL) {
		block->prev->next = block->next;
	} else {
		h->blocks = block->next;
	}
	if (block->next != NULL) {
		block->next->prev = block->prev;
	}
	iec__account(h, sizeof(iec_duk_block) + block->size, 0);
	free(block);
}

/* Frees every block still listed, without Duktape (for poisoned heaps). */
static void iec__free_all_blocks(iec_duk_heap *h) {
	iec_duk_block *block = h->blocks;
	while (block != NULL) {
		iec_duk_block *next = block->next;
		free(block);
		block = next;
	}
	h->blocks = NULL;
	h->used = 0;
}

/* ------------------------------------------------------------------------ */
/* Hooks called by Duktape                                                   */

int iec_duk_exec_timeout_check(void *udata) {
	iec_duk_heap *h = udata;
	if (h == NULL) {
		return 0;
	}
	if (h->timed_out || h->aborted) {
		return 1;
	}
	if (h->deadline_ns != 0 && iec__now_ns() >= h->deadline_ns) {
		h->timed_out = 1;
		return 1;
	}
	return 0;
}

/* The lowest usable stack address of this thread plus a safety margin, or 0
 * when unknown. Cached per thread: pthread_getattr_np reads /proc for the
 * main thread. */
static _Thread_local uintptr_t iec__stack_floor;
static _Thread_local int iec__stack_floor_known;

static uintptr_t iec__current_stack_floor(void) {
	if (!iec__stack_floor_known) {
		iec__stack_floor_known = 1;
		pthread_attr_t attr;
		if (pthread_getattr_np(pthread_self(), &attr) == 0) {
			void *low = NULL;
			size_t size = 0;
			if (pthread_attr_getstack(&attr, &low, &size) == 0 && low != NULL && size > 0) {
				/* A quarter of the stack, between 64 KiB and 256 KiB, stays free
				 * for the frames between two checks and for host functions. */
				size_t margin = size / 4;
				if (margin < (64u << 10)) margin = 64u << 10;
				if (margin > (256u << 10)) margin = 256u << 10;
				if (margin < size) {
					iec__stack_floor = (uintptr_t) low + margin;
				}
			}
			pthread_attr_destroy(&attr);
		}
	}
	return iec__stack_floor;
}

int iec_duk_native_stack_check(void *thr) {
	uintptr_t floor = iec__current_stack_floor();
	if (floor != 0 && (uintptr_t) __builtin_frame_address(0) < floor) {
		return 1;
	}
	/* RegExp matching recurses here but runs no bytecode, so the executor's
	 * interrupt never sees it: look at the clock here too, now and then. */
	iec_duk_heap *h = iec_duk__heap_udata((duk_context *) thr);
	if (h != NULL && --h->clock_countdown == 0) {
		h->clock_countdown = IEC_DUK_CLOCK_EVERY;
		if (iec_duk_exec_timeout_check(h)) {
			iec_duk__request_interrupt((duk_context *) thr);
			return 1;
		}
	}
	return 0;
}

/* Stack bytes reserved for each level of compiler recursion: 2.5 times the
 * most measured, for other compilers and architectures. */
#define IEC_DUK_COMPILER_LEVEL_BYTES 1024
#define IEC_DUK_COMPILER_MAX_LEVELS 2500 /* Duktape's default */

int iec_duk_compiler_reclimit(void) {
	uintptr_t floor = iec__current_stack_floor();
	if (floor == 0) {
		return IEC_DUK_COMPILER_MAX_LEVELS;
	}
	uintptr_t here = (uintptr_t) __builtin_frame_address(0);
	if (here <= floor) {
		return 0; /* the first nested construct fails with a RangeError */
	}
	uintptr_t levels = (here - floor) / IEC_DUK_COMPILER_LEVEL_BYTES;
	return levels < IEC_DUK_COMPILER_MAX_LEVELS ? (int) levels : IEC_DUK_COMPILER_MAX_LEVELS;
}

static void iec__fatal(void *udata, const char *msg) {
	iec_duk_heap *h = udata;
	if (h != NULL && h->fatal_armed) {
		char text[IEC_DUK_MESSAGE_MAX];
		snprintf(text, sizeof text, "Duktape fatal error: %s", msg != NULL ? msg : "(no message)");
		iec__set_message_cstr(h, text);
		h->line = 0;
		h->fatal_armed = 0;
		h->poisoned = 1;
		longjmp(h->fatal_jmp, 1);
	}
	/* Not reached: Duktape only runs inside iec_duk_* calls, and each arms the
	 * jump before entering it. Returning would make Duktape abort() anyway. */
	fprintf(stderr, "iec_duktape: Duktape fatal error outside a call: %s\n", msg != NULL ? msg : "");
	abort();
}

/*
 * Every public call that enters Duktape starts with IEC__ENTER and leaves
 * through IEC__LEAVE. After a longjmp from iec__fatal only `h` (a parameter
 * the function never changes) is read.
 */
#define IEC__ENTER(h)                              \
	iec_duk_heap *const iec__outer = iec__running; \
	do {                                           \
		if ((h)->poisoned) {                       \
			return iec__poisoned_status(h);        \
		}                                          \
		if (setjmp((h)->fatal_jmp) != 0) {         \
			iec__running = iec__outer;             \
			return iec__poisoned_status(h);        \
		}                                          \
		(h)->fatal_armed = 1;                      \
		iec__running = (h);                        \
	} while (0)

/* iec__outer: a host function may run another script (another heap) on this
 * thread; when that returns, this heap is the running one again. */
#define IEC__LEAVE(h, status)                      \
	do {                                           \
		int const iec__status = (status); /* may still run Duktape */ \
		(h)->fatal_armed = 0;                      \
		iec__running = iec__outer;                 \
		return iec__status;                        \
	} while (0)

/* What a poisoned heap reports: a hard timeout stop, or a fatal error. */
static int iec__poisoned_status(const iec_duk_heap *h) {
	return h->timed_out ? IEC_DUK_TIMEOUT : IEC_DUK_FATAL;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

static duk_ret_t iec__describe_raw(duk_context *ctx, void *udata) {
	iec_duk_heap *h = udata;
	duk_size_t len = 0;
	const char *text;
	if (duk_is_error(ctx, 0)) {
		if (duk_get_prop_string(ctx, 0, "lineNumber") && duk_is_number(ctx, -1)) {
			h->line = (int) duk_get_int(ctx, -1);
		}
		duk_pop(ctx);
		text = duk_safe_to_lstring(ctx, 0, &len);
	} else if (duk_is_object(ctx, 0) && !duk_is_function(ctx, 0)) {
		/* throw {code: 1}: its JSON says more than "[object Object]". */
		duk_dup(ctx, 0);
		duk_json_encode(ctx, -1);
		if (duk_is_string(ctx, -1)) {
			text = duk_get_lstring(ctx, -1, &len);
		} else {
			text = duk_safe_to_lstring(ctx, 0, &len);
		}
	} else {
		text = duk_safe_to_lstring(ctx, 0, &len);
	}
	size_t clean = 0;
	if (len > IEC_DUK_MESSAGE_MAX) {
		len = IEC_DUK_MESSAGE_MAX; /* the message keeps no more; a cut character becomes U+FFFD */
	}
	if (iec__sanitize_to_scratch(h, text, len, SIZE_MAX / 4, &clean) == 0) {
		iec__set_message(h, h->scratch, clean);
	} else {
		iec__set_message_cstr(h, "(out of memory describing the error)");
	}
	return 0;
}

/*
 * Turns the error on top of the stack into h->message / h->line, pops it and
 * returns the status: the timeout, an abort and the memory limit take
 * precedence over `status`, since they cause the error rather than describe
 * it.
 */
static int iec__failure(iec_duk_heap *h, int status) {
	duk_context *ctx = h->ctx;
	if (h->aborted) {
		duk_pop(ctx); /* h->message holds the host's reason */
		return IEC_DUK_ABORTED;
	}
	h->line = 0;
	/* One return value either way: undefined, or the describer's own error. */
	if (duk_safe_call(ctx, iec__describe_raw, h, 1, 1) != 0) {
		iec__set_message_cstr(h, "uncaught exception (it could not be described)");
	}
	duk_pop(ctx);
	if (h->timed_out) {
		return IEC_DUK_TIMEOUT;
	}
	if (h->limit_hit) {
		return IEC_DUK_MEMORY_LIMIT;
	}
	return status;
}

/* ------------------------------------------------------------------------ */
/* Host functions                                                            */

static duk_ret_t iec__host_trampoline(duk_context *ctx) {
	iec_duk_heap *h = iec_duk__heap_udata(ctx);
	duk_idx_t nargs = duk_get_top(ctx);
	if (h->aborted || h->timed_out) {
		iec_duk__request_interrupt(ctx);
		return duk_error_raw(ctx, DUK_ERR_RANGE_ERROR, NULL, 0, "script stopped"), 0;
	}
	if (h->host_callback == NULL) {
		return duk_error_raw(ctx, DUK_ERR_TYPE_ERROR, NULL, 0, "host function unavailable"), 0;
	}

	duk_push_array(ctx);
	for (duk_idx_t i = 0; i < nargs; i++) {
		duk_dup(ctx, i);
		duk_put_prop_index(ctx, -2, (duk_uarridx_t) i);
	}
	duk_json_encode(ctx, -1); /* an array always encodes (a cycle throws a TypeError) */
	duk_size_t raw_len = 0;
	const char *raw = duk_get_lstring(ctx, -1, &raw_len);
	size_t args_len = 0;
	if (iec__sanitize_to_scratch(h, raw, raw_len, h->host_max_args, &args_len) != 0) {
		if (args_len > h->host_max_args) {
			return duk_error_raw(ctx, DUK_ERR_RANGE_ERROR, NULL, 0, "host function arguments longer than %lu bytes of JSON",
			                     (unsigned long) h->host_max_args), 0;
		}
		return duk_error_raw(ctx, DUK_ERR_RANGE_ERROR, NULL, 0, "out of memory for host function arguments"), 0;
	}

	/* Swift runs here: nothing between this call and its return may throw. */
	h->reply.len = 0;
	if (h->reply.bytes != NULL) {
		h->reply.bytes[0] = '\0';
	}
	int answer = h->host_callback(h->host_context, (int) duk_get_current_magic(ctx), h->scratch, args_len, &h->reply);
	const char *reply = h->reply.bytes != NULL ? h->reply.bytes : "";

	switch (answer) {
	case IEC_DUK_HOST_RETURN:
		duk_push_lstring(ctx, reply, h->reply.len);
		duk_json_decode(ctx, -1);
		return 1;
	case IEC_DUK_HOST_THROW:
		return duk_error_raw(ctx, DUK_ERR_ERROR, NULL, 0, "%s", reply), 0;
	default:
		iec__set_message(h, reply, h->reply.len);
		h->line = 0;
		h->aborted = 1;
		iec_duk__request_interrupt(ctx);
		return duk_error_raw(ctx, DUK_ERR_RANGE_ERROR, NULL, 0, "script stopped by a host function"), 0;
	}
}

int iec_duk_host_reply_set(iec_duk_host_reply *reply, const char *bytes, size_t len) {
	if (len == SIZE_MAX) {
		return -1;
	}
	if (len + 1 > reply->cap) {
		char *grown = realloc(reply->bytes, len + 1);
		if (grown == NULL) {
			return -1;
		}
		reply->bytes = grown;
		reply->cap = len + 1;
	}
	if (len > 0) {
		memcpy(reply->bytes, bytes, len);
	}
	reply->bytes[len] = '\0';
	reply->len = len;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Heap lifecycle                                                            */

static duk_ret_t iec__prepare_sandbox(duk_context *ctx, void *udata) {
	(void) udata;
	static const char *const kept[] = {"version", "env", "enc", "dec"};
	static const char *const removed_globals[] = {"print", "alert", "require", "module", "exports"};

	duk_push_global_object(ctx);                 /* [ global ] */
	duk_get_prop_string(ctx, -1, "Duktape");     /* [ global Duktape ] */
	duk_push_object(ctx);                        /* [ global Duktape replacement ] */
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		if (duk_get_prop_string(ctx, -2, kept[i])) {
			duk_put_prop_string(ctx, -2, kept[i]);
		} else {
			duk_pop(ctx);
		}
	}
	duk_freeze(ctx, -1);
	duk_put_prop_string(ctx, -3, "Duktape");     /* [ global Duktape ] */
	duk_pop(ctx);                                /* [ global ] */
	for (size_t i = 0; i < sizeof removed_globals / sizeof removed_globals[0]; i++) {
		duk_del_prop_string(ctx, -1, removed_globals[i]);
	}
	duk_pop(ctx);
	return 0;
}

/* Creates the Duktape heap inside `h` and prepares the sandbox; 0 on
 * success. A separate function so that the setjmp frame only reads its
 * unchanged parameter after a longjmp. */
static int iec__create_duktape(iec_duk_heap *h) {
	if (setjmp(h->fatal_jmp) != 0) {
		return -1;
	}
	h->fatal_armed = 1;
	h->ctx = duk_create_heap(iec__alloc, iec__realloc, iec__free, h, iec__fatal);
	if (h->ctx == NULL || duk_safe_call(h->ctx, iec__prepare_sandbox, NULL, 0, 1) != 0) {
		h->fatal_armed = 0;
		return -1;
	}
	duk_pop(h->ctx);
	h->fatal_armed = 0;
	return 0;
}

iec_duk_heap *iec_duk_heap_create(size_t memory_limit) {
	iec_duk_heap *h = calloc(1, sizeof *h);
	if (h == NULL) {
		return NULL;
	}
	h->limit = memory_limit;
	h->clock_countdown = IEC_DUK_CLOCK_EVERY;
	h->poll_countdown = IEC_DUK_CLOCK_EVERY;
	if (iec__create_duktape(h) != 0) {
		iec_duk_heap_destroy(h); /* frees whatever Duktape had allocated */
		return NULL;
	}
	return h;
}

/*
 * Destruction does not call duk_destroy_heap: every byte the heap holds is a
 * block in our list, a sandboxed heap owns nothing else (no files, no native
 * finalizers; scripts cannot register finalizers since Duktape.fin is gone),
 * so freeing the blocks is complete. It also skips the mark-and-sweep that
 * duk_destroy_heap runs to look for finalizers, about half the cost of a
 * heap's life, and works the same for a poisoned heap.
 */
void iec_duk_heap_destroy(iec_duk_heap *heap) {
	if (heap == NULL) {
		return;
	}
	iec__free_all_blocks(heap);
	free(heap->scratch);
	free(heap->reply.bytes);
	free(heap);
}

void iec_duk_heap_arm_deadline(iec_duk_heap *heap, int64_t timeout_ns) {
	if (timeout_ns < 0) {
		timeout_ns = 0;
	}
	int64_t now = iec__now_ns();
	heap->deadline_ns = (timeout_ns > INT64_MAX - now) ? INT64_MAX : now + timeout_ns;
	if (heap->deadline_ns == 0) {
		heap->deadline_ns = 1;
	}
}

void iec_duk_heap_set_host(iec_duk_heap *heap, iec_duk_host_callback callback, void *context, size_t max_args_len) {
	heap->host_callback = callback;
	heap->host_context = context;
	heap->host_max_args = max_args_len;
}

const char *iec_duk_heap_error_message(const iec_duk_heap *heap) {
	return heap->message;
}

int iec_duk_heap_error_line(const iec_duk_heap *heap) {
	return heap->line;
}

size_t iec_duk_heap_memory_used(const iec_duk_heap *heap) {
	return heap->used;
}

size_t iec_duk_heap_memory_peak(const iec_duk_heap *heap) {
	return heap->peak;
}

/* ------------------------------------------------------------------------ */
/* Globals in, code, globals out                                             */

/* How inputs and host functions become globals: like `var`, but defined
 * rather than assigned, so no setter (inherited or not) sees them. */
#define IEC__GLOBAL_VARIABLE                                                                              \
	(DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_HAVE_WRITABLE | DUK_DEFPROP_WRITABLE | DUK_DEFPROP_HAVE_ENUMERABLE | \
	 DUK_DEFPROP_ENUMERABLE | DUK_DEFPROP_HAVE_CONFIGURABLE | DUK_DEFPROP_CONFIGURABLE)

typedef struct {
	const char *bytes;
	size_t len;
	int invalid;
} iec__json_args;

static duk_ret_t iec__set_globals_raw(duk_context *ctx, void *udata) {
	iec__json_args *args = udata;
	duk_push_global_object(ctx);                 /* [ global ] */
	duk_push_lstring(ctx, args->bytes, args->len);
	duk_json_decode(ctx, -1);                    /* [ global object ] */
	if (!duk_is_object(ctx, -1) || duk_is_array(ctx, -1)) {
		args->invalid = 1;
		return 0;
	}
	duk_enum(ctx, -1, DUK_ENUM_OWN_PROPERTIES_ONLY);
	while (duk_next(ctx, -1, 1)) {               /* [ global object enum key value ] */
		duk_def_prop(ctx, -5, IEC__GLOBAL_VARIABLE); /* a data property, even "__proto__" */
	}
	return 0;
}

int iec_duk_set_globals_json(iec_duk_heap *heap, const char *json, size_t json_len) {
	IEC__ENTER(heap);
	iec__json_args args = {json, json_len, 0};
	if (duk_safe_call(heap->ctx, iec__set_globals_raw, &args, 0, 1) != 0) {
		IEC__LEAVE(heap, iec__failure(heap, IEC_DUK_INVALID));
	}
	duk_pop(heap->ctx);
	if (args.invalid) {
		iec__set_message_cstr(heap, "globals must be a JSON object");
		IEC__LEAVE(heap, IEC_DUK_INVALID);
	}
	IEC__LEAVE(heap, IEC_DUK_OK);
}

static duk_ret_t iec__register_raw(duk_context *ctx, void *udata) {
	iec__json_args *args = udata;
	duk_push_global_object(ctx);                 /* [ global ] */
	duk_push_lstring(ctx, args->bytes, args->len);
	duk_json_decode(ctx, -1);                    /* [ global names ] */
	if (!duk_is_array(ctx, -1)) {
		args->invalid = 1;
		return 0;
	}
	duk_size_t count = duk_get_length(ctx, -1);
	if (count > 32767) {
		args->invalid = 1;
		return 0;
	}
	for (duk_size_t i = 0; i < count; i++) {
		duk_get_prop_index(ctx, -1, (duk_uarridx_t) i); /* [ global names name ] */
		if (!duk_is_string(ctx, -1)) {
			args->invalid = 1;
			return 0;
		}
		duk_push_c_function(ctx, iec__host_trampoline, DUK_VARARGS);
		duk_set_magic(ctx, -1, (duk_int_t) i);
		duk_def_prop(ctx, -4, IEC__GLOBAL_VARIABLE); /* global[name] = function */
	}
	return 0;
}

int iec_duk_register_functions(iec_duk_heap *heap, const char *names_json, size_t names_len) {
	IEC__ENTER(heap);
	iec__json_args args = {names_json, names_len, 0};
	if (duk_safe_call(heap->ctx, iec__register_raw, &args, 0, 1) != 0) {
		IEC__LEAVE(heap, iec__failure(heap, IEC_DUK_INVALID));
	}
	duk_pop(heap->ctx);
	if (args.invalid) {
		iec__set_message_cstr(heap, "function names must be a JSON array of at most 32767 strings");
		IEC__LEAVE(heap, IEC_DUK_INVALID);
	}
	IEC__LEAVE(heap, IEC_DUK_OK);
}

typedef struct {
	const char *source;
	size_t source_len;
	const char *file_name;
	size_t file_name_len;
	int compiled;
} iec__eval_args;

static duk_ret_t iec__eval_raw(duk_context *ctx, void *udata) {
	iec__eval_args *args = udata;
	duk_push_lstring(ctx, args->file_name, args->file_name_len);
	duk_compile_lstring_filename(ctx, 0, args->source, args->source_len);
	args->compiled = 1;
	duk_call(ctx, 0);
	return 0;
}

int iec_duk_eval(iec_duk_heap *heap, const char *source, size_t source_len, const char *file_name,
                 size_t file_name_len) {
	IEC__ENTER(heap);
	iec__eval_args args = {source, source_len, file_name, file_name_len, 0};
	if (duk_safe_call(heap->ctx, iec__eval_raw, &args, 0, 1) != 0) {
		IEC__LEAVE(heap, iec__failure(heap, args.compiled ? IEC_DUK_RUNTIME_ERROR : IEC_DUK_SYNTAX_ERROR));
	}
	duk_pop(heap->ctx);
	IEC__LEAVE(heap, IEC_DUK_OK);
}

typedef struct {
	const char *name;
	size_t name_len;
	size_t max_len;
	int status;
	size_t out_len;
} iec__get_args;

static duk_ret_t iec__get_global_raw(duk_context *ctx, void *udata) {
	iec__get_args *args = udata;
	iec_duk_heap *h = iec_duk__heap_udata(ctx);
	duk_push_global_object(ctx);
	duk_get_prop_lstring(ctx, -1, args->name, args->name_len);
	if (duk_is_undefined(ctx, -1)) {
		args->status = IEC_DUK_ABSENT;
		return 0;
	}
	/* The encoding is a step of its own so that its failure (a cycle, a
	 * throwing toJSON) reads as "not JSON" rather than as a script error. */
	args->status = IEC_DUK_NOT_JSON;
	duk_json_encode(ctx, -1);
	if (!duk_is_string(ctx, -1)) {
		iec__set_message_cstr(h, "the value has no JSON form");
		return 0;
	}
	duk_size_t raw_len = 0;
	const char *raw = duk_get_lstring(ctx, -1, &raw_len);
	size_t clean_len = 0;
	if (iec__sanitize_to_scratch(h, raw, raw_len, args->max_len, &clean_len) != 0) {
		args->out_len = clean_len;
		if (clean_len > args->max_len) {
			args->status = IEC_DUK_TOO_LARGE;
			return 0;
		}
		return duk_error_raw(ctx, DUK_ERR_RANGE_ERROR, NULL, 0, "out of memory for the JSON text"), 0;
	}
	args->out_len = clean_len;
	args->status = IEC_DUK_OK;
	return 0;
}

int iec_duk_get_global_json(iec_duk_heap *heap, const char *name, size_t name_len, size_t max_len,
                            const char **out, size_t *out_len) {
	*out = NULL;
	*out_len = 0;
	IEC__ENTER(heap);
	iec__get_args args = {name, name_len, max_len, IEC_DUK_RUNTIME_ERROR, 0};
	if (duk_safe_call(heap->ctx, iec__get_global_raw, &args, 0, 1) != 0) {
		IEC__LEAVE(heap, iec__failure(heap, args.status == IEC_DUK_NOT_JSON ? IEC_DUK_NOT_JSON : IEC_DUK_RUNTIME_ERROR));
	}
	duk_pop(heap->ctx);
	if (args.status == IEC_DUK_OK) {
		*out = heap->scratch;
		*out_len = args.out_len;
	} else if (args.status == IEC_DUK_TOO_LARGE) {
		*out_len = args.out_len;
	}
	IEC__LEAVE(heap, args.status);
}

/* ------------------------------------------------------------------------ */
/* Test hook                                                                 */

static duk_ret_t iec__fatal_raw(duk_context *ctx, void *udata) {
	(void) udata;
	duk_fatal_raw(ctx, "triggered by iec_duk_debug_trigger_fatal");
	return 0;
}

int iec_duk_debug_trigger_fatal(iec_duk_heap *heap) {
	IEC__ENTER(heap);
	/* Even inside a protected call, duk_fatal goes straight to the handler. */
	(void) duk_safe_call(heap->ctx, iec__fatal_raw, NULL, 0, 1);
	duk_pop(heap->ctx);
	IEC__LEAVE(heap, IEC_DUK_OK);
}
