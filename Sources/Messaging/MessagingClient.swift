public import IECCrypto
internal import CZMQ
internal import IECJSON
internal import Synchronization

/// The SDK's side of the link: a ZeroMQ DEALER socket with CURVE client keys
/// and the server's public key.
///
/// Wire convention: each request is sent as two frames, [empty, payload] — the
/// envelope a REQ socket uses, so a plain REQ client can speak to the server
/// too — and replies come back the same way. (The server also accepts a bare
/// [payload] and answers it bare.)
///
/// Requests are correlated by the caller's `request_id` (DESIGN §3): a reply
/// that arrives after its request timed out is simply skipped by the next
/// `request`, so a timeout never wedges the socket the way REQ/REP can.
///
/// `ZMQ_IMMEDIATE` is set: a request is only queued on a connection whose
/// handshake has completed, so while the server is unreachable (or refuses
/// us) `send` times out instead of queueing a request that a server could
/// carry out much later.
///
/// Thread-safe: a mutex guards the socket, so one operation at a time runs
/// per client (a `request` holds it from send to reply).
public final class MessagingClient: Sendable {
    private let connection: Mutex<ClientConnection>
    private let maxMessageBytes: Int

    /// - Parameters:
    ///   - keys: this client's CURVE key pair (`zmq_client.secret_key`, `public_key`).
    ///   - serverPublicKeyZ85: `zmq_client.server_public_key`, 40 Z85 characters.
    ///   - maxMessageBytes: the largest reply frame accepted (`ZMQ_MAXMSGSIZE`); a
    ///     server sending more is disconnected. Default 1 MiB.
    ///   - context: a context to share with other clients; by default the client has its own.
    public init(keys: CurveKeyPair, serverPublicKeyZ85: String, maxMessageBytes: Int = 1 << 20, context: MessagingContext? = nil)
        throws(MessagingError)
    {
        guard CurveKeyPair.isValidZ85Key(serverPublicKeyZ85), let serverKey = try? Z85.decode(serverPublicKeyZ85) else {
            throw MessagingError(.invalidConfiguration, "the server public key is not 40 Z85 characters")
        }
        guard maxMessageBytes > 0 else {
            throw MessagingError(.invalidConfiguration, "maxMessageBytes must be positive, not \(maxMessageBytes)")
        }
        let zmqContext: ZMQContext
        if let context { zmqContext = context.context } else { zmqContext = try ZMQContext() }
        let socket = try ZMQSocket(context: zmqContext, type: ZMQ_DEALER)
        try socket.setOption(ZMQ_CURVE_SERVERKEY, bytes: serverKey)
        try socket.setOption(ZMQ_CURVE_PUBLICKEY, bytes: keys.publicKey)
        try socket.setOption(ZMQ_CURVE_SECRETKEY, bytes: keys.secretKey)
        try socket.setOption(ZMQ_MAXMSGSIZE, int64: Int64(maxMessageBytes))
        try socket.setOption(ZMQ_IMMEDIATE, 1)
        self.maxMessageBytes = maxMessageBytes
        connection = Mutex(ClientConnection(socket: socket))
    }

    /// Connects to `endpoint` (e.g. `tcp://127.0.0.1:5556`). Returns at once;
    /// libzmq connects, handshakes and reconnects in the background.
    public func connect(to endpoint: String) throws(MessagingError) {
        try connection.withLock { connection throws(MessagingError) in
            do throws(MessagingError) {
                try connection.open().connect(endpoint)
            } catch {
                throw MessagingError(error.code, "cannot connect to \(endpoint): \(error.message)")
            }
        }
    }

    /// Sends one request, [empty, payload]. Throws `.timedOut` when no
    /// connection could take it within `timeout`.
    public func send(_ payload: [UInt8], timeout: Duration) throws(MessagingError) {
        let deadline = ContinuousClock.now + timeout
        try connection.withLock { connection throws(MessagingError) in
            try connection.send(payload, deadline: deadline)
        }
    }

    /// The next reply's payload, or nil when none arrives within `timeout`.
    /// Malformed replies (not [empty, payload] or [payload]) are skipped.
    public func receive(timeout: Duration) throws(MessagingError) -> [UInt8]? {
        let deadline = ContinuousClock.now + timeout
        return try connection.withLock { connection throws(MessagingError) -> [UInt8]? in
            try connection.receive(deadline: deadline)
        }
    }

    /// Sends `payload`, a JSON object with a `request_id` (string or integer),
    /// and returns the first reply whose `request_id` is the same; replies to
    /// earlier requests (late ones) and replies that are not JSON are skipped.
    ///
    /// Throws `.invalidArgument` when `payload` has no `request_id`, `.timedOut`
    /// when no matching reply arrives within `timeout` (sending included).
    public func request(_ payload: [UInt8], timeout: Duration) throws(MessagingError) -> [UInt8] {
        guard let requestID = Self.requestID(in: payload, limit: payload.count) else {
            throw MessagingError(.invalidArgument, "the request is not a JSON object with a string or integer request_id")
        }
        let deadline = ContinuousClock.now + timeout
        let limit = maxMessageBytes
        return try connection.withLock { connection throws(MessagingError) -> [UInt8] in
            try connection.send(payload, deadline: deadline)
            while let reply = try connection.receive(deadline: deadline) {
                if Self.requestID(in: reply, limit: limit) == requestID { return reply }
            }
            throw MessagingError(.timedOut, "no reply to request \(requestID) within \(timeout)")
        }
    }

    /// Closes the socket; later calls throw `.closed`. Also done when the client goes away.
    public func close() {
        connection.withLock { $0.close() }
    }

    /// The `request_id` member of a JSON object, when it is a string or an integer.
    static func requestID(in payload: [UInt8], limit: Int) -> JSONValue? {
        guard let value = try? JSONValue.parse(payload, limits: JSONParseLimits(maxBytes: max(limit, 1))),
            let id = value["request_id"]
        else { return nil }
        switch id {
        case .string, .int: return id
        default: return nil
        }
    }
}

/// The client's socket and poller, used under the client's mutex only.
final class ClientConnection {
    private var socket: ZMQSocket?
    private var poller: ZMQPoller?

    init(socket: ZMQSocket) {
        self.socket = socket
        poller = ZMQPoller([.socket(socket)])
    }

    func open() throws(MessagingError) -> ZMQSocket {
        guard let socket else { throw MessagingError(.closed, "the client is closed") }
        return socket
    }

    func close() {
        poller = nil
        socket?.close()
        socket = nil
    }

    /// Sends [empty, payload], waiting for a connection that can take it until `deadline`.
    func send(_ payload: [UInt8], deadline: ContinuousClock.Instant) throws(MessagingError) {
        let socket = try open()
        while true {
            if try socket.send([], more: true, dontWait: true) {
                // Once the first frame is taken, the rest of the message is too.
                guard try socket.send(payload, more: false, dontWait: true) else {
                    throw MessagingError(.libraryFailure, "zmq_msg_send: the second frame of a request was refused")
                }
                return
            }
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw MessagingError(.timedOut, "no connection to the server could take the request in time")
            }
            poller?.setEvents(0, ZMQ_POLLOUT)
            try poller?.poll(timeoutMilliseconds: ZMQ.milliseconds(remaining))
        }
    }

    /// The payload of the next well-formed reply, or nil at `deadline`.
    func receive(deadline: ContinuousClock.Instant) throws(MessagingError) -> [UInt8]? {
        let socket = try open()
        while true {
            if let first = try socket.receive(dontWait: true) {
                let (frames, count) = try socket.receiveRest(after: first, keep: 2)
                if count == 2, frames[0].count == 0 { return frames[1].bytes }
                if count == 1, frames[0].count > 0 { return frames[0].bytes }
                continue
            }
            let remaining = deadline - .now
            guard remaining > .zero else { return nil }
            poller?.setEvents(0, ZMQ_POLLIN)
            try poller?.poll(timeoutMilliseconds: ZMQ.milliseconds(remaining))
        }
    }
}
