internal import SQLiteKit
import Store

/// The database schema and its migrations, versioned with `PRAGMA user_version`.
///
/// `migrations[n]` takes a database from version `n` to `n + 1`. Never edit a
/// migration once released: append a new one. All pending migrations run in one
/// transaction when the store opens, so a database is always at a version this
/// list names.
enum Schema {
    static let migrations: [[String]] = [
        // 1: everything the Store protocol of iec-am part 1 holds.
        [
            """
            CREATE TABLE realms (
                name TEXT NOT NULL PRIMARY KEY,
                settings TEXT NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            ) STRICT
            """,
            """
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
            ) STRICT
            """,
            """
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
            ) STRICT
            """,
            """
            CREATE TABLE signing_keys (
                realm TEXT NOT NULL,
                key_id TEXT NOT NULL,
                purpose TEXT NOT NULL,
                private_jwk TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at REAL NOT NULL,
                PRIMARY KEY (realm, key_id)
            ) STRICT
            """,
            "CREATE INDEX signing_keys_by_purpose ON signing_keys (realm, purpose, created_at, key_id)",
            """
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
            ) STRICT
            """,
            "CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id)",
            "CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at)",
            """
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
            ) STRICT
            """,
            "CREATE UNIQUE INDEX device_codes_by_user_code ON device_codes (realm, user_code)",
            "CREATE INDEX device_codes_by_expiry ON device_codes (expires_at)",
            """
            CREATE TABLE revoked_access_tokens (
                jwt_id TEXT NOT NULL PRIMARY KEY,
                realm TEXT NOT NULL,
                expires_at REAL NOT NULL
            ) STRICT, WITHOUT ROWID
            """,
            "CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_at)",
            """
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
            ) STRICT
            """,
            "CREATE INDEX sessions_by_subject ON sessions (realm, subject)",
            // The moment a session ends, by hard expiry or by idleness; purgeExpired's lookup.
            "CREATE INDEX sessions_by_end ON sessions (min(expires_at, last_used_at + idle_timeout))",
            """
            CREATE TABLE single_use (
                namespace TEXT NOT NULL,
                key TEXT NOT NULL,
                expires_at REAL NOT NULL,
                PRIMARY KEY (namespace, key)
            ) STRICT, WITHOUT ROWID
            """,
            "CREATE INDEX single_use_by_expiry ON single_use (expires_at)",
            """
            CREATE TABLE counters (
                key TEXT NOT NULL,
                window_start REAL NOT NULL,
                count INTEGER NOT NULL,
                expires_at REAL NOT NULL,
                PRIMARY KEY (key, window_start)
            ) STRICT, WITHOUT ROWID
            """,
            "CREATE INDEX counters_by_expiry ON counters (expires_at)",
            """
            CREATE TABLE audit_events (
                sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                realm TEXT NOT NULL,
                time REAL NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                outcome TEXT NOT NULL,
                details TEXT NOT NULL
            ) STRICT
            """,
            "CREATE INDEX audit_events_by_realm ON audit_events (realm, sequence)",
        ],
        // 2: edge node identities and scripts (IdentityStore, iec-am part 2).
        [
            // `row` is the rowid, declared so that it never changes (VACUUM may renumber
            // an undeclared one): the trigram index refers to rows by it.
            // `id_folded` is `id` with A-Z turned to a-z, written by the store (never
            // SQLite's `lower()`, which an ICU build makes Unicode-aware); `idContains`
            // searches it.
            """
            CREATE TABLE identities (
                row INTEGER PRIMARY KEY,
                realm TEXT NOT NULL,
                id TEXT NOT NULL,
                id_folded TEXT NOT NULL,
                type TEXT NOT NULL,
                status TEXT NOT NULL,
                parent_id TEXT,
                public_keys TEXT NOT NULL,
                configuration TEXT NOT NULL,
                user_configuration TEXT NOT NULL,
                registration_time REAL NOT NULL,
                paired_user TEXT,
                attributes TEXT NOT NULL,
                command_nonce INTEGER NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                version INTEGER NOT NULL,
                UNIQUE (realm, id)
            ) STRICT
            """,
            // The listing indexes: each starts with the equality filters it serves, then
            // `id` (the listing order, so pages need no sort), then every other filter
            // column, so that a filter is decided on the index entry and only the rows of
            // the page are read from the table. See `SQLiteStore+Identities.swift`.
            "CREATE INDEX identities_listing ON identities (realm, id, id_folded, type, status, parent_id)",
            "CREATE INDEX identities_by_type_status ON identities (realm, type, status, id, id_folded, parent_id)",
            "CREATE INDEX identities_by_parent ON identities (realm, parent_id, id, id_folded, type, status)",
            // Every trigram of every `id_folded` (exact bytes: the text is folded already),
            // to find the few candidates of a rare `idContains` without a scan. External
            // content: the store adds and removes entries with the rows, in the same transaction.
            """
            CREATE VIRTUAL TABLE identities_trigrams USING fts5(
                id_folded, content = 'identities', content_rowid = 'row', tokenize = 'trigram case_sensitive 1', detail = 'none'
            )
            """,
            """
            CREATE TABLE scripts (
                realm TEXT NOT NULL,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                source TEXT NOT NULL,
                description TEXT NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                PRIMARY KEY (realm, name)
            ) STRICT
            """,
        ],
    ]

    /// The version this build writes.
    static var currentVersion: Int { migrations.count }

    /// Brings the database to ``currentVersion`` in one transaction; refuses
    /// databases from a newer build and SQLite files that are not ours.
    static func migrate(_ connection: Connection, path: String) throws {
        try connection.writeTransaction {
            let found = try connection.queryOne("PRAGMA user_version", []) { try Int($0.integer(0)) } ?? 0
            if found > currentVersion {
                throw StoreError(
                    .schemaMismatch,
                    "the database at \(path) has schema version \(found), newer than the \(currentVersion) this build knows: "
                        + "it was written by a newer OpenIEC; run that version or restore a backup")
            }
            if found == 0 {
                let objects = try connection.queryOne("SELECT count(*) FROM sqlite_schema", []) { try $0.integer(0) } ?? 0
                guard objects == 0 else {
                    throw StoreError(
                        .schemaMismatch, "the database at \(path) holds tables but no OpenIEC schema version: not an OpenIEC store")
                }
            }
            guard found < currentVersion else { return }
            for migration in migrations[found...] {
                for sql in migration { try connection.execute(sql) }
            }
            // A pragma takes no bound parameters; the number is our own constant.
            try connection.execute("PRAGMA user_version = \(currentVersion)")
        }
    }
}
