/// The server's settings, with documented defaults.
public struct HTTPServerConfiguration: Sendable {
    /// A certificate chain and private key for HTTPS, as PEM text (the caller reads the files).
    public struct TLS: Sendable {
        /// The server certificate, followed by any intermediates, PEM.
        public var certificatePEM: String
        /// The certificate's private key, PEM, unencrypted.
        public var keyPEM: String

        public init(certificatePEM: String, keyPEM: String) {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
        }
    }

    /// The address to bind, an IPv4 or IPv6 literal. Default `127.0.0.1`: the
    /// server listens on all interfaces only when told (`0.0.0.0` or `::`).
    public var host: String = "127.0.0.1"
    /// The TCP port; 0 lets the kernel pick a free one (see `HTTPServer.port`). Default 8080.
    public var port: Int = 8080
    /// Threads answering requests (libmicrohttpd's thread pool, one epoll loop
    /// each; a handler blocks its thread while it runs). Default 4.
    public var threads: Int = 4
    /// Connections open at once (split evenly over the threads); at the limit
    /// libmicrohttpd stops accepting, so new connections wait in the kernel's
    /// listen backlog until one closes. At least `threads`. Default 1024.
    public var maxConnections: Int = 1024
    /// The request line plus header fields, in bytes. Past it the server answers
    /// 431 (JSON error) and closes the connection; far past it (more than about
    /// twice the limit, when the header no longer fits the connection's memory)
    /// libmicrohttpd itself answers 431 with a short HTML body (no `X-Request-ID`,
    /// no access-log line; it logs a notice). Default 16 KiB.
    public var maxHeaderBytes: Int = 16 * 1024
    /// The request body, in bytes. Past it the server answers 413 (JSON error)
    /// and closes the connection: up front when `Content-Length` says so; for a
    /// chunked body, once the rest of it has been read and dropped
    /// (libmicrohttpd cannot answer mid-body). A body that goes on for more than
    /// another `max(maxBodyBytes, 1 MiB)` is cut off without an answer. Default 1 MiB.
    public var maxBodyBytes: Int = 1 * 1024 * 1024
    /// Seconds a connection may stay idle (also mid-request) before it is closed. Default 30.
    public var connectionTimeout: Int = 30
    /// HTTPS when set; plain HTTP when nil (the default).
    public var tls: TLS? = nil
    /// Seconds `shutdown()` waits for requests in progress before closing every connection. Default 10.
    public var shutdownGracePeriod: Double = 10
    /// Addresses of reverse proxies (e.g. nginx in front of several servers)
    /// whose `X-Forwarded-For` names the client; requests from anyone else keep
    /// their TCP peer as the client address. Default: none.
    public var trustedProxies: Set<String> = []

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        threads: Int = 4,
        maxConnections: Int = 1024,
        maxHeaderBytes: Int = 16 * 1024,
        maxBodyBytes: Int = 1 * 1024 * 1024,
        connectionTimeout: Int = 30,
        tls: TLS? = nil,
        shutdownGracePeriod: Double = 10
    ) {
        self.host = host
        self.port = port
        self.threads = threads
        self.maxConnections = maxConnections
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.connectionTimeout = connectionTimeout
        self.tls = tls
        self.shutdownGracePeriod = shutdownGracePeriod
    }

    /// Checks every value; the error names the field.
    func validate() throws(HTTPServerError) {
        func fail(_ message: String) -> HTTPServerError { HTTPServerError(.invalidConfiguration, message) }
        guard !host.isEmpty else { throw fail("host is empty") }
        guard (0...65535).contains(port) else { throw fail("port \(port) is not in 0...65535") }
        guard (1...256).contains(threads) else { throw fail("threads \(threads) is not in 1...256") }
        guard (threads...1_000_000).contains(maxConnections) else {
            throw fail("maxConnections \(maxConnections) is not in \(threads)...1000000 (at least one per thread)")
        }
        guard (1024...(1 << 20)).contains(maxHeaderBytes) else {
            throw fail("maxHeaderBytes \(maxHeaderBytes) is not in 1024...1048576")
        }
        guard maxBodyBytes >= 0 else { throw fail("maxBodyBytes \(maxBodyBytes) is negative") }
        guard (0...86_400).contains(connectionTimeout) else { throw fail("connectionTimeout \(connectionTimeout) is not in 0...86400") }
        guard shutdownGracePeriod.isFinite, shutdownGracePeriod >= 0 else {
            throw fail("shutdownGracePeriod \(shutdownGracePeriod) is not a non-negative number of seconds")
        }
        if let tls {
            guard tls.certificatePEM.contains("-----BEGIN CERTIFICATE-----") else {
                throw HTTPServerError(.tlsFailure, "tls.certificatePEM holds no PEM certificate")
            }
            guard tls.keyPEM.contains("-----BEGIN") && tls.keyPEM.contains("PRIVATE KEY-----") else {
                throw HTTPServerError(.tlsFailure, "tls.keyPEM holds no PEM private key")
            }
            guard !tls.keyPEM.contains("ENCRYPTED") else {
                throw HTTPServerError(.tlsFailure, "tls.keyPEM is encrypted; give the key unencrypted")
            }
        }
    }
}
