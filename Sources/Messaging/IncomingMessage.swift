/// The connection a message came from: the ROUTER socket's routing id for it,
/// opaque bytes that `MessagingServer.send(_:to:)` uses to address the reply.
///
/// Also remembers the envelope the client used ([empty, payload] or
/// [payload]) so that the reply has the same shape; two `PeerID`s are equal
/// when their routing ids are.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    /// The routing id libzmq gave the connection (5 bytes unless the client chose its own).
    public let routingID: [UInt8]
    /// Whether the client put an empty delimiter frame before the payload.
    let delimited: Bool

    /// A peer id as the server's socket thread makes them; public so that a
    /// handler can be tested with made-up messages (a reply to a routing id no
    /// connection has is dropped).
    public init(routingID: [UInt8], delimited: Bool = true) {
        self.routingID = routingID
        self.delimited = delimited
    }

    public static func == (lhs: PeerID, rhs: PeerID) -> Bool { lhs.routingID == rhs.routingID }
    public func hash(into hasher: inout Hasher) { hasher.combine(routingID) }

    /// The routing id in hexadecimal.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: routingID.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }, as: UTF8.self)
    }
}

/// One request as the server's handler receives it.
public struct IncomingMessage: Sendable {
    /// Where to send the reply.
    public let peer: PeerID
    /// The client's CURVE public key in Z85: the ZAP user id the server's ZAP
    /// handler gave the connection ("User-Id" message property). Only clients
    /// whose key is on the allowed list get this far.
    public let clientPublicKey: String
    /// The client's IP address ("Peer-Address" message property).
    public let peerAddress: String
    /// The request body (one JSON text, by the protocol; not checked here).
    public let payload: [UInt8]

    public init(peer: PeerID, clientPublicKey: String, peerAddress: String, payload: [UInt8]) {
        self.peer = peer
        self.clientPublicKey = clientPublicKey
        self.peerAddress = peerAddress
        self.payload = payload
    }
}

/// The frames a ROUTER socket delivers, checked: [routing id, payload] or
/// [routing id, empty, payload], with a non-empty payload. Anything else is
/// dropped by the server (and logged), never handed on.
enum RouterEnvelope {
    enum Parsed: Sendable, Hashable {
        case request(routingID: [UInt8], delimited: Bool, payload: [UInt8])
        case malformed(String)
    }

    /// - Parameters:
    ///   - frames: the first frames of the message (at least the first three, when there are that many).
    ///   - frameCount: how many frames the message had in all.
    static func parse(_ frames: [[UInt8]], frameCount: Int) -> Parsed {
        switch frameCount {
        case 2 where frames.count == 2:
            guard !frames[1].isEmpty else { return .malformed("empty payload") }
            return .request(routingID: frames[0], delimited: false, payload: frames[1])
        case 3 where frames.count == 3:
            guard frames[1].isEmpty else { return .malformed("3 frames with no empty delimiter") }
            guard !frames[2].isEmpty else { return .malformed("empty payload") }
            return .request(routingID: frames[0], delimited: true, payload: frames[2])
        default:
            return .malformed("\(max(frameCount - 1, 0)) frames, not [payload] or [empty, payload]")
        }
    }
}
