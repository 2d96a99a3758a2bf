import IECJSON
import LDAPKit
public import Store

// Realms, users, OAuth2 clients, signing keys and scripts: plain records, one
// entry each, the fields in `iecData`.
extension LDAPStore {
    /// The attributes every keyed record of a realm has.
    func recordAttributes(realm: String?, name: String, data: Fields) throws -> [(String, [[UInt8]])] {
        var attributes: [(String, [[UInt8]])] = [
            Encoding.value("iecName", name), Encoding.value("iecSortKey", Encoding.hex(name)),
            Encoding.value("iecData", try data.text(maxBytes: maxJSONBytes)),
        ]
        if let realm { attributes.append(Encoding.value("iecRealm", realm)) }
        return attributes
    }

    func newRecord(_ dn: String, key: String, _ attributes: [(String, [[UInt8]])]) -> [(String, [[UInt8]])] {
        [("objectClass", [Array("iecRecord".utf8)]), Encoding.value("iecKey", key)] + attributes
    }

    static func key(of dn: String) -> String {
        String(dn.dropFirst("iecKey=".count).prefix { $0 != "," })
    }

    // MARK: Realms

    public func realm(named name: String) throws -> RealmRecord? {
        try perform { try $0.read(dn(.realms, "realm", name)) }.map(Self.realm)
    }

    public func putRealm(_ realm: RealmRecord) throws {
        var data = Fields(what: "realm")
        data[string: "name"] = realm.name
        try data.set("settings", json: realm.settings, maxBytes: maxJSONBytes)
        data.set("createdAt", double: realm.createdAt)
        data.set("updatedAt", double: realm.updatedAt)
        let dn = dn(.realms, "realm", realm.name)
        let attributes = try recordAttributes(realm: nil, name: realm.name, data: data)
        try perform { try $0.upsert(dn, objectClass: "iecRecord", key: Self.key(of: dn), attributes) }
    }

    public func listRealms() throws -> [RealmRecord] {
        try perform { try all(.realms, conditions: [Filter.record], on: $0) }.map(Self.realm)
            .sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }

    private static func realm(_ entry: LDAPEntry) throws -> RealmRecord {
        let data = try Fields(entry, what: "realm")
        return RealmRecord(
            name: try data.string("name"), settings: try data.json("settings"), createdAt: try data.double("createdAt"),
            updatedAt: try data.double("updatedAt"))
    }

    // MARK: Users

    private func userFields(_ user: UserRecord) throws -> Fields {
        var data = Fields(what: "user")
        data[string: "realm"] = user.realm
        data[string: "username"] = user.username
        data[string: "passwordHash"] = user.passwordHash
        data.set("roles", strings: user.roles)
        data.members["disabled"] = .bool(user.disabled)
        try data.set("attributes", json: user.attributes, maxBytes: maxJSONBytes)
        data.set("createdAt", double: user.createdAt)
        data.set("updatedAt", double: user.updatedAt)
        return data
    }

    private static func user(_ entry: LDAPEntry) throws -> UserRecord {
        let data = try Fields(entry, what: "user")
        return UserRecord(
            realm: try data.string("realm"), username: try data.string("username"), passwordHash: try data.string("passwordHash"),
            roles: try data.strings("roles"), disabled: try data.bool("disabled"), attributes: try data.json("attributes"),
            createdAt: try data.double("createdAt"), updatedAt: try data.double("updatedAt"))
    }

    public func createUser(_ user: UserRecord) throws {
        let dn = dn(.users, "user", user.realm, user.username)
        let attributes = newRecord(dn, key: Self.key(of: dn), try recordAttributes(realm: user.realm, name: user.username, data: try userFields(user)))
        guard try perform(retry: false, { try $0.addIfAbsent(dn, attributes) }) else {
            throw StoreError(.conflict, "createUser: the username is taken in the realm")
        }
    }

    public func user(realm: String, username: String) throws -> UserRecord? {
        try perform { try $0.read(dn(.users, "user", realm, username)) }.map(Self.user)
    }

    public func updateUser(_ user: UserRecord) throws {
        let dn = dn(.users, "user", user.realm, user.username)
        let data = try userFields(user).text(maxBytes: maxJSONBytes)
        let result = try perform { try $0.swap(dn, [.replace("iecData", data)]) }
        guard result == .done else { throw StoreError(.notFound, "updateUser: no such user in the realm") }
    }

    public func deleteUser(realm: String, username: String) throws -> Bool {
        try perform { try $0.deleteIfPresent(dn(.users, "user", realm, username)) }
    }

    public func listUsers(realm: String, page: PageRequest) throws -> Page<UserRecord> {
        try listPage(.users, conditions: [Filter.record, Filter.equal("iecRealm", realm)], page: page, decode: Self.user)
    }

    // MARK: OAuth2 clients

    private func clientFields(_ client: OAuth2ClientRecord) throws -> Fields {
        var data = Fields(what: "client")
        data[string: "realm"] = client.realm
        data[string: "clientID"] = client.clientID
        data[string: "tokenEndpointAuthMethod"] = client.tokenEndpointAuthMethod
        data[string: "secretHash"] = client.secretHash
        if let jwks = client.jwks { try data.set("jwks", json: jwks, maxBytes: maxJSONBytes) }
        data.set("grantTypes", strings: client.grantTypes)
        data.set("scopes", strings: client.scopes)
        data[string: "name"] = client.name
        data.members["disabled"] = .bool(client.disabled)
        try data.set("attributes", json: client.attributes, maxBytes: maxJSONBytes)
        data.set("createdAt", double: client.createdAt)
        data.set("updatedAt", double: client.updatedAt)
        return data
    }

    private static func client(_ entry: LDAPEntry) throws -> OAuth2ClientRecord {
        let data = try Fields(entry, what: "client")
        return OAuth2ClientRecord(
            realm: try data.string("realm"), clientID: try data.string("clientID"),
            tokenEndpointAuthMethod: try data.string("tokenEndpointAuthMethod"), secretHash: data.optionalString("secretHash"),
            jwks: data.optionalJSON("jwks"), grantTypes: try data.strings("grantTypes"), scopes: try data.strings("scopes"),
            name: try data.string("name"), disabled: try data.bool("disabled"), attributes: try data.json("attributes"),
            createdAt: try data.double("createdAt"), updatedAt: try data.double("updatedAt"))
    }

    public func createClient(_ client: OAuth2ClientRecord) throws {
        let dn = dn(.clients, "client", client.realm, client.clientID)
        let attributes = newRecord(
            dn, key: Self.key(of: dn), try recordAttributes(realm: client.realm, name: client.clientID, data: try clientFields(client)))
        guard try perform(retry: false, { try $0.addIfAbsent(dn, attributes) }) else {
            throw StoreError(.conflict, "createClient: the client id is taken in the realm")
        }
    }

    public func client(realm: String, clientID: String) throws -> OAuth2ClientRecord? {
        try perform { try $0.read(dn(.clients, "client", realm, clientID)) }.map(Self.client)
    }

    public func updateClient(_ client: OAuth2ClientRecord) throws {
        let dn = dn(.clients, "client", client.realm, client.clientID)
        let data = try clientFields(client).text(maxBytes: maxJSONBytes)
        let result = try perform { try $0.swap(dn, [.replace("iecData", data)]) }
        guard result == .done else { throw StoreError(.notFound, "updateClient: no such client in the realm") }
    }

    public func deleteClient(realm: String, clientID: String) throws -> Bool {
        try perform { try $0.deleteIfPresent(dn(.clients, "client", realm, clientID)) }
    }

    public func listClients(realm: String, page: PageRequest) throws -> Page<OAuth2ClientRecord> {
        try listPage(.clients, conditions: [Filter.record, Filter.equal("iecRealm", realm)], page: page, decode: Self.client)
    }

    // MARK: Signing keys

    public func putSigningKey(_ key: SigningKeyRecord) throws {
        var data = Fields(what: "signing key")
        data[string: "realm"] = key.realm
        data[string: "keyID"] = key.keyID
        data[string: "purpose"] = key.purpose
        try data.set("privateJWK", json: key.privateJWK, maxBytes: maxJSONBytes)
        data[string: "status"] = key.status.rawValue
        data.set("createdAt", double: key.createdAt)
        let dn = dn(.signingKeys, "signingKey", key.realm, key.keyID)
        let attributes = try recordAttributes(realm: key.realm, name: key.keyID, data: data)
        try perform { try $0.upsert(dn, objectClass: "iecRecord", key: Self.key(of: dn), attributes) }
    }

    public func signingKeys(realm: String, purpose: String) throws -> [SigningKeyRecord] {
        let keys = try perform { try all(.signingKeys, conditions: [Filter.record, Filter.equal("iecRealm", realm)], on: $0) }.map {
            entry -> SigningKeyRecord in
            let data = try Fields(entry, what: "signing key")
            guard let status = SigningKeyRecord.Status(rawValue: try data.string("status")) else {
                throw StoreError(.internalFailure, "stored signing key status is unknown")
            }
            return SigningKeyRecord(
                realm: try data.string("realm"), keyID: try data.string("keyID"), purpose: try data.string("purpose"),
                privateJWK: try data.json("privateJWK"), status: status, createdAt: try data.double("createdAt"))
        }
        return keys.filter { Array($0.purpose.utf8) == Array(purpose.utf8) }.sorted {
            $0.createdAt != $1.createdAt ? $0.createdAt < $1.createdAt : Array($0.keyID.utf8).lexicographicallyPrecedes(Array($1.keyID.utf8))
        }
    }

    // MARK: Scripts

    public func putScript(_ script: ScriptRecord) throws {
        var data = Fields(what: "script")
        data[string: "realm"] = script.realm
        data[string: "name"] = script.name
        data[string: "kind"] = script.kind
        data[string: "source"] = script.source
        data[string: "description"] = script.description
        data.set("createdAt", double: script.createdAt)
        data.set("updatedAt", double: script.updatedAt)
        let dn = dn(.scripts, "script", script.realm, script.name)
        let attributes = try recordAttributes(realm: script.realm, name: script.name, data: data)
        try perform { try $0.upsert(dn, objectClass: "iecRecord", key: Self.key(of: dn), attributes) }
    }

    private static func script(_ entry: LDAPEntry) throws -> ScriptRecord {
        let data = try Fields(entry, what: "script")
        return ScriptRecord(
            realm: try data.string("realm"), name: try data.string("name"), kind: try data.string("kind"), source: try data.string("source"),
            description: try data.string("description"), createdAt: try data.double("createdAt"), updatedAt: try data.double("updatedAt"))
    }

    public func script(realm: String, name: String) throws -> ScriptRecord? {
        try perform { try $0.read(dn(.scripts, "script", realm, name)) }.map(Self.script)
    }

    public func listScripts(realm: String) throws -> [ScriptRecord] {
        try perform { try all(.scripts, conditions: [Filter.record, Filter.equal("iecRealm", realm)], on: $0) }.map(Self.script)
            .sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }

    public func deleteScript(realm: String, name: String) throws -> Bool {
        try perform { try $0.deleteIfPresent(dn(.scripts, "script", realm, name)) }
    }
}
