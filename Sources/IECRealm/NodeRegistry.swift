public import IECCrypto
public import IECJSON
public import JOSE
public import OAuth2
public import Store

/// Creates, reads and changes edge-node identities together with the OAuth2
/// client each node is, so that the two never drift apart: a node gets its
/// tokens as a `private_key_jwt` client with its own key, and disabling or
/// deleting the node disables or deletes the client (its tokens then
/// introspect as inactive at once).
public struct NodeRegistry: Sendable {
    public let store: any Store
    public let clock: any WallClock

    public init(store: any Store, clock: any WallClock) {
        self.store = store
        self.clock = clock
    }

    /// Node ids: 1 to 128 bytes of printable characters, no `/` or `\\` (ids appear
    /// in URL paths), no control characters, no leading or trailing space. Anything
    /// else — `<`, quotes, `=` — is allowed: every consumer escapes (HTML as text,
    /// URLs percent-encoded, LDAP DNs per RFC 4514).
    public static func isValidNodeID(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= 128, id.first != " ", id.last != " " else { return false }
        return id.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) && $0 != "/" && $0 != "\\" }
    }

    /// The public key of a JWK given at registration: an EC P-256 public key, nothing else.
    public static func publicKey(fromJWK json: JSONValue) throws -> JWK {
        let jwk: JWK
        do {
            jwk = try JWK(json: json)
        } catch let error as JOSEError {
            throw IECRealmError.badRequest("the node's key is not a valid JWK: \(error.reason)")
        }
        guard jwk.keyType == .ec, !jwk.isPrivate else { throw IECRealmError.badRequest("the node's key must be a public EC P-256 JWK") }
        return JWK(publicKey: try jwk.publicKey())
    }

    /// Registers a node with its key: creates the identity and its OAuth2 client.
    /// A node that exists with the same key is returned as it is (a retried
    /// registration); with another key it is a conflict.
    public func register(realm: String, id: String, type: IdentityRecord.NodeType, parentID: String?, key: JWK,
                         attributes: JSONValue = .object([:])) throws -> IdentityRecord {
        guard Self.isValidNodeID(id) else {
            throw IECRealmError.badRequest("node ids are 1 to 128 bytes of printable characters, without / or \\ and without leading or trailing spaces")
        }
        let now = clock.now
        let keys = JWKS(keys: [key]).json
        if let existing = try store.identity(realm: realm, id: id) {
            guard existing.type == type, existing.parentID == parentID, Self.sameKeys(existing.publicKeys, keys) else {
                throw IECRealmError.conflict("an identity named \(id) is already registered")
            }
            guard existing.status == .registered else { throw IECRealmError.forbidden("the identity \(id) is disabled") }
            return existing
        }
        if let client = try store.client(realm: realm, clientID: id), client.attributes["iec_node"] == nil {
            throw IECRealmError.conflict("an OAuth2 client named \(id) exists and is not an edge node")
        }
        let identity = IdentityRecord(
            realm: realm, id: id, type: type, parentID: parentID, publicKeys: keys, registrationTime: now, attributes: attributes,
            createdAt: now, updatedAt: now)
        do {
            try store.createIdentity(identity)
        } catch let error as StoreError where error.kind == .conflict {
            throw IECRealmError.conflict("an identity named \(id) is already registered")
        }
        let client = OAuth2ClientRecord(
            realm: realm, clientID: id, tokenEndpointAuthMethod: ClientAuthMethod.privateKeyJWT, jwks: keys,
            grantTypes: [GrantType.jwtBearer, GrantType.deviceCode, GrantType.refreshToken], scopes: ["openid", "profile"],
            name: id, attributes: ["iec_node": .string(type.rawValue)], createdAt: now, updatedAt: now)
        do {
            try store.createClient(client)
        } catch let error as StoreError where error.kind == .conflict {
            try store.updateClient(client)
        }
        return identity
    }

    static func sameKeys(_ a: JSONValue, _ b: JSONValue) -> Bool {
        let left = (try? JWKS(json: a))?.keys.map { $0.thumbprint() }.sorted()
        let right = (try? JWKS(json: b))?.keys.map { $0.thumbprint() }.sorted()
        return left != nil && left == right
    }

    /// The node's verification keys.
    public func keys(of identity: IdentityRecord) throws -> JWKS {
        do {
            return try JWKS(json: identity.publicKeys)
        } catch {
            throw IECRealmError.serverError(hint: "stored keys of \(identity.id) do not parse")
        }
    }

    /// Applies `change` with optimistic concurrency, retrying a few times on a race.
    @discardableResult
    public func update(realm: String, id: String, _ change: (inout IdentityRecord) throws -> Void) throws -> IdentityRecord {
        for _ in 0..<5 {
            guard var identity = try store.identity(realm: realm, id: id) else { throw IECRealmError.notFound("no identity named \(id)") }
            try change(&identity)
            identity.version += 1
            identity.updatedAt = clock.now
            if try store.updateIdentity(identity) { return identity }
        }
        throw IECRealmError(status: 409, "the identity \(id) changed while it was being updated; try again")
    }

    /// Disables or enables a node and its OAuth2 client; disabling ends its sessions.
    public func setDisabled(realm: String, id: String, disabled: Bool) throws -> IdentityRecord {
        let identity = try update(realm: realm, id: id) { $0.status = disabled ? .disabled : .registered }
        if var client = try store.client(realm: realm, clientID: id) {
            client.disabled = disabled
            client.updatedAt = clock.now
            try store.updateClient(client)
        }
        if disabled { try store.deleteSessions(realm: realm, subject: id) }
        return identity
    }

    /// Deletes a node, its descendants and their clients and sessions; returns the ids deleted.
    public func delete(realm: String, id: String) throws -> [String] {
        let removed = try store.deleteIdentity(realm: realm, id: id)
        for node in removed {
            _ = try store.deleteClient(realm: realm, clientID: node)
            try store.deleteSessions(realm: realm, subject: node)
        }
        return removed
    }

    /// True when `node` is `ancestor` or lies below it in the tree.
    public func isSelfOrDescendant(_ node: IdentityRecord, of ancestor: String) throws -> Bool {
        var current: IdentityRecord? = node
        var hops = 0
        while let record = current, hops < 4 {
            if record.id == ancestor { return true }
            guard let parent = record.parentID else { return false }
            current = try store.identity(realm: node.realm, id: parent)
            hops += 1
        }
        return false
    }
}
