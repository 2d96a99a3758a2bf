internal import CZMQ
internal import IECLog

/// The server's sockets and the loop of its socket thread: the ROUTER, the ZAP
/// handler's REP socket and the monitor's PAIR socket, polled together with
/// the outbound queue's eventfd. ZAP requests, monitor events, requests and
/// replies are all handled on this one thread, so no socket is ever shared.
///
/// `@unchecked Sendable`: the sockets are used by one thread at a time — the
/// creating thread until `start` (thread creation is a full memory barrier),
/// then only the socket thread, which closes them as it ends; or, when the
/// server was never started, the thread calling `shutdown()`.
final class ServerLoop: @unchecked Sendable {
    static let zapEndpoint = "inproc://zeromq.zap.01"
    static let monitorEndpoint = "inproc://iec.messaging.monitor"
    /// Requests taken from the ROUTER per round, so that replies and ZAP keep flowing under load.
    static let batch = 64

    private let router: ZMQSocket
    private let zap: ZMQSocket
    private let monitor: ZMQSocket
    private let outbound: OutboundQueue
    private let authenticator: ZAPAuthenticator
    private let logger: Logger
    private let lingerMilliseconds: Int32
    private var monitorLog = MonitorLog()
    private var throttle: LogThrottle

    /// The endpoint the ROUTER is bound to (`ZMQ_LAST_ENDPOINT`).
    let endpoint: String

    init(configuration: MessagingServerConfiguration, authenticator: ZAPAuthenticator, outbound: OutboundQueue, logger: Logger)
        throws(MessagingError)
    {
        let context = try ZMQContext()
        // The ZAP handler must be bound before the ROUTER is: without one, libzmq lets every CURVE client in.
        zap = try ZMQSocket(context: context, type: ZMQ_REP)
        try zap.bind(Self.zapEndpoint)

        router = try ZMQSocket(context: context, type: ZMQ_ROUTER)
        try router.setOption(ZMQ_CURVE_SERVER, 1)
        try router.setOption(ZMQ_CURVE_SECRETKEY, bytes: configuration.serverKeys.secretKey)
        try router.setOption(ZMQ_ZAP_DOMAIN, bytes: Array("iec".utf8))
        try router.setOption(ZMQ_MAXMSGSIZE, int64: Int64(configuration.maxMessageBytes))
        try router.setOption(ZMQ_RCVHWM, Int32(configuration.highWaterMark))
        try router.setOption(ZMQ_SNDHWM, Int32(configuration.highWaterMark))
        // Unroutable replies fail with EHOSTUNREACH instead of vanishing, so they can be logged.
        try router.setOption(ZMQ_ROUTER_MANDATORY, 1)
        try router.setOption(ZMQ_HANDSHAKE_IVL, Int32(clamping: ZMQ.milliseconds(configuration.handshakeTimeout)))

        try router.monitor(endpoint: Self.monitorEndpoint, events: MonitorEvent.subscribed)
        monitor = try ZMQSocket(context: context, type: ZMQ_PAIR)
        try monitor.connect(Self.monitorEndpoint)

        do throws(MessagingError) {
            try router.bind(configuration.endpoint)
        } catch {
            throw MessagingError(error.code, "cannot bind \(configuration.endpoint): \(error.message)")
        }
        endpoint = try router.stringOption(ZMQ_LAST_ENDPOINT)

        self.outbound = outbound
        self.authenticator = authenticator
        self.logger = logger
        lingerMilliseconds = Int32(clamping: ZMQ.milliseconds(configuration.shutdownLinger))
        throttle = LogThrottle(window: configuration.logRepeatWindow)
    }

    /// Closes the sockets: the ROUTER lingers up to the configured time so queued replies can still leave.
    func close() {
        if router.isOpen { try? router.setOption(ZMQ_LINGER, lingerMilliseconds) }
        router.close()
        monitor.close()
        zap.close()
    }

    // MARK: - The socket thread

    /// Runs until the outbound queue says stop (or libzmq fails for good), then closes the sockets.
    func run(handler: @Sendable (IncomingMessage) -> Void) {
        defer { close() }
        let poller = ZMQPoller([.socket(router), .socket(zap), .socket(monitor), .fileDescriptor(outbound.fileDescriptor)])
        var failures = 0
        while true {
            do throws(MessagingError) {
                // A held handshake failure is reported without its peer if no event follows soon.
                let ready = try poller.poll(timeoutMilliseconds: monitorLog.hasPending ? 100 : -1)
                if ready == 0 { report(monitorLog.flush()) }
                if poller.isReady(3) && flushOutbound() { return }
                if poller.isReady(1) { try serviceZAP() }
                if poller.isReady(2) { try serviceMonitor() }
                if poller.isReady(0) {
                    try serviceRouter(handler)
                    // Replies the handler gave at once leave now rather than after another poll.
                    if flushOutbound() { return }
                }
                failures = 0
            } catch {
                if error.code == .closed { return }
                failures += 1
                logger.error("messaging socket thread: \(error.message)")
                if failures >= 100 {
                    logger.error("messaging socket thread stops after \(failures) failures in a row")
                    return
                }
            }
        }
    }

    /// Sends what is queued; true when the queue says stop.
    private func flushOutbound() -> Bool {
        // Reset first, so that a reply queued meanwhile wakes the next poll.
        outbound.resetSignal()
        let (replies, stop) = outbound.take()
        for reply in replies { deliver(reply) }
        return stop
    }

    private func deliver(_ reply: OutboundQueue.Reply) {
        do throws(MessagingError) {
            guard try router.send(reply.peer.routingID, more: true, dontWait: true) else {
                logger.warning("reply dropped: the peer's queue is full", [("peer", reply.peer.description)])
                return
            }
            // The rest of a message whose first frame was taken always goes through.
            if reply.peer.delimited { _ = try router.send([], more: true, dontWait: true) }
            _ = try router.send(reply.payload, more: false, dontWait: true)
        } catch {
            if error.code == .peerUnreachable {
                logger.debug("reply dropped: the peer has disconnected", [("peer", reply.peer.description)])
            } else {
                logger.error("reply dropped: \(error.message)", [("peer", reply.peer.description)])
            }
        }
    }

    private func serviceZAP() throws(MessagingError) {
        while let first = try zap.receive(dontWait: true) {
            let (frames, _) = try zap.receiveRest(after: first, keep: 16)
            let outcome = authenticator.handle(frames.map(\.bytes))
            for (index, frame) in outcome.reply.enumerated() {
                _ = try zap.send(frame, more: index < outcome.reply.count - 1, dontWait: true)
            }
            switch outcome.verdict {
            case .allowed(let address, let keyPrefix):
                logger.debug("ZAP: client allowed", [("peer", address), ("key", keyPrefix + "…")])
            case .refused(let refusal):
                let key = "zap|\(refusal.reason)|\(refusal.address)|\(refusal.keyPrefix)"
                guard case .log(let suppressed) = throttle.admit(key, now: .now) else { break }
                var metadata = [("reason", refusal.reason), ("peer", refusal.address)]
                if !refusal.keyPrefix.isEmpty { metadata.append(("key", refusal.keyPrefix + "…")) }
                if suppressed > 0 { metadata.append(("repeats_suppressed", String(suppressed))) }
                logger.warning("ZAP: connection refused", metadata)
            case .malformed(let detail):
                logger.error("ZAP: malformed request from libzmq", [("detail", detail)])
            }
        }
    }

    private func serviceMonitor() throws(MessagingError) {
        var events: [MonitorEvent] = []
        while let first = try monitor.receive(dontWait: true) {
            let (frames, _) = try monitor.receiveRest(after: first, keep: 2)
            var event: UInt16 = 0
            var value: UInt32 = 0
            let header = frames[0].bytes
            let status = header.withUnsafeBytes { iec_zmq_monitor_event($0.baseAddress, $0.count, &event, &value) }
            guard status == 0, frames.count == 2 else { continue }
            events.append(MonitorEvent(event: Int32(event), value: value, endpoint: String(decoding: frames[1].bytes, as: UTF8.self)))
        }
        // An accepted connection's peer is looked up by its descriptor, unless the
        // connection is already gone (its DISCONNECTED is in the same batch): by then
        // the descriptor may belong to another connection.
        for (index, event) in events.enumerated() {
            var peer: String?
            if event.event == ZMQ_EVENT_ACCEPTED,
                !events[(index + 1)...].contains(where: { $0.event == ZMQ_EVENT_DISCONNECTED && $0.value == event.value })
            {
                peer = IPAddress.peer(ofFileDescriptor: Int32(bitPattern: event.value))
            }
            report(monitorLog.handle(event, peerAddress: peer))
        }
    }

    private func report(_ reports: [MonitorLog.Report]) {
        for report in reports {
            switch report {
            case .accepted(let peer):
                logger.debug("connection accepted", [("peer", peer ?? "unknown")])
            case .handshakeSucceeded:
                logger.debug("CURVE handshake succeeded")
            case .disconnected(let peer):
                logger.debug("connection closed", [("peer", peer ?? "unknown")])
            case .handshakeFailed(let reason, let peer, let endpoint, let authentication):
                let metadata = [("reason", reason), ("peer", peer ?? "unknown"), ("endpoint", endpoint)]
                if authentication {
                    // The ZAP handler has logged why.
                    logger.debug("handshake failed", metadata)
                    continue
                }
                guard case .log(let suppressed) = throttle.admit("handshake|\(reason)|\(peer ?? "")", now: .now) else { continue }
                logger.warning("handshake failed", metadata + (suppressed > 0 ? [("repeats_suppressed", String(suppressed))] : []))
            }
        }
    }

    private func serviceRouter(_ handler: @Sendable (IncomingMessage) -> Void) throws(MessagingError) {
        for _ in 0..<Self.batch {
            guard let first = try router.receive(dontWait: true) else { return }
            let (frames, count) = try router.receiveRest(after: first, keep: 3)
            let last = frames[frames.count - 1]
            let peerAddress = last.property("Peer-Address") ?? ""
            switch RouterEnvelope.parse(frames.map(\.bytes), frameCount: count) {
            case .request(let routingID, let delimited, let payload):
                let message = IncomingMessage(
                    peer: PeerID(routingID: routingID, delimited: delimited),
                    clientPublicKey: last.property("User-Id") ?? "",
                    peerAddress: peerAddress,
                    payload: payload)
                handler(message)
            case .malformed(let reason):
                guard case .log(let suppressed) = throttle.admit("frames|\(reason)|\(peerAddress)", now: .now) else { continue }
                var metadata = [("reason", reason), ("peer", peerAddress)]
                if suppressed > 0 { metadata.append(("repeats_suppressed", String(suppressed))) }
                logger.warning("message dropped", metadata)
            }
        }
    }
}
