import Glibc
import IECJSON
import LDAPKit
public import Store
import Synchronization

/// The directory store: OpenLDAP (`slapd`) with the schema of `deploy/ldap/`,
/// shared by any number of iec-am processes.
///
/// ## Layout
/// Under ``LDAPStoreOptions/baseDN`` one container per kind of record
/// (`ou=identities`, `ou=users`, `ou=clients`, `ou=sessions`, ...), each
/// holding flat entries named `iecKey=<SHA-256 hex of the record's kind and
/// key>`: a DN of fixed length whatever the key holds, so that no key needs DN
/// escaping and none exceeds back-mdb's key size. The key itself is in
/// `iecName` / `edgeNodeId` (octetStringMatch: byte for byte, no case folding,
/// no Unicode normalisation), its realm in `iecRealm`. Edge nodes use the
/// original's attribute names (`edgeNodeType`, `edgeNodeConfig`,
/// `edgeNodeRegistrationJwk`, ...); other records keep their fields as one JSON
/// document in `iecData`, beside the attributes searches and compare-and-swaps need.
///
/// ## Atomicity across processes
/// LDAP has no multi-entry transaction, but one modify of one entry is atomic,
/// and a modify that deletes a specific value fails with noSuchAttribute when
/// that value is no longer there. So every read-modify-write is a
/// compare-and-swap: `delete: iecVersion: 4` + `add: iecVersion: 5` (optimistic
/// updates of identities and device codes), the same on `edgeNodeCommandNonce`,
/// `iecCount` (counters, the audit sequence), `iecStatus` (refresh rotation) and
/// the stored expiry of a single-use value; and "create unless it exists" is an
/// add, which fails with alreadyExists. A lost compare-and-swap re-reads and
/// tries again where the operation allows it (counters), or reports the loss
/// (versioned updates return false).
///
/// Two operations touch two entries and are ordered so that a failure in
/// between errs on the safe side: `rotateRefreshToken` swaps the old token's
/// status first (only one caller can win) and then adds the successor (undoing
/// the swap if the successor's hash is taken); `createDeviceCode` claims the
/// user code (an entry of its own, `ou=userCodes`) before adding the code.
///
/// ## Listings
/// Ordered by the UTF-8 bytes of the key and paged by keyset: the sort key
/// `iecSortKey` is the lowercase hex of those bytes, so `(iecSortKey>=X)`
/// under caseExactOrderingMatch is "after X" in byte order, and the cursor is
/// the last key of the page (stable under inserts and deletes).
///
/// When the directory offers server-side sorting (RFC 2891: slapd's sssvlv
/// overlay, which `deploy/ldap/start-slapd.sh` loads), a page is one sorted
/// search of the matches after the cursor with a size limit of `limit + 1`
/// (no paged results, so no per-connection sort state is left on the server;
/// sssvlv caps concurrent sorts with `sssvlv-max`). slapd still sorts every
/// match after the cursor, but in C and without sending them.
///
/// Otherwise (with ``LDAPStoreOptions/serverSideSorting`` off, when the server
/// refuses a sort as busy, or when an `idContains` recheck dropped entries
/// inside the size limit), a page scans the matches after the cursor
/// with the paged results control (500 per round trip), fetching only their
/// sort key, keeps the `limit + 1` smallest in Swift (memory bounded by the
/// page size), then reads those entries. Correct at any size; the cost of a page
/// grows with the number of matches after the cursor. `LDAPStoreResilienceTests`
/// measures both on 3,000 entries.
public final class LDAPStore: Store {
    public let options: LDAPStoreOptions
    let pool: LDAPPool
    var maxJSONBytes: Int { options.maxJSONBytes }

    /// Entries read per round trip of a scan.
    static let scanPageSize = 500
    /// Retries of a compare-and-swap lost to another writer before giving up with `unavailable`.
    static let maxSwapAttempts = 1000

    /// Connects, checks that the directory has the OpenIEC schema, and creates
    /// the base entry and the containers when absent.
    ///
    /// Throws `unavailable` ("directory unreachable at URL") when the directory
    /// does not answer, `schemaMismatch` naming what is missing when the schema
    /// is not loaded, `invalidValue` for options out of range, and
    /// `internalFailure` for a refused bind or a base DN that cannot be made.
    public init(options: LDAPStoreOptions) throws {
        guard (1...256).contains(options.poolSize), options.timeout >= 0.1, options.timeout <= 300, options.maxJSONBytes >= 1,
            !options.baseDN.isEmpty, options.url.lowercased().hasPrefix("ldap://") || options.url.lowercased().hasPrefix("ldaps://")
        else {
            throw StoreError(
                .invalidValue,
                "LDAPStoreOptions: url must be ldap:// or ldaps://, baseDN non-empty, poolSize 1...256, timeout 0.1...300 seconds")
        }
        self.options = options
        let pool = LDAPPool(
            LDAPConnectionOptions(
                url: options.url, bindDN: options.bindDN, bindPassword: options.bindPassword, caFile: options.caFile,
                startTLS: options.startTLS, timeout: options.timeout), size: options.poolSize)
        self.pool = pool
        do {
            serverSorts = try pool.with { connection in
                try SchemaCheck.verify(on: connection, url: options.url)
                try Layout.prepare(on: connection, baseDN: options.baseDN)
                return try options.serverSideSorting && connection.supportsControl(Self.sortControl)
            }
        } catch let error as LDAPError {
            throw Self.storeError(error, url: options.url)
        }
    }

    /// Server-side sorting (RFC 2891).
    static let sortControl = "1.2.840.113556.1.4.473"
    /// The directory sorts listings (it offers the control and the options allow it).
    public let serverSorts: Bool
    private let refusedSorts = Atomic<Int>(0)
    /// Listings the directory refused to sort (busy: `sssvlv-max` sorts at once), selected in Swift instead.
    public var sortRefusals: Int { refusedSorts.load(ordering: .relaxed) }
    func countSortRefusal() { refusedSorts.add(1, ordering: .relaxed) }

    /// Closes the idle connections (others close when their call ends).
    public func close() { pool.drain() }

    public func checkHealth() throws {
        try perform { connection in
            guard try connection.read(options.baseDN, attributes: ["1.1"]) != nil else {
                throw StoreError(.unavailable, "the base DN \(options.baseDN) is gone from \(options.url)")
            }
        }
    }

    // MARK: Running operations

    /// Runs `body` on a pooled connection, mapping LDAP errors to `StoreError`
    /// (the one place where that happens). `retry`: repeating `body` after a
    /// broken connection cannot change its outcome (reads, replaces, deletes).
    func perform<T>(retry: Bool = true, _ body: (LDAPConnection) throws -> T) throws -> T {
        do {
            return try pool.with(retry: retry, body)
        } catch let error as LDAPError {
            throw Self.storeError(error, url: options.url)
        }
    }

    static func storeError(_ error: LDAPError, url: String) -> StoreError {
        switch error.kind {
        case .unreachable:
            return StoreError(.unavailable, error.message.hasPrefix("directory unreachable") ? error.message : "directory unreachable at \(url): \(error.message)")
        case .timeout, .poolExhausted:
            return StoreError(.unavailable, error.message)
        case .result:
            switch error.code {
            case LDAPResultCode.objectClassViolation, LDAPResultCode.undefinedAttributeType:
                return StoreError(
                    .schemaMismatch, "the directory at \(url) lacks the OpenIEC schema (deploy/ldap/iec.ldif): \(error.message)")
            case LDAPResultCode.busy, LDAPResultCode.unavailable:
                return StoreError(.unavailable, "directory at \(url) is busy or unavailable: \(error.message)")
            case LDAPResultCode.invalidCredentials, LDAPResultCode.insufficientAccessRights:
                return StoreError(.internalFailure, "directory at \(url) refused: \(error.message)")
            default:
                return StoreError(.internalFailure, "directory at \(url): \(error.message)")
            }
        default:
            return StoreError(.internalFailure, "directory at \(url): \(error.message)")
        }
    }

    // MARK: Names

    func container(_ container: Container) -> String { "ou=\(container.rawValue),\(options.baseDN)" }

    func dn(_ container: Container, _ kind: String, _ parts: String...) -> String {
        "iecKey=\(Encoding.recordKey(kind, parts)),\(self.container(container))"
    }

    func dn(_ container: Container, key: String) -> String { "iecKey=\(key),\(self.container(container))" }
}

/// The containers under the base DN, one per kind of record.
enum Container: String, CaseIterable {
    case realms, users, clients, signingKeys, refreshTokens, deviceCodes, userCodes, revocations, sessions, singleUse, counters,
        scripts, audit, identities
}

/// Filter pieces; every value is escaped byte by byte.
enum Filter {
    static func equal(_ attribute: String, _ value: String) -> String { "(\(attribute)=\(LDAPEscape.filterValue(value)))" }
    static func and(_ parts: [String]) -> String { parts.count == 1 ? parts[0] : "(&\(parts.joined()))" }
    static let record = "(objectClass=iecRecord)"
    static let edgeNode = "(objectClass=iecEdgeNode)"
}

extension LDAPConnection {
    /// False when the DN exists already.
    func addIfAbsent(_ dn: String, _ attributes: [(String, [[UInt8]])]) throws -> Bool {
        do {
            try add(dn, attributes)
            return true
        } catch let error as LDAPError where error.kind == .result && error.code == LDAPResultCode.alreadyExists {
            return false
        }
    }

    /// False when the DN does not exist.
    func deleteIfPresent(_ dn: String) throws -> Bool {
        do {
            try delete(dn)
            return true
        } catch let error as LDAPError where error.kind == .result && error.code == LDAPResultCode.noSuchObject {
            return false
        }
    }

    enum SwapResult { case done, lost, gone }

    /// A modify whose deletes of specific values are the compare part of a compare-and-swap.
    func swap(_ dn: String, _ modifications: [LDAPModification]) throws -> SwapResult {
        do {
            try modify(dn, modifications)
            return .done
        } catch let error as LDAPError where error.kind == .result && error.code == LDAPResultCode.noSuchAttribute {
            return .lost
        } catch let error as LDAPError where error.kind == .result && error.code == LDAPResultCode.noSuchObject {
            return .gone
        }
    }

    /// Adds the entry, or replaces the given attributes of the existing one.
    func upsert(_ dn: String, objectClass: String, key: String, _ attributes: [(String, [[UInt8]])]) throws {
        if try addIfAbsent(dn, [("objectClass", [Array(objectClass.utf8)]), Encoding.value("iecKey", key)] + attributes) { return }
        try modify(dn, attributes.map { LDAPModification(.replace, $0.0, $0.1) })
    }

    func int64(_ entry: LDAPEntry, _ attribute: String) -> Int64? { entry.string(attribute).flatMap { Int64($0) } }
}

/// A small pause before retrying a lost compare-and-swap, growing with the attempts.
func backOff(_ attempt: Int) {
    guard attempt > 2 else { return }
    var request = timespec(tv_sec: 0, tv_nsec: Int.random(in: 0...min(attempt, 50)) * 100_000)
    nanosleep(&request, nil)
}
