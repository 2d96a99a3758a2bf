internal import Glibc
internal import IECConfig
internal import IECCrypto
internal import IECGatewayStore
internal import IECJSON

/// The settings an `IECClient` runs with: `iec-sdk.db` (what
/// `iecutil -file sdk-config.json -initialise sdk` wrote), overridden by the
/// attributes the app set, then checked.
public struct IECClientConfiguration: Sendable, Hashable {
    /// The gateway's address, `zmq_client.endpoint` (`tcp://HOST:PORT` or `ipc://PATH`).
    public var endpoint: String
    /// This app's CURVE secret key, 40 Z85 characters.
    public var secretKey: String
    /// This app's CURVE public key; it must belong to `secretKey`.
    public var publicKey: String
    /// The gateway's CURVE public key.
    public var serverPublicKey: String
    /// How long one request may wait for the gateway's answer, in seconds.
    public var messageTimeoutSeconds: Int
    /// The app's identity name (`client_configuration.id`).
    public var clientID: String
    public var loggingEnabled: Bool
    public var loggingDebug: Bool
    /// The log file; no log is written without one.
    public var loggingLogfile: String?
    public var loggingMaxSizeMB: Int
    public var loggingMaxBackups: Int
    public var loggingMaxAgeDays: Int
    public var loggingCompressBackups: Bool
    /// The database the settings came from, when one was read.
    public var databasePath: String?

    /// The database's name, looked for in the working directory.
    public static let defaultDatabaseName = "iec-sdk.db"
    /// An environment variable naming the database instead (ours; the original looked in the working directory only).
    public static let databaseEnvironmentVariable = "IEC_SDK_DB"

    /// Reads the database and applies `attributes` over it.
    ///
    /// - Parameter database: a path that must exist; nil looks for `$IEC_SDK_DB`,
    ///   then `iec-sdk.db` in the working directory, and goes on without a
    ///   database when there is none (then the attributes must say everything).
    public static func resolve(database: String? = nil, attributes: IECClientAttributes) throws(IECClientError) -> IECClientConfiguration {
        var path: String?
        if let database {
            guard access(database, F_OK) == 0 else {
                throw IECClientError(.configurationError, "the SDK database \(database) does not exist: run iecutil -file sdk-config.json -initialise sdk -output \(database)")
            }
            path = database
        } else if let named = getenv(databaseEnvironmentVariable).map({ String(cString: $0) }), !named.isEmpty {
            guard access(named, F_OK) == 0 else {
                throw IECClientError(.configurationError, "\(databaseEnvironmentVariable) names \(named), which does not exist")
            }
            path = named
        } else if access(defaultDatabaseName, F_OK) == 0 {
            path = defaultDatabaseName
        }

        var stored: SDKConfiguration?
        if let path {
            do {
                let database = try GatewayDatabase(path: path, keyFile: nil)
                stored = try SDKConfiguration.parse(try database.configuration().serializedBytes(), source: path)
            } catch {
                throw IECClientError(.configurationError, "cannot read the SDK database \(path): \(error) (remove it and run iecutil -file sdk-config.json -initialise sdk again)")
            }
        }
        return try merge(stored, attributes, databasePath: path)
    }

    static func merge(_ stored: SDKConfiguration?, _ attributes: IECClientAttributes, databasePath: String?) throws(IECClientError) -> IECClientConfiguration {
        let required: [(IECClientAttribute, String?)] = [
            (.endpoint, attributes.endpoint ?? stored?.endpoint), (.secretKey, attributes.secretKey ?? stored?.secretKey),
            (.publicKey, attributes.publicKey ?? stored?.publicKey), (.serverPublicKey, attributes.serverPublicKey ?? stored?.serverPublicKey),
            (.clientID, attributes.clientID ?? stored?.clientID),
        ]
        let missing = required.filter { $0.1 == nil }.map(\.0.description)
        guard missing.isEmpty else {
            let place = databasePath == nil
                ? "there is no \(defaultDatabaseName) in the working directory (run iecutil -file sdk-config.json -initialise sdk there)"
                : "\(databasePath!) lacks them"
            throw IECClientError(.configurationError, "not configured: \(missing.joined(separator: ", ")) not set, and \(place)")
        }
        let logging = stored?.logging ?? LoggingConfiguration()
        var configuration = IECClientConfiguration(
            endpoint: required[0].1!, secretKey: required[1].1!, publicKey: required[2].1!, serverPublicKey: required[3].1!,
            messageTimeoutSeconds: attributes.messageTimeoutSeconds ?? stored?.messageTimeoutSeconds ?? 5, clientID: required[4].1!,
            loggingEnabled: attributes.loggingEnabled ?? logging.enabled, loggingDebug: attributes.loggingDebug ?? logging.debug,
            loggingLogfile: attributes.loggingLogfile ?? logging.logfile, loggingMaxSizeMB: attributes.loggingMaxSizeMB ?? logging.maxFileSizeMB,
            loggingMaxBackups: attributes.loggingMaxBackups ?? logging.maxBackupFiles,
            loggingMaxAgeDays: attributes.loggingMaxAgeDays ?? logging.maxFileAgeDays,
            loggingCompressBackups: attributes.loggingCompressBackups ?? logging.compressFileBackups, databasePath: databasePath)
        try configuration.validate()
        if configuration.loggingLogfile?.isEmpty == true { configuration.loggingLogfile = nil }
        return configuration
    }

    /// Checks every setting, naming the attribute (and the sdk-config.json key) that is wrong.
    public func validate() throws(IECClientError) {
        func fail(_ attribute: IECClientAttribute, _ key: String, _ message: String) -> IECClientError {
            IECClientError(.configurationError, "\(attribute) (\(key)): \(message)")
        }
        guard endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://"), endpoint.count > 6 else {
            throw fail(.endpoint, "zmq_client.endpoint", "expected a ZeroMQ endpoint such as tcp://127.0.0.1:5556, not \"\(endpoint.prefix(60))\"")
        }
        let hint = "a 40-character Z85 CURVE key (iecutil keygen curve makes one)"
        guard CurveKeyPair.isValidZ85Key(secretKey), let pair = try? CurveKeyPair(secretKeyZ85: secretKey) else {
            throw fail(.secretKey, "zmq_client.secret_key", "expected \(hint)")
        }
        guard CurveKeyPair.isValidZ85Key(publicKey) else { throw fail(.publicKey, "zmq_client.public_key", "expected \(hint)") }
        guard pair.publicKeyZ85 == publicKey else {
            throw fail(.publicKey, "zmq_client.public_key", "does not belong to the secret key (the secret key's public key is \(pair.publicKeyZ85))")
        }
        guard CurveKeyPair.isValidZ85Key(serverPublicKey) else {
            throw fail(.serverPublicKey, "zmq_client.server_public_key", "expected \(hint): the gateway's zmq_server public key")
        }
        guard serverPublicKey != publicKey else {
            throw fail(.serverPublicKey, "zmq_client.server_public_key", "is this app's own public key; it must be the gateway's")
        }
        guard (1...3600).contains(messageTimeoutSeconds) else {
            throw fail(.messageTimeoutSeconds, "zmq_client.msg_timeout_sec", "must be between 1 and 3600 seconds, not \(messageTimeoutSeconds)")
        }
        guard !clientID.isEmpty, clientID.utf8.count <= 128, !clientID.contains("/") else {
            throw fail(.clientID, "client_configuration.id", "expected the app's name: 1 to 128 characters, no '/'")
        }
    }
}
