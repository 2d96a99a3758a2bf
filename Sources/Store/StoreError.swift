/// A store operation that failed. Adapters map their native errors (SQLite
/// result codes, LDAP result codes) into these kinds, so callers never see
/// which engine is underneath.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A record with the same key exists.
        public static let conflict = Kind("conflict")
        /// The record to update or delete does not exist.
        public static let notFound = Kind("notFound")
        /// The engine cannot be reached or is busy past its timeout; retrying may help.
        public static let unavailable = Kind("unavailable")
        /// The engine answers but lacks our schema (LDAP) or has a newer one (SQLite).
        public static let schemaMismatch = Kind("schemaMismatch")
        /// A value the store cannot hold (too large, wrong shape).
        public static let invalidValue = Kind("invalidValue")
        /// Anything else; logged, answered as a server error.
        public static let internalFailure = Kind("internalFailure")
    }

    public let kind: Kind
    /// For logs and operators; never holds secrets or record contents.
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "store \(kind): \(reason)" }
}
