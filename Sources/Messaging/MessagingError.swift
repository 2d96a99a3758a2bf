/// Why a messaging operation failed.
///
/// Compare `code` with the static members of `MessagingError.Code`; the message
/// says what happened in words and never contains key material.
public struct MessagingError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; extensible, so switch with a `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidConfiguration
            case invalidArgument
            case addressInUse
            case addressUnavailable
            case timedOut
            case closed
            case peerUnreachable
            case overloaded
            case alreadyStarted
            case libraryFailure
        }

        private let value: Value

        private init(_ value: Value) { self.value = value }

        /// A configuration value is out of range or malformed (the message names it).
        public static var invalidConfiguration: Self { .init(.invalidConfiguration) }
        /// An argument is malformed: an endpoint ZeroMQ cannot parse, a request with no `request_id`.
        public static var invalidArgument: Self { .init(.invalidArgument) }
        /// Something else already listens on the address and port.
        public static var addressInUse: Self { .init(.addressInUse) }
        /// The address is not one of this machine's, or the interface does not exist.
        public static var addressUnavailable: Self { .init(.addressUnavailable) }
        /// No reply (or no connection to send on) before the timeout.
        public static var timedOut: Self { .init(.timedOut) }
        /// The server or client was shut down, or its ZeroMQ context terminated.
        public static var closed: Self { .init(.closed) }
        /// The peer a reply was meant for is no longer connected.
        public static var peerUnreachable: Self { .init(.peerUnreachable) }
        /// The outbound queue is full: replies arrive faster than the socket can send them.
        public static var overloaded: Self { .init(.overloaded) }
        /// `start(handler:)` was called on a server that was started before.
        public static var alreadyStarted: Self { .init(.alreadyStarted) }
        /// libzmq failed for another reason (the message has its own words).
        public static var libraryFailure: Self { .init(.libraryFailure) }

        public var description: String {
            switch value {
            case .invalidConfiguration: "invalid configuration"
            case .invalidArgument: "invalid argument"
            case .addressInUse: "address already in use"
            case .addressUnavailable: "address not available"
            case .timedOut: "timed out"
            case .closed: "closed"
            case .peerUnreachable: "peer unreachable"
            case .overloaded: "overloaded"
            case .alreadyStarted: "already started"
            case .libraryFailure: "library failure"
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

    public var description: String { "messaging: \(code): \(message)" }
}
