/*
 * init_sdk_dynamic: initialise the SDK from attributes set by the app
 * ("dynamic" initialisation); no iec-sdk.db is needed. An attribute also
 * overrides the same setting of iec-sdk.db when there is one.
 *
 * A real app has these values from its own configuration; this example takes
 * them from the environment:
 *
 *     IEC_ENDPOINT=tcp://127.0.0.1:5556 IEC_SECRETKEY=... IEC_PUBLICKEY=... \
 *     IEC_SERVERPUBLICKEY=... IEC_CLIENT_ID=my-app [IEC_MSGTIMEOUTSEC=5] ./init_sdk_dynamic
 */
#include <stdio.h>
#include <stdlib.h>

#include <libiecclient.h>

struct setting {
    iec_sdk_attribute attribute;
    const char *variable;
    int required;
};

static const struct setting settings[] = {
    {IEC_ENDPOINT, "IEC_ENDPOINT", 1},
    {IEC_SECRETKEY, "IEC_SECRETKEY", 1},
    {IEC_PUBLICKEY, "IEC_PUBLICKEY", 1},
    {IEC_SERVERPUBLICKEY, "IEC_SERVERPUBLICKEY", 1},
    {IEC_CLIENT_ID, "IEC_CLIENT_ID", 1},
    {IEC_MSGTIMEOUTSEC, "IEC_MSGTIMEOUTSEC", 0},
};

int main(void)
{
    size_t i;
    char *error;

    printf("*** Running init_sdk_dynamic\n");
    printf("Setting attributes ... ");
    fflush(stdout);
    for (i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        char *value = getenv(settings[i].variable);
        if (value == NULL) {
            if (!settings[i].required) {
                continue;
            }
            printf("failed: set %s in the environment\n", settings[i].variable);
            return 2;
        }
        if (iec_set_attribute(settings[i].attribute, value) != 0) {
            error = iec_last_error();
            printf("Setting %s failed: %s\n", settings[i].variable, error);
            free(error);
            return 1;
        }
    }
    printf("Done\n");

    printf("Initialising sdk (settings from attributes)... ");
    fflush(stdout);
    if (iec_initialise() != 0) {
        error = iec_last_error();
        printf("Initialisation failed: %s\n", error);
        free(error);
        return 1;
    }
    printf("Done\n");
    return 0;
}
