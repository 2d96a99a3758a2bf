import IECJSON
import Store
import XCTest

// Single-use values, counters, purging, the audit trail.
extension StoreConformanceTests {
    // MARK: consumeOnce

    public func consumeOnceFirstTrueThenFalse() throws {
        let store = try makeStore()
        XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: Self.t0 + 60, now: Self.t0))
        XCTAssertFalse(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: Self.t0 + 60, now: Self.t0 + 1))
        XCTAssertFalse(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: Self.t0 + 600, now: Self.t0 + 59))
        XCTAssertTrue(try store.consumeOnce(namespace: "challenge", key: "a", expiresAt: Self.t0 + 60, now: Self.t0), "namespaces are apart")
        XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "b", expiresAt: Self.t0 + 60, now: Self.t0))
    }

    public func consumeOnceTrueAgainAfterExpiry() throws {
        let store = try makeStore()
        XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: Self.t0 + 60, now: Self.t0))
        XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: Self.t0 + 200, now: Self.t0 + 100), "expired: usable again")
        XCTAssertFalse(try store.consumeOnce(namespace: "jti", key: "a", expiresAt: Self.t0 + 300, now: Self.t0 + 150), "and recorded again")
    }

    // MARK: incrementCounter

    public func countersCountPerKeyAndWindow() throws {
        let store = try makeStore()
        let window = Self.t0
        XCTAssertEqual(try store.incrementCounter(key: "login:alice", windowStart: window, expiresAt: window + 60), 1)
        XCTAssertEqual(try store.incrementCounter(key: "login:alice", windowStart: window, expiresAt: window + 60), 2)
        XCTAssertEqual(try store.incrementCounter(key: "login:alice", windowStart: window, expiresAt: window + 60), 3)
        XCTAssertEqual(try store.incrementCounter(key: "login:bob", windowStart: window, expiresAt: window + 60), 1, "per key")
        XCTAssertEqual(try store.incrementCounter(key: "login:alice", windowStart: window + 60, expiresAt: window + 120), 1, "per window")
        XCTAssertEqual(try store.incrementCounter(key: "login:alice", windowStart: window, expiresAt: window + 60), 4)
    }

    public func countersReadWithoutCounting() throws {
        let store = try makeStore()
        let window = Self.t0
        XCTAssertEqual(try store.counter(key: "login:alice", windowStart: window), 0, "no counter yet")
        XCTAssertEqual(try store.incrementCounter(key: "login:alice", windowStart: window, expiresAt: window + 60), 1)
        XCTAssertEqual(try store.incrementCounter(key: "login:alice", windowStart: window, expiresAt: window + 60), 2)
        XCTAssertEqual(try store.counter(key: "login:alice", windowStart: window), 2)
        XCTAssertEqual(try store.counter(key: "login:alice", windowStart: window), 2, "reading does not count")
        XCTAssertEqual(try store.counter(key: "login:alice", windowStart: window + 60), 0, "per window")
        XCTAssertEqual(try store.counter(key: "login:bob", windowStart: window), 0, "per key")
        try store.purgeExpired(now: window + 61)
        XCTAssertEqual(try store.counter(key: "login:alice", windowStart: window), 0, "gone once purged")
    }

    // MARK: purgeExpired

    public func purgeExpiredRemovesOnlyWhatExpired() throws {
        let store = try makeStore()
        let now = Self.t0 + 1000
        XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "old", expiresAt: Self.t0 + 500, now: Self.t0))
        XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "live", expiresAt: Self.t0 + 2000, now: Self.t0))
        XCTAssertEqual(try store.incrementCounter(key: "old", windowStart: Self.t0, expiresAt: Self.t0 + 500), 1)
        XCTAssertEqual(try store.incrementCounter(key: "live", windowStart: Self.t0, expiresAt: Self.t0 + 2000), 1)
        try store.createSession(makeSession("hard-expired", lastUsedAt: Self.t0 + 400, expiresAt: Self.t0 + 500, idleTimeout: 3600))
        try store.createSession(makeSession("idle", lastUsedAt: Self.t0 + 100, expiresAt: Self.t0 + 5000, idleTimeout: 600))
        try store.createSession(makeSession("live", lastUsedAt: Self.t0 + 900, expiresAt: Self.t0 + 5000, idleTimeout: 600))
        try store.createDeviceCode(makeDeviceCode("dc-old", userCode: "OLDCODE1", expiresAt: Self.t0 + 500))
        try store.createDeviceCode(makeDeviceCode("dc-live", userCode: "LIVECODE", expiresAt: Self.t0 + 2000))
        try store.revokeAccessToken(jwtID: "jti-old", realm: "edge", expiresAt: Self.t0 + 500)
        try store.revokeAccessToken(jwtID: "jti-live", realm: "edge", expiresAt: Self.t0 + 2000)
        try store.createRefreshToken(makeRefreshToken("rt-old", expiresAt: Self.t0 + 500))
        try store.createRefreshToken(makeRefreshToken("rt-live", expiresAt: Self.t0 + 2000))

        XCTAssertEqual(try store.purgeExpired(now: now), 7, "one single-use value, one counter, two sessions, one of each other kind")

        XCTAssertFalse(try store.consumeOnce(namespace: "jti", key: "live", expiresAt: Self.t0 + 2000, now: now))
        XCTAssertEqual(try store.incrementCounter(key: "old", windowStart: Self.t0, expiresAt: Self.t0 + 500), 1, "counted afresh")
        XCTAssertEqual(try store.incrementCounter(key: "live", windowStart: Self.t0, expiresAt: Self.t0 + 2000), 2)
        XCTAssertNil(try store.session(idHash: "hard-expired"))
        XCTAssertNil(try store.session(idHash: "idle"))
        XCTAssertNotNil(try store.session(idHash: "live"))
        XCTAssertNil(try store.deviceCode(hash: "dc-old"))
        XCTAssertNil(try store.deviceCode(realm: "edge", userCode: "OLDCODE1"))
        XCTAssertNotNil(try store.deviceCode(hash: "dc-live"))
        XCTAssertFalse(try store.isAccessTokenRevoked(jwtID: "jti-old"))
        XCTAssertTrue(try store.isAccessTokenRevoked(jwtID: "jti-live"))
        XCTAssertNil(try store.refreshToken(hash: "rt-old"))
        XCTAssertNotNil(try store.refreshToken(hash: "rt-live"))

        // The re-counted "old" counter expired again at t0 + 500.
        XCTAssertEqual(try store.purgeExpired(now: now), 1)
        XCTAssertEqual(try store.purgeExpired(now: now), 0)
    }

    public func purgeExpiredKeepsAccountsKeysAndAudit() throws {
        let store = try makeStore()
        try store.putRealm(RealmRecord(name: "edge", settings: [:], createdAt: Self.t0, updatedAt: Self.t0))
        try store.createUser(makeUser("alice"))
        try store.createClient(makeClient("c-1"))
        try store.putSigningKey(makeKey("k-1"))
        try store.appendAudit(makeEvent(action: "create"))
        XCTAssertEqual(try store.purgeExpired(now: Self.t0 + 1e9), 0)
        XCTAssertNotNil(try store.realm(named: "edge"))
        XCTAssertNotNil(try store.user(realm: "edge", username: "alice"))
        XCTAssertNotNil(try store.client(realm: "edge", clientID: "c-1"))
        XCTAssertEqual(try store.signingKeys(realm: "edge", purpose: "token").count, 1)
        XCTAssertEqual(try store.recentAudit(realm: "edge", limit: 10, before: nil).count, 1)
    }

    // MARK: Audit

    public func auditSequenceIncreasesAcrossRealms() throws {
        let store = try makeStore()
        var sequences: [Int64] = []
        for index in 0..<6 {
            let event = makeEvent(realm: index % 2 == 0 ? "edge" : "root", action: "action-\(index)", at: Self.t0 + Double(index))
            let stored = try store.appendAudit(event)
            var expected = event
            expected.sequence = stored.sequence
            XCTAssertEqual(stored, expected, "only the sequence is assigned")
            sequences.append(stored.sequence)
        }
        XCTAssertGreaterThan(sequences[0], 0)
        XCTAssertEqual(sequences, sequences.sorted())
        XCTAssertEqual(Set(sequences).count, sequences.count, "strictly increasing")
    }

    public func auditNewestFirstWithLimit() throws {
        let store = try makeStore()
        var stored: [AuditEvent] = []
        for index in 0..<5 { stored.append(try store.appendAudit(makeEvent(action: "action-\(index)", at: Self.t0 + Double(index)))) }
        let recent = try store.recentAudit(realm: "edge", limit: 3, before: nil)
        XCTAssertEqual(recent, Array(stored.reversed().prefix(3)))
        XCTAssertEqual(try store.recentAudit(realm: "edge", limit: 100, before: nil), stored.reversed())
    }

    public func auditPagedWithBefore() throws {
        let store = try makeStore()
        var stored: [AuditEvent] = []
        for index in 0..<5 { stored.append(try store.appendAudit(makeEvent(action: "action-\(index)"))) }
        let first = try store.recentAudit(realm: "edge", limit: 2, before: nil)
        XCTAssertEqual(first.map(\.action), ["action-4", "action-3"])
        let second = try store.recentAudit(realm: "edge", limit: 2, before: first.last?.sequence)
        XCTAssertEqual(second.map(\.action), ["action-2", "action-1"])
        let third = try store.recentAudit(realm: "edge", limit: 2, before: second.last?.sequence)
        XCTAssertEqual(third.map(\.action), ["action-0"])
        XCTAssertEqual(try store.recentAudit(realm: "edge", limit: 2, before: stored[0].sequence), [])
    }

    public func auditFilteredByRealm() throws {
        let store = try makeStore()
        try store.appendAudit(makeEvent(realm: "edge", action: "edge-1"))
        try store.appendAudit(makeEvent(realm: "root", action: "root-1"))
        try store.appendAudit(makeEvent(realm: "edge", action: "edge-2"))
        try store.appendAudit(makeEvent(realm: "root", action: "root-2"))
        XCTAssertEqual(try store.recentAudit(realm: "edge", limit: 10, before: nil).map(\.action), ["edge-2", "edge-1"])
        XCTAssertEqual(try store.recentAudit(realm: "root", limit: 10, before: nil).map(\.action), ["root-2", "root-1"])
        XCTAssertEqual(try store.recentAudit(realm: "other", limit: 10, before: nil), [])
    }
}
