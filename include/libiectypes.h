/*
 * libiectypes.h -- the types of the OpenIEC SDK's C API (libiecclient).
 *
 * Version 1.0.0: the same enum, in the same order and with the same values,
 * as the original IEC SDK 6.5's libiectypes.h, so that apps written for it
 * build unchanged. Included by libiecclient.h; apps include that one.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef LIBIECTYPES_H
#define LIBIECTYPES_H

#define IEC_SDK_VERSION_MAJOR 1
#define IEC_SDK_VERSION_MINOR 0
#define IEC_SDK_VERSION_PATCH 0
#define IEC_SDK_VERSION "1.0.0"

/*
 * The settings iec_set_attribute() takes, each with the sdk-config.json key it
 * overrides. Values are text: strings as they are, integers in decimal (an
 * optional sign, then digits), bools as 1 t T TRUE true True or
 * 0 f F FALSE false False.
 */
typedef enum iec_sdk_attribute {
    IEC_ENDPOINT = 0,                /* zmq_client.endpoint, e.g. "tcp://127.0.0.1:5556"        */
    IEC_SECRETKEY = 1,               /* zmq_client.secret_key: this app's CURVE secret key (Z85) */
    IEC_PUBLICKEY = 2,               /* zmq_client.public_key: this app's CURVE public key       */
    IEC_SERVERPUBLICKEY = 3,         /* zmq_client.server_public_key: the gateway's public key   */
    IEC_MSGTIMEOUTSEC = 4,           /* zmq_client.msg_timeout_sec: integer, 1 to 3600           */
    IEC_CLIENT_ID = 5,               /* client_configuration.id: the app's identity name         */
    IEC_LOGGING_ENABLED = 6,         /* logging.enabled: bool                                    */
    IEC_LOGGING_DEBUG = 7,           /* logging.debug: bool                                      */
    IEC_LOGGING_LOGFILE = 8,         /* logging.logfile: path; without one nothing is logged     */
    IEC_LOGGING_MAXSIZE = 9,         /* logging.max_file_size_mb: integer, 1 to 10240            */
    IEC_LOGGING_MAXBACKUPS = 10,     /* logging.max_backup_files: integer, 0 to 1000             */
    IEC_LOGGING_MAXAGE = 11,         /* logging.max_file_age_days: integer, 0 (no limit) or more */
    IEC_LOGGING_COMPRESSBACKUPS = 12 /* logging.compress_file_backups: bool                      */
} iec_sdk_attribute;

#endif /* LIBIECTYPES_H */
