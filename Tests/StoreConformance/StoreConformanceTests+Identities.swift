import IECJSON
public import Store
import Synchronization
import XCTest

// Edge node identities and scripts (`IdentityStore`).
extension StoreConformanceTests {
    // MARK: Fixtures

    /// The store under test as an `IdentityStore`; skips for adapters that have none yet.
    /// (Becomes `makeStore()` once `IdentityStore` is folded into `Store`.)
    public func makeIdentityStore() throws -> any Store {
        try makeStore()
    }

    public func makeIdentity(
        _ id: String, type: IdentityRecord.NodeType, parent: String? = nil, realm: String = "edge",
        status: IdentityRecord.Status = .registered, at time: Timestamp = t0
    ) -> IdentityRecord {
        IdentityRecord(
            realm: realm, id: id, type: type, status: status, parentID: parent,
            publicKeys: ["keys": [["kty": "EC", "crv": "P-256", "kid": .string("\(id)-key"), "x": "eA", "y": "eQ", "use": "sig"]]],
            configuration: ["mode": "default"], registrationTime: time, attributes: ["platform": "linux-arm64"], createdAt: time,
            updatedAt: time)
    }

    public func makeScript(_ name: String, realm: String = "edge", kind: String = "command", at time: Timestamp = t0) -> ScriptRecord {
        ScriptRecord(
            realm: realm, name: name, kind: kind, source: "response = { hello: '\(name)' };", description: "Script \(name)",
            createdAt: time, updatedAt: time)
    }

    /// `gateway`, its clients `gateway-c1` and `gateway-c2`, and their devices
    /// `gateway-c1-d1` … `gateway-c2-d2`: 7 identities.
    public func makeGatewayTree(_ gateway: String, realm: String = "edge", in store: any IdentityStore) throws {
        try store.createIdentity(makeIdentity(gateway, type: .iec, realm: realm))
        for client in ["c1", "c2"] {
            try store.createIdentity(makeIdentity("\(gateway)-\(client)", type: .client, parent: gateway, realm: realm))
            for device in ["d1", "d2"] {
                try store.createIdentity(
                    makeIdentity("\(gateway)-\(client)-\(device)", type: .device, parent: "\(gateway)-\(client)", realm: realm))
            }
        }
    }

    /// Every id of the realm that matches `filter`, following cursors.
    public func listedIDs(
        _ store: any IdentityStore, realm: String = "edge", filter: IdentityFilter = .init(), limit: Int = 1000,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> [String] {
        try allPages(limit: limit, file: file, line: line) { try store.listIdentities(realm: realm, filter: filter, page: $0) }
            .flatMap { $0.map(\.id) }
    }

    // MARK: Create, read, update

    public func identitiesCreateGetRoundTrip() throws {
        let store = try makeIdentityStore()
        let gateway = makeIdentity("gateway-1", type: .iec)
        try store.createIdentity(gateway)
        var device = makeIdentity("device-1", type: .device, parent: "gateway-1", status: .disabled, at: Self.t0 + 5)
        device.pairedUser = "alice"
        device.userConfiguration = ["color": "blue"]
        device.commandNonce = 41
        device.version = 3
        device.updatedAt = Self.t0 + 6
        try store.createIdentity(device)
        assertIdentical(try store.identity(realm: "edge", id: "gateway-1"), gateway)
        assertIdentical(try store.identity(realm: "edge", id: "device-1"), device)
        XCTAssertNil(try store.identity(realm: "root", id: "gateway-1"), "identities belong to one realm")
        XCTAssertNil(try store.identity(realm: "edge", id: "absent"))
        XCTAssertNil(try store.identity(realm: "edge", id: "GATEWAY-1"), "ids match exactly")
    }

    public func identitiesDuplicateIDConflicts() throws {
        let store = try makeIdentityStore()
        try store.createIdentity(makeIdentity("node", type: .iec))
        var again = makeIdentity("node", type: .iec)
        again.configuration = ["mode": "other"]
        assertStoreError(.conflict) { try store.createIdentity(again) }
        try store.createIdentity(makeIdentity("gateway", type: .iec))
        assertStoreError(.conflict, "another type does not make another identity") {
            try store.createIdentity(self.makeIdentity("node", type: .client, parent: "gateway"))
        }
        assertIdentical(try store.identity(realm: "edge", id: "node"), makeIdentity("node", type: .iec))
        XCTAssertNoThrow(try store.createIdentity(makeIdentity("node", type: .iec, realm: "root")), "the same id in another realm")
    }

    public func identitiesOptimisticUpdate() throws {
        let store = try makeIdentityStore()
        try store.createIdentity(makeIdentity("gateway", type: .iec))
        let read = try XCTUnwrap(try store.identity(realm: "edge", id: "gateway"))
        XCTAssertEqual(read.version, 0)

        var first = read
        first.status = .disabled
        first.publicKeys = ["keys": []]
        first.configuration = ["mode": "maintenance", "interval": 30]
        first.userConfiguration = ["set": "by script"]
        first.pairedUser = "alice"
        first.attributes = ["platform": "linux-x86_64", "version": "2.0"]
        first.registrationTime = Self.t0 + 1
        first.updatedAt = Self.t0 + 60
        first.version = 1
        XCTAssertTrue(try store.updateIdentity(first))
        assertIdentical(try store.identity(realm: "edge", id: "gateway"), first)

        var stale = read
        stale.version = 1
        stale.configuration = ["mode": "lost update"]
        XCTAssertFalse(try store.updateIdentity(stale), "someone else updated version 0 first")
        var ahead = first
        ahead.version = 3
        XCTAssertFalse(try store.updateIdentity(ahead), "version 2 was never stored")
        assertIdentical(try store.identity(realm: "edge", id: "gateway"), first)

        var second = first
        second.status = .registered
        second.pairedUser = nil
        second.version = 2
        XCTAssertTrue(try store.updateIdentity(second))
        assertIdentical(try store.identity(realm: "edge", id: "gateway"), second)
    }

    public func identitiesUpdateOfMissingReturnsFalse() throws {
        let store = try makeIdentityStore()
        var ghost = makeIdentity("ghost", type: .iec)
        ghost.version = 1
        XCTAssertFalse(try store.updateIdentity(ghost))
        XCTAssertNil(try store.identity(realm: "edge", id: "ghost"), "update must not create")

        try store.createIdentity(makeIdentity("ghost", type: .iec, realm: "root"))
        XCTAssertFalse(try store.updateIdentity(ghost), "an identity of another realm is not this one")
        XCTAssertEqual(try store.deleteIdentity(realm: "root", id: "ghost"), ["ghost"])
        ghost.realm = "root"
        XCTAssertFalse(try store.updateIdentity(ghost), "gone after its delete")
    }

    // MARK: Delete with descendants

    public func identitiesDeleteRemovesTreeDescendantsFirst() throws {
        let store = try makeIdentityStore()
        try makeGatewayTree("gw", in: store)
        try makeGatewayTree("gw", realm: "root", in: store)
        try store.createIdentity(makeIdentity("other", type: .iec))
        let parents = try Dictionary(uniqueKeysWithValues: listedIDs(store).map { ($0, try store.identity(realm: "edge", id: $0)?.parentID) })

        let deleted = try store.deleteIdentity(realm: "edge", id: "gw")
        XCTAssertEqual(deleted.count, 7)
        XCTAssertEqual(Set(deleted), ["gw", "gw-c1", "gw-c2", "gw-c1-d1", "gw-c1-d2", "gw-c2-d1", "gw-c2-d2"])
        for (position, id) in deleted.enumerated() {
            guard let parent = parents[id] ?? nil else { continue }
            let parentPosition = try XCTUnwrap(deleted.firstIndex(of: parent), "\(id)'s parent \(parent) deleted too")
            XCTAssertGreaterThan(parentPosition, position, "\(id) comes before its parent \(parent)")
        }
        XCTAssertEqual(deleted.last, "gw", "the identity asked for comes after all its descendants")
        XCTAssertEqual(try listedIDs(store), ["other"])
        for id in deleted { XCTAssertNil(try store.identity(realm: "edge", id: id)) }
        XCTAssertEqual(try listedIDs(store, realm: "root").count, 7, "the same ids in another realm are untouched")

        XCTAssertEqual(try store.deleteIdentity(realm: "edge", id: "gw"), [], "a second delete finds nothing")
        XCTAssertEqual(try store.deleteIdentity(realm: "edge", id: "absent"), [])
    }

    public func identitiesDeleteOfClientLeavesSiblings() throws {
        let store = try makeIdentityStore()
        try makeGatewayTree("gw", in: store)
        let deleted = try store.deleteIdentity(realm: "edge", id: "gw-c1")
        XCTAssertEqual(Set(deleted), ["gw-c1", "gw-c1-d1", "gw-c1-d2"])
        XCTAssertEqual(deleted.last, "gw-c1")
        XCTAssertEqual(try listedIDs(store), ["gw", "gw-c2", "gw-c2-d1", "gw-c2-d2"])
        XCTAssertEqual(try store.identity(realm: "edge", id: "gw-c2-d1"), makeIdentity("gw-c2-d1", type: .device, parent: "gw-c2"))

        XCTAssertEqual(try store.deleteIdentity(realm: "edge", id: "gw-c2-d2"), ["gw-c2-d2"], "a leaf goes alone")
        XCTAssertEqual(try listedIDs(store), ["gw", "gw-c2", "gw-c2-d1"])
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter(parentID: "gw-c1")), 0)
    }

    // MARK: Listing, filters, paging, counting

    public func identitiesListedByIDBytesWithinRealm() throws {
        let store = try makeIdentityStore()
        for id in ["b", "\u{E9}", "a-1", "Z", "a", "B"] { try store.createIdentity(makeIdentity(id, type: .iec)) }
        try store.createIdentity(makeIdentity("A", type: .iec, realm: "root"))
        let page = try store.listIdentities(realm: "edge", filter: IdentityFilter(), page: PageRequest(limit: 50))
        XCTAssertEqual(page.items.map(\.id), ["B", "Z", "a", "a-1", "b", "\u{E9}"], "ordered by the UTF-8 bytes of the id")
        XCTAssertNil(page.nextCursor)
        XCTAssertEqual(page.items.first, makeIdentity("B", type: .iec), "listings return whole records")
        XCTAssertEqual(try store.listIdentities(realm: "nowhere", filter: IdentityFilter(), page: PageRequest()).items, [])
    }

    /// The fixture of the filter cases: two gateways, three clients, seven devices,
    /// some disabled, one uppercase id, and look-alikes in realm `root`.
    public func makeFilterFixture(in store: any IdentityStore) throws -> [IdentityRecord] {
        let identities = [
            makeIdentity("gw-a", type: .iec),
            makeIdentity("gw-B", type: .iec, status: .disabled),
            makeIdentity("gw-a-c1", type: .client, parent: "gw-a"),
            makeIdentity("gw-a-c2", type: .client, parent: "gw-a", status: .disabled),
            makeIdentity("gw-B-c1", type: .client, parent: "gw-B"),
            makeIdentity("gw-a-c1-d1", type: .device, parent: "gw-a-c1"),
            makeIdentity("gw-a-c1-d2", type: .device, parent: "gw-a-c1"),
            makeIdentity("gw-a-c1-d3", type: .device, parent: "gw-a-c1", status: .disabled),
            makeIdentity("gw-a-c1-d4", type: .device, parent: "gw-a-c1"),
            makeIdentity("gw-a-c2-d1", type: .device, parent: "gw-a-c2"),
            makeIdentity("gw-B-c1-D1", type: .device, parent: "gw-B-c1"),
            makeIdentity("gw-B-c1-d2", type: .device, parent: "gw-B-c1", status: .disabled),
        ]
        for identity in identities { try store.createIdentity(identity) }
        try store.createIdentity(makeIdentity("gw-a", type: .iec, realm: "root"))
        try store.createIdentity(makeIdentity("gw-a-c1", type: .client, parent: "gw-a", realm: "root"))
        try store.createIdentity(makeIdentity("gw-a-c1-d9", type: .device, parent: "gw-a-c1", realm: "root"))
        return identities
    }

    public func identitiesFilteredByEachFilter() throws {
        let store = try makeIdentityStore()
        _ = try makeFilterFixture(in: store)
        XCTAssertEqual(try listedIDs(store, filter: IdentityFilter(type: .iec)), ["gw-B", "gw-a"])
        XCTAssertEqual(try listedIDs(store, filter: IdentityFilter(type: .client)), ["gw-B-c1", "gw-a-c1", "gw-a-c2"])
        XCTAssertEqual(try listedIDs(store, filter: IdentityFilter(type: .device)).count, 7)
        XCTAssertEqual(
            try listedIDs(store, filter: IdentityFilter(status: .disabled)), ["gw-B", "gw-B-c1-d2", "gw-a-c1-d3", "gw-a-c2"])
        XCTAssertEqual(try listedIDs(store, filter: IdentityFilter(status: .registered)).count, 8)
        XCTAssertEqual(
            try listedIDs(store, filter: IdentityFilter(parentID: "gw-a-c1")), ["gw-a-c1-d1", "gw-a-c1-d2", "gw-a-c1-d3", "gw-a-c1-d4"])
        XCTAssertEqual(try listedIDs(store, filter: IdentityFilter(parentID: "gw-a")), ["gw-a-c1", "gw-a-c2"], "children only, not grandchildren")
        XCTAssertEqual(try listedIDs(store, filter: IdentityFilter(parentID: "absent")), [])
        XCTAssertEqual(try listedIDs(store, filter: IdentityFilter(idContains: "c1-d")).count, 6)
        XCTAssertEqual(try listedIDs(store, filter: IdentityFilter(idContains: "-b-")), ["gw-B-c1", "gw-B-c1-D1", "gw-B-c1-d2"])
        XCTAssertEqual(try listedIDs(store, filter: IdentityFilter(idContains: "")).count, 12, "an empty text is in every id")
        XCTAssertEqual(
            try listedIDs(store, filter: IdentityFilter(type: .device, status: .registered, parentID: "gw-a-c1", idContains: "D")),
            ["gw-a-c1-d1", "gw-a-c1-d2", "gw-a-c1-d4"])
        XCTAssertEqual(try listedIDs(store, realm: "root", filter: IdentityFilter(type: .device)), ["gw-a-c1-d9"])
    }

    /// Every combination of every filter, each listed in pages of 2 and counted,
    /// against the same filter applied to the fixture in memory.
    public func identitiesFilterCombinationsMatchListAndCount() throws {
        let store = try makeIdentityStore()
        let fixture = try makeFilterFixture(in: store)
        var checked = 0
        for type in [nil] + IdentityRecord.NodeType.allCases.map(Optional.some) {
            for status in [nil] + IdentityRecord.Status.allCases.map(Optional.some) {
                for parentID in [nil, "gw-a", "gw-a-c1", "gw-B-c1", "absent"] {
                    for idContains in Self.filterNeedles {
                        let filter = IdentityFilter(type: type, status: status, parentID: parentID, idContains: idContains)
                        let expected = fixture.filter { Self.reference(filter, matches: $0) }.map(\.id)
                            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                        XCTAssertEqual(try listedIDs(store, filter: filter, limit: 2), expected, "\(filter)")
                        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: filter), expected.count, "count of \(filter)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, 4 * 3 * 5 * Self.filterNeedles.count)
    }

    /// Short and long, common and rare, upper and lower case, absent.
    public static let filterNeedles: [String?] = [nil, "", "C1", "-d", "b-", "zz", "gw-", "c1-d", "-B-", "gw-a-c1-d1", "A-C2-D1", "zzz"]

    /// `IdentityFilter` as the contract states it, for comparison.
    public static func reference(_ filter: IdentityFilter, matches identity: IdentityRecord) -> Bool {
        if let type = filter.type, identity.type != type { return false }
        if let status = filter.status, identity.status != status { return false }
        if let parentID = filter.parentID, identity.parentID.map({ Array($0.utf8) }) != Array(parentID.utf8) { return false }
        if let needle = filter.idContains {
            let fold = { (text: String) in text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 } }
            let haystack = fold(identity.id)
            let needle = fold(needle)
            guard needle.count <= haystack.count else { return false }
            return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
        return true
    }

    public func identitiesPagedAcrossPagesWithFilter() throws {
        let store = try makeIdentityStore()
        try store.createIdentity(makeIdentity("gw", type: .iec))
        try store.createIdentity(makeIdentity("client", type: .client, parent: "gw"))
        for index in [3, 1, 5, 2, 4] { try store.createIdentity(makeIdentity("d\(index)", type: .device, parent: "client")) }
        try store.createIdentity(makeIdentity("d6", type: .device, parent: "client", status: .disabled))
        let filter = IdentityFilter(type: .device, status: .registered)
        let pages = try allPages(limit: 2) { try store.listIdentities(realm: "edge", filter: filter, page: $0) }
        XCTAssertEqual(pages.map { $0.map(\.id) }, [["d1", "d2"], ["d3", "d4"], ["d5"]])

        // Before the cursor: not seen. After it: seen once. The cursor's own record deleted: paging goes on.
        let first = try store.listIdentities(realm: "edge", filter: filter, page: PageRequest(limit: 2))
        try store.createIdentity(makeIdentity("d0", type: .device, parent: "client"))
        try store.createIdentity(makeIdentity("d35", type: .device, parent: "client"))
        XCTAssertEqual(try store.deleteIdentity(realm: "edge", id: "d2"), ["d2"])
        let second = try store.listIdentities(realm: "edge", filter: filter, page: PageRequest(limit: 2, cursor: first.nextCursor))
        XCTAssertEqual(second.items.map(\.id), ["d3", "d35"])
        let third = try store.listIdentities(realm: "edge", filter: filter, page: PageRequest(limit: 2, cursor: second.nextCursor))
        XCTAssertEqual(third.items.map(\.id), ["d4", "d5"])
        XCTAssertNil(third.nextCursor, "the page holding the last match has no next cursor")
    }

    public func identitiesCounted() throws {
        let store = try makeIdentityStore()
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter()), 0)
        try makeGatewayTree("gw", in: store)
        try makeGatewayTree("gx", in: store)
        try makeGatewayTree("gw", realm: "root", in: store)
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter()), 14)
        XCTAssertEqual(try store.countIdentities(realm: "root", filter: IdentityFilter()), 7)
        XCTAssertEqual(try store.countIdentities(realm: "nowhere", filter: IdentityFilter()), 0)
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter(type: .device)), 8)
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter(type: .client, idContains: "GX")), 2)
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter(parentID: "gw-c2")), 2)
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter(status: .disabled)), 0)
    }

    // MARK: idContains

    public func identitiesIDContainsIsASCIICaseInsensitive() throws {
        let store = try makeIdentityStore()
        for id in ["Gateway-Alpha", "gateway-beta", "Zo\u{EB}-device", "ZO\u{CB}-DEVICE", "stra\u{DF}e"] {
            try store.createIdentity(makeIdentity(id, type: .iec))
        }
        let search = { (text: String) in try self.listedIDs(store, filter: IdentityFilter(idContains: text)) }
        XCTAssertEqual(try search("GATEWAY"), ["Gateway-Alpha", "gateway-beta"])
        XCTAssertEqual(try search("y-a"), ["Gateway-Alpha"])
        XCTAssertEqual(try search("ALPHA"), ["Gateway-Alpha"])
        XCTAssertEqual(try search("zo\u{EB}"), ["Zo\u{EB}-device"], "\u{EB} is not ASCII: it matches only itself")
        XCTAssertEqual(try search("zo\u{CB}"), ["ZO\u{CB}-DEVICE"], "nor does \u{CB}, though z and o match Z and O")
        XCTAssertEqual(try search("O\u{CB}-device"), ["ZO\u{CB}-DEVICE"], "ASCII letters fold around a non-ASCII one")
        XCTAssertEqual(try search("-DEVICE"), ["ZO\u{CB}-DEVICE", "Zo\u{EB}-device"])
        XCTAssertEqual(try search("STRASSE"), [], "no Unicode folding of \u{DF}")
        XCTAssertEqual(try search("e\u{308}"), [], "no Unicode normalisation: \u{EB} is one code point there")
    }

    public func identitiesIDContainsTreatsWildcardsLiterally() throws {
        let store = try makeIdentityStore()
        let ids = ["100%", "100x", "a_b", "axb", "a\\b", "a\\%b", "%_%", "plain", "say \"hi\"", "col:on", "hat^", "st*r", "rock-AND-roll", "(x)"]
        for id in ids { try store.createIdentity(makeIdentity(id, type: .iec)) }
        let expectations: [(String, [String])] = [
            ("%", ["%_%", "100%", "a\\%b"]),
            ("_", ["%_%", "a_b"]),
            ("a_b", ["a_b"]),
            ("A_B", ["a_b"]),
            ("100%", ["100%"]),
            ("\\", ["a\\%b", "a\\b"]),
            ("\\%", ["a\\%b"]),
            ("\\_", []),
            ("%_%", ["%_%"]),
            ("%%", []),
            ("__", []),
            ("a%b", []),
            ("[a]", []),
            ("*", ["st*r"]),
            // Characters with a meaning in other query languages (FTS5, LDAP filters) too.
            ("\"hi\"", ["say \"hi\""]),
            ("\"", ["say \"hi\""]),
            ("y \"h", ["say \"hi\""]),
            ("\"\"", []),
            (":on", ["col:on"]),
            ("at^", ["hat^"]),
            ("t*r", ["st*r"]),
            ("-and-", ["rock-AND-roll"]),
            ("AND", ["rock-AND-roll"]),
            ("(x)", ["(x)"]),
            ("x)", ["(x)"]),
        ]
        for (text, expected) in expectations {
            let filter = IdentityFilter(idContains: text)
            XCTAssertEqual(try listedIDs(store, filter: filter, limit: 2), expected, "idContains \(text)")
            XCTAssertEqual(try store.countIdentities(realm: "edge", filter: filter), expected.count, "count of idContains \(text)")
        }
    }

    // MARK: Command nonces

    public func commandNonceAdvancesOnlyUpward() throws {
        let store = try makeIdentityStore()
        try store.createIdentity(makeIdentity("gw", type: .iec))
        try store.createIdentity(makeIdentity("gw", type: .iec, realm: "root"))
        XCTAssertTrue(try store.advanceCommandNonce(realm: "edge", id: "gw", to: 1))
        XCTAssertFalse(try store.advanceCommandNonce(realm: "edge", id: "gw", to: 1), "a replayed nonce")
        XCTAssertFalse(try store.advanceCommandNonce(realm: "edge", id: "gw", to: 0), "a lower nonce")
        XCTAssertTrue(try store.advanceCommandNonce(realm: "edge", id: "gw", to: 1_000_000_000_000), "gaps are allowed")
        XCTAssertFalse(try store.advanceCommandNonce(realm: "edge", id: "gw", to: 999_999_999_999), "out of order")
        XCTAssertTrue(try store.advanceCommandNonce(realm: "edge", id: "gw", to: Int64.max))
        XCTAssertFalse(try store.advanceCommandNonce(realm: "edge", id: "gw", to: Int64.max))
        XCTAssertEqual(try store.identity(realm: "edge", id: "gw")?.commandNonce, Int64.max)
        XCTAssertEqual(try store.identity(realm: "root", id: "gw")?.commandNonce, 0, "nonces are per identity and realm")
        XCTAssertFalse(try store.advanceCommandNonce(realm: "edge", id: "absent", to: 1), "an absent identity accepts nothing")
        XCTAssertNil(try store.identity(realm: "edge", id: "absent"), "and is not created")

        var fromTen = makeIdentity("fresh", type: .iec)
        fromTen.commandNonce = 10
        try store.createIdentity(fromTen)
        XCTAssertFalse(try store.advanceCommandNonce(realm: "edge", id: "fresh", to: 10))
        XCTAssertTrue(try store.advanceCommandNonce(realm: "edge", id: "fresh", to: 11))
    }

    /// 8 threads race to advance one node through 1...200: each value is accepted
    /// at most once, and the node ends at 200.
    public func commandNonceConcurrentAdvanceAcceptsEachValueOnce() throws {
        let store = try makeIdentityStore()
        try store.createIdentity(makeIdentity("gw", type: .iec))
        let accepted = NonceTally(values: 200)
        let failures = runConcurrently(threads: 8) { _ in
            for nonce in 1...200 {
                if try store.advanceCommandNonce(realm: "edge", id: "gw", to: Int64(nonce)) { accepted.add(nonce) }
            }
        }
        XCTAssertEqual(failures, [])
        let counts = accepted.counts
        XCTAssertEqual(counts.filter { $0 > 1 }.count, 0, "values accepted twice: \((1...200).filter { counts[$0 - 1] > 1 })")
        XCTAssertEqual(counts[199], 1, "200 is accepted exactly once")
        XCTAssertEqual(try store.identity(realm: "edge", id: "gw")?.commandNonce, 200)
        XCTAssertFalse(try store.advanceCommandNonce(realm: "edge", id: "gw", to: 200))
    }

    /// 8 threads create the same 20 identities: each is created once, the others conflict.
    public func concurrentIdentityCreationHasOneWinnerPerID() throws {
        let store = try makeIdentityStore()
        let created = NonceTally(values: 20)
        let nodes = (1...20).map { makeIdentity("node-\($0)", type: .iec) }
        let failures = runConcurrently(threads: 8) { _ in
            for (offset, node) in nodes.enumerated() {
                do {
                    try store.createIdentity(node)
                    created.add(offset + 1)
                } catch let error as StoreError where error.kind == .conflict {}
            }
        }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(created.counts, Array(repeating: 1, count: 20))
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter()), 20)
    }

    // MARK: Scripts

    public func scriptsPutReplaceGetListDelete() throws {
        let store = try makeIdentityStore()
        XCTAssertNil(try store.script(realm: "edge", name: "HelloWorld"))
        XCTAssertEqual(try store.listScripts(realm: "edge"), [])
        let hello = makeScript("HelloWorld")
        try store.putScript(makeScript("GetDeviceConfig"))
        try store.putScript(hello)
        try store.putScript(makeScript("Attest", kind: "attestation"))
        try store.putScript(makeScript("HelloWorld", realm: "root"))
        assertIdentical(try store.script(realm: "edge", name: "HelloWorld"), hello)
        XCTAssertNil(try store.script(realm: "edge", name: "helloworld"), "names match exactly")

        var replaced = hello
        replaced.source = "response = { hello: 'again' };"
        replaced.description = ""
        replaced.kind = "attestation"
        replaced.createdAt = Self.t0 + 1
        replaced.updatedAt = Self.t0 + 100
        try store.putScript(replaced)
        assertIdentical(try store.script(realm: "edge", name: "HelloWorld"), replaced)
        XCTAssertEqual(
            try store.listScripts(realm: "edge"), [makeScript("Attest", kind: "attestation"), makeScript("GetDeviceConfig"), replaced],
            "ordered by name, within the realm")

        XCTAssertTrue(try store.deleteScript(realm: "edge", name: "HelloWorld"))
        XCTAssertFalse(try store.deleteScript(realm: "edge", name: "HelloWorld"), "a second delete finds nothing")
        XCTAssertNil(try store.script(realm: "edge", name: "HelloWorld"))
        XCTAssertEqual(try store.listScripts(realm: "edge").map(\.name), ["Attest", "GetDeviceConfig"])
        assertIdentical(try store.script(realm: "root", name: "HelloWorld"), makeScript("HelloWorld", realm: "root"))
    }

    // MARK: Values

    /// Unicode in every text field, ids that differ only in normalisation, and
    /// awkward JSON in every JSON field.
    public func identitiesUnicodeRoundTripsExactly() throws {
        let store = try makeIdentityStore()
        let realm = "r\u{E9}alm"
        let samples = Self.unicodeSamples
        var gateway = makeIdentity("\u{1F680}-gateway", type: .iec, realm: realm)
        gateway.configuration = .object(Dictionary(uniqueKeysWithValues: samples.enumerated().map { ("\($1)#\($0)", .string($1)) }))
        gateway.userConfiguration = Self.awkwardJSON
        gateway.attributes = ["names": .array(samples.map(JSONValue.string))]
        gateway.publicKeys = ["keys": [["kty": "EC", "kid": .string(samples[3])]]]
        try store.createIdentity(gateway)
        // Precomposed and decomposed: equal to Swift's ==, two keys to a store.
        var composed = makeIdentity("Zo\u{EB}", type: .client, parent: gateway.id, realm: realm)
        composed.pairedUser = "z\u{F6}\u{1F600}"
        var decomposed = makeIdentity("Zoe\u{308}", type: .client, parent: gateway.id, realm: realm)
        decomposed.pairedUser = "zo\u{308}\u{1F600}"
        try store.createIdentity(composed)
        try store.createIdentity(decomposed)
        assertIdentical(try store.identity(realm: realm, id: gateway.id), gateway)
        assertIdentical(try store.identity(realm: realm, id: "Zo\u{EB}"), composed)
        assertIdentical(try store.identity(realm: realm, id: "Zoe\u{308}"), decomposed)
        let children = try store.listIdentities(realm: realm, filter: IdentityFilter(parentID: gateway.id), page: PageRequest())
        XCTAssertEqual(children.items.map { Array($0.id.utf8) }, [Array("Zoe\u{308}".utf8), Array("Zo\u{EB}".utf8)])
        XCTAssertEqual(try store.deleteIdentity(realm: realm, id: "Zoe\u{308}"), ["Zoe\u{308}"])
        assertIdentical(try store.identity(realm: realm, id: "Zo\u{EB}"), composed)

        var script = makeScript("\u{65E5}\u{672C}\u{8A9E}-command", realm: realm)
        script.source = "// " + samples.joined(separator: "\n// ") + "\nresponse = { text: '\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}' };"
        script.description = samples.joined(separator: " ")
        try store.putScript(script)
        assertIdentical(try store.script(realm: realm, name: script.name), script)
        assertIdentical(try store.listScripts(realm: realm).first, script)
    }

    /// Several hundred kilobytes of JSON in configuration, user configuration and keys.
    public func identitiesLargeJSONRoundTripsExactly() throws {
        let store = try makeIdentityStore()
        var gateway = makeIdentity("big", type: .iec)
        gateway.configuration = [
            "blob": .string(String(repeating: "0123456789abcdef", count: 8192)),
            "list": .array((0..<2000).map { ["index": .int(Int64($0)), "name": .string("setting-\($0)"), "on": .bool($0 % 2 == 0)] }),
        ]
        gateway.userConfiguration = ["deep": (0..<60).reduce(JSONValue.string("bottom")) { inner, _ in ["next": inner] }]
        gateway.publicKeys = [
            "keys": .array((0..<500).map { ["kty": "EC", "crv": "P-256", "kid": .string("k\($0)"), "x": .string(String(repeating: "x", count: 43))] })
        ]
        XCTAssertGreaterThan(gateway.configuration.serialized().utf8.count + gateway.publicKeys.serialized().utf8.count, 250_000)
        try store.createIdentity(gateway)
        assertIdentical(try store.identity(realm: "edge", id: "big"), gateway)

        var updated = gateway
        updated.configuration = ["blob": .string(String(repeating: "fedcba9876543210", count: 12_000))]
        updated.version = 1
        XCTAssertTrue(try store.updateIdentity(updated))
        assertIdentical(try store.identity(realm: "edge", id: "big"), updated)
        assertIdentical(try store.listIdentities(realm: "edge", filter: IdentityFilter(), page: PageRequest()).items.first, updated)

        var script = makeScript("Big")
        script.source = String(repeating: "var x = 1; // \u{1F600}\n", count: 20_000)
        try store.putScript(script)
        assertIdentical(try store.script(realm: "edge", name: "Big"), script)
    }

    // MARK: Persistence

    public func identitiesReopenKeepsIdentitiesAndScripts() throws {
        var store: any Store = try makeIdentityStore()
        let identities = try XCTUnwrap(store as? any IdentityStore)
        try makeGatewayTree("gw", in: identities)
        XCTAssertTrue(try identities.advanceCommandNonce(realm: "edge", id: "gw", to: 17))
        var disabled = try XCTUnwrap(try identities.identity(realm: "edge", id: "gw-c1-d1"))
        disabled.status = .disabled
        disabled.version += 1
        XCTAssertTrue(try identities.updateIdentity(disabled))
        try identities.putScript(makeScript("HelloWorld"))

        store = try reopen(store)
        let reopened = try XCTUnwrap(store as? any IdentityStore)

        XCTAssertEqual(try reopened.countIdentities(realm: "edge", filter: IdentityFilter()), 7)
        XCTAssertEqual(try reopened.identity(realm: "edge", id: "gw")?.commandNonce, 17)
        XCTAssertFalse(try reopened.advanceCommandNonce(realm: "edge", id: "gw", to: 17), "no replay after a restart")
        XCTAssertEqual(try reopened.identity(realm: "edge", id: "gw-c1-d1"), disabled)
        XCTAssertEqual(try reopened.script(realm: "edge", name: "HelloWorld"), makeScript("HelloWorld"))
        XCTAssertEqual(try reopened.deleteIdentity(realm: "edge", id: "gw").count, 7)
    }
}

private final class NonceTally: Sendable {
    private let values: Mutex<[Int]>
    init(values count: Int) { values = Mutex(Array(repeating: 0, count: count)) }
    /// Counts `value`, 1-based.
    func add(_ value: Int) { values.withLock { $0[value - 1] += 1 } }
    var counts: [Int] { values.withLock { $0 } }
}
