/// Why the server could not start.
///
/// Compare `code` with the static members of `HTTPServerError.Code`; the
/// description says what went wrong in words (address, port, libmicrohttpd's
/// own messages) and never contains key material.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; extensible, so switch with a `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidConfiguration
            case addressInUse
            case addressUnavailable
            case permissionDenied
            case tlsFailure
            case alreadyStarted
            case startFailed
        }

        private let value: Value

        private init(_ value: Value) { self.value = value }

        /// A configuration value is out of range or malformed (the message names it).
        public static var invalidConfiguration: Self { .init(.invalidConfiguration) }
        /// Something else already listens on the address and port.
        public static var addressInUse: Self { .init(.addressInUse) }
        /// The host is not an address of this machine (or not an IP literal).
        public static var addressUnavailable: Self { .init(.addressUnavailable) }
        /// Binding the port needs a privilege this process lacks (ports below 1024).
        public static var permissionDenied: Self { .init(.permissionDenied) }
        /// The certificate or key could not be loaded, or TLS is not available.
        public static var tlsFailure: Self { .init(.tlsFailure) }
        /// `start()` was called on a server that was started before.
        public static var alreadyStarted: Self { .init(.alreadyStarted) }
        /// libmicrohttpd refused to start for another reason (see the message).
        public static var startFailed: Self { .init(.startFailed) }

        public var description: String {
            switch value {
            case .invalidConfiguration: "invalid configuration"
            case .addressInUse: "address already in use"
            case .addressUnavailable: "address not available"
            case .permissionDenied: "permission denied"
            case .tlsFailure: "TLS setup failed"
            case .alreadyStarted: "already started"
            case .startFailed: "start failed"
            }
        }
    }

    /// The kind of failure.
    public let code: Code
    /// What happened, for people.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "HTTP server: \(code): \(message)" }
}
