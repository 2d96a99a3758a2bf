/*
 * register_device: register a device with registration data, which the
 * realm's attestation script sees (and iec-am then discards).
 *
 *     ./register_device [device-id]        (default: Narwhal)
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
    char *regData = "{\"custom_data\":\"here\"}";

    printf("*** Running register_device\n");
    printf("Initialising sdk... ");
    fflush(stdout);
    if (iec_initialise() != 0) {
        return failed("Initialisation");
    }
    printf("Done\n");

    printf("Registering device (id: %s) with registration data %s... ", id, regData);
    fflush(stdout);
    if (iec_device_register(id, regData) != 0) {
        return failed("Registration");
    }
    printf("Done\n");
    return 0;
}
