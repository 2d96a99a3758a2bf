import Foundation
import IECJSON
import Store
import StoreConformance
@testable import StoreSQLite
import SQLiteKit
import XCTest

/// What only the SQLite adapter promises about identities: the migration from
/// schema version 1, the query plans behind listings, and the guarantees beyond
/// the `IdentityStore` text (see each test). The shared behaviour is in
/// `SQLiteStoreConformanceTests`.
final class SQLiteIdentityTests: XCTestCase {
    private var folder: URL!
    private static let t0: Timestamp = 1_700_000_000

    override func setUpWithError() throws {
        folder = try TemporaryFolder.make()
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    private func path(_ name: String = "store.sqlite") -> String { folder.appendingPathComponent(name).path }

    private func identity(_ id: String, type: IdentityRecord.NodeType = .iec, parent: String? = nil) -> IdentityRecord {
        IdentityRecord(realm: "edge", id: id, type: type, parentID: parent, registrationTime: Self.t0, createdAt: Self.t0, updatedAt: Self.t0)
    }

    private func assertStoreError<T>(
        _ kind: StoreError.Kind, reasonContains fragment: String, file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> T
    ) {
        do {
            _ = try body()
            XCTFail("expected StoreError(\(kind))", file: file, line: line)
        } catch let error as StoreError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            XCTAssertTrue(error.reason.contains(fragment), "\(error) should mention \(fragment)", file: file, line: line)
        } catch {
            XCTFail("expected StoreError(\(kind)), got \(error)", file: file, line: line)
        }
    }

    // MARK: Migration

    /// `sqlite3 .dump` of a database written by the schema-version-1 build
    /// (commit b5ae7ce's StoreSQLite): one record of every kind. Frozen here, so
    /// that the test keeps checking a real version-1 file even if someone edits
    /// migration 1 by mistake.
    static let version1Dump = #"""
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE realms (
    name TEXT NOT NULL PRIMARY KEY,
    settings TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
) STRICT;
INSERT INTO realms VALUES('edge','{"issuer":"edge-v1"}',1700000000.0,1700000000.0);
CREATE TABLE users (
    realm TEXT NOT NULL,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (realm, username)
) STRICT;
INSERT INTO users VALUES('edge','alice','$argon2id$v1','["user"]',0,'{}',1700000000.0,1700000000.0);
CREATE TABLE clients (
    realm TEXT NOT NULL,
    client_id TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    secret_hash TEXT,
    jwks TEXT,
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    name TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (realm, client_id)
) STRICT;
INSERT INTO clients VALUES('edge','client-v1','client_secret_basic','sha256:v1',NULL,'["client_credentials"]','["read"]','V1 client',0,'{}',1700000000.0,1700000000.0);
CREATE TABLE signing_keys (
    realm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    private_jwk TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (realm, key_id)
) STRICT;
INSERT INTO signing_keys VALUES('edge','key-v1','token','{"kid":"key-v1","kty":"EC"}','active',1700000000.0);
CREATE TABLE refresh_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    realm TEXT NOT NULL,
    client_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    scope TEXT NOT NULL,
    family_id TEXT NOT NULL,
    status TEXT NOT NULL,
    expires_at REAL NOT NULL,
    created_at REAL NOT NULL,
    attributes TEXT NOT NULL
) STRICT;
INSERT INTO refresh_tokens VALUES('rt-v1','edge','client-v1','alice','openid','fam-v1','active',1700003600.0,1700000000.0,'{}');
CREATE TABLE device_codes (
    device_code_hash TEXT NOT NULL PRIMARY KEY,
    user_code TEXT NOT NULL,
    realm TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    status TEXT NOT NULL,
    subject TEXT,
    interval REAL NOT NULL,
    last_polled_at REAL,
    expires_at REAL NOT NULL,
    created_at REAL NOT NULL,
    version INTEGER NOT NULL,
    attributes TEXT NOT NULL
) STRICT;
INSERT INTO device_codes VALUES('dc-v1','BCDFGHJK','edge','client-v1','openid','pending',NULL,5.0,NULL,1700000600.0,1700000000.0,0,'{}');
CREATE TABLE revoked_access_tokens (
    jwt_id TEXT NOT NULL PRIMARY KEY,
    realm TEXT NOT NULL,
    expires_at REAL NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO revoked_access_tokens VALUES('jti-v1','edge',1700000300.0);
CREATE TABLE sessions (
    id_hash TEXT NOT NULL PRIMARY KEY,
    realm TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_used_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    idle_timeout REAL NOT NULL,
    attributes TEXT NOT NULL
) STRICT;
INSERT INTO sessions VALUES('s-v1','edge','alice','user',1700000000.0,1700000000.0,1700007200.0,1800.0,'{}');
CREATE TABLE single_use (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
) STRICT, WITHOUT ROWID;
INSERT INTO single_use VALUES('jti','once-v1',1700000060.0);
CREATE TABLE counters (
    key TEXT NOT NULL,
    window_start REAL NOT NULL,
    count INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;
INSERT INTO counters VALUES('rate-v1',1700000000.0,1,1700000060.0);
CREATE TABLE audit_events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    realm TEXT NOT NULL,
    time REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL
) STRICT;
INSERT INTO audit_events VALUES(1,'edge',1700000000.0,'admin','create','client-v1','success','{}');
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('audit_events',1);
CREATE INDEX signing_keys_by_purpose ON signing_keys (realm, purpose, created_at, key_id);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE UNIQUE INDEX device_codes_by_user_code ON device_codes (realm, user_code);
CREATE INDEX device_codes_by_expiry ON device_codes (expires_at);
CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_at);
CREATE INDEX sessions_by_subject ON sessions (realm, subject);
CREATE INDEX sessions_by_end ON sessions (min(expires_at, last_used_at + idle_timeout));
CREATE INDEX single_use_by_expiry ON single_use (expires_at);
CREATE INDEX counters_by_expiry ON counters (expires_at);
CREATE INDEX audit_events_by_realm ON audit_events (realm, sequence);
COMMIT;
"""#

    func testVersion1DatabaseMigratesToVersion2KeepingEverything() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path(), contents: nil))
        do {
            let connection = try Connection(path: path(), label: "fixture", busyTimeout: 1)
            try connection.execute(Self.version1Dump)
            try connection.execute("PRAGMA user_version = 1")
        }
        let t0 = Self.t0
        let store = try SQLiteStore(path: path())
        let version = try store.readers.with { try $0.queryOne("PRAGMA user_version", []) { try $0.integer(0) } }
        XCTAssertEqual(version, 2)
        XCTAssertEqual(Schema.currentVersion, 2)

        XCTAssertEqual(try store.realm(named: "edge")?.settings, ["issuer": "edge-v1"])
        XCTAssertEqual(try store.user(realm: "edge", username: "alice")?.passwordHash, "$argon2id$v1")
        XCTAssertEqual(try store.client(realm: "edge", clientID: "client-v1")?.name, "V1 client")
        XCTAssertEqual(try store.signingKeys(realm: "edge", purpose: "token").map(\.keyID), ["key-v1"])
        XCTAssertEqual(try store.refreshToken(hash: "rt-v1")?.familyID, "fam-v1")
        XCTAssertEqual(try store.deviceCode(realm: "edge", userCode: "BCDFGHJK")?.deviceCodeHash, "dc-v1")
        XCTAssertTrue(try store.isAccessTokenRevoked(jwtID: "jti-v1"))
        XCTAssertEqual(try store.session(idHash: "s-v1")?.subject, "alice")
        XCTAssertFalse(try store.consumeOnce(namespace: "jti", key: "once-v1", expiresAt: t0 + 60, now: t0 + 1))
        XCTAssertEqual(try store.counter(key: "rate-v1", windowStart: t0), 1)
        XCTAssertEqual(try store.recentAudit(realm: "edge", limit: 10, before: nil).map(\.sequence), [1])
        let next = try store.appendAudit(AuditEvent(realm: "edge", time: t0, actor: "a", action: "after", target: "t", outcome: "success"))
        XCTAssertEqual(next.sequence, 2, "the audit sequence continues")

        // The new tables work, and survive another open (which migrates nothing).
        try store.createIdentity(identity("gw"))
        try store.createIdentity(identity("gw-c1", type: .client, parent: "gw"))
        try store.putScript(ScriptRecord(realm: "edge", name: "HelloWorld", kind: "command", source: "response = {};", createdAt: t0, updatedAt: t0))
        let reopened = try SQLiteStore(path: path())
        XCTAssertEqual(try reopened.countIdentities(realm: "edge", filter: IdentityFilter()), 2)
        XCTAssertEqual(try reopened.listScripts(realm: "edge").map(\.name), ["HelloWorld"])
        XCTAssertEqual(try reopened.deleteIdentity(realm: "edge", id: "gw"), ["gw-c1", "gw"])
    }

    func testFreshDatabaseHasTheSameSchemaAsAMigratedOne() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path("migrated.sqlite"), contents: nil))
        do {
            let connection = try Connection(path: path("migrated.sqlite"), label: "fixture", busyTimeout: 1)
            try connection.execute(Self.version1Dump)
            try connection.execute("PRAGMA user_version = 1")
        }
        let schema = { (store: SQLiteStore) in
            try store.readers.with {
                try $0.query("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name", []) {
                    "\(try $0.text(0)) \(try $0.text(1)) \(try $0.text(2)) \($0.optionalText(3) ?? "")"
                }
            }
        }
        let migrated = try schema(try SQLiteStore(path: path("migrated.sqlite")))
        let fresh = try schema(try SQLiteStore(path: path("fresh.sqlite")))
        XCTAssertEqual(migrated, fresh)
        XCTAssertTrue(fresh.contains { $0.hasPrefix("table identities ") })
        XCTAssertTrue(fresh.contains { $0.hasPrefix("table scripts ") })
    }

    // MARK: Query plans

    private func plan(_ statement: (sql: String, values: [SQLValue]), on store: SQLiteStore) throws -> [String] {
        try store.readers.with { try $0.query("EXPLAIN QUERY PLAN " + statement.sql, statement.values) { try $0.text(3) } }
    }

    /// Every filter combination, first and later pages, and every count, on the
    /// index path: SQLite searches the index the store names by its equality
    /// prefix — one range, or one per value of an open type or status, merged —
    /// and never sorts, scans or reads the table to decide a filter.
    func testEveryIndexListingAndCountSearchesRangesWithoutSorting() throws {
        let store = try SQLiteStore(path: path())
        var checked = 0
        for type in [nil, IdentityRecord.NodeType.device] {
            for status in [nil, IdentityRecord.Status.disabled] {
                for parentID in [nil, "client"] {
                    for idContains in [nil, "Ab%_\""] {
                        let filter = IdentityFilter(type: type, status: status, parentID: parentID, idContains: idContains)
                        let index =
                            parentID != nil
                            ? "identities_by_parent" : (type != nil || status != nil ? "identities_by_type_status" : "identities_listing")
                        let ranges = parentID == nil && (type == nil) != (status == nil) ? (type == nil ? 3 : 2) : 1
                        let query = IdentityQuery(realm: "edge", filter: filter)
                        for (label, statement) in [
                            ("first page", query.page(limit: 50, after: nil)), ("later page", query.page(limit: 50, after: "m")),
                            ("count", query.count),
                        ] {
                            let plan = try plan(statement, on: store)
                            let context = "\(label) of \(filter): \(plan)"
                            let searches = plan.filter { $0.hasPrefix("SEARCH ") }
                            XCTAssertEqual(searches.count, label == "count" ? 1 : ranges, context)
                            XCTAssertTrue(searches.allSatisfy { $0.hasPrefix("SEARCH identities USING ") && $0.contains("INDEX \(index) (") }, context)
                            XCTAssertTrue(plan.allSatisfy { $0.hasPrefix("SEARCH ") || $0.hasPrefix("MERGE (UNION ALL)") || $0 == "LEFT" || $0 == "RIGHT" }, context)
                            if label == "count" { XCTAssertTrue(searches[0].contains("COVERING INDEX"), "a count reads no row: \(context)") }
                            checked += 1
                        }
                    }
                }
            }
        }
        XCTAssertEqual(checked, 16 * 3)
    }

    /// On the trigram path, candidates come from the trigram index and rows by
    /// `row`; the sort is of those few rows only.
    func testTrigramListingReadsCandidateRowsByRow() throws {
        let store = try SQLiteStore(path: path())
        let match = try XCTUnwrap(IdentityQuery.trigramMatch(forFolded: "beef"))
        XCTAssertEqual(match, #""bee" AND "eef""#)
        let query = IdentityQuery(realm: "edge", filter: IdentityFilter(type: .device, idContains: "BEEF"), trigramMatch: match)
        for statement in [query.page(limit: 50, after: nil), query.page(limit: 50, after: "m"), query.count] {
            let plan = try plan(statement, on: store)
            XCTAssertTrue(plan.contains("SEARCH identities USING INTEGER PRIMARY KEY (rowid=?)"), "\(plan)")
            XCTAssertTrue(plan.contains { $0.hasPrefix("SCAN identities_trigrams VIRTUAL TABLE") }, "\(plan)")
            XCTAssertFalse(plan.contains { $0.hasPrefix("SCAN identities ") || $0.contains("USING INDEX") }, "\(plan)")
        }
    }

    func testTrigramMatchQuotesEveryCharacter() {
        XCTAssertNil(IdentityQuery.trigramMatch(forFolded: "ab"), "too short to narrow")
        XCTAssertNil(IdentityQuery.trigramMatch(forFolded: "ab\u{0}cd"), "NUL")
        XCTAssertEqual(IdentityQuery.trigramMatch(forFolded: "say \"hi\""), #""say" AND "ay " AND "y """ AND " ""h" AND """hi" AND "hi""""#)
        XCTAssertEqual(IdentityQuery.trigramMatch(forFolded: "aaaa"), #""aaa""#, "each trigram once")
        XCTAssertEqual(IdentityQuery.trigramMatch(forFolded: "e\u{301}\u{1F600}x"), "\"e\u{301}\u{1F600}\" AND \"\u{301}\u{1F600}x\"", "Unicode scalars, as the tokenizer counts")
        let long = String(repeating: "0123456789", count: 10)
        XCTAssertEqual(IdentityQuery.trigramMatch(forFolded: long)?.components(separatedBy: " AND ").count, 10, "distinct trigrams")
        XCTAssertEqual(
            IdentityQuery.trigramMatch(forFolded: (0..<40).map { String(UnicodeScalar(UInt8(65 + $0))) }.joined())?.components(separatedBy: " AND ").count,
            IdentityQuery.maxTrigrams)
    }

    /// The trigram index holds exactly the rows of the table after every kind of write.
    func testTrigramIndexStaysInStepWithTheRows() throws {
        let store = try SQLiteStore(path: path())
        for gateway in ["gw-1", "GW-2"] {
            try store.createIdentity(identity(gateway))
            for client in 1...3 {
                try store.createIdentity(identity("\(gateway)-c\(client)", type: .client, parent: gateway))
                for device in 1...4 { try store.createIdentity(identity("\(gateway)-c\(client)-d\(device)", type: .device, parent: "\(gateway)-c\(client)")) }
            }
        }
        assertStoreError(.conflict, reasonContains: "identities") { try store.createIdentity(self.identity("gw-1")) }
        assertStoreError(.notFound, reasonContains: "parent") { try store.createIdentity(self.identity("orphan", type: .client, parent: "none")) }
        var changed = try XCTUnwrap(try store.identity(realm: "edge", id: "GW-2-c1"))
        changed.status = .disabled
        changed.version += 1
        XCTAssertTrue(try store.updateIdentity(changed))
        XCTAssertTrue(try store.advanceCommandNonce(realm: "edge", id: "gw-1", to: 3))
        XCTAssertEqual(try store.deleteIdentity(realm: "edge", id: "gw-1-c2").count, 5)
        XCTAssertEqual(try store.deleteIdentity(realm: "edge", id: "GW-2").count, 16)
        try store.createIdentity(identity("gw-3"))

        try store.writers.durable { try $0.run("INSERT INTO identities_trigrams (identities_trigrams, rank) VALUES ('integrity-check', 1)", []) }
        let entries = try store.readers.with { try $0.queryOne("SELECT count(*) FROM identities_trigrams_docsize", []) { try $0.integer(0) } }
        XCTAssertEqual(entries, 12, "gw-1, 2 clients with 4 devices each, gw-3")
        XCTAssertEqual(
            try store.listIdentities(realm: "edge", filter: IdentityFilter(idContains: "GW-1-C3-D"), page: PageRequest()).items.map(\.id),
            ["gw-1-c3-d1", "gw-1-c3-d2", "gw-1-c3-d3", "gw-1-c3-d4"])
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter(idContains: "gw-2")), 0)

        // A row the index misses would be missed by searches: the check notices.
        try store.writers.durable {
            try $0.run("INSERT INTO identities_trigrams (identities_trigrams, rowid, id_folded) SELECT 'delete', row, id_folded FROM identities WHERE id = 'gw-3'", [])
        }
        assertStoreError(.internalFailure, reasonContains: "malformed") {
            try store.writers.durable { try $0.run("INSERT INTO identities_trigrams (identities_trigrams, rank) VALUES ('integrity-check', 1)", []) }
        }
    }

    func testTreeDeleteFollowsTheParentIndex() throws {
        let store = try SQLiteStore(path: path())
        let plan = try store.writers.durable {
            try $0.query(
                """
                EXPLAIN QUERY PLAN
                \(SQLiteStore.subtree)
                DELETE FROM identities WHERE realm = ?1 AND id IN (SELECT id FROM subtree)
                """, [.text("edge"), .text("gw"), .int(100)]
            ) { try $0.text(3) }
        }
        XCTAssertTrue(plan.contains { $0.contains("SEARCH child USING COVERING INDEX identities_by_parent (realm=? AND parent_id=?)") }, "\(plan)")
        XCTAssertFalse(plan.contains { $0.hasPrefix("SCAN identities") || $0.hasPrefix("SCAN child") }, "\(plan)")
    }

    // MARK: Beyond the IdentityStore text (proposed for the contract)

    /// A parent must be an identity of the realm when the child is created, checked
    /// in the same transaction: a gateway deleted at that moment leaves no orphan.
    func testCreateNeedsAnExistingParentInTheRealm() throws {
        let store = try SQLiteStore(path: path())
        assertStoreError(.notFound, reasonContains: "parent") { try store.createIdentity(self.identity("c", type: .client, parent: "gw")) }
        XCTAssertNil(try store.identity(realm: "edge", id: "c"), "nothing stored")
        var elsewhere = identity("gw")
        elsewhere.realm = "root"
        try store.createIdentity(elsewhere)
        assertStoreError(.notFound, reasonContains: "parent") { try store.createIdentity(self.identity("c", type: .client, parent: "gw")) }
        assertStoreError(.invalidValue, reasonContains: "own parent") { try store.createIdentity(self.identity("c", parent: "c")) }
        try store.createIdentity(identity("gw"))
        try store.createIdentity(identity("c", type: .client, parent: "gw"))
        assertStoreError(.conflict, reasonContains: "identities") { try store.createIdentity(self.identity("c", type: .client, parent: "absent")) }
    }

    /// The tree's shape is fixed: an update naming another type or parent is refused.
    func testUpdateCannotMoveOrRetypeAnIdentity() throws {
        let store = try SQLiteStore(path: path())
        for id in ["gw1", "gw2"] { try store.createIdentity(identity(id)) }
        try store.createIdentity(identity("c", type: .client, parent: "gw1"))
        var moved = identity("c", type: .client, parent: "gw2")
        moved.version = 1
        assertStoreError(.invalidValue, reasonContains: "fixed") { try store.updateIdentity(moved) }
        var orphaned = identity("c", type: .client)
        orphaned.version = 1
        assertStoreError(.invalidValue, reasonContains: "fixed") { try store.updateIdentity(orphaned) }
        var retyped = identity("c", type: .device, parent: "gw1")
        retyped.version = 1
        assertStoreError(.invalidValue, reasonContains: "fixed") { try store.updateIdentity(retyped) }
        var stale = moved
        stale.version = 5
        XCTAssertFalse(try store.updateIdentity(stale), "a stale version is reported as such first")
        XCTAssertEqual(try store.identity(realm: "edge", id: "c"), identity("c", type: .client, parent: "gw1"), "unchanged")
    }

    /// The stored nonce never goes down: an update written from a record read
    /// before a command keeps the newer nonce. Advancing bumps no version.
    func testUpdateNeverLowersTheCommandNonceAndAdvancingKeepsTheVersion() throws {
        let store = try SQLiteStore(path: path())
        try store.createIdentity(identity("gw"))
        var read = try XCTUnwrap(try store.identity(realm: "edge", id: "gw"))
        XCTAssertTrue(try store.advanceCommandNonce(realm: "edge", id: "gw", to: 5))
        XCTAssertEqual(try store.identity(realm: "edge", id: "gw")?.version, 0, "a command does not make admin updates stale")
        read.configuration = ["mode": "new"]
        read.version = 1
        XCTAssertTrue(try store.updateIdentity(read))
        let stored = try XCTUnwrap(try store.identity(realm: "edge", id: "gw"))
        XCTAssertEqual(stored.commandNonce, 5)
        XCTAssertEqual(stored.configuration, ["mode": "new"])
        XCTAssertFalse(try store.advanceCommandNonce(realm: "edge", id: "gw", to: 5), "the replay stays refused")
        var raised = stored
        raised.commandNonce = 9
        raised.version = 2
        XCTAssertTrue(try store.updateIdentity(raised))
        XCTAssertEqual(try store.identity(realm: "edge", id: "gw")?.commandNonce, 9, "raising is allowed")
    }

    /// A cycle can only come from a file edited by hand; the delete then fails
    /// cleanly instead of looping, and deletes nothing.
    func testCyclicTreeFailsToDeleteWithoutLooping() throws {
        let store = try SQLiteStore(path: path())
        try store.createIdentity(identity("a"))
        try store.createIdentity(identity("b", type: .client, parent: "a"))
        try store.writers.durable { try $0.run("UPDATE identities SET parent_id = 'b' WHERE id = 'a'", []) }
        assertStoreError(.internalFailure, reasonContains: "cyclic") { try store.deleteIdentity(realm: "edge", id: "a") }
        XCTAssertEqual(try store.countIdentities(realm: "edge", filter: IdentityFilter()), 2)
    }

    func testIdentityJSONOverTheLimitIsInvalidValue() throws {
        let store = try SQLiteStore(path: path(), options: SQLiteStoreOptions(maxJSONBytes: 1000))
        var big = identity("gw")
        big.configuration = ["blob": .string(String(repeating: "x", count: 1000))]
        assertStoreError(.invalidValue, reasonContains: "identity configuration") { try store.createIdentity(big) }
        XCTAssertNil(try store.identity(realm: "edge", id: "gw"))
    }

    func testASCIIFoldingTouchesOnlyAToZ() {
        XCTAssertEqual(SQLiteStore.asciiFolded("AZaz@[`{09-_%\\"), "azaz@[`{09-_%\\")
        XCTAssertEqual(Array(SQLiteStore.asciiFolded("\u{C4}\u{DF}\u{130}\u{1F600}K").utf8), Array("\u{C4}\u{DF}\u{130}\u{1F600}k".utf8))
    }
}
