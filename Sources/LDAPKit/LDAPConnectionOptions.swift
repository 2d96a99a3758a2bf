/// How to reach and bind to the directory.
public struct LDAPConnectionOptions: Sendable, Hashable, CustomStringConvertible {
    /// `ldap://host:port/` or `ldaps://host:port/`.
    public var url: String
    /// Simple bind DN; nil binds anonymously.
    public var bindDN: String?
    /// Never logged nor part of any error.
    public var bindPassword: String
    /// PEM file of the CAs to trust for `ldaps://` or StartTLS; nil uses the system's.
    public var caFile: String?
    /// Upgrade an `ldap://` connection with StartTLS (RFC 4513) before binding.
    public var startTLS: Bool
    /// Seconds for connecting and for each operation. Default 5.
    public var timeout: Double

    public init(url: String, bindDN: String? = nil, bindPassword: String = "", caFile: String? = nil, startTLS: Bool = false, timeout: Double = 5) {
        self.url = url
        self.bindDN = bindDN
        self.bindPassword = bindPassword
        self.caFile = caFile
        self.startTLS = startTLS
        self.timeout = timeout
    }

    /// Without the password.
    public var description: String {
        "LDAPConnectionOptions(url: \(url), bindDN: \(bindDN ?? "anonymous"), startTLS: \(startTLS), caFile: \(caFile ?? "none"), timeout: \(timeout))"
    }
}

/// One modification of an entry (RFC 4511 §4.6); every change of one
/// ``LDAPConnection/modify(_:_:)`` is applied atomically, or none is.
public struct LDAPModification: Sendable, Hashable {
    public enum Operation: Sendable, Hashable {
        case add
        /// Deletes the given values, or the whole attribute when none are given.
        /// Fails with noSuchAttribute when a given value is absent: a compare-and-swap.
        case delete
        case replace
    }

    public var operation: Operation
    public var attribute: String
    public var values: [[UInt8]]

    public init(_ operation: Operation, _ attribute: String, _ values: [[UInt8]]) {
        self.operation = operation
        self.attribute = attribute
        self.values = values
    }

    public static func add(_ attribute: String, _ value: String) -> Self { .init(.add, attribute, [Array(value.utf8)]) }
    public static func delete(_ attribute: String, _ value: String) -> Self { .init(.delete, attribute, [Array(value.utf8)]) }
    public static func replace(_ attribute: String, _ value: String) -> Self { .init(.replace, attribute, [Array(value.utf8)]) }
    /// Removes the attribute altogether (no error when absent).
    public static func remove(_ attribute: String) -> Self { .init(.replace, attribute, []) }
}

/// An entry as a search returned it: attribute names lowercased.
public struct LDAPEntry: Sendable, Hashable {
    public var dn: String
    public var attributes: [String: [[UInt8]]]

    public init(dn: String, attributes: [String: [[UInt8]]]) {
        self.dn = dn
        self.attributes = attributes
    }

    /// The first value of `attribute` as UTF-8 text (nil when absent or not UTF-8).
    public func string(_ attribute: String) -> String? {
        guard let bytes = attributes[attribute.lowercased()]?.first else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    public func strings(_ attribute: String) -> [String] {
        (attributes[attribute.lowercased()] ?? []).compactMap { String(validating: $0, as: UTF8.self) }
    }
}

public enum LDAPScope: Sendable, Hashable {
    case base
    case oneLevel
    case subtree
}

/// Filter and DN value escaping (RFC 4515, RFC 4514).
public enum LDAPEscape {
    /// Every byte as `\xx`: no value can change a filter's meaning, whatever it holds.
    public static func filterValue(_ value: String) -> String { filterValue(Array(value.utf8)) }

    public static func filterValue(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 3)
        for byte in bytes {
            output.append(UInt8(ascii: "\\"))
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
