import IECJSON
public import Store
public import XCTest

/// The store conformance suite: every behaviour of the `Store` protocol, run
/// unchanged against each adapter (SQLite now, OpenLDAP later).
///
/// ## Using it for an adapter
/// Subclass, override ``makeStore()`` (and ``reopen(_:)`` when the adapter
/// persists), and conform the subclass to ``StoreConformanceCases``:
///
/// ```swift
/// final class LDAPStoreConformanceTests: StoreConformanceTests, StoreConformanceCases {
///     override func makeStore() throws -> any Store { ... }
///     func testUsersDuplicateUsernameConflicts() throws { try usersDuplicateUsernameConflicts() }
///     ...
/// }
/// ```
///
/// Why the extra lines: on Linux, XCTest finds test methods by reading the
/// test target's own source index, so `test…` methods inherited from a class
/// in another module (this one) are never run. The case bodies therefore live
/// here under plain names, and ``StoreConformanceCases`` requires one `test…`
/// method per case: an adapter that forgets a case, or a case added here, is a
/// compile error in the adapter's test target rather than a silently skipped test.
///
/// Every case starts from a fresh, empty store and uses fixed times (the store
/// never reads a clock).
open class StoreConformanceTests: XCTestCase {
    /// A fresh, empty store. Override in the adapter's subclass.
    open func makeStore() throws -> any Store {
        throw XCTSkip("StoreConformanceTests is abstract: an adapter's subclass overrides makeStore()")
    }

    /// A new instance on the same data as `store`, for persistence cases. The
    /// default skips them (for adapters that keep nothing).
    open func reopen(_ store: any Store) throws -> any Store {
        throw XCTSkip("this adapter does not support reopening")
    }

    /// A fixed instant the cases count from.
    public static let t0: Timestamp = 1_700_000_000

    // MARK: Fixtures

    public func makeUser(_ username: String, realm: String = "edge", at time: Timestamp = t0) -> UserRecord {
        UserRecord(
            realm: realm, username: username, passwordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", roles: ["user"],
            attributes: ["displayName": .string("User \(username)")], createdAt: time, updatedAt: time)
    }

    public func makeClient(_ clientID: String, realm: String = "edge", at time: Timestamp = t0) -> OAuth2ClientRecord {
        OAuth2ClientRecord(
            realm: realm, clientID: clientID, tokenEndpointAuthMethod: "client_secret_basic", secretHash: "sha256:\(clientID)",
            grantTypes: ["client_credentials"], scopes: ["read", "write"], name: "Client \(clientID)", createdAt: time,
            updatedAt: time)
    }

    public func makeKey(_ keyID: String, realm: String = "edge", purpose: String = "token", at time: Timestamp = t0)
        -> SigningKeyRecord
    {
        SigningKeyRecord(
            realm: realm, keyID: keyID, purpose: purpose,
            privateJWK: ["kty": "EC", "crv": "P-256", "kid": .string(keyID), "d": "c2VjcmV0", "x": "eA", "y": "eQ"],
            status: .active, createdAt: time)
    }

    public func makeRefreshToken(_ hash: String, family: String = "family-1", expiresAt: Timestamp = t0 + 3600)
        -> RefreshTokenRecord
    {
        RefreshTokenRecord(
            tokenHash: hash, realm: "edge", clientID: "client-1", subject: "alice", scope: "openid offline_access",
            familyID: family, expiresAt: expiresAt, createdAt: Self.t0, attributes: ["auth_time": .int(Int64(Self.t0))])
    }

    public func makeDeviceCode(_ hash: String, userCode: String, realm: String = "edge", expiresAt: Timestamp = t0 + 600)
        -> DeviceCodeRecord
    {
        DeviceCodeRecord(
            deviceCodeHash: hash, userCode: userCode, realm: realm, clientID: "device-client", scope: "openid", interval: 5,
            expiresAt: expiresAt, createdAt: Self.t0)
    }

    public func makeSession(
        _ idHash: String, subject: String = "alice", realm: String = "edge", lastUsedAt: Timestamp = t0,
        expiresAt: Timestamp = t0 + 7200, idleTimeout: Double = 1800
    ) -> SessionRecord {
        SessionRecord(
            idHash: idHash, realm: realm, subject: subject, kind: "user", createdAt: Self.t0, lastUsedAt: lastUsedAt,
            expiresAt: expiresAt, idleTimeout: idleTimeout, attributes: ["ip": "127.0.0.1"])
    }

    public func makeEvent(realm: String = "edge", action: String, at time: Timestamp = t0) -> AuditEvent {
        AuditEvent(
            realm: realm, time: time, actor: "admin", action: action, target: "client-1", outcome: "success",
            details: ["note": .string(action)])
    }

    // MARK: Assertions

    /// Asserts that `body` throws a `StoreError` of `kind`.
    public func assertStoreError<T>(
        _ kind: StoreError.Kind, _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> T
    ) {
        do {
            _ = try body()
            XCTFail("expected StoreError(\(kind)), nothing was thrown. \(message())", file: file, line: line)
        } catch let error as StoreError {
            XCTAssertEqual(error.kind, kind, "\(error). \(message())", file: file, line: line)
        } catch {
            XCTFail("expected StoreError(\(kind)), got \(error). \(message())", file: file, line: line)
        }
    }

    /// Equal, and equal byte for byte: Swift's `==` on strings ignores
    /// Unicode normalisation, a store must not.
    public func assertIdentical<T: Equatable>(_ actual: T?, _ expected: T, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual, expected, file: file, line: line)
        guard let actual else { return }
        XCTAssertEqual(
            Array(String(reflecting: actual).utf8), Array(String(reflecting: expected).utf8),
            "differs in its exact bytes (Unicode normalisation?)", file: file, line: line)
    }

    /// Every page of a listing, following cursors; fails past `maxPages`.
    public func allPages<T>(
        limit: Int, maxPages: Int = 10_000, file: StaticString = #filePath, line: UInt = #line,
        _ list: (PageRequest) throws -> Page<T>
    ) throws -> [[T]] {
        var pages: [[T]] = []
        var cursor: String?
        repeat {
            let page = try list(PageRequest(limit: limit, cursor: cursor))
            pages.append(page.items)
            cursor = page.nextCursor
            if pages.count > maxPages {
                XCTFail("paging did not end after \(maxPages) pages", file: file, line: line)
                break
            }
        } while cursor != nil
        return pages
    }
}
