public import IECJSON
internal import IECCrypto

/// The `logging` section both config files share, with the original's keys.
public struct LoggingConfiguration: Sendable, Hashable {
    public var logfile: String?
    public var enabled = true
    public var debug = false
    public var maxFileSizeMB = 10
    public var maxBackupFiles = 10
    /// 0 keeps backups whatever their age.
    public var maxFileAgeDays = 0
    public var compressFileBackups = true

    public init() {}

    static func parse(_ object: ConfigObject?, defaultLogfile: String?) throws -> LoggingConfiguration {
        var logging = LoggingConfiguration()
        logging.logfile = defaultLogfile
        guard let object else { return logging }
        logging.logfile = try object.nonEmptyString("logfile") ?? defaultLogfile
        logging.enabled = try object.bool("enabled", default: logging.enabled)
        logging.debug = try object.bool("debug", default: logging.debug)
        logging.maxFileSizeMB = try object.int("max_file_size_mb", default: logging.maxFileSizeMB, in: 1...10_240)
        logging.maxBackupFiles = try object.int("max_backup_files", default: logging.maxBackupFiles, in: 0...1000)
        logging.maxFileAgeDays = try object.int("max_file_age_days", default: logging.maxFileAgeDays, in: 0...36_500)
        logging.compressFileBackups = try object.bool("compress_file_backups", default: logging.compressFileBackups)
        try object.finish()
        return logging
    }

    public var json: JSONValue {
        [
            "logfile": logfile.map(JSONValue.string) ?? .null, "enabled": .bool(enabled), "debug": .bool(debug),
            "max_file_size_mb": .int(Int64(maxFileSizeMB)), "max_backup_files": .int(Int64(maxBackupFiles)),
            "max_file_age_days": .int(Int64(maxFileAgeDays)), "compress_file_backups": .bool(compressFileBackups),
        ]
    }
}

extension ConfigObject {
    /// A CURVE key: 40 Z85 characters decoding to 32 bytes.
    func curveKey(_ key: String, required: Bool) throws -> String? {
        guard let text = try string(key) else {
            if required { throw error(key, "is required (a 40-character Z85 CURVE key; `iecutil keygen curve` makes one)") }
            return nil
        }
        guard CurveKeyPair.isValidZ85Key(text) else { throw error(key, "expected a 40-character Z85 CURVE key") }
        return text
    }

    func curveKeys(_ key: String) throws -> [String] {
        let keys = try stringArray(key) ?? []
        for (index, text) in keys.enumerated() where !CurveKeyPair.isValidZ85Key(text) {
            throw ConfigError(source: source, path: "\(keyPath(key))[\(index)]", message: "expected a 40-character Z85 CURVE key")
        }
        return keys
    }

    func url(_ key: String) throws -> String {
        let text = try requiredString(key)
        let rest = text.hasPrefix("https://") ? text.dropFirst(8) : text.hasPrefix("http://") ? text.dropFirst(7) : ""
        guard !rest.isEmpty, !rest.hasPrefix("/") else {
            throw error(key, "expected an http:// or https:// URL")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}

/// `iec-config.json`, the gateway's configuration: every key of the original
/// (its sample initialises unchanged) and a few of ours, marked "ours".
public struct GatewayConfiguration: Sendable, Hashable {
    // iec_configuration
    public var subject: String
    public var idTokenAudience: String
    public var idTokenIssuer: String
    public var vendorSecret: String
    public var idTokenLifetime: Int
    // am_configuration
    public var amURL: String
    public var realm: String
    public var registrationChain: String
    public var authenticationChain: String
    public var cookieName: String
    /// Base64 SPKI of the realm's challenge key: challenges are checked against it.
    public var amPublicKey: String?
    public var commandEndpointVersion: String
    /// Ours: an extra CA bundle for HTTPS to iec-am (the system's store is always trusted).
    public var caFile: String?
    /// Ours: how long one call to iec-am may take.
    public var requestTimeoutSeconds: Int
    // zmq_server
    public var whitelist: [String]
    public var endpoint: String
    public var secretKey: String
    /// As written in the file; the public key that counts is derived from `secretKey`.
    public var publicKey: String?
    public var clientPublicKeys: [String]
    /// Ours.
    public var maxMessageBytes: Int
    public var workers: Int
    public var logging: LoggingConfiguration

    /// Parses `iec-config.json`; errors name the full key path and the expected type.
    public static func parse(_ bytes: [UInt8], source: String) throws -> GatewayConfiguration {
        let root = try ConfigObject.parse(bytes, source: source)
        guard let iec = try root.object("iec_configuration") else { throw root.error("iec_configuration", "is required (an object)") }
        let subject = try iec.requiredString("id_token_config.subject")
        guard !subject.isEmpty, subject.utf8.count <= 128, !subject.contains("/") else {
            throw iec.error("id_token_config.subject", "expected the gateway's name: 1 to 128 characters, no '/'")
        }
        let audience = try iec.string("id_token_config.audience", default: "am.iec.com")
        let issuer = try iec.string("id_token_config.issuer", default: "edge-device")
        guard let vendorSecret = try iec.nonEmptyString("id_token_config.vendor_secret") else {
            throw iec.error("id_token_config.vendor_secret", "is required (the realm's vendor secret, from iec-am setup)")
        }
        let lifetime = try iec.int("id_token_config.lifetime_seconds", default: 120, in: 1...3600)
        try iec.finish()

        guard let am = try root.object("am_configuration") else { throw root.error("am_configuration", "is required (an object)") }
        let url = try am.url("url")
        var realm = try am.string("realm", default: "/edge")
        if realm.hasPrefix("/") { realm.removeFirst() }
        guard !realm.isEmpty, realm.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw am.error("realm", "expected a realm name such as \"/edge\"")
        }
        let registrationChain = try am.string("registration_chain", default: "device_registration")
        let authenticationChain = try am.string("authentication_chain", default: "device_authentication")
        let cookieName = try am.string("cookie_name", default: "iPlanetDirectoryPro")
        let amPublicKey = try am.nonEmptyString("am_public_key")
        if let amPublicKey {
            guard let der = Base64.decode(amPublicKey), (try? P256.PublicKey(derRepresentation: der)) != nil else {
                throw am.error("am_public_key", "expected a base64 P-256 public key (SubjectPublicKeyInfo), as iec-am setup prints it")
            }
        }
        let version = try am.string("command_endpoint_version", default: "resource=1.0, protocol=2.1")
        let caFile = try am.nonEmptyString("ca_file")
        let timeout = try am.int("request_timeout_seconds", default: 10, in: 1...300)
        try am.finish()

        guard let zmq = try root.object("zmq_server") else { throw root.error("zmq_server", "is required (an object)") }
        let whitelist = try zmq.stringArray("whitelist") ?? []
        let endpoint = try zmq.string("endpoint", default: "tcp://*:5556")
        guard endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://") else { throw zmq.error("endpoint", "expected a ZeroMQ endpoint such as tcp://*:5556") }
        let secretKey = try zmq.curveKey("secret_key", required: true)!
        let publicKey = try zmq.curveKey("public_key", required: false)
        let clientKeys = try zmq.curveKeys("client_public_keys")
        let maxMessageBytes = try zmq.int("max_message_bytes", default: 256 * 1024, in: 1024...16 * 1024 * 1024)
        let workers = try zmq.int("workers", default: 8, in: 1...256)
        try zmq.finish()

        let logging = try LoggingConfiguration.parse(try root.object("logging"), defaultLogfile: "/var/opt/iec/iecservice.log")
        try root.finish()
        return GatewayConfiguration(
            subject: subject, idTokenAudience: audience, idTokenIssuer: issuer, vendorSecret: vendorSecret, idTokenLifetime: lifetime,
            amURL: url, realm: realm, registrationChain: registrationChain, authenticationChain: authenticationChain, cookieName: cookieName,
            amPublicKey: amPublicKey, commandEndpointVersion: version, caFile: caFile, requestTimeoutSeconds: timeout, whitelist: whitelist,
            endpoint: endpoint, secretKey: secretKey, publicKey: publicKey, clientPublicKeys: clientKeys, maxMessageBytes: maxMessageBytes,
            workers: workers, logging: logging)
    }

    /// The document again, normalised, for the gateway's database.
    public var json: JSONValue {
        [
            "iec_configuration": [
                "id_token_config.subject": .string(subject), "id_token_config.audience": .string(idTokenAudience),
                "id_token_config.issuer": .string(idTokenIssuer), "id_token_config.vendor_secret": .string(vendorSecret),
                "id_token_config.lifetime_seconds": .int(Int64(idTokenLifetime)),
            ],
            "am_configuration": [
                "url": .string(amURL), "realm": .string("/" + realm), "registration_chain": .string(registrationChain),
                "authentication_chain": .string(authenticationChain), "cookie_name": .string(cookieName),
                "am_public_key": amPublicKey.map(JSONValue.string) ?? .null, "command_endpoint_version": .string(commandEndpointVersion),
                "ca_file": caFile.map(JSONValue.string) ?? .null, "request_timeout_seconds": .int(Int64(requestTimeoutSeconds)),
            ],
            "zmq_server": [
                "whitelist": .array(whitelist.map(JSONValue.string)), "endpoint": .string(endpoint), "secret_key": .string(secretKey),
                "public_key": publicKey.map(JSONValue.string) ?? .null, "client_public_keys": .array(clientPublicKeys.map(JSONValue.string)),
                "max_message_bytes": .int(Int64(maxMessageBytes)), "workers": .int(Int64(workers)),
            ],
            "logging": logging.json,
        ]
    }
}

/// `sdk-config.json`, an app's SDK configuration, with the original's keys.
public struct SDKConfiguration: Sendable, Hashable {
    public var endpoint: String
    public var secretKey: String
    public var publicKey: String
    public var serverPublicKey: String
    public var messageTimeoutSeconds: Int
    public var clientID: String
    public var logging: LoggingConfiguration

    public init(endpoint: String, secretKey: String, publicKey: String, serverPublicKey: String, messageTimeoutSeconds: Int, clientID: String,
                logging: LoggingConfiguration = .init()) {
        self.endpoint = endpoint
        self.secretKey = secretKey
        self.publicKey = publicKey
        self.serverPublicKey = serverPublicKey
        self.messageTimeoutSeconds = messageTimeoutSeconds
        self.clientID = clientID
        self.logging = logging
    }

    public static func parse(_ bytes: [UInt8], source: String) throws -> SDKConfiguration {
        let root = try ConfigObject.parse(bytes, source: source)
        guard let zmq = try root.object("zmq_client") else { throw root.error("zmq_client", "is required (an object)") }
        let endpoint = try zmq.requiredString("endpoint")
        guard endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://") else { throw zmq.error("endpoint", "expected a ZeroMQ endpoint such as tcp://127.0.0.1:5556") }
        let secretKey = try zmq.curveKey("secret_key", required: true)!
        let publicKey = try zmq.curveKey("public_key", required: true)!
        let serverKey = try zmq.curveKey("server_public_key", required: true)!
        let timeout = try zmq.int("msg_timeout_sec", default: 5, in: 1...3600)
        try zmq.finish()
        let logging = try LoggingConfiguration.parse(try root.object("logging"), defaultLogfile: nil)
        guard let client = try root.object("client_configuration") else { throw root.error("client_configuration", "is required (an object with id)") }
        let id = try client.requiredString("id")
        guard !id.isEmpty, id.utf8.count <= 128, !id.contains("/") else { throw client.error("id", "expected the app's name: 1 to 128 characters, no '/'") }
        try client.finish()
        try root.finish()
        return SDKConfiguration(endpoint: endpoint, secretKey: secretKey, publicKey: publicKey, serverPublicKey: serverKey,
                                messageTimeoutSeconds: timeout, clientID: id, logging: logging)
    }

    public var json: JSONValue {
        [
            "zmq_client": ["endpoint": .string(endpoint), "secret_key": .string(secretKey), "public_key": .string(publicKey),
                           "server_public_key": .string(serverPublicKey), "msg_timeout_sec": .int(Int64(messageTimeoutSeconds))],
            "logging": logging.json,
            "client_configuration": ["id": .string(clientID)],
        ]
    }
}
