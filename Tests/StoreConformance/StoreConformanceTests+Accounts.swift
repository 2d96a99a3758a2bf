import IECJSON
import Store
import XCTest

// Health, realms, users and OAuth2 clients.
extension StoreConformanceTests {
    public func healthCheckAnswers() throws {
        let store = try makeStore()
        XCTAssertNoThrow(try store.checkHealth())
    }

    // MARK: Realms

    public func realmsAbsentIsNil() throws {
        let store = try makeStore()
        XCTAssertNil(try store.realm(named: "edge"))
        XCTAssertEqual(try store.listRealms(), [])
    }

    public func realmsPutReplacesAndListsByName() throws {
        let store = try makeStore()
        let edge = RealmRecord(name: "edge", settings: ["issuer": "edge-device"], createdAt: Self.t0, updatedAt: Self.t0)
        let root = RealmRecord(name: "root", settings: [:], createdAt: Self.t0, updatedAt: Self.t0)
        try store.putRealm(root)
        try store.putRealm(edge)
        var changed = edge
        changed.settings = ["issuer": "edge-device", "audience": ["a", "b"]]
        changed.updatedAt = Self.t0 + 10
        try store.putRealm(changed)
        assertIdentical(try store.realm(named: "edge"), changed)
        XCTAssertEqual(try store.listRealms(), [changed, root])
    }

    // MARK: Users

    public func usersCreateGetUpdateDelete() throws {
        let store = try makeStore()
        let alice = makeUser("alice")
        try store.createUser(alice)
        assertIdentical(try store.user(realm: "edge", username: "alice"), alice)
        XCTAssertNil(try store.user(realm: "root", username: "alice"), "users belong to one realm")

        var changed = alice
        changed.passwordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3"
        changed.roles = ["admin", "user"]
        changed.disabled = true
        changed.attributes = ["email": "alice@example.com"]
        changed.updatedAt = Self.t0 + 60
        try store.updateUser(changed)
        assertIdentical(try store.user(realm: "edge", username: "alice"), changed)

        XCTAssertTrue(try store.deleteUser(realm: "edge", username: "alice"))
        XCTAssertNil(try store.user(realm: "edge", username: "alice"))
        XCTAssertFalse(try store.deleteUser(realm: "edge", username: "alice"), "a second delete finds nothing")
    }

    public func usersDuplicateUsernameConflicts() throws {
        let store = try makeStore()
        try store.createUser(makeUser("alice"))
        var again = makeUser("alice")
        again.passwordHash = "other"
        assertStoreError(.conflict) { try store.createUser(again) }
        XCTAssertEqual(try store.user(realm: "edge", username: "alice")?.passwordHash, makeUser("alice").passwordHash)
        XCTAssertNoThrow(try store.createUser(makeUser("alice", realm: "root")), "the same username in another realm is another user")
    }

    public func usersUpdateOfMissingThrowsNotFound() throws {
        let store = try makeStore()
        assertStoreError(.notFound) { try store.updateUser(makeUser("nobody")) }
        XCTAssertNil(try store.user(realm: "edge", username: "nobody"), "update must not create")
    }

    public func usersListedByUsernameWithinRealm() throws {
        let store = try makeStore()
        for name in ["carol", "alice", "dave", "bob"] { try store.createUser(makeUser(name)) }
        try store.createUser(makeUser("aaron", realm: "root"))
        let page = try store.listUsers(realm: "edge", page: PageRequest(limit: 50))
        XCTAssertEqual(page.items.map(\.username), ["alice", "bob", "carol", "dave"])
        XCTAssertNil(page.nextCursor, "everything fitted in one page")
        XCTAssertEqual(try store.listUsers(realm: "nowhere", page: PageRequest()).items, [])
    }

    public func usersPagedByTwoAcrossThreePages() throws {
        let store = try makeStore()
        for name in ["u3", "u1", "u5", "u2", "u4"] { try store.createUser(makeUser(name)) }
        let pages = try allPages(limit: 2) { try store.listUsers(realm: "edge", page: $0) }
        XCTAssertEqual(pages.map { $0.map(\.username) }, [["u1", "u2"], ["u3", "u4"], ["u5"]])
    }

    public func usersPagingStableUnderInsertAndDelete() throws {
        let store = try makeStore()
        for name in ["u02", "u04", "u06", "u08", "u10"] { try store.createUser(makeUser(name)) }
        let first = try store.listUsers(realm: "edge", page: PageRequest(limit: 2))
        XCTAssertEqual(first.items.map(\.username), ["u02", "u04"])
        // Before the cursor: not seen. After it: seen once. The cursor's own record deleted: paging goes on.
        try store.createUser(makeUser("u01"))
        try store.createUser(makeUser("u05"))
        XCTAssertTrue(try store.deleteUser(realm: "edge", username: "u04"))
        let second = try store.listUsers(realm: "edge", page: PageRequest(limit: 2, cursor: first.nextCursor))
        XCTAssertEqual(second.items.map(\.username), ["u05", "u06"])
        let third = try store.listUsers(realm: "edge", page: PageRequest(limit: 2, cursor: second.nextCursor))
        XCTAssertEqual(third.items.map(\.username), ["u08", "u10"])
        XCTAssertNil(third.nextCursor, "the page holding the last record has no next cursor")
    }

    // MARK: OAuth2 clients

    public func clientsCreateGetUpdateDelete() throws {
        let store = try makeStore()
        let client = makeClient("gateway-1")
        try store.createClient(client)
        assertIdentical(try store.client(realm: "edge", clientID: "gateway-1"), client)
        XCTAssertNil(try store.client(realm: "root", clientID: "gateway-1"))

        var changed = client
        changed.tokenEndpointAuthMethod = "private_key_jwt"
        changed.secretHash = nil
        changed.jwks = ["keys": [["kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "kid": "k1"]]]
        changed.grantTypes = ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        changed.scopes = []
        changed.name = "Gateway one"
        changed.disabled = true
        changed.attributes = ["identity": "gw-1"]
        changed.updatedAt = Self.t0 + 60
        try store.updateClient(changed)
        assertIdentical(try store.client(realm: "edge", clientID: "gateway-1"), changed)

        XCTAssertTrue(try store.deleteClient(realm: "edge", clientID: "gateway-1"))
        XCTAssertNil(try store.client(realm: "edge", clientID: "gateway-1"))
        XCTAssertFalse(try store.deleteClient(realm: "edge", clientID: "gateway-1"))
    }

    public func clientsOptionalFieldsRoundTrip() throws {
        let store = try makeStore()
        var bare = makeClient("public")
        bare.tokenEndpointAuthMethod = "none"
        bare.secretHash = nil
        bare.jwks = nil
        bare.grantTypes = []
        bare.scopes = []
        bare.name = ""
        bare.attributes = [:]
        try store.createClient(bare)
        assertIdentical(try store.client(realm: "edge", clientID: "public"), bare)
    }

    public func clientsDuplicateClientIDConflicts() throws {
        let store = try makeStore()
        try store.createClient(makeClient("gateway-1"))
        var again = makeClient("gateway-1")
        again.name = "impostor"
        assertStoreError(.conflict) { try store.createClient(again) }
        XCTAssertEqual(try store.client(realm: "edge", clientID: "gateway-1")?.name, makeClient("gateway-1").name)
        XCTAssertNoThrow(try store.createClient(makeClient("gateway-1", realm: "root")))
    }

    public func clientsUpdateOfMissingThrowsNotFound() throws {
        let store = try makeStore()
        assertStoreError(.notFound) { try store.updateClient(makeClient("nobody")) }
        XCTAssertNil(try store.client(realm: "edge", clientID: "nobody"))
    }

    public func clientsListedByClientIDWithinRealm() throws {
        let store = try makeStore()
        for id in ["c-3", "c-1", "c-4", "c-2"] { try store.createClient(makeClient(id)) }
        try store.createClient(makeClient("c-0", realm: "root"))
        let page = try store.listClients(realm: "edge", page: PageRequest(limit: 50))
        XCTAssertEqual(page.items.map(\.clientID), ["c-1", "c-2", "c-3", "c-4"])
        XCTAssertNil(page.nextCursor)
    }

    public func clientsPagedByTwoAcrossThreePages() throws {
        let store = try makeStore()
        for id in ["c3", "c5", "c1", "c4", "c2"] { try store.createClient(makeClient(id)) }
        let pages = try allPages(limit: 2) { try store.listClients(realm: "edge", page: $0) }
        XCTAssertEqual(pages.map { $0.map(\.clientID) }, [["c1", "c2"], ["c3", "c4"], ["c5"]])
    }

    public func clientsPagingStableUnderInsertAndDelete() throws {
        let store = try makeStore()
        for id in ["c02", "c04", "c06", "c08", "c10"] { try store.createClient(makeClient(id)) }
        let first = try store.listClients(realm: "edge", page: PageRequest(limit: 2))
        XCTAssertEqual(first.items.map(\.clientID), ["c02", "c04"])
        try store.createClient(makeClient("c01"))
        try store.createClient(makeClient("c05"))
        XCTAssertTrue(try store.deleteClient(realm: "edge", clientID: "c04"))
        let second = try store.listClients(realm: "edge", page: PageRequest(limit: 2, cursor: first.nextCursor))
        XCTAssertEqual(second.items.map(\.clientID), ["c05", "c06"])
        let third = try store.listClients(realm: "edge", page: PageRequest(limit: 2, cursor: second.nextCursor))
        XCTAssertEqual(third.items.map(\.clientID), ["c08", "c10"])
        XCTAssertNil(third.nextCursor)
    }
}
