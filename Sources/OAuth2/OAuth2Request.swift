/// The parts of an HTTP request the OAuth2 endpoints read: the form body and
/// the Authorization header. Transport-free, so grants are tested without sockets.
public struct OAuth2Request: Sendable {
    /// Every form parameter with all its values (repeats must be detected, RFC 6749 §3.2).
    public var form: [String: [String]]
    public var authorization: String?
    /// The URL of the endpoint being called, an acceptable assertion audience.
    public var endpointURL: String

    public init(form: [String: [String]], authorization: String? = nil, endpointURL: String = "") {
        self.form = form
        self.authorization = authorization
        self.endpointURL = endpointURL
    }

    /// The single value of `name`, nil when absent or empty; repeated parameters are an error.
    public func parameter(_ name: String) throws -> String? {
        guard let values = form[name] else { return nil }
        guard values.count == 1 else { throw OAuth2Error.invalidRequest("the \(name) parameter is repeated") }
        return values[0].isEmpty ? nil : values[0]
    }

    public func required(_ name: String) throws -> String {
        guard let value = try parameter(name) else { throw OAuth2Error.invalidRequest("the \(name) parameter is missing") }
        return value
    }
}

/// Percent-decoding as `application/x-www-form-urlencoded` defines it (RFC 6749 §2.3.1 encodes Basic credentials so).
func formDecode(_ text: Substring) -> String? {
    var bytes: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let byte = iterator.next() {
        switch byte {
        case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
        case UInt8(ascii: "%"):
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        default: bytes.append(byte)
        }
    }
    return String(validating: bytes, as: UTF8.self)
}

/// Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive tokens.
enum Scope {
    static func parse(_ text: String?) throws -> [String]? {
        guard let text else { return nil }
        var scopes: [String] = []
        for token in text.split(separator: " ", omittingEmptySubsequences: true) {
            guard token.utf8.allSatisfy({ $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) }) else {
                throw OAuth2Error.invalidScope("the scope contains characters RFC 6749 §3.3 does not allow")
            }
            if !scopes.contains(String(token)) { scopes.append(String(token)) }
        }
        return scopes
    }

    /// The scopes to grant: the requested ones, which must all be allowed, or all allowed ones.
    static func grant(requested: [String]?, allowed: [String]) throws -> [String] {
        guard let requested else { return allowed }
        if let refused = requested.first(where: { !allowed.contains($0) }) {
            throw OAuth2Error.invalidScope("the scope \"\(refused.prefix(64))\" is not allowed for this client")
        }
        return requested
    }
}
