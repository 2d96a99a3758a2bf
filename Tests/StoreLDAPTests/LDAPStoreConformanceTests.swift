import Foundation
import Store
import StoreConformance
import StoreLDAP
import XCTest

/// The conformance suite against a real slapd: one server per test class
/// (started by `deploy/ldap/start-slapd.sh` on a free loopback port, stopped
/// by PID), one fresh base entry per `makeStore()`.
final class LDAPStoreConformanceTests: StoreConformanceTests, StoreConformanceCases {
    nonisolated(unsafe) private static var server: Result<SlapdServer, any Error>?
    private var opened = 0

    override class func setUp() {
        super.setUp()
        server = Result { try SlapdServer() }
    }

    override class func tearDown() {
        server = nil
        super.tearDown()
    }

    static func options(baseDN: String, server: SlapdServer, serverSideSorting: Bool = true) -> LDAPStoreOptions {
        LDAPStoreOptions(
            url: server.url, bindDN: SlapdServer.adminDN, bindPassword: SlapdServer.adminPassword, baseDN: baseDN, poolSize: 8, timeout: 10,
            serverSideSorting: serverSideSorting)
    }

    override func makeStore() throws -> any Store {
        let server = try XCTUnwrap(Self.server).get()
        opened += 1
        let base = "ou=\(name.filter { $0.isLetter || $0.isNumber })-\(opened),\(SlapdServer.suffix)"
        let store = try LDAPStore(options: Self.options(baseDN: base, server: server))
        XCTAssertTrue(store.serverSorts, "start-slapd.sh loads sssvlv: listings are sorted by the directory")
        return store
    }

    override func reopen(_ store: any Store) throws -> any Store {
        let store = try XCTUnwrap(store as? LDAPStore)
        return try LDAPStore(options: store.options)
    }

    // MARK: Accounts
    func testHealthCheckAnswers() throws { try healthCheckAnswers() }
    func testRealmsAbsentIsNil() throws { try realmsAbsentIsNil() }
    func testRealmsPutReplacesAndListsByName() throws { try realmsPutReplacesAndListsByName() }
    func testUsersCreateGetUpdateDelete() throws { try usersCreateGetUpdateDelete() }
    func testUsersDuplicateUsernameConflicts() throws { try usersDuplicateUsernameConflicts() }
    func testUsersUpdateOfMissingThrowsNotFound() throws { try usersUpdateOfMissingThrowsNotFound() }
    func testUsersListedByUsernameWithinRealm() throws { try usersListedByUsernameWithinRealm() }
    func testUsersPagedByTwoAcrossThreePages() throws { try usersPagedByTwoAcrossThreePages() }
    func testUsersPagingStableUnderInsertAndDelete() throws { try usersPagingStableUnderInsertAndDelete() }
    func testClientsCreateGetUpdateDelete() throws { try clientsCreateGetUpdateDelete() }
    func testClientsOptionalFieldsRoundTrip() throws { try clientsOptionalFieldsRoundTrip() }
    func testClientsDuplicateClientIDConflicts() throws { try clientsDuplicateClientIDConflicts() }
    func testClientsUpdateOfMissingThrowsNotFound() throws { try clientsUpdateOfMissingThrowsNotFound() }
    func testClientsListedByClientIDWithinRealm() throws { try clientsListedByClientIDWithinRealm() }
    func testClientsPagedByTwoAcrossThreePages() throws { try clientsPagedByTwoAcrossThreePages() }
    func testClientsPagingStableUnderInsertAndDelete() throws { try clientsPagingStableUnderInsertAndDelete() }
    // MARK: Concurrency
    func testConcurrentConsumeOnceHasOneWinnerPerKey() throws { try concurrentConsumeOnceHasOneWinnerPerKey() }
    func testConcurrentClientCreationKeepsAll() throws { try concurrentClientCreationKeepsAll() }
    func testConcurrentCountersAreExact() throws { try concurrentCountersAreExact() }
    // MARK: Persistence
    func testReopenKeepsEverything() throws { try reopenKeepsEverything() }
    // MARK: Protection
    func testConsumeOnceFirstTrueThenFalse() throws { try consumeOnceFirstTrueThenFalse() }
    func testConsumeOnceTrueAgainAfterExpiry() throws { try consumeOnceTrueAgainAfterExpiry() }
    func testCountersCountPerKeyAndWindow() throws { try countersCountPerKeyAndWindow() }
    func testCountersReadWithoutCounting() throws { try countersReadWithoutCounting() }
    func testPurgeExpiredRemovesOnlyWhatExpired() throws { try purgeExpiredRemovesOnlyWhatExpired() }
    func testPurgeExpiredKeepsAccountsKeysAndAudit() throws { try purgeExpiredKeepsAccountsKeysAndAudit() }
    func testAuditSequenceIncreasesAcrossRealms() throws { try auditSequenceIncreasesAcrossRealms() }
    func testAuditNewestFirstWithLimit() throws { try auditNewestFirstWithLimit() }
    func testAuditPagedWithBefore() throws { try auditPagedWithBefore() }
    func testAuditFilteredByRealm() throws { try auditFilteredByRealm() }
    // MARK: Tokens
    func testSigningKeysPutReplacesByKeyID() throws { try signingKeysPutReplacesByKeyID() }
    func testSigningKeysFilteredByPurposeAndRealm() throws { try signingKeysFilteredByPurposeAndRealm() }
    func testSigningKeysOldestFirst() throws { try signingKeysOldestFirst() }
    func testRefreshTokensCreateAndGet() throws { try refreshTokensCreateAndGet() }
    func testRefreshTokensDuplicateHashConflicts() throws { try refreshTokensDuplicateHashConflicts() }
    func testRefreshTokensRotateOnce() throws { try refreshTokensRotateOnce() }
    func testRefreshTokensSecondRotateFailsAndStoresNothing() throws { try refreshTokensSecondRotateFailsAndStoresNothing() }
    func testRefreshTokensRotateOfMissingOrRevokedFails() throws { try refreshTokensRotateOfMissingOrRevokedFails() }
    func testRefreshTokensFamilyRevocation() throws { try refreshTokensFamilyRevocation() }
    func testDeviceCodesFoundByHashAndByUserCode() throws { try deviceCodesFoundByHashAndByUserCode() }
    func testDeviceCodesConflictOnHash() throws { try deviceCodesConflictOnHash() }
    func testDeviceCodesConflictOnUserCodeWithinRealmOnly() throws { try deviceCodesConflictOnUserCodeWithinRealmOnly() }
    func testDeviceCodesOptimisticUpdate() throws { try deviceCodesOptimisticUpdate() }
    func testDeviceCodesUpdateOfMissingReturnsFalse() throws { try deviceCodesUpdateOfMissingReturnsFalse() }
    func testAccessTokenRevocation() throws { try accessTokenRevocation() }
    func testSessionsCreateTouchDelete() throws { try sessionsCreateTouchDelete() }
    func testSessionsDeletedBySubject() throws { try sessionsDeletedBySubject() }
    // MARK: Values
    func testUnicodeRoundTripsExactly() throws { try unicodeRoundTripsExactly() }
    func testJsonValuesRoundTripExactly() throws { try jsonValuesRoundTripExactly() }
    func testLargeJSONRoundTripsExactly() throws { try largeJSONRoundTripsExactly() }
    func testTimestampsRoundTripExactly() throws { try timestampsRoundTripExactly() }
    // MARK: Identities and scripts
    func testIdentitiesCreateGetRoundTrip() throws { try identitiesCreateGetRoundTrip() }
    func testIdentitiesDuplicateIDConflicts() throws { try identitiesDuplicateIDConflicts() }
    func testIdentitiesOptimisticUpdate() throws { try identitiesOptimisticUpdate() }
    func testIdentitiesUpdateOfMissingReturnsFalse() throws { try identitiesUpdateOfMissingReturnsFalse() }
    func testIdentitiesDeleteRemovesTreeDescendantsFirst() throws { try identitiesDeleteRemovesTreeDescendantsFirst() }
    func testIdentitiesDeleteOfClientLeavesSiblings() throws { try identitiesDeleteOfClientLeavesSiblings() }
    func testIdentitiesListedByIDBytesWithinRealm() throws { try identitiesListedByIDBytesWithinRealm() }
    func testIdentitiesFilteredByEachFilter() throws { try identitiesFilteredByEachFilter() }
    func testIdentitiesFilterCombinationsMatchListAndCount() throws { try identitiesFilterCombinationsMatchListAndCount() }
    func testIdentitiesPagedAcrossPagesWithFilter() throws { try identitiesPagedAcrossPagesWithFilter() }
    func testIdentitiesCounted() throws { try identitiesCounted() }
    func testIdentitiesIDContainsIsASCIICaseInsensitive() throws { try identitiesIDContainsIsASCIICaseInsensitive() }
    func testIdentitiesIDContainsTreatsWildcardsLiterally() throws { try identitiesIDContainsTreatsWildcardsLiterally() }
    func testCommandNonceAdvancesOnlyUpward() throws { try commandNonceAdvancesOnlyUpward() }
    func testCommandNonceConcurrentAdvanceAcceptsEachValueOnce() throws { try commandNonceConcurrentAdvanceAcceptsEachValueOnce() }
    func testConcurrentIdentityCreationHasOneWinnerPerID() throws { try concurrentIdentityCreationHasOneWinnerPerID() }
    func testScriptsPutReplaceGetListDelete() throws { try scriptsPutReplaceGetListDelete() }
    func testIdentitiesUnicodeRoundTripsExactly() throws { try identitiesUnicodeRoundTripsExactly() }
    func testIdentitiesLargeJSONRoundTripsExactly() throws { try identitiesLargeJSONRoundTripsExactly() }
    func testIdentitiesReopenKeepsIdentitiesAndScripts() throws { try identitiesReopenKeepsIdentitiesAndScripts() }
}
