/// Everything the identity server keeps, behind one protocol with one
/// conformance suite, so that SQLite (embedded) and OpenLDAP (the directory)
/// are interchangeable.
///
/// The protocol speaks of records and keys, never of tables, rows or SQL.
/// All calls are synchronous and thread-safe: the HTTP server calls them from
/// its worker threads. A call that returns has made its change durable, unless
/// the method says otherwise (`consumeOnce`, `incrementCounter` and
/// `touchSession` hold short-lived protection state that may be lost with the
/// machine's power, though not with a crash of the process).
///
/// A record is expired once `now >= expiresAt`. Keys match exactly, byte for
/// byte; listings are ordered by the UTF-8 bytes of their key.
///
/// Every state that must hold across several iec-am instances lives here —
/// sessions, device codes, single-use values, counters — never in process memory.
public protocol Store: IdentityStore {
    /// Cheap check that the store answers; for `/health/ready`.
    func checkHealth() throws

    // MARK: Realms
    func realm(named name: String) throws -> RealmRecord?
    /// Creates or replaces the realm.
    func putRealm(_ realm: RealmRecord) throws
    /// Ordered by name.
    func listRealms() throws -> [RealmRecord]

    // MARK: Users (administrators in realm `root`, realm users elsewhere)
    /// Throws `conflict` when the username is taken in the realm.
    func createUser(_ user: UserRecord) throws
    func user(realm: String, username: String) throws -> UserRecord?
    /// Throws `notFound` when absent.
    func updateUser(_ user: UserRecord) throws
    /// True when a user was deleted.
    func deleteUser(realm: String, username: String) throws -> Bool
    /// Ordered by username.
    func listUsers(realm: String, page: PageRequest) throws -> Page<UserRecord>

    // MARK: OAuth2 clients
    /// Throws `conflict` when the client id is taken in the realm.
    func createClient(_ client: OAuth2ClientRecord) throws
    func client(realm: String, clientID: String) throws -> OAuth2ClientRecord?
    /// Throws `notFound` when absent.
    func updateClient(_ client: OAuth2ClientRecord) throws
    func deleteClient(realm: String, clientID: String) throws -> Bool
    /// Ordered by client id.
    func listClients(realm: String, page: PageRequest) throws -> Page<OAuth2ClientRecord>

    // MARK: Signing keys
    /// Creates or replaces the key (realm, keyID).
    func putSigningKey(_ key: SigningKeyRecord) throws
    /// All keys of the realm for the purpose, oldest first, then by key id.
    func signingKeys(realm: String, purpose: String) throws -> [SigningKeyRecord]

    // MARK: Refresh tokens
    /// Throws `conflict` when the hash exists.
    func createRefreshToken(_ token: RefreshTokenRecord) throws
    func refreshToken(hash: String) throws -> RefreshTokenRecord?
    /// Atomically: if the token `oldHash` is `active`, marks it `rotated` and
    /// stores `successor`, returning true. Otherwise changes nothing and returns false.
    /// Throws `conflict`, changing nothing, when the successor's hash exists.
    func rotateRefreshToken(oldHash: String, successor: RefreshTokenRecord) throws -> Bool
    /// Marks every token of the family `revoked`; returns how many changed.
    @discardableResult
    func revokeRefreshTokenFamily(familyID: String) throws -> Int

    // MARK: Device codes (RFC 8628)
    /// Throws `conflict` when the device code hash or the user code (in the realm) exists.
    func createDeviceCode(_ code: DeviceCodeRecord) throws
    func deviceCode(hash: String) throws -> DeviceCodeRecord?
    func deviceCode(realm: String, userCode: String) throws -> DeviceCodeRecord?
    /// Stores `code` if the stored version is still `code.version - 1`
    /// (the caller increments it); false when someone else updated it first or
    /// it no longer exists.
    func updateDeviceCode(_ code: DeviceCodeRecord) throws -> Bool

    // MARK: Access token revocation
    /// Records that the token with `jwtID` is revoked until it would have expired anyway.
    func revokeAccessToken(jwtID: String, realm: String, expiresAt: Timestamp) throws
    func isAccessTokenRevoked(jwtID: String) throws -> Bool

    // MARK: Sessions
    /// Throws `conflict` when the hash exists.
    func createSession(_ session: SessionRecord) throws
    func session(idHash: String) throws -> SessionRecord?
    /// Sets `lastUsedAt`; false when the session no longer exists. May be lost
    /// with the machine's power (a session then looks idle a little earlier).
    func touchSession(idHash: String, at time: Timestamp) throws -> Bool
    func deleteSession(idHash: String) throws -> Bool
    /// Ends every session of a subject (e.g. a disabled node); returns how many.
    @discardableResult
    func deleteSessions(realm: String, subject: String) throws -> Int

    // MARK: Short-lived protection state
    /// Records `key` in `namespace` (e.g. `jti`, `challenge`) until `expiresAt`;
    /// false when it is already recorded and not expired. Single-use values.
    func consumeOnce(namespace: String, key: String, expiresAt: Timestamp, now: Timestamp) throws -> Bool
    /// Adds one to the counter `key` in the fixed window starting at
    /// `windowStart` and returns the new count; for rate limits.
    func incrementCounter(key: String, windowStart: Timestamp, expiresAt: Timestamp) throws -> Int
    /// The current count of `key` in the window starting at `windowStart` (0 when none).
    func counter(key: String, windowStart: Timestamp) throws -> Int
    /// Removes expired single-use values, counters, sessions, device codes,
    /// revocations and refresh tokens; returns how many records went.
    @discardableResult
    func purgeExpired(now: Timestamp) throws -> Int

    // MARK: Audit
    /// Stores the event and returns it with its sequence number.
    @discardableResult
    func appendAudit(_ event: AuditEvent) throws -> AuditEvent
    /// Newest first, at most `limit`, optionally before a sequence number.
    func recentAudit(realm: String, limit: Int, before: Int64?) throws -> [AuditEvent]
}

