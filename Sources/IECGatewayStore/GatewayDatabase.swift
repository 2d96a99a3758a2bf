public import IECCrypto
public import IECGateway
public import IECJSON
internal import Glibc
internal import SQLiteKit
public import Store
internal import Synchronization

/// The gateway's database, `iec-service.db` (or an SDK app's `iec-sdk.db`):
/// SQLite, mode 0600, holding the configuration `iecutil -initialise` wrote and,
/// for the gateway, its nodes and their private keys.
///
/// Keys are sealed with XChaCha20-Poly1305 under key material read from a
/// separate 0600 key file, with the node id as associated data, so a copied
/// database alone yields no key and a sealed key cannot be moved to another node.
public final class GatewayDatabase: NodeKeyStore, GatewayStateStore, @unchecked Sendable {
    // The connection is only used under `lock`.
    private let connection: Connection
    private let lock = Mutex<Void>(())
    private let sealingKey: [UInt8]?
    public let path: String

    static let schemaVersion: Int64 = 1

    /// Opens an existing database. `keyFile` is needed for node keys (the gateway); an SDK database has none.
    public init(path: String, keyFile: String?) throws {
        guard access(path, F_OK) == 0 else { throw StoreError(.notFound, "\(path) does not exist: run iecutil -initialise first") }
        self.path = path
        connection = try Connection(path: path, label: "gateway", busyTimeout: 5)
        sealingKey = try keyFile.map(Self.readKeyFile)
        try migrate()
    }

    /// Creates a new database (and, with `keyFile`, a new key file), both mode 0600.
    /// Fails when the database exists, unless `replace`.
    public static func create(path: String, keyFile: String?, configuration: JSONValue, replace: Bool) throws -> GatewayDatabase {
        if access(path, F_OK) == 0 {
            guard replace else { throw StoreError(.conflict, "\(path) exists") }
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        }
        try createFile(path, contents: [])
        if let keyFile {
            if access(keyFile, F_OK) == 0, !replace {
                _ = try readKeyFile(keyFile)  // an existing, valid key file is kept
            } else {
                unlink(keyFile)
                try createFile(keyFile, contents: Array(Base64.encode(SecretBox.generateKey()).utf8) + [0x0A])
            }
        }
        let database = try GatewayDatabase(path: path, keyFile: keyFile)
        try database.setConfiguration(configuration)
        return database
    }

    private static func createFile(_ path: String, contents: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError(.internalFailure, "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var written = 0
        while written < contents.count {
            let count = contents[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { throw StoreError(.internalFailure, "cannot write \(path)") }
            written += count
        }
        guard fsync(descriptor) == 0 else { throw StoreError(.internalFailure, "cannot write \(path)") }
    }

    static func readKeyFile(_ path: String) throws -> [UInt8] {
        var status = stat()
        guard stat(path, &status) == 0 else { throw StoreError(.notFound, "the key file \(path) is missing") }
        guard status.st_mode & 0o077 == 0 else {
            throw StoreError(.invalidValue, "the key file \(path) must be readable by its owner only (chmod 600)")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StoreError(.internalFailure, "cannot read \(path)") }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        // 32 raw bytes (as install.sh makes them) or their base64 text (as iecutil does).
        if count == SecretBox.keyByteCount { return Array(buffer[..<count]) }
        guard count > 0, let text = String(validating: buffer[..<count], as: UTF8.self),
            let key = Base64.decode(text.filter { !$0.isWhitespace }), key.count == SecretBox.keyByteCount
        else { throw StoreError(.invalidValue, "the key file \(path) does not hold a 32-byte key (raw, or base64)") }
        return key
    }

    private func migrate() throws {
        try lock.withLock { _ in
            let version = try connection.queryOne("PRAGMA user_version", []) { try $0.integer(0) } ?? 0
            guard version <= Self.schemaVersion else {
                throw StoreError(.schemaMismatch, "\(path) was written by a newer version (schema \(version))")
            }
            guard version < Self.schemaVersion else { return }
            try connection.writeTransaction {
                try connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                try connection.execute("CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, type TEXT NOT NULL, parent TEXT, registered INTEGER NOT NULL)")
                try connection.execute("CREATE TABLE IF NOT EXISTS node_keys (id TEXT PRIMARY KEY, sealed TEXT NOT NULL)")
                try connection.execute("PRAGMA user_version = \(Self.schemaVersion)")
            }
        }
    }

    /// Switches the file to SQLite's write-ahead log (the setting stays in the file),
    /// still syncing every commit (`synchronous = FULL`). The rollback journal syncs
    /// the journal, the database and the folder on each commit: four `fdatasync`s
    /// per commit, eight per device registration (strace), against one with the
    /// log. For the daemon, which writes nodes and keys while SDK requests read them.
    public func useWriteAheadLog() throws {
        try lock.withLock { _ in
            let mode = try connection.queryOne("PRAGMA journal_mode = WAL", []) { try $0.text(0) }
            guard mode?.lowercased() == "wal" else {
                throw StoreError(.internalFailure, "\(path): SQLite kept the \(mode ?? "?") journal instead of WAL")
            }
            try connection.execute("PRAGMA synchronous = FULL")
        }
    }

    // MARK: Configuration

    public func configuration() throws -> JSONValue {
        let text = try lock.withLock { _ in
            try connection.queryOne("SELECT value FROM meta WHERE key = 'configuration'", []) { try $0.text(0) }
        }
        guard let text else { throw StoreError(.notFound, "\(path) holds no configuration: run iecutil -initialise again") }
        return try JSONValue.parse(text)
    }

    public func setConfiguration(_ configuration: JSONValue) throws {
        try lock.withLock { _ in
            _ = try connection.run(
                "INSERT INTO meta (key, value) VALUES ('configuration', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [.text(configuration.serialized())])
        }
    }

    // MARK: Nodes

    public func node(_ id: String) throws -> GatewayNode? {
        try lock.withLock { _ in
            try connection.queryOne("SELECT id, type, parent, registered FROM nodes WHERE id = ?1", [.text(id)]) { row in
                GatewayNode(id: try row.text(0), type: GatewayNode.NodeType(rawValue: try row.text(1)) ?? .device, parentID: row.optionalText(2),
                            registered: try row.bool(3))
            }
        }
    }

    public func putNode(_ node: GatewayNode) throws {
        try lock.withLock { _ in
            _ = try connection.run(
                """
                INSERT INTO nodes (id, type, parent, registered) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (id) DO UPDATE SET type = excluded.type, parent = excluded.parent, registered = excluded.registered
                """, [.text(node.id), .text(node.type.rawValue), .optionalText(node.parentID), .bool(node.registered)])
        }
    }

    // MARK: Keys

    private func requireSealingKey() throws -> [UInt8] {
        guard let sealingKey else { throw StoreError(.invalidValue, "no key file given: node keys cannot be read or stored") }
        return sealingKey
    }

    public func privateKey(for nodeID: String) throws -> P256.PrivateKey? {
        let key = try requireSealingKey()
        let sealed = try lock.withLock { _ in
            try connection.queryOne("SELECT sealed FROM node_keys WHERE id = ?1", [.text(nodeID)]) { try $0.text(0) }
        }
        guard let sealed else { return nil }
        guard let box = Base64.decode(sealed) else { throw StoreError(.invalidValue, "the stored key of \(nodeID) is corrupt") }
        do {
            return try P256.PrivateKey(derRepresentation: try SecretBox.open(box, key: key, associatedData: Array(nodeID.utf8)))
        } catch {
            throw StoreError(.invalidValue, "the stored key of \(nodeID) does not open with this key file")
        }
    }

    public func storeKey(_ privateKey: P256.PrivateKey, for nodeID: String) throws {
        let key = try requireSealingKey()
        let sealed = Base64.encode(try SecretBox.seal(privateKey.derRepresentation, key: key, associatedData: Array(nodeID.utf8)))
        try lock.withLock { _ in
            _ = try connection.run(
                "INSERT INTO node_keys (id, sealed) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed",
                [.text(nodeID), .text(sealed)])
        }
    }

    public func deleteKey(for nodeID: String) throws {
        try lock.withLock { _ in _ = try connection.run("DELETE FROM node_keys WHERE id = ?1", [.text(nodeID)]) }
    }

    /// How many node keys the database holds.
    public func keyCount() throws -> Int {
        Int(try lock.withLock { _ in try connection.queryOne("SELECT count(*) FROM node_keys", []) { try $0.integer(0) } } ?? 0)
    }
}
