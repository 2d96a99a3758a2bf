internal import SQLiteKit
public import Store

// Edge node identities: the forest gateway → client → device of each realm.
//
// ## Listing and counting
// Listings are ordered by id and paged by keyset (the next page starts after the
// last id of the previous one), so a page costs a seek plus the index entries up
// to its last match, wherever it is. Each filter has its index, named with
// `INDEXED BY` so that SQLite can never pick a plan that sorts or reads every row:
//
// | filter                       | index                       | key                                           |
// |------------------------------|-----------------------------|-----------------------------------------------|
// | `parentID` (and anything)    | `identities_by_parent`      | realm, parent_id, id, id_folded, type, status |
// | `type` and/or `status`       | `identities_by_type_status` | realm, type, status, id, id_folded, parent_id |
// | nothing, or only `idContains`| `identities_listing`        | realm, id, id_folded, type, status, parent_id |
//
// After its equality prefix every index is in id order and holds every other filter
// column, so the remaining filters are decided on index entries and only the rows of
// the page are read from the table. A filter that leaves `type` or `status` open is
// one range per value of the open one (the enums are closed), merged in id order by
// a `UNION ALL` that SQLite runs as a merge, without sorting; a count uses `IN`.
//
// ## idContains
// `instr(id_folded, needle)`, where `id_folded` is the id with A-Z folded to a-z
// (stored at write time) and the needle is folded the same way: a plain substring
// test, so `%`, `_` and `\` stand for themselves, with no escaping to get wrong and
// no LIKE pattern limit, and non-ASCII text matches byte for byte whatever the SQLite
// build (an ICU build folds LIKE and `lower()` beyond ASCII).
//
// `instr` decides alone when it runs over an index range: cheap while matches are
// common (a page fills quickly), a pass over the whole range when they are rare. So a
// needle of 3 characters or more first asks the trigram index (FTS5, `identities_trigrams`)
// how many ids hold all its trigrams; up to `trigramCandidateLimit` (2,000) candidates,
// those rows are read by `row`, checked with every filter (`instr` included: the
// trigrams only narrow), and sorted. More candidates than that means common matches,
// and the range scan is the faster way. `SQLiteIdentityScaleTests` measures both.
extension SQLiteStore {
    /// Columns as the record holds them (the insert adds `id_folded` as ?3).
    static let identityColumns = """
        realm, id, type, status, parent_id, public_keys, configuration, user_configuration, registration_time, paired_user, \
        attributes, command_nonce, created_at, updated_at, version
        """

    /// Bound with ``values(of:)``.
    private static let insertIdentitySQL = """
        INSERT INTO identities (realm, id, id_folded, type, status, parent_id, public_keys, configuration, user_configuration,
            registration_time, paired_user, attributes, command_nonce, created_at, updated_at, version)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
        """

    /// Longest parent chain `deleteIdentity` follows; a gateway tree has 3 levels.
    /// Deeper (only possible in a file edited by hand: the store keeps the tree
    /// acyclic) fails without deleting anything.
    static let maxTreeDepth = 100

    private static func identity(_ row: Statement) throws -> IdentityRecord {
        guard let type = IdentityRecord.NodeType(rawValue: try row.text(2)) else {
            throw StoreError(.internalFailure, "stored identity type is unknown")
        }
        guard let status = IdentityRecord.Status(rawValue: try row.text(3)) else {
            throw StoreError(.internalFailure, "stored identity status is unknown")
        }
        return IdentityRecord(
            realm: try row.text(0), id: try row.text(1), type: type, status: status, parentID: row.optionalText(4),
            publicKeys: try JSONColumn.value(try row.text(5), column: "identities.public_keys"),
            configuration: try JSONColumn.value(try row.text(6), column: "identities.configuration"),
            userConfiguration: try JSONColumn.value(try row.text(7), column: "identities.user_configuration"),
            registrationTime: try row.real(8), pairedUser: row.optionalText(9),
            attributes: try JSONColumn.value(try row.text(10), column: "identities.attributes"), commandNonce: try row.integer(11),
            createdAt: try row.real(12), updatedAt: try row.real(13), version: Int(try row.integer(14)))
    }

    /// ?1 realm, ?2 id, ?3 id_folded, ?4 type … ?16 version, in ``insertIdentity``'s order.
    func values(of identity: IdentityRecord) throws -> [SQLValue] {
        [
            .text(identity.realm), .text(identity.id), .text(Self.asciiFolded(identity.id)), .text(identity.type.rawValue),
            .text(identity.status.rawValue), .optionalText(identity.parentID),
            .text(try JSONColumn.text(identity.publicKeys, field: "identity public keys", maxBytes: maxJSONBytes)),
            .text(try JSONColumn.text(identity.configuration, field: "identity configuration", maxBytes: maxJSONBytes)),
            .text(try JSONColumn.text(identity.userConfiguration, field: "identity user configuration", maxBytes: maxJSONBytes)),
            .real(identity.registrationTime), .optionalText(identity.pairedUser),
            .text(try JSONColumn.text(identity.attributes, field: "identity attributes", maxBytes: maxJSONBytes)),
            .integer(identity.commandNonce), .real(identity.createdAt), .real(identity.updatedAt), .int(identity.version),
        ]
    }

    /// Inserts the row and its trigram entry; the caller holds a write transaction.
    static func insertIdentity(_ values: [SQLValue], on connection: Connection) throws {
        try connection.run(insertIdentitySQL, values)
        try connection.run(
            "INSERT INTO identities_trigrams (rowid, id_folded) VALUES (?1, ?2)", [.integer(connection.lastInsertRowID), values[2]])
    }

    /// `text` with the ASCII letters A-Z turned to a-z and every other byte kept.
    static func asciiFolded(_ text: String) -> String {
        String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// Throws `conflict` when the id is taken in the realm, `notFound` when the
    /// parent is not an identity of the realm, `invalidValue` when it is the identity itself.
    /// Checked and stored in one transaction, so a parent deleted at the same
    /// moment can never leave an orphan behind.
    public func createIdentity(_ identity: IdentityRecord) throws {
        if identity.parentID == identity.id {
            throw StoreError(.invalidValue, "createIdentity: an identity cannot be its own parent")
        }
        let values = try values(of: identity)
        try writers.durable { connection in
            try connection.writeTransaction {
                try Self.insertIdentity(values, on: connection)
                if let parent = identity.parentID {
                    let found = try connection.queryOne(
                        "SELECT 1 FROM identities WHERE realm = ?1 AND id = ?2", [.text(identity.realm), .text(parent)]) { _ in true }
                    guard found != nil else {
                        throw StoreError(.notFound, "createIdentity: the parent is not an identity of the realm")
                    }
                }
            }
        }
    }

    /// Creates many identities in one write transaction: all of them or none
    /// (a bulk import, e.g. from another store). Each one is checked as
    /// ``createIdentity(_:)`` checks it; a parent may come earlier in `identities`.
    public func createIdentities(_ identities: [IdentityRecord]) throws {
        if identities.contains(where: { $0.parentID == $0.id }) {
            throw StoreError(.invalidValue, "createIdentities: an identity cannot be its own parent")
        }
        let rows = try identities.map { (values: try values(of: $0), realm: $0.realm, parent: $0.parentID) }
        try writers.durable { connection in
            try connection.writeTransaction {
                for row in rows {
                    try Self.insertIdentity(row.values, on: connection)
                    if let parent = row.parent {
                        let found = try connection.queryOne(
                            "SELECT 1 FROM identities WHERE realm = ?1 AND id = ?2", [.text(row.realm), .text(parent)]) { _ in true }
                        guard found != nil else {
                            throw StoreError(.notFound, "createIdentities: the parent of an identity is not an identity of the realm")
                        }
                    }
                }
            }
        }
    }

    public func identity(realm: String, id: String) throws -> IdentityRecord? {
        try readers.with {
            try $0.queryOne(
                "SELECT \(Self.identityColumns) FROM identities WHERE realm = ?1 AND id = ?2", [.text(realm), .text(id)], Self.identity)
        }
    }

    /// False when the identity is gone or its stored version is not `version - 1`.
    /// Throws `invalidValue` when `type` or `parentID` differ from the stored
    /// ones: the tree's shape is fixed at creation. The stored `commandNonce`
    /// never decreases: it becomes the larger of the stored and the given one,
    /// so an update made from a record read before a command cannot reopen a replay.
    public func updateIdentity(_ identity: IdentityRecord) throws -> Bool {
        let values = try values(of: identity)
        return try writers.durable { connection in
            try connection.writeTransaction {
                let stored = try connection.queryOne(
                    "SELECT version, type, parent_id FROM identities WHERE realm = ?1 AND id = ?2",
                    [.text(identity.realm), .text(identity.id)]
                ) { (version: try $0.integer(0), type: try $0.text(1), parentID: $0.optionalText(2)) }
                guard let stored, stored.version == Int64(identity.version) &- 1 else { return false }
                guard stored.type == identity.type.rawValue, stored.parentID == identity.parentID else {
                    throw StoreError(.invalidValue, "updateIdentity: an identity's type and parent are fixed when it is created")
                }
                // The id does not change, so neither do id_folded and the trigram entry.
                try connection.run(
                    """
                    UPDATE identities SET status = ?5, public_keys = ?7, configuration = ?8, user_configuration = ?9,
                        registration_time = ?10, paired_user = ?11, attributes = ?12, command_nonce = max(command_nonce, ?13),
                        created_at = ?14, updated_at = ?15, version = ?16
                    WHERE realm = ?1 AND id = ?2
                    """, values)
                return true
            }
        }
    }

    /// The identity and every descendant, found by parent links (?1 realm, ?2 id, ?3 the depth limit).
    /// `CROSS JOIN` keeps `subtree` the outer loop, so each step is one search of
    /// `identities_by_parent` on (realm, parent_id): SQLite 3.46 (Debian 13) otherwise
    /// puts `child` outside and walks the whole realm's part of the index every step.
    static let subtree = """
        WITH RECURSIVE subtree (id, depth) AS (
            SELECT id, 0 FROM identities WHERE realm = ?1 AND id = ?2
            UNION ALL
            SELECT child.id, subtree.depth + 1 FROM subtree CROSS JOIN identities AS child ON child.realm = ?1 AND child.parent_id = subtree.id
            WHERE subtree.depth < ?3
        )
        """

    /// Deepest first (devices, clients, then the gateway), then by id; one transaction.
    public func deleteIdentity(realm: String, id: String) throws -> [String] {
        let values: [SQLValue] = [.text(realm), .text(id), .int(Self.maxTreeDepth)]
        return try writers.durable { connection in
            try connection.writeTransaction {
                let nodes = try connection.query("\(Self.subtree) SELECT id, depth FROM subtree ORDER BY depth DESC, id", values) {
                    (id: try $0.text(0), depth: try $0.integer(1))
                }
                guard let deepest = nodes.first else { return [] }
                guard deepest.depth < Int64(Self.maxTreeDepth) else {
                    throw StoreError(
                        .internalFailure,
                        "deleteIdentity: the tree under the identity is deeper than \(Self.maxTreeDepth) levels or cyclic; nothing deleted")
                }
                // An external-content index is told what each entry held.
                try connection.run(
                    """
                    \(Self.subtree) INSERT INTO identities_trigrams (identities_trigrams, rowid, id_folded)
                    SELECT 'delete', row, id_folded FROM identities WHERE realm = ?1 AND id IN (SELECT id FROM subtree)
                    """, values)
                let deleted = try connection.run(
                    "\(Self.subtree) DELETE FROM identities WHERE realm = ?1 AND id IN (SELECT id FROM subtree)", values)
                guard deleted == nodes.count else {
                    throw StoreError(.internalFailure, "deleteIdentity: found \(nodes.count) identities but deleted \(deleted); nothing deleted")
                }
                return nodes.map { $0.id }
            }
        }
    }

    /// `limit` is clamped to 1...1000.
    public func listIdentities(realm: String, filter: IdentityFilter, page: PageRequest) throws -> Page<IdentityRecord> {
        let limit = PageCursor.clampedLimit(page.limit)
        let lastID = try PageCursor.decode(page.cursor)
        var items = try readers.with { connection in
            let statement = try query(realm: realm, filter: filter, on: connection).page(limit: limit, after: lastID)
            return try connection.query(statement.sql, statement.values, Self.identity)
        }
        guard items.count > limit else { return Page(items: items, nextCursor: nil) }
        items.removeLast(items.count - limit)
        return Page(items: items, nextCursor: PageCursor.encode(lastKey: items[items.count - 1].id))
    }

    public func countIdentities(realm: String, filter: IdentityFilter) throws -> Int {
        let count = try readers.with { connection in
            let statement = try query(realm: realm, filter: filter, on: connection).count
            return try connection.queryOne(statement.sql, statement.values) { try $0.integer(0) }
        }
        return Int(count ?? 0)
    }

    /// The query for `filter`, with the trigram candidates when the trigram index
    /// finds few enough; asked on the reader that then runs the query.
    func query(realm: String, filter: IdentityFilter, on connection: Connection) throws -> IdentityQuery {
        let limit = options.trigramCandidateLimit
        guard limit >= 0, let needle = filter.idContains, let match = IdentityQuery.trigramMatch(forFolded: Self.asciiFolded(needle))
        else { return IdentityQuery(realm: realm, filter: filter) }
        let candidates = try connection.queryOne(
            "SELECT count(*) FROM (SELECT rowid FROM identities_trigrams WHERE identities_trigrams MATCH ?1 LIMIT ?2)",
            [.text(match), .int(limit + 1)]
        ) { try $0.integer(0) }
        guard let candidates, candidates <= limit else { return IdentityQuery(realm: realm, filter: filter) }
        return IdentityQuery(realm: realm, filter: filter, trigramMatch: match)
    }

    /// One statement: the comparison and the write cannot be separated. Changes
    /// neither `version` nor `updatedAt`, so commands never make an
    /// administrator's update fail.
    public func advanceCommandNonce(realm: String, id: String, to nonce: Int64) throws -> Bool {
        try writers.durable {
            try $0.run(
                "UPDATE identities SET command_nonce = ?3 WHERE realm = ?1 AND id = ?2 AND command_nonce < ?3",
                [.text(realm), .text(id), .integer(nonce)]) == 1
        }
    }
}

/// The statements of a listing or a count: SQL made only of our own column and
/// index names and numbered parameters; every value is bound.
struct IdentityQuery {
    /// `identities INDEXED BY …` (see the table at the top of this file), or
    /// `identities NOT INDEXED` for trigram candidates, read by `row`.
    let source: String
    /// Joined by AND in every part of the query.
    private var conditions: [String] = []
    /// The column the filter leaves open and one parameter per value of it:
    /// a listing is one range per value, merged; a count takes `IN`.
    private var split: (column: String, parameters: [String])?
    private(set) var values: [SQLValue] = []

    /// Trigrams of a needle are combined into one FTS5 query at most this many at a time.
    static let maxTrigrams = 16

    /// `trigramMatch`: the ids to consider, as an FTS5 query of `identities_trigrams`; nil for every id.
    init(realm: String, filter: IdentityFilter, trigramMatch: String? = nil) {
        let index =
            if trigramMatch != nil {
                "NOT INDEXED"
            } else if filter.parentID != nil {
                "INDEXED BY identities_by_parent"
            } else if filter.type != nil || filter.status != nil {
                "INDEXED BY identities_by_type_status"
            } else {
                "INDEXED BY identities_listing"
            }
        source = "identities \(index)"
        conditions.append("realm = \(bind(.text(realm)))")
        if let trigramMatch {
            conditions.append("row IN (SELECT rowid FROM identities_trigrams WHERE identities_trigrams MATCH \(bind(.text(trigramMatch))))")
        }
        if let parentID = filter.parentID { conditions.append("parent_id = \(bind(.text(parentID)))") }
        switch (filter.type, filter.status) {
        case (let type?, let status?):
            conditions.append("type = \(bind(.text(type.rawValue)))")
            conditions.append("status = \(bind(.text(status.rawValue)))")
        case (let type?, nil) where trigramMatch == nil && filter.parentID == nil:
            conditions.append("type = \(bind(.text(type.rawValue)))")
            split = ("status", IdentityRecord.Status.allCases.map { bind(.text($0.rawValue)) })
        case (nil, let status?) where trigramMatch == nil && filter.parentID == nil:
            conditions.append("status = \(bind(.text(status.rawValue)))")
            split = ("type", IdentityRecord.NodeType.allCases.map { bind(.text($0.rawValue)) })
        case (let type?, nil):
            conditions.append("type = \(bind(.text(type.rawValue)))")
        case (nil, let status?):
            conditions.append("status = \(bind(.text(status.rawValue)))")
        case (nil, nil):
            break
        }
        if let needle = filter.idContains, !needle.isEmpty {
            conditions.append("instr(id_folded, \(bind(.text(SQLiteStore.asciiFolded(needle))))) > 0")
        }
    }

    /// Appends `value` and returns its parameter (`?N`).
    private mutating func bind(_ value: SQLValue) -> String {
        values.append(value)
        return "?\(values.count)"
    }

    /// The matches after `lastID` (all when nil), in id order, `limit + 1` at most:
    /// one more than the page, to know whether another page follows.
    func page(limit: Int, after lastID: String?) -> (sql: String, values: [SQLValue]) {
        var query = self
        var conditions = conditions
        if let lastID { conditions.append("id > \(query.bind(.text(lastID)))") }
        let limit = query.bind(.int(limit + 1))
        let ranges = split.map { split in split.parameters.map { ["\(split.column) = \($0)"] } } ?? [[]]
        let selects = ranges.map { range in
            "SELECT \(SQLiteStore.identityColumns) FROM \(source) WHERE \((conditions + range).joined(separator: " AND "))"
        }
        return (selects.joined(separator: " UNION ALL ") + " ORDER BY id LIMIT \(limit)", query.values)
    }

    var count: (sql: String, values: [SQLValue]) {
        let range = split.map { ["\($0.column) IN (\($0.parameters.joined(separator: ", ")))"] } ?? []
        return ("SELECT count(*) FROM \(source) WHERE \((conditions + range).joined(separator: " AND "))", values)
    }

    /// An FTS5 query for the ids of `identities_trigrams` holding every trigram (3
    /// Unicode scalars, as the tokenizer counts) of `needle`, already folded; nil when
    /// the needle is shorter or holds NUL, which the index cannot narrow. Each trigram
    /// is an FTS5 string, `"` doubled inside, so no character has a meaning.
    static func trigramMatch(forFolded needle: String) -> String? {
        let scalars = Array(needle.unicodeScalars)
        guard scalars.count >= 3, !scalars.contains("\0") else { return nil }
        var trigrams: [String] = []
        for start in 0...(scalars.count - 3) where trigrams.count < maxTrigrams {
            var quoted = String.UnicodeScalarView()
            quoted.append("\"")
            for scalar in scalars[start..<(start + 3)] {
                quoted.append(scalar)
                if scalar == "\"" { quoted.append(scalar) }
            }
            quoted.append("\"")
            let trigram = String(quoted)
            if !trigrams.contains(trigram) { trigrams.append(trigram) }
        }
        return trigrams.joined(separator: " AND ")
    }
}
