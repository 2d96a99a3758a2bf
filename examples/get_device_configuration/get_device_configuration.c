/*
 * get_device_configuration: read the configuration an administrator set for a
 * device (in the Edge Identity Manager or iec-am's admin API), and one integer
 * of it, "minimum", with the JSON helpers.
 *
 *     ./get_device_configuration [device-id]        (default: Narwhal)
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
    char *config = NULL;
    int minimum = 0;

    printf("*** Running get_device_configuration\n");
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

    printf("Requesting configuration for device (id: %s)... ", id);
    fflush(stdout);
    if (iec_device_configuration(id, &config) != 0) {
        return failed("Configuration request");
    }
    printf("Done\n");
    printf("Received configuration: %s\n", config);

    if (iec_json_parse(config) != 0) {
        free(config);
        return failed("Parsing the configuration");
    }
    free(config);
    if (iec_json_get_int("minimum", &minimum) == 0) {
        printf("Configuration value minimum: %d\n", minimum);
    } else {
        printf("The configuration has no integer 'minimum'\n");
    }
    return 0;
}
