internal import CZMQ
internal import Glibc

/// The outcome of a libzmq call that may find nothing to do: `EAGAIN` is a
/// result, not an error (swift-nio's `IOResult`).
enum ZMQResult<Value> {
    case done(Value)
    case wouldBlock
}

/// The one funnel every libzmq call goes through (swift-nio `System.swift`):
/// `EINTR` retried, `EAGAIN` returned as `.wouldBlock`, every other errno
/// turned into a `MessagingError` in `MessagingError.init(errno:function:)`.
enum ZMQ {
    /// Calls `body` (a libzmq function returning -1 on failure) until it is not interrupted.
    static func call(_ function: StaticString, _ body: () -> Int32) throws(MessagingError) -> ZMQResult<Int32> {
        while true {
            let status = body()
            if status >= 0 { return .done(status) }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == EAGAIN { return .wouldBlock }
            throw MessagingError(errno: code, function: function)
        }
    }

    /// Calls `body` where `EAGAIN` cannot happen (options, bind, connect):
    /// should it happen all the same, it is an error too.
    @discardableResult
    static func check(_ function: StaticString, _ body: () -> Int32) throws(MessagingError) -> Int32 {
        switch try call(function, body) {
        case .done(let status): return status
        case .wouldBlock: throw MessagingError(errno: EAGAIN, function: function)
        }
    }

    /// libzmq's words for `code`.
    static func describe(_ code: Int32) -> String {
        guard let text = zmq_strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    /// Milliseconds for libzmq timeouts, rounded up so that a short timeout never becomes 0 (= "do not wait").
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        if seconds > Int64(Int32.max / 1000) { return Int(Int32.max) }
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(millis)
    }
}

extension MessagingError {
    /// The one errno → error mapping. Errnos that only a bug here could cause
    /// (a closed or foreign socket handle, a bad pointer) trap.
    init(errno code: Int32, function: StaticString) {
        let words = "\(function): \(ZMQ.describe(code))"
        switch code {
        case ENOTSOCK, EFAULT:
            preconditionFailure("\(words): a closed or invalid ZeroMQ handle reached \(function)")
        case IEC_ZMQ_ETERM:
            self.init(.closed, words)
        case EADDRINUSE:
            self.init(.addressInUse, words)
        case EADDRNOTAVAIL, ENODEV:
            self.init(.addressUnavailable, words)
        case EINVAL, EPROTONOSUPPORT, IEC_ZMQ_ENOCOMPATPROTO:
            self.init(.invalidArgument, words)
        case IEC_ZMQ_EHOSTUNREACH:
            self.init(.peerUnreachable, words)
        case EAGAIN:
            self.init(.timedOut, words)
        default:
            self.init(.libraryFailure, words)
        }
    }
}
