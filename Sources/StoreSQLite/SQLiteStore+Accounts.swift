internal import SQLiteKit
public import Store

// Realms, users and OAuth2 clients.
extension SQLiteStore {
    // MARK: Realms

    private static let realmColumns = "name, settings, created_at, updated_at"

    private static func realm(_ row: Statement) throws -> RealmRecord {
        RealmRecord(
            name: try row.text(0), settings: try JSONColumn.value(try row.text(1), column: "realms.settings"),
            createdAt: try row.real(2), updatedAt: try row.real(3))
    }

    public func realm(named name: String) throws -> RealmRecord? {
        try readers.with {
            try $0.queryOne("SELECT \(Self.realmColumns) FROM realms WHERE name = ?1", [.text(name)], Self.realm)
        }
    }

    public func putRealm(_ realm: RealmRecord) throws {
        let values: [SQLValue] = [
            .text(realm.name), .text(try JSONColumn.text(realm.settings, field: "realm settings", maxBytes: maxJSONBytes)),
            .real(realm.createdAt), .real(realm.updatedAt),
        ]
        try writers.durable {
            try $0.run(
                """
                INSERT INTO realms (\(Self.realmColumns)) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (name) DO UPDATE SET settings = excluded.settings,
                    created_at = excluded.created_at, updated_at = excluded.updated_at
                """, values)
        }
    }

    public func listRealms() throws -> [RealmRecord] {
        try readers.with { try $0.query("SELECT \(Self.realmColumns) FROM realms ORDER BY name", [], Self.realm) }
    }

    // MARK: Users

    private static let userColumns = "realm, username, password_hash, roles, disabled, attributes, created_at, updated_at"

    private static func user(_ row: Statement) throws -> UserRecord {
        UserRecord(
            realm: try row.text(0), username: try row.text(1), passwordHash: try row.text(2),
            roles: try JSONColumn.stringArray(try row.text(3), column: "users.roles"), disabled: try row.bool(4),
            attributes: try JSONColumn.value(try row.text(5), column: "users.attributes"),
            createdAt: try row.real(6), updatedAt: try row.real(7))
    }

    private func values(of user: UserRecord) throws -> [SQLValue] {
        [
            .text(user.realm), .text(user.username), .text(user.passwordHash), .text(JSONColumn.strings(user.roles)),
            .bool(user.disabled), .text(try JSONColumn.text(user.attributes, field: "user attributes", maxBytes: maxJSONBytes)),
            .real(user.createdAt), .real(user.updatedAt),
        ]
    }

    public func createUser(_ user: UserRecord) throws {
        let values = try values(of: user)
        try writers.durable {
            try $0.run("INSERT INTO users (\(Self.userColumns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", values)
        }
    }

    public func user(realm: String, username: String) throws -> UserRecord? {
        try readers.with {
            try $0.queryOne(
                "SELECT \(Self.userColumns) FROM users WHERE realm = ?1 AND username = ?2", [.text(realm), .text(username)], Self.user)
        }
    }

    public func updateUser(_ user: UserRecord) throws {
        let values = try values(of: user)
        let changed = try writers.durable {
            try $0.run(
                """
                UPDATE users SET password_hash = ?3, roles = ?4, disabled = ?5, attributes = ?6, created_at = ?7, updated_at = ?8
                WHERE realm = ?1 AND username = ?2
                """, values)
        }
        guard changed == 1 else { throw StoreError(.notFound, "updateUser: no such user in the realm") }
    }

    public func deleteUser(realm: String, username: String) throws -> Bool {
        try writers.durable {
            try $0.run("DELETE FROM users WHERE realm = ?1 AND username = ?2", [.text(realm), .text(username)]) == 1
        }
    }

    public func listUsers(realm: String, page: PageRequest) throws -> Page<UserRecord> {
        try readPage(
            page, realm: realm,
            first: "SELECT \(Self.userColumns) FROM users WHERE realm = ?1 ORDER BY username LIMIT ?2",
            after: "SELECT \(Self.userColumns) FROM users WHERE realm = ?1 AND username > ?2 ORDER BY username LIMIT ?3",
            key: { $0.username }, row: Self.user)
    }

    // MARK: OAuth2 clients

    private static let clientColumns = """
        realm, client_id, auth_method, secret_hash, jwks, grant_types, scopes, name, disabled, attributes, created_at, updated_at
        """

    private static func client(_ row: Statement) throws -> OAuth2ClientRecord {
        OAuth2ClientRecord(
            realm: try row.text(0), clientID: try row.text(1), tokenEndpointAuthMethod: try row.text(2),
            secretHash: row.optionalText(3), jwks: try row.optionalText(4).map { try JSONColumn.value($0, column: "clients.jwks") },
            grantTypes: try JSONColumn.stringArray(try row.text(5), column: "clients.grant_types"),
            scopes: try JSONColumn.stringArray(try row.text(6), column: "clients.scopes"), name: try row.text(7),
            disabled: try row.bool(8), attributes: try JSONColumn.value(try row.text(9), column: "clients.attributes"),
            createdAt: try row.real(10), updatedAt: try row.real(11))
    }

    private func values(of client: OAuth2ClientRecord) throws -> [SQLValue] {
        [
            .text(client.realm), .text(client.clientID), .text(client.tokenEndpointAuthMethod), .optionalText(client.secretHash),
            try JSONColumn.optionalText(client.jwks, field: "client jwks", maxBytes: maxJSONBytes),
            .text(JSONColumn.strings(client.grantTypes)), .text(JSONColumn.strings(client.scopes)), .text(client.name),
            .bool(client.disabled), .text(try JSONColumn.text(client.attributes, field: "client attributes", maxBytes: maxJSONBytes)),
            .real(client.createdAt), .real(client.updatedAt),
        ]
    }

    public func createClient(_ client: OAuth2ClientRecord) throws {
        let values = try values(of: client)
        try writers.durable {
            try $0.run(
                "INSERT INTO clients (\(Self.clientColumns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", values)
        }
    }

    public func client(realm: String, clientID: String) throws -> OAuth2ClientRecord? {
        try readers.with {
            try $0.queryOne(
                "SELECT \(Self.clientColumns) FROM clients WHERE realm = ?1 AND client_id = ?2", [.text(realm), .text(clientID)],
                Self.client)
        }
    }

    public func updateClient(_ client: OAuth2ClientRecord) throws {
        let values = try values(of: client)
        let changed = try writers.durable {
            try $0.run(
                """
                UPDATE clients SET auth_method = ?3, secret_hash = ?4, jwks = ?5, grant_types = ?6, scopes = ?7, name = ?8,
                    disabled = ?9, attributes = ?10, created_at = ?11, updated_at = ?12
                WHERE realm = ?1 AND client_id = ?2
                """, values)
        }
        guard changed == 1 else { throw StoreError(.notFound, "updateClient: no such client in the realm") }
    }

    public func deleteClient(realm: String, clientID: String) throws -> Bool {
        try writers.durable {
            try $0.run("DELETE FROM clients WHERE realm = ?1 AND client_id = ?2", [.text(realm), .text(clientID)]) == 1
        }
    }

    public func listClients(realm: String, page: PageRequest) throws -> Page<OAuth2ClientRecord> {
        try readPage(
            page, realm: realm,
            first: "SELECT \(Self.clientColumns) FROM clients WHERE realm = ?1 ORDER BY client_id LIMIT ?2",
            after: "SELECT \(Self.clientColumns) FROM clients WHERE realm = ?1 AND client_id > ?2 ORDER BY client_id LIMIT ?3",
            key: { $0.clientID }, row: Self.client)
    }

    // MARK: Keyset paging

    /// One page of a listing ordered by a text key (binary order of its UTF-8
    /// bytes). Reads one row more than asked to know whether a next page exists.
    private func readPage<T: Sendable>(
        _ page: PageRequest, realm: String, first: String, after: String, key: (T) -> String,
        row: (Statement) throws -> T
    ) throws -> Page<T> {
        let limit = PageCursor.clampedLimit(page.limit)
        let lastKey = try PageCursor.decode(page.cursor)
        var items = try readers.with { connection in
            if let lastKey {
                return try connection.query(after, [.text(realm), .text(lastKey), .int(limit + 1)], row)
            }
            return try connection.query(first, [.text(realm), .int(limit + 1)], row)
        }
        guard items.count > limit else { return Page(items: items, nextCursor: nil) }
        items.removeLast(items.count - limit)
        return Page(items: items, nextCursor: PageCursor.encode(lastKey: key(items[items.count - 1])))
    }
}
