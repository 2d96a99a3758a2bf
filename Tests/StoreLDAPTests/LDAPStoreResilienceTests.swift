import Dispatch
import Foundation
import Store
import StoreLDAP
import XCTest

/// What the directory does to the store: restarts, absence, a missing schema,
/// wrong credentials, and listings larger than one LDAP page.
final class LDAPStoreResilienceTests: XCTestCase {
    private func options(_ server: SlapdServer, base: String = "ou=resilience,dc=iec,dc=test", password: String = SlapdServer.adminPassword)
        -> LDAPStoreOptions
    {
        LDAPStoreOptions(url: server.url, bindDN: SlapdServer.adminDN, bindPassword: password, baseDN: base, poolSize: 4, timeout: 5)
    }

    private func user(_ name: String) -> UserRecord {
        UserRecord(realm: "edge", username: name, passwordHash: "x", createdAt: 1_700_000_000, updatedAt: 1_700_000_000)
    }

    private func assertStoreError(_ kind: StoreError.Kind, containing text: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected StoreError(\(kind))", file: file, line: line)
        } catch let error as StoreError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            XCTAssertTrue(error.reason.contains(text), "\(error.reason) should contain \(text)", file: file, line: line)
        } catch {
            XCTFail("expected StoreError(\(kind)), got \(error)", file: file, line: line)
        }
    }

    func testReconnectsAfterTheDirectoryRestarts() throws {
        let server = try SlapdServer()
        let store = try LDAPStore(options: options(server))
        try store.createUser(user("before"))
        // Fill the pool with idle connections, which the restart will break.
        DispatchQueue.concurrentPerform(iterations: 8) { _ in _ = try? store.user(realm: "edge", username: "before") }

        server.stop()
        assertStoreError(.unavailable, containing: "directory unreachable at \(server.url)") { _ = try store.user(realm: "edge", username: "before") }
        assertStoreError(.unavailable, containing: "directory unreachable") { try store.createUser(self.user("while-down")) }

        try server.start()
        XCTAssertEqual(try store.user(realm: "edge", username: "before")?.username, "before", "a read after the restart works at once")
        try store.createUser(user("after"))
        XCTAssertEqual(try store.listUsers(realm: "edge", page: PageRequest()).items.map(\.username), ["after", "before"])
        XCTAssertNoThrow(try store.checkHealth())
    }

    func testIdleConnectionsBrokenByARestartAreReplacedEvenForWrites() throws {
        let server = try SlapdServer()
        let store = try LDAPStore(options: options(server))
        DispatchQueue.concurrentPerform(iterations: 8) { _ in _ = try? store.checkHealth() }
        server.stop()
        try server.start()
        // Every pooled connection is dead; writes (which are not retried blindly) must still get a fresh one.
        for index in 0..<8 { try store.createUser(user("u\(index)")) }
        XCTAssertTrue(try store.consumeOnce(namespace: "jti", key: "k", expiresAt: 2_000_000_000, now: 1_700_000_000))
        XCTAssertEqual(try store.incrementCounter(key: "c", windowStart: 0, expiresAt: 2_000_000_000), 1)
    }

    func testDirectoryDownIsAClearError() throws {
        let port = try SlapdServer.freePort()
        let url = "ldap://127.0.0.1:\(port)/"
        assertStoreError(.unavailable, containing: "directory unreachable at \(url)") {
            _ = try LDAPStore(options: LDAPStoreOptions(url: url, bindDN: SlapdServer.adminDN, bindPassword: "pw", baseDN: "dc=iec,dc=test", timeout: 2))
        }
    }

    func testMissingSchemaNamesWhatIsMissing() throws {
        let server = try SlapdServer(schema: false)
        assertStoreError(.schemaMismatch, containing: "objectClass iecRecord, iecEdgeNode") { _ = try LDAPStore(options: options(server)) }
        assertStoreError(.schemaMismatch, containing: "edgeNodeRegistrationJwk") { _ = try LDAPStore(options: options(server)) }
        assertStoreError(.schemaMismatch, containing: "deploy/ldap/iec.ldif") { _ = try LDAPStore(options: options(server)) }
    }

    func testWrongPasswordIsRefusedWithoutShowingIt() throws {
        let server = try SlapdServer()
        let secret = "not-the-password-\(UUID().uuidString)"
        do {
            _ = try LDAPStore(options: options(server, password: secret))
            XCTFail("a wrong password was accepted")
        } catch let error as StoreError {
            XCTAssertEqual(error.kind, .internalFailure)
            XCTAssertTrue(error.reason.contains("Invalid credentials"), error.reason)
            XCTAssertFalse("\(error)".contains(secret))
        }
        XCTAssertFalse("\(options(server, password: secret))".contains(secret), "options print without the password")
    }

    func testBaseDNWhoseParentIsMissingIsAClearError() throws {
        let server = try SlapdServer()
        assertStoreError(.internalFailure, containing: "nor does its parent") {
            _ = try LDAPStore(options: options(server, base: "ou=x,ou=absent,dc=iec,dc=test"))
        }
    }

    /// 3,000 identities: more than one page of the paged results control (500)
    /// and than the largest store page (1,000); every listing stays complete and ordered.
    func testPagedListingOfThousandsOfEntries() throws {
        let server = try SlapdServer()
        let store = try LDAPStore(options: options(server))
        let count = 3000
        let ids = (0..<count).map { "node-\(String($0 * 7919 % count).leftPadded(to: 5))" }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 4) { part in
            for index in stride(from: part, to: count, by: 4) {
                do {
                    try store.createIdentity(
                        IdentityRecord(
                            realm: "edge", id: ids[index], type: index % 3 == 0 ? .iec : .device, registrationTime: 1, createdAt: 1, updatedAt: 1))
                } catch { failures.add("\(error)") }
            }
        }
        XCTAssertEqual(failures.all, [])

        let sorting = try LDAPStore(options: options(server))
        var scanning = options(server)
        scanning.serverSideSorting = false
        for (store, how) in [(sorting, "sorted by slapd (sssvlv)"), (try LDAPStore(options: scanning), "selected in Swift from a scan")] {
            var listed: [String] = []
            var cursor: String?
            var pages = 0
            let started = Date()
            repeat {
                let page = try store.listIdentities(realm: "edge", filter: IdentityFilter(), page: PageRequest(limit: 1000, cursor: cursor))
                listed += page.items.map(\.id)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            let listing = Date().timeIntervalSince(started)
            XCTAssertEqual(pages, 3, how)
            XCTAssertEqual(listed, ids.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }, how)

            let firstStarted = Date()
            let first = try store.listIdentities(realm: "edge", filter: IdentityFilter(), page: PageRequest(limit: 50))
            let firstPage = Date().timeIntervalSince(firstStarted)
            XCTAssertEqual(first.items.count, 50, how)
            let filteredStarted = Date()
            let page = try store.listIdentities(realm: "edge", filter: IdentityFilter(idContains: "NODE-0299"), page: PageRequest(limit: 5))
            XCTAssertEqual(page.items.map(\.id), ["node-02990", "node-02991", "node-02992", "node-02993", "node-02994"], how)
            print(
                "LDAPStore, \(count) identities, \(how): all in 3 pages of 1000 \(Int(listing * 1000)) ms; first page of 50 "
                    + "\(Int(firstPage * 1000)) ms; a filtered page of 5 \(Int(Date().timeIntervalSince(filteredStarted) * 1000)) ms")
        }
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter()), count)
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter(type: .iec)), count / 3)

        // Sorted pages stopped early are abandoned, so slapd's per-connection cap
        // (sssvlv-maxperconn 16) is never reached on one connection.
        var single = options(server)
        single.poolSize = 1
        let oneConnection = try LDAPStore(options: single)
        for _ in 0..<40 { XCTAssertEqual(try oneConnection.listIdentities(realm: "edge", filter: IdentityFilter(), page: PageRequest(limit: 2)).items.count, 2) }
        XCTAssertEqual(oneConnection.sortRefusals, 0, "every listing was sorted by the directory")
        XCTAssertEqual(sorting.sortRefusals, 0)
    }
}

private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ failure: String) { lock.withLock { list.append(failure) } }
    var all: [String] { lock.withLock { list } }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
