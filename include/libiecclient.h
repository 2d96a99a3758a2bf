/*
 * libiecclient.h -- the OpenIEC SDK's C API, version 1.0.0.
 *
 * The functions, signatures and conventions of the original IEC SDK 6.5's
 * libiecclient.h, so that its apps build unchanged:
 *
 *     gcc app.c -I include -L lib -liecclient
 *
 * An app talks through libiecclient.so to the gateway daemon (iecservice) over
 * ZeroMQ with CURVE (docs/protocol.md); the gateway talks to iec-am.
 *
 * Conventions
 * -----------
 * - Every function returns 0 on success and -1 on failure; then
 *   iec_last_error() says why, as "Error: <code>, Description: <text>, URL: <url>"
 *   (e.g. "Error: am_error, Description: no script found for command, URL: ").
 * - Who frees what: every char* the library hands out -- the strings written to
 *   a char** out parameter and the string iec_last_error() returns -- is a fresh
 *   copy allocated with malloc(); the caller owns it and releases it with free().
 *   On failure an out parameter is set to NULL (nothing to free). Strings the
 *   app passes in stay the app's: the library copies what it keeps.
 * - Out strings are JSON texts laid out as the original SDK returned them: one
 *   member per line, indented by one space per level, "{  }" for an empty
 *   object; tokens in the order access_token, id_token, token_type, expires_in
 *   (expires_in a string, "3599"). Parse them (iec_json_parse) rather than
 *   comparing them as text.
 * - Thread safety: every function may be called from any thread at any time.
 *   Requests from several threads share one connection and take turns on it;
 *   each waits at most msg_timeout_sec (IEC_MSGTIMEOUTSEC) for its answer
 *   (iec_user_tokens does not hold the connection between its polls).
 *   The last error is kept per thread. The parsed JSON of the iec_json_*
 *   helpers is one per process, as in the original: threads that use them at
 *   the same time must take turns.
 * - Configuration: iec_initialise() reads iec-sdk.db from the working directory
 *   (written by `iecutil -file sdk-config.json -initialise sdk`; the environment
 *   variable IEC_SDK_DB may name another file) and applies every attribute set
 *   with iec_set_attribute() over it; with endpoint, the three keys and the
 *   client id set, no database is needed. To change the database's settings,
 *   remove iec-sdk.db and run iecutil again.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef LIBIECCLIENT_H
#define LIBIECCLIENT_H

#include <stdbool.h>
#include "libiectypes.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Sets one setting (see libiectypes.h) for the next iec_initialise(); it
 * overrides the same setting of iec-sdk.db. value is the setting as text.
 * Fails on an unknown attribute, a NULL or empty value, or a value that is not
 * a bool or an integer (in range) where one is needed.
 */
extern int iec_set_attribute(iec_sdk_attribute attribute, char* value);

/*
 * Reads the configuration, connects to the gateway and registers this app's
 * client identity (client_configuration.id) with it the first time. Must
 * succeed before the calls below. Fails within the message timeout when the
 * gateway does not answer (not running, wrong address, wrong CURVE keys).
 * Calling it again connects anew with the current settings; a failed call
 * leaves an earlier connection in use; a successful one closes it once the
 * requests other threads have in flight on it are answered.
 */
extern int iec_initialise(void);

/*
 * Why the last failed call on this thread failed, as
 * "Error: <code>, Description: <text>, URL: <url>"; NULL when the last call
 * on this thread succeeded (or none was made). The caller free()s the string.
 */
extern char* iec_last_error(void);

/*
 * Registers device id under this app. regData, JSON text such as
 * {"custom_data":"here"}, goes to the realm's attestation script and is then
 * discarded; NULL for none.
 */
extern int iec_device_register(char* id, char* regData);

/* The device's configuration, JSON ("{  }" until an administrator sets one). *config: free() it. */
extern int iec_device_configuration(char* id, char** config);

/* OAuth2 tokens for the device: {access_token, id_token, token_type, expires_in}. *tokens: free() it. */
extern int iec_device_tokens(char* id, char** tokens);

/*
 * Starts pairing the device with a user: *code is JSON with user_code,
 * verification_url, verification_uri, verification_uri_complete, device_code,
 * expires_in and interval. Show user_code and verification_url to the user,
 * then call iec_user_tokens(). *code: free() it.
 */
extern int iec_user_code(char* id, char** code);

/*
 * Blocks until the user approved the pairing started by the last
 * iec_user_code() for this device, polling the gateway every `interval`
 * seconds, and returns the user's tokens (same shape as iec_device_tokens).
 * Fails with access_denied when the user refused, expired_token when the code
 * expired first. *tokens: free() it.
 */
extern int iec_user_tokens(char* id, char** tokens);

/*
 * Runs custom command cmd for the device: the realm's script mapped to cmd runs
 * with params (JSON text, NULL for none). *response is {"response": ...}.
 * An unmapped command fails: "Error: am_error, Description: no script found for command, URL: ".
 * *response: free() it.
 */
extern int iec_device_custom_command(char* id, char* cmd, char* params, char** response);

/* Introspects an OAuth2 token (RFC 7662): {"active": true, ...claims} or {"active": false}. *introspection: free() it. */
extern int iec_token_introspect(char* token, char** introspection);

/*
 * The JSON helpers. iec_json_parse() parses a JSON text (e.g. a string returned
 * above) and keeps it, process-wide, replacing the previous one; the getters
 * read a member of it. A key names a top-level member, or a path through nested
 * objects with dots ("a.b") when no top-level member has the whole name.
 * iec_json_parse returns 0 on success, -1 when the text is not JSON.
 */
extern int iec_json_parse(char* json);

/* The member as text: a JSON string as it is, any other value as compact JSON. *value: free() it. */
extern int iec_json_get_string(char* key, char** value);

/* The member as an int: a JSON integer (or a number with no fraction, or a string of decimal digits) that fits. */
extern int iec_json_get_int(char* key, int* value);

/* The member as a bool: JSON true or false. */
extern int iec_json_get_bool(char* key, _Bool* value);

#ifdef __cplusplus
}
#endif

#endif /* LIBIECCLIENT_H */
