import LDAPKit
import Store

/// The base entry and the containers, created when absent (iec-am setup and
/// every start: idempotent).
enum Layout {
    static func prepare(on connection: LDAPConnection, baseDN: String) throws {
        if try connection.read(baseDN, attributes: ["1.1"]) == nil {
            try createBase(baseDN, on: connection)
        }
        for container in Container.allCases {
            _ = try connection.addIfAbsent(
                "ou=\(container.rawValue),\(baseDN)", [("objectClass", [Array("organizationalUnit".utf8)]), Encoding.value("ou", container.rawValue)])
        }
        _ = try connection.addIfAbsent(
            "iecKey=auditSequence,ou=audit,\(baseDN)",
            [("objectClass", [Array("iecRecord".utf8)]), Encoding.value("iecKey", "auditSequence"), Encoding.value("iecCount", "0")])
    }

    /// `ou=x`, `o=x` or `dc=x` under an existing parent.
    private static func createBase(_ baseDN: String, on connection: LDAPConnection) throws {
        guard let comma = baseDN.firstIndex(of: ","), let equals = baseDN.firstIndex(of: "="), equals < comma else {
            throw StoreError(.internalFailure, "the base DN \(baseDN) does not exist and is a naming context the store cannot create")
        }
        let attribute = baseDN[..<equals].lowercased()
        let value = String(baseDN[baseDN.index(after: equals)..<comma])
        guard !value.contains("\\"), !value.contains("+") else {
            throw StoreError(.internalFailure, "the base DN \(baseDN) does not exist; create it (its first RDN needs escaping)")
        }
        let classes: [String]
        var attributes: [(String, [[UInt8]])] = [Encoding.value(attribute, value)]
        switch attribute {
        case "ou": classes = ["organizationalUnit"]
        case "o": classes = ["organization"]
        case "dc":
            classes = ["dcObject", "organization"]
            attributes.append(Encoding.value("o", value))
        default:
            throw StoreError(.internalFailure, "the base DN \(baseDN) does not exist; create it (the store makes only ou=, o= or dc= entries)")
        }
        do {
            _ = try connection.addIfAbsent(baseDN, [("objectClass", classes.map { Array($0.utf8) })] + attributes)
        } catch let error as LDAPError where error.kind == .result && error.code == LDAPResultCode.noSuchObject {
            throw StoreError(.internalFailure, "the base DN \(baseDN) does not exist, nor does its parent: check baseDN and the directory's suffix")
        }
    }
}

/// Checks at start that the directory knows the OpenIEC schema, naming what is missing.
enum SchemaCheck {
    static let objectClasses = ["iecRecord", "iecEdgeNode"]
    static let attributeTypes = [
        "iecKey", "iecSortKey", "iecRealm", "iecName", "iecData", "iecVersion", "iecExpiry", "iecCount", "iecStatus", "iecFamily",
        "iecSubject", "iecSequence", "iecNameFolded", "iecCreatedAt", "iecUpdatedAt", "edgeNodeId", "edgeNodeType",
        "edgeNodeRegistrationStatus", "edgeNodeParent", "edgeNodeRegistrationJwk", "edgeNodeConfig", "edgeNodeUserConfig",
        "edgeNodeRegistrationTime", "edgeNodePairedUser", "edgeNodeAttributes", "edgeNodeCommandNonce",
    ]

    static func verify(on connection: LDAPConnection, url: String) throws {
        guard let root = try connection.read("", attributes: ["subschemaSubentry"]),
            let subschema = root.string("subschemaSubentry"),
            let schema = try? connection.read(subschema, attributes: ["objectClasses", "attributeTypes"])
        else { return }  // A directory that hides its schema: operations report what is missing.
        let classes = Set(schema.strings("objectClasses").flatMap(names(in:)))
        let attributes = Set(schema.strings("attributeTypes").flatMap(names(in:)))
        let missingClasses = objectClasses.filter { !classes.contains($0.lowercased()) }
        let missingAttributes = attributeTypes.filter { !attributes.contains($0.lowercased()) }
        guard missingClasses.isEmpty, missingAttributes.isEmpty else {
            var parts: [String] = []
            if !missingClasses.isEmpty { parts.append("objectClass \(missingClasses.joined(separator: ", "))") }
            if !missingAttributes.isEmpty { parts.append("attribute \(missingAttributes.joined(separator: ", "))") }
            throw StoreError(
                .schemaMismatch,
                "the directory at \(url) lacks the OpenIEC schema: missing \(parts.joined(separator: "; ")) "
                    + "(load deploy/ldap/iec.ldif, or include deploy/ldap/iec.schema in slapd.conf)")
        }
    }

    /// The lowercased NAMEs of one schema description: `NAME 'x'` or `NAME ( 'x' 'y' )`.
    static func names(in description: String) -> [String] {
        let characters = Array(description)
        let marker = Array(" NAME ")
        guard characters.count > marker.count,
            let start = (0...(characters.count - marker.count)).first(where: { Array(characters[$0..<($0 + marker.count)]) == marker })
        else { return [] }
        var rest = characters[(start + marker.count)...].drop(while: { $0 == " " })
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return [] }
            rest = rest[(rest.startIndex + 1)..<close]
        } else if let space = rest.firstIndex(of: " ") {
            rest = rest[..<space]
        }
        return rest.split(separator: " ").map { String($0.filter { $0 != "'" }).lowercased() }.filter { !$0.isEmpty }
    }
}

