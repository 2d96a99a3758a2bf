public import IECJSON

/// A complete response: status, header fields and body.
///
/// `Content-Length` is always computed by the server (a `Content-Length` or
/// `Transfer-Encoding` field set here is ignored); `X-Request-ID` and `Date` are
/// added by the server. A `HEAD` request gets the headers of the `GET` response
/// (including its `Content-Length`) and no body.
public struct HTTPServerResponse: Sendable {
    /// The status code, 100–599.
    public var status: Int
    /// Header fields in the order they are sent. Names must be tokens and values
    /// must not contain CR, LF or NUL: a response that breaks this is replaced by a 500.
    public var headers: [(name: String, value: String)]
    /// The body (empty for none).
    public var body: [UInt8]

    public init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `value` as compact JSON with `Content-Type: application/json` and `Cache-Control: no-store`.
    ///
    /// A field in `headers` with the same name replaces the default one.
    public static func json(_ value: JSONValue, status: Int = 200, headers: [(name: String, value: String)] = []) -> Self {
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(2 + headers.count)
        if !headers.contains(where: { asciiCaseInsensitiveEquals($0.name, "content-type") }) {
            fields.append((name: "Content-Type", value: "application/json"))
        }
        if !headers.contains(where: { asciiCaseInsensitiveEquals($0.name, "cache-control") }) {
            fields.append((name: "Cache-Control", value: "no-store"))
        }
        fields += headers
        return Self(status: status, headers: fields, body: value.serializedBytes())
    }

    /// `text` as the body, UTF-8 plain text by default.
    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8") -> Self {
        Self(status: status, headers: [(name: "Content-Type", value: contentType)], body: Array(text.utf8))
    }

    /// `html` as a UTF-8 `text/html` body.
    public static func html(_ html: String, status: Int = 200) -> Self {
        text(html, status: status, contentType: "text/html; charset=utf-8")
    }

    /// A redirect (302 Found by default; 303 after a form post) to `location`, with an empty body.
    public static func redirect(to location: String, status: Int = 302) -> Self {
        Self(status: status, headers: [(name: "Location", value: location)], body: [])
    }

    /// The value of the first header field called `name` (ASCII case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEquals($0.name, name) }?.value
    }

    /// Replaces every field called `name` (ASCII case-insensitive) with one field `name: value`.
    public mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { asciiCaseInsensitiveEquals($0.name, name) }
        headers.append((name: name, value: value))
    }
}
