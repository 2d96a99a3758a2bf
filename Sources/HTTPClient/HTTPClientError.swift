/// Why an HTTP exchange produced no response.
///
/// Compare `code` with the static members of `HTTPClientError.Code`:
/// ```swift
/// catch let error as HTTPClientError where error.code == .timedOut { ... }
/// ```
/// The description names the URL (without user info or query) and never the
/// request body or header values, which may hold secrets.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; extensible, so switch with a `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidURL
            case invalidRequest
            case unsupportedScheme
            case connectionFailed
            case timedOut
            case tlsFailure
            case responseTooLarge
            case other
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// The URL could not be parsed (or has no scheme or host).
        public static var invalidURL: Self { .init(.invalidURL) }
        /// The method or a header field is malformed (not a token, or a value with CR/LF/NUL).
        public static var invalidRequest: Self { .init(.invalidRequest) }
        /// The URL's scheme (or a redirect's) is not `http` or `https`.
        public static var unsupportedScheme: Self { .init(.unsupportedScheme) }
        /// The host could not be resolved or the connection was refused or unreachable.
        public static var connectionFailed: Self { .init(.connectionFailed) }
        /// The request's timeout or the connect timeout expired.
        public static var timedOut: Self { .init(.timedOut) }
        /// TLS failed: the handshake, or the certificate chain or host name did not verify.
        public static var tlsFailure: Self { .init(.tlsFailure) }
        /// The response body exceeded `HTTPClientConfiguration.maxResponseBytes`.
        public static var responseTooLarge: Self { .init(.responseTooLarge) }
        /// Any other failure; `HTTPClientError.detail` holds libcurl's message.
        public static var other: Self { .init(.other) }

        public var description: String {
            switch value {
            case .invalidURL: "invalid URL"
            case .invalidRequest: "invalid request"
            case .unsupportedScheme: "unsupported URL scheme (only http and https are allowed)"
            case .connectionFailed: "connection failed"
            case .timedOut: "timed out"
            case .tlsFailure: "TLS failure"
            case .responseTooLarge: "response too large"
            case .other: "request failed"
            }
        }
    }

    /// The kind of failure.
    public let code: Code
    /// The request URL with user info removed and any query or fragment elided.
    public let url: String
    /// More detail, e.g. libcurl's message; never contains body or header values.
    public let detail: String?

    init(_ code: Code, url: String, detail: String? = nil) {
        self.code = code
        self.url = Self.redacted(url)
        self.detail = detail
    }

    public var description: String {
        var text = "HTTP request to \(url.isEmpty ? "<empty URL>" : url): \(code)"
        if let detail, !detail.isEmpty {
            text += " (\(detail))"
        }
        return text
    }

    /// Drops `user:password@` and replaces any query or fragment with `?…`, so the
    /// URL can be logged. Works on unparsable input too (it is only text surgery).
    static func redacted(_ url: String) -> String {
        var text = Substring(url)
        var elided = false
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            text = text[..<cut]
            elided = true
        }
        if let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") {
            let authorityStart = text.index(colon, offsetBy: 3)
            let authorityEnd = text[authorityStart...].firstIndex(of: "/") ?? text.endIndex
            if let at = text[authorityStart..<authorityEnd].lastIndex(of: "@") {
                text = text[..<authorityStart] + text[text.index(after: at)...]
            }
        }
        // Control characters would let a hostile URL forge log lines.
        var result = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        if elided {
            result += "?…"
        }
        return result
    }
}
