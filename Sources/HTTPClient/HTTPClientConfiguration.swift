/// Settings shared by every request an `HTTPClient` sends.
///
/// There is deliberately no setting to turn off TLS verification: HTTPS always
/// checks the peer's certificate chain and that it names the host.
public struct HTTPClientConfiguration: Sendable {
    /// A PEM bundle of CA certificates to trust, e.g. the identity server's private CA.
    /// When nil (the default) libcurl's default trust store is used, which on Debian
    /// is the operating system's (`/etc/ssl/certs`). When set, the bundle is used as
    /// libcurl's CA file; libcurl's default CA directory (`/etc/ssl/certs` on Debian)
    /// stays in effect, so the bundle adds to the system store.
    public var caFile: String?
    /// The largest response body accepted, in bytes; a larger one fails with
    /// `HTTPClientError.Code.responseTooLarge`. Default 1 MiB.
    public var maxResponseBytes: Int
    /// The time limit for setting up the connection (TCP and TLS). Default 5 s.
    /// The request's own `timeout` bounds the whole exchange, connection included.
    public var connectTimeout: Duration
    /// The `User-Agent` sent unless a request sets its own. Default `OpenIEC/0.1`.
    public var userAgent: String
    /// Whether to follow 3xx redirects (at most 5, to `http`/`https` only, and never
    /// from `https` to `http`). Default false: a redirect is returned as the response.
    public var followRedirects: Bool

    /// Makes a configuration; every parameter has the documented default.
    public init(
        caFile: String? = nil,
        maxResponseBytes: Int = 1 << 20,
        connectTimeout: Duration = .seconds(5),
        userAgent: String = "OpenIEC/0.1",
        followRedirects: Bool = false
    ) {
        self.caFile = caFile
        self.maxResponseBytes = maxResponseBytes
        self.connectTimeout = connectTimeout
        self.userAgent = userAgent
        self.followRedirects = followRedirects
    }
}
