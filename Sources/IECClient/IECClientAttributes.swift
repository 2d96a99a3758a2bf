/// One of the SDK's settings, in the order and with the numbers of the original
/// `iec_sdk_attribute` enum (`libiectypes.h`): `iec_set_attribute(IEC_ENDPOINT, ...)`
/// is `IECClientAttribute(rawValue: 0)`.
public enum IECClientAttribute: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// `zmq_client.endpoint`, e.g. `tcp://127.0.0.1:5556`.
    case endpoint = 0
    /// `zmq_client.secret_key`: this app's CURVE secret key (40 Z85 characters).
    case secretKey
    /// `zmq_client.public_key`: this app's CURVE public key.
    case publicKey
    /// `zmq_client.server_public_key`: the gateway's CURVE public key.
    case serverPublicKey
    /// `zmq_client.msg_timeout_sec`: an integer, 1 to 3600.
    case messageTimeoutSeconds
    /// `client_configuration.id`: the app's identity name.
    case clientID
    /// `logging.enabled`: a bool.
    case loggingEnabled
    /// `logging.debug`: a bool.
    case loggingDebug
    /// `logging.logfile`: a path.
    case loggingLogfile
    /// `logging.max_file_size_mb`: an integer.
    case loggingMaxSize
    /// `logging.max_backup_files`: an integer.
    case loggingMaxBackups
    /// `logging.max_file_age_days`: an integer.
    case loggingMaxAge
    /// `logging.compress_file_backups`: a bool.
    case loggingCompressBackups

    /// The C name, e.g. `IEC_ENDPOINT`.
    public var description: String {
        switch self {
        case .endpoint: return "IEC_ENDPOINT"
        case .secretKey: return "IEC_SECRETKEY"
        case .publicKey: return "IEC_PUBLICKEY"
        case .serverPublicKey: return "IEC_SERVERPUBLICKEY"
        case .messageTimeoutSeconds: return "IEC_MSGTIMEOUTSEC"
        case .clientID: return "IEC_CLIENT_ID"
        case .loggingEnabled: return "IEC_LOGGING_ENABLED"
        case .loggingDebug: return "IEC_LOGGING_DEBUG"
        case .loggingLogfile: return "IEC_LOGGING_LOGFILE"
        case .loggingMaxSize: return "IEC_LOGGING_MAXSIZE"
        case .loggingMaxBackups: return "IEC_LOGGING_MAXBACKUPS"
        case .loggingMaxAge: return "IEC_LOGGING_MAXAGE"
        case .loggingCompressBackups: return "IEC_LOGGING_COMPRESSBACKUPS"
        }
    }
}

/// Settings given by the app ("dynamic" initialisation). Each one set overrides
/// the same setting of `iec-sdk.db`; with all of endpoint, keys and client id
/// set, no database is needed.
public struct IECClientAttributes: Sendable, Hashable {
    public var endpoint: String?
    public var secretKey: String?
    public var publicKey: String?
    public var serverPublicKey: String?
    public var messageTimeoutSeconds: Int?
    public var clientID: String?
    public var loggingEnabled: Bool?
    public var loggingDebug: Bool?
    public var loggingLogfile: String?
    public var loggingMaxSizeMB: Int?
    public var loggingMaxBackups: Int?
    public var loggingMaxAgeDays: Int?
    public var loggingCompressBackups: Bool?

    public init(endpoint: String? = nil, secretKey: String? = nil, publicKey: String? = nil, serverPublicKey: String? = nil,
                messageTimeoutSeconds: Int? = nil, clientID: String? = nil) {
        self.endpoint = endpoint
        self.secretKey = secretKey
        self.publicKey = publicKey
        self.serverPublicKey = serverPublicKey
        self.messageTimeoutSeconds = messageTimeoutSeconds
        self.clientID = clientID
    }

    /// Sets `attribute` from its text form, as `iec_set_attribute` does: bools
    /// are `1 t T TRUE true True` or `0 f F FALSE false False`, integers are
    /// decimal (an optional sign, then digits), strings are taken as they are.
    public mutating func set(_ attribute: IECClientAttribute, text: String) throws(IECClientError) {
        func integer(_ range: ClosedRange<Int>) throws(IECClientError) -> Int {
            guard let value = Self.parseInteger(text) else {
                throw IECClientError(.invalidArgument, "\(attribute) takes a decimal integer, not \"\(text.prefix(40))\"")
            }
            guard range.contains(value) else {
                throw IECClientError(.invalidArgument, "\(attribute) must be between \(range.lowerBound) and \(range.upperBound), not \(value)")
            }
            return value
        }
        func boolean() throws(IECClientError) -> Bool {
            guard let value = Self.parseBool(text) else {
                throw IECClientError(.invalidArgument, "\(attribute) takes a bool (1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False), not \"\(text.prefix(40))\"")
            }
            return value
        }
        func string() throws(IECClientError) -> String {
            guard !text.isEmpty else { throw IECClientError(.invalidArgument, "\(attribute) cannot be empty") }
            return text
        }
        switch attribute {
        case .endpoint: endpoint = try string()
        case .secretKey: secretKey = try string()
        case .publicKey: publicKey = try string()
        case .serverPublicKey: serverPublicKey = try string()
        case .messageTimeoutSeconds: messageTimeoutSeconds = try integer(1...3600)
        case .clientID: clientID = try string()
        case .loggingEnabled: loggingEnabled = try boolean()
        case .loggingDebug: loggingDebug = try boolean()
        case .loggingLogfile: loggingLogfile = try string()
        case .loggingMaxSize: loggingMaxSizeMB = try integer(1...10_240)
        case .loggingMaxBackups: loggingMaxBackups = try integer(0...1000)
        case .loggingMaxAge: loggingMaxAgeDays = try integer(0...36_500)
        case .loggingCompressBackups: loggingCompressBackups = try boolean()
        }
    }

    /// The original's bool spellings (Go's `strconv.ParseBool`).
    public static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": return true
        case "0", "f", "F", "FALSE", "false", "False": return false
        default: return nil
        }
    }

    /// A decimal integer: an optional `+` or `-`, then one or more ASCII digits (Go's `strconv.Atoi`).
    public static func parseInteger(_ text: String) -> Int? {
        var digits = Substring(text)
        var negative = false
        if let first = digits.first, first == "+" || first == "-" {
            negative = first == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard let magnitude = Int(digits) else { return nil }
        return negative ? -magnitude : magnitude
    }
}
