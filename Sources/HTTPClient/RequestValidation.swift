internal import CCurl

/// Checks a request before libcurl sees it: the URL, the method and the header fields.
enum RequestValidation {
    /// Parses `url` with libcurl's URL parser and returns its normalised form.
    ///
    /// The scheme is checked first, as text, so that `file:`, `ftp://` (even with
    /// no host) and the like are reported as `unsupportedScheme`, not `invalidURL`.
    static func normalizedURL(_ url: String) throws(HTTPClientError) -> String {
        guard !url.utf8.contains(0) else {
            throw HTTPClientError(.invalidURL, url: url, detail: "NUL byte in URL")
        }
        if let scheme = scheme(of: url) {
            guard scheme == "http" || scheme == "https" else {
                throw HTTPClientError(.unsupportedScheme, url: url, detail: "scheme \"\(scheme)\"")
            }
        }
        guard let parsed = curl_url() else {
            throw HTTPClientError(.other, url: url, detail: "curl_url failed")
        }
        defer { curl_url_cleanup(parsed) }
        // No CURLU_GUESS_SCHEME / CURLU_DEFAULT_SCHEME: a URL must name its scheme.
        let setResult = curl_url_set(parsed, CURLUPART_URL, url, 0)
        guard setResult == CURLUE_OK else {
            throw HTTPClientError(.invalidURL, url: url, detail: String(cString: curl_url_strerror(setResult)))
        }
        guard let scheme = part(CURLUPART_SCHEME, of: parsed)?.lowercased(),
              scheme == "http" || scheme == "https"
        else {
            throw HTTPClientError(.unsupportedScheme, url: url)
        }
        guard let normalized = part(CURLUPART_URL, of: parsed) else {
            throw HTTPClientError(.invalidURL, url: url)
        }
        return normalized
    }

    /// Checks the method and header fields (and the user agent) for injection.
    static func check(_ request: HTTPRequest, userAgent: String) throws(HTTPClientError) {
        guard isToken(request.method) else {
            throw HTTPClientError(.invalidRequest, url: request.url, detail: "method is not a token")
        }
        guard request.method != "HEAD" || request.body.isEmpty else {
            throw HTTPClientError(.invalidRequest, url: request.url, detail: "HEAD request with a body")
        }
        for (index, field) in request.headers.enumerated() {
            guard isToken(field.name) else {
                throw HTTPClientError(
                    .invalidRequest, url: request.url, detail: "header field \(index + 1): name is not a token")
            }
            guard isFieldValue(field.value) else {
                throw HTTPClientError(
                    .invalidRequest, url: request.url,
                    detail: "header field \(index + 1) (\(field.name)): value contains CR, LF or NUL")
            }
        }
        guard isFieldValue(userAgent) else {
            throw HTTPClientError(.invalidRequest, url: request.url, detail: "user agent contains CR, LF or NUL")
        }
    }

    /// The lower-cased scheme if `url` starts with `scheme ":"` (RFC 3986 §3.1).
    static func scheme(of url: String) -> String? {
        let bytes = Array(url.utf8.prefix(64))
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
            return nil
        }
        let isAlpha: (UInt8) -> Bool = { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
        let isSchemeByte: (UInt8) -> Bool = {
            isAlpha($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: ".")
        }
        guard isAlpha(bytes[0]), bytes[..<colon].allSatisfy(isSchemeByte) else {
            return nil
        }
        return String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
    }

    /// RFC 9110 §5.6.2 token: one or more tchar.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// A field value libcurl can send as one line: no CR, LF or NUL.
    static func isFieldValue(_ text: String) -> Bool {
        !text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }

    private static func part(_ which: CURLUPart, of url: OpaquePointer) -> String? {
        var value: UnsafeMutablePointer<CChar>? = nil
        guard curl_url_get(url, which, &value, 0) == CURLUE_OK, let value else {
            return nil
        }
        defer { curl_free(value) }
        return String(cString: value)
    }
}
