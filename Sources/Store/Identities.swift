public import IECJSON

/// An edge node — a gateway (`iec`), an SDK app on it (`client`) or a device
/// onboarded through a client (`device`) — in the tree gateway → client → device.
public struct IdentityRecord: Sendable, Hashable {
    public enum NodeType: String, Sendable, Hashable, CaseIterable {
        case iec
        case client
        case device
    }

    public enum Status: String, Sendable, Hashable, CaseIterable {
        case registered
        case disabled
    }

    public var realm: String
    /// The node's name, unique in the realm (the seed's id_token_config.subject, client id, device id).
    public var id: String
    public var type: NodeType
    public var status: Status
    /// The gateway of a client, the client of a device; nil for a gateway.
    public var parentID: String?
    /// The node's public keys as a JWK Set (LDAP: `edgeNodeRegistrationJwk`).
    public var publicKeys: JSONValue
    /// Set by administrators, returned by GET_CONFIG (`edgeNodeConfig`).
    public var configuration: JSONValue
    /// Set by scripts (`edgeNodeUserConfig`).
    public var userConfiguration: JSONValue
    public var registrationTime: Timestamp
    /// The user a device is paired with, once one approved it (`edgeNodePairedUser`).
    public var pairedUser: String?
    /// Free attributes (platform, version, environment data).
    public var attributes: JSONValue
    /// The highest command nonce accepted so far; commands must exceed it.
    public var commandNonce: Int64
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// Bumped on every update; updates name the version they read (optimistic concurrency).
    public var version: Int

    public init(
        realm: String, id: String, type: NodeType, status: Status = .registered, parentID: String? = nil,
        publicKeys: JSONValue = ["keys": []], configuration: JSONValue = .object([:]), userConfiguration: JSONValue = .object([:]),
        registrationTime: Timestamp, pairedUser: String? = nil, attributes: JSONValue = .object([:]), commandNonce: Int64 = 0,
        createdAt: Timestamp, updatedAt: Timestamp, version: Int = 0
    ) {
        self.realm = realm
        self.id = id
        self.type = type
        self.status = status
        self.parentID = parentID
        self.publicKeys = publicKeys
        self.configuration = configuration
        self.userConfiguration = userConfiguration
        self.registrationTime = registrationTime
        self.pairedUser = pairedUser
        self.attributes = attributes
        self.commandNonce = commandNonce
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }
}

/// Which identities a listing returns. Every member narrows; nil means any.
public struct IdentityFilter: Sendable, Hashable {
    public var type: IdentityRecord.NodeType?
    public var status: IdentityRecord.Status?
    public var parentID: String?
    /// Ids containing this text, ASCII case-insensitively.
    public var idContains: String?

    public init(type: IdentityRecord.NodeType? = nil, status: IdentityRecord.Status? = nil, parentID: String? = nil, idContains: String? = nil) {
        self.type = type
        self.status = status
        self.parentID = parentID
        self.idContains = idContains
    }
}

/// A JavaScript script of a realm: a command handler or an attestation script.
public struct ScriptRecord: Sendable, Hashable {
    public var realm: String
    /// e.g. `GetDeviceConfig`, `HelloWorld`.
    public var name: String
    /// `command` or `attestation`.
    public var kind: String
    public var source: String
    public var description: String
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(realm: String, name: String, kind: String, source: String, description: String = "", createdAt: Timestamp, updatedAt: Timestamp) {
        self.realm = realm
        self.name = name
        self.kind = kind
        self.source = source
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The IoT part of the store, which `Store` includes: edge node identities and scripts.
public protocol IdentityStore: Sendable {
    /// Throws `conflict` when the id is taken in the realm, `notFound` when
    /// `parentID` names no identity of the realm, and `invalidValue` when it
    /// names the identity itself.
    func createIdentity(_ identity: IdentityRecord) throws
    func identity(realm: String, id: String) throws -> IdentityRecord?
    /// Stores `identity` if the stored version is still `identity.version - 1`
    /// (the caller increments it); false when someone else updated it first or it is gone.
    /// Throws `invalidValue`, changing nothing, when `type` or `parentID` differ from
    /// the stored ones: the tree's shape is fixed at creation. The stored
    /// `commandNonce` never decreases: the larger of the stored and the given one is kept.
    func updateIdentity(_ identity: IdentityRecord) throws -> Bool
    /// Deletes the identity and all its descendants; returns the ids deleted,
    /// descendants first (empty when it did not exist).
    func deleteIdentity(realm: String, id: String) throws -> [String]
    /// Ordered by id.
    func listIdentities(realm: String, filter: IdentityFilter, page: PageRequest) throws -> Page<IdentityRecord>
    func countIdentities(realm: String, filter: IdentityFilter) throws -> Int
    /// Atomically: if `nonce` is greater than the stored command nonce, stores it and
    /// returns true; otherwise false (a replayed or out-of-order command). False too when absent.
    /// Changes neither `version` nor `updatedAt`.
    func advanceCommandNonce(realm: String, id: String, to nonce: Int64) throws -> Bool

    /// Creates or replaces the script (realm, name).
    func putScript(_ script: ScriptRecord) throws
    func script(realm: String, name: String) throws -> ScriptRecord?
    /// Ordered by name.
    func listScripts(realm: String) throws -> [ScriptRecord]
    func deleteScript(realm: String, name: String) throws -> Bool
}
