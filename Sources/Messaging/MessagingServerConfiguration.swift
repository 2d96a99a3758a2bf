public import IECCrypto

/// Everything `MessagingServer` needs; the first four members are the
/// original's `zmq_server` keys, the rest have documented defaults.
///
/// `description` never shows the secret key.
public struct MessagingServerConfiguration: Sendable, CustomStringConvertible {
    /// `zmq_server.endpoint`: where the ROUTER socket binds, such as
    /// `tcp://*:5556` (the original's) or `tcp://127.0.0.1:*` (any free port:
    /// read the one chosen from `MessagingServer.endpoint`).
    public var endpoint: String
    /// `zmq_server.secret_key` (and `public_key`): the server's CURVE key pair.
    public var serverKeys: CurveKeyPair
    /// `zmq_server.client_public_keys`: the Z85 public keys of the clients
    /// allowed to connect. Empty allows no client at all.
    public var clientPublicKeys: [String]
    /// `zmq_server.whitelist`: the IP addresses allowed to connect, compared
    /// exactly (after writing both the canonical way). Empty allows any address.
    public var whitelist: [String]
    /// The largest frame accepted, in bytes (`ZMQ_MAXMSGSIZE`): a client that
    /// sends a larger one is disconnected. Default 256 KiB.
    public var maxMessageBytes: Int = 256 * 1024
    /// Messages queued per connection in each direction (`ZMQ_RCVHWM`,
    /// `ZMQ_SNDHWM`). Default 1000, libzmq's.
    public var highWaterMark: Int = 1000
    /// Replies waiting for the socket thread at most; beyond, `send` fails
    /// with `.overloaded`. Default 10 000.
    public var maxQueuedReplies: Int = 10_000
    /// The time a client has to complete the CURVE handshake
    /// (`ZMQ_HANDSHAKE_IVL`). Default 10 seconds.
    public var handshakeTimeout: Duration = .seconds(10)
    /// How long replies still queued may delay `shutdown()` (the ROUTER's
    /// `ZMQ_LINGER` when it closes). Default 500 ms.
    public var shutdownLinger: Duration = .milliseconds(500)
    /// Repeats of one refusal (same reason, address and key) are logged once
    /// per window, with a count of those left out. Default 60 seconds.
    public var logRepeatWindow: Duration = .seconds(60)

    public init(endpoint: String, serverKeys: CurveKeyPair, clientPublicKeys: [String], whitelist: [String]) {
        self.endpoint = endpoint
        self.serverKeys = serverKeys
        self.clientPublicKeys = clientPublicKeys
        self.whitelist = whitelist
    }

    public var description: String {
        "MessagingServerConfiguration(endpoint: \(endpoint), server public key: \(serverKeys.publicKeyZ85), "
            + "\(clientPublicKeys.count) client keys, whitelist: \(whitelist), maxMessageBytes: \(maxMessageBytes))"
    }

    /// The checks `MessagingServer.init` makes; each message names the member.
    func validated() throws(MessagingError) -> ZAPAuthenticator {
        func invalid(_ message: String) -> MessagingError { MessagingError(.invalidConfiguration, message) }
        guard !endpoint.isEmpty else { throw invalid("endpoint is empty") }
        guard maxMessageBytes > 0 else { throw invalid("maxMessageBytes must be positive, not \(maxMessageBytes)") }
        guard (0...Int(Int32.max)).contains(highWaterMark) else { throw invalid("highWaterMark \(highWaterMark) is out of range") }
        guard maxQueuedReplies > 0 else { throw invalid("maxQueuedReplies must be positive, not \(maxQueuedReplies)") }
        guard handshakeTimeout >= .zero else { throw invalid("handshakeTimeout is negative") }
        guard shutdownLinger >= .zero else { throw invalid("shutdownLinger is negative") }
        var keys: [[UInt8]] = []
        for (index, key) in clientPublicKeys.enumerated() {
            guard CurveKeyPair.isValidZ85Key(key), let bytes = try? Z85.decode(key) else {
                throw invalid("clientPublicKeys[\(index)] is not a CURVE public key (40 Z85 characters)")
            }
            keys.append(bytes)
        }
        for (index, address) in whitelist.enumerated() where IPAddress.normalized(address) == nil {
            throw invalid("whitelist[\(index)] \"\(address)\" is not an IP address")
        }
        return ZAPAuthenticator(allowedClientKeys: keys, whitelist: whitelist)
    }
}
