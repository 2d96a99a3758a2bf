internal import IECCrypto

/// The ZAP decision (ZeroMQ RFC 27) for CURVE connections: a value type with
/// no sockets, tested on its own; the server's socket thread feeds it the
/// request frames libzmq sends to `inproc://zeromq.zap.01` and sends back the
/// reply frames it returns.
///
/// Policy, checked in this order:
/// 1. the peer address must be on the whitelist, unless the whitelist is empty
///    (then any address may connect, as in the original);
/// 2. the client's CURVE public key must be on the list of allowed client keys.
///    An empty list allows no client at all: the original's configuration
///    always lists its clients, and a server open to any key pair would make
///    CURVE encryption without authentication.
///
/// An allowed client gets its Z85 public key as ZAP user id, so that each
/// message it sends carries the key in its "User-Id" property.
struct ZAPAuthenticator: Sendable {
    /// Why a connection was refused: words for the log, never a full key.
    struct Refusal: Sendable, Hashable {
        var reason: String
        /// The peer's IP address as libzmq reported it.
        var address: String
        /// The first 8 characters of the client's Z85 public key ("" when there was no key).
        var keyPrefix: String
    }

    enum Verdict: Sendable, Hashable {
        case allowed(address: String, keyPrefix: String)
        case refused(Refusal)
        /// Not a ZAP 1.0 request libzmq would send; answered with status 500.
        case malformed(String)
    }

    struct Outcome: Sendable {
        var reply: [[UInt8]]
        var verdict: Verdict
    }

    /// How many characters of a Z85 key may appear in a log line.
    static let keyPrefixLength = 8

    private let allowedKeys: Set<[UInt8]>
    private let whitelist: Set<String>

    /// - Parameters:
    ///   - allowedClientKeys: 32-byte CURVE public keys.
    ///   - whitelist: IP literals, normalised with `IPAddress.normalized`.
    init(allowedClientKeys: [[UInt8]], whitelist: [String]) {
        allowedKeys = Set(allowedClientKeys)
        self.whitelist = Set(whitelist.map { IPAddress.normalized($0) ?? $0 })
    }

    /// The reply to one ZAP request, and what was decided.
    func handle(_ request: [[UInt8]]) -> Outcome {
        // version, request id, domain, address, routing id, mechanism, credentials...
        let requestID = request.count > 1 ? request[1] : []
        guard request.count >= 6, request[0] == Array("1.0".utf8) else {
            return Outcome(
                reply: Self.reply(requestID: requestID, status: "500", text: "malformed ZAP request"),
                verdict: .malformed("\(request.count) frames, version \(request.first.map { String(decoding: $0, as: UTF8.self) } ?? "none")"))
        }
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        let credentials = Array(request.dropFirst(6))

        guard mechanism == "CURVE", credentials.count == 1, credentials[0].count == X25519.keyByteCount else {
            return refuse(requestID, Refusal(reason: "not a CURVE client (mechanism \(mechanism))", address: address, keyPrefix: ""))
        }
        let key = credentials[0]
        let keyZ85 = (try? Z85.encode(key)) ?? ""
        let keyPrefix = String(keyZ85.prefix(Self.keyPrefixLength))

        if !whitelist.isEmpty {
            let normalized = IPAddress.normalized(address) ?? address
            guard whitelist.contains(normalized) else {
                return refuse(requestID, Refusal(reason: "address not on the whitelist", address: address, keyPrefix: keyPrefix))
            }
        }
        guard allowedKeys.contains(key) else {
            let reason = allowedKeys.isEmpty ? "no client keys are configured" : "client key not on the list"
            return refuse(requestID, Refusal(reason: reason, address: address, keyPrefix: keyPrefix))
        }
        return Outcome(
            reply: Self.reply(requestID: requestID, status: "200", text: "OK", userID: keyZ85),
            verdict: .allowed(address: address, keyPrefix: keyPrefix))
    }

    private func refuse(_ requestID: [UInt8], _ refusal: Refusal) -> Outcome {
        // The status text goes to the client: keep it generic.
        Outcome(reply: Self.reply(requestID: requestID, status: "400", text: "access denied"), verdict: .refused(refusal))
    }

    /// version, request id, status code, status text, user id, metadata (RFC 27 §"ZAP reply").
    static func reply(requestID: [UInt8], status: String, text: String, userID: String = "") -> [[UInt8]] {
        [Array("1.0".utf8), requestID, Array(status.utf8), Array(text.utf8), Array(userID.utf8), []]
    }
}
