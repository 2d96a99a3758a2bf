import IECJSON
import Store
import XCTest

// Data outlives the store instance (skipped for adapters without `reopen`).
extension StoreConformanceTests {
    public func reopenKeepsEverything() throws {
        var store = try makeStore()
        let realm = RealmRecord(name: "edge", settings: ["issuer": "edge-device"], createdAt: Self.t0, updatedAt: Self.t0)
        try store.putRealm(realm)
        try store.createUser(makeUser("alice"))
        try store.createClient(makeClient("c-1"))
        try store.putSigningKey(makeKey("k-1"))
        try store.createRefreshToken(makeRefreshToken("rt-1"))
        try store.createDeviceCode(makeDeviceCode("dc-1", userCode: "BCDFGHJK"))
        try store.revokeAccessToken(jwtID: "jti-1", realm: "edge", expiresAt: Self.t0 + 300)
        try store.createSession(makeSession("s-1"))
        XCTAssertTrue(try store.touchSession(idHash: "s-1", at: Self.t0 + 30))
        XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: Self.t0 + 60, now: Self.t0))
        XCTAssertEqual(try store.incrementCounter(key: "k", windowStart: Self.t0, expiresAt: Self.t0 + 60), 1)
        let event = try store.appendAudit(makeEvent(action: "create"))

        store = try reopen(store)

        XCTAssertEqual(try store.realm(named: "edge"), realm)
        XCTAssertEqual(try store.user(realm: "edge", username: "alice"), makeUser("alice"))
        XCTAssertEqual(try store.client(realm: "edge", clientID: "c-1"), makeClient("c-1"))
        XCTAssertEqual(try store.signingKeys(realm: "edge", purpose: "token"), [makeKey("k-1")])
        XCTAssertEqual(try store.refreshToken(hash: "rt-1"), makeRefreshToken("rt-1"))
        XCTAssertEqual(try store.deviceCode(hash: "dc-1"), makeDeviceCode("dc-1", userCode: "BCDFGHJK"))
        XCTAssertTrue(try store.isAccessTokenRevoked(jwtID: "jti-1"))
        XCTAssertEqual(try store.session(idHash: "s-1")?.lastUsedAt, Self.t0 + 30)
        XCTAssertFalse(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: Self.t0 + 60, now: Self.t0 + 1))
        XCTAssertEqual(try store.incrementCounter(key: "k", windowStart: Self.t0, expiresAt: Self.t0 + 60), 2)
        XCTAssertEqual(try store.recentAudit(realm: "edge", limit: 10, before: nil), [event])
        let next = try store.appendAudit(makeEvent(action: "after"))
        XCTAssertGreaterThan(next.sequence, event.sequence, "sequences keep increasing after a reopen")
    }
}
