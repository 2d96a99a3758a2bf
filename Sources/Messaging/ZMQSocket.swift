internal import CZMQ
internal import Glibc

/// One libzmq socket. Not thread-safe, like the socket itself: one thread uses
/// it at a time (a socket may move to another thread across a full memory
/// barrier such as thread creation, a join or a mutex).
///
/// Closed in `deinit` (or by `close()`); linger is set to 0 on creation, so
/// closing never blocks and never keeps the context waiting.
final class ZMQSocket {
    let context: ZMQContext
    private var handle: UnsafeMutableRawPointer?

    init(context: ZMQContext, type: Int32) throws(MessagingError) {
        guard let handle = zmq_socket(context.handle, type) else {
            throw MessagingError(errno: zmq_errno(), function: "zmq_socket")
        }
        self.context = context
        self.handle = handle
        try setOption(ZMQ_LINGER, 0)
    }

    deinit { close() }

    /// Closes the socket; later calls do nothing.
    func close() {
        guard let handle else { return }
        self.handle = nil
        // zmq_close fails only with ENOTSOCK, which `handle` being non-nil rules out.
        _ = zmq_close(handle)
    }

    var isOpen: Bool { handle != nil }

    /// The raw handle, for `ZMQPoller` and the calls below. Using a closed socket is a bug.
    var rawHandle: UnsafeMutableRawPointer {
        guard let handle else { preconditionFailure("a closed ZeroMQ socket was used") }
        return handle
    }

    // MARK: - Options

    func setOption(_ option: Int32, _ value: Int32) throws(MessagingError) {
        let socket = rawHandle
        try ZMQ.check("zmq_setsockopt") { iec_zmq_setsockopt_int(socket, option, value) }
    }

    func setOption(_ option: Int32, int64 value: Int64) throws(MessagingError) {
        let socket = rawHandle
        try ZMQ.check("zmq_setsockopt") { iec_zmq_setsockopt_int64(socket, option, value) }
    }

    func setOption(_ option: Int32, bytes: [UInt8]) throws(MessagingError) {
        let socket = rawHandle
        try ZMQ.check("zmq_setsockopt") {
            bytes.withUnsafeBytes { iec_zmq_setsockopt_bytes(socket, option, $0.baseAddress, $0.count) }
        }
    }

    func stringOption(_ option: Int32) throws(MessagingError) -> String {
        let socket = rawHandle
        var buffer = [CChar](repeating: 0, count: 1024)
        var count = buffer.count
        try ZMQ.check("zmq_getsockopt") {
            buffer.withUnsafeMutableBufferPointer { iec_zmq_getsockopt_string(socket, option, $0.baseAddress, &count) }
        }
        let length = buffer.firstIndex(of: 0) ?? min(count, buffer.count)
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Endpoints

    func bind(_ endpoint: String) throws(MessagingError) {
        let socket = rawHandle
        try ZMQ.check("zmq_bind") { zmq_bind(socket, endpoint) }
    }

    func connect(_ endpoint: String) throws(MessagingError) {
        let socket = rawHandle
        try ZMQ.check("zmq_connect") { zmq_connect(socket, endpoint) }
    }

    /// Publishes this socket's `events` on a PAIR socket bound at `endpoint` (`inproc://` only).
    func monitor(endpoint: String, events: Int32) throws(MessagingError) {
        let socket = rawHandle
        try ZMQ.check("zmq_socket_monitor") { zmq_socket_monitor(socket, endpoint, events) }
    }

    // MARK: - Frames

    /// Sends one frame; false when the socket cannot take it now (`EAGAIN` with `dontWait`).
    func send(_ bytes: [UInt8], more: Bool, dontWait: Bool) throws(MessagingError) -> Bool {
        let message = try ZMQMessage(bytes: bytes)
        let flags = (more ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
        switch try message.send(on: self, flags: flags) {
        case .done: return true
        case .wouldBlock: return false
        }
    }

    /// Receives one frame; nil when none is waiting (`EAGAIN` with `dontWait`).
    func receive(dontWait: Bool) throws(MessagingError) -> ZMQMessage? {
        let message = ZMQMessage()
        switch try message.receive(from: self, flags: dontWait ? ZMQ_DONTWAIT : 0) {
        case .done: return message
        case .wouldBlock: return nil
        }
    }

    /// Receives the rest of a multipart message whose first frame is `first`,
    /// keeping at most `keep` frames' bytes; returns them and the total frame count.
    /// The remaining frames of a message arrive together with the first, so this never waits.
    func receiveRest(after first: ZMQMessage, keep: Int) throws(MessagingError) -> (frames: [ZMQMessage], count: Int) {
        var frames = [first]
        var count = 1
        var more = first.more
        while more {
            guard let next = try receive(dontWait: true) else { break }
            count += 1
            more = next.more
            if frames.count < keep { frames.append(next) }
        }
        return (frames, count)
    }
}

/// One `zmq_msg_t`, heap-allocated so its address never changes, closed in `deinit`.
final class ZMQMessage {
    private let pointer: UnsafeMutablePointer<zmq_msg_t>

    /// An empty message, for receiving into.
    init() {
        pointer = .allocate(capacity: 1)
        // zmq_msg_init cannot fail.
        _ = zmq_msg_init(pointer)
    }

    /// A message holding a copy of `bytes`.
    init(bytes: [UInt8]) throws(MessagingError) {
        pointer = .allocate(capacity: 1)
        let message = pointer
        do throws(MessagingError) {
            try ZMQ.check("zmq_msg_init_size") { zmq_msg_init_size(message, bytes.count) }
        } catch {
            // Nothing to close: the message was never initialised.
            pointer.deallocate()
            throw error
        }
        if !bytes.isEmpty {
            bytes.withUnsafeBytes { source in
                zmq_msg_data(message)!.copyMemory(from: source.baseAddress!, byteCount: source.count)
            }
        }
    }

    deinit {
        // zmq_msg_close fails only for a message that is not one (EFAULT).
        _ = zmq_msg_close(pointer)
        pointer.deallocate()
    }

    var count: Int { zmq_msg_size(pointer) }

    /// A copy of the frame's bytes.
    var bytes: [UInt8] {
        let size = zmq_msg_size(pointer)
        guard size > 0, let data = zmq_msg_data(pointer) else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: size))
    }

    /// Whether more frames of the same message follow.
    var more: Bool { zmq_msg_more(pointer) != 0 }

    /// A metadata property of the connection the frame came in on
    /// ("User-Id", "Peer-Address", "Socket-Type", ...), nil when it has none.
    func property(_ name: String) -> String? {
        guard let value = zmq_msg_gets(pointer, name) else { return nil }
        return String(cString: value)
    }

    fileprivate func send(on socket: ZMQSocket, flags: Int32) throws(MessagingError) -> ZMQResult<Int32> {
        let message = pointer
        let handle = socket.rawHandle
        return try ZMQ.call("zmq_msg_send") { zmq_msg_send(message, handle, flags) }
    }

    fileprivate func receive(from socket: ZMQSocket, flags: Int32) throws(MessagingError) -> ZMQResult<Int32> {
        let message = pointer
        let handle = socket.rawHandle
        return try ZMQ.call("zmq_msg_recv") { zmq_msg_recv(message, handle, flags) }
    }
}

/// A fixed set of sockets and file descriptors polled together with `zmq_poll`.
///
/// Keeps its sockets alive for as long as it exists.
final class ZMQPoller {
    enum Source {
        case socket(ZMQSocket)
        case fileDescriptor(Int32)
    }

    private var items: [zmq_pollitem_t]
    private let sources: [Source]

    init(_ sources: [Source]) {
        self.sources = sources
        items = sources.map { source in
            switch source {
            case .socket(let socket):
                return zmq_pollitem_t(socket: socket.rawHandle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0)
            case .fileDescriptor(let fd):
                return zmq_pollitem_t(socket: nil, fd: fd, events: Int16(ZMQ_POLLIN), revents: 0)
            }
        }
    }

    /// Sets what to wait for on item `index` (`ZMQ_POLLIN`, `ZMQ_POLLOUT`).
    func setEvents(_ index: Int, _ events: Int32) { items[index].events = Int16(events) }

    /// Waits up to `timeoutMilliseconds` (-1: no limit); returns how many items
    /// are ready. An interrupted wait returns 0, so that the caller re-checks its deadline.
    @discardableResult
    func poll(timeoutMilliseconds: Int) throws(MessagingError) -> Int {
        for index in items.indices { items[index].revents = 0 }
        let count = Int32(items.count)
        var interrupted = false
        // The funnel retries EINTR; the second time round this reports "nothing ready" at once.
        let outcome = try ZMQ.call("zmq_poll") {
            if interrupted { return 0 }
            let status = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, count, timeoutMilliseconds) }
            if status < 0 && zmq_errno() == EINTR { interrupted = true }
            return status
        }
        guard case .done(let ready) = outcome else { return 0 }
        return Int(ready)
    }

    /// Whether item `index` is ready for `event` after the last `poll`.
    func isReady(_ index: Int, _ event: Int32 = ZMQ_POLLIN) -> Bool {
        items[index].revents & Int16(event) != 0
    }
}
