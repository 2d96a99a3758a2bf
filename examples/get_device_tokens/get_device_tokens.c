/*
 * get_device_tokens: OAuth2 tokens for a device, and two of their members read
 * with the JSON helpers (expires_in is a string, as the original SDK gave it;
 * iec_json_get_int reads it as a number too).
 *
 *     ./get_device_tokens [device-id]        (default: Narwhal)
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
    char *type = NULL;
    int expires = 0;

    printf("*** Running get_device_tokens\n");
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
    printf("Received tokens: %s\n", tokens);

    if (iec_json_parse(tokens) != 0 || iec_json_get_string("token_type", &type) != 0 ||
        iec_json_get_int("expires_in", &expires) != 0) {
        free(tokens);
        return failed("Reading the tokens");
    }
    printf("Token type: %s, expires in: %d seconds\n", type, expires);
    free(type);
    free(tokens);
    return 0;
}
