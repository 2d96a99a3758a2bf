/// One HTTP request: method, absolute URL, header fields, body and an overall time limit.
///
/// Only `http` and `https` URLs are accepted. Header names and the method must be
/// RFC 9110 tokens; header values must not contain CR, LF or NUL (no header injection).
public struct HTTPRequest: Sendable {
    /// The request method, sent as written (`GET`, `POST`, `PUT`, `DELETE`, ...).
    public var method: String
    /// The absolute `http://` or `https://` URL.
    public var url: String
    /// Header fields in the order they are sent. A field set here replaces the one
    /// libcurl would add itself (`User-Agent`, `Content-Type`, `Accept`, ...).
    public var headers: [(name: String, value: String)]
    /// The request body; sent with `Content-Length` when not empty (or when the
    /// method is `POST`, `PUT` or `PATCH`).
    public var body: [UInt8]
    /// The time limit for the whole exchange (connect, send, receive). Default 10 s.
    public var timeout: Duration

    /// Makes a request; by default a `GET` with no headers, no body and a 10 s limit.
    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        timeout: Duration = .seconds(10)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}
