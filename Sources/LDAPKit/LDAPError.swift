/// A failed LDAP operation: the directory could not be reached, took too long,
/// or answered with a result code other than success.
///
/// Never holds a password or the values of an entry: only DNs, attribute names
/// and the server's diagnostic text.
public struct LDAPError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// No connection could be made, or the connection broke.
        public static let unreachable = Kind("unreachable")
        /// The directory did not answer within the timeout (the connection is dropped).
        public static let timeout = Kind("timeout")
        /// Every pooled connection stayed busy past the timeout.
        public static let poolExhausted = Kind("poolExhausted")
        /// The server answered with a result code (see ``LDAPError/code``).
        public static let result = Kind("result")
        /// A local failure: bad URL, TLS setup, out of memory.
        public static let local = Kind("local")
    }

    public let kind: Kind
    /// The LDAP result code (RFC 4511, or libldap's negative client codes).
    public let code: Int32
    public let message: String

    public init(_ kind: Kind, code: Int32, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { "LDAP \(kind) (\(code)): \(message)" }

    /// The connection this happened on can no longer be used.
    public var brokeConnection: Bool { kind == .unreachable || kind == .timeout }
}

/// Result codes LDAPKit's users decide on (RFC 4511 §4.1.9 and libldap's client codes).
public enum LDAPResultCode {
    public static let success: Int32 = 0
    public static let timeLimitExceeded: Int32 = 3
    public static let sizeLimitExceeded: Int32 = 4
    public static let noSuchAttribute: Int32 = 16
    public static let undefinedAttributeType: Int32 = 17
    public static let constraintViolation: Int32 = 19
    public static let attributeOrValueExists: Int32 = 20
    public static let invalidAttributeSyntax: Int32 = 21
    public static let noSuchObject: Int32 = 32
    public static let invalidDNSyntax: Int32 = 34
    public static let invalidCredentials: Int32 = 49
    public static let insufficientAccessRights: Int32 = 50
    public static let busy: Int32 = 51
    public static let unavailable: Int32 = 52
    public static let unwillingToPerform: Int32 = 53
    public static let objectClassViolation: Int32 = 65
    public static let notAllowedOnNonLeaf: Int32 = 66
    public static let alreadyExists: Int32 = 68
    public static let other: Int32 = 80
    // libldap's client-side codes.
    public static let serverDown: Int32 = -1
    public static let localError: Int32 = -2
    public static let encodingError: Int32 = -3
    public static let decodingError: Int32 = -4
    public static let clientTimeout: Int32 = -5
    public static let paramError: Int32 = -9
    public static let noMemory: Int32 = -10
    public static let connectError: Int32 = -11
}
