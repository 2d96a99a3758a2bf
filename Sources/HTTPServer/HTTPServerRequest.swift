public import IECJSON
internal import Synchronization

/// One request as a handler sees it: complete, with its body read.
public struct HTTPServerRequest: Sendable {
    /// The method, upper case as sent (`GET`, `POST`, ...; methods are case-sensitive).
    public var method: String
    /// The percent-decoded path without the query, e.g. `/oauth2/realms/root/realms/edge/access_token`.
    public var path: String
    /// The query as sent (without `?`), `""` when there is none.
    public var rawQuery: String
    /// The first value of each query parameter, form-decoded (`+` is a space).
    public var query: [String: String]
    /// Header fields in the order received; names lower-cased.
    public var headers: [(name: String, value: String)]
    /// The body (at most `HTTPServerConfiguration.maxBodyBytes`).
    public var body: [UInt8]
    /// The client's IP address, e.g. `127.0.0.1` or `::1`.
    public var remoteAddress: String
    /// Whether the request came over TLS.
    public var isSecure: Bool
    /// The client's `X-Request-ID` if it is a sane token (≤ 64 characters of
    /// `[A-Za-z0-9._-]`), else one the server made; echoed in the response.
    public var requestID: String
    /// Values of the `{name}` (and `{name...}`) segments of the matched route, decoded.
    public var pathParameters: [String: String]

    /// The path as sent (still percent-encoded): the router splits this at `/`
    /// before decoding, so `%2F` stays inside one segment.
    var rawPath: Substring
    /// Where the router leaves the matched route's pattern (the metrics label).
    let route: RouteLabel

    /// Makes a request from a request target such as `/a/b?x=1`, parsed the way
    /// the server parses one. For testing handlers without a server.
    public init(
        method: String = "GET",
        target: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        remoteAddress: String = "127.0.0.1",
        isSecure: Bool = false,
        requestID: String = "test-request"
    ) {
        let parsed = RequestTarget(target)
        self.init(
            method: method, target: parsed,
            headers: headers.map { (name: asciiLowercased($0.name), value: $0.value) },
            body: body, remoteAddress: remoteAddress, isSecure: isSecure, requestID: requestID)
    }

    init(
        method: String, target: RequestTarget, headers: [(name: String, value: String)], body: [UInt8],
        remoteAddress: String, isSecure: Bool, requestID: String
    ) {
        self.method = method
        self.rawPath = target.rawPath
        self.path = URLEncoding.decode(target.rawPath, plusAsSpace: false)
        self.rawQuery = String(target.rawQuery)
        self.query = target.rawQuery.isEmpty ? [:] : URLEncoding.firstValues(URLEncoding.formPairs(target.rawQuery))
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.isSecure = isSecure
        self.requestID = requestID
        self.pathParameters = [:]
        self.route = RouteLabel()
    }

    /// The value of the first header field called `name` (ASCII case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        let wanted = asciiLowercased(name)  // field names are stored lower-cased
        for field in headers where field.name == wanted {
            return field.value
        }
        return nil
    }

    /// Every value of the query parameters, in order; for endpoints that must
    /// refuse a repeated parameter (OAuth2).
    public func queryParameterValues() -> [String: [String]] {
        rawQuery.isEmpty ? [:] : URLEncoding.allValues(URLEncoding.formPairs(rawQuery[...]))
    }

    /// The cookies of the `Cookie` header fields (RFC 6265 §5.4); the first of a name wins.
    /// Values keep their bytes, except that surrounding double quotes are removed.
    public var cookies: [String: String] {
        var result: [String: String] = [:]
        for field in headers where field.name == "cookie" {
            for piece in field.value.split(separator: ";") {
                guard let equals = piece.firstIndex(of: "=") else { continue }
                let name = trimmed(piece[..<equals])
                var value = trimmed(piece[piece.index(after: equals)...])
                if value.count >= 2, value.first == "\"", value.last == "\"" {
                    value = value.dropFirst().dropLast()
                }
                guard !name.isEmpty, result[String(name)] == nil else { continue }
                result[String(name)] = String(value)
            }
        }
        return result
    }

    /// The body as `application/x-www-form-urlencoded` data, the first value of
    /// each name; nil if the content type is not that.
    public func formParameters() -> [String: String]? {
        formPairs().map(URLEncoding.firstValues)
    }

    /// The body as `application/x-www-form-urlencoded` data, every value of each
    /// name in order (OAuth2 must refuse repeated parameters); nil if the content
    /// type is not that.
    public func formParameterValues() -> [String: [String]]? {
        formPairs().map(URLEncoding.allValues)
    }

    private func formPairs() -> [(name: String, value: String)]? {
        guard let contentType = header("content-type"),
              asciiCaseInsensitiveEquals(mediaType(of: contentType), "application/x-www-form-urlencoded")
        else {
            return nil
        }
        return URLEncoding.formPairs(Substring(decoding: body, as: UTF8.self))
    }

    /// The body parsed as JSON.
    ///
    /// - Throws: `HTTPError` 415 unless the content type is `application/json`
    ///   (a `charset` parameter other than UTF-8 is refused too); 400 if the body
    ///   is empty or not strict JSON (see `JSONValue.parse`).
    public func jsonBody() throws -> JSONValue {
        guard let contentType = header("content-type") else {
            throw HTTPError(status: 415, message: "expected Content-Type application/json, got none")
        }
        guard asciiCaseInsensitiveEquals(mediaType(of: contentType), "application/json") else {
            throw HTTPError(status: 415, message: "expected Content-Type application/json, got \(mediaType(of: contentType))")
        }
        if let charset = Self.parameter("charset", of: contentType),
           !asciiCaseInsensitiveEquals(charset, "utf-8"), !asciiCaseInsensitiveEquals(charset, "utf8")
        {
            throw HTTPError(status: 415, message: "JSON must be UTF-8, got charset \(charset)")
        }
        guard !body.isEmpty else {
            throw HTTPError(status: 400, message: "the request body is empty, expected JSON")
        }
        do {
            return try JSONValue.parse(body, limits: JSONParseLimits(maxBytes: max(body.count, 1), maxDepth: 64))
        } catch let error as JSONParseError {
            throw HTTPError(status: 400, message: "the request body is not valid JSON: \(error)")
        }
    }

    /// The value of parameter `name` of a header value like `type/subtype; name=value`.
    static func parameter(_ name: String, of value: String) -> Substring? {
        for piece in value.split(separator: ";").dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            guard asciiCaseInsensitiveEquals(trimmed(piece[..<equals]), name) else { continue }
            var parameter = trimmed(piece[piece.index(after: equals)...])
            if parameter.count >= 2, parameter.first == "\"", parameter.last == "\"" {
                parameter = parameter.dropFirst().dropLast()
            }
            return parameter
        }
        return nil
    }
}

/// A request target split into the raw path and the raw query.
struct RequestTarget {
    var rawPath: Substring
    var rawQuery: Substring

    init(_ target: String) {
        var rest = target[...]
        // absolute-form (RFC 9112 §3.2.2): keep only the path and query.
        if rest.utf8.first != UInt8(ascii: "/") && (rest.hasPrefix("http://") || rest.hasPrefix("https://")) {
            let afterScheme = rest[rest.index(rest.firstIndex(of: ":")!, offsetBy: 3)...]
            rest = afterScheme[(afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex)...]
            if rest.isEmpty || rest.first == "?" { rest = ("/" + rest)[...] }
        }
        // Searching the UTF-8 bytes for ASCII delimiters is much faster than
        // Character iteration, and their indices are valid String indices.
        if let hash = rest.utf8.firstIndex(of: UInt8(ascii: "#")) {
            rest = rest[..<hash]
        }
        if let question = rest.utf8.firstIndex(of: UInt8(ascii: "?")) {
            rawPath = rest[..<question]
            rawQuery = rest[rest.utf8.index(after: question)...]
        } else {
            rawPath = rest
            rawQuery = ""
        }
    }
}

/// The matched route's pattern, written by the router and read by the server
/// for metrics; shared by every copy of one request.
final class RouteLabel: Sendable {
    private let storage = Mutex<String?>(nil)

    var value: String? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

func trimmed(_ text: Substring) -> Substring {
    var result = text
    while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
    while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
    return result
}
