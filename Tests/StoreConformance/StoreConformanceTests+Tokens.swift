import IECJSON
import Store
import XCTest

// Signing keys, refresh tokens, device codes, access-token revocation and sessions.
extension StoreConformanceTests {
    // MARK: Signing keys

    public func signingKeysPutReplacesByKeyID() throws {
        let store = try makeStore()
        let key = makeKey("k1")
        try store.putSigningKey(key)
        var retired = key
        retired.status = .retired
        try store.putSigningKey(retired)
        let keys = try store.signingKeys(realm: "edge", purpose: "token")
        XCTAssertEqual(keys.count, 1, "the same (realm, keyID) is one key")
        assertIdentical(keys.first, retired)
    }

    public func signingKeysFilteredByPurposeAndRealm() throws {
        let store = try makeStore()
        try store.putSigningKey(makeKey("token-1", purpose: "token"))
        try store.putSigningKey(makeKey("challenge-1", purpose: "challenge"))
        try store.putSigningKey(makeKey("root-token", realm: "root", purpose: "token"))
        XCTAssertEqual(try store.signingKeys(realm: "edge", purpose: "token").map(\.keyID), ["token-1"])
        XCTAssertEqual(try store.signingKeys(realm: "edge", purpose: "challenge").map(\.keyID), ["challenge-1"])
        XCTAssertEqual(try store.signingKeys(realm: "root", purpose: "token").map(\.keyID), ["root-token"])
        XCTAssertEqual(try store.signingKeys(realm: "edge", purpose: "other"), [])
    }

    public func signingKeysOldestFirst() throws {
        let store = try makeStore()
        try store.putSigningKey(makeKey("b-newest", at: Self.t0 + 200))
        try store.putSigningKey(makeKey("c-oldest", at: Self.t0))
        try store.putSigningKey(makeKey("a-middle", at: Self.t0 + 100))
        XCTAssertEqual(try store.signingKeys(realm: "edge", purpose: "token").map(\.keyID), ["c-oldest", "a-middle", "b-newest"])
    }

    // MARK: Refresh tokens

    public func refreshTokensCreateAndGet() throws {
        let store = try makeStore()
        let token = makeRefreshToken("rt-1")
        try store.createRefreshToken(token)
        assertIdentical(try store.refreshToken(hash: "rt-1"), token)
        XCTAssertNil(try store.refreshToken(hash: "rt-2"))
    }

    public func refreshTokensDuplicateHashConflicts() throws {
        let store = try makeStore()
        try store.createRefreshToken(makeRefreshToken("rt-1"))
        assertStoreError(.conflict) { try store.createRefreshToken(makeRefreshToken("rt-1", family: "family-2")) }
        XCTAssertEqual(try store.refreshToken(hash: "rt-1")?.familyID, "family-1")
    }

    public func refreshTokensRotateOnce() throws {
        let store = try makeStore()
        try store.createRefreshToken(makeRefreshToken("rt-1"))
        let successor = makeRefreshToken("rt-2")
        XCTAssertTrue(try store.rotateRefreshToken(oldHash: "rt-1", successor: successor))
        XCTAssertEqual(try store.refreshToken(hash: "rt-1")?.status, .rotated)
        assertIdentical(try store.refreshToken(hash: "rt-2"), successor)
    }

    public func refreshTokensSecondRotateFailsAndStoresNothing() throws {
        let store = try makeStore()
        try store.createRefreshToken(makeRefreshToken("rt-1"))
        XCTAssertTrue(try store.rotateRefreshToken(oldHash: "rt-1", successor: makeRefreshToken("rt-2")))
        XCTAssertFalse(try store.rotateRefreshToken(oldHash: "rt-1", successor: makeRefreshToken("rt-3")), "reuse of a rotated token")
        XCTAssertNil(try store.refreshToken(hash: "rt-3"))
        XCTAssertEqual(try store.refreshToken(hash: "rt-1")?.status, .rotated)
        XCTAssertEqual(try store.refreshToken(hash: "rt-2")?.status, .active)
    }

    public func refreshTokensRotateOfMissingOrRevokedFails() throws {
        let store = try makeStore()
        XCTAssertFalse(try store.rotateRefreshToken(oldHash: "missing", successor: makeRefreshToken("rt-2")))
        XCTAssertNil(try store.refreshToken(hash: "rt-2"))
        try store.createRefreshToken(makeRefreshToken("rt-1"))
        try store.revokeRefreshTokenFamily(familyID: "family-1")
        XCTAssertFalse(try store.rotateRefreshToken(oldHash: "rt-1", successor: makeRefreshToken("rt-3")))
        XCTAssertNil(try store.refreshToken(hash: "rt-3"))
    }

    public func refreshTokensFamilyRevocation() throws {
        let store = try makeStore()
        try store.createRefreshToken(makeRefreshToken("rt-1"))
        XCTAssertTrue(try store.rotateRefreshToken(oldHash: "rt-1", successor: makeRefreshToken("rt-2")))
        try store.createRefreshToken(makeRefreshToken("other", family: "family-2"))
        XCTAssertEqual(try store.revokeRefreshTokenFamily(familyID: "family-1"), 2)
        XCTAssertEqual(try store.refreshToken(hash: "rt-1")?.status, .revoked)
        XCTAssertEqual(try store.refreshToken(hash: "rt-2")?.status, .revoked)
        XCTAssertEqual(try store.refreshToken(hash: "other")?.status, .active, "other families are untouched")
        XCTAssertEqual(try store.revokeRefreshTokenFamily(familyID: "family-1"), 0, "nothing left to change")
        XCTAssertEqual(try store.revokeRefreshTokenFamily(familyID: "no-such-family"), 0)
    }

    // MARK: Device codes

    public func deviceCodesFoundByHashAndByUserCode() throws {
        let store = try makeStore()
        let code = makeDeviceCode("dc-1", userCode: "BCDFGHJK")
        try store.createDeviceCode(code)
        assertIdentical(try store.deviceCode(hash: "dc-1"), code)
        assertIdentical(try store.deviceCode(realm: "edge", userCode: "BCDFGHJK"), code)
        XCTAssertNil(try store.deviceCode(realm: "root", userCode: "BCDFGHJK"))
        XCTAssertNil(try store.deviceCode(hash: "dc-2"))
        XCTAssertNil(try store.deviceCode(realm: "edge", userCode: "BCDFGHJL"))
    }

    public func deviceCodesConflictOnHash() throws {
        let store = try makeStore()
        try store.createDeviceCode(makeDeviceCode("dc-1", userCode: "BCDFGHJK"))
        assertStoreError(.conflict) { try store.createDeviceCode(makeDeviceCode("dc-1", userCode: "LMNPQRST")) }
        assertStoreError(.conflict) { try store.createDeviceCode(makeDeviceCode("dc-1", userCode: "LMNPQRST", realm: "root")) }
        XCTAssertNil(try store.deviceCode(realm: "edge", userCode: "LMNPQRST"))
    }

    public func deviceCodesConflictOnUserCodeWithinRealmOnly() throws {
        let store = try makeStore()
        try store.createDeviceCode(makeDeviceCode("dc-1", userCode: "BCDFGHJK"))
        assertStoreError(.conflict) { try store.createDeviceCode(makeDeviceCode("dc-2", userCode: "BCDFGHJK")) }
        XCTAssertNil(try store.deviceCode(hash: "dc-2"))
        XCTAssertNoThrow(try store.createDeviceCode(makeDeviceCode("dc-3", userCode: "BCDFGHJK", realm: "root")))
        XCTAssertEqual(try store.deviceCode(realm: "root", userCode: "BCDFGHJK")?.deviceCodeHash, "dc-3")
        XCTAssertEqual(try store.deviceCode(realm: "edge", userCode: "BCDFGHJK")?.deviceCodeHash, "dc-1")
    }

    public func deviceCodesOptimisticUpdate() throws {
        let store = try makeStore()
        let code = makeDeviceCode("dc-1", userCode: "BCDFGHJK")
        try store.createDeviceCode(code)

        var approved = code
        approved.status = .approved
        approved.subject = "alice"
        approved.lastPolledAt = Self.t0 + 5
        approved.interval = 10
        approved.attributes = ["approvedAt": .double(Self.t0 + 4.5)]
        approved.version = code.version + 1
        XCTAssertTrue(try store.updateDeviceCode(approved))
        assertIdentical(try store.deviceCode(hash: "dc-1"), approved)

        var stale = code
        stale.status = .denied
        stale.version = code.version + 1  // read before the approval: version is now taken
        XCTAssertFalse(try store.updateDeviceCode(stale), "a stale version must lose")
        assertIdentical(try store.deviceCode(hash: "dc-1"), approved)

        var consumed = approved
        consumed.status = .consumed
        consumed.version = approved.version + 1
        XCTAssertTrue(try store.updateDeviceCode(consumed))
        XCTAssertEqual(try store.deviceCode(realm: "edge", userCode: "BCDFGHJK")?.status, .consumed)
        XCTAssertEqual(try store.deviceCode(hash: "dc-1")?.version, code.version + 2)
    }

    public func deviceCodesUpdateOfMissingReturnsFalse() throws {
        let store = try makeStore()
        var code = makeDeviceCode("dc-1", userCode: "BCDFGHJK")
        code.version = 1
        XCTAssertFalse(try store.updateDeviceCode(code))
        XCTAssertNil(try store.deviceCode(hash: "dc-1"), "update must not create")
    }

    // MARK: Access-token revocation

    public func accessTokenRevocation() throws {
        let store = try makeStore()
        XCTAssertFalse(try store.isAccessTokenRevoked(jwtID: "jti-1"))
        try store.revokeAccessToken(jwtID: "jti-1", realm: "edge", expiresAt: Self.t0 + 300)
        XCTAssertTrue(try store.isAccessTokenRevoked(jwtID: "jti-1"))
        XCTAssertFalse(try store.isAccessTokenRevoked(jwtID: "jti-2"))
        XCTAssertNoThrow(try store.revokeAccessToken(jwtID: "jti-1", realm: "edge", expiresAt: Self.t0 + 300), "revoking twice is fine")
        XCTAssertTrue(try store.isAccessTokenRevoked(jwtID: "jti-1"))
    }

    // MARK: Sessions

    public func sessionsCreateTouchDelete() throws {
        let store = try makeStore()
        let session = makeSession("s-1")
        try store.createSession(session)
        assertIdentical(try store.session(idHash: "s-1"), session)

        XCTAssertTrue(try store.touchSession(idHash: "s-1", at: Self.t0 + 42.5))
        var touched = session
        touched.lastUsedAt = Self.t0 + 42.5
        assertIdentical(try store.session(idHash: "s-1"), touched)

        XCTAssertTrue(try store.deleteSession(idHash: "s-1"))
        XCTAssertNil(try store.session(idHash: "s-1"))
        XCTAssertFalse(try store.deleteSession(idHash: "s-1"))
        XCTAssertFalse(try store.touchSession(idHash: "s-1", at: Self.t0 + 50), "touching an ended session reports it")
        XCTAssertNil(try store.session(idHash: "s-1"), "touch must not create")
    }

    public func sessionsDeletedBySubject() throws {
        let store = try makeStore()
        try store.createSession(makeSession("s-1", subject: "node-1"))
        try store.createSession(makeSession("s-2", subject: "node-1"))
        try store.createSession(makeSession("s-3", subject: "node-2"))
        try store.createSession(makeSession("s-4", subject: "node-1", realm: "root"))
        XCTAssertEqual(try store.deleteSessions(realm: "edge", subject: "node-1"), 2)
        XCTAssertNil(try store.session(idHash: "s-1"))
        XCTAssertNil(try store.session(idHash: "s-2"))
        XCTAssertNotNil(try store.session(idHash: "s-3"), "other subjects keep theirs")
        XCTAssertNotNil(try store.session(idHash: "s-4"), "the same subject in another realm keeps its session")
        XCTAssertEqual(try store.deleteSessions(realm: "edge", subject: "node-1"), 0)
    }
}
