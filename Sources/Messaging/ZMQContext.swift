internal import CZMQ

/// One libzmq context: its I/O thread, its `inproc://` namespace (so its own
/// ZAP endpoint), and every socket made from it.
///
/// `@unchecked Sendable`: libzmq contexts are thread-safe. Sockets keep their
/// context alive, so `zmq_ctx_term` in `deinit` runs only after every socket
/// of it has been closed (and, since all our sockets have linger 0, returns at once).
final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    init() throws(MessagingError) {
        guard let handle = zmq_ctx_new() else {
            throw MessagingError(errno: zmq_errno(), function: "zmq_ctx_new")
        }
        self.handle = handle
    }

    deinit {
        // EINTR: libzmq asks to call it again. Nothing else can fail for a valid context.
        _ = try? ZMQ.check("zmq_ctx_term") { zmq_ctx_term(handle) }
    }
}

/// A ZeroMQ context that several `MessagingClient`s can share, so that fifty
/// clients in one process need one I/O thread rather than fifty.
///
/// A server always has a context of its own: its ZAP handler lives at the
/// context-wide `inproc://zeromq.zap.01`.
public final class MessagingContext: Sendable {
    let context: ZMQContext

    /// A fresh context; it ends when the last client using it is gone.
    public init() throws(MessagingError) {
        context = try ZMQContext()
    }
}
