/// One `test…` method per conformance case, for an adapter's subclass of
/// ``StoreConformanceTests`` to declare (see there why): each body is one line,
/// `func testX() throws { try x() }`. Keep in step with the cases; the compiler
/// then holds every adapter to the whole suite.
public protocol StoreConformanceCases: StoreConformanceTests {
    // Accounts
    func testHealthCheckAnswers() throws
    func testRealmsAbsentIsNil() throws
    func testRealmsPutReplacesAndListsByName() throws
    func testUsersCreateGetUpdateDelete() throws
    func testUsersDuplicateUsernameConflicts() throws
    func testUsersUpdateOfMissingThrowsNotFound() throws
    func testUsersListedByUsernameWithinRealm() throws
    func testUsersPagedByTwoAcrossThreePages() throws
    func testUsersPagingStableUnderInsertAndDelete() throws
    func testClientsCreateGetUpdateDelete() throws
    func testClientsOptionalFieldsRoundTrip() throws
    func testClientsDuplicateClientIDConflicts() throws
    func testClientsUpdateOfMissingThrowsNotFound() throws
    func testClientsListedByClientIDWithinRealm() throws
    func testClientsPagedByTwoAcrossThreePages() throws
    func testClientsPagingStableUnderInsertAndDelete() throws
    // Concurrency
    func testConcurrentConsumeOnceHasOneWinnerPerKey() throws
    func testConcurrentClientCreationKeepsAll() throws
    func testConcurrentCountersAreExact() throws
    // Persistence
    func testReopenKeepsEverything() throws
    // Protection
    func testConsumeOnceFirstTrueThenFalse() throws
    func testConsumeOnceTrueAgainAfterExpiry() throws
    func testCountersCountPerKeyAndWindow() throws
    func testCountersReadWithoutCounting() throws
    func testPurgeExpiredRemovesOnlyWhatExpired() throws
    func testPurgeExpiredKeepsAccountsKeysAndAudit() throws
    func testAuditSequenceIncreasesAcrossRealms() throws
    func testAuditNewestFirstWithLimit() throws
    func testAuditPagedWithBefore() throws
    func testAuditFilteredByRealm() throws
    // Tokens
    func testSigningKeysPutReplacesByKeyID() throws
    func testSigningKeysFilteredByPurposeAndRealm() throws
    func testSigningKeysOldestFirst() throws
    func testRefreshTokensCreateAndGet() throws
    func testRefreshTokensDuplicateHashConflicts() throws
    func testRefreshTokensRotateOnce() throws
    func testRefreshTokensSecondRotateFailsAndStoresNothing() throws
    func testRefreshTokensRotateOfMissingOrRevokedFails() throws
    func testRefreshTokensFamilyRevocation() throws
    func testDeviceCodesFoundByHashAndByUserCode() throws
    func testDeviceCodesConflictOnHash() throws
    func testDeviceCodesConflictOnUserCodeWithinRealmOnly() throws
    func testDeviceCodesOptimisticUpdate() throws
    func testDeviceCodesUpdateOfMissingReturnsFalse() throws
    func testAccessTokenRevocation() throws
    func testSessionsCreateTouchDelete() throws
    func testSessionsDeletedBySubject() throws
    // Values
    func testUnicodeRoundTripsExactly() throws
    func testJsonValuesRoundTripExactly() throws
    func testLargeJSONRoundTripsExactly() throws
    func testTimestampsRoundTripExactly() throws
    // Identities and scripts (IdentityStore)
    func testIdentitiesCreateGetRoundTrip() throws
    func testIdentitiesDuplicateIDConflicts() throws
    func testIdentitiesOptimisticUpdate() throws
    func testIdentitiesUpdateOfMissingReturnsFalse() throws
    func testIdentitiesDeleteRemovesTreeDescendantsFirst() throws
    func testIdentitiesDeleteOfClientLeavesSiblings() throws
    func testIdentitiesListedByIDBytesWithinRealm() throws
    func testIdentitiesFilteredByEachFilter() throws
    func testIdentitiesFilterCombinationsMatchListAndCount() throws
    func testIdentitiesPagedAcrossPagesWithFilter() throws
    func testIdentitiesCounted() throws
    func testIdentitiesIDContainsIsASCIICaseInsensitive() throws
    func testIdentitiesIDContainsTreatsWildcardsLiterally() throws
    func testCommandNonceAdvancesOnlyUpward() throws
    func testCommandNonceConcurrentAdvanceAcceptsEachValueOnce() throws
    func testConcurrentIdentityCreationHasOneWinnerPerID() throws
    func testScriptsPutReplaceGetListDelete() throws
    func testIdentitiesUnicodeRoundTripsExactly() throws
    func testIdentitiesLargeJSONRoundTripsExactly() throws
    func testIdentitiesReopenKeepsIdentitiesAndScripts() throws
}
