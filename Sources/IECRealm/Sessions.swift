public import IECCrypto
public import IECJSON
public import JOSE
public import OAuth2
public import Store

/// Sessions kept in the store by the hash of their token, so that any iec-am
/// instance sharing the store can validate them, and a leaked database holds
/// no usable session.
public struct SessionManager: Sendable {
    let store: any Store
    let clock: any WallClock
    let random: any RandomSource
    /// Writes of `lastUsedAt` happen at most this often per session (idle timeouts
    /// are minutes; a write per request would be waste).
    let touchInterval: Double = 15

    public init(store: any Store, clock: any WallClock, random: any RandomSource) {
        self.store = store
        self.clock = clock
        self.random = random
    }

    /// Creates a session and returns its token (shown once, to the client).
    public func create(realm: String, subject: String, kind: String, idleTimeout: Double, maxLifetime: Double, attributes: JSONValue = .object([:])) throws -> String {
        let token = Base64.urlEncode(random.bytes(32))
        let now = clock.now
        try store.createSession(
            SessionRecord(
                idHash: OAuth2Provider.hashSecret(token), realm: realm, subject: subject, kind: kind, createdAt: now, lastUsedAt: now,
                expiresAt: now + maxLifetime, idleTimeout: idleTimeout, attributes: attributes))
        return token
    }

    /// The live session of `token`, or nil (unknown, idle too long, past its maximum life).
    public func validate(_ token: String) throws -> SessionRecord? {
        guard !token.isEmpty, token.utf8.count <= 128 else { return nil }
        let hash = OAuth2Provider.hashSecret(token)
        guard var session = try store.session(idHash: hash) else { return nil }
        let now = clock.now
        guard now < session.expiresAt, now - session.lastUsedAt < session.idleTimeout else {
            _ = try store.deleteSession(idHash: hash)
            return nil
        }
        if now - session.lastUsedAt >= touchInterval {
            _ = try store.touchSession(idHash: hash, at: now)
            session.lastUsedAt = now
        }
        return session
    }

    @discardableResult
    public func end(_ token: String) throws -> Bool {
        try store.deleteSession(idHash: OAuth2Provider.hashSecret(token))
    }
}

/// Fixed-window limits on what can be guessed (passwords, user codes), kept in
/// the store so that every instance counts the same attempts.
public struct RateLimiter: Sendable {
    let store: any Store
    let clock: any WallClock

    public init(store: any Store, clock: any WallClock) {
        self.store = store
        self.clock = clock
    }

    private func window(_ length: Double) -> Double { (clock.now / length).rounded(.down) * length }

    /// True when `key` has reached `limit` failures in the current window.
    public func isLimited(_ key: String, limit: Int, window length: Double) throws -> Bool {
        try store.counter(key: key, windowStart: window(length)) >= limit
    }

    /// Counts one failure of `key`; returns the count in the window.
    @discardableResult
    public func recordFailure(_ key: String, window length: Double) throws -> Int {
        let start = window(length)
        return try store.incrementCounter(key: key, windowStart: start, expiresAt: start + length)
    }

    /// Seconds until the current window ends, for `Retry-After`.
    public func retryAfter(window length: Double) -> Int { Int((window(length) + length - clock.now).rounded(.up)) }
}
