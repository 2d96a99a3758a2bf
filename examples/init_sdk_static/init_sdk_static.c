/*
 * init_sdk_static: initialise the SDK from iec-sdk.db alone ("static"
 * initialisation). Make the database in the working directory first:
 *
 *     iecutil -file sdk-config.json -initialise sdk
 *     ./init_sdk_static
 *
 * To change the settings, remove iec-sdk.db and run iecutil again.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libiecclient.h>

int main(void)
{
    printf("*** Running init_sdk_static\n");
    printf("Initialising sdk (settings from iec-sdk.db)... ");
    fflush(stdout);
    if (iec_initialise() != 0) {
        char *error = iec_last_error();
        printf("Initialisation failed: %s\n", error);
        free(error);
        return 1;
    }
    printf("Done\n");
    return 0;
}
