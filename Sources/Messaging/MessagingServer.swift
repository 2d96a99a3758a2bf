public import IECLog
internal import Synchronization

/// The gateway's side of the SDK link (DESIGN §3): a ZeroMQ ROUTER socket with
/// CURVE encryption, whose ZAP handler admits only whitelisted addresses and
/// allowed client keys (see `ZAPAuthenticator` for the policy: an empty
/// whitelist admits any address, an empty key list admits no client).
///
/// One socket thread owns every socket: it answers ZAP requests, logs the
/// socket monitor's handshake failures (so that a client with the wrong server
/// key, which sees only a timeout, leaves a trace here), hands each request to
/// the handler, and sends the replies that any thread queued with `send`.
///
/// Requests arrive as [routing id, empty, payload] (what the SDK and a REQ
/// socket send) or [routing id, payload]; the reply goes back in the same
/// shape. Any other shape, and empty payloads, are dropped and logged; frames
/// over `maxMessageBytes` make libzmq drop the connection.
///
/// Each server has a ZeroMQ context of its own (the ZAP endpoint is per context).
public final class MessagingServer: Sendable {
    private enum Lifecycle: Sendable {
        case ready(ServerLoop)
        case running(JoinableThread)
        case stopped
    }

    /// The endpoint the socket is bound to, with the port libzmq chose for `*`
    /// (e.g. `tcp://127.0.0.1:40117`; `tcp://0.0.0.0:5556` for `tcp://*:5556`).
    public let endpoint: String
    private let outbound: OutboundQueue
    private let lifecycle: Mutex<Lifecycle>
    private let logger: Logger

    /// Creates the sockets and binds; nothing is received until `start(handler:)`.
    ///
    /// Throws `.invalidConfiguration` naming the member at fault, `.addressInUse`,
    /// `.addressUnavailable` or `.invalidArgument` (an endpoint libzmq cannot parse).
    public init(configuration: MessagingServerConfiguration, logger: Logger) throws(MessagingError) {
        let authenticator = try configuration.validated()
        let outbound = try OutboundQueue(limit: configuration.maxQueuedReplies)
        let loop = try ServerLoop(configuration: configuration, authenticator: authenticator, outbound: outbound, logger: logger)
        self.endpoint = loop.endpoint
        self.outbound = outbound
        self.logger = logger
        lifecycle = Mutex(.ready(loop))
        logger.info(
            "messaging server listening",
            [("endpoint", loop.endpoint), ("client_keys", String(configuration.clientPublicKeys.count)),
             ("whitelist", configuration.whitelist.isEmpty ? "any" : configuration.whitelist.joined(separator: ","))])
    }

    deinit { shutdown() }

    /// Starts the socket thread; `handler` is called on it for every request.
    ///
    /// The handler runs on the socket thread, so it must return quickly: hand
    /// the work to another thread and answer from there with `send(_:to:)`
    /// (answering from the handler itself works too).
    public func start(handler: @escaping @Sendable (IncomingMessage) -> Void) throws(MessagingError) {
        try lifecycle.withLock { state throws(MessagingError) in
            guard case .ready(let loop) = state else {
                if case .stopped = state { throw MessagingError(.closed, "the server is shut down") }
                throw MessagingError(.alreadyStarted, "the server is running already")
            }
            // The thread keeps the loop (and through it the sockets) alive, not the server.
            let thread = try JoinableThread(name: "iec-messaging") { loop.run(handler: handler) }
            state = .running(thread)
        }
    }

    /// Queues `reply` for `peer`; callable from any thread. Returns once
    /// queued: a peer that has gone by the time the socket thread sends is
    /// logged (debug) and skipped. Throws `.closed` after `shutdown()` and
    /// `.overloaded` when `maxQueuedReplies` replies are waiting already.
    public func send(_ reply: [UInt8], to peer: PeerID) throws(MessagingError) {
        try outbound.enqueue(OutboundQueue.Reply(peer: peer, payload: reply))
    }

    /// Stops the socket thread after it has passed on the replies already
    /// queued, waits for it, and closes the sockets (replies still in flight
    /// get up to `shutdownLinger`). Later `send` calls throw `.closed`.
    ///
    /// Idempotent. Called from the handler (the socket thread itself), it
    /// returns at once and the thread ends after the handler returns.
    public func shutdown() {
        let previous = lifecycle.withLock { state in
            let previous = state
            state = .stopped
            return previous
        }
        outbound.stop()
        switch previous {
        case .ready(let loop):
            loop.close()
        case .running(let thread):
            if thread.isCurrent {
                thread.detach()
            } else {
                thread.join()
            }
            logger.info("messaging server stopped", [("endpoint", endpoint)])
        case .stopped:
            break
        }
    }
}
