internal import Glibc

/// After a request timed out: can anything be reached at the endpoint at all?
/// It tells "the gateway is not running" from "the gateway ignores us" (CURVE
/// keys wrong, or this app's key not on its list) in the error message.
enum GatewayProbe {
    enum Outcome: Equatable {
        /// Something accepted a TCP connection.
        case accepting
        /// Nothing listens there (ECONNREFUSED) or the host is unknown.
        case refused(String)
        /// No verdict in time, or not a TCP endpoint.
        case unknown
    }

    /// Tries one TCP connection to `tcp://HOST:PORT`, for at most `milliseconds`.
    static func probe(_ endpoint: String, milliseconds: Int32 = 300) -> Outcome {
        guard endpoint.hasPrefix("tcp://") else { return .unknown }
        var rest = String(endpoint.dropFirst(6))
        if let semicolon = rest.lastIndex(of: ";") { rest = String(rest[rest.index(after: semicolon)...]) }  // source;destination
        guard let colon = rest.lastIndex(of: ":") else { return .unknown }
        var host = String(rest[..<colon])
        let port = String(rest[rest.index(after: colon)...])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &list) == 0, let first = list else {
            return .refused("the host \(host) is unknown")
        }
        defer { freeaddrinfo(list) }
        let descriptor = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return .unknown }
        defer { close(descriptor) }
        if connect(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return .accepting }
        if errno == ECONNREFUSED { return .refused("nothing accepts connections at \(host):\(port)") }
        guard errno == EINPROGRESS else { return .unknown }
        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, milliseconds) == 1 else { return .unknown }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 else { return .unknown }
        if failure == 0 { return .accepting }
        if failure == ECONNREFUSED { return .refused("nothing accepts connections at \(host):\(port)") }
        return .unknown
    }
}
