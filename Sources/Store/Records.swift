public import IECJSON

/// Seconds since the Unix epoch. Stores keep times as they are given: they
/// never read a clock themselves, so that tests control time.
public typealias Timestamp = Double

/// A realm and its settings document. The identity server owns the settings'
/// shape (OAuth2 provider, IEC service); the store keeps it as JSON.
public struct RealmRecord: Sendable, Hashable {
    public var name: String
    public var settings: JSONValue
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(name: String, settings: JSONValue, createdAt: Timestamp, updatedAt: Timestamp) {
        self.name = name
        self.settings = settings
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A person who signs in with a password: an administrator (realm `root`,
/// role `admin`) or a user of a realm who approves device codes and pairs devices.
public struct UserRecord: Sendable, Hashable {
    public var realm: String
    public var username: String
    /// Argon2id, PHC string format.
    public var passwordHash: String
    public var roles: [String]
    public var disabled: Bool
    /// Free attributes (display name, e-mail, ...).
    public var attributes: JSONValue
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        realm: String, username: String, passwordHash: String, roles: [String] = [], disabled: Bool = false,
        attributes: JSONValue = .object([:]), createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.realm = realm
        self.username = username
        self.passwordHash = passwordHash
        self.roles = roles
        self.disabled = disabled
        self.attributes = attributes
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An OAuth2 client registered in a realm.
public struct OAuth2ClientRecord: Sendable, Hashable {
    public var realm: String
    public var clientID: String
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    public var tokenEndpointAuthMethod: String
    /// A keyed hash of the client secret (the secret itself is never stored), or nil.
    public var secretHash: String?
    /// The client's public keys, for `private_key_jwt` and the JWT-bearer grant.
    public var jwks: JSONValue?
    public var grantTypes: [String]
    public var scopes: [String]
    public var name: String
    public var disabled: Bool
    /// Free attributes (e.g. the identity it belongs to).
    public var attributes: JSONValue
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        realm: String, clientID: String, tokenEndpointAuthMethod: String, secretHash: String? = nil, jwks: JSONValue? = nil,
        grantTypes: [String], scopes: [String], name: String = "", disabled: Bool = false,
        attributes: JSONValue = .object([:]), createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.realm = realm
        self.clientID = clientID
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.secretHash = secretHash
        self.jwks = jwks
        self.grantTypes = grantTypes
        self.scopes = scopes
        self.name = name
        self.disabled = disabled
        self.attributes = attributes
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A signing key of a realm: for tokens (published in the JWKS) or for IEC challenges.
public struct SigningKeyRecord: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// Signs new tokens; published.
        case active
        /// No longer signs; still published until tokens it signed have expired.
        case retired
    }

    public var realm: String
    public var keyID: String
    /// `token` or `challenge`.
    public var purpose: String
    /// The private JWK.
    public var privateJWK: JSONValue
    public var status: Status
    public var createdAt: Timestamp

    public init(realm: String, keyID: String, purpose: String, privateJWK: JSONValue, status: Status, createdAt: Timestamp) {
        self.realm = realm
        self.keyID = keyID
        self.purpose = purpose
        self.privateJWK = privateJWK
        self.status = status
        self.createdAt = createdAt
    }
}

/// A refresh token, kept by a hash of its value. Rotation makes a family: a
/// token used twice reveals theft, and the whole family is then revoked.
public struct RefreshTokenRecord: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case active
        /// Exchanged for a successor; presenting it again is reuse.
        case rotated
        case revoked
    }

    public var tokenHash: String
    public var realm: String
    public var clientID: String
    public var subject: String
    public var scope: String
    public var familyID: String
    public var status: Status
    public var expiresAt: Timestamp
    public var createdAt: Timestamp
    /// Anything the issuer needs to mint the next access token (auth_time, claims).
    public var attributes: JSONValue

    public init(
        tokenHash: String, realm: String, clientID: String, subject: String, scope: String, familyID: String,
        status: Status = .active, expiresAt: Timestamp, createdAt: Timestamp, attributes: JSONValue = .object([:])
    ) {
        self.tokenHash = tokenHash
        self.realm = realm
        self.clientID = clientID
        self.subject = subject
        self.scope = scope
        self.familyID = familyID
        self.status = status
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.attributes = attributes
    }
}

/// A device authorization (RFC 8628): the device code is kept by hash, the user
/// code in clear (short-lived, rate-limited, and typed by people).
public struct DeviceCodeRecord: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case pending
        case approved
        case denied
        /// Exchanged for tokens: further polls get `invalid_grant`.
        case consumed
    }

    public var deviceCodeHash: String
    /// Normalised (upper case, no separator).
    public var userCode: String
    public var realm: String
    public var clientID: String
    public var scope: String
    public var status: Status
    /// The user who approved or denied, once one did.
    public var subject: String?
    public var interval: Double
    public var lastPolledAt: Timestamp?
    public var expiresAt: Timestamp
    public var createdAt: Timestamp
    /// Bumped on every update; updates name the version they read (optimistic concurrency).
    public var version: Int
    public var attributes: JSONValue

    public init(
        deviceCodeHash: String, userCode: String, realm: String, clientID: String, scope: String, status: Status = .pending,
        subject: String? = nil, interval: Double, lastPolledAt: Timestamp? = nil, expiresAt: Timestamp, createdAt: Timestamp,
        version: Int = 0, attributes: JSONValue = .object([:])
    ) {
        self.deviceCodeHash = deviceCodeHash
        self.userCode = userCode
        self.realm = realm
        self.clientID = clientID
        self.scope = scope
        self.status = status
        self.subject = subject
        self.interval = interval
        self.lastPolledAt = lastPolledAt
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.version = version
        self.attributes = attributes
    }
}

/// A signed-in session (admin console, realm user, or a gateway), kept by a hash of its id.
public struct SessionRecord: Sendable, Hashable {
    public var idHash: String
    public var realm: String
    public var subject: String
    /// `admin`, `user` or `node`.
    public var kind: String
    public var createdAt: Timestamp
    public var lastUsedAt: Timestamp
    /// Hard end, whatever the activity.
    public var expiresAt: Timestamp
    /// Seconds of inactivity after which the session ends.
    public var idleTimeout: Double
    public var attributes: JSONValue

    public init(
        idHash: String, realm: String, subject: String, kind: String, createdAt: Timestamp, lastUsedAt: Timestamp,
        expiresAt: Timestamp, idleTimeout: Double, attributes: JSONValue = .object([:])
    ) {
        self.idHash = idHash
        self.realm = realm
        self.subject = subject
        self.kind = kind
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.idleTimeout = idleTimeout
        self.attributes = attributes
    }
}

/// Something an administrator, a gateway or a user did, for the audit view.
public struct AuditEvent: Sendable, Hashable {
    /// Assigned by the store, increasing; 0 before it is stored.
    public var sequence: Int64
    public var realm: String
    public var time: Timestamp
    public var actor: String
    public var action: String
    public var target: String
    /// `success` or `failure`.
    public var outcome: String
    public var details: JSONValue

    public init(
        sequence: Int64 = 0, realm: String, time: Timestamp, actor: String, action: String, target: String,
        outcome: String, details: JSONValue = .object([:])
    ) {
        self.sequence = sequence
        self.realm = realm
        self.time = time
        self.actor = actor
        self.action = action
        self.target = target
        self.outcome = outcome
        self.details = details
    }
}

/// A page of a listing. Cursors are opaque and stable under inserts, so that
/// both SQLite (keyset) and LDAP (paged results) can serve them.
public struct PageRequest: Sendable, Hashable {
    public var limit: Int
    public var cursor: String?

    public init(limit: Int = 50, cursor: String? = nil) {
        self.limit = limit
        self.cursor = cursor
    }
}

public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Pass this back for the next page; nil on the last page.
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

extension Page: Equatable where Item: Equatable {}
