import IECJSON
import LDAPKit
public import Store

// Edge node identities (`iecEdgeNode` entries, flat under `ou=identities`,
// the tree kept by `edgeNodeParent`) and their listing.
//
// ## The tree without transactions
// A child is added, then its parent checked: if the parent is gone, the child
// deletes itself and `createIdentity` throws `notFound`. A delete removes the
// subtree leaves first, the identity last, then looks once more for children
// of every deleted id and removes them too: a child added during the delete
// either sees its parent gone, or was added before the parent went and is
// found by that last look. So no orphan outlives both calls.
//
// ## idContains
// `iecNameFolded` holds the hex of the id with A-Z folded to a-z; the filter
// `(iecNameFolded=*<hex of the folded needle>*)` (substring-indexed) finds every
// match and a few more (a match at an odd hex offset), which the recheck in
// Swift drops. Hex keeps `*`, `(`, `\` and non-ASCII text out of the filter and
// slapd's own case folding and normalisation out of the comparison.
extension LDAPStore {
    private static let identityAttributes = [
        "edgeNodeId", "edgeNodeType", "edgeNodeRegistrationStatus", "edgeNodeParent", "edgeNodeRegistrationJwk", "edgeNodeConfig",
        "edgeNodeUserConfig", "edgeNodeRegistrationTime", "edgeNodePairedUser", "edgeNodeAttributes", "edgeNodeCommandNonce",
        "iecRealm", "iecCreatedAt", "iecUpdatedAt", "iecVersion", "iecKey",
    ]

    func identityDN(_ realm: String, _ id: String) -> String { dn(.identities, "identity", realm, id) }

    /// The attributes an update replaces (everything but the key, the tree's shape, the version and the nonce).
    private func mutableAttributes(_ identity: IdentityRecord) throws -> [LDAPModification] {
        func json(_ value: JSONValue, _ field: String) throws -> String {
            try JSONText.text(value, field: "identity \(field)", maxBytes: maxJSONBytes)
        }
        return [
            .replace("edgeNodeRegistrationStatus", identity.status.rawValue),
            .replace("edgeNodeRegistrationJwk", try json(identity.publicKeys, "public keys")),
            .replace("edgeNodeConfig", try json(identity.configuration, "configuration")),
            .replace("edgeNodeUserConfig", try json(identity.userConfiguration, "user configuration")),
            .replace("edgeNodeRegistrationTime", Encoding.text(identity.registrationTime)),
            identity.pairedUser.map { .replace("edgeNodePairedUser", $0) } ?? .remove("edgeNodePairedUser"),
            .replace("edgeNodeAttributes", try json(identity.attributes, "attributes")),
            .replace("iecCreatedAt", Encoding.text(identity.createdAt)),
            .replace("iecUpdatedAt", Encoding.text(identity.updatedAt)),
        ]
    }

    private static func identity(_ entry: LDAPEntry) throws -> IdentityRecord {
        func text(_ attribute: String) throws -> String {
            guard let value = entry.string(attribute) else { throw StoreError(.internalFailure, "stored identity lacks \(attribute)") }
            return value
        }
        func json(_ attribute: String) throws -> JSONValue { try JSONText.parse(entry.attributes[attribute.lowercased()]?.first, "identity \(attribute)") }
        guard let type = IdentityRecord.NodeType(rawValue: try text("edgeNodeType")) else {
            throw StoreError(.internalFailure, "stored identity type is unknown")
        }
        guard let status = IdentityRecord.Status(rawValue: try text("edgeNodeRegistrationStatus")) else {
            throw StoreError(.internalFailure, "stored identity status is unknown")
        }
        guard let nonce = Int64(try text("edgeNodeCommandNonce")), let version = Int(try text("iecVersion")) else {
            throw StoreError(.internalFailure, "stored identity nonce or version is not a number")
        }
        return IdentityRecord(
            realm: try text("iecRealm"), id: try text("edgeNodeId"), type: type, status: status, parentID: entry.string("edgeNodeParent"),
            publicKeys: try json("edgeNodeRegistrationJwk"), configuration: try json("edgeNodeConfig"),
            userConfiguration: try json("edgeNodeUserConfig"),
            registrationTime: try Encoding.double(entry.string("edgeNodeRegistrationTime"), "identity registration time"),
            pairedUser: entry.string("edgeNodePairedUser"), attributes: try json("edgeNodeAttributes"), commandNonce: nonce,
            createdAt: try Encoding.double(entry.string("iecCreatedAt"), "identity creation time"),
            updatedAt: try Encoding.double(entry.string("iecUpdatedAt"), "identity update time"), version: version)
    }

    public func createIdentity(_ identity: IdentityRecord) throws {
        if identity.parentID == identity.id {
            throw StoreError(.invalidValue, "createIdentity: an identity cannot be its own parent")
        }
        let dn = identityDN(identity.realm, identity.id)
        var attributes: [(String, [[UInt8]])] = [
            ("objectClass", [Array("iecEdgeNode".utf8)]), Encoding.value("iecKey", Self.key(of: dn)), Encoding.value("iecRealm", identity.realm),
            Encoding.value("edgeNodeId", identity.id), Encoding.value("iecSortKey", Encoding.hex(identity.id)),
            Encoding.value("iecNameFolded", Encoding.hex(Encoding.asciiFolded(identity.id))), Encoding.value("edgeNodeType", identity.type.rawValue),
            Encoding.value("edgeNodeCommandNonce", "\(identity.commandNonce)"), Encoding.value("iecVersion", "\(identity.version)"),
        ]
        if let parent = identity.parentID { attributes.append(Encoding.value("edgeNodeParent", parent)) }
        attributes += try mutableAttributes(identity).filter { !$0.values.isEmpty }.map { ($0.attribute, $0.values) }
        try perform(retry: false) { connection in
            guard try connection.addIfAbsent(dn, attributes) else {
                throw StoreError(.conflict, "createIdentity: the id is taken in the realm")
            }
            if let parent = identity.parentID, try connection.read(identityDN(identity.realm, parent), attributes: ["1.1"]) == nil {
                _ = try connection.deleteIfPresent(dn)
                throw StoreError(.notFound, "createIdentity: the parent is not an identity of the realm")
            }
        }
    }

    public func identity(realm: String, id: String) throws -> IdentityRecord? {
        try perform { try $0.read(identityDN(realm, id), attributes: Self.identityAttributes) }.map(Self.identity)
    }

    /// One modify: compare-and-swap of `iecVersion` (and of the nonce when the
    /// given one is larger), with every other field replaced. A swap lost only
    /// to a concurrent `advanceCommandNonce` is retried with the new nonce.
    public func updateIdentity(_ identity: IdentityRecord) throws -> Bool {
        let dn = identityDN(identity.realm, identity.id)
        let fields = try mutableAttributes(identity)
        let previous = "\(Int64(identity.version) &- 1)"
        return try perform(retry: false) { connection in
            for attempt in 1...Self.maxSwapAttempts {
                guard let entry = try connection.read(dn, attributes: Self.identityAttributes) else { return false }
                let stored = try Self.identity(entry)
                guard stored.type == identity.type, stored.parentID.map({ Array($0.utf8) }) == identity.parentID.map({ Array($0.utf8) }) else {
                    throw StoreError(.invalidValue, "updateIdentity: type and parent are fixed at creation")
                }
                guard entry.string("iecVersion") == previous else { return false }
                var changes: [LDAPModification] = [.delete("iecVersion", previous), .add("iecVersion", "\(identity.version)")]
                if identity.commandNonce > stored.commandNonce {
                    changes += [.delete("edgeNodeCommandNonce", "\(stored.commandNonce)"), .add("edgeNodeCommandNonce", "\(identity.commandNonce)")]
                }
                switch try connection.swap(dn, changes + fields) {
                case .done: return true
                case .gone: return false
                case .lost: backOff(attempt)  // re-read: the version or the nonce moved
                }
            }
            throw StoreError(.unavailable, "updateIdentity: the identity kept changing")
        }
    }

    public func deleteIdentity(realm: String, id: String) throws -> [String] {
        try perform(retry: false) { connection in
            guard try connection.read(identityDN(realm, id), attributes: ["1.1"]) != nil else { return [] }
            // Breadth first: levels[0] = [id], levels[n] = the children of levels[n-1].
            var levels: [[String]] = [[id]]
            var seen: Set<[UInt8]> = [Array(id.utf8)]
            while let last = levels.last, !last.isEmpty {
                guard levels.count <= 100 else {
                    throw StoreError(.internalFailure, "deleteIdentity: the tree under the identity is deeper than 100 levels or cyclic; nothing deleted")
                }
                var next: [String] = []
                for parent in last {
                    for child in try children(of: parent, realm: realm, on: connection) where seen.insert(Array(child.utf8)).inserted {
                        next.append(child)
                    }
                }
                levels.append(next)
            }
            var deleted: [String] = []
            for level in levels.reversed() {
                for node in level where try connection.deleteIfPresent(identityDN(realm, node)) { deleted.append(node) }
            }
            // Children added while we deleted (see the note at the top of the file).
            var late: [String] = []
            for parent in deleted {
                for child in try children(of: parent, realm: realm, on: connection) where try connection.deleteIfPresent(identityDN(realm, child)) {
                    late.append(child)
                }
            }
            if !late.isEmpty, let root = deleted.popLast() { deleted += late + [root] }
            return deleted
        }
    }

    private func children(of parent: String, realm: String, on connection: LDAPConnection) throws -> [String] {
        try all(
            .identities, conditions: [Filter.edgeNode, Filter.equal("iecRealm", realm), Filter.equal("edgeNodeParent", parent)],
            attributes: ["edgeNodeId"], on: connection
        ).compactMap { $0.string("edgeNodeId") }
    }

    /// The filter parts and the Swift recheck of `filter`.
    private func identityQuery(realm: String, filter: IdentityFilter) -> (conditions: [String], attributes: [String], accept: (LDAPEntry) -> Bool) {
        var conditions = [Filter.edgeNode, Filter.equal("iecRealm", realm)]
        if let type = filter.type { conditions.append(Filter.equal("edgeNodeType", type.rawValue)) }
        if let status = filter.status { conditions.append(Filter.equal("edgeNodeRegistrationStatus", status.rawValue)) }
        if let parent = filter.parentID { conditions.append(Filter.equal("edgeNodeParent", parent)) }
        guard let needle = filter.idContains, !needle.isEmpty else { return (conditions, [], { _ in true }) }
        let folded = Encoding.asciiFolded(needle)
        conditions.append("(iecNameFolded=*\(Encoding.hex(folded))*)")
        return (
            conditions, ["edgeNodeId"],
            { entry in
                guard let id = entry.attributes["edgenodeid"]?.first else { return false }
                let haystack = id.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
                return Self.contains(haystack, folded)
            }
        )
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        if needle.isEmpty { return true }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }

    /// `limit` is clamped to 1...1000.
    public func listIdentities(realm: String, filter: IdentityFilter, page: PageRequest) throws -> Page<IdentityRecord> {
        let query = identityQuery(realm: realm, filter: filter)
        return try listPage(
            .identities, conditions: query.conditions, page: page, scanAttributes: query.attributes, accept: query.accept, decode: Self.identity)
    }

    public func countIdentities(realm: String, filter: IdentityFilter) throws -> Int {
        let query = identityQuery(realm: realm, filter: filter)
        return try countMatches(.identities, conditions: query.conditions, scanAttributes: query.attributes, accept: query.accept)
    }

    /// Compare-and-swap of `edgeNodeCommandNonce`; neither `iecVersion` nor `iecUpdatedAt` change.
    public func advanceCommandNonce(realm: String, id: String, to nonce: Int64) throws -> Bool {
        let dn = identityDN(realm, id)
        return try perform(retry: false) { connection in
            for attempt in 1...Self.maxSwapAttempts {
                guard let entry = try connection.read(dn, attributes: ["edgeNodeCommandNonce"]),
                    let stored = connection.int64(entry, "edgeNodeCommandNonce")
                else { return false }
                guard nonce > stored else { return false }
                switch try connection.swap(dn, [.delete("edgeNodeCommandNonce", "\(stored)"), .add("edgeNodeCommandNonce", "\(nonce)")]) {
                case .done: return true
                case .gone: return false
                case .lost: backOff(attempt)
                }
            }
            throw StoreError(.unavailable, "advanceCommandNonce: the nonce kept changing")
        }
    }
}
