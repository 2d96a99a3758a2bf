/// Why an SDK call failed: the gateway's error code (`am_error`, ...), its
/// description and, when useful, the URL of the iec-am endpoint involved.
///
/// `description` renders the original SDK's text, which apps print:
/// `Error: am_error, Description: no script found for command, URL: `.
public struct IECClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An error code: the gateway's (docs/protocol.md, "Error codes") or one of the SDK's own.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        public var description: String { rawValue }

        // The gateway's codes.
        /// iec-am refused or failed; the description is its message.
        public static let amError: Code = "am_error"
        /// The gateway could not reach iec-am.
        public static let amUnavailable: Code = "am_unavailable"
        /// The gateway has not registered with iec-am yet.
        public static let notRegistered: Code = "not_registered"
        public static let badRequest: Code = "bad_request"
        public static let unsupportedVersion: Code = "unsupported_version"
        public static let unknownOperation: Code = "unknown_operation"
        /// The gateway's call to iec-am took too long.
        public static let timeout: Code = "timeout"
        public static let shuttingDown: Code = "shutting_down"
        public static let internalError: Code = "internal_error"
        // Pairing (RFC 8628), from user_tokens.
        public static let authorizationPending: Code = "authorization_pending"
        public static let slowDown: Code = "slow_down"
        /// The user refused the pairing.
        public static let accessDenied: Code = "access_denied"
        /// The user code expired before the user approved it.
        public static let expiredToken: Code = "expired_token"

        // The SDK's own codes.
        /// The configuration (iec-sdk.db or the attributes) is missing or wrong.
        public static let configurationError: Code = "configuration_error"
        /// No answer from the gateway within the message timeout (`msg_timeout_sec`).
        public static let gatewayTimeout: Code = "gateway_timeout"
        /// The gateway's answer could not be understood.
        public static let protocolError: Code = "protocol_error"
        /// A call before a successful initialise.
        public static let notInitialised: Code = "not_initialised"
        /// An argument is missing or wrong (a NULL id, a bad attribute value).
        public static let invalidArgument: Code = "invalid_argument"
        /// The messaging layer failed (ZeroMQ).
        public static let messagingError: Code = "messaging_error"
    }

    public let code: Code
    /// The human-readable reason (the wire's `description`).
    public let message: String
    /// The iec-am URL involved, or "".
    public let url: String

    public init(_ code: Code, _ message: String, url: String = "") {
        self.code = code
        self.message = message
        self.url = url
    }

    /// `Error: <code>, Description: <message>, URL: <url>`, as the original SDK printed errors.
    public var description: String { "Error: \(code.rawValue), Description: \(message), URL: \(url)" }
}
