/*
 * run_device_custom_command: run a custom command for a device. iec-am runs
 * the script the realm maps to the command (IEC service settings,
 * command_scripts); an unmapped command fails with
 * "Error: am_error, Description: no script found for command, URL: ".
 *
 *     ./run_device_custom_command [device-id [command [params]]]
 *         (default: Narwhal HELLO_WORLD '{}')
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
    char *command = argc > 2 ? argv[2] : "HELLO_WORLD";
    char *params = argc > 3 ? argv[3] : "{}";
    char *response = NULL;

    printf("*** Running run_device_custom_command\n");
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

    printf("Executing custom command %s with params %s... ", command, params);
    fflush(stdout);
    if (iec_device_custom_command(id, command, params, &response) != 0) {
        return failed("Custom command request");
    }
    printf("Done\n");
    printf("Received response: %s\n", response);
    free(response);
    return 0;
}
