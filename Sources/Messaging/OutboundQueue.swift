internal import CZMQ
internal import Glibc
internal import Synchronization

/// Replies on their way from any thread to the server's socket thread, which
/// alone may touch the ROUTER socket: a mutex-protected queue plus an eventfd
/// that the socket thread polls next to its ZeroMQ sockets.
final class OutboundQueue: Sendable {
    struct Reply: Sendable {
        var peer: PeerID
        var payload: [UInt8]
    }

    private struct State: Sendable {
        var replies: [Reply] = []
        var stopping = false
    }

    private enum Refusal {
        case stopping, full
    }

    /// The eventfd the socket thread polls.
    let fileDescriptor: Int32
    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) throws(MessagingError) {
        let fd = iec_eventfd_open()
        guard fd >= 0 else { throw MessagingError(.libraryFailure, "eventfd: \(String(cString: strerror(errno)))") }
        fileDescriptor = fd
        self.limit = limit
    }

    deinit { _ = iec_fd_close(fileDescriptor) }

    /// Queues `reply` and wakes the socket thread when the queue was empty.
    func enqueue(_ reply: Reply) throws(MessagingError) {
        let refusal: Refusal? = state.withLock { state in
            if state.stopping { return .stopping }
            if state.replies.count >= limit { return .full }
            state.replies.append(reply)
            if state.replies.count == 1 { signal() }
            return nil
        }
        switch refusal {
        case .stopping: throw MessagingError(.closed, "the server is shut down")
        case .full: throw MessagingError(.overloaded, "\(limit) replies are already waiting to be sent")
        case nil: return
        }
    }

    /// Tells the socket thread to stop, once it has sent what is queued.
    func stop() {
        state.withLock { state in
            state.stopping = true
            signal()
        }
    }

    /// Everything queued, and whether the socket thread should stop.
    /// Call `resetSignal()` first, so that a reply queued meanwhile wakes the next poll.
    func take() -> (replies: [Reply], stop: Bool) {
        state.withLock { state in
            let replies = state.replies
            state.replies = []
            return (replies, state.stopping)
        }
    }

    func resetSignal() {
        // EAGAIN: the counter was zero already. Nothing else can fail for our eventfd.
        _ = iec_eventfd_reset(fileDescriptor)
    }

    private func signal() {
        // Fails only when the counter would overflow (2^64 - 2 signals unread): it is set either way.
        _ = iec_eventfd_signal(fileDescriptor)
    }
}
