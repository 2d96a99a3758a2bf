internal import CMicroHTTPD
internal import IECJSON

/// An error a handler (or a request helper such as `jsonBody()`) throws to answer
/// with a given status.
///
/// The server turns an uncaught `HTTPError` into a JSON response
/// `{"code": status, "reason": "<reason phrase>", "message": message}` with the
/// error's extra `headers` (e.g. `WWW-Authenticate`, `Retry-After`). The message is
/// sent to the client, so it must not contain secrets or internal details.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// The response status, 400–599 in practice.
    public let status: Int
    /// A human-readable explanation, sent to the client.
    public let message: String
    /// Extra response header fields, e.g. `WWW-Authenticate` with a 401.
    public let headers: [(name: String, value: String)]

    public init(status: Int, message: String, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "HTTP \(status): \(message)" }

    /// The JSON response the server sends for this error.
    public var response: HTTPServerResponse {
        let body: JSONValue = [
            "code": .int(Int64(status)),
            "reason": .string(HTTPStatus.reasonPhrase(status)),
            "message": .string(message),
        ]
        return .json(body, status: status, headers: headers)
    }
}

/// Reason phrases, from libmicrohttpd's table.
enum HTTPStatus {
    /// The reason phrase of `status` ("Not Found"), or "Unknown" for codes nobody registered.
    static func reasonPhrase(_ status: Int) -> String {
        guard (100...999).contains(status), let phrase = MHD_get_reason_phrase_for(UInt32(status)) else {
            return "Unknown"
        }
        let text = String(cString: phrase)
        return text.isEmpty ? "Unknown" : text
    }
}
