import Glibc
import IECClient
import IECCrypto
import IECJSON
import IECLog
import Messaging

/// A gateway that answers the SDK's requests with canned results, on a real
/// ZeroMQ/CURVE server (127.0.0.1, a free port): the SDK's side is tested
/// without iecservice or iec-am. `answer` gets each request and returns the
/// reply's `result` or an error; requests are recorded.
final class FakeGateway: @unchecked Sendable {
    enum Reply {
        case result(JSONValue)
        case error(String, String, url: String = "")
        /// No answer at all (a request that times out).
        case silence
    }

    let server: MessagingServer
    let serverKeys = CurveKeyPair()
    let clientKeys = CurveKeyPair()
    private let lock = NSLockish()
    private var received: [JSONValue] = []

    init(answer: @escaping @Sendable (JSONValue) -> Reply = FakeGateway.standard) throws {
        let configuration = MessagingServerConfiguration(
            endpoint: "tcp://127.0.0.1:*", serverKeys: serverKeys, clientPublicKeys: [clientKeys.publicKeyZ85], whitelist: ["127.0.0.1"])
        let server = try MessagingServer(configuration: configuration, logger: .disabled)
        self.server = server
        try server.start { [weak self] message in
            guard let request = try? JSONValue.parse(message.payload) else { return }
            self?.lock.withLock { self?.received.append(request) }
            let reply: JSONValue
            switch answer(request) {
            case .silence: return
            case .result(let result):
                reply = ["v": 1, "request_id": request["request_id"] ?? .null, "ok": true, "result": result]
            case .error(let code, let description, let url):
                reply = ["v": 1, "request_id": request["request_id"] ?? .null, "ok": false,
                         "error": ["code": .string(code), "description": .string(description), "url": .string(url)]]
            }
            try? server.send(reply.serializedBytes(), to: message.peer)
        }
    }

    deinit { server.shutdown() }

    var requests: [JSONValue] { lock.withLock { received } }

    func operations() -> [String] { requests.compactMap { $0["op"]?.stringValue } }

    /// The attributes of an app this gateway admits.
    func attributes(clientID: String = "app-test", timeout: Int = 2) -> IECClientAttributes {
        IECClientAttributes(
            endpoint: server.endpoint, secretKey: clientKeys.secretKeyZ85, publicKey: clientKeys.publicKeyZ85,
            serverPublicKey: serverKeys.publicKeyZ85, messageTimeoutSeconds: timeout, clientID: clientID)
    }

    /// The answers of a healthy gateway and iec-am.
    static let standard: @Sendable (JSONValue) -> Reply = { request in
        let device = request["device_id"]?.stringValue ?? ""
        switch request["op"]?.stringValue {
        case "initialise": return .result(["client_id": request["client_id"] ?? .null])
        case "register_device": return .result(["device_id": .string(device)])
        case "device_configuration": return .result(device == "Configured" ? ["minimum": 7, "name": "sensor"] : [:])
        case "device_tokens":
            if device == "Unknown" { return .error("am_error", "unknown device Unknown: register it first") }
            return .result(["access_token": .string("at-\(device)"), "id_token": .string("it-\(device)"), "token_type": "Bearer", "expires_in": "3599"])
        case "custom_command": return .error("am_error", "no script found for command")
        case "introspect": return .result(["active": true, "sub": "Narwhal", "scope": "openid"])
        case "user_code":
            return .result(["user_code": "ABCD-EFGH", "device_code": "dc-1", "verification_url": "http://am/device", "verification_uri": "http://am/device",
                            "verification_uri_complete": "http://am/device?user_code=ABCD-EFGH", "expires_in": 30, "interval": 1])
        default: return .error("unknown_operation", "unknown operation")
        }
    }
}

/// A tiny pthread lock for the fake's bookkeeping.
final class NSLockish: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

/// A TCP port on 127.0.0.1 where nothing listens (bound, then closed).
func closedPort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Seconds on the monotonic clock.
func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
