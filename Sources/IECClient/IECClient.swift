internal import Glibc
internal import IECCrypto
internal import IECGateway
public import IECJSON
public import IECLog
internal import IECLogFile
internal import Messaging
internal import Synchronization

/// An app's link to the gateway (`iecservice`): the SDK, in Swift.
///
/// ```swift
/// let client = try await IECClient.initialise()            // iec-sdk.db in the working directory
/// try await client.registerDevice("Narwhal")
/// let tokens = try await client.deviceTokens("Narwhal")
/// ```
///
/// Every call is one request to the gateway over ZeroMQ with CURVE
/// (docs/protocol.md) and waits at most `msg_timeout_sec` for its answer.
/// Failures are ``IECClientError``s. The `async` methods run the blocking
/// request on a thread of their own; ``blocking`` offers the same calls
/// without `async` (the C library uses them). A client is safe to use from
/// any number of tasks and threads at once.
public final class IECClient: Sendable {
    /// The settings in use.
    public let configuration: IECClientConfiguration
    private let messaging: MessagingClient
    private let logger: Logger
    private let requestCounter = Atomic<Int64>(0)
    /// The last user code per device, for `userTokens`.
    private let userCodes = Locked<[String: UserCode]>([:])
    /// The log file, when logging goes to one (flushed and closed with the client).
    private let logSink: RotatingFileSink?

    // MARK: Initialising

    /// Reads the configuration, connects to the gateway and registers this app's
    /// client identity with it (the first time; later it is found again).
    ///
    /// - Parameters:
    ///   - database: the SDK database; nil finds `$IEC_SDK_DB` or `iec-sdk.db`
    ///     in the working directory, and runs on `attributes` alone when there is none.
    ///   - attributes: settings that override the database's ("dynamic" initialisation).
    ///   - logger: where the SDK logs; by default the configured log file (or nowhere).
    public static func initialise(database: String? = nil, attributes: IECClientAttributes = .init(), logger: Logger? = nil)
        async throws(IECClientError) -> IECClient
    {
        try await BlockingWork.run { () throws(IECClientError) -> IECClient in
            try initialiseBlocking(database: database, attributes: attributes, logger: logger)
        }
    }

    /// ``initialise(database:attributes:logger:)``, blocking the calling thread.
    public static func initialiseBlocking(database: String? = nil, attributes: IECClientAttributes = .init(), logger: Logger? = nil)
        throws(IECClientError) -> IECClient
    {
        let configuration = try IECClientConfiguration.resolve(database: database, attributes: attributes)
        return try connect(configuration, logger: logger)
    }

    /// Connects with settings already resolved.
    public static func connect(_ configuration: IECClientConfiguration, logger: Logger? = nil) throws(IECClientError) -> IECClient {
        try configuration.validate()
        var sink: RotatingFileSink?
        let chosen: Logger
        if let logger {
            chosen = logger
        } else if configuration.loggingEnabled, let path = configuration.loggingLogfile {
            do {
                let file = try RotatingFileSink(
                    path: path, maxBytes: configuration.loggingMaxSizeMB * 1024 * 1024, maxBackups: configuration.loggingMaxBackups,
                    maxAgeDays: configuration.loggingMaxAgeDays, compress: configuration.loggingCompressBackups)
                sink = file
                chosen = Logger(label: "iecclient", minimumLevel: configuration.loggingDebug ? .debug : .info, sink: file)
            } catch {
                throw IECClientError(.configurationError, "IEC_LOGGING_LOGFILE (logging.logfile): \(error)")
            }
        } else {
            chosen = .disabled
        }
        let messaging: MessagingClient
        do {
            let keys = try CurveKeyPair(secretKeyZ85: configuration.secretKey)
            messaging = try MessagingClient(keys: keys, serverPublicKeyZ85: configuration.serverPublicKey)
            try messaging.connect(to: configuration.endpoint)
        } catch {
            throw IECClientError(.configurationError, "cannot set up the connection to \(configuration.endpoint): \(error)",
                                 url: configuration.endpoint)
        }
        let client = IECClient(configuration: configuration, messaging: messaging, logger: chosen, logSink: sink)
        chosen.info("initialising", [("client", configuration.clientID), ("endpoint", configuration.endpoint),
                                      ("database", configuration.databasePath ?? "none")])
        do throws(IECClientError) {
            _ = try client.call(.initialise)
        } catch {
            client.close()
            throw error
        }
        chosen.info("initialised", [("client", configuration.clientID)])
        return client
    }

    private init(configuration: IECClientConfiguration, messaging: MessagingClient, logger: Logger, logSink: RotatingFileSink?) {
        self.configuration = configuration
        self.messaging = messaging
        self.logger = logger
        self.logSink = logSink
    }

    /// Closes the connection; later calls fail. Also done when the client goes away.
    public func close() {
        messaging.close()
        logSink?.close()
    }

    deinit {
        messaging.close()
        logSink?.close()
    }

    // MARK: The calls

    /// Registers a device under this app. `registrationData` (JSON text) goes to
    /// the realm's attestation script and is then discarded.
    public func registerDevice(_ id: String, registrationData: String? = nil) async throws(IECClientError) {
        try await BlockingWork.run { () throws(IECClientError) in try self.blocking.registerDevice(id, registrationData: registrationData) }
    }

    /// The device's configuration, as an administrator set it (`{}` until then).
    public func deviceConfiguration(_ id: String) async throws(IECClientError) -> JSONValue {
        try await BlockingWork.run { () throws(IECClientError) in try self.blocking.deviceConfiguration(id) }
    }

    /// OAuth2 tokens for the device itself.
    public func deviceTokens(_ id: String) async throws(IECClientError) -> Tokens {
        try await BlockingWork.run { () throws(IECClientError) in try self.blocking.deviceTokens(id) }
    }

    /// A user code to pair the device with a user: show `userCode` and
    /// `verificationURL` to the user, then call ``userTokens(_:code:)``.
    public func userCode(_ id: String) async throws(IECClientError) -> UserCode {
        try await BlockingWork.run { () throws(IECClientError) in try self.blocking.userCode(id) }
    }

    /// Waits until the user approved the pairing, and returns the user's tokens
    /// for the device. Polls the gateway every `interval` seconds (longer after
    /// `slow_down`); fails with `access_denied` when the user refused and with
    /// `expired_token` when the code expired. Cancelling the task stops the polling.
    ///
    /// - Parameter code: the user code to wait for; by default the last one ``userCode(_:)`` got for `id`.
    public func userTokens(_ id: String, code: UserCode? = nil) async throws(IECClientError) -> Tokens {
        let cancelled = CancellationFlag()
        let result: Result<Tokens, IECClientError> = await withTaskCancellationHandler {
            do throws(IECClientError) {
                return .success(try await BlockingWork.run { () throws(IECClientError) in
                    try self.blocking.userTokens(id, code: code, cancelled: cancelled)
                })
            } catch {
                return .failure(error)
            }
        } onCancel: {
            cancelled.cancel()
        }
        switch result {
        case .success(let tokens): return tokens
        case .failure(let error): throw error
        }
    }

    /// Runs a custom command for the device: the realm's script mapped to
    /// `command` runs with `params` (JSON text). Returns `{"response": ...}`.
    public func customCommand(_ id: String, command: String, params: String? = nil) async throws(IECClientError) -> JSONValue {
        try await BlockingWork.run { () throws(IECClientError) in try self.blocking.customCommand(id, command: command, params: params) }
    }

    /// Introspects an OAuth2 token (RFC 7662): `active`, and the token's claims when it is.
    public func introspect(_ token: String) async throws(IECClientError) -> JSONValue {
        try await BlockingWork.run { () throws(IECClientError) in try self.blocking.introspect(token) }
    }

    /// The same calls, blocking the calling thread.
    public var blocking: Blocking { Blocking(client: self) }

    /// ``IECClient``'s calls without `async`: each blocks until the gateway answers
    /// or the message timeout passes.
    public struct Blocking: Sendable {
        let client: IECClient

        public func registerDevice(_ id: String, registrationData: String? = nil) throws(IECClientError) {
            try client.check(id, "the device id")
            _ = try client.call(.registerDevice(deviceID: id, registrationData: registrationData))
        }

        public func deviceConfiguration(_ id: String) throws(IECClientError) -> JSONValue {
            try client.check(id, "the device id")
            return try client.call(.deviceConfiguration(deviceID: id))
        }

        public func deviceTokens(_ id: String) throws(IECClientError) -> Tokens {
            try client.check(id, "the device id")
            return try Tokens(json: try client.call(.deviceTokens(deviceID: id)))
        }

        public func userCode(_ id: String) throws(IECClientError) -> UserCode {
            try client.check(id, "the device id")
            let code = try UserCode(json: try client.call(.userCode(deviceID: id)))
            client.userCodes.withLock { $0[id] = code }
            return code
        }

        public func userTokens(_ id: String, code: UserCode? = nil) throws(IECClientError) -> Tokens {
            try userTokens(id, code: code, cancelled: nil)
        }

        func userTokens(_ id: String, code: UserCode?, cancelled: CancellationFlag?) throws(IECClientError) -> Tokens {
            try client.check(id, "the device id")
            guard let code = code ?? client.userCodes.withLock({ $0[id] }) else {
                throw IECClientError(.invalidArgument, "no user code for device \(id): request one first (iec_user_code)")
            }
            let deadline = Monotonic.now() + Double(code.expiresIn)
            var interval = Double(code.interval)
            while true {
                do throws(IECClientError) {
                    let tokens = try Tokens(json: try client.call(.userTokens(deviceID: id, deviceCode: code.deviceCode)))
                    client.userCodes.withLock { if $0[id]?.deviceCode == code.deviceCode { $0[id] = nil } }
                    return tokens
                } catch where error.code == .authorizationPending {
                } catch where error.code == .slowDown {
                    interval += 5  // RFC 8628 section 3.5
                } catch {
                    if error.code == .accessDenied || error.code == .expiredToken {
                        client.userCodes.withLock { if $0[id]?.deviceCode == code.deviceCode { $0[id] = nil } }
                    }
                    throw error
                }
                guard Monotonic.now() + interval < deadline else {
                    throw IECClientError(.expiredToken, "the user code \(code.userCode) expired before a user approved it")
                }
                if cancelled?.sleep(seconds: interval) ?? Monotonic.sleep(seconds: interval) == false {
                    throw IECClientError(.cancelled, "waiting for the user's approval was cancelled")
                }
            }
        }

        public func customCommand(_ id: String, command: String, params: String? = nil) throws(IECClientError) -> JSONValue {
            try client.check(id, "the device id")
            try client.check(command, "the command")
            return try client.call(.customCommand(deviceID: id, command: command, params: params))
        }

        public func introspect(_ token: String) throws(IECClientError) -> JSONValue {
            try client.check(token, "the token")
            return try client.call(.introspect(token: token))
        }
    }

    // MARK: Requests

    private func check(_ value: String, _ what: String) throws(IECClientError) {
        guard !value.isEmpty else { throw IECClientError(.invalidArgument, "\(what) is empty") }
    }

    /// One request and its answer: the `result` on success, the gateway's error otherwise.
    func call(_ operation: GatewayProtocol.Operation) throws(IECClientError) -> JSONValue {
        let requestID = String(requestCounter.add(1, ordering: .relaxed).newValue)
        let payload = GatewayProtocol.encode(requestID: requestID, clientID: configuration.clientID, operation: operation)
        let timeout = configuration.messageTimeoutSeconds
        let started = Monotonic.now()
        let reply: [UInt8]
        do {
            reply = try messaging.request(payload, timeout: .seconds(timeout))
        } catch {
            let failure = describe(error, timeout: timeout)
            logger.warning("request failed", [("op", operation.name), ("request", requestID), ("code", failure.code.rawValue)])
            throw failure
        }
        let elapsed = String(Int((Monotonic.now() - started) * 1000))
        guard let answer = try? JSONValue.parse(reply, limits: .init(maxBytes: 1 << 20, maxDepth: 64)), case .object = answer else {
            throw IECClientError(.protocolError, "the gateway's answer is not a JSON object", url: configuration.endpoint)
        }
        if answer["ok"]?.boolValue == true {
            logger.debug("request done", [("op", operation.name), ("request", requestID), ("ms", elapsed)])
            return answer["result"] ?? .object([:])
        }
        guard let error = answer["error"], let code = error["code"]?.stringValue else {
            throw IECClientError(.protocolError, "the gateway's answer has neither ok: true nor an error", url: configuration.endpoint)
        }
        // The original SDK reported every iec-am failure as am_error, unreachable included;
        // the description says which.
        let reported = code == GatewayProtocol.ErrorCode.amUnavailable ? GatewayProtocol.ErrorCode.amError : code
        let failure = IECClientError(.init(rawValue: reported), error["description"]?.stringValue ?? "", url: error["url"]?.stringValue ?? "")
        logger.info("request refused", [("op", operation.name), ("request", requestID), ("code", code), ("ms", elapsed)])
        throw failure
    }

    /// A messaging failure in words a developer can act on.
    private func describe(_ error: MessagingError, timeout: Int) -> IECClientError {
        let endpoint = configuration.endpoint
        guard error.code == .timedOut else {
            return IECClientError(.messagingError, "\(error)", url: endpoint)
        }
        let base = "no answer from the gateway within \(timeout) s (msg_timeout_sec)"
        switch GatewayProbe.probe(endpoint) {
        case .refused(let why):
            return IECClientError(.gatewayTimeout, "\(base): \(why); is iecservice running, and is zmq_client.endpoint \(endpoint) its address?",
                                  url: endpoint)
        case .accepting:
            return IECClientError(
                .gatewayTimeout,
                "\(base), though \(endpoint) accepts connections: check the CURVE keys (server_public_key must be the gateway's public key, "
                    + "and this app's public key \(configuration.publicKey) must be in the gateway's zmq_server.client_public_keys, "
                    + "its address in zmq_server.whitelist), or the gateway is overloaded", url: endpoint)
        case .unknown:
            return IECClientError(.gatewayTimeout, "\(base): is iecservice running at \(endpoint), and are the CURVE keys right?", url: endpoint)
        }
    }
}

extension IECClientError.Code {
    /// An async call whose task was cancelled (``IECClient/userTokens(_:code:)``).
    public static let cancelled: Self = "cancelled"
}

/// The monotonic clock in seconds, and sleeping on it.
enum Monotonic {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Sleeps `seconds`; true (for symmetry with `CancellationFlag.sleep`).
    @discardableResult
    static func sleep(seconds: Double) -> Bool {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
        return true
    }
}

/// Set when the waiting task is cancelled; sleeping on it wakes up early.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    func cancel() { flag.store(true, ordering: .releasing) }

    /// Sleeps `seconds` in short steps; false when cancelled.
    func sleep(seconds: Double) -> Bool {
        let end = Monotonic.now() + seconds
        while true {
            if flag.load(ordering: .acquiring) { return false }
            let left = end - Monotonic.now()
            if left <= 0 { return true }
            Monotonic.sleep(seconds: min(left, 0.1))
        }
    }
}
