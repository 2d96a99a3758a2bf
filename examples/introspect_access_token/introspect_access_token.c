/*
 * introspect_access_token: get a device's access token and ask iec-am, through
 * the gateway, what it is (RFC 7662 introspection).
 *
 *     ./introspect_access_token [device-id]        (default: Narwhal)
 */
#include <stdio.h>
#include <stdlib.h>

#include <libiecclient.h>

static int failed(const char *what)
{
    char *error = iec_last_error();
    printf("%s failed: %s\n", what, error);
    free(error);
    return 1;
}

int main(int argc, char **argv)
{
    char *id = argc > 1 ? argv[1] : "Narwhal";
    char *tokens = NULL;
    char *access_token = NULL;
    char *introspection = NULL;
    _Bool active = 0;

    printf("*** Running introspect_access_token\n");
    printf("Initialising sdk... ");
    fflush(stdout);
    if (iec_initialise() != 0) {
        return failed("Initialisation");
    }
    printf("Done\n");

    printf("Registering device (id: %s)... ", id);
    fflush(stdout);
    if (iec_device_register(id, NULL) != 0) {
        return failed("Registration");
    }
    printf("Done\n");

    printf("Requesting tokens for device (id: %s)... ", id);
    fflush(stdout);
    if (iec_device_tokens(id, &tokens) != 0) {
        return failed("Token request");
    }
    printf("Done\n");
    if (iec_json_parse(tokens) != 0 || iec_json_get_string("access_token", &access_token) != 0) {
        free(tokens);
        return failed("Reading the tokens");
    }
    free(tokens);

    printf("Introspecting the access token... ");
    fflush(stdout);
    if (iec_token_introspect(access_token, &introspection) != 0) {
        free(access_token);
        return failed("Introspection");
    }
    free(access_token);
    printf("Done\n");
    printf("Received introspection: %s\n", introspection);
    if (iec_json_parse(introspection) != 0 || iec_json_get_bool("active", &active) != 0) {
        free(introspection);
        return failed("Reading the introspection");
    }
    free(introspection);
    printf("Token active: %s\n", active ? "true" : "false");
    return 0;
}
