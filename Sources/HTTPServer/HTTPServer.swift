internal import Glibc
public import IECLog
internal import Synchronization

/// An HTTP/1.1 server on libmicrohttpd.
///
/// Handlers run synchronously on the server's threads (`threads`, each an epoll
/// loop). Keep-alive is on (HTTP/1.1's default); every response carries
/// `X-Request-ID`; every answered request gets one access-log line at info level
/// (method, path without the query, status, duration, body bytes, remote address,
/// request id; never bodies, queries or header values).
///
/// ```swift
/// var router = Router()
/// router.get("/health/live") { _ in .text("ok") }
/// let server = HTTPServer(configuration: .init(port: 0), responder: router, logger: logger)
/// try server.start()
/// // ... server.port ...
/// server.shutdown()
/// ```
public final class HTTPServer: Sendable {
    public let configuration: HTTPServerConfiguration
    /// The server's request metrics (render them on a `/metrics` route).
    public let metrics: HTTPMetrics
    private let core: ServerCore
    private let logger: Logger
    private let state = Mutex<State>(.idle)
    private let boundPort = Atomic<Int>(0)

    private enum State {
        case idle
        case running(MHDDaemon)
        case stopping
        case stopped
    }

    /// Makes a server; nothing listens until `start()`.
    public init(configuration: HTTPServerConfiguration, responder: any HTTPResponder, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = HTTPMetrics()
        self.core = ServerCore(configuration: configuration, responder: responder, logger: logger, metrics: metrics)
    }

    /// Binds the address and starts answering; returns once the server listens.
    ///
    /// - Throws: `HTTPServerError`: invalid configuration, address in use or not
    ///   available, permission denied, a certificate or key that does not load,
    ///   or a second start.
    public func start() throws {
        try state.withLock { state throws(HTTPServerError) in
            guard case .idle = state else {
                throw HTTPServerError(.alreadyStarted, "start() was already called on this server")
            }
            try configuration.validate()
            let daemon = try MHDDaemon.start(configuration: configuration, core: core)
            boundPort.store(daemon.port, ordering: .relaxed)
            state = .running(daemon)
        }
        let scheme = configuration.tls == nil ? "http" : "https"
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        logger.notice("HTTP server listening", [
            ("url", "\(scheme)://\(host):\(port)"), ("threads", String(configuration.threads)),
        ])
    }

    /// The port the server listens on (the kernel's pick when configured with 0);
    /// 0 before `start()`.
    public var port: Int { boundPort.load(ordering: .relaxed) }

    /// Requests being received, handled or sent right now.
    public var requestsInFlight: Int { metrics.requestsInFlight }

    /// Stops gracefully: refuses new connections at once, lets requests in
    /// progress finish for up to `shutdownGracePeriod` seconds (their responses
    /// carry `Connection: close`), then closes every connection and joins the
    /// server's threads. Idempotent: later calls (and calls while another
    /// shutdown runs) return at once. Call it from outside the handlers (e.g. on
    /// SIGTERM), never from a handler: it would wait for itself.
    public func shutdown() {
        let daemon: MHDDaemon? = state.withLock { state in
            guard case .running(let daemon) = state else {
                if case .idle = state { state = .stopped }
                return nil
            }
            state = .stopping
            return daemon
        }
        guard let daemon else { return }
        core.draining.store(true, ordering: .relaxed)
        daemon.quiesce()
        let waitStarted = monotonicNanoseconds()
        let grace = UInt64(max(0, configuration.shutdownGracePeriod) * 1e9)
        var waiting = metrics.requestsInFlight
        while waiting > 0 && monotonicNanoseconds() &- waitStarted < grace {
            usleep(2_000)
            waiting = metrics.requestsInFlight
        }
        daemon.stop()
        state.withLock { $0 = .stopped }
        let waited = Double(monotonicNanoseconds() &- waitStarted) / 1e9
        if waiting > 0 {
            logger.warning("HTTP server stopped; requests still in progress were cut off", [
                ("in_flight", String(waiting)), ("waited_ms", formatMilliseconds(waited)),
            ])
        } else {
            logger.notice("HTTP server stopped", [("port", String(port)), ("waited_ms", formatMilliseconds(waited))])
        }
    }

    deinit {
        shutdown()
    }
}
