import Foundation
import Store
import StoreConformance
@testable import StoreSQLite
import XCTest

/// The search-related conformance cases again, with `idContains` forced down each
/// of its two ways (`SQLiteStore+Identities.swift`): the index scan alone, and the
/// trigram candidates whenever the needle is long enough. Both must give the same
/// answers as the contract; `SQLiteStoreConformanceTests` runs the default mix.
final class SQLiteIdentitySearchPathTests: StoreConformanceTests {
    private var folder: URL?
    private var opened = 0
    private var trigramCandidateLimit = 0

    override func setUpWithError() throws {
        try super.setUpWithError()
        folder = try TemporaryFolder.make()
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
        folder = nil
        try super.tearDownWithError()
    }

    override func makeStore() throws -> any Store {
        let folder = try XCTUnwrap(folder)
        opened += 1
        var options = SQLiteStoreOptions()
        options.trigramCandidateLimit = trigramCandidateLimit
        return try SQLiteStore(path: folder.appendingPathComponent("store-\(opened).sqlite").path, options: options)
    }

    private func searchCases() throws {
        try identitiesFilterCombinationsMatchListAndCount()
        try identitiesFilteredByEachFilter()
        try identitiesIDContainsIsASCIICaseInsensitive()
        try identitiesIDContainsTreatsWildcardsLiterally()
        try identitiesPagedAcrossPagesWithFilter()
        try identitiesUnicodeRoundTripsExactly()
        try identitiesCounted()
    }

    func testSearchByIndexScanOnly() throws {
        trigramCandidateLimit = -1
        try searchCases()
    }

    func testSearchByTrigramCandidatesWheneverPossible() throws {
        trigramCandidateLimit = 1_000_000
        try searchCases()
    }
}
