/*
 * get_user_tokens: pair a device with a user. The SDK asks for a user code;
 * the user opens the verification page, signs in and approves; meanwhile
 * iec_user_tokens() waits (polling the gateway) and then returns the user's
 * tokens for the device.
 *
 *     ./get_user_tokens [device-id]        (default: Narwhal)
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
    char *code = NULL;
    char *user_code = NULL;
    char *url = NULL;
    char *tokens = NULL;

    printf("*** Running get_user_tokens\n");
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

    printf("Requesting user code for device (id: %s)... ", id);
    fflush(stdout);
    if (iec_user_code(id, &code) != 0) {
        return failed("User code request");
    }
    printf("Done\n");
    if (iec_json_parse(code) != 0 || iec_json_get_string("user_code", &user_code) != 0 ||
        iec_json_get_string("verification_url", &url) != 0) {
        free(code);
        return failed("Reading the user code");
    }
    free(code);
    printf("To pair the device, open %s and enter the code %s\n", url, user_code);
    free(url);
    free(user_code);

    printf("Waiting for the user to approve... ");
    fflush(stdout);
    if (iec_user_tokens(id, &tokens) != 0) {
        return failed("User token request");
    }
    printf("Done\n");
    printf("Received user tokens: %s\n", tokens);
    free(tokens);
    return 0;
}
