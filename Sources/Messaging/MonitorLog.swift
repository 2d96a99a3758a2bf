internal import CZMQ

/// One event from libzmq's socket monitor: the event bit, its value (a file
/// descriptor, an errno, a ZAP status or a `ZMQ_PROTOCOL_ERROR_*` code,
/// depending on the event) and the endpoint it concerns.
struct MonitorEvent: Sendable, Hashable {
    var event: Int32
    var value: UInt32
    var endpoint: String

    /// The events the server asks for.
    static let subscribed: Int32 = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
        | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
}

/// Turns the server's monitor events into reports worth logging; a value type
/// with no sockets, tested on its own.
///
/// A handshake failure names no peer: the event's endpoint is the server's own
/// bound address. libzmq emits it, from the connection's I/O thread, right
/// before that connection's DISCONNECTED event, which carries the file
/// descriptor; ACCEPTED carried the same descriptor, and the socket thread
/// looked up its peer then. So a failure is held until the next event: the
/// following DISCONNECTED names the peer; anything else (or `flush()` after a
/// quiet moment) reports it without one.
struct MonitorLog: Sendable {
    enum Report: Sendable, Hashable {
        case accepted(peer: String?)
        case handshakeSucceeded
        /// `authentication` is true for a ZAP refusal (the ZAP handler has logged it already).
        case handshakeFailed(reason: String, peer: String?, endpoint: String, authentication: Bool)
        case disconnected(peer: String?)
    }

    private struct Failure: Sendable {
        var reason: String
        var endpoint: String
        var authentication: Bool
    }

    private var peers: [UInt32: String] = [:]
    private var pending: Failure?
    private let capacity = 4096

    var hasPending: Bool { pending != nil }

    /// The reports for `event`; `peerAddress` is the peer of an ACCEPTED
    /// event's descriptor, looked up by the caller.
    mutating func handle(_ event: MonitorEvent, peerAddress: String? = nil) -> [Report] {
        switch event.event {
        case ZMQ_EVENT_ACCEPTED:
            var reports = flush()
            if peers.count >= capacity { peers.removeAll() }
            if let peerAddress { peers[event.value] = peerAddress }
            reports.append(.accepted(peer: peerAddress))
            return reports
        case ZMQ_EVENT_DISCONNECTED:
            let peer = peers.removeValue(forKey: event.value)
            if let failure = pending {
                pending = nil
                return [.handshakeFailed(reason: failure.reason, peer: peer, endpoint: failure.endpoint, authentication: failure.authentication)]
            }
            return [.disconnected(peer: peer)]
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            return flush() + [.handshakeSucceeded]
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            let reports = flush()
            pending = Failure(
                reason: Self.reason(event), endpoint: event.endpoint, authentication: event.event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            return reports
        default:
            return flush()
        }
    }

    /// Reports a held failure without a peer.
    mutating func flush() -> [Report] {
        guard let failure = pending else { return [] }
        pending = nil
        return [.handshakeFailed(reason: failure.reason, peer: nil, endpoint: failure.endpoint, authentication: failure.authentication)]
    }

    /// Words for a handshake failure.
    static func reason(_ event: MonitorEvent) -> String {
        switch event.event {
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            return "refused by the ZAP handler (status \(event.value))"
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            return "handshake failed: \(ZMQ.describe(Int32(bitPattern: event.value)))"
        default:
            switch Int32(bitPattern: event.value) {
            case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
                return "CURVE cryptographic error (the client may use the wrong server public key)"
            case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
                return "security mechanism mismatch (the client does not use CURVE)"
            case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE:
                return "CURVE key exchange failed"
            case ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND, ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE:
                return "ZMTP protocol violation during the handshake"
            case let code where code & 0x2000_0000 != 0:
                return "ZAP protocol error 0x\(String(UInt32(bitPattern: code), radix: 16))"
            case let code:
                return "ZMTP protocol error 0x\(String(UInt32(bitPattern: code), radix: 16))"
            }
        }
    }
}
