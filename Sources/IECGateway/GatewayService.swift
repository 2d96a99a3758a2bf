public import IECConfig
public import IECCrypto
public import IECJSON
public import IECLog
public import JOSE
public import Messaging
internal import Dispatch
internal import Synchronization
internal import Glibc

/// The gateway daemon's heart: it registers the gateway with iec-am (retrying
/// with capped exponential backoff and jitter), keeps its session alive, and
/// serves SDK clients over ZeroMQ, turning their requests into iec-am commands.
public final class GatewayService: Sendable {
    public let configuration: GatewayConfiguration
    let keys: any NodeKeyStore
    let state: any GatewayStateStore
    let am: AMClient
    let logger: Logger
    let clock: any WallClock
    private let session = Mutex<String?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let inFlight = Atomic<Int>(0)
    /// When the socket thread last handed over a request (monotonic nanoseconds), so
    /// that shutdown can wait for the stream of already-sent requests to end.
    private let lastReceived = Atomic<UInt64>(0)
    /// Each node's tokens as the JSON text of the answer's `result` (about 1.1 KB for an
    /// access and an ID token): as parsed values they took nearly three times that.
    private let tokenCache = Mutex<[String: (tokens: [UInt8], refreshAt: Double)]>([:])
    /// Nodes read from or written to `state` by this service: every SDK request checks
    /// its device, and a database read per request (under the database's one
    /// connection) was the gateway's largest cost after the socket I/O (perf).
    /// This process is the only writer of its nodes while it runs.
    private let nodeCache = Mutex<[String: GatewayNode]>([:])
    private let gatewayKey: P256.PrivateKey
    private let workers: WorkerPool
    private let server = Mutex<MessagingServer?>(nil)
    private let loopQueue = DispatchQueue(label: "iecservice.registration")
    private let commandLock = Mutex<Void>(())
    /// Backoff between registration attempts: 1 s doubling to at most `maxBackoff`, with jitter.
    let maxBackoff: Double

    public init(configuration: GatewayConfiguration, keys: any NodeKeyStore, state: any GatewayStateStore, logger: Logger,
                clock: any WallClock = SystemClock(), maxBackoff: Double = 60) throws {
        self.configuration = configuration
        self.keys = keys
        self.state = state
        self.logger = logger
        self.clock = clock
        self.maxBackoff = maxBackoff
        am = try AMClient(configuration: configuration, clock: clock)
        if let key = try keys.privateKey(for: configuration.subject) {
            gatewayKey = key
        } else {
            gatewayKey = try P256.PrivateKey()
            try keys.storeKey(gatewayKey, for: configuration.subject)
        }
        workers = WorkerPool(threads: configuration.workers)
    }

    public var isRegistered: Bool { session.withLock { $0 != nil } }

    // MARK: Life cycle

    /// Binds the ZeroMQ server and starts registering in the background.
    public func start() throws {
        var messaging = MessagingServerConfiguration(
            endpoint: configuration.endpoint, serverKeys: try CurveKeyPair(secretKeyZ85: configuration.secretKey),
            clientPublicKeys: configuration.clientPublicKeys, whitelist: configuration.whitelist)
        messaging.maxMessageBytes = configuration.maxMessageBytes
        if let written = configuration.publicKey, written != messaging.serverKeys.publicKeyZ85 {
            logger.warning("zmq_server.public_key does not match secret_key; clients need the key derived from secret_key",
                           [("derived_public_key", messaging.serverKeys.publicKeyZ85)])
        }
        let server = try MessagingServer(configuration: messaging, logger: logger.labelled("zmq"))
        try server.start { [self] message in
            lastReceived.store(monotonicNanoseconds(), ordering: .relaxed)
            let accepted = workers.submit { [self] in
                let reply = handle(message.payload, client: message.clientPublicKey)
                try? server.send(reply, to: message.peer)
            }
            if !accepted {
                // Answer at once rather than leave the client to time out.
                let failure: GatewayProtocol.Failure = stopping.load(ordering: .relaxed)
                    ? .init(GatewayProtocol.ErrorCode.shuttingDown, "the gateway is stopping")
                    : .init(GatewayProtocol.ErrorCode.internalError, "the gateway is overloaded")
                let requestID = (try? JSONValue.parse(message.payload))?["request_id"]?.stringValue ?? ""
                try? server.send(GatewayProtocol.failure(requestID: requestID, failure), to: message.peer)
            }
        }
        self.server.withLock { $0 = server }
        logger.notice("serving SDK clients", [("endpoint", server.endpoint), ("gateway", configuration.subject)])
        loopQueue.async { [self] in registerLoop(attempt: 1) }
    }

    /// Stops taking work: requests received from now on are answered
    /// `shutting_down`, those already received are finished (for up to `grace`
    /// seconds of iec-am calls), every answer is sent, then the socket closes.
    public func shutdown(grace: Double = 10) {
        stopping.store(true, ordering: .sequentiallyConsistent)
        let deadline = clock.now + grace
        // Requests clients sent before the signal may still sit in ZeroMQ's queues:
        // keep reading (and answering shutting_down) until none has come for 200 ms.
        func busy() -> Bool {
            let quietFor = monotonicNanoseconds() &- lastReceived.load(ordering: .relaxed)
            return inFlight.load(ordering: .sequentiallyConsistent) > 0 || workers.queued > 0 || quietFor < 200_000_000
        }
        while busy(), clock.now < deadline { usleepMillis(10) }
        workers.stop()
        server.withLock { $0 }?.shutdown()
    }

    // MARK: Registration and session

    private func registerLoop(attempt: Int) {
        guard !stopping.load(ordering: .relaxed) else { return }
        let registered = (try? state.node(configuration.subject))??.registered ?? false
        do {
            let token: String
            do {
                token = try am.signIn(key: gatewayKey, register: !registered)
            } catch let error as AMError where registered && error.status == 401 {
                // Known here but not there (the identity was deleted): register again.
                logger.warning("authentication refused; registering again", [("reason", error.message)])
                token = try am.signIn(key: gatewayKey, register: true)
            }
            try putNode(GatewayNode(id: configuration.subject, type: .iec, parentID: nil, registered: true))
            session.withLock { $0 = token }
            logger.notice(registered ? "authenticated with iec-am" : "registered with iec-am", [("gateway", configuration.subject), ("attempt", String(attempt))])
            loopQueue.asyncAfter(deadline: .now() + 60) { [self] in keepAlive() }
        } catch {
            let delay = backoff(attempt: attempt)
            logger.warning("registration attempt failed", [("attempt", String(attempt)), ("error", "\(error)"), ("retry_in_s", String(Int(delay * 10) / 10))])
            loopQueue.asyncAfter(deadline: .now() + delay) { [self] in registerLoop(attempt: attempt + 1) }
        }
    }

    /// Capped exponential backoff with jitter: 1, 2, 4 ... up to `maxBackoff` seconds, each between half and all of that.
    func backoff(attempt: Int) -> Double {
        let ceiling = min(maxBackoff, Double(1 << min(attempt - 1, 16)))
        let jitter = Double(SecureRandom.uniform(1000)) / 1000
        return ceiling * (0.5 + jitter / 2)
    }

    private func keepAlive() {
        guard !stopping.load(ordering: .relaxed), let token = session.withLock({ $0 }) else { return }
        do {
            if try am.validate(session: token) {
                loopQueue.asyncAfter(deadline: .now() + 60) { [self] in keepAlive() }
                return
            }
            logger.info("the session expired; authenticating again")
        } catch let error as AMError where error.isUnreachable {
            logger.warning("iec-am unreachable; keeping the session", [("error", error.message)])
            loopQueue.asyncAfter(deadline: .now() + 15) { [self] in keepAlive() }
            return
        } catch {
            logger.warning("session check failed", [("error", "\(error)")])
        }
        session.withLock { $0 = nil }
        registerLoop(attempt: 1)
    }

    /// Runs a command with the session, signing in again once if iec-am says the session is gone.
    ///
    /// iec-am wants each gateway's command nonces strictly increasing, so
    /// commands go out one at a time: stamping the nonce and sending must not
    /// interleave between workers. (Answers from the token cache and the
    /// protocol checks stay concurrent.)
    func command(_ name: String, nodeID: String?, params: JSONValue) throws -> JSONValue {
        try commandLock.withLock { _ in try sendCommand(name, nodeID: nodeID, params: params) }
    }

    private func sendCommand(_ name: String, nodeID: String?, params: JSONValue) throws -> JSONValue {
        guard let token = session.withLock({ $0 }) else {
            throw GatewayProtocol.Failure(GatewayProtocol.ErrorCode.notRegistered, "the gateway has not registered with iec-am yet; it keeps trying")
        }
        do {
            return try am.command(name, nodeID: nodeID, params: params, session: token, key: gatewayKey)
        } catch let error as AMError where error.status == 401 && error.message.contains("session") {
            let fresh = try am.signIn(key: gatewayKey, register: false)
            session.withLock { $0 = fresh }
            return try am.command(name, nodeID: nodeID, params: params, session: fresh, key: gatewayKey)
        }
    }

    // MARK: Requests

    /// One request in, one answer out (docs/protocol.md). Never throws: every
    /// failure becomes an error answer, mapped here and only here.
    public func handle(_ payload: [UInt8], client publicKey: String = "") -> [UInt8] {
        inFlight.add(1, ordering: .sequentiallyConsistent)
        defer { inFlight.subtract(1, ordering: .sequentiallyConsistent) }
        let request: GatewayProtocol.Request
        switch GatewayProtocol.parse(payload) {
        case .failure(let bad):
            logger.info("bad request", [("code", bad.failure.code), ("reason", bad.failure.description)])
            return GatewayProtocol.failure(requestID: bad.requestID, bad.failure)
        case .success(let parsed):
            request = parsed
        }
        if stopping.load(ordering: .relaxed) {
            return GatewayProtocol.failure(requestID: request.requestID, .init(GatewayProtocol.ErrorCode.shuttingDown, "the gateway is stopping"))
        }
        do {
            if case .deviceTokens(let deviceID) = request.operation {
                try requireDevice(deviceID, client: request.clientID)
                let result = try tokens(for: deviceID)
                logger.debug("request served", [("op", request.operation.name), ("client", request.clientID)])
                return GatewayProtocol.success(requestID: request.requestID, serializedResult: result)
            }
            let result = try perform(request)
            logger.debug("request served", [("op", request.operation.name), ("client", request.clientID)])
            return GatewayProtocol.success(requestID: request.requestID, result: result)
        } catch let failure as GatewayProtocol.Failure {
            logger.info("request refused", [("op", request.operation.name), ("code", failure.code), ("reason", failure.description)])
            return GatewayProtocol.failure(requestID: request.requestID, failure)
        } catch let error as AMError {
            let failure = Self.failure(for: error)
            logger.info("iec-am refused a request", [("op", request.operation.name), ("status", String(error.status)), ("reason", error.message)])
            return GatewayProtocol.failure(requestID: request.requestID, failure)
        } catch {
            logger.error("request failed", [("op", request.operation.name), ("error", "\(error)")])
            return GatewayProtocol.failure(requestID: request.requestID, .init(GatewayProtocol.ErrorCode.internalError, "the gateway could not complete the request"))
        }
    }

    static let pairingStates: Set<String> = ["authorization_pending", "slow_down", "access_denied", "expired_token"]

    static func failure(for error: AMError) -> GatewayProtocol.Failure {
        if error.isUnreachable {
            if error.message.lowercased().contains("timed out") || error.message.lowercased().contains("timeout") {
                return .init(GatewayProtocol.ErrorCode.timeout, "iec-am did not answer in time", url: error.url)
            }
            return .init(GatewayProtocol.ErrorCode.amUnavailable, "iec-am cannot be reached: \(error.message)", url: error.url)
        }
        if pairingStates.contains(error.message) { return .init(error.message, error.message) }
        return .init(GatewayProtocol.ErrorCode.amError, error.message)
    }

    private func perform(_ request: GatewayProtocol.Request) throws -> JSONValue {
        switch request.operation {
        case .ping:
            return ["version": .int(GatewayProtocol.version), "gateway": .string(configuration.subject), "registered": .bool(isRegistered)]
        case .initialise:
            try ensureClient(request.clientID)
            return ["client_id": .string(request.clientID)]
        case .registerDevice(let deviceID, let data):
            try ensureClient(request.clientID)
            try registerDevice(deviceID, client: request.clientID, registrationData: data)
            return ["device_id": .string(deviceID)]
        case .deviceConfiguration(let deviceID):
            try requireDevice(deviceID, client: request.clientID)
            return try command("GET_CONFIG", nodeID: deviceID, params: ["id": .string(deviceID)])
        case .deviceTokens(let deviceID):
            try requireDevice(deviceID, client: request.clientID)
            return try JSONValue.parse(try tokens(for: deviceID))
        case .userCode(let deviceID):
            try requireDevice(deviceID, client: request.clientID)
            return try command("GET_USER_CODE", nodeID: deviceID, params: ["id": .string(deviceID)])
        case .userTokens(let deviceID, let deviceCode):
            try requireDevice(deviceID, client: request.clientID)
            return Self.sdkTokens(try command("GET_USER_TOKENS", nodeID: deviceID, params: ["id": .string(deviceID), "device_code": .string(deviceCode)]))
        case .customCommand(let deviceID, let name, let params):
            try requireDevice(deviceID, client: request.clientID)
            var parameters: JSONValue = .object([:])
            if let params {
                guard let parsed = try? JSONValue.parse(params), parsed.objectValue != nil else {
                    throw GatewayProtocol.Failure(GatewayProtocol.ErrorCode.badRequest, "params must be the text of a JSON object")
                }
                parameters = parsed
            }
            guard name.utf8.count <= 128, !GatewayService.reservedCommands.contains(name) else {
                throw GatewayProtocol.Failure(GatewayProtocol.ErrorCode.badRequest, "\(name.prefix(40)) is not a custom command")
            }
            return try command(name, nodeID: deviceID, params: parameters)
        case .introspect(let token):
            return try command("INTROSPECT", nodeID: nil, params: ["token": .string(token)])
        }
    }

    /// Built-ins have their own operations; a custom command may not name them.
    static let reservedCommands: Set<String> = ["REGISTER_CLIENT", "REGISTER_DEVICE", "GET_IEC_CONFIG", "GET_CLIENT_CONFIG", "GET_TOKENS", "GET_USER_CODE", "GET_USER_TOKENS", "INTROSPECT"]

    private func key(for nodeID: String) throws -> P256.PrivateKey {
        if let key = try keys.privateKey(for: nodeID) { return key }
        let key = try P256.PrivateKey()
        try keys.storeKey(key, for: nodeID)
        return key
    }

    /// A node, from `nodeCache` or else from `state` (then cached).
    private func node(_ id: String) throws -> GatewayNode? {
        if let known = nodeCache.withLock({ $0[id] }) { return known }
        guard let stored = try state.node(id) else { return nil }
        cacheNode(stored)
        return stored
    }

    private func putNode(_ node: GatewayNode) throws {
        try state.putNode(node)
        cacheNode(node)
    }

    private func cacheNode(_ node: GatewayNode) {
        nodeCache.withLock { cache in
            if cache.count > 100_000 { cache.removeAll() }
            cache[node.id] = node
        }
    }

    private func ensureClient(_ clientID: String) throws {
        if let node = try node(clientID) {
            guard node.type == .client else { throw GatewayProtocol.Failure(GatewayProtocol.ErrorCode.badRequest, "\(clientID) is not a client") }
            if node.registered { return }
        }
        let key = try key(for: clientID)
        _ = try command("REGISTER_CLIENT", nodeID: nil, params: ["id": .string(clientID), "jwk": JWK(publicKey: key.publicKey).json])
        try putNode(GatewayNode(id: clientID, type: .client, parentID: configuration.subject, registered: true))
        logger.info("registered a client", [("client", clientID)])
    }

    private func registerDevice(_ deviceID: String, client clientID: String, registrationData: String?) throws {
        if let node = try node(deviceID), node.type != .device || node.parentID != clientID {
            throw GatewayProtocol.Failure(GatewayProtocol.ErrorCode.amError, "\(deviceID) is registered by another client")
        }
        let key = try key(for: deviceID)
        var params: [String: JSONValue] = ["id": .string(deviceID), "client": .string(clientID), "jwk": JWK(publicKey: key.publicKey).json]
        if let registrationData { params["registration_data"] = (try? JSONValue.parse(registrationData)) ?? .string(registrationData) }
        _ = try command("REGISTER_DEVICE", nodeID: nil, params: .object(params))
        try putNode(GatewayNode(id: deviceID, type: .device, parentID: clientID, registered: true))
        logger.info("registered a device", [("device", deviceID), ("client", clientID)])
    }

    private func requireDevice(_ deviceID: String, client clientID: String) throws {
        guard let node = try node(deviceID), node.registered, node.type == .device else {
            throw GatewayProtocol.Failure(GatewayProtocol.ErrorCode.amError, "unknown device \(deviceID): register it first")
        }
        guard node.parentID == clientID else {
            throw GatewayProtocol.Failure(GatewayProtocol.ErrorCode.amError, "\(deviceID) belongs to another client")
        }
    }

    /// Tokens for a node, from the cache until shortly before they expire.
    private func tokens(for nodeID: String) throws -> [UInt8] {
        let now = clock.now
        if let cached = tokenCache.withLock({ $0[nodeID] }), cached.refreshAt > now { return cached.tokens }
        let assertion = try am.assertion(for: nodeID, key: try key(for: nodeID))
        let answer = try command("GET_TOKENS", nodeID: nodeID, params: ["id": .string(nodeID), "assertion": .string(assertion)])
        let lifetime = answer["expires_in"]?.doubleValue ?? 0
        let tokens = Self.sdkTokens(answer).serializedBytes()
        if lifetime > 0 {
            // Refresh with a tenth of the lifetime (at least 30 s, at most 5 min) to spare.
            let margin = min(300, max(30, lifetime / 10))
            tokenCache.withLock { cache in
                if cache.count > 100_000 { cache.removeAll() }
                cache[nodeID] = (tokens, now + lifetime - margin)
            }
        }
        return tokens
    }

    /// The original SDK's token JSON: `expires_in` as a string.
    static func sdkTokens(_ answer: JSONValue) -> JSONValue {
        var tokens: [String: JSONValue] = [:]
        for name in ["access_token", "id_token", "token_type", "refresh_token", "scope"] {
            if let value = answer[name] { tokens[name] = value }
        }
        if let seconds = answer["expires_in"]?.int64Value { tokens["expires_in"] = .string(String(seconds)) }
        return .object(tokens)
    }
}

func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

func usleepMillis(_ milliseconds: Int) {
    var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: milliseconds % 1000 * 1_000_000)
    _ = nanosleep(&request, nil)
}
