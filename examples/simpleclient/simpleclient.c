/*
 * simpleclient: the IEC SDK's smallest app, as in the installation guide.
 * Sets attributes, initialises the SDK (iec-sdk.db in the working directory),
 * registers device Narwhal, prints its configuration and its tokens, and runs
 * the 'Hello World' custom command, which fails with an am_error until the
 * realm maps HELLO_WORLD to a script.
 *
 *     gcc simpleclient.c -I include -L lib -liecclient -o simpleclient
 *     LD_LIBRARY_PATH=lib ./simpleclient
 */
#include <stdio.h>
#include <stdlib.h>

#include <libiecclient.h>

#define DEVICE_ID "Narwhal"

/* Prints why the last call failed; iec_last_error() hands over a copy to free(). */
static int failed(const char *what)
{
    char *error = iec_last_error();
    printf("%s failed: %s\n", what, error ? error : "(no error recorded)");
    free(error);
    return 1;
}

static void step(const char *text)
{
    fputs(text, stdout);
    fflush(stdout);
}

int main(void)
{
    char *config = NULL;
    char *tokens = NULL;
    char *response = NULL;

    printf("*** Running simpleclient\n");

    step("Setting attributes ... ");
    if (iec_set_attribute(IEC_LOGGING_ENABLED, "true") != 0 ||
        iec_set_attribute(IEC_LOGGING_DEBUG, "true") != 0 ||
        iec_set_attribute(IEC_LOGGING_LOGFILE, "simpleclient.log") != 0) {
        return failed("Setting attributes");
    }
    printf("Done\n");

    step("Initialising sdk... ");
    if (iec_initialise() != 0) {
        return failed("Initialisation");
    }
    printf("Done\n");

    step("Registering device (id: " DEVICE_ID ")... ");
    if (iec_device_register(DEVICE_ID, NULL) != 0) {
        return failed("Registration");
    }
    printf("Done\n");

    step("Requesting configuration for device (id: " DEVICE_ID ")... ");
    if (iec_device_configuration(DEVICE_ID, &config) != 0) {
        return failed("Configuration request");
    }
    printf("Done\n");
    printf("Received configuration: %s\n", config);
    free(config);

    step("Requesting tokens for device (id: " DEVICE_ID ")... ");
    if (iec_device_tokens(DEVICE_ID, &tokens) != 0) {
        return failed("Token request");
    }
    printf("Done\n");
    printf("Received tokens: %s\n", tokens);
    free(tokens);

    step("Executing 'Hello World' custom command... ");
    if (iec_device_custom_command(DEVICE_ID, "HELLO_WORLD", "{}", &response) != 0) {
        failed("Custom command request");
    } else {
        printf("Done\n");
        printf("Received response: %s\n", response);
        free(response);
    }
    return 0;
}
