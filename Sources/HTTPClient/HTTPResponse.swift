/// A complete HTTP response: status, the final response's header fields and the body.
///
/// Any status (including 4xx and 5xx) is a response, not an error.
public struct HTTPResponse: Sendable {
    /// The status code, e.g. 200 or 404.
    public var status: Int
    /// Header fields of the final response in the order received (interim
    /// `1xx` responses and, when redirects are followed, earlier hops are dropped).
    public var headers: [(name: String, value: String)]
    /// The body as received (no content decoding is requested or applied).
    public var body: [UInt8]

    /// Makes a response (for tests and fakes; `HTTPClient.send` builds the real ones).
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header field called `name` (ASCII case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The values of every header field called `name` (ASCII case-insensitive), in order.
    public func headerValues(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }
}
