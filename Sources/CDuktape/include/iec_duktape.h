/*
 * iec_duktape: a small sandbox API over Duktape 2.7 for the Scripting module.
 *
 * Duktape's own API stays private to this target (see iec_duk_config.h); what
 * Swift sees is an opaque heap with byte-string in, byte-string out calls.
 * Values cross as JSON text in UTF-8.
 *
 * Safety properties of every iec_duk_* call on a heap:
 *  - Nothing Duktape throws escapes: all work runs inside duk_safe_call, and a
 *    failure comes back as an IEC_DUK_* status with a message (and a line when
 *    the error has one).
 *  - Duktape's fatal handler (reached only on an internal error outside any
 *    protected call) never returns into Duktape and never aborts: it longjmps
 *    back to the iec_duk_* call that entered Duktape, which returns
 *    IEC_DUK_FATAL. The heap is then poisoned: later calls return at once and
 *    Duktape never touches it again. Only C frames lie between that setjmp and
 *    the longjmp, since host callbacks never call back into Duktape.
 *  - Memory: every allocation goes through a counting allocator that refuses
 *    past the heap's limit (Duktape then collects garbage and retries, and
 *    finally throws a RangeError). All blocks of a heap are listed, so
 *    iec_duk_heap_destroy frees them directly, poisoned or not.
 *  - Time: after iec_duk_heap_arm_deadline, CLOCK_MONOTONIC is compared with
 *    the deadline by the executor's interrupt (every 256 Ki instructions), by
 *    the native-recursion hook (RegExp matching), by the allocator and by
 *    memcmp. Past the deadline Duktape throws a RangeError and keeps throwing
 *    it until control leaves the script, so try/catch cannot swallow it. A
 *    built-in that loops without running bytecode (sparse arrays, quadratic
 *    string search) is stopped 20 ms past the deadline the way the fatal
 *    handler stops it: the call returns IEC_DUK_TIMEOUT and the heap is
 *    poisoned.
 *  - C stack: native recursion stops with a RangeError, and compiler nesting
 *    with a SyntaxError, well before the end of the calling thread's stack.
 *
 * A heap is used by one thread at a time; different heaps are independent (a
 * host callback may even run another heap on the same thread).
 * Pointers returned by a call point into memory the heap owns and stay valid
 * until the next call on the same heap or its destruction.
 */
#ifndef IEC_DUKTAPE_H
#define IEC_DUKTAPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface. */
#define IEC_DUK_API_VERSION 1

/* Status codes of iec_duk_* calls. */
enum {
	IEC_DUK_OK = 0,
	/* A compile error in the source given to iec_duk_eval. */
	IEC_DUK_SYNTAX_ERROR = 1,
	/* An uncaught exception. */
	IEC_DUK_RUNTIME_ERROR = 2,
	/* The deadline passed. */
	IEC_DUK_TIMEOUT = 3,
	/* The memory limit refused an allocation and the call then failed. */
	IEC_DUK_MEMORY_LIMIT = 4,
	/* A host callback answered IEC_DUK_HOST_ABORT; the message is its reply. */
	IEC_DUK_ABORTED = 5,
	/* iec_duk_get_global_json: the global is undefined. */
	IEC_DUK_ABSENT = 6,
	/* iec_duk_get_global_json: the value has no JSON form (a function, a
	 * symbol, a cycle, ...). */
	IEC_DUK_NOT_JSON = 7,
	/* iec_duk_get_global_json: the JSON text is longer than allowed. */
	IEC_DUK_TOO_LARGE = 8,
	/* Duktape reached its fatal handler; the heap is unusable. */
	IEC_DUK_FATAL = 9,
	/* A bad argument (for example JSON that is not an object where one is
	 * needed). */
	IEC_DUK_INVALID = 10,
};

/* What a host callback answers. */
enum {
	/* The reply is the JSON text of the result. */
	IEC_DUK_HOST_RETURN = 0,
	/* The reply is a message; the script sees `throw new Error(message)`. */
	IEC_DUK_HOST_THROW = 1,
	/* The reply is a message; the script is stopped (uncatchably) and the
	 * iec_duk_* call that ran it returns IEC_DUK_ABORTED. */
	IEC_DUK_HOST_ABORT = 2,
};

typedef struct iec_duk_heap iec_duk_heap;
typedef struct iec_duk_host_reply iec_duk_host_reply;

/*
 * Called when the script calls a function registered with
 * iec_duk_register_functions. `index` is the function's position in that
 * list; `args_json` (not NUL-terminated) is a JSON array of the arguments
 * (undefined and functions become null). The callback sets its answer with
 * iec_duk_host_reply_set and returns an IEC_DUK_HOST_* code. It must not call
 * any other iec_duk_* function and must return normally (no longjmp, no
 * exceptions).
 */
typedef int (*iec_duk_host_callback)(void *context, int index, const char *args_json, size_t args_len,
                                     iec_duk_host_reply *reply);

/* Creates a heap whose allocations may total `memory_limit` bytes (the heap's
 * own structures and per-block bookkeeping included). NULL if even the empty
 * heap does not fit or malloc fails. The sandbox is prepared: see
 * iec_duktape.c for the globals removed. */
iec_duk_heap *iec_duk_heap_create(size_t memory_limit);

/* Frees the heap and everything in it. NULL is ignored. */
void iec_duk_heap_destroy(iec_duk_heap *heap);

/* Sets the deadline to now + `timeout_ns` (CLOCK_MONOTONIC). Until it is
 * armed a heap has no deadline. */
void iec_duk_heap_arm_deadline(iec_duk_heap *heap, int64_t timeout_ns);

/* Sets the callback for registered functions. `context` is passed back as is;
 * the caller keeps it alive for the heap's lifetime. Arguments whose JSON is
 * longer than `max_args_len` bytes make the call throw a RangeError in the
 * script instead. */
void iec_duk_heap_set_host(iec_duk_heap *heap, iec_duk_host_callback callback, void *context, size_t max_args_len);

/* The message (UTF-8, NUL-terminated, at most a few KiB) and the line (0 when
 * unknown) of the last failed call. */
const char *iec_duk_heap_error_message(const iec_duk_heap *heap);
int iec_duk_heap_error_line(const iec_duk_heap *heap);

/* Bytes allocated now, and the most ever allocated at once. */
size_t iec_duk_heap_memory_used(const iec_duk_heap *heap);
size_t iec_duk_heap_memory_peak(const iec_duk_heap *heap);

/* Decodes `json` (a JSON object) and makes each of its members a global
 * variable. */
int iec_duk_set_globals_json(iec_duk_heap *heap, const char *json, size_t json_len);

/* Decodes `names_json` (a JSON array of strings) and makes each name a global
 * function that calls the host callback with its index in the array. At most
 * 32767 functions. */
int iec_duk_register_functions(iec_duk_heap *heap, const char *names_json, size_t names_len);

/* Compiles `source` as a program (non-strict, as a global script) with
 * `file_name` for error messages, and runs it. IEC_DUK_SYNTAX_ERROR when it
 * does not compile. */
int iec_duk_eval(iec_duk_heap *heap, const char *source, size_t source_len, const char *file_name,
                 size_t file_name_len);

/* The JSON text (UTF-8) of the global named by the UTF-8 `name`, through
 * JSON.stringify semantics (so toJSON and getters run, under the deadline).
 * On IEC_DUK_OK `*out`/`*out_len` point to the text. IEC_DUK_ABSENT when the
 * global is undefined (or missing), IEC_DUK_NOT_JSON when it has no JSON form,
 * IEC_DUK_TOO_LARGE when longer than `max_len` bytes. */
int iec_duk_get_global_json(iec_duk_heap *heap, const char *name, size_t name_len, size_t max_len,
                            const char **out, size_t *out_len);

/* For host callbacks: copies the reply text. 0 on success, -1 when out of
 * memory (the call then fails with an error in the script). */
int iec_duk_host_reply_set(iec_duk_host_reply *reply, const char *bytes, size_t len);

/* Test hook: calls duk_fatal() from inside an iec_duk_* call, to exercise the
 * fatal-handler path. Returns IEC_DUK_FATAL (the heap is then poisoned). */
int iec_duk_debug_trigger_fatal(iec_duk_heap *heap);

#ifdef __cplusplus
}
#endif

#endif
